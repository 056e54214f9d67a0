# The native-API seam (docs/lab.md "Native calls"). The remote engine writes failure-action lists that contain an
# SC_ACTION_NONE with ChangeServiceConfig2W through a P/Invoke type it compiles with Add-Type (sc.exe has no word for
# NONE, docs/reference/sc-exe.md#description-and-failure). advapi32 does not exist here, so the lab's Add-Type (parts/Wrappers.ps1) hands the engine's
# source to Add-LabNativeType, which loads NativeFailureActions.cs instead: same namespace, class and public
# members, each calling back into the functions below in the caller's runspace. Every other Add-Type call goes to
# the real cmdlet unchanged.

# The lab's Add-Type wrapper (parts/Wrappers.ps1) has parameters typed [Microsoft.PowerShell.Commands.Language] and
# [Microsoft.PowerShell.Commands.OutputAssemblyType]. PowerShell resolves those types when the wrapper is first called
# and finds them only if their assembly (Microsoft.PowerShell.Commands.Utility) is already loaded in the process; a
# fresh pwsh loads it on the first Utility cmdlet, which on a busy machine can come after the wrapper's first call:
# "Unable to find type [Microsoft.PowerShell.Commands.Language]" (https://github.com/PowerShell/PowerShell/issues/18838).
# Importing the module here loads the assembly once for the process, so every runspace of it resolves the types.
Microsoft.PowerShell.Core\Import-Module -Name Microsoft.PowerShell.Utility

# The engine's native types (class name in namespace Svcfleet.Native) -> their emulated twins.
$script:LabNativeTwins = @{
    ServiceFailureActions = [IO.Path]::Combine($PSScriptRoot, '..', 'NativeFailureActions.cs')
    ServiceLogon          = [IO.Path]::Combine($PSScriptRoot, '..', 'NativeServiceLogon.cs')
    ProcessGuard          = [IO.Path]::Combine($PSScriptRoot, '..', 'NativeProcessGuard.cs')
}
# SeShutdownPrivilege of "this process" (the caller's runspace: a fresh one per call, like a fresh powershell.exe).
# An elevated administrator holds the privilege, disabled until AdjustTokenPrivileges enables it.
$script:LabShutdownPrivilegeEnabled = $false

# svcfleet's native type is recognised by its namespace; nothing else is intercepted.
function Test-LabNativeTypeSource {
    param([string]$Source)
    [bool]($Source -match '(?m)^\s*namespace\s+Svcfleet\.Native\b')
}

# The public surface of a C# source: its namespace and its public static/const declarations, whitespace-normalised.
function Get-LabCSharpSurface {
    param([string]$Source)
    @([regex]::Matches($Source, '(?m)^\s*(namespace\s+[\w.]+|public\s+(static|const)\b[^\r\n{;=]*(=\s*[^;\r\n]+)?)') |
        ForEach-Object { ($_.Value.Trim() -replace '\s+', ' ') })
}

function Get-LabCacheDir {
    # Same place as the lab pool's compiled host (src/lab/runner/pool.ts): <tmp>/svcfleet-lab-cache-<uid>.
    $uid = 0
    try {
        $line = [IO.File]::ReadAllLines('/proc/self/status') | Where-Object { $_ -like 'Uid:*' } | Select-Object -First 1
        if ($line) { $uid = [int](($line -split '\s+')[1]) }
    } catch { }
    [IO.Path]::Combine([IO.Path]::GetTempPath(), "svcfleet-lab-cache-$uid")
}

