# ---------------------------------------------------------------------------------------------------------------
# Operations.
# ---------------------------------------------------------------------------------------------------------------

function Get-Timeouts {
  param($Request)
  $t = Get-Prop $Request 'timeouts'
  $r = @{ stop = 30; start = 30 }
  if (Test-Prop $t 'stopSeconds') { $x = Get-Prop $t 'stopSeconds'; Assert-IntRange $x 'timeouts.stopSeconds' 1 3600; $r.stop = [int]$x }
  if (Test-Prop $t 'startSeconds') { $x = Get-Prop $t 'startSeconds'; Assert-IntRange $x 'timeouts.startSeconds' 1 3600; $r.start = [int]$x }
  $r
}

function New-Result {
  param([string]$Op, [string]$Outcome, $Reason, [string]$Message)
  [ordered]@{ kind = 'result'; op = $Op; outcome = $Outcome; reason = $Reason; message = $Message }
}

# The snapshot of the request's service, announced as the 'snapshot' step.
function Read-Snapshot {
  $snap = Get-ServiceSnapshot $Ctx.Service
  Send-Event 'snapshot' ('state ' + $snap.state) ([ordered]@{ configHash = $snap.configHash; state = $snap.state; pid = $snap.pid; findings = @($snap.findings) })
  $snap
}

function Invoke-SnapshotOp {
  param($Request)
  $snap = Read-Snapshot
  $res = New-Result 'snapshot' 'unchanged' ([ordered]@{ code = 'ok' }) ('snapshot of ' + $snap.config.name)
  $res.snapshot = $snap
  $res
}

# Shared by plan and apply: snapshot, drift guard, target, diff. -> @{ snap; target; password; diff; result }
# where result is set when the call already has its outcome (drifted).
function Get-Plan {
  param($Request, [string]$Op)
  $snap = Read-Snapshot
  $expected = Get-Prop $Request 'expectedHash'
  if ($null -ne $expected) {
    Assert-String $expected 'expectedHash' 128
    if ($expected -cne $snap.configHash) {
      $res = New-Result $Op 'drifted' ([ordered]@{ code = 'drift' }) ('the service changed since it was planned: config hash ' + $snap.configHash + ', expected ' + $expected + '; nothing was changed')
      $res.snapshot = $snap
      return @{ snap = $snap; result = $res }
    }
  }
  $t = New-TargetConfig $snap.config (Get-Prop $Request 'desired') $Secret
  if ($t.rollbackLosesPassword -and [string](Get-Prop $Request 'rollback' 'auto') -ne 'never' -and $t.rollbackPassword -ne 'none') {
    $t.password = $null
    Stop-Engine 'rollback-password' ('a rollback to ' + $snap.config.account + ' could not give it its password back (Windows never reveals a service password, so no backup holds it); nothing was changed. Choose before applying: account.rollbackPassword: none (a rollback sets the account back without its password, and the service then fails to log on with 1069 until the password is set again), or rollback: never')
  }
  if ($t.passwordPending -and $Op -ne 'plan') {
    Stop-Engine 'password-required' ('desired.account.passwordAtApply: apply must carry the password of ' + $t.config.account + '; nothing was changed')
  }
  $logon = Assert-AccountCanLogOn $snap.config $t ($Op -eq 'plan')
  $diff = @(Get-Diff $snap.config $t.config ([string]$t.passwordChange))
  $restartNeeded = (@($diff | Where-Object { $_.restartNeeded }).Count -gt 0)
  Send-Event 'plan' ($diff.Count.ToString() + ' field(s) differ') ([ordered]@{ fields = @($diff | ForEach-Object { $_.field }); restartNeeded = $restartNeeded })
  @{ snap = $snap; target = $t.config; password = $t.password; diff = $diff; restartNeeded = $restartNeeded; result = $null }
}

