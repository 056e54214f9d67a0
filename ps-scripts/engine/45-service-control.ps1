# ---------------------------------------------------------------------------------------------------------------
# Service control: sc.exe start/stop are asynchronous (scm 1.3); poll the state with deadlines.
# ---------------------------------------------------------------------------------------------------------------

function Get-ServiceStatus {
  param([string]$Name)
  $svc = Get-Win32Service $Name
  $state = $StateByCim[[string]$svc.State]
  if (-not $state) { $state = 'stopped' }
  $procId = $null
  if ($svc.ProcessId -and [long]$svc.ProcessId -gt 0) { $procId = [long]$svc.ProcessId }
  @{ state = $state; pid = $procId; exitCode = $svc.ExitCode }
}

function Stop-ServiceAndWait {
  param([string]$Name, [int]$TimeoutSeconds, [string]$Phase = 'stop', [switch]$KillOnTimeout)
  $st = Get-ServiceStatus $Name
  if ($st.state -eq 'stopped') { return }
  $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
  $lastPid = $st.pid
  Send-Event $Phase 'stopping' ([ordered]@{ pid = $st.pid; state = $st.state })
  $sent = $false
  while ($true) {
    if ($st.state -eq 'stopped') { Send-Event $Phase 'stopped'; return }
    if ($null -ne $st.pid) { $lastPid = $st.pid }
    if (-not $sent -and ($st.state -eq 'running' -or $st.state -eq 'paused')) {
      $r = Invoke-Native 'sc.exe' @('stop', $Name)
      # 1062: not active (stopped meanwhile); 1061: in a pending state, keep polling (scm 1.5).
      if ($r.code -ne 0 -and $r.code -ne 1062 -and $r.code -ne 1061) {
        Stop-Engine 'stop-failed' ('sc.exe stop failed with ' + $r.code + ': ' + $r.text) $r.code
      }
      $sent = $true
    }
    if ([DateTime]::UtcNow -gt $deadline) { break }
    Start-Sleep -Milliseconds 200
    $st = Get-ServiceStatus $Name
    if ($st.state -eq 'running') { $sent = $false }
  }
  if ($KillOnTimeout -and $null -ne $lastPid) {
    # Restoring a service stuck in STOP_PENDING: end its process, as an operator would.
    Send-Event $Phase ('still ' + $st.state + ' after ' + $TimeoutSeconds + ' s; ending process ' + $lastPid) $null 'warn'
    try { Stop-Process -Id $lastPid -Force -ErrorAction Stop } catch { }
    $deadline = [DateTime]::UtcNow.AddSeconds(10)
    while ([DateTime]::UtcNow -lt $deadline) {
      $st = Get-ServiceStatus $Name
      if ($st.state -eq 'stopped') { Send-Event $Phase 'stopped'; return }
      Start-Sleep -Milliseconds 200
    }
  }
  Stop-Engine 'stop-timeout' ('the service is still ' + $st.state + ' after ' + $TimeoutSeconds + ' s') 1053
}

# -> the new PID.
function Start-ServiceAndWait {
  param([string]$Name, [int]$TimeoutSeconds, [string]$Phase = 'start-service')
  Send-Event $Phase 'starting'
  $r = Invoke-Native 'sc.exe' @('start', $Name)
  if ($r.code -ne 0 -and $r.code -ne 1056) {
    Stop-Engine 'start-failed' ('sc.exe start failed with ' + $r.code + ': ' + $r.text) $r.code
  }
  $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
  while ($true) {
    $st = Get-ServiceStatus $Name
    if ($st.state -eq 'running') {
      Send-Event $Phase 'running' ([ordered]@{ pid = $st.pid })
      return $st.pid
    }
    if ($st.state -eq 'stopped') {
      $code = $null
      if ($null -ne $st.exitCode) { $code = [int]$st.exitCode }
      Stop-Engine 'start-failed' ('the service stopped while starting (exit code ' + $code + ')') $code
    }
    if ([DateTime]::UtcNow -gt $deadline) {
      Stop-Engine 'start-timeout' ('the service did not reach RUNNING within ' + $TimeoutSeconds + ' s (still ' + $st.state + ')') 1053
    }
    Start-Sleep -Milliseconds 200
  }
}
