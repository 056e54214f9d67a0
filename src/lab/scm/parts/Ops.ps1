# The emulated SCM's operations, on a loaded host state, returning Win32 error codes. Every surface (sc.exe,
# Win32_Service, *-Service cmdlets, the registry) goes through these, so they all agree.

$script:LabMessages = @{
    0    = 'The operation completed successfully.'
    2    = 'The system cannot find the file specified.'
    5    = 'Access is denied.'
    87   = 'The parameter is incorrect.'
    1051 = 'A stop control has been sent to a service that other running services are dependent on.'
    1052 = 'The requested control is not valid for this service.'
    1053 = 'The service did not respond to the start or control request in a timely fashion.'
    1056 = 'An instance of the service is already running.'
    1057 = 'The account name is invalid or does not exist, or the password is invalid for the account name specified.'
    1058 = 'The service cannot be started, either because it is disabled or because it has no enabled devices associated with it.'
    1059 = 'Circular service dependency was specified.'
    1060 = 'The specified service does not exist as an installed service.'
    1061 = 'The service cannot accept control messages at this time.'
    1062 = 'The service has not been started.'
    1067 = 'The process terminated unexpectedly.'
    1068 = 'The dependency service or group failed to start.'
    1069 = 'The service did not start due to a logon failure.'
    1072 = 'The specified service has been marked for deletion.'
    1075 = 'The dependency service does not exist or has been marked for deletion.'
    1078 = 'The name is already in use as either a service name or a service display name.'
    1639 = 'Invalid command line argument. Consult the Windows Installer SDK for detailed command line help.'
    1722 = 'The RPC server is unavailable.'
}

function Get-LabMessage { param([int]$Code) $m = $script:LabMessages[$Code]; if ($m) { $m } else { "Win32 error $Code." } }

