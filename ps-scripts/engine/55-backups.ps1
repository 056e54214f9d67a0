# ---------------------------------------------------------------------------------------------------------------
# Backups: %ProgramData%\svcfleet\backups\<service>\<runId>.json, readable only by Administrators and SYSTEM.
# ---------------------------------------------------------------------------------------------------------------

# A service name as one safe file-name segment: characters outside [A-Za-z0-9 ._-] and a leading '.' become _xHHHH_.
function ConvertTo-FileSegment {
  param([string]$Name)
  $sb = New-Object System.Text.StringBuilder
  for ($i = 0; $i -lt $Name.Length; $i++) {
    $c = $Name[$i]
    if (($c -match '[A-Za-z0-9 _-]') -or ($c -eq '.' -and $i -gt 0)) {
      if ($c -eq '_' -and $i + 1 -lt $Name.Length -and $Name[$i + 1] -eq 'x') { [void]$sb.Append('_x005F_'); continue }
      [void]$sb.Append($c)
    } else {
      [void]$sb.Append('_x').Append(([int]$c).ToString('X4')).Append('_')
    }
  }
  $sb.ToString()
}

function Get-BackupPath {
  param([string]$Service, [string]$RunId)
  $root = $env:ProgramData
  if ([string]::IsNullOrEmpty($root)) { Stop-Engine 'backup-failed' '%ProgramData% is not set on this host' }
  $dir = Join-Path (Join-Path (Join-Path $root 'svcfleet') 'backups') (ConvertTo-FileSegment $Service)
  @{ root = (Join-Path $root 'svcfleet'); dir = $dir; file = (Join-Path $dir ($RunId + '.json')) }
}

# Only Administrators (S-1-5-32-544) and SYSTEM (S-1-5-18), nothing inherited; SIDs so that it works in any language.
function Set-AdminOnlyAcl {
  param([string]$Path, [switch]$Container)
  $perm = 'F'
  if ($Container) { $perm = '(OI)(CI)F' }
  $r = Invoke-Native 'icacls.exe' @($Path, '/inheritance:r', '/grant:r', ('*S-1-5-32-544:' + $perm), ('*S-1-5-18:' + $perm))
  if ($r.code -ne 0) { Stop-Engine 'backup-failed' ('icacls.exe failed with ' + $r.code + ' on ' + $Path + ': ' + $r.text) $r.code }
}

# Who may own backups and be granted access to them: Administrators (S-1-5-32-544) and SYSTEM (S-1-5-18).
$BackupTrustees = @('S-1-5-32-544', 'S-1-5-18')

# Why a backup folder or file cannot be trusted, or $null (docs/reference/programdata-acl.md "A safe backup
# folder"): any user may create %ProgramData%\svcfleet first and then owns it, and what is in it would be restored
# into services that run as SYSTEM. The owner must be Administrators or SYSTEM and every entry must be theirs; the
# root must also not inherit ProgramData's entries (Users may read there). SIDs, so that it works in any language.
function Get-BackupAclProblem {
  param([string]$Path, [bool]$Protected)
  try {
    $acl = Get-Acl -LiteralPath $Path -ErrorAction Stop
  } catch {
    return ('its ACL cannot be read: ' + $_.Exception.Message)
  }
  $sidType = [System.Security.Principal.SecurityIdentifier]
  $owner = [string]$acl.GetOwner($sidType).Value
  if ($BackupTrustees -notcontains $owner) { return ('it is owned by ' + $owner + ', not by Administrators or SYSTEM') }
  if ($Protected -and -not $acl.AreAccessRulesProtected) { return 'it inherits entries from its parent folder' }
  foreach ($rule in @($acl.GetAccessRules($true, $true, $sidType))) {
    $sid = [string]$rule.IdentityReference.Value
    if ($BackupTrustees -notcontains $sid) { return ('it grants access to ' + $sid) }
  }
  $null
}

function Assert-BackupPathSafe {
  param([string]$Path, [bool]$Protected, [string]$What)
  $why = Get-BackupAclProblem $Path $Protected
  if ($null -ne $why) {
    Stop-Engine 'backup-unsafe' ('refusing to use the backup ' + $What + ' ' + $Path + ': ' + $why + '. An ordinary user may have created it (docs/reference/programdata-acl.md); nothing was changed. Remove it, or give it owner Administrators and access for Administrators and SYSTEM only')
  }
}