function Invoke-PlanOp {
  param($Request)
  $p = Get-Plan $Request 'plan'
  if ($p.result) { return $p.result }
  # Ansible check-mode semantics: 'changed' means apply would change something.
  $outcome = 'unchanged'
  if ($p.diff.Count -gt 0) { $outcome = 'changed' }
  $res = New-Result 'plan' $outcome ([ordered]@{ code = 'ok' }) ($p.diff.Count.ToString() + ' field(s) would change')
  $res.snapshot = $p.snap
  # An apply whose engine died left its record: an apply would finish it (restart, start, verify) even with no diff.
  $txn = Find-TransactionRecord $Ctx.Service
  if ($txn) {
    $res.outcome = 'changed'
    $res.interrupted = [ordered]@{ runId = $txn.runId; step = $txn.step }
    $res.message += '; an apply of run ' + $txn.runId + ' was interrupted at its ' + $txn.step + ' step: apply finishes it'
  }
  $res.diff = @($p.diff)
  $res.restartNeeded = $p.restartNeeded
  # What an apply would have to do about running dependents (the restart policy and running state as apply sees them).
  $policy = [string](Get-Prop $Request 'restart' 'if-needed')
  $wasRunning = ($p.snap.state -eq 'running' -or $p.snap.state -eq 'start-pending')
  if ($wasRunning -and ($policy -eq 'always' -or ($policy -eq 'if-needed' -and $p.restartNeeded -and $p.diff.Count -gt 0))) {
    $deps = @(Get-RunningDependents $Ctx.Service)
    if ($deps.Count -gt 0) {
      $res.runningDependents = $deps
      $dependentsPolicy = [string](Get-Prop $Request 'dependents' 'refuse')
      $res.message += '; the restart needs running dependents stopped (' + ($deps -join ', ') + '): '
      if ($dependentsPolicy -eq 'stop-and-restart') { $res.message += 'they would be stopped and started again' } else { $res.message += 'apply would refuse (dependents: refuse)' }
    }
  }
  $res
}

