# icacls.exe, emulated just enough to lock down backup files and folders:
#   icacls <path> [/T] [/C] [/Q] [/inheritance:e|d|r] [/grant[:r] <sid|name>:<perms> ...] [/remove[:g|:d] <sid> ...]
#   icacls <path> /setowner <sid|name> [/T] [/C] [/Q]
#   icacls <path>      (show the recorded ACL)
# Each path also has an owner (docs/reference/programdata-acl.md): whoever created it. The emulated caller is an
# elevated administrator, so what it creates is owned by BUILTIN\Administrators and inherits %ProgramData%'s entries;
# a folder an ordinary user created first is recorded with that user as its owner (tests seed such records). Get-Acl
# (parts/Wrappers.ps1) shows owner, protection and entries of these paths the way the real cmdlet's object does.
# The ACL is recorded in the host state (acls[<path>]) and mirrored with chmod: when inheritance is removed and only
# Administrators / SYSTEM are granted access, the file becomes 600 (folders 700); otherwise 644 / 755.

$script:LabSidNames = @{
    'S-1-5-32-544' = 'BUILTIN\Administrators'; 'S-1-5-18' = 'NT AUTHORITY\SYSTEM'; 'S-1-5-32-545' = 'BUILTIN\Users'
    'S-1-5-11' = 'NT AUTHORITY\Authenticated Users'; 'S-1-1-0' = 'Everyone'; 'S-1-3-0' = 'CREATOR OWNER'
}
$script:LabPrivilegedSids = @('S-1-5-32-544', 'S-1-5-18')

# What an item gets when the emulated administrator creates it under %ProgramData%: owner Administrators, entries
# inherited from ProgramData (SYSTEM, Administrators, CREATOR OWNER resolved to the owner, Users read).
function New-LabDefaultAcl {
    [ordered]@{ owner = 'S-1-5-32-544'; inheritance = 'e'; grants = @(@{ sid = 'S-1-5-32-544'; perms = '(I)(F)' }, @{ sid = 'S-1-5-18'; perms = '(I)(F)' }, @{ sid = 'S-1-5-32-545'; perms = '(I)(RX)' }) }
}

# The ACL of a path with no record of its own: what it inherited when the emulated administrator created it. Entries of
# the nearest recorded ancestor that are inheritable by this kind of item ((CI) by folders, (OI) by files, and entries
# that were themselves inherited) arrive marked (I); owner Administrators (the creator). Without a recorded ancestor,
# ProgramData's own (New-LabDefaultAcl). ACE inheritance rules: docs/reference/programdata-acl.md.
function Get-LabInheritedAcl {
    param($State, [string]$Local, [bool]$IsDir)
    $root = [IO.Path]::GetFullPath($env:ProgramData).TrimEnd('/')
    $dir = [IO.Path]::GetDirectoryName($Local)
    while ($dir -and $dir.Length -gt $root.Length -and $dir.StartsWith($root)) {
        $rec = if ($State.acls) { $State.acls[$dir] } else { $null }
        if ($rec) {
            $flag = if ($IsDir) { '(CI)' } else { '(OI)' }
            $grants = @(foreach ($g in @($rec.grants)) {
                    $perm = [string]$g.perms
                    if (-not ($perm.Contains($flag) -or $perm.StartsWith('(I)'))) { continue }
                    $base = ($perm -replace '\((I|OI|CI|IO|NP)\)', '').Trim('(', ')')
                    @{ sid = [string]$g.sid; perms = "(I)($base)" }
                })
            return [ordered]@{ owner = 'S-1-5-32-544'; inheritance = 'e'; grants = $grants }
        }
        $dir = [IO.Path]::GetDirectoryName($dir)
    }
    New-LabDefaultAcl
}

