# ---------------------------------------------------------------------------------------------------------------
# "Log on as a service" and the password, checked before a password account is written. Windows checks neither
# when the account is configured, only when the service starts (1069); LogonUserW with LOGON32_LOGON_SERVICE proves
# both beforehand (docs/reference/windows-services.md "Log on as a service right"). The native type is compiled only
# for a request that sets an ordinary (password) account (ps-scripts/native.ps1, loaded by Import-NativeType). The password reaches it as a .NET method argument, never
# as a command or function parameter that module logging records (docs/reference/powershell.md).
# ---------------------------------------------------------------------------------------------------------------


# The LogonUser / LSA type (Svcfleet.Native.ServiceLogon in ps-scripts/native.ps1), loaded on demand.
function Initialize-NativeServiceLogon {
  Import-NativeType 'ServiceLogon' 'logon-check-failed' 'the LogonUser helper'
}

# Before an ordinary account (or its password) is written: the account must hold "Log on as a service" - granted
# here only when the request opts in (desired.account.grantLogonRight) and only by apply - and a given password must
# log on with LOGON32_LOGON_SERVICE. $Plan is New-TargetConfig's result (holding the password, so that no function
# parameter ever binds the password itself). -> what was done, for the result; refuses with a reason otherwise.
function Assert-AccountCanLogOn {
  param($Current, $Plan, [bool]$DryRun)
  $name = [string]$Plan.config.account
  if ((Get-AccountKind $name) -ne 'user') { return $null }
  if ((Test-SameValue 'account' $name $Current.account) -and $null -eq $Plan.password) { return $null }
  Initialize-NativeServiceLogon
  $native = 'Svcfleet.Native.ServiceLogon' -as [type]
  $api = $null
  $granted = $false
  $done = [ordered]@{ account = $name; logonRight = 'held'; password = 'not-given' }
  $code = $native::HasLogonRight($name, [ref]$granted, [ref]$api)
  if ($code -eq 1332) { Stop-Engine 'logon-failed' ('the account ' + $name + ' does not exist on the host (' + $api + ': 1332); nothing was changed') 1332 }
  if ($code -ne 0) { Stop-Engine 'logon-check-failed' ('cannot read the rights of ' + $name + ': ' + $api + ' returned ' + $code + '; nothing was changed') $code }
  if (-not $granted) {
    if (-not $Plan.grantLogonRight) {
      Stop-Engine 'logon-right-missing' ($name + ' does not hold "Log on as a service" (SeServiceLogonRight), so the service could not start under it (1069); nothing was changed. Grant the right on the host, or set account.grantLogonRight: true') 1385
    }
    if ($DryRun) {
      $done.logonRight = 'would-grant'
      Send-Event 'plan' ('apply would grant "Log on as a service" to ' + $name) ([ordered]@{ account = $name; grant = 'SeServiceLogonRight' })
      return $done
    }
    $code = $native::GrantLogonRight($name, [ref]$api)
    if ($code -ne 0) { Stop-Engine 'logon-check-failed' ('granting "Log on as a service" to ' + $name + ' failed: ' + $api + ' returned ' + $code + '; nothing was changed') $code }
    $done.logonRight = 'granted'
    Send-Event 'apply' ('granted "Log on as a service" to ' + $name + ' (a rollback does not take it away)') ([ordered]@{ via = 'LsaAddAccountRights'; account = $name; grant = 'SeServiceLogonRight' })
  }
  if ($null -ne $Plan.password) {
    $code = $native::TestLogon($name, [string]$Plan.password, [ref]$api)
    if ($code -eq 1326) { Stop-Engine 'logon-failed' ('the password of ' + $name + ' is wrong, or the account does not exist (LogonUser: 1326); nothing was changed') 1326 }
    if ($code -eq 1385) { Stop-Engine 'logon-right-missing' ($name + ' is not granted a service logon (LogonUser: 1385); nothing was changed') 1385 }
    if ($code -ne 0) { Stop-Engine 'logon-check-failed' ('LogonUser(LOGON32_LOGON_SERVICE) for ' + $name + ' failed: ' + $api + ' returned ' + $code + '; nothing was changed') $code }
    $done.password = 'logs-on'
  }
  Send-Event $(if ($DryRun) { 'plan' } else { 'apply' }) ($name + ' can log on as a service') ([ordered]@{ gate = 'logon'; account = $name; logonRight = $done.logonRight; password = $done.password })
  $done
}
