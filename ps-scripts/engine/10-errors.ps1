# ---------------------------------------------------------------------------------------------------------------
# Errors: every expected failure is an exception carrying a machine-readable reason {code, win32}.
# ---------------------------------------------------------------------------------------------------------------

function New-EngineError {
  param([string]$Code, [string]$Message, $Win32 = $null)
  $ex = New-Object System.Exception $Message
  $ex.Data['svcfleet.code'] = $Code
  if ($null -ne $Win32) { $ex.Data['svcfleet.win32'] = [int]$Win32 }
  $ex
}

function Stop-Engine {
  param([string]$Code, [string]$Message, $Win32 = $null)
  throw (New-EngineError $Code $Message $Win32)
}

# -> @{ code; win32; message } for any caught error record or exception.
function Get-Reason {
  param($Err)
  $ex = $Err
  if ($Err -is [System.Management.Automation.ErrorRecord]) { $ex = $Err.Exception }
  $probe = $ex
  while ($null -ne $probe) {
    if ($probe.Data -and $probe.Data.Contains('svcfleet.code')) {
      $r = [ordered]@{ code = [string]$probe.Data['svcfleet.code'] }
      if ($probe.Data.Contains('svcfleet.win32')) { $r.win32 = [int]$probe.Data['svcfleet.win32'] }
      return @{ reason = $r; message = [string]$probe.Message }
    }
    $probe = $probe.InnerException
  }
  $where = ''
  if ($Err -is [System.Management.Automation.ErrorRecord] -and $Err.InvocationInfo) {
    $where = ' (engine line ' + $Err.InvocationInfo.ScriptLineNumber + ')'
  }
  @{ reason = [ordered]@{ code = 'internal' }; message = ([string]$ex.Message + $where) }
}
