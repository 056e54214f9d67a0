# ---------------------------------------------------------------------------------------------------------------
# Reading a service, locale-independently (docs/reference/sc-exe.md#localisation): Win32_Service through CIM plus the service's registry key;
# never localized sc.exe text.
# ---------------------------------------------------------------------------------------------------------------

function Get-Win32Service {
  param([string]$Name)
  # WQL string literal: backslash and single quote are escaped with a backslash.
  $literal = ($Name -replace '\\', '\\') -replace "'", "\'"
  try {
    $found = @(Get-CimInstance -ClassName Win32_Service -Filter ("Name='" + $literal + "'") -ErrorAction Stop)
  } catch {
    Stop-Engine 'snapshot-failed' ('cannot query Win32_Service: ' + $_.Exception.Message) (Get-ExceptionWin32 $_.Exception)
  }
  if ($found.Count -eq 0) { Stop-Engine 'not-found' ("service '" + $Name + "' does not exist (1060)") 1060 }
  $found[0]
}

function Get-ExceptionWin32 {
  param($Exception)
  $e = $Exception
  while ($null -ne $e) {
    if ($e -is [System.ComponentModel.Win32Exception]) { return $e.NativeErrorCode }
    if ($e -is [System.UnauthorizedAccessException] -or $e -is [System.Security.SecurityException]) { return 5 }
    $e = $e.InnerException
  }
  $null
}

function Get-ServiceKeyPath {
  param([string]$Name)
  'HKLM:\SYSTEM\CurrentControlSet\Services\' + $Name
}

# Every value of the service key exactly as stored: REG_EXPAND_SZ unexpanded (Get-ItemProperty would expand ImagePath;
# docs/reference/powershell.md "Registry provider and REG_EXPAND_SZ"). -> an object with one property per value.
function Get-ServiceRegistry {
  param([string]$Name)
  $key = $null
  try {
    $key = Get-Item -LiteralPath (Get-ServiceKeyPath $Name) -ErrorAction Stop
    $values = [ordered]@{}
    foreach ($n in @($key.GetValueNames())) {
      if ([string]::IsNullOrEmpty($n)) { continue }
      $values[[string]$n] = $key.GetValue($n, $null, 'DoNotExpandEnvironmentNames')
    }
    [pscustomobject]$values
  } catch {
    Stop-Engine 'snapshot-failed' ('cannot read the service registry key: ' + $_.Exception.Message) (Get-ExceptionWin32 $_.Exception)
  } finally {
    if ($null -ne $key -and $key.PSObject.Members['Close']) { $key.Close() }
  }
}

# A text value as the registry stores it, or the value the SCM serves when the registry has none. The SCM serves
# display names and descriptions resolved (an `@dll,-id` indirect string becomes localised text) and the binary path
# expanded (`%SystemRoot%` becomes C:\Windows); writing those back would replace what was stored for good, and
# comparing a served value with a stored one never matches (docs/reference/windows-services.md).
function Get-StoredText {
  param($Reg, [string]$Value, $Served)
  $raw = Get-RegValue $Reg $Value
  if ($null -ne $raw -and $raw -is [string]) { return [string]$raw }
  [string]$Served
}

$StartTypeByValue = @{ 0 = 'boot'; 1 = 'system'; 2 = 'auto'; 3 = 'demand'; 4 = 'disabled' }
$StartTypeByCim = @{ 'Boot' = 'boot'; 'System' = 'system'; 'Auto' = 'auto'; 'Manual' = 'demand'; 'Disabled' = 'disabled' }
$ErrorControlByValue = @{ 0 = 'ignore'; 1 = 'normal'; 2 = 'severe'; 3 = 'critical' }
$ErrorControlValue = @{ 'ignore' = 0; 'normal' = 1; 'severe' = 2; 'critical' = 3 }
$StateByCim = @{
  'Stopped' = 'stopped'; 'Start Pending' = 'start-pending'; 'Stop Pending' = 'stop-pending'; 'Running' = 'running'
  'Continue Pending' = 'continue-pending'; 'Pause Pending' = 'pause-pending'; 'Paused' = 'paused'
}
# SC_ACTION_* (docs/reference/windows-services.md#failure-count-and-repetition: NONE=0, RESTART=1, REBOOT=2, RUN_COMMAND=3).
$ActionByValue = @{ 0 = 'none'; 1 = 'restart'; 2 = 'reboot'; 3 = 'run' }

# The FailureActions REG_BINARY (docs/reference/windows-services.md#the-failureactions-registry-value): little-endian DWORDs, 32-bit layout: reset period (0xFFFFFFFF =
# INFINITE), two placeholders, cActions, offset of SC_ACTION[cActions] = {Type, DelayMs}.
function ConvertFrom-FailureActionsBlob {
  param($Blob)
  $r = @{ resetPeriod = 0; actions = @() }
  if ($null -eq $Blob) { return $r }
  $b = [byte[]]$Blob
  if ($b.Length -lt 20) { return $r }
  $reset = [BitConverter]::ToUInt32($b, 0)
  if ($reset -eq [uint32]::MaxValue) { $r.resetPeriod = 'infinite' } else { $r.resetPeriod = [long]$reset }
  $count = [long][BitConverter]::ToUInt32($b, 12)
  $offset = [long][BitConverter]::ToUInt32($b, 16)
  if ($count -gt 0) {
    if ($offset -lt 20 -or $offset + 8 * $count -gt $b.Length) { $offset = 20 }
    if ($offset + 8 * $count -gt $b.Length) { $count = [long][Math]::Floor(($b.Length - $offset) / 8) }
    $r.actions = @(for ($i = 0; $i -lt $count; $i++) {
      $type = [long][BitConverter]::ToUInt32($b, [int]($offset + 8 * $i))
      $delay = [long][BitConverter]::ToUInt32($b, [int]($offset + 8 * $i + 4))
      $name = $ActionByValue[[int]$type]
      if (-not $name) { $name = 'none' }
      [ordered]@{ type = $name; delayMs = $delay }
    })
  }
  $r
}