function Invoke-ApplyOp {
  param($Request)
  $policy = [string](Get-Prop $Request 'restart' 'if-needed')
  Assert-OneOf $policy 'restart' @('never', 'if-needed', 'always')
  $rollbackPolicy = [string](Get-Prop $Request 'rollback' 'auto')
  Assert-OneOf $rollbackPolicy 'rollback' @('auto', 'never')
  $dependentsPolicy = [string](Get-Prop $Request 'dependents' 'refuse')
  Assert-OneOf $dependentsPolicy 'dependents' @('refuse', 'stop-and-restart')
  $timeouts = Get-Timeouts $Request
  $p = Get-Plan $Request 'apply'
  if ($p.result) { return $p.result }
  $snap = $p.snap
  # $orig: the service before this change. Normally the snapshot just read; after an engine died mid-apply (its
  # transaction record is left), the backup that apply wrote: what has to be restarted, started or restored is
  # decided against that, not against the half-changed state read now.
  $orig = $snap
  $origBackup = $snap
  $restartNeeded = $p.restartNeeded
  $txn = Find-TransactionRecord $Ctx.Service
  if ($txn) {
    $b = Read-Backup $Ctx.Service $txn.runId
    $origBackup = $b.snapshot
    $orig = ConvertFrom-SnapshotObject $b.snapshot $Ctx.Service 'backup.snapshot'
    $restartNeeded = (@(Get-Diff $orig.config $p.target $false | Where-Object { $_.restartNeeded }).Count -gt 0)
    Send-Event 'plan' ('an apply of run ' + $txn.runId + ' was interrupted at its ' + $txn.step + ' step; finishing it from ' + $b.path) ([ordered]@{ interrupted = [ordered]@{ runId = $txn.runId; step = $txn.step } })
  }
  $wasRunning = ($orig.state -eq 'running' -or $orig.state -eq 'start-pending')
  $spec = Get-VerifySpec $Request $wasRunning
  $doRestart = ($policy -eq 'always') -or ($policy -eq 'if-needed' -and $restartNeeded)

  $res = New-Result 'apply' 'unchanged' ([ordered]@{ code = 'ok' }) ''
  $res.snapshot = $snap
  $res.diff = @($p.diff)
  $res.restartNeeded = $p.restartNeeded
  $res.restarted = $false
  if ($p.diff.Count -eq 0 -and $policy -ne 'always' -and -not $txn) {
    $res.message = 'already as desired; nothing changed'
    return $res
  }

  # A restart of a service whose dependents run needs them stopped first (1051 otherwise): decided before anything
  # is written.
  $deps = @()
  if ($doRestart -and $wasRunning) { $deps = @(Get-RunningDependents $Ctx.Service) }
  $stoppedDeps = New-Object System.Collections.ArrayList
  if ($deps.Count -gt 0) {
    $res.runningDependents = $deps
    if ($dependentsPolicy -eq 'refuse') {
      $res.outcome = 'failed'
      $res.reason = [ordered]@{ code = 'dependents-running'; win32 = 1051 }
      $res.message = 'the restart would stop ' + $Ctx.Service + ' while services that depend on it run (' + ($deps -join ', ') + '); dependents: refuse, so nothing was changed (dependents: stop-and-restart stops them and starts them again)'
      Send-Event 'plan' $res.message ([ordered]@{ dependents = $deps; policy = $dependentsPolicy }) 'error'
      return $res
    }
    Send-Event 'plan' ('the restart stops and restarts running dependents: ' + ($deps -join ', ')) ([ordered]@{ dependents = $deps; policy = $dependentsPolicy })
  }

  $res.backupPath = Write-Backup $origBackup $Ctx.Service ([string]$Request.runId) (Get-BackupKeep $Request)
  # Handed on in a hashtable of its own (see 00-prologue.ps1): never as a parameter's value.
  $written = @{ password = $p.password }
  $p.password = $null
  try {
    Write-TransactionRecord $Ctx.Service ([string]$Request.runId) 'write'
    Set-ServiceConfig $Ctx.Service $snap.config $p.target $written 'apply'
    $written.Clear()
    $read = Get-ServiceSnapshot $Ctx.Service
    $mismatch = @(Compare-Config $read.config $p.target)
    if ($mismatch.Count -gt 0) {
      $detail = @(foreach ($m in $mismatch) { $m + ' is ' + (ConvertTo-CanonicalJson (Get-FieldValue $read.config $m)) + ', wanted ' + (ConvertTo-CanonicalJson (Get-FieldValue $p.target $m)) })
      Stop-Engine 'readback-mismatch' ('read back differs: ' + ($detail -join '; '))
    }
    Send-Event 'readback' 'every field reads back as written' ([ordered]@{ configHash = $read.configHash })

    $oldPid = $orig.pid
    Write-TransactionRecord $Ctx.Service ([string]$Request.runId) 'restart'
    if ($doRestart -and $wasRunning) {
      Stop-Dependents $deps $timeouts 'stop' $stoppedDeps
      Stop-ServiceAndWait $Ctx.Service $timeouts.stop 'stop'
      [void](Start-ServiceAndWait $Ctx.Service $timeouts.start 'start-service')
      $res.restarted = $true
    } elseif ($spec.running -and $policy -ne 'never' -and (-not $wasRunning -or ($txn -and (Get-ServiceStatus $Ctx.Service).state -ne 'running'))) {
      # Not running: it was stopped before the change, or the interrupted apply stopped it.
      [void](Start-ServiceAndWait $Ctx.Service $timeouts.start 'start-service')
      $res.restarted = $true
    }
    Write-TransactionRecord $Ctx.Service ([string]$Request.runId) 'verify'
    if ($spec.running) {
      [void](Test-ServiceGates $Ctx.Service $spec $oldPid $res.restarted $p.target.dependencies 'verify')
    }
    if ($stoppedDeps.Count -gt 0) { Start-Dependents $stoppedDeps $timeouts 'start-service' }
    $res.after = Get-ServiceSnapshot $Ctx.Service
    $res.outcome = 'changed'
    $res.message = 'changed ' + $p.diff.Count + ' field(s)'
    if ($res.restarted) { $res.message += ', restarted' }
    if ($p.restartNeeded -and -not $res.restarted) { $res.message += '; not restarted, so the change takes effect at the next start' }
    return $res
  } catch {
    $password = $null
    $why = Get-Reason $_
    $res.reason = $why.reason
    $res.message = $why.message
    Send-Event 'apply' ('failed: ' + $why.message) ([ordered]@{ reason = $why.reason }) 'error'
  }

  # Nothing to undo when the failure left the config and the process exactly as they were.
  $now = $null
  try { $now = Get-ServiceSnapshot $Ctx.Service } catch { }
  if ($null -ne $now -and $now.configHash -eq $orig.configHash -and $now.state -eq $orig.state -and $now.pid -eq $orig.pid) {
    $res.outcome = 'failed'
    $res.message += '; nothing was changed'
    $res.after = $now
    return $res
  }
  if ($rollbackPolicy -eq 'never') {
    $res.outcome = 'failed'
    $res.message += '; rollback policy is never: left as is'
    if ($stoppedDeps.Count -gt 0) { $res.message += Restore-Dependents $stoppedDeps $timeouts 'rollback' }
    if ($null -ne $now) { $res.after = $now }
    return $res
  }
  $saved = @{ config = $orig.config; state = 'stopped'; pid = $orig.pid }
  if ($wasRunning) { $saved.state = 'running' }
  Write-TransactionRecord $Ctx.Service ([string]$Request.runId) 'restore'
  try {
    # Dependents this apply stopped (and perhaps started again) are stopped before the restore and started after it,
    # in order.
    if ($stoppedDeps.Count -gt 0) { Stop-Dependents $stoppedDeps $timeouts 'rollback' $null }
    $r = Restore-Service $Ctx.Service $saved 'rollback' 'rollback-verify' $timeouts ([Math]::Min($spec.settleSeconds, 5))
    $res.outcome = 'rolled-back'
    $res.after = $r.after
    $res.rollback = [ordered]@{ ok = $true; message = 'restored the snapshot and verified it' }
    if ($stoppedDeps.Count -gt 0) {
      Start-Dependents $stoppedDeps $timeouts 'rollback'
      $res.rollback.message += '; started the dependents again: ' + (@($stoppedDeps) -join ', ')
    }
  } catch {
    $rb = Get-Reason $_
    $res.outcome = 'rollback-failed'
    $res.rollback = [ordered]@{ ok = $false; message = $rb.message; reason = $rb.reason }
    Send-Event 'rollback' ('failed: ' + $rb.message) ([ordered]@{ reason = $rb.reason }) 'error'
    if ($stoppedDeps.Count -gt 0) { $res.rollback.message += Restore-Dependents $stoppedDeps $timeouts 'rollback' }
    try { $res.after = Get-ServiceSnapshot $Ctx.Service } catch { }
  }
  $res
}

