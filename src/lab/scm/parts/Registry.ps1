# HKLM\SYSTEM\CurrentControlSet\Services\<name>, emulated (docs/reference/windows-services.md#the-service-registry-key value names and types, docs/reference/windows-services.md#change-through-the-scm-not-the-registry semantics).
#
# The registry view of a service is computed from the SCM's record (what the SCM writes when you use its API)
# and then overlaid with direct registry writes. Direct writes do NOT change the SCM's in-memory record (docs/reference/windows-services.md#change-through-the-scm-not-the-registry:
# DelayedAutostart removal has no effect (docs/reference/windows-services.md#delayed-auto-start-flag); Group cannot be
# changed by editing (docs/reference/windows-services.md#change-through-the-scm-not-the-registry); display name,
# start type, dependencies, account are served from memory) - except the values read at process start:
# ImagePath (picked up at the next start) and Environment (no API; read at process start).

$script:LabStartValue = @{ boot = 0; system = 1; auto = 2; demand = 3; disabled = 4 }
$script:LabActionCode = @{ none = 0; restart = 1; reboot = 2; run = 3 }

# FailureActions REG_BINARY: little-endian DWORDs, 32-bit layout (docs/reference/windows-services.md#the-failureactions-registry-value):
# reset period, reboot-message placeholder, command placeholder, action count, offset of the actions (0x14 when
# there are actions, else 0), then {type, delay ms} per action.
function ConvertTo-LabFailureActionsBlob {
    param($Failure)
    $acts = @($Failure.actions | Where-Object { $_ })
    $ms = [IO.MemoryStream]::new(); $w = [IO.BinaryWriter]::new($ms)
    $w.Write([uint32][long]$Failure.resetPeriod); $w.Write([uint32]0); $w.Write([uint32]0)
    $w.Write([uint32]$acts.Count); $w.Write([uint32]$(if ($acts.Count) { 0x14 } else { 0 }))
    foreach ($a in $acts) { $w.Write([uint32]$script:LabActionCode[[string]$a.type]); $w.Write([uint32][long]$a.delayMs) }
    $w.Flush()
    , $ms.ToArray()
}

# Stored vs. served values (docs/reference/windows-services.md "Display name and description", "Binary path"):
# the registry keeps what was written - `%VAR%` in the REG_EXPAND_SZ ImagePath, `@[path\]dll,-id` indirect strings
# in DisplayName / Description - while QueryServiceConfig (hence sc qc, Win32_Service, ServiceController) returns
# the path expanded and the indirect strings resolved and localised (Confirmed: Wine service.c test_EventLog).
# The emulated host's environment for expansion is a fixed Windows one, never this Linux process's environment.
$script:LabHostEnvironment = @{
    SystemRoot = 'C:\Windows'; windir = 'C:\Windows'; SystemDrive = 'C:'; ProgramFiles = 'C:\Program Files'
    'ProgramFiles(x86)' = 'C:\Program Files (x86)'; ProgramW6432 = 'C:\Program Files'; ProgramData = 'C:\ProgramData'
    CommonProgramFiles = 'C:\Program Files\Common Files'; ALLUSERSPROFILE = 'C:\ProgramData'
}

# ExpandEnvironmentStrings: %NAME% (case-insensitive) is replaced; an unknown %NAME% stays as it is.
function Expand-LabEnvironment {
    param([string]$Text)
    if ([string]::IsNullOrEmpty($Text) -or $Text.IndexOf('%') -lt 0) { return $Text }
    [regex]::Replace($Text, '%([^%]+)%', {
            param($m)
            foreach ($k in $script:LabHostEnvironment.Keys) { if ($k -ieq $m.Groups[1].Value) { return $script:LabHostEnvironment[$k] } }
            $m.Value
        })
}

# The emulated resource DLLs: "<expanded dll path>,-<id>" -> text (host.json resourceStrings, plus the one every
# Windows host has for the EventLog service). RegLoadMUIString-style resolution of "@path,-id"; a string that is not
# indirect, or whose resource is missing, is served as stored (Believed: the SCM falls back to the raw value).
$script:LabBuiltinResources = @{ 'c:\windows\system32\wevtsvc.dll,-200' = 'Windows Event Log'; 'c:\windows\system32\wevtsvc.dll,-201' = 'This service manages events and event logs.' }
function Resolve-LabIndirectString {
    param($State, [string]$Text)
    if ([string]::IsNullOrEmpty($Text) -or -not $Text.StartsWith('@')) { return $Text }
    $key = (Expand-LabEnvironment $Text.Substring(1)).ToLowerInvariant()
    if ($State -and $State.resourceStrings) {
        foreach ($k in $State.resourceStrings.Keys) {
            if ((Expand-LabEnvironment ([string]$k)).ToLowerInvariant() -eq $key) { return [string]$State.resourceStrings[$k] }
        }
    }
    if ($script:LabBuiltinResources.ContainsKey($key)) { return $script:LabBuiltinResources[$key] }
    $Text
}