# The folders of a service's backups, each checked; missing ones are created only when $Create (the root locked down
# first, so that what is created below it inherits only Administrators and SYSTEM).
function Assert-BackupFolders {
  param($Paths, [bool]$Create)
  $backups = Split-Path -Parent $Paths.dir
  # Two runs on one host may reach a missing root at once: the one that creates it locks it down a moment later, and
  # the other must not look at it in between (it would see inherited entries and refuse). A machine-wide mutex makes
  # "create, lock down" one step for every engine on the host.
  $mutex = New-Object System.Threading.Mutex($false, 'Global\svcfleet-backup-root')
  $held = $false
  try {
    try { $held = $mutex.WaitOne(60000) } catch [System.Threading.AbandonedMutexException] { $held = $true }
    if (-not [IO.Directory]::Exists($Paths.root)) {
      if (-not $Create) { return $false }
      [void][IO.Directory]::CreateDirectory($Paths.root)
      Set-AdminOnlyAcl $Paths.root -Container
    }
    Assert-BackupPathSafe $Paths.root $true 'folder'
  } finally {
    if ($held) { $mutex.ReleaseMutex() }
    $mutex.Dispose()
  }
  foreach ($d in @($backups, $Paths.dir)) {
    if (-not [IO.Directory]::Exists($d)) {
      if (-not $Create) { return $false }
      [void][IO.Directory]::CreateDirectory($d)
    }
    Assert-BackupPathSafe $d $false 'folder'
  }
  $true
}

# Keeps the newest $Keep backups of a service (by write time), never the one just written.
function Remove-OldBackups {
  param([string]$Dir, [int]$Keep, [string]$Current)
  $files = @(Get-ChildItem -LiteralPath $Dir -Filter '*.json' -File | Sort-Object LastWriteTimeUtc, Name)
  $excess = $files.Count - $Keep
  if ($excess -le 0) { return }
  $removed = @()
  foreach ($f in @($files | Select-Object -First $excess)) {
    if ($f.FullName -eq $Current) { continue }
    Remove-Item -LiteralPath $f.FullName -Force
    $removed += $f.Name
  }
  if ($removed.Count -gt 0) {
    Send-Event 'backup' ('removed ' + $removed.Count + ' old backup(s), keeping the last ' + $Keep) ([ordered]@{ removed = @($removed); keep = $Keep })
  }
}

# request.backups.keep: how many backups per service the host keeps (default 10).
function Get-BackupKeep {
  param($Request)
  $b = Get-Prop $Request 'backups'
  if (-not (Test-Prop $b 'keep')) { return 10 }
  $k = Get-Prop $b 'keep'
  Assert-IntRange $k 'backups.keep' 1 1000
  [int]$k
}

function Write-Backup {
  param($Snapshot, [string]$Service, [string]$RunId, [int]$Keep = 10)
  $p = Get-BackupPath $Service $RunId
  try {
    [void](Assert-BackupFolders $p $true)
    if (Test-Path -LiteralPath $p.file) {
      # A retried run keeps the backup taken before its first change.
      Assert-BackupPathSafe $p.file $false 'file'
      Send-Event 'backup' ('kept the existing backup ' + $p.file) ([ordered]@{ path = $p.file; kept = $true })
      return $p.file
    }
    $doc = [ordered]@{ kind = 'svcfleet-backup'; version = 1; service = $Service; runId = $RunId; writtenAt = (Get-UtcStamp); snapshot = $Snapshot }
    $json = ConvertTo-Json -InputObject $doc -Depth 12 -Compress
    # Written whole, then renamed: a crash never leaves half a backup. The folder's ACL already covers the file;
    # it gets its own explicit one too.
    $tmp = $p.file + '.tmp'
    [IO.File]::WriteAllText($tmp, $json, (New-Object System.Text.UTF8Encoding $false))
    [IO.File]::Move($tmp, $p.file)
    Set-AdminOnlyAcl $p.file
    Remove-OldBackups $p.dir $Keep $p.file
  } catch {
    $why = Get-Reason $_
    if ($why.reason.code -eq 'backup-failed' -or $why.reason.code -eq 'backup-unsafe') { throw }
    Stop-Engine 'backup-failed' ('cannot write the backup ' + $p.file + ': ' + $why.message) (Get-ExceptionWin32 $_.Exception)
  }
  Send-Event 'backup' ('wrote ' + $p.file) ([ordered]@{ path = $p.file })
  $p.file
}

function Read-Backup {
  param([string]$Service, [string]$RunId)
  $p = Get-BackupPath $Service $RunId
  if (-not (Assert-BackupFolders $p $false) -or -not (Test-Path -LiteralPath $p.file)) { Stop-Engine 'backup-not-found' ('no backup for run ' + $RunId + ' at ' + $p.file) }
  # The file itself too: a file someone else owns could have been put there (programdata-acl.md, point 5).
  Assert-BackupPathSafe $p.file $false 'file'
  try {
    $doc = ConvertFrom-JsonText ([IO.File]::ReadAllText($p.file, [Text.Encoding]::UTF8))
  } catch {
    Stop-Engine 'backup-invalid' ('cannot read the backup ' + $p.file + ': ' + $_.Exception.Message)
  }
  if ((Get-Prop $doc 'kind') -ne 'svcfleet-backup') { Stop-Engine 'backup-invalid' ($p.file + ' is not an svcfleet backup') }
  @{ snapshot = (Get-Prop $doc 'snapshot'); path = $p.file }
}

