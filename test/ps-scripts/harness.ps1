# Test harness: dot-sources the assembled engine (library mode: no request, nothing runs) and calls its functions.
# stdin: one JSON line [{ "fn": "Name", "args": [...], "legacy": bool? }]; stdout: one line
# SVCFLEET-HARNESS <base64 of JSON [{ "ok": value } | { "error": {code, message} }, ...]>, each with the frames the
# call wrote to [Console]::Out.
param([string]$Engine)
$ErrorActionPreference = 'Stop'
. $Engine

# Test-only helpers (never shipped).
# Each value encoded as one command-line token, then split back with the engine's CommandLineToArgvW port.
function Test-ArgvRoundTrip {
  param($Values)
  foreach ($v in @($Values)) {
    $token = ConvertTo-ArgvToken ([string]$v)
    [ordered]@{ value = [string]$v; token = $token; back = @(@(Split-Arguments $token) | ForEach-Object { $_.value }) }
  }
}
# Each value passed to a REAL native program (node printing its argv) through ConvertTo-NativeArgument, in this
# session's native-argument mode. -> the argv the program received, and the tokens PowerShell was handed.
function Test-NativeEcho {
  param([string]$Node, [string]$Script, $Values)
  $mode = Get-NativeArgumentMode
  $native = @(foreach ($v in @($Values)) { ConvertTo-NativeArgument ([string]$v) $mode })
  $out = & $Node $Script @native
  [ordered]@{ mode = $mode; tokens = $native; argv = [string]$out }
}
$line = [Console]::In.ReadLine()
$calls = ConvertFrom-Json -InputObject $line -DateKind String
$results = foreach ($call in @($calls)) {
  $writer = New-Object System.IO.StringWriter
  $stdout = [Console]::Out
  [Console]::SetOut($writer)
  $saved = $PSNativeCommandArgumentPassing
  if ($call.legacy) { $PSNativeCommandArgumentPassing = 'Legacy' }
  try {
    $callArgs = @($call.args)
    $value = @(& $call.fn @callArgs)
    $r = [ordered]@{ ok = $value }
  } catch {
    $why = Get-Reason $_
    $r = [ordered]@{ error = [ordered]@{ code = $why.reason.code; message = $why.message } }
  } finally {
    $PSNativeCommandArgumentPassing = $saved
    [Console]::SetOut($stdout)
  }
  $r.frames = $writer.ToString()
  $r
}
$json = ConvertTo-Json -InputObject @($results) -Depth 20 -Compress
[Console]::Out.WriteLine('SVCFLEET-HARNESS ' + [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes($json)))