# LocalSystem, LocalService, NetworkService, virtual accounts and gMSAs need no password (docs/reference/windows-services.md#virtual-accounts-and-managed-service-accounts password=).
function Test-LabBuiltinAccount {
    param([string]$Account)
    if ([string]::IsNullOrEmpty($Account)) { return $true }
    $builtin = 'LocalSystem', '.\LocalSystem', 'NT AUTHORITY\SYSTEM', 'NT AUTHORITY\LocalService', 'NT AUTHORITY\LOCAL SERVICE', 'LocalService', 'NetworkService',
               'NT AUTHORITY\NetworkService', 'NT AUTHORITY\NETWORK SERVICE'
    foreach ($b in $builtin) { if ([string]::Equals($b, $Account, [StringComparison]::OrdinalIgnoreCase)) { return $true } }
    $Account.StartsWith('NT SERVICE\', [StringComparison]::OrdinalIgnoreCase) -or $Account.EndsWith('$')
}

# builtin (LocalSystem / LocalService / NetworkService in any spelling), virtual (NT SERVICE\name), managed (a gMSA or
# MSA, name$) or user. ChangeServiceConfig: "" for the built-ins, NULL for virtual and managed accounts (Documented:
# CSC lpPassword); a password given to a gMSA makes the start fail with 1069 (Confirmed: SqlServerDsc #1764) -
# docs/reference/windows-services.md "Virtual accounts and managed service accounts".
function Get-LabAccountKind {
    param([string]$Account)
    if ([string]::IsNullOrEmpty($Account)) { return 'builtin' }
    if ($Account.StartsWith('NT SERVICE\', [StringComparison]::OrdinalIgnoreCase)) { return 'virtual' }
    if ($Account.EndsWith('$')) { return 'managed' }
    if (Test-LabBuiltinAccount $Account) { return 'builtin' }
    'user'
}

function Test-LabLocalSystem { param([string]$Account) [string]::IsNullOrEmpty($Account) -or $Account -in @('LocalSystem', '.\LocalSystem', 'NT AUTHORITY\SYSTEM') }

# The SHA-256 of the password a dictionary holds under 'password'. The emulated SCM and LogonUser stand for native
# code, which module logging never sees, so they never take a password as a parameter of its own: a dictionary
# parameter is traced as its type name, a string parameter as its text (test/ps-scripts/engine-password-binding.test.ts).
function Get-LabPasswordSha256 {
    param($Holder)
    $bytes = [Security.Cryptography.SHA256]::HashData([Text.Encoding]::UTF8.GetBytes([string]$Holder['password']))
    [Convert]::ToHexString($bytes).ToLowerInvariant()
}

function Find-LabAccount {
    param($State, [string]$Account)
    if (-not $State.accounts) { return $null }
    foreach ($k in $State.accounts.Keys) { if ([string]::Equals($k, $Account, [StringComparison]::OrdinalIgnoreCase)) { return $State.accounts[$k] } }
    $null
}

function Test-LabServiceLogonRight { param($Account) -not ($Account.ContainsKey('serviceLogonRight') -and -not $Account.serviceLogonRight) }

# OpenService: the service must exist (1060) and the caller must have access (5). Faults apply here.
function Open-LabService {
    param($State, [string]$Name, [string]$Op, [string]$Subject = '')
    $svc = Find-LabService -State $State -Name $Name
    if (-not $svc) { return @{ code = 1060; api = 'OpenService' } }
    Invoke-LabDeathFault -State $State -Service $svc.name -Op $Op -Subject $Subject
    if (Test-LabFault -State $State -Service $svc.name -Op $Op -Kinds 'no-such-service' -Subject $Subject) { return @{ code = 1060; api = 'OpenService' } }
    if (Test-LabFault -State $State -Service $svc.name -Op $Op -Kinds 'access-denied' -Subject $Subject) { return @{ code = 5; api = 'OpenService' } }
    Update-LabStatus -State $State -Svc $svc
    @{ code = 0; svc = $svc }
}

# Registry values the SCM rewrites for each config field: an SCM write replaces a direct registry write.
$script:LabFieldValues = @{
    serviceType = @('Type'); startType = @('Start'); errorControl = @('ErrorControl'); binaryPath = @('ImagePath')
    loadOrderGroup = @('Group'); dependencies = @('DependOnService', 'DependOnGroup'); account = @('ObjectName')
    displayName = @('DisplayName'); description = @('Description'); delayedAutoStart = @('DelayedAutostart')
    failure = @('FailureActions', 'FailureCommand', 'RebootMessage'); nonCrashFailures = @('FailureActionsOnNonCrashFailures')
}

function Clear-LabRegistryOverride {
    param($Svc, [string]$Field)
    foreach ($v in @($script:LabFieldValues[$Field])) {
        if (-not $v) { continue }
        if ($Svc.registry) { foreach ($k in @($Svc.registry.Keys)) { if ($k -ieq $v) { $Svc.registry.Remove($k) } } }
        if ($Svc.registryDeleted) { $Svc.registryDeleted = @($Svc.registryDeleted | Where-Object { $_ -ine $v }) }
    }
}

function Get-LabChangeSubject {
    param([hashtable]$Change)
    (@($Change.Keys | Sort-Object | Where-Object { $_ -ne 'password' } | ForEach-Object {
        $v = $Change[$_]
        if ($v -is [hashtable]) { $v = ($v | ConvertTo-Json -Compress -Depth 5) }
        "$_=$(@($v) -join '/')"
    }) -join "`n")
}

function Test-LabDependencyCycle {
    param($State, [string]$Name, [string[]]$Deps)
    $seen = @{}
    $stack = [Collections.Generic.Stack[string]]::new()
    foreach ($d in $Deps) { if (-not $d.StartsWith('+')) { $stack.Push($d) } }
    while ($stack.Count) {
        $d = $stack.Pop()
        if ($d -ieq $Name) { return $true }
        if ($seen[$d.ToLowerInvariant()]) { continue }
        $seen[$d.ToLowerInvariant()] = $true
        $s = Find-LabService -State $State -Name $d
        if ($s) { foreach ($x in @($s.dependencies)) { if ($x -and -not $x.StartsWith('+')) { $stack.Push($x) } } }
    }
    $false
}

# ChangeServiceConfig (+ the ChangeServiceConfig2 levels sc.exe uses). $Change keys: serviceType, startType,
# delayedAutoStart, errorControl, binaryPath, loadOrderGroup, dependencies, account, password, displayName,
# description, failure (@{resetPeriod; rebootMessage; command; actions}), nonCrashFailures.
# Takes effect per docs/reference/windows-services.md#when-a-change-takes-effect: stored at once (qc shows it); the running process keeps its command line,
# environment and account until it restarts; DisplayName and Description are visible immediately.
function Set-LabServiceConfig {
    param($State, $Svc, [hashtable]$Change)
    $subject = Get-LabChangeSubject -Change $Change
    # ChangeServiceConfig returns ERROR_SERVICE_MARKED_FOR_DELETE (docs/reference/windows-services.md#win32-error-codes).
    if (Test-LabFault -State $State -Service $Svc.name -Op 'config' -Kinds 'marked-for-delete' -Subject $subject) { return 1072 }
    $newType = if ($Change.ContainsKey('serviceType')) { [int]$Change.serviceType } else { [int]$Svc.serviceType }
    $newAccount = if ($Change.ContainsKey('account')) { [string]$Change.account } else { [string]$Svc.account }
    if ($Change.ContainsKey('serviceType') -and @(0x1, 0x2, 0x10, 0x20, 0x110, 0x120) -notcontains $newType) { return 87 }
    # Interactive services must run as LocalSystem: ERROR_INVALID_PARAMETER (docs/reference/windows-services.md#service-type type=).
    if (($newType -band 0x100) -and -not (Test-LabLocalSystem $newAccount)) { return 87 }
    if ($Change.ContainsKey('startType')) {
        if (@('boot', 'system', 'auto', 'demand', 'disabled') -notcontains $Change.startType) { return 87 }
        if ($Change.startType -in 'boot', 'system' -and ($newType -band 0x30)) { return 87 }
    }
    if ($Change.ContainsKey('errorControl') -and @(0, 1, 2, 3) -notcontains [int]$Change.errorControl) { return 87 }
    if ($Change.ContainsKey('binaryPath') -and [string]::IsNullOrWhiteSpace($Change.binaryPath)) { return 87 }
    if ($Change.ContainsKey('account') -and -not (Test-LabBuiltinAccount $newAccount) -and -not (Find-LabAccount -State $State -Account $newAccount)) { return 1057 }
    if ($Change.ContainsKey('dependencies')) {
        if (Test-LabDependencyCycle -State $State -Name $Svc.name -Deps @($Change.dependencies)) { return 1059 }
    }
    if ($Change.ContainsKey('displayName')) {
        if ($Change.displayName.Length -gt 256) { return 87 }
        foreach ($o in $State.services.Values) {
            if ($o -eq $Svc) { continue }
            if ($o.name -ieq $Change.displayName -or $o.displayName -ieq $Change.displayName) { return 1078 }
        }
    }
    Set-LabDirty
    foreach ($k in @($Change.Keys)) {
        switch ($k) {
            'password' { }
            'nonCrashFailures' { $Svc.failure.nonCrashFailures = [bool]$Change.nonCrashFailures; $Svc.failureConfigured = $true }
            'failure' {
                $f = $Change.failure
                foreach ($fk in @($f.Keys)) { $Svc.failure[$fk] = $f[$fk] }
                # Deleting all actions also resets the period to 0 (docs/reference/windows-services.md#changing-failure-actions, SCManager CI test).
                if ($f.ContainsKey('actions') -and @($f.actions).Count -eq 0) { $Svc.failure.resetPeriod = 0 }
                $Svc.failureConfigured = $true
            }
            default { $Svc[$k] = $Change[$k] }
        }
        Clear-LabRegistryOverride -Svc $Svc -Field $k
    }
    $kind = Get-LabAccountKind $newAccount
    if ($Change.ContainsKey('account') -and $kind -ne 'user') { $Svc.passwordSha256 = $null }
    if ($Change.ContainsKey('password') -and $null -ne $Change.password -and $kind -ne 'builtin') {
        # For a virtual or managed account any password (even "") is stored and breaks the logon at start.
        $Svc.passwordSha256 = Get-LabPasswordSha256 $Change
    }
    0
}

function Get-LabRegistryOverride {
    param($Svc, [string]$Value)
    if (-not $Svc.registry) { return $null }
    foreach ($k in $Svc.registry.Keys) { if ($k -ieq $Value) { return $Svc.registry[$k] } }
    $null
}

function Get-LabDependents {
    param($State, $Svc)
    @($State.services.Values | Where-Object { $o = $_; @($o.dependencies) | Where-Object { $_ -ieq $Svc.name } })
}

# StartService. Returns a Win32 code; 0 means the process was created and the service is START_PENDING
# (sc.exe start is asynchronous, docs/reference/sc-exe.md#start-and-stop-are-asynchronous).
function Start-LabServiceCore {
    param($State, $Svc, [int]$Depth = 0)
    Set-LabDirty
    Update-LabStatus -State $State -Svc $Svc
    $subject = [string]$Svc.binaryPath
    $override = Get-LabRegistryOverride -Svc $Svc -Value 'ImagePath'
    if ($override) { $subject = [string]$override.value }
    if (Test-LabFault -State $State -Service $Svc.name -Op 'start' -Kinds 'marked-for-delete' -Subject $subject) { return 1072 }
    if ($Svc.status.state -ne 'stopped') { return 1056 }
    # Disabled -> ERROR_SERVICE_DISABLED at StartService (docs/reference/windows-services.md#when-a-change-takes-effect StartType row).
    if ($Svc.startType -eq 'disabled') { return 1058 }
    if ($Svc.virtual) { $Svc.status.state = 'running'; $Svc.status.win32ExitCode = 0; return 0 }
    foreach ($d in @($Svc.dependencies)) {
        if (-not $d -or $d.StartsWith('+')) { continue }
        $ds = Find-LabService -State $State -Name $d
        if (-not $ds) { return 1075 }
        Update-LabStatus -State $State -Svc $ds
        if ($ds.status.state -eq 'running') { continue }
        if ($Depth -gt 16) { return 1068 }
        $rc = Start-LabServiceCore -State $State -Svc $ds -Depth ($Depth + 1)
        if ($rc -ne 0 -and $rc -ne 1056) { return 1068 }
        if (-not (Wait-LabRunning -State $State -Svc $ds -TimeoutMs 10000)) { return 1068 }
    }
    # A registry write to ImagePath is picked up at the next start (docs/reference/windows-services.md#change-through-the-scm-not-the-registry: the weak-permissions
    # privilege escalation); the SCM record follows it.
    if ($override) { $Svc.binaryPath = [string]$override.value; Clear-LabRegistryOverride -Svc $Svc -Field binaryPath }
    $image = Resolve-LabImage -State $State -CommandLine ([string]$Svc.binaryPath)
    if (-not $image) { return 2 }
    if ((Get-LabAccountKind $Svc.account) -in 'virtual', 'managed' -and $null -ne $Svc.passwordSha256) { return 1069 }
    if (-not (Test-LabBuiltinAccount $Svc.account)) {
        if (Test-LabFault -State $State -Service $Svc.name -Op 'start' -Kinds 'logon-failure' -Subject $subject) { return 1069 }
        $acct = Find-LabAccount -State $State -Account $Svc.account
        if (-not $acct -or $acct.passwordSha256 -ne $Svc.passwordSha256) { return 1069 }
        # Without "Log on as a service" the logon fails too: ERROR_SERVICE_LOGON_FAILED at start, not at configure time
        # (docs/reference/windows-services.md "Log on as a service right").
        if (-not (Test-LabServiceLogonRight $acct)) { return 1069 }
    }
    # A share-process service (type 0x20) whose image already runs for another share-process service of the same
    # account joins that process: it reports the host's PID, and a restart keeps it
    # (docs/reference/windows-services.md "Shared-process services").
    if ([int]$Svc.serviceType -band 0x20) {
        $hostSvc = Find-LabShareHost -State $State -Svc $Svc -Exe $image.exe
        if ($hostSvc) {
            $hs = $hostSvc.status
            $Svc.status = @{
                state = 'running'; pid = $hs.pid; procStart = $hs.procStart; win32ExitCode = 0; serviceExitCode = 0
                startedAt = (Get-LabNowMs); exitFile = $hs.exitFile; stopRequested = $false
                args = @($hs.args); environment = @($hs.environment); commandLine = [string]$Svc.binaryPath
                account = [string]$Svc.account; image = [string]$image.exe
            }
            Set-LabDirty
            return 0
        }
    }
    $hang = [bool](Test-LabFault -State $State -Service $Svc.name -Op 'start' -Kinds 'start-timeout' -Subject $subject)
    $crash = Test-LabFault -State $State -Service $Svc.name -Op 'start' -Kinds 'crash-after-start' -Subject $subject
    $crashMs = 0
    if ($crash) { $crashMs = if ($crash.afterMs) { [int]$crash.afterMs } else { 500 } }
    # The Environment value is read when the process is created (docs/reference/windows-services.md#environment-value "Environment (registry only)").
    $envValue = Get-LabRegistryOverride -Svc $Svc -Value 'Environment'
    $envList = if ($envValue -and $envValue.kind -eq 'MultiString') { @($envValue.value) } else { @() }
    $Svc.status = New-LabStartRecord -State $State -Svc $Svc -ServiceArgs $image.args -Environment $envList
    $Svc.status.hang = $hang
    $Svc.status.commandLine = [string]$Svc.binaryPath
    $Svc.status.account = [string]$Svc.account
    $Svc.status.image = [string]$image.exe
    Write-LabHostState -State $State   # the record is on disk before the process exists (New-LabStartRecord)
    Start-LabProcess -Status $Svc.status -Svc $Svc -CrashAfterMs $crashMs -Hang:$hang
    Set-LabDirty
    0
}

# The running share-process service whose process a starting one joins: type 0x20, same image, same account.
function Find-LabShareHost {
    param($State, $Svc, [string]$Exe)
    foreach ($o in $State.services.Values) {
        if ($o -eq $Svc -or $o.virtual -or -not ([int]$o.serviceType -band 0x20)) { continue }
        Update-LabStatus -State $State -Svc $o
        if ($o.status.state -notin 'running', 'stop-pending' -or -not ([long]$o.status.pid -gt 0)) { continue }
        if (-not [string]::Equals([string]$o.status.image, $Exe, [StringComparison]::OrdinalIgnoreCase)) { continue }
        if (-not [string]::Equals([string]$o.status.account, [string]$Svc.account, [StringComparison]::OrdinalIgnoreCase)) { continue }
        if (Test-LabProcessAlive -ProcessId $o.status.pid -ProcStart $o.status.procStart) { return $o }
    }
    $null
}

# The lab program's --stop-ms value among a service's arguments (Go flag syntax: -x N, --x N, -x=N), else 0. With
# --stop-ms-service NAME only that service's stop handler takes that long (the others of a shared process stop at
# once), as in ps-scripts/selftest/ScratchService.cs.
function Get-LabStopMs {
    param([string[]]$ServiceArgs, [string]$Service = '')
    $a = @($ServiceArgs)
    $ms = 0; $only = ''
    for ($i = 0; $i -lt $a.Count; $i++) {
        if ($a[$i] -match '^--?(stop-ms|stop-ms-service)(=(.*))?$') {
            $flag = $Matches[1]
            $value = if ($Matches[2]) { $Matches[3] } elseif ($i + 1 -lt $a.Count) { $a[$i + 1] } else { '' }
            if ($flag -eq 'stop-ms' -and $value -match '^\d+$') { $ms = [long]$value } elseif ($flag -eq 'stop-ms-service') { $only = $value }
        }
    }
    if ($only -and $Service -and -not [string]::Equals($only, $Service, [StringComparison]::OrdinalIgnoreCase)) { return 0 }
    $ms
}

# Other services whose status reports the same live process as $Svc.
function Get-LabProcessSharers {
    param($State, $Svc)
    $st = $Svc.status
    if (-not ([long]$st.pid -gt 0)) { return @() }
    @($State.services.Values | Where-Object {
        $_ -ne $Svc -and -not $_.virtual -and $_.status.state -ne 'stopped' -and [long]$_.status.pid -eq [long]$st.pid -and
            [string]$_.status.procStart -eq [string]$st.procStart
    })
}

function Wait-LabRunning {
    param($State, $Svc, [int]$TimeoutMs)
    $until = (Get-LabNowMs) + $TimeoutMs
    while ($true) {
        Update-LabStatus -State $State -Svc $Svc
        if ($Svc.status.state -eq 'running') { return $true }
        if ($Svc.status.state -eq 'stopped' -or (Get-LabNowMs) -gt $until) { return $false }
        Start-Sleep -Milliseconds 20
    }
}

# ControlService(SERVICE_CONTROL_STOP). Asynchronous: 0 leaves the service STOP_PENDING (docs/reference/sc-exe.md#start-and-stop-are-asynchronous).
function Stop-LabServiceCore {
    param($State, $Svc)
    Set-LabDirty
    Update-LabStatus -State $State -Svc $Svc
    if ($Svc.status.state -eq 'stopped') { return 1062 }
    if ($Svc.status.state -eq 'running' -and $Svc.status.busyUntil) {
        # The service took a stop and is still busy in its handler: ControlService waits for it up to the SCM's
        # timeout (30 s on Windows; here the host's startTimeoutMs), then fails with ERROR_SERVICE_REQUEST_TIMEOUT
        # (docs/reference/windows-services.md "Pending states, checkpoint and wait hint").
        $wait = [Math]::Min([long]$Svc.status.busyUntil - (Get-LabNowMs), [long]$State.startTimeoutMs)
        if ($wait -gt 0) { Start-Sleep -Milliseconds $wait }
        Update-LabStatus -State $State -Svc $Svc
        if ($Svc.status.state -eq 'stopped') { return 1062 }
        if ($Svc.status.state -eq 'running' -and [long]$Svc.status.busyUntil -gt (Get-LabNowMs)) { return 1053 }
        return 1061
    }
    if ($Svc.status.state -ne 'running') { return 1061 }
    if ($Svc.virtual -and -not $Svc.stoppable) { return 1052 }
    foreach ($d in Get-LabDependents -State $State -Svc $Svc) {
        Update-LabStatus -State $State -Svc $d
        if ($d.status.state -ne 'stopped') { return 1051 }
    }
    if ($Svc.virtual) { $Svc.status.state = 'stopped'; return 0 }
    $Svc.status.stopRequested = $true
    $Svc.status.stopAt = Get-LabNowMs
    $stopMs = Get-LabStopMs -ServiceArgs @($Svc.status.args) -Service ([string]$Svc.name)
    $sharers = @(Get-LabProcessSharers -State $State -Svc $Svc).Count
    if ($stopMs -gt 0 -and $sharers -gt 0) {
        # One service of a shared process whose stop handler takes that long (ScratchService.cs --stop-ms: .NET's
        # ServiceBase reports STOP_PENDING, then runs OnStop off the control thread, and reports STOPPED when it
        # returns; docs/reference/windows-services.md "Shared-process services"). The process stays with the others;
        # the checkpoint does not move meanwhile. Update-LabStatus ends it when the time is up.
        $Svc.status.state = 'stop-pending'
        $Svc.status.stopPendingUntil = (Get-LabNowMs) + $stopMs
        return 0
    }
    if ($stopMs -gt 0) {
        # svcprogram --stop-ms: the handler took the control; the service cleans up, still RUNNING, then exits.
        $Svc.status.busyUntil = (Get-LabNowMs) + $stopMs
        Stop-LabProcess -Status $Svc.status
        return 0
    }
    $Svc.status.state = 'stop-pending'
    if (Test-LabFault -State $State -Service $Svc.name -Op 'stop' -Kinds 'stuck-stop-pending' -Subject ([string]$Svc.binaryPath)) {
        # The service never acknowledges the stop; only killing its process (Stop-Process) ends it. Its checkpoint
        # never advances (Get-LabStatusView).
        $Svc.status.hung = $true
        return 0
    }
    # In a shared process the service stops and the process stays, with the others (docs/reference/windows-services.md
    # "Shared-process services"); the last one to stop ends it.
    if (@(Get-LabProcessSharers -State $State -Svc $Svc).Count -gt 0) { Set-LabStopped -Svc $Svc; return 0 }
    if ((Get-LabStopMs -ServiceArgs @($Svc.status.args)) -gt 0) {
        # The program's slow stop belongs to another of its services (--stop-ms-service): this one stops at once and
        # the process, whose last service it was, exits cleanly (the program itself cannot tell which service stops).
        Stop-LabProcess -Status $Svc.status -Kill
        Set-LabStopped -Svc $Svc
        return 0
    }
    Stop-LabProcess -Status $Svc.status
    0
}

# Poll (outside the lock) until the service leaves a pending state or $TimeoutMs passes. Returns the state.
function Wait-LabServiceState {
    param([string]$Name, [string[]]$Until, [int]$TimeoutMs = 30000)
    $end = (Get-LabNowMs) + $TimeoutMs
    while ($true) {
        $state = Use-LabHost -Body {
            param($h)
            $s = Find-LabService -State $h -Name $Name
            if (-not $s) { return 'missing' }
            Update-LabStatus -State $h -Svc $s
            $s.status.state
        }
        if ($Until -contains $state -or $state -eq 'missing' -or (Get-LabNowMs) -gt $end) { return $state }
        Start-Sleep -Milliseconds 25
    }
}