# Best effort after a failure: start the dependents an apply stopped; -> a sentence for the result message.
function Restore-Dependents {
  param($Names, $Timeouts, [string]$Phase)
  $failed = @()
  $list = @($Names)
  [array]::Reverse($list)
  foreach ($d in $list) {
    try {
      if ((Get-ServiceStatus $d).state -ne 'running') { Send-Event $Phase ('starting dependent ' + $d) ([ordered]@{ dependent = $d }); [void](Start-ServiceAndWait $d $Timeouts.start $Phase) }
    } catch {
      $failed += ($d + ' (' + (Get-Reason $_).message + ')')
    }
  }
  if ($failed.Count -gt 0) { return '; dependents not running again: ' + ($failed -join ', ') }
  '; started the dependents again: ' + (@($Names) -join ', ')
}

function Invoke-RollbackOp {
  param($Request)
  $timeouts = Get-Timeouts $Request
  $dependentsPolicy = [string](Get-Prop $Request 'dependents' 'refuse')
  Assert-OneOf $dependentsPolicy 'dependents' @('refuse', 'stop-and-restart')
  $restore = Get-Prop $Request 'restore'
  if ($null -eq $restore) { Stop-Engine 'bad-request' 'field restore: rollback needs restore.snapshot or restore.fromRunId' }
  $source = ''
  if (Test-Prop $restore 'snapshot') {
    $saved = ConvertFrom-SnapshotObject (Get-Prop $restore 'snapshot') $Ctx.Service 'restore.snapshot'
    $source = 'the snapshot in the request'
  } else {
    $from = Get-Prop $restore 'fromRunId'
    Assert-RunId $from 'restore.fromRunId'
    $b = Read-Backup $Ctx.Service $from
    $saved = ConvertFrom-SnapshotObject $b.snapshot $Ctx.Service 'backup.snapshot'
    $source = $b.path
  }
  $now = Read-Snapshot
  $fields = @(Compare-Config $now.config $saved.config)
  $wantRunning = ($saved.state -eq 'running' -or $saved.state -eq 'start-pending')
  $isRunning = ($now.state -eq 'running')
  $res = New-Result 'rollback' 'unchanged' ([ordered]@{ code = 'ok' }) ''
  $res.snapshot = [ordered]@{ config = $saved.config; configHash = $saved.configHash; state = $saved.state; pid = $saved.pid; takenAt = (Get-UtcStamp); findings = @() }
  $res.diff = @(Get-Diff $now.config $saved.config)
  Send-Event 'plan' ($fields.Count.ToString() + ' field(s) differ from ' + $source) ([ordered]@{ fields = $fields })
  if ($fields.Count -eq 0 -and $wantRunning -eq $isRunning) {
    $res.message = 'already matches ' + $source
    $res.after = $now
    $Ctx.Transaction = $true   # settled: an interrupted apply's record goes
    return $res
  }
  $target = @{ config = $saved.config; state = 'stopped'; pid = $null }
  if ($wantRunning) { $target.state = 'running' }
  # A running process is replaced when restored fields only take effect at the next start.
  if ($isRunning -and @($res.diff | Where-Object { $_.restartNeeded }).Count -eq 0) { $target.pid = $now.pid }

  # The restore stops the service when it replaces its process or leaves it stopped; running dependents make that
  # stop fail with 1051, so they are handled as apply handles them, before anything is written.
  $deps = @()
  if ($now.state -ne 'stopped' -and ($target.state -eq 'stopped' -or $null -eq $target.pid)) { $deps = @(Get-RunningDependents $Ctx.Service) }
  if ($deps.Count -gt 0) {
    $res.runningDependents = $deps
    if ($dependentsPolicy -eq 'refuse') {
      $res.outcome = 'failed'
      $res.reason = [ordered]@{ code = 'dependents-running'; win32 = 1051 }
      $res.message = 'restoring ' + $Ctx.Service + ' stops it while services that depend on it run (' + ($deps -join ', ') + '); dependents: refuse, so nothing was changed (dependents: stop-and-restart stops them and starts them again)'
      Send-Event 'plan' $res.message ([ordered]@{ dependents = $deps; policy = $dependentsPolicy }) 'error'
      $res.after = $now
      return $res
    }
    Send-Event 'plan' ('the restore stops and restarts running dependents: ' + ($deps -join ', ')) ([ordered]@{ dependents = $deps; policy = $dependentsPolicy })
  }

  $res.backupPath = Write-Backup $now $Ctx.Service ([string]$Request.runId) (Get-BackupKeep $Request)
  $stoppedDeps = New-Object System.Collections.ArrayList
  try {
    Stop-Dependents $deps $timeouts 'rollback' $stoppedDeps
    $r = Restore-Service $Ctx.Service $target 'rollback' 'rollback-verify' $timeouts 0
    $Ctx.Transaction = $true
    $res.outcome = 'changed'
    $res.after = $r.after
    $res.restarted = $r.restarted
    $res.message = 'restored ' + $fields.Count + ' field(s) from ' + $source
    if ($stoppedDeps.Count -gt 0) {
      if ($target.state -eq 'running') {
        Start-Dependents $stoppedDeps $timeouts 'rollback'
        $res.message += '; started the dependents again: ' + (@($stoppedDeps) -join ', ')
      } else {
        # Starting a dependent starts the services it depends on, so they stay stopped with the restored service.
        $res.message += '; the restored state is stopped, so its dependents stay stopped: ' + (@($stoppedDeps) -join ', ')
      }
    }
  } catch {
    $rb = Get-Reason $_
    $res.outcome = 'rollback-failed'
    $res.reason = $rb.reason
    $res.message = $rb.message
    if ($stoppedDeps.Count -gt 0) { $res.message += Restore-Dependents $stoppedDeps $timeouts 'rollback' }
    try { $res.after = Get-ServiceSnapshot $Ctx.Service } catch { }
  }
  $res
}

