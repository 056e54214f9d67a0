# ---------------------------------------------------------------------------------------------------------------
# Desired settings -> target config -> per-field diff (take-effect table: docs/reference/windows-services.md#when-a-change-takes-effect).
# ---------------------------------------------------------------------------------------------------------------

# Field, and whether a change needs a restart to take effect (docs/reference/windows-services.md#when-a-change-takes-effect). Display name and description apply at
# once; start type only matters at boot / next StartService; error control is only read during boot; failure
# settings apply at the next failure; the rest is read when the process starts.
$FieldRules = @(
  @{ name = 'binaryPath'; restart = $true }
  @{ name = 'startType'; restart = $false }
  @{ name = 'errorControl'; restart = $false }
  @{ name = 'displayName'; restart = $false }
  @{ name = 'description'; restart = $false }
  @{ name = 'account'; restart = $true }
  @{ name = 'dependencies'; restart = $true }
  @{ name = 'loadOrderGroup'; restart = $true }
  @{ name = 'serviceType'; restart = $true }
  @{ name = 'failure.resetPeriod'; restart = $false }
  @{ name = 'failure.rebootMessage'; restart = $false }
  @{ name = 'failure.command'; restart = $false }
  @{ name = 'failure.actions'; restart = $false }
  @{ name = 'failure.nonCrashFailures'; restart = $false }
  @{ name = 'environment'; restart = $true }
)

function Get-FieldValue {
  param($Config, [string]$Field)
  $v = $Config
  foreach ($part in $Field.Split('.')) { $v = Get-Prop $v $part }
  , $v
}

function Test-SameValue {
  param([string]$Field, $A, $B)
  if ($Field -eq 'account') { return (ConvertTo-AccountKey ([string]$A)) -ceq (ConvertTo-AccountKey ([string]$B)) }
  (ConvertTo-CanonicalJson $A) -ceq (ConvertTo-CanonicalJson $B)
}

# Fields where two configs differ (names from $FieldRules).
function Compare-Config {
  param($From, $To)
  foreach ($f in $FieldRules) {
    if (-not (Test-SameValue $f.name (Get-FieldValue $From $f.name) (Get-FieldValue $To $f.name))) { $f.name }
  }
}

function Copy-Config {
  param($Config)
  $c = [ordered]@{}
  foreach ($k in @(Get-PropNames $Config)) { $c[$k] = Get-Prop $Config $k }
  $c.dependencies = @(ConvertTo-StringList $c.dependencies)
  $f = Get-Prop $Config 'failure'
  $c.failure = [ordered]@{
    resetPeriod = (Get-Prop $f 'resetPeriod' 0)
    rebootMessage = [string](Get-Prop $f 'rebootMessage' '')
    command = [string](Get-Prop $f 'command' '')
    actions = @()
    nonCrashFailures = [bool](Get-Prop $f 'nonCrashFailures' $false)
  }
  $actionList = Get-Prop $f 'actions' @()
  $c.failure.actions = @(foreach ($a in @($actionList)) { [ordered]@{ type = [string](Get-Prop $a 'type'); delayMs = [long](Get-Prop $a 'delayMs') } })
  $c.environment = ConvertTo-EnvironmentMap (Get-Prop $Config 'environment') 'environment'
  $c
}

function ConvertTo-EnvironmentMap {
  param($Value, [string]$Field)
  if ($null -eq $Value) { return $null }
  if ($Value -is [string] -or $Value -is [ValueType] -or ($Value -is [System.Collections.IEnumerable] -and -not ($Value -is [System.Collections.IDictionary]))) {
    Stop-Engine 'bad-request' ('field ' + $Field + ': must be an object of NAME: value, or null')
  }
  $m = [ordered]@{}
  foreach ($n in @(Get-PropNames $Value)) {
    if ($n.Length -eq 0 -or $n.IndexOf('=') -ge 0 -or $n.IndexOf([char]0) -ge 0) {
      Stop-Engine 'bad-request' ('field ' + $Field + ': variable name ' + (ConvertTo-JsonText $n) + ' must be non-empty and contain no "=" or NUL')
    }
    if ($m.Contains($n)) { Stop-Engine 'bad-request' ('field ' + $Field + ': variable ' + $n + ' is given twice (names are case-insensitive)') }
    $v = Get-Prop $Value $n
    Assert-String $v ($Field + '.' + $n) 32767 -AllowEmpty
    $m[$n] = $v
  }
  if ($m.Count -eq 0) { return $null }
  $m
}