# The Environment REG_MULTI_SZ (docs/reference/windows-services.md#environment-value) as NAME -> value, in stored order; $null when absent or empty.
function ConvertFrom-EnvironmentValue {
  param($Entries)
  if ($null -eq $Entries) { return $null }
  $env = [ordered]@{}
  foreach ($entry in @($Entries)) {
    $s = [string]$entry
    if ($s.Length -eq 0) { continue }
    $eq = $s.IndexOf('=', 1)
    if ($eq -lt 1) { $env[$s] = ''; continue }
    $env[$s.Substring(0, $eq)] = $s.Substring($eq + 1)
  }
  if ($env.Count -eq 0) { return $null }
  $env
}

function Get-RegValue {
  param($Reg, [string]$Name)
  if ($null -eq $Reg) { return $null }
  $p = Get-PropMember $Reg $Name
  if ($null -eq $p) { return $null }
  , $p.Value
}

function ConvertTo-StringList {
  param($Value)
  foreach ($x in @($Value)) { if ($null -ne $x -and ([string]$x).Length -gt 0) { [string]$x } }
}

function Get-ServiceSnapshot {
  param([string]$Name)
  $svc = Get-Win32Service $Name
  $reg = Get-ServiceRegistry ([string]$svc.Name)

  $startType = $StartTypeByCim[[string]$svc.StartMode]
  $startValue = Get-RegValue $reg 'Start'
  if (-not $startType -and $null -ne $startValue) { $startType = $StartTypeByValue[[int]$startValue] }
  if (-not $startType) { $startType = 'demand' }
  if ($startType -eq 'auto') {
    # DelayedAutoStart is on Win32_Service from Windows 10/2016; older hosts only have the registry flag (docs/reference/windows-services.md#win32_service-over-cim, docs/reference/windows-services.md#the-service-registry-key).
    $delayed = $null
    if ((Get-PropMember $svc 'DelayedAutoStart')) { $delayed = $svc.DelayedAutoStart }
    if ($null -eq $delayed) { $delayed = ([int](Get-RegValue $reg 'DelayedAutostart') -eq 1) }
    if ($delayed) { $startType = 'delayed-auto' }
  }

  $ec = Get-RegValue $reg 'ErrorControl'
  $errorControl = $null
  if ($null -ne $ec) { $errorControl = $ErrorControlByValue[[int]$ec] }
  if (-not $errorControl) { $errorControl = ([string]$svc.ErrorControl).ToLowerInvariant() }
  if (-not $ErrorControlValue.ContainsKey($errorControl)) { $errorControl = 'normal' }

  $deps = @(ConvertTo-StringList (Get-RegValue $reg 'DependOnService')) +
    @(foreach ($g in @(ConvertTo-StringList (Get-RegValue $reg 'DependOnGroup'))) { '+' + $g })

  $fa = ConvertFrom-FailureActionsBlob (Get-RegValue $reg 'FailureActions')
  $failure = [ordered]@{
    resetPeriod = $fa.resetPeriod
    rebootMessage = [string](Get-RegValue $reg 'RebootMessage')
    command = [string](Get-RegValue $reg 'FailureCommand')
    actions = @($fa.actions)
    nonCrashFailures = ([int](Get-RegValue $reg 'FailureActionsOnNonCrashFailures') -eq 1)
  }

  $type = Get-RegValue $reg 'Type'
  if ($null -eq $type) { $type = 16 }

  $config = [ordered]@{
    name = [string]$svc.Name
    displayName = (Get-StoredText $reg 'DisplayName' $svc.DisplayName)
    binaryPath = (Get-StoredText $reg 'ImagePath' $svc.PathName)
    startType = $startType
    errorControl = $errorControl
    serviceType = [long]$type
    account = [string]$svc.StartName
    description = (Get-StoredText $reg 'Description' $svc.Description)
    dependencies = @($deps)
    loadOrderGroup = [string](Get-RegValue $reg 'Group')
    failure = $failure
    environment = (ConvertFrom-EnvironmentValue (Get-RegValue $reg 'Environment'))
  }

  $state = $StateByCim[[string]$svc.State]
  if (-not $state) { $state = 'stopped' }
  $procId = $null
  if ($svc.ProcessId -and [long]$svc.ProcessId -gt 0) { $procId = [long]$svc.ProcessId }

  $findings = @()
  if (Test-UnquotedPath $config.binaryPath) {
    $findings += [ordered]@{ code = 'unquoted-path'; message = ('the executable part of the binary path has spaces and no quotes (CWE-428): ' + (Split-ImagePath $config.binaryPath).exe) }
  }

  [ordered]@{
    config = $config
    configHash = (Get-ConfigHash $config)
    state = $state
    pid = $procId
    takenAt = (Get-UtcStamp)
    findings = @($findings)
  }
}
