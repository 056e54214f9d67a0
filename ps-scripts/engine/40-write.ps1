# ---------------------------------------------------------------------------------------------------------------
# Writing through the SCM: Win32_Service.Change() (docs/reference/windows-services.md#change-method) for values that may hold any text or a password (never on
# a command line), sc.exe (docs/reference/sc-exe.md) for what Change() cannot set or cannot clear, the registry only for Environment
# (docs/reference/windows-services.md#change-through-the-scm-not-the-registry: the SCM has no API for it).
# ---------------------------------------------------------------------------------------------------------------

# Win32_Service.Change() return codes (docs/reference/windows-services.md#change-method) -> the Win32 error they stand for.
$ChangeReturn = @{
  1 = @('Not Supported', 50); 2 = @('Access Denied', 5); 3 = @('Dependent Services Running', 1051)
  4 = @('Invalid Service Control', 1052); 5 = @('Service Cannot Accept Control', 1061); 6 = @('Service Not Active', 1062)
  7 = @('Service Request Timeout', 1053); 8 = @('Unknown Failure', $null); 9 = @('Path Not Found', 3)
  10 = @('Service Already Running', 1056); 11 = @('Service Database Locked', 1055); 12 = @('Service Dependency Deleted', 1075)
  13 = @('Service Dependency Failure', 1068); 14 = @('Service Disabled', 1058); 15 = @('Service Logon Failed', 1069)
  16 = @('Service Marked For Deletion', 1072); 17 = @('Service No Thread', 1054); 18 = @('Status Circular Dependency', 1059)
  19 = @('Status Duplicate Name', 1078); 20 = @('Status Invalid Name', 123); 21 = @('Status Invalid Parameter', 87)
  22 = @('Status Invalid Service Account', 1057); 23 = @('Status Service Exists', 1073); 24 = @('Service Already Paused', $null)
}

function Invoke-ServiceChange {
  param([string]$Name, [hashtable]$Arguments, [string]$Phase = 'apply')
  $svc = Get-Win32Service $Name
  $shown = @($Arguments.Keys | Where-Object { $_ -ne 'StartPassword' } | Sort-Object)
  try {
    $r = Invoke-CimMethod -InputObject $svc -MethodName Change -Arguments $Arguments -ErrorAction Stop
  } catch {
    Stop-Engine 'apply-failed' ('Win32_Service.Change() failed: ' + $_.Exception.Message) (Get-ExceptionWin32 $_.Exception)
  } finally {
    if ($Arguments.ContainsKey('StartPassword')) { $Arguments['StartPassword'] = $null; $Arguments.Remove('StartPassword') }
  }
  $rv = [int]$r.ReturnValue
  if ($rv -ne 0) {
    $info = $ChangeReturn[$rv]
    $label = 'unknown'
    $win32 = $null
    if ($info) { $label = $info[0]; $win32 = $info[1] }
    Stop-Engine 'apply-failed' ('Win32_Service.Change(' + ($shown -join ', ') + ') returned ' + $rv + ' (' + $label + ')') $win32
  }
  Send-Event $Phase ('Win32_Service.Change: ' + ($shown -join ', ')) ([ordered]@{ via = 'Win32_Service.Change'; parameters = @($shown) })
}

# Runs a native tool with each argument encoded for this PowerShell (see ConvertTo-NativeArgument).
# -> @{ code; text } ; the text is localized (docs/reference/sc-exe.md#localisation) and only used in messages.
function Invoke-Native {
  param([string]$Command, [string[]]$Arguments)
  $mode = Get-NativeArgumentMode
  $native = @(foreach ($a in $Arguments) { ConvertTo-NativeArgument $a $mode })
  # 5.1 turns stderr lines of a redirected native command into terminating errors under 'Stop'.
  $ErrorActionPreference = 'Continue'
  $global:LASTEXITCODE = 0
  $out = & $Command @native 2>&1
  $code = $LASTEXITCODE
  $ErrorActionPreference = 'Stop'
  $text = (@($out) | ForEach-Object { [string]$_ } | Where-Object { $_.Trim().Length -gt 0 }) -join ' '
  if ($text.Length -gt 400) { $text = $text.Substring(0, 400) + '...' }
  @{ code = [int]$code; text = $text }
}

