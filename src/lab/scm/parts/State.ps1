# Host state: one JSON file per emulated host (<state>/host.json), read-modify-written under a lock file so
# that concurrent calls against one host (several runspaces, the TypeScript side) never lose an update.
# The format is shared with src/lab/scm/state.ts (TypeScript reads and creates it); keep both in step.

$script:LabStateDir = $null

function Set-LabScmStateDir {
    param([Parameter(Mandatory)][string]$Path)
    $full = [IO.Path]::GetFullPath($Path)
    if (-not [IO.File]::Exists([IO.Path]::Combine($full, 'host.json'))) {
        throw "svcfleet lab: '$full' is not an emulated host state directory (no host.json); create it with initLabHost or 'svcfleet lab host init'"
    }
    $script:LabStateDir = $full
    # %ProgramData% of the emulated host lives inside its state dir, so backups written by the remote engine land
    # there (and nowhere else on this machine).
    $pd = [IO.Path]::Combine($full, 'fs', 'ProgramData')
    [void][IO.Directory]::CreateDirectory($pd)
    $env:ProgramData = $pd
    $env:ALLUSERSPROFILE = $pd
    $env:SVCFLEET_LAB_STATE = $full
}

function Get-LabStateDir {
    if (-not $script:LabStateDir) {
        if ($env:SVCFLEET_LAB_STATE) { Set-LabScmStateDir -Path $env:SVCFLEET_LAB_STATE }
        else { throw 'svcfleet lab: no emulated host selected (set SVCFLEET_LAB_STATE or call Set-LabScmStateDir)' }
    }
    $script:LabStateDir
}