function Assert-RunId {
  param($Value, [string]$Field)
  if (-not ($Value -is [string]) -or $Value -notmatch '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$') {
    Stop-Engine 'bad-request' ('field ' + $Field + ': must be 1-128 characters of A-Z a-z 0-9 . _ - starting with a letter or digit')
  }
}

function Get-ExitCode {
  param($Result)
  $code = [string]$Result.reason.code
  if ($code -eq 'bad-request' -or $code -eq 'unsupported-protocol') { return $ExitCodes.badRequest }
  if ($code -eq 'internal') { return $ExitCodes.internal }
  switch ([string]$Result.outcome) {
    'unchanged' { return $ExitCodes.ok }
    'changed' { return $ExitCodes.ok }
    'drifted' { return $ExitCodes.drifted }
    'rolled-back' { return $ExitCodes['rolled-back'] }
    'rollback-failed' { return $ExitCodes['rollback-failed'] }
  }
  $ExitCodes.failed
}

function Invoke-Request {
  param($Request)
  $nonce = Get-Prop $Request 'nonce'
  if (-not ($nonce -is [string]) -or $nonce -notmatch '^[A-Za-z0-9_-]{16,128}$') {
    # Without a valid nonce no frame can be trusted by the controller; say so on stderr only.
    [Console]::Error.WriteLine('svcfleet engine: request.nonce must be 16-128 characters of A-Z a-z 0-9 _ -')
    return $ExitCodes.badRequest
  }
  $Ctx.Nonce = $nonce
  $op = [string](Get-Prop $Request 'op')
  $res = $null
  try {
    Send-Event 'start' ('svcfleet engine: ' + $op) ([ordered]@{
      op = $op; service = [string](Get-Prop $Request 'service'); runId = [string](Get-Prop $Request 'runId')
      psVersion = $PSVersionTable.PSVersion.ToString(); psEdition = [string]$PSVersionTable.PSEdition
      nativeArguments = (Get-NativeArgumentMode)
    })
    if ((Get-Prop $Request 'v') -ne 1) { Stop-Engine 'unsupported-protocol' ('protocol version ' + (Get-Prop $Request 'v') + ' is not supported; this engine speaks version 1') }
    Assert-OneOf $op 'op' @('snapshot', 'plan', 'apply', 'rollback')
    Assert-RunId (Get-Prop $Request 'runId') 'runId'
    $svc = Get-Prop $Request 'service'
    Assert-String $svc 'service' 256
    if ($svc -match '[\\/]') { Stop-Engine 'bad-request' 'field service: a service name cannot contain "/" or "\"' }
    Assert-NoDates $Request 'request'
    $Ctx.Service = $svc
    switch ($op) {
      'snapshot' { $res = Invoke-SnapshotOp $Request }
      'plan' { $res = Invoke-PlanOp $Request }
      'apply' { $res = Invoke-ApplyOp $Request }
      'rollback' { $res = Invoke-RollbackOp $Request }
    }
  } catch {
    $why = Get-Reason $_
    $res = New-Result $op 'failed' $why.reason $why.message
    if ($null -eq $res.op -or -not (@('snapshot', 'plan', 'apply', 'rollback') -contains $res.op)) { $res.op = 'snapshot' }
  } finally {
    # The password is not needed past apply; do not keep it around.
    if ($Secret -is [hashtable]) { $Secret.Clear() }
  }
  # What the service said when it failed to start (47-start-evidence.ps1): the first such failure of this call.
  if ($null -ne $Ctx.Evidence -and $res.outcome -ne 'changed' -and $res.outcome -ne 'unchanged') { $res.evidence = $Ctx.Evidence }
  # This engine ran the service's transaction to a result (or restored it): no record of an unfinished one remains.
  if ($Ctx.Transaction) {
    try { Clear-TransactionRecords $Ctx.Service } catch { Send-Event 'done' ('cannot remove the transaction record: ' + $_.Exception.Message) $null 'warn' }
  }
  Send-Event 'done' ($res.outcome + ': ' + $res.message) ([ordered]@{ outcome = $res.outcome; reason = $res.reason })
  Write-Frame $res
  Get-ExitCode $res
}

if ($null -eq $Request) { return }
Invoke-Request $Request
