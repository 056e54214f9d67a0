# Windows command lines and the service processes behind them.
# The same rules exist in TypeScript (src/util/windows-cmdline.ts) for hosts created from Node; both are tested against
# the vectors in test/lab/scm/fixtures/cmdline-vectors.json.

# CommandLineToArgvW rules for every argument after argv[0] (docs/reference/windows-cmdline.md#from-command-line-to-argv "use the CommandLineToArgvW rules"):
# whitespace separates; 2n backslashes + quote -> n backslashes and a quote toggle; 2n+1 backslashes + quote ->
# n backslashes and a literal quote; other backslashes are literal; inside quotes "" is a literal quote.
function Split-LabArgs {
    param([string]$Text)
    $out = [Collections.Generic.List[string]]::new()
    if ($null -eq $Text) { return , $out.ToArray() }
    $i = 0; $n = $Text.Length
    while ($true) {
        while ($i -lt $n -and ($Text[$i] -eq ' ' -or $Text[$i] -eq "`t")) { $i++ }
        if ($i -ge $n) { break }
        $sb = [Text.StringBuilder]::new(); $inQ = $false
        while ($i -lt $n) {
            $c = $Text[$i]
            if (($c -eq ' ' -or $c -eq "`t") -and -not $inQ) { break }
            if ($c -eq '\') {
                $bs = 0
                while ($i -lt $n -and $Text[$i] -eq '\') { $bs++; $i++ }
                if ($i -lt $n -and $Text[$i] -eq '"') {
                    [void]$sb.Append([char]'\', [int][Math]::Floor($bs / 2))
                    if ($bs % 2 -eq 1) { [void]$sb.Append('"'); $i++ }
                } else { [void]$sb.Append([char]'\', $bs) }
                continue
            }
            if ($c -eq '"') {
                if ($inQ -and $i + 1 -lt $n -and $Text[$i + 1] -eq '"') { [void]$sb.Append('"'); $i += 2; continue }
                $inQ = -not $inQ; $i++; continue
            }
            [void]$sb.Append($c); $i++
        }
        $out.Add($sb.ToString())
    }
    , $out.ToArray()
}

function Test-LabInstalledFile {
    param($State, [string]$Path)
    $want = Expand-LabEnvironment $Path
    foreach ($f in @($State.installedFiles)) { if ([string]::Equals((Expand-LabEnvironment ([string]$f)), $want, [StringComparison]::OrdinalIgnoreCase)) { return $true } }
    $false
}

# Resolve the executable of a binary path the way CreateProcess does (docs/reference/windows-cmdline.md#unquoted-service-paths-cwe-428, CWE-428): a quoted exe is
# taken up to the closing quote; an unquoted one with spaces is tried prefix by prefix ("C:\Program.exe",
# "C:\Program Files\A.exe", ...), appending ".exe" when the candidate has no extension. Returns
# @{ exe; args } where args are what the program's own runtime sees (CommandLineToArgvW of the whole line minus
# argv[0]), or $null when no candidate is an installed file (StartService then fails with 2).
function Resolve-LabImage {
    param($State, [string]$CommandLine)
    # ImagePath is REG_EXPAND_SZ: the SCM expands it when it starts the process.
    $line = (Expand-LabEnvironment $CommandLine).TrimStart(' ', "`t")
    $candidates = @()
    if ($line.StartsWith('"')) {
        $end = $line.IndexOf('"', 1)
        $exe = if ($end -lt 0) { $line.Substring(1) } else { $line.Substring(1, $end - 1) }
        $candidates = @($exe)
        $rest = if ($end -lt 0) { '' } else { $line.Substring($end + 1) }
        $args0 = Split-LabArgs $rest
    } else {
        $parts = $line -split '[ \t]+'
        for ($k = 1; $k -le $parts.Count; $k++) {
            $cand = ($parts[0..($k - 1)] -join ' ')
            if (-not [IO.Path]::GetExtension(($cand -split '\\')[-1])) { $cand += '.exe' }
            $candidates += $cand
        }
        $all = Split-LabArgs $line
        $args0 = if ($all.Count -gt 1) { $all[1..($all.Count - 1)] } else { @() }
    }
    foreach ($c in $candidates) {
        if (Test-LabInstalledFile -State $State -Path $c) { return @{ exe = $c; args = @($args0) } }
    }
    $null
}

function Get-LabNodePath {
    if ($env:SVCFLEET_LAB_NODE) { return $env:SVCFLEET_LAB_NODE }
    $cmd = Get-Command -Name node -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    if (-not $cmd) { throw 'svcfleet lab: node is not on PATH (needed to run the lab service program)' }
    $cmd.Source
}

# The status record of a start. The SCM is a process of its own on Windows: whatever happens to the client that
# called StartService, it keeps tracking the service process. Here the caller is the SCM, so Start-LabServiceCore
# writes this record (START_PENDING, no PID yet) to host.json BEFORE creating the process, and the process writes
# its own PID to pidFile first thing. A caller killed between the two (a cancelled remote engine) therefore leaves
# a record the next caller completes from pidFile (Resolve-LabSpawnedPid) instead of a process nobody knows about
# that still holds the service's port.
function New-LabStartRecord {
    param($State, $Svc, [string[]]$ServiceArgs, [string[]]$Environment)
    $run = [IO.Path]::Combine((Get-LabStateDir), 'run')
    [void][IO.Directory]::CreateDirectory($run)
    $stamp = Get-LabNowMs
    $base = [IO.Path]::Combine($run, "$(ConvertTo-LabFileName $Svc.name)-$stamp")
    # Where this start's output begins in the service's log (its Application entries, parts/EventLog.ps1).
    $log = [IO.Path]::Combine((Get-LabStateDir), 'logs', "$(ConvertTo-LabFileName $Svc.name).log")
    $logOffset = 0
    if ([IO.File]::Exists($log)) { $logOffset = ([IO.FileInfo]::new($log)).Length }
    @{
        state = 'start-pending'; pid = 0; procStart = $null
        win32ExitCode = 0; serviceExitCode = 0; startedAt = $stamp
        deadline = $stamp + [long]$State.startTimeoutMs
        pidFile = "$base.pid"; readyFile = "$base.ready"; exitFile = "$base.exit"; stopRequested = $false
        args = @($ServiceArgs); environment = @($Environment); logOffset = $logOffset
    }
}

# Create the process of a start record: the lab service program, detached in its own session (setsid) so that
# killing the PowerShell that started it (a runner abort) does not kill the service, stdout/stderr appended to its
# log, environment = inherited + the service's Environment value. Fills in the record's pid.
function Start-LabProcess {
    param($Status, $Svc, [int]$CrashAfterMs = 0, [switch]$Hang)
    $logs = [IO.Path]::Combine((Get-LabStateDir), 'logs')
    [void][IO.Directory]::CreateDirectory($logs)
    $psi = [Diagnostics.ProcessStartInfo]::new('/bin/sh')
    $psi.UseShellExecute = $false
    # echo writes "PID\n" in one write(2); a reader takes the PID only once the newline is there.
    $script = 'echo $$ >"$SVCFLEET_LAB_PID_FILE" && exec "$@" >>"$SVCFLEET_LAB_LOG" 2>&1 </dev/null'
    foreach ($a in @('-c', $script, 'sh', 'setsid', (Get-LabNodePath),
            [IO.Path]::Combine($PSScriptRoot, '..', 'svcprogram.mjs'))) { $psi.ArgumentList.Add($a) }
    foreach ($a in @($Status.args)) { $psi.ArgumentList.Add($a) }
    # The lab's own controls never leak in from the caller's environment. The crash flag in the service's own
    # Environment value is honoured, as the selftest's scratch service (ps-scripts/selftest/ScratchService.cs) reads
    # it: a service process gets the SCM's environment plus that value (docs/reference/windows-services.md
    # "Environment value"); the hang flag is a lab fault only.
    [void]$psi.Environment.Remove('SVCFLEET_LAB_HANG')
    [void]$psi.Environment.Remove('SVCFLEET_LAB_CRASH_AFTER_MS')
    foreach ($e in @($Status.environment)) {
        $eq = ([string]$e).IndexOf('=')
        if ($eq -gt 0) { $psi.Environment[$e.Substring(0, $eq)] = $e.Substring($eq + 1) }
    }
    $psi.Environment['SVCFLEET_LAB_LOG'] = [IO.Path]::Combine($logs, "$(ConvertTo-LabFileName $Svc.name).log")
    $psi.Environment['SVCFLEET_LAB_PID_FILE'] = $Status.pidFile
    $psi.Environment['SVCFLEET_LAB_READY_FILE'] = $Status.readyFile
    $psi.Environment['SVCFLEET_LAB_EXIT_FILE'] = $Status.exitFile
    $psi.Environment['SVCFLEET_LAB_SERVICE'] = $Svc.name
    if ($Hang) { $psi.Environment['SVCFLEET_LAB_HANG'] = '1' } else { [void]$psi.Environment.Remove('SVCFLEET_LAB_HANG') }
    if ($CrashAfterMs -gt 0) { $psi.Environment['SVCFLEET_LAB_CRASH_AFTER_MS'] = "$CrashAfterMs" }
    $p = [Diagnostics.Process]::Start($psi)
    $Status.pid = $p.Id
    $Status.procStart = Get-LabProcStart -ProcessId $p.Id
    $p.Dispose()
}

# How long a START_PENDING record without a PID may wait for its process to report one. Only a caller killed
# between writing the record and creating the process leaves such a record; the process, if it was created at all,
# writes its PID within milliseconds.
$script:LabSpawnGraceMs = 5000

# Complete a start record left without a PID (see New-LabStartRecord). Called under the host lock, so no live caller
# is still creating the process: wait for the PID file within the grace period; without one the process never
# started, and the record keeps pid 0 (the caller then sees a dead process: STOPPED, 1067).
function Resolve-LabSpawnedPid {
    param($Status)
    while ($true) {
        if ($Status.pidFile -and [IO.File]::Exists($Status.pidFile)) {
            $text = ''
            try { $text = [IO.File]::ReadAllText($Status.pidFile) } catch { }
            if ($text -match '^(\d+)\n') {
                $Status.pid = [long]$Matches[1]
                $Status.procStart = Get-LabProcStart -ProcessId $Status.pid
                Set-LabDirty
                return
            }
        }
        if ((Get-LabNowMs) - [long]$Status.startedAt -gt $script:LabSpawnGraceMs) { return }
        Start-Sleep -Milliseconds 20
    }
}

function ConvertTo-LabFileName { param([string]$Name) ($Name -replace '[^A-Za-z0-9_.-]', '_') }

function Stop-LabProcess {
    param($Status, [switch]$Kill)
    if (-not (Test-LabProcessAlive -ProcessId $Status.pid -ProcStart $Status.procStart)) { return }
    $sig = if ($Kill) { 'KILL' } else { 'TERM' }
    # kill(1) rather than Process.Kill: the service is not our child in spawn mode, and TERM lets it exit cleanly.
    & /bin/kill "-$sig" "$($Status.pid)" 2>$null
}

# Lazy status refresh: there is no SCM daemon, so every call that looks at a service first folds in what its
# process did since (became ready, died, overran the start timeout).
function Update-LabStatus {
    param($State, $Svc)
    $st = $Svc.status
    if ($Svc.virtual -or -not $st) { return }
    if ($st.state -eq 'start-pending' -and [long]$st.pid -le 0) { Resolve-LabSpawnedPid -Status $st }
    $alive = $false
    if ($st.state -ne 'stopped') { $alive = Test-LabProcessAlive -ProcessId $st.pid -ProcStart $st.procStart }
    switch ($st.state) {
        'start-pending' {
            if (-not $alive) { Set-LabStopped -Svc $Svc -Died }
            elseif ([IO.File]::Exists($st.readyFile)) { $st.state = 'running'; Set-LabDirty }
            elseif ((Get-LabNowMs) -gt [long]$st.deadline) {
                # The service never reported RUNNING in time: ERROR_SERVICE_REQUEST_TIMEOUT (1053, docs/reference/windows-services.md#win32-error-codes).
                Stop-LabProcess -Status $st -Kill
                Set-LabStopped -Svc $Svc -Win32ExitCode 1053
                Add-LabStartTimeoutEvents -State $State -Svc $Svc
            }
        }
        'running' {
            # The process ended while the service ran: it never reported SERVICE_STOPPED, a failure to the SCM.
            # One that took a stop control and exited through its handler (svcprogram --stop-ms) stopped cleanly.
            if (-not $alive) {
                if ($st.stopRequested -and $st.exitFile -and [IO.File]::Exists($st.exitFile)) { Set-LabStopped -Svc $Svc }
                else { $st.stopRequested = $false; Set-LabStopped -Svc $Svc -Died; Register-LabServiceFailure -State $State -Svc $Svc }
            }
        }
        'stop-pending' {
            if ($alive -and $st.stopPendingUntil -and (Get-LabNowMs) -ge [long]$st.stopPendingUntil) {
                # A shared-process service's slow stop handler returned (Stop-LabServiceCore): it reports STOPPED; the
                # process ends with the last of its services (a clean exit, not a failure).
                $st.stopPendingUntil = $null
                if (@(Get-LabProcessSharers -State $State -Svc $Svc).Count -eq 0) { Stop-LabProcess -Status $st -Kill }
                Set-LabStopped -Svc $Svc
                $alive = $false
            } elseif (-not $alive) {
                # After a stop control the program reports SERVICE_STOPPED and exits through its handler (it writes
                # its exit file); a process ended from outside (Stop-Process) never did, and that is a failure too
                # (docs/reference/windows-services.md "When failure actions fire", "Killing a service process").
                if ($st.exitFile -and [IO.File]::Exists($st.exitFile)) { Set-LabStopped -Svc $Svc }
                else {
                    $st.stopRequested = $false
                    Set-LabStopped -Svc $Svc -Died
                    Register-LabServiceFailure -State $State -Svc $Svc
                }
            }
        }
    }
    Invoke-LabDueRecovery -State $State -Svc $Svc
}

# --- recovery (failure) actions -------------------------------------------------------------------------------
# The SCM counts a service's failures and resets the count after resetPeriod seconds without one (INFINITE never);
# on the Nth failure it takes action N-1, past the end the last one again; each after its delay
# (docs/reference/windows-services.md "Failure count and repetition"). A failure is a service process that ended
# without reporting SERVICE_STOPPED. The same bookkeeping exists in TypeScript (state.ts registerFailure) for the
# status refresh done from Node; only this side fires the actions, lazily (there is no SCM daemon): when a caller
# next looks at the service after the delay. restart starts the service again (if it is still stopped); run and
# reboot are recorded as fired, with the command line / message, and nothing is run or rebooted.
function Register-LabServiceFailure {
    param($State, $Svc)
    Set-LabDirty
    $now = Get-LabNowMs
    if (-not $Svc.recovery) { $Svc.recovery = @{ count = 0; lastFailureAt = 0; pending = $null; log = @() } }
    $rec = $Svc.recovery
    $reset = [long]$Svc.failure.resetPeriod
    if ([long]$rec.count -gt 0 -and $reset -ne 4294967295 -and ($now - [long]$rec.lastFailureAt) -gt ($reset * 1000)) { $rec.count = 0 }
    $rec.count = [long]$rec.count + 1
    $rec.lastFailureAt = $now
    $actions = @($Svc.failure.actions | Where-Object { $null -ne $_ })
    $entry = @{ at = $now; count = $rec.count; action = 'none'; delayMs = 0; firedAt = $null }
    if ($actions.Count) {
        $a = $actions[[Math]::Min([int]$rec.count, $actions.Count) - 1]
        $entry.action = [string]$a.type; $entry.delayMs = [long]$a.delayMs
        if ($entry.action -ne 'none') { $rec.pending = @{ action = $entry.action; dueAt = $now + [long]$a.delayMs; count = $rec.count } }
    }
    $rec.log = @($rec.log) + @($entry)
}

function Invoke-LabDueRecovery {
    param($State, $Svc)
    $rec = $Svc.recovery
    if (-not $rec -or -not $rec.pending) { return }
    $now = Get-LabNowMs
    if ($now -lt [long]$rec.pending.dueAt) { return }
    $p = $rec.pending
    $rec.pending = $null
    Set-LabDirty
    $entry = @($rec.log | Where-Object { [long]$_.count -eq [long]$p.count -and $null -eq $_.firedAt }) | Select-Object -Last 1
    $fired = @{ at = $now; service = [string]$Svc.name; action = [string]$p.action }
    switch ([string]$p.action) {
        'restart' {
            if ($Svc.status.state -eq 'stopped') { $fired.result = Start-LabServiceCore -State $State -Svc $Svc } else { $fired.result = 'already ' + $Svc.status.state }
        }
        'run' { $fired.command = [string]$Svc.failure.command }
        'reboot' { $fired.message = [string]$Svc.failure.rebootMessage }
    }
    if ($entry) { $entry.firedAt = $now }
    # Host-wide, in order: what the SCM did on its own (a reboot is only ever recorded here).
    $State.recoveryFired = @($State.recoveryFired | Where-Object { $null -ne $_ }) + @($fired)
}

function Set-LabStopped {
    param($Svc, [switch]$Died, [int]$Win32ExitCode = 0)
    Set-LabDirty
    $st = $Svc.status
    $code = 0
    if ($st.exitFile -and [IO.File]::Exists($st.exitFile)) { [int]::TryParse([IO.File]::ReadAllText($st.exitFile).Trim(), [ref]$code) | Out-Null }
    if ($Died -and -not $st.stopRequested) {
        # A process that exits on its own is reported as ERROR_PROCESS_ABORTED (1067); the lab puts the process
        # exit code in SERVICE_EXIT_CODE so a failed start can be diagnosed (2 = rejected flag).
        $st.win32ExitCode = 1067; $st.serviceExitCode = $code
        Add-LabDeathEvent -Svc $Svc
    } else {
        $st.win32ExitCode = $Win32ExitCode; $st.serviceExitCode = 0
    }
    $st.state = 'stopped'; $st.pid = 0; $st.procStart = $null; $st.stopRequested = $false
}
