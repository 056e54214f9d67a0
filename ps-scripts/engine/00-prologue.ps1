# svcfleet remote engine: snapshot | plan | apply | rollback of ONE Windows service, as one transaction.
#
# Runs unchanged on Windows PowerShell 5.1 and PowerShell 7 (test/ps-scripts/compat.test.ts parses this file and
# rejects 6+/7-only syntax, cmdlets and parameters). The bootstrap (bootstrap.ps1) creates a ScriptBlock from this
# static text and invokes it with the request object: request values are data and never become script text. The
# second argument is the native code piece (ps-scripts/native.ps1, static text too), loaded only when a request needs
# it (12-native-code.ps1). The third, $Secret, is $null or a hashtable @{ password = <the account password> }: the
# password never travels inside the request, and only ever sits in hashtables here, because module logging (event
# 4103) records every command's and function's parameters as text, and a hashtable's text is its type name, where a
# request object's text shows every value (docs/reference/powershell.md "What Windows logs about an svcfleet run").
#
# Output: framed JSON lines on [Console]::Out (one per step, then exactly one result; docs/remote-protocol.md).
# The pipeline output of this script is the process exit code. Dot-sourced without a request (unit tests), it only
# defines its functions.
#
# Facts are cited as docs/reference/<file>.md#<heading> (see docs/reference/README.md).
param($Request, $NativeCode, $Secret)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
# 7.3+: a non-zero exit of sc.exe/icacls.exe is data we inspect, not an exception.
$PSNativeCommandUseErrorActionPreference = $false
Set-StrictMode -Off

# Mutable state of this one call. Functions read it through PowerShell's dynamic scoping; nothing else is global.
$Ctx = @{
  Nonce = 'unit-test-nonce-0000'
  Service = $null
  # Services this call sent a stop to: a service in a shared process keeps its PID across a restart, so "same PID"
  # alone cannot tell the original process from a restarted service (Restore-Service).
  Stopped = @{}
}

$ExitCodes = @{ ok = 0; drifted = 10; failed = 11; 'rolled-back' = 12; 'rollback-failed' = 13; badRequest = 20; internal = 22 }