function Invoke-ScChecked {
  param([string[]]$Arguments, [string]$What, [string]$Phase = 'apply')
  $r = Invoke-Native 'sc.exe' $Arguments
  if ($r.code -ne 0) {
    Stop-Engine 'apply-failed' ('sc.exe ' + $What + ' failed with ' + $r.code + ': ' + $r.text) $r.code
  }
  Send-Event $Phase ('sc.exe ' + $What) ([ordered]@{ via = 'sc.exe'; command = $What })
}

function Format-FailureActions {
  param($Actions)
  (@(foreach ($a in @($Actions)) { [string]$a.type + '/' + [string]$a.delayMs }) -join '/')
}

# SC_ACTION_NONE has no sc.exe action word (docs/reference/sc-exe.md#description-and-failure: run, restart, reboot), and a trailing NONE is not the same as
# leaving it out (the SCM repeats the last action for every later failure). So a list with a NONE is written with

# SC_ACTION_* codes by name (docs/reference/windows-services.md#failure-count-and-repetition).
$ActionValue = @{ 'none' = 0; 'restart' = 1; 'reboot' = 2; 'run' = 3 }

# sc.exe writes run/restart/reboot lists; only a list with a NONE needs the native call (and its one-time compile).
function Test-NeedsNativeFailureWrite {
  param($Actions)
  @(@($Actions) | Where-Object { $null -ne $_ -and [string]$_.type -eq 'none' }).Count -gt 0
}

# The ChangeServiceConfig2W type (Svcfleet.Native.ServiceFailureActions in ps-scripts/native.ps1), loaded on demand
# and compiled once per process (a warm process does not compile it again).
function Initialize-NativeFailureActions {
  Import-NativeType 'ServiceFailureActions' 'apply-failed' 'the ChangeServiceConfig2 helper'
}

# Writes reset period, reboot message, command and actions in one ChangeServiceConfig2W call, with the same
# meaning as the sc.exe path: 'infinite' is INFINITE, "" deletes a text, no actions also resets the period to 0.
# The service is opened with SERVICE_CHANGE_CONFIG, plus SERVICE_START when there is a restart action; a reboot
# action needs SeShutdownPrivilege enabled (ChangeServiceConfig2 docs; docs/reference/windows-services.md#changing-failure-actions failure_actions).
function Set-FailureActionsNative {
  param([string]$Name, $Failure, [string]$Phase)
  $list = @(@($Failure.actions) | Where-Object { $null -ne $_ })
  $codes = [uint32[]]@(foreach ($a in $list) { [uint32]$ActionValue[[string]$a.type] })
  $waits = [uint32[]]@(foreach ($a in $list) { [uint32][long]$a.delayMs })
  $reset = [uint32]0
  if ($list.Count -gt 0) {
    if ([string]$Failure.resetPeriod -eq 'infinite') { $reset = [uint32]::MaxValue } else { $reset = [uint32][long]$Failure.resetPeriod }
  }
  Initialize-NativeFailureActions
  $native = 'Svcfleet.Native.ServiceFailureActions' -as [type]
  $access = [uint32]$native::SERVICE_CHANGE_CONFIG
  if (@($list | Where-Object { [string]$_.type -eq 'restart' }).Count -gt 0) { $access = [uint32]($access -bor $native::SERVICE_START) }
  $api = $null
  if (@($list | Where-Object { [string]$_.type -eq 'reboot' }).Count -gt 0) {
    $code = $native::EnableShutdownPrivilege([ref]$api)
    if ($code -ne 0) { Stop-Engine 'apply-failed' ('enabling SeShutdownPrivilege for a reboot action failed: ' + $api + ' returned ' + $code) $code }
  }
  $code = $native::Write($Name, $access, $reset, [string]$Failure.rebootMessage, [string]$Failure.command, $codes, $waits, [ref]$api)
  if ($code -ne 0) {
    Stop-Engine 'apply-failed' ('ChangeServiceConfig2(SERVICE_CONFIG_FAILURE_ACTIONS) failed: ' + $api + ' returned ' + $code) $code
  }
  Send-Event $Phase 'ChangeServiceConfig2 failure actions' ([ordered]@{ via = 'ChangeServiceConfig2'; command = 'failure' })
}