# A snapshot from a request or a backup, checked and normalised. -> @{ config; state; pid; configHash }
function ConvertFrom-SnapshotObject {
  param($Snapshot, [string]$Service, [string]$Field)
  $config = Get-Prop $Snapshot 'config'
  if ($null -eq $config) { Stop-Engine 'bad-request' ('field ' + $Field + '.config: missing') }
  foreach ($n in @('name', 'displayName', 'binaryPath', 'startType', 'errorControl', 'account', 'description', 'loadOrderGroup')) {
    Assert-String (Get-Prop $config $n) ($Field + '.config.' + $n) 32767 -AllowEmpty
  }
  if (-not [string]::Equals([string](Get-Prop $config 'name'), $Service, [StringComparison]::OrdinalIgnoreCase)) {
    Stop-Engine 'bad-request' ('field ' + $Field + '.config.name: the snapshot is of ' + (Get-Prop $config 'name') + ', not ' + $Service)
  }
  $c = Copy-Config $config
  $c.dependencies = @(ConvertTo-DependencyList @($c.dependencies) ($Field + '.config.dependencies'))
  Assert-IntRange $c.serviceType ($Field + '.config.serviceType') 0 4294967295
  $c.serviceType = [long]$c.serviceType
  Assert-OneOf $c.startType ($Field + '.config.startType') @('boot', 'system', 'auto', 'delayed-auto', 'demand', 'disabled')
  Assert-OneOf $c.errorControl ($Field + '.config.errorControl') @('ignore', 'normal', 'severe', 'critical')
  $state = [string](Get-Prop $Snapshot 'state' 'stopped')
  $p = Get-Prop $Snapshot 'pid'
  if ($null -ne $p) { $p = [long]$p }
  @{ config = $c; state = $state; pid = $p; configHash = (Get-ConfigHash $c) }
}

# ---------------------------------------------------------------------------------------------------------------
# The transaction record: %ProgramData%\svcfleet\backups\<service>\<runId>.txn, next to the backup of that run.
# Written before an apply's first write and rewritten at each step (write, restart, verify, restore); removed once
# the engine has a result to send. An engine that dies (a power cut, a killed session) leaves it behind, and the
# backup of the same run holds the state before that apply: the next apply of the service finishes the change
# against that original state (restart, start, verify), and a rollback removes it once the service is restored
# (docs/remote-protocol.md "The transaction record"). Not a '.json' file, so Remove-OldBackups never counts it.
# ---------------------------------------------------------------------------------------------------------------

function Write-TransactionRecord {
  param([string]$Service, [string]$RunId, [string]$Step)
  $p = Get-BackupPath $Service $RunId
  $file = Join-Path $p.dir ($RunId + '.txn')
  $doc = [ordered]@{ kind = 'svcfleet-transaction'; version = 1; service = $Service; runId = $RunId; op = 'apply'; step = $Step; updatedAt = (Get-UtcStamp) }
  $tmp = $file + '.tmp'
  try {
    [IO.File]::WriteAllText($tmp, (ConvertTo-Json -InputObject $doc -Compress), (New-Object System.Text.UTF8Encoding $false))
    # Replace, not delete + move: a crash in between must not lose the record. (File.Move has no overwrite on 5.1.)
    if ([IO.File]::Exists($file)) { [IO.File]::Replace($tmp, $file, [NullString]::Value) } else { [IO.File]::Move($tmp, $file) }
  } catch {
    Stop-Engine 'backup-failed' ('cannot write the transaction record ' + $file + ': ' + $_.Exception.Message) (Get-ExceptionWin32 $_.Exception)
  }
  $Ctx.Transaction = $true
}

# The record an earlier engine left for the service (the oldest when several runs left one), or $null.
# -> @{ runId; step; path }
function Find-TransactionRecord {
  param([string]$Service)
  # No ACL check here (plan calls this too): a record only says that an apply was interrupted; what is restored or
  # compared comes from the backup, which Read-Backup checks. Without %ProgramData% there are no backups either.
  if ([string]::IsNullOrEmpty($env:ProgramData)) { return $null }
  $p = Get-BackupPath $Service 'x'
  if (-not [IO.Directory]::Exists($p.dir)) { return $null }
  $found = $null
  foreach ($f in @(Get-ChildItem -LiteralPath $p.dir -Filter '*.txn' -File | Sort-Object LastWriteTimeUtc, Name)) {
    $runId = [IO.Path]::GetFileNameWithoutExtension($f.Name)
    $step = 'unknown'
    try { $step = [string](Get-Prop (ConvertFrom-JsonText ([IO.File]::ReadAllText($f.FullName, [Text.Encoding]::UTF8))) 'step' 'unknown') } catch { }
    $found = @{ runId = $runId; step = $step; path = $f.FullName }
    break
  }
  $found
}

function Clear-TransactionRecords {
  param([string]$Service)
  $p = Get-BackupPath $Service 'x'
  if (-not [IO.Directory]::Exists($p.dir)) { return }
  foreach ($f in @(Get-ChildItem -LiteralPath $p.dir -Filter '*.txn' -File)) { Remove-Item -LiteralPath $f.FullName -Force }
}