# Windows keeps service and group dependencies apart (DependOnService / DependOnGroup, docs/reference/windows-services.md#the-service-registry-key), so the canonical
# order is services first, then '+groups', each in the given order.
function ConvertTo-DependencyList {
  param($Value, [string]$Field)
  if ($null -eq $Value -or $Value -is [string] -or -not ($Value -is [System.Collections.IEnumerable])) {
    Stop-Engine 'bad-request' ('field ' + $Field + ': must be an array of names')
  }
  $i = 0
  $items = @(foreach ($d in $Value) {
    Assert-String $d ($Field + '[' + $i + ']') 256
    if ($d.IndexOf('/') -ge 0 -or $d -eq '+') { Stop-Engine 'bad-request' ('field ' + $Field + '[' + $i + ']: a dependency name cannot contain "/" or be a bare "+"') }
    $i++
    $d
  })
  @($items | Where-Object { -not $_.StartsWith('+') }) + @($items | Where-Object { $_.StartsWith('+') })
}

# Service accounts (docs/reference/windows-services.md "Accounts and passwords"). The spellings of a built-in account
# are one account exactly when they resolve to the same SID; LocalSystem does not translate through NTAccount and
# is mapped by hand. The same table is in src/util/windows-account.ts; both are tested against
# test/util/fixtures/account-vectors.json.
$BuiltinAccountSid = @{
  '' = 'S-1-5-18'; 'localsystem' = 'S-1-5-18'; '.\localsystem' = 'S-1-5-18'; 'system' = 'S-1-5-18'; 'nt authority\system' = 'S-1-5-18'
  'localservice' = 'S-1-5-19'; '.\localservice' = 'S-1-5-19'; 'nt authority\localservice' = 'S-1-5-19'; 'nt authority\local service' = 'S-1-5-19'
  'networkservice' = 'S-1-5-20'; '.\networkservice' = 'S-1-5-20'; 'nt authority\networkservice' = 'S-1-5-20'; 'nt authority\network service' = 'S-1-5-20'
}

# One key per account: the SID of a built-in, else the name in lower case.
function ConvertTo-AccountKey {
  param([string]$Name)
  $n = $Name.Trim().ToLowerInvariant()
  if ($BuiltinAccountSid.ContainsKey($n)) { return $BuiltinAccountSid[$n] }
  $n
}

