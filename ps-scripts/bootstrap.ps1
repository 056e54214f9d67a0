# svcfleet bootstrap: sent base64-encoded on the command line, identical on every transport. Reads ONE JSON line
# {script, native, request} from stdin; runs the static engine text with the request as a parameter (data, never
# code) and the static native code piece beside it, which the engine loads only when a request needs it.
# Exit: the engine's code; 21 no/bad payload; 22 engine crashed (docs/remote-protocol.md).
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'
$VerbosePreference = 'SilentlyContinue'
$InformationPreference = 'SilentlyContinue'
try { [Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false } catch { }
$c = 21
try {
  $l = $null
  foreach ($x in $input) { if ("$x".Trim()) { $l = "$x"; break } }
  if ($l) {
    # PS 7.5+: keep ISO-8601-looking strings as strings (older 6/7 is caught by the engine).
    $o = @{ InputObject = $l }
    if ((Get-Command ConvertFrom-Json).Parameters.ContainsKey('DateKind')) { $o.DateKind = 'String' }
    $p = ConvertFrom-Json @o
    $l = $null; $o = $null; $x = $null
    if ($p.script -is [string] -and $null -ne $p.request) {
      $e = [ScriptBlock]::Create($p.script)
      $r = $p.request; $n = $p.native; $p = $null
      $c = 22
      $v = @(& $e $r $n)
      if ($v.Count -and $v[-1] -is [int]) { $c = $v[-1] }
    }
  }
  if ($c -eq 21) { [Console]::Error.WriteLine('svcfleet: no valid payload line on stdin') }
} catch {
  [Console]::Error.WriteLine('svcfleet: ' + $_.Exception.Message)
  if ($c -ne 21) { $c = 22 }
}
try { [Console]::Out.Flush() } catch { }
exit $c