# Loads the emulated twin of the engine's native type (compiled once, cached by content hash: a Roslyn compile costs
# ~2.4 CPU-s). Refuses an engine source whose public surface differs from the twin's, so the seam cannot drift.
function Add-LabNativeType {
    param([string]$Source, [switch]$PassThru)
    $class = [regex]::Match($Source, '(?m)^\s*public\s+static\s+class\s+(\w+)').Groups[1].Value
    $twinPath = $script:LabNativeTwins[$class]
    if (-not $twinPath) { throw "svcfleet lab: no emulation of the native type Svcfleet.Native.$class (src/lab/scm/parts/NativeApi.ps1)" }
    $typeName = "Svcfleet.Native.$class"
    $twin = [IO.File]::ReadAllText($twinPath)
    $want = @(Get-LabCSharpSurface $Source)
    $have = @(Get-LabCSharpSurface $twin)
    if (($want -join "`n") -cne ($have -join "`n")) {
        $missing = @($want | Where-Object { $have -cnotcontains $_ }) + @($have | Where-Object { $want -cnotcontains $_ } | ForEach-Object { "(lab only) $_" })
        throw "svcfleet lab: the engine's native type no longer matches its emulation in src/lab/scm/$([IO.Path]::GetFileName($twinPath)); update the emulation: $($missing -join '; ')"
    }
    $type = $typeName -as [type]
    if (-not $type) {
        $hash = -join ([Security.Cryptography.SHA256]::HashData([Text.Encoding]::UTF8.GetBytes($twin + $PSVersionTable.PSVersion)) | Select-Object -First 8 | ForEach-Object { $_.ToString('x2') })
        $dir = Get-LabCacheDir
        $dll = [IO.Path]::Combine($dir, "$([IO.Path]::GetFileNameWithoutExtension($twinPath))-$hash.dll")
        # Shared by every run on the machine: compiled under a name unique to this call, then renamed into place
        # (atomic), so a reader never sees a half-written DLL and two compilers never write the same file.
        if (-not [IO.File]::Exists($dll)) {
            [void][IO.Directory]::CreateDirectory($dir)
            $tmp = "$dll.$PID.$([guid]::NewGuid().ToString('N')).tmp.dll"
            Microsoft.PowerShell.Utility\Add-Type -TypeDefinition $twin -OutputAssembly $tmp
            [IO.File]::Move($tmp, $dll, $true)
        }
        Microsoft.PowerShell.Utility\Add-Type -Path $dll
        $type = $typeName -as [type]
    }
    if ($PassThru) { $type }
}

# AdjustTokenPrivileges(SeShutdownPrivilege): always granted (the lab's caller is an elevated administrator).
function Invoke-LabEnableShutdownPrivilege {
    $script:LabShutdownPrivilegeEnabled = $true
    @{ code = 0; api = $null }
}

# OpenSCManager + OpenService(access) + ChangeServiceConfig2W(SERVICE_CONFIG_FAILURE_ACTIONS), as the SCM answers it.
# Null texts mean "unchanged", "" deletes (SERVICE_FAILURE_ACTIONSW docs); zero actions delete the actions and the
# reset period (docs/reference/windows-services.md#changing-failure-actions). Stored exactly like sc.exe failure's writes, so FailureActions (docs/reference/windows-services.md#the-failureactions-registry-value layout), FailureCommand,
# RebootMessage, qfailure and Win32_Service all show it.
function Invoke-LabChangeFailureActions {
    param([string]$Service, [uint32]$Access, [uint32]$ResetPeriod, $RebootMessage, $Command, [uint32[]]$Types, [uint32[]]$Delays)
    $types = @($Types); $delays = @($Delays)
    $names = @{ 0 = 'none'; 1 = 'restart'; 2 = 'reboot'; 3 = 'run' }   # SC_ACTION_* (docs/reference/windows-services.md#failure-count-and-repetition)
    $failure = @{}
    if ($types.Count -ne $delays.Count) { return @{ code = 87; api = 'ChangeServiceConfig2' } }
    $acts = @()
    for ($i = 0; $i -lt $types.Count; $i++) {
        $word = $names[[int]$types[$i]]
        # An action type outside SC_ACTION_TYPE: ERROR_INVALID_PARAMETER (MS-SCMR 3.1.4.35 lists 87).
        if (-not $word) { return @{ code = 87; api = 'ChangeServiceConfig2' } }
        $acts += , @{ type = $word; delayMs = [long]$delays[$i] }
    }
    $failure.actions = $acts
    $failure.resetPeriod = if ($acts.Count) { [long]$ResetPeriod } else { 0 }
    if ($null -ne $RebootMessage) { $failure.rebootMessage = [string]$RebootMessage }
    if ($null -ne $Command) { $failure.command = [string]$Command }
    $change = @{ failure = $failure }
    $subject = Get-LabChangeSubject -Change $change
    $privileged = $script:LabShutdownPrivilegeEnabled
    $r = Use-LabHost -Body { param($h)
        # OpenService: 1060 for a missing service, 5 through the access-denied fault (as sc.exe's OpenService).
        $o = Open-LabService -State $h -Name $Service -Op 'config' -Subject $subject
        if ($o.code) { return @{ code = $o.code; api = 'OpenService' } }
        # The handle needs SERVICE_CHANGE_CONFIG (MS-SCMR 3.1.4.35: else 5); SERVICE_START too when an action
        # restarts the service, and the caller needs SeShutdownPrivilege for a reboot action (ChangeServiceConfig2
        # docs); the code for those two is 5, the only access error MS-SCMR lists.
        if (-not ($Access -band 0x0002)) { return @{ code = 5; api = 'ChangeServiceConfig2' } }
        if (($acts | Where-Object { $_.type -eq 'restart' }) -and -not ($Access -band 0x0010)) { return @{ code = 5; api = 'ChangeServiceConfig2' } }
        if (($acts | Where-Object { $_.type -eq 'reboot' }) -and -not $privileged) { return @{ code = 5; api = 'ChangeServiceConfig2' } }
        # Drivers have no failure actions: ERROR_CANNOT_DETECT_DRIVER_FAILURE (MS-SCMR 3.1.4.35).
        if ([int]$o.svc.serviceType -band 0x0F) { return @{ code = 1080; api = 'ChangeServiceConfig2' } }
        @{ code = (Set-LabServiceConfig -State $h -Svc $o.svc -Change $change); api = 'ChangeServiceConfig2' }
    }
    if ($r.code) { return $r }
    @{ code = 0; api = $null }
}