# Ordered name -> @{kind; value} for one service key.
function Get-LabRegistryValues {
    param($Svc)
    $v = [ordered]@{}
    $v['Type'] = @{ kind = 'DWord'; value = [int]$Svc.serviceType }
    $v['Start'] = @{ kind = 'DWord'; value = $script:LabStartValue[[string]$Svc.startType] }
    $v['ErrorControl'] = @{ kind = 'DWord'; value = [int]$Svc.errorControl }
    $v['ImagePath'] = @{ kind = 'ExpandString'; value = [string]$Svc.binaryPath }
    $v['DisplayName'] = @{ kind = 'String'; value = [string]$Svc.displayName }
    $v['ObjectName'] = @{ kind = 'String'; value = [string]$Svc.account }
    if ($Svc.description) { $v['Description'] = @{ kind = 'String'; value = [string]$Svc.description } }
    $sdeps = @($Svc.dependencies | Where-Object { $_ -and -not $_.StartsWith('+') })
    $gdeps = @($Svc.dependencies | Where-Object { $_ -and $_.StartsWith('+') } | ForEach-Object { $_.Substring(1) })
    if ($sdeps.Count) { $v['DependOnService'] = @{ kind = 'MultiString'; value = [string[]]$sdeps } }
    if ($gdeps.Count) { $v['DependOnGroup'] = @{ kind = 'MultiString'; value = [string[]]$gdeps } }
    if ($Svc.loadOrderGroup) { $v['Group'] = @{ kind = 'String'; value = [string]$Svc.loadOrderGroup } }
    # The stored flag, whatever the start type: it survives a move to demand or disabled, ignored there, and is
    # honoured again when the start type goes back to auto (docs/reference/windows-services.md "Delayed auto-start flag").
    if ($Svc.delayedAutoStart) { $v['DelayedAutostart'] = @{ kind = 'DWord'; value = 1 } }
    $f = $Svc.failure
    if ($Svc.failureConfigured -or @($f.actions).Count -or [long]$f.resetPeriod) {
        $v['FailureActions'] = @{ kind = 'Binary'; value = (ConvertTo-LabFailureActionsBlob $f) }
    }
    if ($f.command) { $v['FailureCommand'] = @{ kind = 'String'; value = [string]$f.command } }
    if ($f.rebootMessage) { $v['RebootMessage'] = @{ kind = 'String'; value = [string]$f.rebootMessage } }
    if ($f.nonCrashFailures) { $v['FailureActionsOnNonCrashFailures'] = @{ kind = 'DWord'; value = 1 } }
    foreach ($d in @($Svc.registryDeleted)) { if ($d) { foreach ($k in @($v.Keys)) { if ($k -ieq $d) { $v.Remove($k) } } } }
    if ($Svc.registry) {
        foreach ($k in $Svc.registry.Keys) {
            foreach ($e in @($v.Keys)) { if ($e -ieq $k) { $v.Remove($e) } }
            $v[$k] = $Svc.registry[$k]
        }
    }
    $v
}

# .NET value as the registry provider returns it (DWORD -> Int32, MULTI_SZ -> string[], BINARY -> byte[], ...).
function ConvertTo-LabRegistryClr {
    param($Entry, [switch]$NoExpand)
    switch ($Entry.kind) {
        'DWord' { return [int][long]$Entry.value }
        'QWord' { return [long]$Entry.value }
        'MultiString' { return , [string[]]@($Entry.value | ForEach-Object { [string]$_ }) }
        'Binary' { return , [byte[]]@($Entry.value | ForEach-Object { [byte]$_ }) }
        'ExpandString' { if ($NoExpand) { return [string]$Entry.value } else { return Expand-LabEnvironment ([string]$Entry.value) } }
        default { return [string]$Entry.value }
    }
}

