# ---------------------------------------------------------------------------------------------------------------
# Service control: sc.exe start/stop are asynchronous (docs/reference/sc-exe.md#start-and-stop-are-asynchronous); poll the state with deadlines.
# ---------------------------------------------------------------------------------------------------------------

function Get-ServiceStatus {
  param([string]$Name)
  $svc = Get-Win32Service $Name
  $state = $StateByCim[[string]$svc.State]
  if (-not $state) { $state = 'stopped' }
  $procId = $null
  if ($svc.ProcessId -and [long]$svc.ProcessId -gt 0) { $procId = [long]$svc.ProcessId }
  $checkPoint = 0
  $waitHint = 0
  if ($null -ne $svc.CheckPoint) { $checkPoint = [long]$svc.CheckPoint }
  if ($null -ne $svc.WaitHint) { $waitHint = [long]$svc.WaitHint }
  @{ state = $state; pid = $procId; exitCode = $svc.ExitCode; checkPoint = $checkPoint; waitHint = $waitHint }
}

# ', service exit code N' when the evidence has a non-zero service-specific code (Windows sets it only with
# ERROR_SERVICE_SPECIFIC_ERROR, 1066; the lab also puts a dead process's exit status there), else ''.
function Format-ServiceExitCode {
  param($Evidence)
  if ($null -eq $Evidence -or $null -eq $Evidence.serviceExitCode -or $Evidence.serviceExitCode -eq 0) { return '' }
  ', service exit code ' + $Evidence.serviceExitCode
}

# Progress of a pending state (SERVICE_STATUS dwCheckPoint / dwWaitHint; docs/reference/windows-services.md
# "Pending states, checkpoint and wait hint"): a service that raises its checkpoint within each wait hint is
# working. Returns the pause before the next look (a tenth of the wait hint, 200 ms to 1 s, as Microsoft's
# "Stopping a service" sample paces it) and reports, once, a pending state that made no progress within its hint.
function Step-PendingWait {
  param($Watch, $Status, [string]$Phase)
  $now = [DateTime]::UtcNow
  if ($null -eq $Watch.at -or $Status.checkPoint -ne $Watch.checkPoint -or $Status.state -ne $Watch.state) {
    $Watch.at = $now; $Watch.checkPoint = $Status.checkPoint; $Watch.state = $Status.state; $Watch.warned = $false
  } elseif ($Status.waitHint -gt 0 -and -not $Watch.warned -and ($now - $Watch.at).TotalMilliseconds -gt $Status.waitHint) {
    $Watch.warned = $true
    Send-Event $Phase ('no progress while ' + $Status.state + ': checkpoint ' + $Status.checkPoint + ' for more than its wait hint of ' + $Status.waitHint + ' ms') ([ordered]@{ state = $Status.state; checkPoint = $Status.checkPoint; waitHint = $Status.waitHint }) 'warn'
  }
  [int][Math]::Max(200, [Math]::Min(1000, [long]($Status.waitHint / 10)))
}

# One stop control, then wait: a service may take the control and go on reporting RUNNING while it cleans up, and
# a second control meanwhile waits for its busy handler and fails with 1053 (ControlService); so the stop is never
# sent again. The wait ends at STOPPED or at the deadline; checkpoint and wait hint pace it (Step-PendingWait).
function Stop-ServiceAndWait {
  param([string]$Name, [int]$TimeoutSeconds, [string]$Phase = 'stop', [switch]$KillOnTimeout)
  $st = Get-ServiceStatus $Name
  if ($st.state -eq 'stopped') { return }
  $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
  $lastPid = $st.pid
  Send-Event $Phase 'stopping' ([ordered]@{ pid = $st.pid; state = $st.state })
  $sent = $false
  $watch = @{ at = $null; checkPoint = $null; state = $null; warned = $false }
  while ($true) {
    if ($st.state -eq 'stopped') { Send-Event $Phase 'stopped'; return }
    if ($null -ne $st.pid) { $lastPid = $st.pid }
    if (-not $sent -and ($st.state -eq 'running' -or $st.state -eq 'paused')) {
      $Ctx.Stopped[$Name] = $true
      $r = Invoke-Native 'sc.exe' @('stop', $Name)
      # 1062: not active (stopped meanwhile); 1061: in a pending state, keep polling (docs/reference/windows-services.md#win32-error-codes).
      if ($r.code -ne 0 -and $r.code -ne 1062 -and $r.code -ne 1061) {
        Stop-Engine 'stop-failed' ('sc.exe stop failed with ' + $r.code + ': ' + $r.text) $r.code
      }
      $sent = $true
      Send-Event $Phase 'stop control sent' ([ordered]@{ control = 'stop'; code = $r.code })
    }
    if ([DateTime]::UtcNow -gt $deadline) { break }
    Start-Sleep -Milliseconds (Step-PendingWait $watch $st $Phase)
    $st = Get-ServiceStatus $Name
  }
  if ($KillOnTimeout -and $null -ne $lastPid) {
    # Restoring a service stuck in STOP_PENDING: end its process, as an operator would, but only its own.
    Send-Event $Phase ('still ' + $st.state + ' after ' + $TimeoutSeconds + ' s') ([ordered]@{ pid = $lastPid; state = $st.state }) 'warn'
    if (Stop-ServiceProcess $Name $lastPid $Phase) { return }
    $st = Get-ServiceStatus $Name
  }
  Stop-Engine 'stop-timeout' ('the service is still ' + $st.state + ' after ' + $TimeoutSeconds + ' s') 1053
}