function Get-LabNowMs { [DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds() }

# --- process identity on Linux (/proc): a PID plus its start time, so a recycled PID is never mistaken ---
function Get-LabProcStart {
    param([long]$ProcessId)
    if ($ProcessId -le 0) { return $null }
    # Checked first so that the common "process gone" case raises no exception (a caught one would still show up in
    # the caller's $Error / -ErrorVariable).
    if (-not [IO.File]::Exists("/proc/$ProcessId/stat")) { return $null }
    try { $stat = [IO.File]::ReadAllText("/proc/$ProcessId/stat") } catch { return $null }
    $rest = $stat.Substring($stat.LastIndexOf(')') + 2).Split(' ')
    # rest[0] is field 3 (state); field 22 (starttime) is rest[19]
    if ($rest[0] -eq 'Z' -or $rest[0] -eq 'X') { return $null }
    [long]$rest[19]
}

function Test-LabProcessAlive {
    param([long]$ProcessId, $ProcStart)
    $s = Get-LabProcStart -ProcessId $ProcessId
    if ($null -eq $s) { return $false }
    if ($null -ne $ProcStart -and [long]$ProcStart -ne $s) { return $false }
    $true
}

# --- lock: O_CREAT|O_EXCL on host.lock holding the owner's PID; a lock whose owner is dead is broken ---
function Enter-LabLock {
    $dir = Get-LabStateDir
    $lock = [IO.Path]::Combine($dir, 'host.lock')
    $deadline = [DateTime]::UtcNow.AddSeconds(60)
    while ($true) {
        if ([IO.File]::Exists($lock) -and [DateTime]::UtcNow -lt $deadline) {
            $owner = $null
            try { $owner = [IO.File]::ReadAllText($lock).Trim() } catch { }
            if ($owner -match '^\d+$' -and (Test-LabProcessAlive -ProcessId ([long]$owner)) -and
                ([DateTime]::UtcNow - [IO.File]::GetLastWriteTimeUtc($lock)).TotalMilliseconds -lt 30000) {
                Start-Sleep -Milliseconds 5; continue
            }
        }
        try {
            $fs = [IO.FileStream]::new($lock, [IO.FileMode]::CreateNew, [IO.FileAccess]::Write, [IO.FileShare]::Read)
            $bytes = [Text.Encoding]::ASCII.GetBytes("$PID")
            $fs.Write($bytes, 0, $bytes.Length); $fs.Dispose()
            return $lock
        } catch [IO.IOException] {
            $owner = $null
            try { $owner = [IO.File]::ReadAllText($lock).Trim() } catch { }
            $age = 0
            try { $age = ([DateTime]::UtcNow - [IO.File]::GetLastWriteTimeUtc($lock)).TotalMilliseconds } catch { }
            # An empty lock is one whose creator has not written its PID yet: on a loaded machine a fresh pwsh can
            # take seconds between creating and writing (its first JIT of these calls), so only the age breaks it.
            # (Breaking it after 2 s let two callers in at once under two suites: lost updates.)
            $stale = ($owner -match '^\d+$' -and -not (Test-LabProcessAlive -ProcessId ([long]$owner))) -or ($age -gt 30000)
            if ($stale) { try { [IO.File]::Delete($lock) } catch { }; continue }
            if ([DateTime]::UtcNow -gt $deadline) { throw "svcfleet lab: timed out waiting for the host lock $lock (owner $owner)" }
            Start-Sleep -Milliseconds 5
        }
    }
}

function Exit-LabLock { param([string]$Lock) try { [IO.File]::Delete($Lock) } catch { } }

# The parsed state is kept between calls and reused while host.json is unchanged (same mtime and length): most
# calls only read, and parsing is the expensive part. Every mutation sets $script:LabDirty (Set-LabDirty) so that
# Use-LabHost writes it back.
$script:LabCache = $null
$script:LabDirty = $false
function Set-LabDirty { $script:LabDirty = $true }

# Write a cmdlet error / warning from module code on behalf of a public (global) command. WriteError decides
# between continue/stop with the preference visible in the CURRENT scope, which is the module's here; so the
# caller's preference (read through the command's own session state) is copied into this scope first. Without
# this, $ErrorActionPreference = 'Stop' in the calling script would be ignored, unlike with a real cmdlet.
function Write-LabCmdletError {
    param($Cmdlet, [System.Management.Automation.ErrorRecord]$Record)
    $ErrorActionPreference = $Cmdlet.SessionState.PSVariable.GetValue('ErrorActionPreference')
    $Cmdlet.WriteError($Record)
}
function Write-LabCmdletWarning {
    param($Cmdlet, [string]$Message)
    $WarningPreference = $Cmdlet.SessionState.PSVariable.GetValue('WarningPreference')
    $Cmdlet.WriteWarning($Message)
}

function Get-LabStateStamp {
    param([string]$Path)
    $fi = [IO.FileInfo]::new($Path)
    "$($fi.LastWriteTimeUtc.Ticks):$($fi.Length)"
}

function Read-LabHostState {
    $path = [IO.Path]::Combine((Get-LabStateDir), 'host.json')
    $stamp = Get-LabStateStamp $path
    if ($script:LabCache -and $script:LabCache.path -eq $path -and $script:LabCache.stamp -eq $stamp) { return $script:LabCache.state }
    $state = [IO.File]::ReadAllText($path) | ConvertFrom-Json -AsHashtable
    $script:LabCache = @{ path = $path; stamp = $stamp; state = $state }
    $state
}

function Write-LabHostState {
    param($State)
    $dir = Get-LabStateDir
    $path = [IO.Path]::Combine($dir, 'host.json')
    $tmp = "$path.$PID.tmp"
    [IO.File]::WriteAllText($tmp, ($State | ConvertTo-Json -Depth 30), [Text.UTF8Encoding]::new($false))
    [IO.File]::Move($tmp, $path, $true)
    $script:LabCache = @{ path = $path; stamp = (Get-LabStateStamp $path); state = $State }
}

# engine-dies / session-drops (docs/lab.md "Faults"): the process calling the emulated SCM (the remote engine) is
# killed with SIGKILL, as a power cut or a killed session would end it, at the nth matching call: before the call
# (when=before, the default) or once its effect is written (when=after; Use-LabHost kills after writing the state).
# The fault fires once; its counters are written first, so an engine run again (resume) passes the same point.
# connection-fault fires the same way, but the caller neither dies nor kills: it sets off the host's connection fault
# of the lab (sshd-restart, winrm-reset, link-stall: docs/lab-fleet.md) and waits until the lab has acted.
$script:LabCallerFaults = @('engine-dies', 'session-drops', 'connection-fault')
$script:LabPendingDeath = $null
function Invoke-LabDeathFault {
    param($State, [string]$Service, [string]$Op, [string]$Subject = '')
    if (-not $State.faults) { return }
    foreach ($f in $State.faults) {
        if ($script:LabCallerFaults -notcontains $f.kind) { continue }
        if ($f.service -and -not [string]::Equals($f.service, $Service, [StringComparison]::OrdinalIgnoreCase)) { continue }
        if ($f['since'] -and -not $f['armed']) {
            if ($Op -eq $f['since']) { $f['armed'] = $true; Set-LabDirty }
            continue
        }
        $ops = if ($f.ops) { @($f.ops) } else { $script:LabFaultDefaultOps[$f.kind] }
        if ($ops -notcontains $Op) { continue }
        $needle = $f['contains']
        if ($needle -and ([string]$Subject).IndexOf([string]$needle, [StringComparison]::OrdinalIgnoreCase) -lt 0) { continue }
        Set-LabDirty
        $f.calls = 1 + [int]$f.calls
        $nth = if ($f.nth) { [int]$f.nth } else { 1 }
        if ($f.calls -ne $nth -or [int]$f.fired -gt 0) { continue }
        $f.fired = 1
        if ($f['when'] -eq 'after') { $script:LabPendingDeath = $f.kind; return }
        Write-LabHostState -State $State
        Stop-LabCaller -Kind $f.kind
    }
}

# session-drops kills the SSH session that runs this process (its nearest sshd ancestor): the connection drops, and
# the lab's exec wrapper then kills the session's processes as Windows ends a session's job. engine-dies (and a
# session-drops outside SSH) kills this process.
function Stop-LabCaller {
    param([string]$Kind)
    if ($Kind -eq 'connection-fault') { Wait-LabConnectionFault; return }
    if ($Kind -eq 'session-drops') {
        $p = $PID
        while ($p -gt 1) {
            $comm = ''
            try { $comm = [IO.File]::ReadAllText("/proc/$p/comm").Trim() } catch { break }
            if ($comm -eq 'sshd') { ([System.Diagnostics.Process]::GetProcessById([int]$p)).Kill(); break }
            $stat = [IO.File]::ReadAllText("/proc/$p/stat")
            $p = [long](($stat.Substring($stat.LastIndexOf(')') + 2)).Split(' ')[1])
        }
        if ($p -gt 1) {
            # The wrapper's guard notices within 0.25 s; the engine may go on a moment, as it would on Windows.
            Start-Sleep -Milliseconds 100
            return
        }
    }
    [System.Diagnostics.Process]::GetCurrentProcess().Kill()
}

# The lab (src/lab/fleet/connection-faults.ts) watches the state dir for this file, acts on the host's connection
# (an sshd restart ends this caller with its session), then removes the file: the caller goes on only then, so the
# point where the connection fails is exact. Without a lab watching (a bare `lab host`), the caller goes on after 30 s.
function Wait-LabConnectionFault {
    $file = [IO.Path]::Combine((Get-LabStateDir), 'connection-fault')
    [IO.File]::WriteAllText("$file.$PID.tmp", "$PID")
    [IO.File]::Move("$file.$PID.tmp", $file, $true)
    $deadline = [DateTime]::UtcNow.AddSeconds(30)
    while ([IO.File]::Exists($file) -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 20 }
}

# Run $Body with the host state locked; $Body receives the state and returns a result. The state is written back
# after $Body (it may have refreshed statuses or counted fault triggers even when the operation failed).
function Use-LabHost {
    param([Parameter(Mandatory)][scriptblock]$Body)
    $lock = Enter-LabLock
    $script:LabDirty = $false
    $done = $false
    try {
        $h = Read-LabHostState
        $result = & $Body $h
        if ($script:LabDirty) { Write-LabHostState -State $h }
        $done = $true
        , $result
    } finally {
        # A body that failed half-way may have changed the cached copy without writing it: forget it.
        if (-not $done) { $script:LabCache = $null }
        Exit-LabLock -Lock $lock
        if ($script:LabPendingDeath) {
            $kind = $script:LabPendingDeath
            $script:LabPendingDeath = $null
            Stop-LabCaller -Kind $kind
        }
    }
}

# Service names are case-insensitive on Windows; the key in `services` keeps the registered spelling.
function Find-LabService {
    param($State, [string]$Name)
    if ([string]::IsNullOrEmpty($Name)) { return $null }
    foreach ($k in $State.services.Keys) { if ([string]::Equals($k, $Name, [StringComparison]::OrdinalIgnoreCase)) { return $State.services[$k] } }
    $null
}

# --- faults (see docs/lab.md): {kind, service?, ops?, contains?, nth?, times?, afterMs?, calls, fired} ---
$script:LabFaultDefaultOps = @{
    'access-denied'      = @('config', 'start', 'stop', 'registry-write')
    'no-such-service'    = @('query', 'config', 'start', 'stop', 'registry-read', 'registry-write')
    'marked-for-delete'  = @('config', 'start')
    'start-timeout'      = @('start')
    'logon-failure'      = @('start')
    'crash-after-start'  = @('start')
    'stuck-stop-pending' = @('stop')
    'engine-dies'        = @('config', 'start', 'stop', 'registry-write')
    'session-drops'      = @('config', 'start', 'stop', 'registry-write')
    'connection-fault'   = @('config', 'start', 'stop', 'registry-write')
}

# Returns the first fault of one of $Kinds that fires for this call (counting the call), else $null.
function Test-LabFault {
    param($State, [string]$Service, [string]$Op, [string[]]$Kinds, [string]$Subject = '')
    if (-not $State.faults) { return $null }
    foreach ($f in $State.faults) {
        if ($Kinds -notcontains $f.kind) { continue }
        if ($f.service -and -not [string]::Equals($f.service, $Service, [StringComparison]::OrdinalIgnoreCase)) { continue }
        $ops = if ($f.ops) { @($f.ops) } else { $script:LabFaultDefaultOps[$f.kind] }
        if ($ops -notcontains $Op) { continue }
        # $f['contains'], not $f.contains: on a hashtable without that key, .contains is the Contains() method.
        $needle = $f['contains']
        if ($needle -and ([string]$Subject).IndexOf([string]$needle, [StringComparison]::OrdinalIgnoreCase) -lt 0) { continue }
        Set-LabDirty
        $f.calls = 1 + [int]$f.calls
        $nth = if ($f.nth) { [int]$f.nth } else { 1 }
        if ($f.calls -lt $nth) { continue }
        if ($f.times -and [int]$f.fired -ge [int]$f.times) { continue }
        $f.fired = 1 + [int]$f.fired
        return $f
    }
    $null
}
