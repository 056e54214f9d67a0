# ---------------------------------------------------------------------------------------------------------------
# Native code on demand. The P/Invoke types are not part of this text: PowerShell logs a script block that holds
# such code as a warning (event 4104) on every run, whatever the logging policy (docs/reference/powershell.md
# "Script block logging and suspicious content"). They are in ps-scripts/native.ps1, a static text the controller
# sends beside the engine on stdin; the bootstrap passes it as $NativeCode, and it becomes a script block only when a
# request needs one of its types. Nothing from the request is ever part of it.
# ---------------------------------------------------------------------------------------------------------------

# Makes Svcfleet.Native.$Type available (compiled once per process), or stops with $Code.
function Import-NativeType {
  param([string]$Type, [string]$Code, [string]$What)
  if (('Svcfleet.Native.' + $Type) -as [type]) { return }
  if (-not ($NativeCode -is [string]) -or $NativeCode.Length -eq 0) {
    Stop-Engine $Code ('cannot load ' + $What + ': the native code piece (ps-scripts/native.ps1) was not sent with this engine')
  }
  try {
    & ([ScriptBlock]::Create($NativeCode)) $Type
  } catch {
    Stop-Engine $Code ('cannot compile ' + $What + ': ' + $_.Exception.Message)
  }
}
