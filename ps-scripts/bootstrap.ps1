# svcfleet bootstrap, sent base64 on the command line, the same on every transport. stdin: ONE JSON line
# {script, native, request}, then, if the request sets a password, hex:<its UTF-8 bytes>, decoded by .NET calls only
# (module logging records parameter bindings). Runs the static engine text with request, native code and password.
# Exit: the engine's code; 21 no/bad payload; 22 engine crashed (docs/remote-protocol.md).
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'
$VerbosePreference = 'SilentlyContinue'
$InformationPreference = 'SilentlyContinue'
try { [Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false } catch { }
$c = 21
try {
  $l = $k = $s = $null
  foreach ($x in $input) {
    $y = "$x".Trim()
    if (-not $y) { continue }
    if ($null -eq $l) { $l = $y } else { $k = $y; break }
  }
  if ($null -ne $k) {
    if ($k -cnotmatch '^hex:([0-9a-f]{2})*$') { throw 'bad password line' }
    $b = New-Object byte[] (($k.Length - 4) / 2)
    for ($i = 0; $i -lt $b.Length; $i++) { $b[$i] = [Convert]::ToByte($k.Substring(2 * $i + 4, 2), 16) }
    $s = @{ password = [Text.Encoding]::UTF8.GetString($b) }
    $k = $b = $x = $y = $Matches = $null
  }
  if ($l) {
    # 7.5+: date-like strings stay strings (older 6/7: the engine refuses them).
    $o = @{ InputObject = $l }
    if ((Get-Command ConvertFrom-Json).Parameters.ContainsKey('DateKind')) { $o.DateKind = 'String' }
    $p = ConvertFrom-Json @o
    $l = $o = $null
    if ($p.script -is [string] -and $null -ne $p.request) {
      $e = [ScriptBlock]::Create($p.script)
      $r = $p.request; $n = $p.native; $p = $null
      $c = 22
      $v = @(& $e $r $n $s)
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