# The recorded ACL of a host path (the default one when none was recorded). -> @{ owner; protected; entries = @(@{ sid; inherited; perms }) }
function Get-LabAcl {
    param([string]$Path)
    $local = Resolve-LabHostPath $Path
    if (-not $local -or -not ([IO.File]::Exists($local) -or [IO.Directory]::Exists($local))) { return $null }
    $isDir = [IO.Directory]::Exists($local)
    $acl = Use-LabHost -Body { param($h) if ($h.acls -and $h.acls[$local]) { $h.acls[$local] } else { Get-LabInheritedAcl $h $local $isDir } }
    $owner = if ($acl.owner) { [string]$acl.owner } else { 'S-1-5-32-544' }
    @{
        path = $local; owner = $owner; protected = ($acl.inheritance -ne 'e')
        entries = @(foreach ($g in @($acl.grants)) { if ($g) { @{ sid = [string]$g.sid; inherited = ([string]$g.perms).StartsWith('(I)'); perms = [string]$g.perms } } })
    }
}

function Resolve-LabHostPath {
    # The host's paths as this machine sees them: C:\ProgramData\... is the host's %ProgramData%; backslashes are
    # separators (pwsh on Linux would read them as part of a file name in .NET APIs).
    param([string]$Path)
    $p = $Path
    if ($p -match '^(?i)C:\\ProgramData(\\|$)') { $p = $env:ProgramData + $p.Substring(14) }
    $p = $p -replace '\\', '/'
    if ($p -match '^[A-Za-z]:') { return $null }
    [IO.Path]::GetFullPath($p)
}

function Resolve-LabSid {
    param([string]$Who)
    if ($Who.StartsWith('*')) { return $Who.Substring(1).ToUpperInvariant() }
    if ($Who -match '^(?i)S-1-[0-9-]+$') { return $Who.ToUpperInvariant() }
    foreach ($k in $script:LabSidNames.Keys) {
        $n = $script:LabSidNames[$k]
        if ($Who -ieq $n -or $Who -ieq ($n -split '\\')[-1]) { return $k }
    }
    $null
}