# Windows' own processes, never ended by svcfleet: svchost.exe hosts Windows' shared services, the others end the
# session or the system with them (docs/reference/windows-services.md "Killing a service process").
$SystemProcessNames = @('svchost', 'csrss', 'wininit', 'smss', 'services', 'lsass', 'winlogon')

# Why the process $ProcessId of $Name is not the service's alone (empty: it is). A service configured as 0x20
# (SERVICE_WIN32_SHARE_PROCESS), another service reporting the same PID, or a Windows system process
# (docs/reference/windows-services.md "Shared-process services").
function Get-ProcessSharing {
  param([string]$Name, $ProcessId)
  $why = @()
  $type = Get-RegValue (Get-ServiceRegistry $Name) 'Type'
  if ($null -ne $type -and ([long]$type -band 0x20)) { $why += ('its type is 0x' + ([long]$type).ToString('x') + ' (SERVICE_WIN32_SHARE_PROCESS)') }
  if ($null -ne $ProcessId -and [long]$ProcessId -gt 0) {
    $others = @()
    try {
      $others = @(Get-CimInstance -ClassName Win32_Service -Filter ('ProcessId = ' + [long]$ProcessId) -ErrorAction Stop |
        Where-Object { [string]$_.Name -ne $Name } | ForEach-Object { [string]$_.Name })
    } catch {
      $why += ('cannot tell which services run in PID ' + $ProcessId + ': ' + $_.Exception.Message)
    }
    if ($others.Count -gt 0) { $why += ('PID ' + $ProcessId + ' also runs ' + (@($others | Sort-Object) -join ', ')) }
    $proc = Get-Process -Id ([int]$ProcessId) -ErrorAction SilentlyContinue
    if ($proc -and $SystemProcessNames -contains ([string]$proc.ProcessName).ToLowerInvariant()) {
      $why += ('PID ' + $ProcessId + ' is ' + $proc.ProcessName + '.exe, a Windows system process')
    }
  }
  $why
}

# Why Windows forbids ending the process $ProcessId (empty: it does not). A process marked critical takes Windows down
# with it (bug check), so IsProcessCritical decides, asked here only, on the kill path, so the native code piece is
# loaded only when a process is about to be ended; when Windows cannot answer, the process is not ended either. The
# name list of Get-ProcessSharing stays as well: svchost.exe is not critical and must still never be ended
# (docs/reference/windows-services.md "Killing a service process").
function Get-ProcessCriticality {
  param($ProcessId)
  Import-NativeType 'ProcessGuard' 'kill-refused' 'the critical-process check (IsProcessCritical)'
  $native = 'Svcfleet.Native.ProcessGuard' -as [type]
  $critical = $false
  $api = $null
  $code = $native::IsCritical([int]$ProcessId, [ref]$critical, [ref]$api)
  if ($code -ne 0) { return ('cannot tell whether PID ' + $ProcessId + ' is a critical process: ' + $api + ' failed with ' + $code) }
  if ($critical) { return ('PID ' + $ProcessId + ' is a critical process (IsProcessCritical): ending it stops Windows') }
}

# Ends the process of a service stuck in STOP_PENDING. A process that never reported SERVICE_STOPPED is a service
# failure to the SCM, so its recovery actions (restart, run a command, reboot) would fire: they are suspended first
# and written back afterwards, whatever happens (docs/reference/windows-services.md "Killing a service process").
# A process that is not the service's alone, or that is critical, is never ended: 'kill-refused'. -> $true once the
# service is STOPPED.
function Stop-ServiceProcess {
  param([string]$Name, $ProcessId, [string]$Phase)
  $why = @(Get-ProcessSharing $Name $ProcessId)
  if ($why.Count -eq 0) { $why = @(Get-ProcessCriticality $ProcessId) }
  if ($why.Count -gt 0) {
    Send-Event $Phase ('not ending process ' + $ProcessId + ': ' + ($why -join '; ')) ([ordered]@{ pid = $ProcessId; killed = $false; reasons = $why }) 'error'
    Stop-Engine 'kill-refused' ('the service is stuck in STOP_PENDING and its process ' + $ProcessId + ' is not its own to end: ' + ($why -join '; ')) 1053
  }
  $kept = (Get-ServiceSnapshot $Name).config
  # reset= 0 actions= "" deletes the actions and the period (docs/reference/sc-exe.md#description-and-failure, docs/reference/windows-services.md#changing-failure-actions); the texts and the flag stay.
  Invoke-ScChecked @('failure', $Name, 'reset=', '0', 'actions=', '') 'failure reset= 0 actions= ""' $Phase
  Send-Event $Phase 'suspended the failure actions before ending the process' ([ordered]@{ failure = $kept.failure })
  $stopped = $false
  try {
    Send-Event $Phase ('ending process ' + $ProcessId) ([ordered]@{ pid = $ProcessId; killed = $true }) 'warn'
    try { Stop-Process -Id ([int]$ProcessId) -Force -ErrorAction Stop } catch { }
    $deadline = [DateTime]::UtcNow.AddSeconds(10)
    while ([DateTime]::UtcNow -lt $deadline) {
      $st = Get-ServiceStatus $Name
      if ($st.state -eq 'stopped') { $stopped = $true; break }
      Start-Sleep -Milliseconds 200
    }
  } finally {
    $now = (Get-ServiceSnapshot $Name).config
    Set-ServiceConfig $Name $now $kept $null $Phase
    Send-Event $Phase 'restored the failure actions' ([ordered]@{ failure = $kept.failure })
  }
  if ($stopped) { Send-Event $Phase 'stopped' }
  $stopped
}

