# ---------------------------------------------------------------------------------------------------------------
# Restore: bring the service back to a snapshot (config AND running state), then verify it. Shared by apply's
# failure path and the rollback operation.
# ---------------------------------------------------------------------------------------------------------------

function Restore-Service {
  param([string]$Name, $Saved, [string]$Phase, [string]$VerifyPhase, $Timeouts, [int]$SettleSeconds = 0)
  $now = Get-ServiceSnapshot $Name
  $fields = @(Compare-Config $now.config $Saved.config)
  Send-Event $Phase ('restoring ' + $fields.Count + ' field(s)') ([ordered]@{ fields = $fields })
  Set-ServiceConfig $Name $now.config $Saved.config $null $Phase

  $st = Get-ServiceStatus $Name
  $restarted = $false
  if ($Saved.state -eq 'running') {
    # The original process keeps the original config in effect; any other process (or none) must be replaced.
    # A service in a shared process keeps the PID across a restart: one this call stopped is not the original.
    $original = ($st.state -eq 'running' -and $null -ne $Saved.pid -and $st.pid -eq $Saved.pid -and -not $Ctx.Stopped[$Name])
    if (-not $original) {
      Stop-ServiceAndWait $Name $Timeouts.stop $Phase -KillOnTimeout
      [void](Start-ServiceAndWait $Name $Timeouts.start $Phase)
      $restarted = $true
    }
  } elseif ($Saved.state -eq 'stopped' -and $st.state -ne 'stopped') {
    Stop-ServiceAndWait $Name $Timeouts.stop $Phase -KillOnTimeout
  }

  $after = Get-ServiceSnapshot $Name
  $mismatch = @(Compare-Config $after.config $Saved.config)
  if ($mismatch.Count -gt 0) {
    Stop-Engine 'restore-mismatch' ('after restoring, these fields still differ: ' + ($mismatch -join ', '))
  }
  if ($Saved.state -eq 'running') {
    $spec = @{ running = $true; port = $null; timeoutSeconds = $Timeouts.start; settleSeconds = $SettleSeconds; dependencies = 'ignore'; http = $null }
    [void](Test-ServiceGates $Name $spec $null $false @() $VerifyPhase)
    $after = Get-ServiceSnapshot $Name
  }
  Send-Event $VerifyPhase 'restored and verified' ([ordered]@{ configHash = $after.configHash; state = $after.state; pid = $after.pid })
  @{ after = $after; restarted = $restarted; fields = $fields }
}