function Invoke-LabIcacls {
    param([string[]]$Argv)
    $out = [Collections.Generic.List[string]]::new()
    if (-not $Argv -or $Argv.Count -lt 1) { $out.Add('ICACLS name /save aclfile [/T] [/C] [/L] [/Q]  (svcfleet lab emulation)'); return @{ lines = $out; exit = 87 } }
    $target = $Argv[0]
    $recurse = $false; $quiet = $false; $inherit = $null; $grants = @(); $replace = $false; $removes = @(); $newOwner = $null
    $i = 1
    while ($i -lt $Argv.Count) {
        $a = $Argv[$i]
        switch -Regex ($a) {
            '^(?i)/T$' { $recurse = $true; $i++; continue }
            '^(?i)/Q$' { $quiet = $true; $i++; continue }
            '^(?i)/[CL]$' { $i++; continue }
            '^(?i)/inheritance:([edr])$' { $inherit = $Matches[1].ToLowerInvariant(); $i++; continue }
            '^(?i)/setowner$' {
                if ($i + 1 -ge $Argv.Count) { $out.Add('Invalid parameter "/setowner"'); return @{ lines = $out; exit = 87 } }
                $newOwner = Resolve-LabSid $Argv[$i + 1]
                if (-not $newOwner) { $out.Add("$($Argv[$i + 1]): No mapping between account names and security IDs was done."); $out.Add('Successfully processed 0 files; Failed processing 1 files'); return @{ lines = $out; exit = 1332 } }
                $i += 2; continue
            }
            '^(?i)/grant(:r)?$' {
                if ($Matches[1]) { $replace = $true }
                $i++
                while ($i -lt $Argv.Count -and -not $Argv[$i].StartsWith('/')) {
                    $g = $Argv[$i]; $colon = $g.LastIndexOf(':')
                    if ($colon -lt 1) { $out.Add("Invalid parameter `"$g`""); return @{ lines = $out; exit = 87 } }
                    $sid = Resolve-LabSid $g.Substring(0, $colon)
                    if (-not $sid) { $out.Add("$($g.Substring(0, $colon)): No mapping between account names and security IDs was done."); $out.Add('Successfully processed 0 files; Failed processing 1 files'); return @{ lines = $out; exit = 1332 } }
                    $grants += @{ sid = $sid; perms = $g.Substring($colon + 1) }
                    $i++
                }
                continue
            }
            '^(?i)/remove(:[gd])?$' {
                $i++
                while ($i -lt $Argv.Count -and -not $Argv[$i].StartsWith('/')) { $s = Resolve-LabSid $Argv[$i]; if ($s) { $removes += $s }; $i++ }
                continue
            }
            default { $out.Add("Invalid parameter `"$a`""); return @{ lines = $out; exit = 87 } }
        }
    }
    $local = Resolve-LabHostPath $target
    if (-not $local -or -not ([IO.File]::Exists($local) -or [IO.Directory]::Exists($local))) {
        $out.Add("${target}: The system cannot find the file specified.")
        $out.Add('Successfully processed 0 files; Failed processing 1 files')
        return @{ lines = $out; exit = 2 }
    }
    $items = @($local)
    if ($recurse -and [IO.Directory]::Exists($local)) {
        $items += @([IO.Directory]::GetFileSystemEntries($local, '*', [IO.SearchOption]::AllDirectories))
    }
    $show = ($Argv.Count -eq 1) -or (-not $inherit -and -not $grants.Count -and -not $removes.Count -and -not $newOwner)
    $acls = Use-LabHost -Body { param($h)
        if (-not $show) { Set-LabDirty }
        if (-not $h.acls) { $h.acls = [ordered]@{} }
        $result = @{}
        foreach ($it in $items) {
            $acl = $h.acls[$it]
            if (-not $acl) { $acl = Get-LabInheritedAcl $h $it ([IO.Directory]::Exists($it)) }
            if (-not $show) {
                if ($newOwner) { $acl.owner = $newOwner }
                if ($inherit) {
                    $acl.inheritance = $inherit
                    if ($inherit -eq 'r') { $acl.grants = @($acl.grants | Where-Object { -not ([string]$_.perms).StartsWith('(I)') }) }
                    elseif ($inherit -eq 'd') { $acl.grants = @($acl.grants | ForEach-Object { @{ sid = $_.sid; perms = ([string]$_.perms).Replace('(I)', '') } }) }
                }
                foreach ($g in $grants) {
                    if ($replace) { $acl.grants = @($acl.grants | Where-Object { $_.sid -ne $g.sid }) }
                    $acl.grants = @($acl.grants) + @{ sid = $g.sid; perms = $g.perms }
                }
                foreach ($r in $removes) { $acl.grants = @($acl.grants | Where-Object { $_.sid -ne $r }) }
                $h.acls[$it] = $acl
            }
            $result[$it] = $acl
        }
        $result
    }
    foreach ($it in $items) {
        $acl = $acls[$it]
        if ($show) {
            $first = $true
            foreach ($g in $acl.grants) {
                $name = $script:LabSidNames[$g.sid]; if (-not $name) { $name = $g.sid }
                $perm = [string]$g.perms
                if ($perm -notmatch '\)$') { $perm = $perm -replace '([A-Z]+)$', '($1)' }
                $prefix = if ($first) { $target } else { ' ' * $target.Length }
                $out.Add("$prefix $name`:$perm"); $first = $false
            }
            continue
        }
        $privateOnly = ($acl.inheritance -ne 'e') -and -not (@($acl.grants) | Where-Object { $script:LabPrivilegedSids -notcontains $_.sid })
        $isDir = [IO.Directory]::Exists($it)
        $mode = if ($privateOnly) { if ($isDir) { '700' } else { '600' } } else { if ($isDir) { '755' } else { '644' } }
        & chmod $mode $it 2>$null
        if (-not $quiet) { $out.Add("processed file: $(if ($it -eq $local) { $target } else { $it })") }
    }
    $out.Add("Successfully processed $($items.Count) files; Failed processing 0 files")
    @{ lines = $out; exit = 0 }
}