# Recognise a path to the Services key. Returns $null for any other path (callers then use the real cmdlets).
function Test-LabServiceKeyPath {
    param([string]$Path)
    if ([string]::IsNullOrEmpty($Path)) { return $null }
    $p = $Path -replace '/', '\'
    $p = $p -replace '^(Microsoft\.PowerShell\.Core\\)?Registry::', ''
    if ($p -match '^(?i)(HKLM:\\?|HKEY_LOCAL_MACHINE\\|HKLM\\)(?<rest>.*)$') { $rest = $Matches['rest'] } else { return $null }
    $rest = ($rest -replace '\\{2,}', '\').TrimEnd('\')
    if ($rest -notmatch '^(?i)SYSTEM\\(CurrentControlSet|ControlSet001)\\Services(\\(?<name>[^\\]+))?(\\(?<sub>.+))?$') { return $null }
    @{ name = $Matches['name']; sub = $Matches['sub'] }
}

function Get-LabRegistryKeyName { param([string]$Service) "HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\$Service" }

# One entry point for the registry cmdlet wrappers. Returns @{ ok; error = @{ kind; message }; items }.
#   Op: get-values | test | set | new | remove
function Invoke-LabRegistry {
    param([string]$Op, [string]$Path, [switch]$Literal, [string]$Name, $Value, [string]$Kind, [switch]$Force)
    $key = Test-LabServiceKeyPath $Path
    Use-LabHost -Body { param($h)
        $names = @()
        if ($null -eq $key.name) { return @{ ok = $true; root = $true; items = @() } }
        if (-not $Literal -and [WildcardPattern]::ContainsWildcardCharacters($key.name)) {
            $pat = [WildcardPattern]::new($key.name, 'IgnoreCase')
            $names = @($h.services.Keys | Where-Object { $pat.IsMatch($_) })
        } else {
            $s = Find-LabService -State $h -Name $key.name
            if ($s) { $names = @($s.name) }
        }
        $op2 = if ($Op -in 'get-values', 'test') { 'registry-read' } else { 'registry-write' }
        $names = @($names | Where-Object { -not (Test-LabFault -State $h -Service $_ -Op $op2 -Kinds 'no-such-service' -Subject $_) })
        # Subkeys (Parameters, Security, ...) are not emulated: they do not exist.
        if ($key.sub -or -not $names.Count) {
            return @{ ok = $false; error = @{ kind = 'PathNotFound'; message = "Cannot find path '$Path' because it does not exist." } }
        }
        if ($Op -eq 'test') { return @{ ok = $true; items = @() } }
        $items = @()
        foreach ($n in $names) {
            $svc = $h.services[$n]
            $vals = Get-LabRegistryValues $svc
            $existing = $null
            foreach ($k in $vals.Keys) { if ($k -ieq $Name) { $existing = $k } }
            switch ($Op) {
                'get-values' { $items += @{ service = $svc.name; values = $vals } }
                { $_ -in 'set', 'new', 'remove' } {
                    Set-LabDirty
                    Invoke-LabDeathFault -State $h -Service $svc.name -Op 'registry-write' -Subject "$Name=$(@($Value) -join "`n")"
                    if (Test-LabFault -State $h -Service $svc.name -Op 'registry-write' -Kinds 'access-denied' -Subject "$Name=$(@($Value) -join "`n")") {
                        return @{ ok = $false; error = @{ kind = 'AccessDenied'; message = 'Requested registry access is not allowed.' } }
                    }
                    if ($Op -eq 'remove') {
                        if (-not $existing) { return @{ ok = $false; error = @{ kind = 'NoProperty'; message = "Property $Name does not exist at path $(Get-LabRegistryKeyName $svc.name)." } } }
                        if ($svc.registry) { foreach ($k in @($svc.registry.Keys)) { if ($k -ieq $Name) { $svc.registry.Remove($k) } } }
                        if (-not $svc.registryDeleted) { $svc.registryDeleted = @() }
                        $svc.registryDeleted = @($svc.registryDeleted) + $existing
                        continue
                    }
                    if ($Op -eq 'new' -and $existing -and -not $Force) { return @{ ok = $false; error = @{ kind = 'Exists'; message = 'The property already exists.' } } }
                    $k2 = if ($Kind) { $Kind } elseif ($existing -and $Op -eq 'set') { $vals[$existing].kind } else { ConvertTo-LabRegistryKind $Value }
                    $stored = ConvertTo-LabRegistryStored -Value $Value -Kind $k2
                    if ($null -eq $stored) { return @{ ok = $false; error = @{ kind = 'BadValue'; message = "Cannot convert the value to the registry type $k2." } } }
                    $valueName = if ($existing) { $existing } else { $Name }
                    if (-not $svc.registry) { $svc.registry = [ordered]@{} }
                    foreach ($k in @($svc.registry.Keys)) { if ($k -ieq $Name) { $svc.registry.Remove($k) } }
                    $svc.registry[$valueName] = @{ kind = $k2; value = $stored }
                    if ($svc.registryDeleted) { $svc.registryDeleted = @($svc.registryDeleted | Where-Object { $_ -ine $Name }) }
                    $items += @{ service = $svc.name; values = (Get-LabRegistryValues $svc); name = $valueName }
                }
            }
        }
        @{ ok = $true; items = $items }
    }
}

function ConvertTo-LabRegistryKind {
    param($Value)
    if ($Value -is [byte[]]) { return 'Binary' }
    if ($Value -is [array]) { return 'MultiString' }
    if ($Value -is [int] -or $Value -is [uint32] -or $Value -is [int16] -or $Value -is [byte]) { return 'DWord' }
    if ($Value -is [long] -or $Value -is [uint64]) { return 'QWord' }
    'String'
}