# OpenSCManager + OpenService(access) + ChangeServiceConfig2W(SERVICE_CONFIG_DELAYED_AUTO_START_INFO): the delayed
# flag, written explicitly. Any service may carry it, whatever its start type; it is only honoured for auto-start
# services (SERVICE_DELAYED_AUTO_START_INFO remarks, docs/reference/windows-services.md "Delayed auto-start flag").
# The handle needs SERVICE_CHANGE_CONFIG (ChangeServiceConfig2 hService), else 5.
function Invoke-LabChangeDelayedAutoStart {
    param([string]$Service, [uint32]$Access, [bool]$Delayed)
    $change = @{ delayedAutoStart = $Delayed }
    $subject = Get-LabChangeSubject -Change $change
    $r = Use-LabHost -Body { param($h)
        $o = Open-LabService -State $h -Name $Service -Op 'config' -Subject $subject
        if ($o.code) { return @{ code = $o.code; api = 'OpenService' } }
        if (-not ($Access -band 0x0002)) { return @{ code = 5; api = 'ChangeServiceConfig2' } }
        @{ code = (Set-LabServiceConfig -State $h -Svc $o.svc -Change $change); api = 'ChangeServiceConfig2' }
    }
    if ($r.code) { return $r }
    @{ code = 0; api = $null }
}

# LogonUserW(LOGON32_LOGON_SERVICE) as Windows answers it (docs/reference/windows-services.md "Log on as a service
# right"): an unknown account or a wrong password is ERROR_LOGON_FAILURE (1326); a right password without "Log on as a
# service" is ERROR_LOGON_TYPE_NOT_GRANTED (1385). The built-in, virtual and managed accounts are not checked here.
function Invoke-LabLogonUser {
    param([string]$Account, $Secret)   # $Secret: @{ password } (Get-LabPasswordSha256)
    Use-LabHost -Body { param($h)
        $acct = Find-LabAccount -State $h -Account $Account
        if (-not $acct -or $acct.passwordSha256 -ne (Get-LabPasswordSha256 $Secret)) { return @{ code = 1326; api = 'LogonUser' } }
        if (-not (Test-LabServiceLogonRight $acct)) { return @{ code = 1385; api = 'LogonUser' } }
        @{ code = 0; api = $null }
    }
}

# LookupAccountName + LsaEnumerateAccountRights: whether the account holds SeServiceLogonRight. An unknown account is
# ERROR_NONE_MAPPED (1332) from LookupAccountName.
function Invoke-LabGetLogonRight {
    param([string]$Account)
    Use-LabHost -Body { param($h)
        $acct = Find-LabAccount -State $h -Account $Account
        if (-not $acct) { return @{ code = 1332; api = 'LookupAccountName'; granted = $false } }
        @{ code = 0; api = $null; granted = (Test-LabServiceLogonRight $acct) }
    }
}

# OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION) + IsProcessCritical (docs/reference/windows-services.md "Killing a
# service process"): a process is critical when a service it runs is marked so (LabServiceSpec.criticalProcess: the
# stand-in for a process that set itself critical); a PID that no process has is ERROR_INVALID_PARAMETER (87) from
# OpenProcess, as on Windows.
function Invoke-LabIsProcessCritical {
    param([int]$ProcessId)
    Use-LabHost -Body { param($h)
        $in = @($h.services.Values | Where-Object { [int]$_.status.pid -eq $ProcessId -and $_.status.state -ne 'stopped' })
        if ($in.Count -eq 0 -and -not (Get-Process -Id $ProcessId -ErrorAction SilentlyContinue)) { return @{ code = 87; api = 'OpenProcess'; critical = $false } }
        @{ code = 0; api = $null; critical = [bool](@($in | Where-Object { $_.criticalProcess }).Count) }
    }
}

# LsaAddAccountRights(SeServiceLogonRight).
function Invoke-LabGrantLogonRight {
    param([string]$Account)
    Use-LabHost -Body { param($h)
        $acct = Find-LabAccount -State $h -Account $Account
        if (-not $acct) { return @{ code = 1332; api = 'LookupAccountName' } }
        Set-LabDirty
        $acct.serviceLogonRight = $true
        @{ code = 0; api = $null }
    }
}