# ChangeServiceConfig2W(SERVICE_CONFIG_DELAYED_AUTO_START_INFO): the delayed flag, written explicitly. No sc.exe
# word writes it false with a documented effect ('start= auto' clearing it is only believed, and 'start= demand' /
# 'disabled' are unknown: docs/reference/discrepancies.md), so this goes through the native helper.
function Set-DelayedAutoStartNative {
  param([string]$Name, [bool]$Delayed, [string]$Phase)
  Initialize-NativeFailureActions
  $native = 'Svcfleet.Native.ServiceFailureActions' -as [type]
  $api = $null
  $code = $native::WriteDelayedAutoStart($Name, $Delayed, [ref]$api)
  if ($code -ne 0) {
    Stop-Engine 'apply-failed' ('ChangeServiceConfig2(SERVICE_CONFIG_DELAYED_AUTO_START_INFO) failed: ' + $api + ' returned ' + $code) $code
  }
  Send-Event $Phase ('ChangeServiceConfig2 delayed auto-start flag = ' + $Delayed) ([ordered]@{ via = 'ChangeServiceConfig2'; command = 'delayed-auto-start'; delayed = $Delayed })
}

# Writes every field in which $To differs from $From. $Secret: $null or @{ password }, a password to set with the
# account (Change() only); a hashtable so that no parameter binding holds the password (00-prologue.ps1).
function Set-ServiceConfig {
  param([string]$Name, $From, $To, $Secret = $null, [string]$Phase = 'apply')
  $diff = @(Compare-Config $From $To)
  $passwordGiven = ($null -ne $Secret -and $null -ne $Secret.password)
  if ($diff.Count -eq 0 -and -not $passwordGiven) { return }
  $startModes = @{ 'boot' = 'Boot'; 'system' = 'System'; 'auto' = 'Automatic'; 'demand' = 'Manual'; 'disabled' = 'Disabled' }

  $change = @{}
  if ($diff -contains 'binaryPath') { $change.PathName = [string]$To.binaryPath }
  if ($diff -contains 'displayName') { $change.DisplayName = [string]$To.displayName }
  if ($diff -contains 'errorControl') { $change.ErrorControl = [byte]$ErrorControlValue[$To.errorControl] }
  if ($diff -contains 'serviceType') { $change.ServiceType = [uint32]$To.serviceType }
  # The delayed flag is a value of its own that ChangeServiceConfig (so Change()) keeps, whatever the start type: a
  # service moved delayed -> demand -> auto through Change() comes back delayed (docs/reference/windows-services.md
  # "Delayed auto-start flag"). So every start-type change writes the flag explicitly, as Ansible's SCManager does:
  # 'sc.exe config start= delayed-auto' sets auto and the flag; any other target is set with Change() and then the
  # flag is written false with ChangeServiceConfig2 (Set-DelayedAutoStartNative).
  $startChange = ($diff -contains 'startType')
  if ($startChange -and $To.startType -ne 'delayed-auto') { $change.StartMode = $startModes[$To.startType] }
  if ($diff -contains 'account' -or $passwordGiven) {
    $change.StartName = [string]$To.account
    $kind = Get-AccountKind ([string]$To.account)
    if ($passwordGiven) { $change.StartPassword = [string]$Secret.password }
    elseif ($kind -eq 'builtin') { $change.StartPassword = '' }   # "" not null (docs/reference/windows-services.md#change-method)
    elseif ($kind -eq 'virtual' -or $kind -eq 'managed') { }      # NULL: Windows manages the password (CSC lpPassword)
    else { Send-Event $Phase ('the password of ' + $To.account + ' is not known here; the SCM keeps the one it has') $null 'warn' }
  }
  if ($change.Count -gt 0) { Invoke-ServiceChange $Name $change $Phase }
  $change = $null

  if ($startChange) {
    if ($To.startType -eq 'delayed-auto') { Invoke-ScChecked @('config', $Name, 'start=', 'delayed-auto') 'config start=' $Phase }
    else { Set-DelayedAutoStartNative $Name $false $Phase }
  }
  # depend= "" and group= "" clear the value (docs/reference/sc-exe.md#config-options); Change() has no documented way to clear them.
  if ($diff -contains 'dependencies') { Invoke-ScChecked @('config', $Name, 'depend=', (@($To.dependencies) -join '/')) 'config depend=' $Phase }
  if ($diff -contains 'loadOrderGroup') { Invoke-ScChecked @('config', $Name, 'group=', [string]$To.loadOrderGroup) 'config group=' $Phase }
  if ($diff -contains 'description') { Invoke-ScChecked @('description', $Name, [string]$To.description) 'description' $Phase }
  if (@($diff | Where-Object { $_ -like 'failure.*' -and $_ -ne 'failure.nonCrashFailures' }).Count -gt 0) {
    if (Test-NeedsNativeFailureWrite $To.failure.actions) {
      Set-FailureActionsNative $Name $To.failure $Phase
    } else {
      # reset= only works together with actions= (docs/reference/sc-exe.md#description-and-failure); all four are written so the result is exact.
      $reset = [string]$To.failure.resetPeriod
      if ($reset -eq 'infinite') { $reset = 'INFINITE' }
      Invoke-ScChecked @('failure', $Name, 'reset=', $reset, 'reboot=', [string]$To.failure.rebootMessage,
        'command=', [string]$To.failure.command, 'actions=', (Format-FailureActions $To.failure.actions)) 'failure' $Phase
    }
  }
  if ($diff -contains 'failure.nonCrashFailures') {
    $flag = '0'
    if ($To.failure.nonCrashFailures) { $flag = '1' }
    Invoke-ScChecked @('failureflag', $Name, $flag) 'failureflag' $Phase   # positional flag (docs/reference/sc-exe.md#failureflag)
  }
  if ($diff -contains 'environment') { Set-ServiceEnvironment $Name $To.environment $Phase }
}

function Set-ServiceEnvironment {
  param([string]$Name, $Environment, [string]$Phase)
  $key = Get-ServiceKeyPath $Name
  try {
    if ($null -eq $Environment) {
      if (Test-Prop (Get-ItemProperty -LiteralPath $key -ErrorAction Stop) 'Environment') {
        Remove-ItemProperty -LiteralPath $key -Name 'Environment' -ErrorAction Stop
      }
    } else {
      $entries = [string[]]@(foreach ($k in $Environment.Keys) { [string]$k + '=' + [string]$Environment[$k] })
      Set-ItemProperty -LiteralPath $key -Name 'Environment' -Value $entries -Type MultiString -ErrorAction Stop
    }
  } catch {
    Stop-Engine 'apply-failed' ('cannot write the Environment registry value: ' + $_.Exception.Message) (Get-ExceptionWin32 $_.Exception)
  }
  $names = @()
  if ($null -ne $Environment) { $names = @($Environment.Keys) }
  Send-Event $Phase 'registry Environment' ([ordered]@{ via = 'registry'; value = 'Environment'; names = $names })
}