# -> the new PID. One start request, then wait for RUNNING within the deadline, paced by checkpoint and wait hint.
function Start-ServiceAndWait {
  param([string]$Name, [int]$TimeoutSeconds, [string]$Phase = 'start-service')
  Send-Event $Phase 'starting'
  $startedAt = [DateTime]::UtcNow
  $Ctx.LastStartAt = $startedAt
  $r = Invoke-Native 'sc.exe' @('start', $Name)
  if ($r.code -ne 0 -and $r.code -ne 1056) {
    Save-StartEvidence $Name $startedAt
    Stop-Engine 'start-failed' ('sc.exe start failed with ' + $r.code + ': ' + $r.text) $r.code
  }
  $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
  $watch = @{ at = $null; checkPoint = $null; state = $null; warned = $false }
  while ($true) {
    $st = Get-ServiceStatus $Name
    if ($st.state -eq 'running') {
      Send-Event $Phase 'running' ([ordered]@{ pid = $st.pid })
      return $st.pid
    }
    if ($st.state -eq 'stopped') {
      $code = $null
      if ($null -ne $st.exitCode) { $code = [int]$st.exitCode }
      Save-StartEvidence $Name $startedAt
      Stop-Engine 'start-failed' ('the service stopped while starting (exit code ' + $code + (Format-ServiceExitCode $Ctx.Evidence) + ')') $code
    }
    if ([DateTime]::UtcNow -gt $deadline) {
      Save-StartEvidence $Name $startedAt
      Stop-Engine 'start-timeout' ('the service did not reach RUNNING within ' + $TimeoutSeconds + ' s (still ' + $st.state + ')') 1053
    }
    Start-Sleep -Milliseconds (Step-PendingWait $watch $st $Phase)
  }
}

# Running services that depend on $Name, directly or not, in the order they must stop (a dependent's own dependents
# first). ControlService refuses to stop a service while a dependent runs (1051) and never stops dependents itself
# (docs/reference/windows-services.md "Stopping a service with running dependents"); ServiceController's
# DependentServices is EnumDependentServices.
function Get-RunningDependents {
  param([string]$Name)
  $order = New-Object System.Collections.ArrayList
  Add-RunningDependents $Name $order @{}
  $order.ToArray()
}

function Add-RunningDependents {
  param([string]$Name, $Order, $Seen)
  $sc = $null
  try {
    $sc = Get-Service -Name ([System.Management.Automation.WildcardPattern]::Escape($Name)) -ErrorAction Stop
  } catch {
    Stop-Engine 'snapshot-failed' ('cannot list the services that depend on ' + $Name + ': ' + $_.Exception.Message)
  }
  foreach ($d in @($sc.DependentServices)) {
    if ($null -eq $d) { continue }
    $dn = [string]$d.ServiceName
    $key = $dn.ToLowerInvariant()
    if ($Seen.ContainsKey($key)) { continue }
    $Seen[$key] = $true
    Add-RunningDependents $dn $Order $Seen
    if ((Get-ServiceStatus $dn).state -ne 'stopped') { [void]$Order.Add($dn) }
  }
}

# Stops $Names in the given order (Get-RunningDependents'); -> the ones it stopped.
function Stop-Dependents {
  param($Names, $Timeouts, [string]$Phase, $Stopped)
  foreach ($d in @($Names)) {
    if ((Get-ServiceStatus $d).state -eq 'stopped') { continue }
    Send-Event $Phase ('stopping dependent ' + $d) ([ordered]@{ dependent = $d })
    Stop-ServiceAndWait $d $Timeouts.stop $Phase
    if ($null -ne $Stopped -and -not $Stopped.Contains($d)) { [void]$Stopped.Add($d) }
  }
}

# Starts stopped dependents again, in the reverse of their stop order.
function Start-Dependents {
  param($Names, $Timeouts, [string]$Phase)
  $list = @($Names)
  [array]::Reverse($list)
  foreach ($d in $list) {
    Send-Event $Phase ('starting dependent ' + $d) ([ordered]@{ dependent = $d })
    [void](Start-ServiceAndWait $d $Timeouts.start $Phase)
  }
}