# builtin | virtual (NT SERVICE\x) | managed (x$, a gMSA or MSA) | user. ChangeServiceConfig wants "" as the password
# of a built-in and NULL for virtual and managed accounts (Documented: CSC lpPassword; a password on a gMSA fails the
# start with 1069, Confirmed: SqlServerDsc #1764).
function Get-AccountKind {
  param([string]$Name)
  $n = $Name.Trim().ToLowerInvariant()
  if ($BuiltinAccountSid.ContainsKey($n)) { return 'builtin' }
  if ($n.StartsWith('nt service\')) { return 'virtual' }
  if ($n.EndsWith('$')) { return 'managed' }
  'user'
}

# Accounts that run without a password given here.
function Test-BuiltinAccount {
  param([string]$Name)
  (Get-AccountKind $Name) -ne 'user'
}

# The full config the service should have after apply. Only the listed desired fields change.
# -> @{ config; password; passwordChange; passwordPending; ... }. Windows never reveals a service password, so
# whether the stored one equals the request's cannot be known: the password is written only together with a new
# account, or when the request asks for it (account.rotatePassword), never on every run (docs/spec.md "Accounts").
# passwordChange: 'set' (with a new account), 'rotate', or $null; password: the request's when it is written, else
# $null; passwordPending: a plan of a request whose password apply will send (account.passwordAtApply).
# $Secret: $null or @{ password } (the engine's third argument; see 00-prologue.ps1): the password is read from it and
# checked here without passing it to any function, and the result keeps it in a hashtable too.
function New-TargetConfig {
  param($Current, $Desired, $Secret = $null)
  $t = Copy-Config $Current
  $password = $null
  $rollbackPassword = $null
  $grantLogonRight = $false
  $passwordChange = $null
  $passwordPending = $false
  if ($null -ne $Secret -and $null -ne $Secret.password -and -not (Test-Prop $Desired 'account')) {
    Stop-Engine 'bad-request' 'a password came on stdin, but the request sets no desired.account'
  }
  if ($null -eq $Desired) { return @{ config = $t; password = $null; passwordChange = $null; passwordPending = $false; rollbackLosesPassword = $false; grantLogonRight = $false } }
  if ($Desired -is [string] -or $Desired -is [ValueType]) { Stop-Engine 'bad-request' 'field desired: must be an object' }
  $known = @('binaryPath', 'args', 'startType', 'errorControl', 'displayName', 'description', 'account', 'dependencies', 'loadOrderGroup', 'failure', 'environment')
  foreach ($n in @(Get-PropNames $Desired)) {
    if (-not ($known -ccontains $n)) { Stop-Engine 'bad-request' ('field desired.' + $n + ': unknown setting (known: ' + ($known -join ', ') + ')') }
  }

  if (Test-Prop $Desired 'binaryPath') {
    $bp = Get-Prop $Desired 'binaryPath'
    Assert-String $bp 'desired.binaryPath' 32767
    $t.binaryPath = $bp
  }
  if (Test-Prop $Desired 'args') {
    $edit = Get-Prop $Desired 'args'
    if ($null -eq $edit -or $edit -is [string] -or $edit -is [ValueType]) { Stop-Engine 'bad-request' 'field desired.args: must be an object {set, remove}' }
    $t.binaryPath = Edit-ImagePathArgs $t.binaryPath $edit
  }
  if ($t.binaryPath -cne $Current.binaryPath) {
    $split = Split-ImagePath $t.binaryPath
    if (-not $split.closed) { Stop-Engine 'bad-binary-path' 'the binary path has an opening quote without a closing one' }
    if ($split.exe.Trim().Length -eq 0) { Stop-Engine 'bad-binary-path' 'the binary path has no executable' }
    if (Test-UnquotedPath $t.binaryPath) {
      Stop-Engine 'unquoted-path' ('refusing to write a binary path whose executable part has spaces and no quotes (CWE-428): ' + $split.exe + '; quote it: "' + $split.exe + '" ...')
    }
  }
  if (Test-Prop $Desired 'startType') {
    $v = Get-Prop $Desired 'startType'
    Assert-OneOf $v 'desired.startType' @('boot', 'system', 'auto', 'delayed-auto', 'demand', 'disabled')
    $t.startType = $v
  }
  if (Test-Prop $Desired 'errorControl') {
    $v = Get-Prop $Desired 'errorControl'
    Assert-OneOf $v 'desired.errorControl' @('ignore', 'normal', 'severe', 'critical')
    $t.errorControl = $v
  }
  if (Test-Prop $Desired 'displayName') {
    $v = Get-Prop $Desired 'displayName'
    Assert-String $v 'desired.displayName' 256   # docs/reference/windows-services.md#configuration-fields: at most 256 characters
    $t.displayName = $v
  }
  if (Test-Prop $Desired 'description') {
    $v = Get-Prop $Desired 'description'
    Assert-String $v 'desired.description' 8192 -AllowEmpty   # MS-SCMR SERVICE_DESCRIPTIONW: range(0, 8 * 1024)
    $t.description = $v
  }
  if (Test-Prop $Desired 'account') {
    $acct = Get-Prop $Desired 'account'
    $name = Get-Prop $acct 'name'
    Assert-String $name 'desired.account.name' 256
    $t.account = $name
    if (Test-Prop $acct 'password') {
      Stop-Engine 'bad-request' 'field desired.account.password: the password never travels inside the request; the controller sends it on a stdin line of its own (docs/remote-protocol.md)'
    }
    if ($null -ne $Secret -and $null -ne $Secret.password) {
      $password = $Secret.password
      if ($password -isnot [string]) { Stop-Engine 'bad-request' 'field desired.account.password: must be a string' }
      if ($password.Length -gt 256) { Stop-Engine 'too-long' ('field desired.account.password: ' + $password.Length + ' characters; Windows allows at most 256') }
      if ($password.IndexOf([char]0) -ge 0) { Stop-Engine 'bad-request' 'field desired.account.password: contains a NUL character' }
    }
    # A plan never carries the password: passwordAtApply says that apply will send one (the spec references it).
    $atApply = Get-Prop $acct 'passwordAtApply' $false
    if ($atApply -isnot [bool]) { Stop-Engine 'bad-request' 'field desired.account.passwordAtApply: must be true or false' }
    $rotate = Get-Prop $acct 'rotatePassword' $false
    if ($rotate -isnot [bool]) { Stop-Engine 'bad-request' 'field desired.account.rotatePassword: must be true or false' }
    $hasPassword = ($null -ne $password -or $atApply)
    $kind = Get-AccountKind $name
    if ($hasPassword -and ($kind -eq 'virtual' -or $kind -eq 'managed')) {
      Stop-Engine 'bad-request' ('field desired.account.password: ' + $name + ' is a ' + $kind + ' account; Windows manages its password, so it takes no password (one given breaks its logon with 1069)')
    }
    if ($rotate -and -not $hasPassword) { Stop-Engine 'bad-request' 'field desired.account.rotatePassword: rotating the password needs the password' }
    $accountChanges = -not (Test-SameValue 'account' $name $Current.account)
    if (-not $hasPassword -and -not (Test-BuiltinAccount $name) -and $accountChanges) {
      Stop-Engine 'password-required' ('changing the account to ' + $name + ' needs its password (only built-in, virtual and managed accounts run without one)')
    }
    if ($hasPassword -and ($accountChanges -or $rotate)) {
      $passwordChange = 'rotate'
      if ($accountChanges) { $passwordChange = 'set' }
      $passwordPending = ($null -eq $password)
    } else {
      # Same account, no rotation asked for: the stored password stays (it cannot be compared, so it is not rewritten).
      $password = $null
    }
    if (Test-Prop $acct 'rollbackPassword') {
      $rollbackPassword = Get-Prop $acct 'rollbackPassword'
      Assert-OneOf $rollbackPassword 'desired.account.rollbackPassword' @('none')
    }
    if (Test-Prop $acct 'grantLogonRight') {
      $grantLogonRight = Get-Prop $acct 'grantLogonRight'
      if ($grantLogonRight -isnot [bool]) { Stop-Engine 'bad-request' 'field desired.account.grantLogonRight: must be true or false' }
    }
  }
  if (Test-Prop $Desired 'dependencies') {
    $t.dependencies = @(ConvertTo-DependencyList (Get-Prop $Desired 'dependencies') 'desired.dependencies')
  }
  if (Test-Prop $Desired 'loadOrderGroup') {
    $v = Get-Prop $Desired 'loadOrderGroup'
    Assert-String $v 'desired.loadOrderGroup' 256 -AllowEmpty
    $t.loadOrderGroup = $v
  }
  if (Test-Prop $Desired 'failure') {
    $f = Get-Prop $Desired 'failure'
    if ($null -eq $f -or $f -is [string] -or $f -is [ValueType]) { Stop-Engine 'bad-request' 'field desired.failure: must be an object' }
    foreach ($n in @(Get-PropNames $f)) {
      if (-not (@('resetPeriod', 'rebootMessage', 'command', 'actions', 'nonCrashFailures') -ccontains $n)) {
        Stop-Engine 'bad-request' ('field desired.failure.' + $n + ': unknown setting')
      }
    }
    if (Test-Prop $f 'resetPeriod') {
      $v = Get-Prop $f 'resetPeriod'
      if ($v -isnot [string]) { Assert-IntRange $v 'desired.failure.resetPeriod' 0 4294967294 } else { Assert-OneOf $v 'desired.failure.resetPeriod' @('infinite') }
      if ($v -is [string]) { $t.failure.resetPeriod = $v } else { $t.failure.resetPeriod = [long]$v }
    }
    if (Test-Prop $f 'rebootMessage') {
      $v = Get-Prop $f 'rebootMessage'
      Assert-String $v 'desired.failure.rebootMessage' 8192 -AllowEmpty   # MS-SCMR: range(0, 8 * 1024)
      $t.failure.rebootMessage = $v
    }
    if (Test-Prop $f 'command') {
      $v = Get-Prop $f 'command'
      Assert-String $v 'desired.failure.command' 8192 -AllowEmpty
      $t.failure.command = $v
    }
    if (Test-Prop $f 'actions') {
      $list = Get-Prop $f 'actions'
      if ($null -eq $list -or $list -is [string] -or -not ($list -is [System.Collections.IEnumerable])) { Stop-Engine 'bad-request' 'field desired.failure.actions: must be an array' }
      $i = 0
      $t.failure.actions = @(foreach ($a in $list) {
        $type = Get-Prop $a 'type'
        Assert-OneOf $type ('desired.failure.actions[' + $i + '].type') @('none', 'restart', 'reboot', 'run')
        $delay = Get-Prop $a 'delayMs' 0
        Assert-IntRange $delay ('desired.failure.actions[' + $i + '].delayMs') 0 4294967295
        $i++
        [ordered]@{ type = $type; delayMs = [long]$delay }
      })
      # Removing every action also resets the period to 0 (ChangeServiceConfig2 behaviour, docs/reference/windows-services.md#changing-failure-actions).
      if ($t.failure.actions.Count -eq 0 -and -not (Test-Prop $f 'resetPeriod')) { $t.failure.resetPeriod = 0 }
    }
    if (Test-Prop $f 'nonCrashFailures') {
      $v = Get-Prop $f 'nonCrashFailures'
      if ($v -isnot [bool]) { Stop-Engine 'bad-request' 'field desired.failure.nonCrashFailures: must be true or false' }
      $t.failure.nonCrashFailures = $v
    }
    if ($t.failure.actions.Count -eq 0 -and -not (Test-SameValue 'x' $t.failure.resetPeriod 0)) {
      Stop-Engine 'bad-request' 'field desired.failure.resetPeriod: Windows keeps a reset period only together with at least one action (docs/reference/sc-exe.md#description-and-failure)'
    }
  }
  if (Test-Prop $Desired 'environment') {
    $t.environment = ConvertTo-EnvironmentMap (Get-Prop $Desired 'environment') 'desired.environment'
  }
  # Windows never reveals a service password, so the backup cannot hold it: a rollback back to a password account
  # after its account or password changed cannot give it its password back.
  $losesPassword = ((Get-AccountKind ([string]$Current.account)) -eq 'user' -and
    ($null -ne $passwordChange -or -not (Test-SameValue 'account' $t.account $Current.account)))
  @{ config = $t; password = $password; passwordChange = $passwordChange; passwordPending = $passwordPending; rollbackLosesPassword = $losesPassword; rollbackPassword = $rollbackPassword; grantLogonRight = $grantLogonRight }
}

# Per-field before/after (protocol FieldChange). The password itself never appears: account.password says only why
# one is written, as '(set)' (with a new account) or '(rotate)' (PasswordChange, from New-TargetConfig).
function Get-Diff {
  param($Current, $Target, [string]$PasswordChange = '')
  $changes = @(foreach ($f in $FieldRules) {
    $before = Get-FieldValue $Current $f.name
    $after = Get-FieldValue $Target $f.name
    if (-not (Test-SameValue $f.name $before $after)) {
      [ordered]@{ field = $f.name; before = $before; after = $after; restartNeeded = $f.restart }
    }
  })
  if ($PasswordChange) {
    $changes += [ordered]@{ field = 'account.password'; before = $null; after = ('(' + $PasswordChange + ')'); restartNeeded = $true }
  }
  @($changes)
}