function ConvertTo-LabRegistryStored {
    param($Value, [string]$Kind)
    try {
        switch ($Kind) {
            'MultiString' { return , @(@($Value) | ForEach-Object { [string]$_ }) }
            'Binary' { return , @(@($Value) | ForEach-Object { [int][byte]$_ }) }
            'DWord' { $n = [long]$Value; if ($n -lt [int]::MinValue -or $n -gt [uint32]::MaxValue) { return $null }; return [long][int][BitConverter]::ToInt32([BitConverter]::GetBytes([long]$n), 0) }
            'QWord' { return [long]$Value }
            { $_ -in 'String', 'ExpandString' } { return [string]$Value }
            default { return $null }
        }
    } catch { return $null }
}

# A PSCustomObject shaped like Get-ItemProperty's output.
function ConvertTo-LabItemProperty {
    param([string]$Service, $Values, [string[]]$Names)
    $o = [ordered]@{}
    foreach ($k in $Values.Keys) {
        if ($Names -and -not ($Names | Where-Object { $_ -ieq $k })) { continue }
        $o[$k] = ConvertTo-LabRegistryClr $Values[$k]
    }
    $o['PSPath'] = "Microsoft.PowerShell.Core\Registry::$(Get-LabRegistryKeyName $Service)"
    $o['PSParentPath'] = 'Microsoft.PowerShell.Core\Registry::HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services'
    $o['PSChildName'] = $Service
    $o['PSDrive'] = 'HKLM'
    $o['PSProvider'] = 'Microsoft.PowerShell.Core\Registry'
    [pscustomobject]$o
}

# A RegistryKey look-alike for Get-Item: Name, Property, ValueCount, GetValue/GetValueKind/GetValueNames.
function ConvertTo-LabRegistryKey {
    param([string]$Service, $Values)
    $o = [pscustomobject]@{
        Name        = Get-LabRegistryKeyName $Service
        PSChildName = $Service
        PSPath      = "Microsoft.PowerShell.Core\Registry::$(Get-LabRegistryKeyName $Service)"
        Property    = [string[]]@($Values.Keys)
        ValueCount  = $Values.Count
        SubKeyCount = 0
    }
    $o.PSObject.TypeNames.Insert(0, 'Microsoft.Win32.RegistryKey')
    $o | Add-Member -MemberType NoteProperty -Name __labValues -Value $Values
    $o | Add-Member -MemberType ScriptMethod -Name GetValue -Value {
        param($name, $default, $options)
        foreach ($k in $this.__labValues.Keys) {
            if ($k -ieq $name) { return ConvertTo-LabRegistryClr $this.__labValues[$k] -NoExpand:([string]$options -match 'DoNotExpand') }
        }
        $default
    }
    $o | Add-Member -MemberType ScriptMethod -Name GetValueKind -Value {
        param($name)
        foreach ($k in $this.__labValues.Keys) { if ($k -ieq $name) { return [Microsoft.Win32.RegistryValueKind]$this.__labValues[$k].kind } }
        throw [IO.IOException]::new('The specified registry key does not exist.')
    }
    $o | Add-Member -MemberType ScriptMethod -Name GetValueNames -Value { , [string[]]@($this.__labValues.Keys) }
    $o | Add-Member -MemberType ScriptMethod -Name GetSubKeyNames -Value { , [string[]]@() }
    $o | Add-Member -MemberType ScriptMethod -Name Close -Value { }
    $o | Add-Member -MemberType ScriptMethod -Name Dispose -Value { }
    $o
}

# The errors the registry provider writes, with its error ids and categories.
function Write-LabRegistryError {
    param($Cmdlet, $Result, [string]$Path, [string]$Command)
    $e = $Result.error
    $spec = switch ($e.kind) {
        'PathNotFound' { @([System.Management.Automation.ItemNotFoundException]::new($e.message), 'PathNotFound', 'ObjectNotFound') }
        'NoProperty' { @([System.Management.Automation.PSArgumentException]::new($e.message), 'System.Management.Automation.PSArgumentException', 'InvalidArgument') }
        'AccessDenied' { @([Security.SecurityException]::new($e.message), 'System.Security.SecurityException', 'PermissionDenied') }
        'Exists' { @([IO.IOException]::new($e.message), 'System.IO.IOException', 'ResourceExists') }
        default { @([ArgumentException]::new($e.message), 'System.ArgumentException', 'InvalidArgument') }
    }
    Write-LabCmdletError -Cmdlet $Cmdlet -Record ([System.Management.Automation.ErrorRecord]::new($spec[0], "$($spec[1]),Microsoft.PowerShell.Commands.$Command", $spec[2], $Path))
}
