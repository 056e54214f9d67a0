# svcfleet remote engine: snapshot | plan | apply | rollback of ONE Windows service, as one transaction.
#
# Runs unchanged on Windows PowerShell 5.1 and PowerShell 7 (test/ps-scripts/compat.test.ts parses this file and
# rejects 6+/7-only syntax, cmdlets and parameters). The bootstrap (bootstrap.ps1) creates a ScriptBlock from this
# static text and invokes it with the request object: request values are data and never become script text.
#
# Output: framed JSON lines on [Console]::Out (one per step, then exactly one result; docs/remote-protocol.md).
# The pipeline output of this script is the process exit code. Dot-sourced without a request (unit tests), it only
# defines its functions.
#
# Facts cited as "scm N" are from windows-scm.md (the SCM reference), "transports N" from transports.md.
param($Request)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
# 7.3+: a non-zero exit of sc.exe/icacls.exe is data we inspect, not an exception.
$PSNativeCommandUseErrorActionPreference = $false
Set-StrictMode -Off

# Mutable state of this one call. Functions read it through PowerShell's dynamic scoping; nothing else is global.
$Ctx = @{
  Nonce = 'unit-test-nonce-0000'
  Service = $null
}

$ExitCodes = @{ ok = 0; drifted = 10; failed = 11; 'rolled-back' = 12; 'rollback-failed' = 13; badRequest = 20; internal = 22 }

# ---------------------------------------------------------------------------------------------------------------
# Framing and events (transports 7: base64 of UTF-8 JSON between markers carrying the per-call nonce, written with
# [Console]::Out so that banners, Write-Host, CLIXML and stray pipeline output can never be mistaken for a frame).
# ---------------------------------------------------------------------------------------------------------------

function Get-UtcStamp {
  # Formatted by hand: 5.1's ConvertTo-Json turns DateTime into "\/Date(ms)\/" (transports 7).
  [DateTime]::UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", [Globalization.CultureInfo]::InvariantCulture)
}

function Write-Frame {
  param($Object)
  $json = ConvertTo-Json -InputObject $Object -Depth 12 -Compress
  $b64 = [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes($json))
  [Console]::Out.Write("`n<<svcfleet:" + $Ctx.Nonce + ':' + $b64 + ">>`n")
  [Console]::Out.Flush()
}

function Send-Event {
  param([string]$Phase, [string]$Message, $Data = $null, [string]$Level = 'info')
  $e = [ordered]@{ kind = 'event'; phase = $Phase; at = (Get-UtcStamp); level = $Level }
  if ($Message) { $e.message = $Message }
  if ($null -ne $Data) { $e.data = $Data }
  Write-Frame $e
}

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

# ---------------------------------------------------------------------------------------------------------------
# Request access. ConvertFrom-Json gives PSCustomObjects on 5.1 and 7; a property that is present with a null
# value ("environment": null = remove) must be told apart from an absent one.
# ---------------------------------------------------------------------------------------------------------------

function Test-Prop {
  param($Object, [string]$Name)
  if ($null -eq $Object -or $Object -is [string] -or $Object -is [ValueType]) { return $false }
  if ($Object -is [System.Collections.IDictionary]) { return $Object.Contains($Name) }
  $null -ne $Object.PSObject.Properties[$Name]
}

# Returns the value as ONE object (the leading comma stops PowerShell from unrolling an array into the pipeline,
# which would turn @() into $null and @(x) into x). So: assign it or pass it in parentheses; never wrap the call
# itself in @(...) - that would nest the array.
function Get-Prop {
  param($Object, [string]$Name, $Default = $null)
  if (Test-Prop $Object $Name) {
    if ($Object -is [System.Collections.IDictionary]) { return , $Object[$Name] }
    return , $Object.PSObject.Properties[$Name].Value
  }
  , $Default
}

function Get-PropNames {
  param($Object)
  if ($null -eq $Object) { return }
  if ($Object -is [System.Collections.IDictionary]) { foreach ($k in $Object.Keys) { [string]$k }; return }
  foreach ($p in $Object.PSObject.Properties) { [string]$p.Name }
}

# ConvertFrom-Json that keeps date-like strings as strings where this PowerShell can (7.5+ -DateKind String).
function ConvertFrom-JsonText {
  param([string]$Text)
  $o = @{ InputObject = $Text }
  if ((Get-Command ConvertFrom-Json).Parameters.ContainsKey('DateKind')) { $o.DateKind = 'String' }
  ConvertFrom-Json @o
}

function Test-Integer {
  param($Value)
  ($Value -is [int] -or $Value -is [long] -or $Value -is [uint32] -or $Value -is [int16] -or $Value -is [byte] -or
    $Value -is [uint16] -or $Value -is [uint64] -or $Value -is [sbyte] -or
    (($Value -is [double] -or $Value -is [decimal]) -and [Math]::Floor($Value) -eq $Value))
}

function Assert-String {
  param($Value, [string]$Field, [int]$Max, [switch]$AllowEmpty)
  if (-not ($Value -is [string])) { Stop-Engine 'bad-request' ("field " + $Field + ": must be a string") }
  if (-not $AllowEmpty -and $Value.Length -eq 0) { Stop-Engine 'bad-request' ("field " + $Field + ": must not be empty") }
  if ($Value.Length -gt $Max) { Stop-Engine 'too-long' ("field " + $Field + ": " + $Value.Length + " characters; Windows allows at most " + $Max) }
  if ($Value.IndexOf([char]0) -ge 0) { Stop-Engine 'bad-request' ("field " + $Field + ": contains a NUL character") }
}

function Assert-IntRange {
  param($Value, [string]$Field, [long]$Min, [long]$Max)
  if (-not (Test-Integer $Value) -or [long]$Value -lt $Min -or [long]$Value -gt $Max) {
    Stop-Engine 'bad-request' ("field " + $Field + ": must be an integer from " + $Min + " to " + $Max)
  }
}

function Assert-OneOf {
  param($Value, [string]$Field, [string[]]$Allowed)
  if (-not ($Value -is [string]) -or -not ($Allowed -ccontains $Value)) {
    Stop-Engine 'bad-request' ("field " + $Field + ": must be one of " + ($Allowed -join ', '))
  }
}

# PowerShell 6.0-7.4 ConvertFrom-Json turns ISO-8601-looking strings into DateTime and loses the original text;
# the bootstrap avoids it on 7.5+ (-DateKind String) and 5.1 never does it. Refuse rather than write altered data.
function Assert-NoDates {
  param($Value, [string]$Path)
  if ($null -eq $Value -or $Value -is [string] -or $Path.EndsWith('.takenAt')) { return }
  if ($Value -is [DateTime] -or $Value -is [DateTimeOffset]) {
    Stop-Engine 'bad-request' ("field " + $Path + ": this PowerShell version (" + $PSVersionTable.PSVersion + ") rewrites date-like strings; run the engine with powershell.exe 5.1 or pwsh 7.5+")
  }
  if ($Value -is [System.Collections.IEnumerable] -and -not ($Value -is [System.Collections.IDictionary])) {
    $i = 0
    foreach ($x in $Value) { Assert-NoDates $x ($Path + '[' + $i + ']'); $i++ }
    return
  }
  if ($Value -is [System.Management.Automation.PSCustomObject]) {
    foreach ($n in @(Get-PropNames $Value)) { Assert-NoDates (Get-Prop $Value $n) ($Path + '.' + $n) }
  }
}

# ---------------------------------------------------------------------------------------------------------------
# Canonical JSON and the config hash. ConvertTo-Json differs between 5.1 and 7 (escaping, number forms), so the
# hash uses its own writer: object keys sorted by ordinal, strings escaping only '"', '\' and U+0000-U+001F
# (as \u00xx), integers in decimal, no whitespace; SHA-256 of the UTF-8 bytes, lowercase hex.
# src/remote/config-hash.ts implements the same rules; a test checks both agree.
# ---------------------------------------------------------------------------------------------------------------

function ConvertTo-JsonText {
  param([string]$Text)
  $sb = New-Object System.Text.StringBuilder ($Text.Length + 2)
  [void]$sb.Append('"')
  foreach ($ch in $Text.ToCharArray()) {
    $n = [int]$ch
    if ($n -eq 34) { [void]$sb.Append('\"') }
    elseif ($n -eq 92) { [void]$sb.Append('\\') }
    elseif ($n -lt 32) { [void]$sb.Append('\u').Append($n.ToString('x4')) }
    else { [void]$sb.Append($ch) }
  }
  [void]$sb.Append('"')
  $sb.ToString()
}

function ConvertTo-CanonicalJson {
  param($Value)
  if ($null -eq $Value) { return 'null' }
  if ($Value -is [bool]) { if ($Value) { return 'true' } else { return 'false' } }
  if ($Value -is [string] -or $Value -is [char]) { return (ConvertTo-JsonText ([string]$Value)) }
  if (Test-Integer $Value) { return ([decimal]$Value).ToString('0', [Globalization.CultureInfo]::InvariantCulture) }
  if ($Value -is [System.Collections.IDictionary] -or $Value -is [System.Management.Automation.PSCustomObject]) {
    $names = [string[]]@(Get-PropNames $Value)
    [Array]::Sort($names, [StringComparer]::Ordinal)
    $parts = @(foreach ($n in $names) { (ConvertTo-JsonText $n) + ':' + (ConvertTo-CanonicalJson (Get-Prop $Value $n)) })
    return ('{' + ($parts -join ',') + '}')
  }
  if ($Value -is [System.Collections.IEnumerable]) {
    $parts = @(foreach ($x in $Value) { ConvertTo-CanonicalJson $x })
    return ('[' + ($parts -join ',') + ']')
  }
  throw ('canonical JSON: unsupported value of type ' + $Value.GetType().FullName)
}

function Get-ConfigHash {
  param($Config)
  $bytes = [Text.Encoding]::UTF8.GetBytes((ConvertTo-CanonicalJson $Config))
  $sha = [Security.Cryptography.SHA256]::Create()
  try { $digest = $sha.ComputeHash($bytes) } finally { $sha.Dispose() }
  ([BitConverter]::ToString($digest) -replace '-', '').ToLowerInvariant()
}

# ---------------------------------------------------------------------------------------------------------------
# Windows command lines (scm 6: split the exe from its arguments with the CommandLineToArgvW rules).
# ---------------------------------------------------------------------------------------------------------------

# The executable of an image path, found as CreateProcess finds it: a quoted first token ends at the closing quote;
# an unquoted path whose executable part has spaces (CWE-428) is cut after its first ".exe"; otherwise the first
# token ends at whitespace. -> @{ exe; quoted; closed; rest } where rest is the raw argument text.
function Split-ImagePath {
  param([string]$Path)
  $p = $Path.TrimStart([char[]]@(' ', "`t"))
  if ($p.StartsWith('"')) {
    $end = $p.IndexOf('"', 1)
    if ($end -lt 0) { return @{ exe = $p.Substring(1); quoted = $true; closed = $false; rest = '' } }
    return @{ exe = $p.Substring(1, $end - 1); quoted = $true; closed = $true; rest = $p.Substring($end + 1).TrimStart([char[]]@(' ', "`t")) }
  }
  $m = [regex]::Match($p, '^(.*?\.exe)(?=$|[ \t])', [Text.RegularExpressions.RegexOptions]::IgnoreCase)
  if ($m.Success -and $m.Groups[1].Value -match '[ \t]') {
    $exe = $m.Groups[1].Value
  } else {
    $ws = $p.IndexOfAny([char[]]@(' ', "`t"))
    if ($ws -lt 0) { $exe = $p } else { $exe = $p.Substring(0, $ws) }
  }
  @{ exe = $exe; quoted = $false; closed = $true; rest = $p.Substring($exe.Length).TrimStart([char[]]@(' ', "`t")) }
}

# CWE-428 (scm 6): the executable part is unquoted and contains whitespace.
function Test-UnquotedPath {
  param([string]$Path)
  if ([string]::IsNullOrEmpty($Path)) { return $false }
  $s = Split-ImagePath $Path
  (-not $s.quoted) -and ($s.exe -match '\s')
}

# Arguments after argv[0], split as CommandLineToArgvW does: space/tab separate outside quotes; 2n backslashes +
# quote -> n backslashes and a quote that toggles quoting; 2n+1 backslashes + quote -> n backslashes and a literal
# quote; other backslashes are literal; in a run of quotes every third one is literal. Each token keeps its raw text
# so that an args edit leaves untouched arguments byte-identical. -> @{ raw; value } per argument.
function Split-Arguments {
  param([string]$Text)
  $n = $Text.Length
  $i = 0
  while ($i -lt $n) {
    while ($i -lt $n -and ($Text[$i] -eq ' ' -or $Text[$i] -eq "`t")) { $i++ }
    if ($i -ge $n) { break }
    $start = $i
    $sb = New-Object System.Text.StringBuilder
    $q = 0
    $bs = 0
    while ($i -lt $n) {
      $c = $Text[$i]
      if (($c -eq ' ' -or $c -eq "`t") -and $q -eq 0) { break }
      if ($c -eq '\') { [void]$sb.Append('\'); $bs++; $i++; continue }
      if ($c -eq '"') {
        if ($bs % 2 -eq 0) {
          [void]$sb.Remove($sb.Length - $bs / 2, $bs / 2)
          $q++
        } else {
          [void]$sb.Remove($sb.Length - ($bs + 1) / 2, ($bs + 1) / 2)
          [void]$sb.Append('"')
        }
        $bs = 0
        $i++
        while ($i -lt $n -and $Text[$i] -eq '"') {
          $q++
          if ($q -eq 3) { [void]$sb.Append('"'); $q = 0 }
          $i++
        }
        if ($q -eq 2) { $q = 0 }
        continue
      }
      [void]$sb.Append($c); $bs = 0; $i++
    }
    @{ raw = $Text.Substring($start, $i - $start); value = $sb.ToString() }
  }
}

# One argument encoded so that CommandLineToArgvW (and every CRT parser) gives back exactly $Value: quoted when
# empty or when it has whitespace or quotes; backslashes doubled only before a quote or the closing quote.
function ConvertTo-ArgvToken {
  param([string]$Value)
  if ($Value.Length -gt 0 -and $Value -notmatch '[\s"]') { return $Value }
  $sb = New-Object System.Text.StringBuilder ($Value.Length + 8)
  [void]$sb.Append('"')
  $bs = 0
  foreach ($ch in $Value.ToCharArray()) {
    if ($ch -eq '\') { $bs++; continue }
    if ($ch -eq '"') { [void]$sb.Append([char]92, 2 * $bs + 1).Append('"'); $bs = 0; continue }
    if ($bs) { [void]$sb.Append([char]92, $bs); $bs = 0 }
    [void]$sb.Append($ch)
  }
  if ($bs) { [void]$sb.Append([char]92, 2 * $bs) }
  [void]$sb.Append('"')
  $sb.ToString()
}

# How this PowerShell passes arguments to native programs (scm 0.4, 1.1). 'Legacy' (5.1, 7.0-7.2, or 7.3+ with
# $PSNativeCommandArgumentPassing = 'Legacy') only wraps an argument in quotes when it has unquoted whitespace and
# never escapes embedded quotes or drops empty strings correctly; 'Standard' (7.3+, also 'Windows' for sc.exe)
# encodes each argument itself.
function Get-NativeArgumentMode {
  if ($PSVersionTable.PSVersion.Major -lt 7) { return 'Legacy' }
  $v = Get-Variable -Name PSNativeCommandArgumentPassing -ValueOnly -ErrorAction SilentlyContinue
  if ($null -eq $v -or [string]$v -eq 'Legacy') { return 'Legacy' }
  'Standard'
}

# The argument to hand PowerShell so that the native program receives exactly $Value. In Legacy mode we pass the
# fully encoded token: its only unescaped quotes are the outer pair and all whitespace is inside them, so
# PowerShell's own "needs quotes" check finds nothing to wrap and passes it through verbatim (an empty value
# becomes "" instead of vanishing).
function ConvertTo-NativeArgument {
  param([string]$Value, [string]$Mode = (Get-NativeArgumentMode))
  if ($Mode -eq 'Legacy') { return (ConvertTo-ArgvToken $Value) }
  $Value
}

# Apply an ArgsEdit (protocol DesiredConfig.args) to an image path, keeping its executable (always quoted on
# output, which also fixes an unquoted CWE-428 path). Untouched arguments keep their raw text.
function Edit-ImagePathArgs {
  param([string]$Path, $Edit)
  $split = Split-ImagePath $Path
  if (-not $split.closed) { Stop-Engine 'bad-binary-path' 'the binary path has an opening quote without a closing one' }
  $tokens = New-Object System.Collections.ArrayList
  foreach ($t in @(Split-Arguments $split.rest)) { [void]$tokens.Add($t) }

  $removeList = Get-Prop $Edit 'remove' @()
  foreach ($flag in @($removeList)) {
    $key = ConvertTo-FlagName $flag 'desired.args.remove'
    $i = 0
    while ($i -lt $tokens.Count) {
      $v = $tokens[$i].value
      if ($v -ceq $key) {
        $tokens.RemoveAt($i)
        if ($i -lt $tokens.Count -and -not (Test-FlagLike $tokens[$i].value)) { $tokens.RemoveAt($i) }
        continue
      }
      if ($v.StartsWith($key + '=', [StringComparison]::Ordinal)) { $tokens.RemoveAt($i); continue }
      $i++
    }
  }

  $set = Get-Prop $Edit 'set'
  foreach ($name in @(Get-PropNames $set)) {
    $key = ConvertTo-FlagName $name 'desired.args.set'
    $val = Get-Prop $set $name
    $bare = ($val -is [bool])
    if ($bare -and -not $val) { Stop-Engine 'bad-request' ('field desired.args.set.' + $name + ': use true for a bare flag, or list it in remove') }
    if (-not $bare) { Assert-String $val ('desired.args.set.' + $name) 32767 -AllowEmpty }
    $found = $false
    $i = 0
    while ($i -lt $tokens.Count) {
      $v = $tokens[$i].value
      $isSpaced = ($v -ceq $key)
      $isJoined = $v.StartsWith($key + '=', [StringComparison]::Ordinal)
      if (-not ($isSpaced -or $isJoined)) { $i++; continue }
      if ($found) {
        # A flag given several times collapses to the one value we set.
        $tokens.RemoveAt($i)
        if ($isSpaced -and $i -lt $tokens.Count -and -not (Test-FlagLike $tokens[$i].value)) { $tokens.RemoveAt($i) }
        continue
      }
      $found = $true
      if ($bare) {
        # A spaced "--flag value" keeps its following token: it cannot be told from a positional argument.
        $tokens[$i] = @{ raw = (ConvertTo-ArgvToken $key); value = $key }
        $i++
        continue
      }
      if ($isJoined) {
        $tokens[$i] = @{ raw = (ConvertTo-ArgvToken ($key + '=' + $val)); value = ($key + '=' + $val) }
        $i++
        continue
      }
      if ($i + 1 -lt $tokens.Count -and -not (Test-FlagLike $tokens[$i + 1].value)) {
        $tokens[$i + 1] = @{ raw = (ConvertTo-ArgvToken $val); value = $val }
      } else {
        $tokens.Insert($i + 1, @{ raw = (ConvertTo-ArgvToken $val); value = $val })
      }
      $i += 2
    }
    if (-not $found) {
      [void]$tokens.Add(@{ raw = (ConvertTo-ArgvToken $key); value = $key })
      if (-not $bare) { [void]$tokens.Add(@{ raw = (ConvertTo-ArgvToken $val); value = $val }) }
    }
  }

  $parts = @('"' + $split.exe + '"') + @(foreach ($t in $tokens) { $t.raw })
  $parts -join ' '
}

# A flag key as written on the command line: "--port", "-p", "/p"; a bare name gets "--".
function ConvertTo-FlagName {
  param($Name, [string]$Field)
  Assert-String $Name $Field 1024
  if ($Name -match '\s|"|=') { Stop-Engine 'bad-request' ('field ' + $Field + ': a flag name cannot contain whitespace, quotes or "="') }
  if ($Name.StartsWith('-') -or $Name.StartsWith('/')) { return $Name }
  '--' + $Name
}

# Does an argument look like a flag rather than the value of the flag before it? ("-5" is a value.)
function Test-FlagLike {
  param([string]$Value)
  $Value -match '^(--?|/)[A-Za-z]'
}

# ---------------------------------------------------------------------------------------------------------------
# Reading a service, locale-independently (scm 0.3): Win32_Service through CIM plus the service's registry key;
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

function Get-ServiceRegistry {
  param([string]$Name)
  try {
    Get-ItemProperty -LiteralPath (Get-ServiceKeyPath $Name) -ErrorAction Stop
  } catch {
    Stop-Engine 'snapshot-failed' ('cannot read the service registry key: ' + $_.Exception.Message) (Get-ExceptionWin32 $_.Exception)
  }
}

$StartTypeByValue = @{ 0 = 'boot'; 1 = 'system'; 2 = 'auto'; 3 = 'demand'; 4 = 'disabled' }
$StartTypeByCim = @{ 'Boot' = 'boot'; 'System' = 'system'; 'Auto' = 'auto'; 'Manual' = 'demand'; 'Disabled' = 'disabled' }
$ErrorControlByValue = @{ 0 = 'ignore'; 1 = 'normal'; 2 = 'severe'; 3 = 'critical' }
$ErrorControlValue = @{ 'ignore' = 0; 'normal' = 1; 'severe' = 2; 'critical' = 3 }
$StateByCim = @{
  'Stopped' = 'stopped'; 'Start Pending' = 'start-pending'; 'Stop Pending' = 'stop-pending'; 'Running' = 'running'
  'Continue Pending' = 'continue-pending'; 'Pause Pending' = 'pause-pending'; 'Paused' = 'paused'
}
# SC_ACTION_* (scm 4: NONE=0, RESTART=1, REBOOT=2, RUN_COMMAND=3).
$ActionByValue = @{ 0 = 'none'; 1 = 'restart'; 2 = 'reboot'; 3 = 'run' }

# The FailureActions REG_BINARY (scm 4): little-endian DWORDs, 32-bit layout: reset period (0xFFFFFFFF =
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

# The Environment REG_MULTI_SZ (scm 4) as NAME -> value, in stored order; $null when absent or empty.
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
  $p = $Reg.PSObject.Properties[$Name]
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
    # DelayedAutoStart is on Win32_Service from Windows 10/2016; older hosts only have the registry flag (scm 2, 4).
    $delayed = $null
    if ($svc.PSObject.Properties['DelayedAutoStart']) { $delayed = $svc.DelayedAutoStart }
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
    displayName = [string]$svc.DisplayName
    binaryPath = [string]$svc.PathName
    startType = $startType
    errorControl = $errorControl
    serviceType = [long]$type
    account = [string]$svc.StartName
    description = [string]$svc.Description
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

# ---------------------------------------------------------------------------------------------------------------
# Desired settings -> target config -> per-field diff (take-effect table: scm 5.1).
# ---------------------------------------------------------------------------------------------------------------

# Field, and whether a change needs a restart to take effect (scm 5.1). Display name and description apply at
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
  if ($Field -eq 'account') { return [string]::Equals([string]$A, [string]$B, [StringComparison]::OrdinalIgnoreCase) }
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

# Windows keeps service and group dependencies apart (DependOnService / DependOnGroup, scm 4), so the canonical
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

function Test-BuiltinAccount {
  param([string]$Name)
  $n = $Name.ToLowerInvariant()
  ($n -eq 'localsystem' -or $n -eq '.\localsystem' -or $n -eq 'nt authority\system' -or
    $n -eq 'nt authority\localservice' -or $n -eq 'nt authority\local service' -or
    $n -eq 'nt authority\networkservice' -or $n -eq 'nt authority\network service' -or
    $n.StartsWith('nt service\') -or $n.EndsWith('$'))
}

# The full config the service should have after apply. Only the listed desired fields change.
# -> @{ config; password } (password: the request's, or $null).
function New-TargetConfig {
  param($Current, $Desired)
  $t = Copy-Config $Current
  $password = $null
  if ($null -eq $Desired) { return @{ config = $t; password = $null } }
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
    Assert-String $v 'desired.displayName' 256   # scm 1.2: at most 256 characters
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
      $password = Get-Prop $acct 'password'
      if ($null -ne $password) { Assert-String $password 'desired.account.password' 256 -AllowEmpty }
    }
    if ($null -eq $password -and -not (Test-BuiltinAccount $name) -and -not [string]::Equals($name, $Current.account, [StringComparison]::OrdinalIgnoreCase)) {
      Stop-Engine 'password-required' ('changing the account to ' + $name + ' needs its password (only built-in and managed accounts run without one)')
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
      # Removing every action also resets the period to 0 (ChangeServiceConfig2 behaviour, scm 9.3).
      if ($t.failure.actions.Count -eq 0 -and -not (Test-Prop $f 'resetPeriod')) { $t.failure.resetPeriod = 0 }
    }
    if (Test-Prop $f 'nonCrashFailures') {
      $v = Get-Prop $f 'nonCrashFailures'
      if ($v -isnot [bool]) { Stop-Engine 'bad-request' 'field desired.failure.nonCrashFailures: must be true or false' }
      $t.failure.nonCrashFailures = $v
    }
    if ($t.failure.actions.Count -eq 0 -and -not (Test-SameValue 'x' $t.failure.resetPeriod 0)) {
      Stop-Engine 'bad-request' 'field desired.failure.resetPeriod: Windows keeps a reset period only together with at least one action (scm 1.3)'
    }
  }
  if (Test-Prop $Desired 'environment') {
    $t.environment = ConvertTo-EnvironmentMap (Get-Prop $Desired 'environment') 'desired.environment'
  }
  @{ config = $t; password = $password }
}

# Per-field before/after (protocol FieldChange). The password itself never appears: only that one is being set.
function Get-Diff {
  param($Current, $Target, [bool]$PasswordGiven)
  $changes = @(foreach ($f in $FieldRules) {
    $before = Get-FieldValue $Current $f.name
    $after = Get-FieldValue $Target $f.name
    if (-not (Test-SameValue $f.name $before $after)) {
      [ordered]@{ field = $f.name; before = $before; after = $after; restartNeeded = $f.restart }
    }
  })
  if ($PasswordGiven) {
    $changes += [ordered]@{ field = 'account.password'; before = $null; after = '[REDACTED]'; restartNeeded = $true }
  }
  @($changes)
}

# ---------------------------------------------------------------------------------------------------------------
# Writing through the SCM: Win32_Service.Change() (scm 2) for values that may hold any text or a password (never on
# a command line), sc.exe (scm 1) for what Change() cannot set or cannot clear, the registry only for Environment
# (scm 5.2: the SCM has no API for it).
# ---------------------------------------------------------------------------------------------------------------

# Win32_Service.Change() return codes (scm 2) -> the Win32 error they stand for.
$ChangeReturn = @{
  1 = @('Not Supported', 50); 2 = @('Access Denied', 5); 3 = @('Dependent Services Running', 1051)
  4 = @('Invalid Service Control', 1052); 5 = @('Service Cannot Accept Control', 1061); 6 = @('Service Not Active', 1062)
  7 = @('Service Request Timeout', 1053); 8 = @('Unknown Failure', $null); 9 = @('Path Not Found', 3)
  10 = @('Service Already Running', 1056); 11 = @('Service Database Locked', 1055); 12 = @('Service Dependency Deleted', 1075)
  13 = @('Service Dependency Failure', 1068); 14 = @('Service Disabled', 1058); 15 = @('Service Logon Failed', 1069)
  16 = @('Service Marked For Deletion', 1072); 17 = @('Service No Thread', 1054); 18 = @('Status Circular Dependency', 1059)
  19 = @('Status Duplicate Name', 1078); 20 = @('Status Invalid Name', 123); 21 = @('Status Invalid Parameter', 87)
  22 = @('Status Invalid Service Account', 1057); 23 = @('Status Service Exists', 1073); 24 = @('Service Already Paused', $null)
}

function Invoke-ServiceChange {
  param([string]$Name, [hashtable]$Arguments, [string]$Phase = 'apply')
  $svc = Get-Win32Service $Name
  $shown = @($Arguments.Keys | Where-Object { $_ -ne 'StartPassword' } | Sort-Object)
  try {
    $r = Invoke-CimMethod -InputObject $svc -MethodName Change -Arguments $Arguments -ErrorAction Stop
  } catch {
    Stop-Engine 'apply-failed' ('Win32_Service.Change() failed: ' + $_.Exception.Message) (Get-ExceptionWin32 $_.Exception)
  } finally {
    if ($Arguments.ContainsKey('StartPassword')) { $Arguments['StartPassword'] = $null; $Arguments.Remove('StartPassword') }
  }
  $rv = [int]$r.ReturnValue
  if ($rv -ne 0) {
    $info = $ChangeReturn[$rv]
    $label = 'unknown'
    $win32 = $null
    if ($info) { $label = $info[0]; $win32 = $info[1] }
    Stop-Engine 'apply-failed' ('Win32_Service.Change(' + ($shown -join ', ') + ') returned ' + $rv + ' (' + $label + ')') $win32
  }
  Send-Event $Phase ('Win32_Service.Change: ' + ($shown -join ', ')) ([ordered]@{ via = 'Win32_Service.Change'; parameters = @($shown) })
}

# Runs a native tool with each argument encoded for this PowerShell (see ConvertTo-NativeArgument).
# -> @{ code; text } ; the text is localized (scm 1.5) and only used in messages.
function Invoke-Native {
  param([string]$Command, [string[]]$Arguments)
  $mode = Get-NativeArgumentMode
  $native = @(foreach ($a in $Arguments) { ConvertTo-NativeArgument $a $mode })
  # 5.1 turns stderr lines of a redirected native command into terminating errors under 'Stop'.
  $ErrorActionPreference = 'Continue'
  $global:LASTEXITCODE = 0
  $out = & $Command @native 2>&1
  $code = $LASTEXITCODE
  $ErrorActionPreference = 'Stop'
  $text = (@($out) | ForEach-Object { [string]$_ } | Where-Object { $_.Trim().Length -gt 0 }) -join ' '
  if ($text.Length -gt 400) { $text = $text.Substring(0, 400) + '...' }
  @{ code = [int]$code; text = $text }
}

function Invoke-ScChecked {
  param([string[]]$Arguments, [string]$What, [string]$Phase = 'apply')
  $r = Invoke-Native 'sc.exe' $Arguments
  if ($r.code -ne 0) {
    Stop-Engine 'apply-failed' ('sc.exe ' + $What + ' failed with ' + $r.code + ': ' + $r.text) $r.code
  }
  Send-Event $Phase ('sc.exe ' + $What) ([ordered]@{ via = 'sc.exe'; command = $What })
}

function Format-FailureActions {
  param($Actions)
  (@(foreach ($a in @($Actions)) { [string]$a.type + '/' + [string]$a.delayMs }) -join '/')
}

# SC_ACTION_NONE has no sc.exe action word (scm 1.3: run, restart, reboot), and a trailing NONE is not the same as
# leaving it out (the SCM repeats the last action for every later failure). So a list with a NONE is written with
# ChangeServiceConfig2W(SERVICE_CONFIG_FAILURE_ACTIONS) through this P/Invoke type. C# 5 only: Windows PowerShell
# 5.1 compiles Add-Type sources with the .NET Framework csc (test/ps-scripts checks the source as C# 5). The lab
# replaces this type by one with the same public surface (src/lab/scm/NativeFailureActions.cs, docs/lab.md).
$NativeFailureActionsSource = @'
using System;
using System.Runtime.InteropServices;

namespace Svcfleet.Native
{
    public static class ServiceFailureActions
    {
        public const uint SERVICE_CHANGE_CONFIG = 0x0002;
        public const uint SERVICE_START = 0x0010;
        public const uint INFINITE = 0xFFFFFFFF;

        private const uint SC_MANAGER_CONNECT = 0x0001;
        private const uint SERVICE_CONFIG_FAILURE_ACTIONS = 2;
        private const uint TOKEN_ADJUST_PRIVILEGES = 0x0020;
        private const uint TOKEN_QUERY = 0x0008;
        private const uint SE_PRIVILEGE_ENABLED = 0x0002;
        private const int ERROR_NOT_ALL_ASSIGNED = 1300;

        [StructLayout(LayoutKind.Sequential)]
        private struct SERVICE_FAILURE_ACTIONSW
        {
            public uint dwResetPeriod;
            public IntPtr lpRebootMsg;
            public IntPtr lpCommand;
            public uint cActions;
            public IntPtr lpsaActions;
        }

        [StructLayout(LayoutKind.Sequential)]
        private struct LUID
        {
            public uint LowPart;
            public int HighPart;
        }

        [StructLayout(LayoutKind.Sequential)]
        private struct TOKEN_PRIVILEGES
        {
            public uint PrivilegeCount;
            public LUID Luid;
            public uint Attributes;
        }

        [DllImport("advapi32.dll", EntryPoint = "OpenSCManagerW", CharSet = CharSet.Unicode, SetLastError = true)]
        private static extern IntPtr OpenSCManager(string machineName, string databaseName, uint desiredAccess);

        [DllImport("advapi32.dll", EntryPoint = "OpenServiceW", CharSet = CharSet.Unicode, SetLastError = true)]
        private static extern IntPtr OpenService(IntPtr manager, string serviceName, uint desiredAccess);

        [DllImport("advapi32.dll", EntryPoint = "ChangeServiceConfig2W", SetLastError = true)]
        [return: MarshalAs(UnmanagedType.Bool)]
        private static extern bool ChangeServiceConfig2(IntPtr service, uint infoLevel, ref SERVICE_FAILURE_ACTIONSW info);

        [DllImport("advapi32.dll", SetLastError = true)]
        [return: MarshalAs(UnmanagedType.Bool)]
        private static extern bool CloseServiceHandle(IntPtr handle);

        [DllImport("kernel32.dll")]
        private static extern IntPtr GetCurrentProcess();

        [DllImport("kernel32.dll", SetLastError = true)]
        [return: MarshalAs(UnmanagedType.Bool)]
        private static extern bool CloseHandle(IntPtr handle);

        [DllImport("advapi32.dll", SetLastError = true)]
        [return: MarshalAs(UnmanagedType.Bool)]
        private static extern bool OpenProcessToken(IntPtr process, uint desiredAccess, out IntPtr token);

        [DllImport("advapi32.dll", EntryPoint = "LookupPrivilegeValueW", CharSet = CharSet.Unicode, SetLastError = true)]
        [return: MarshalAs(UnmanagedType.Bool)]
        private static extern bool LookupPrivilegeValue(string systemName, string name, out LUID luid);

        [DllImport("advapi32.dll", SetLastError = true)]
        [return: MarshalAs(UnmanagedType.Bool)]
        private static extern bool AdjustTokenPrivileges(IntPtr token, [MarshalAs(UnmanagedType.Bool)] bool disableAll, ref TOKEN_PRIVILEGES newState, uint length, IntPtr previousState, IntPtr returnLength);

        // Enables SeShutdownPrivilege on this process's token (needed to set an SC_ACTION_REBOOT action).
        // Returns 0 or a Win32 error code; failedApi names the call that failed.
        public static int EnableShutdownPrivilege(out string failedApi)
        {
            failedApi = null;
            IntPtr token;
            if (!OpenProcessToken(GetCurrentProcess(), TOKEN_ADJUST_PRIVILEGES | TOKEN_QUERY, out token))
            {
                failedApi = "OpenProcessToken";
                return Marshal.GetLastWin32Error();
            }
            try
            {
                LUID luid;
                if (!LookupPrivilegeValue(null, "SeShutdownPrivilege", out luid))
                {
                    failedApi = "LookupPrivilegeValue";
                    return Marshal.GetLastWin32Error();
                }
                TOKEN_PRIVILEGES state = new TOKEN_PRIVILEGES();
                state.PrivilegeCount = 1;
                state.Luid = luid;
                state.Attributes = SE_PRIVILEGE_ENABLED;
                bool ok = AdjustTokenPrivileges(token, false, ref state, 0, IntPtr.Zero, IntPtr.Zero);
                // AdjustTokenPrivileges succeeds with ERROR_NOT_ALL_ASSIGNED when the token lacks the privilege.
                int error = Marshal.GetLastWin32Error();
                if (!ok || error == ERROR_NOT_ALL_ASSIGNED)
                {
                    failedApi = "AdjustTokenPrivileges";
                    return error;
                }
                return 0;
            }
            finally
            {
                CloseHandle(token);
            }
        }

        // ChangeServiceConfig2W(SERVICE_CONFIG_FAILURE_ACTIONS) on a handle opened with exactly `access`.
        // rebootMessage and command: "" deletes the value (null would mean "no change", never used here).
        // Zero actions with a non-NULL array deletes the actions and the reset period.
        // Returns 0 or a Win32 error code; failedApi names the call that failed.
        public static int Write(string serviceName, uint access, uint resetPeriod, string rebootMessage, string command, uint[] types, uint[] delays, out string failedApi)
        {
            failedApi = null;
            if (types == null || delays == null || types.Length != delays.Length)
            {
                failedApi = "ChangeServiceConfig2";
                return 87;
            }
            IntPtr manager = OpenSCManager(null, null, SC_MANAGER_CONNECT);
            if (manager == IntPtr.Zero)
            {
                failedApi = "OpenSCManager";
                return Marshal.GetLastWin32Error();
            }
            IntPtr service = IntPtr.Zero;
            IntPtr actions = IntPtr.Zero;
            IntPtr reboot = IntPtr.Zero;
            IntPtr commandLine = IntPtr.Zero;
            try
            {
                service = OpenService(manager, serviceName, access);
                if (service == IntPtr.Zero)
                {
                    failedApi = "OpenService";
                    return Marshal.GetLastWin32Error();
                }
                actions = Marshal.AllocHGlobal(8 * Math.Max(1, types.Length));
                for (int i = 0; i < types.Length; i++)
                {
                    Marshal.WriteInt32(actions, 8 * i, unchecked((int)types[i]));
                    Marshal.WriteInt32(actions, 8 * i + 4, unchecked((int)delays[i]));
                }
                reboot = Marshal.StringToHGlobalUni(rebootMessage == null ? "" : rebootMessage);
                commandLine = Marshal.StringToHGlobalUni(command == null ? "" : command);
                SERVICE_FAILURE_ACTIONSW info = new SERVICE_FAILURE_ACTIONSW();
                info.dwResetPeriod = resetPeriod;
                info.lpRebootMsg = reboot;
                info.lpCommand = commandLine;
                info.cActions = (uint)types.Length;
                info.lpsaActions = actions;
                if (!ChangeServiceConfig2(service, SERVICE_CONFIG_FAILURE_ACTIONS, ref info))
                {
                    failedApi = "ChangeServiceConfig2";
                    return Marshal.GetLastWin32Error();
                }
                return 0;
            }
            finally
            {
                if (commandLine != IntPtr.Zero) { Marshal.FreeHGlobal(commandLine); }
                if (reboot != IntPtr.Zero) { Marshal.FreeHGlobal(reboot); }
                if (actions != IntPtr.Zero) { Marshal.FreeHGlobal(actions); }
                if (service != IntPtr.Zero) { CloseServiceHandle(service); }
                CloseServiceHandle(manager);
            }
        }
    }
}
'@

# SC_ACTION_* codes by name (scm 4).
$ActionValue = @{ 'none' = 0; 'restart' = 1; 'reboot' = 2; 'run' = 3 }

# sc.exe writes run/restart/reboot lists; only a list with a NONE needs the native call (and its one-time compile).
function Test-NeedsNativeFailureWrite {
  param($Actions)
  @(@($Actions) | Where-Object { $null -ne $_ -and [string]$_.type -eq 'none' }).Count -gt 0
}

# Compiles the native type once per process (the check keeps a warm process from compiling it again).
function Initialize-NativeFailureActions {
  if ('Svcfleet.Native.ServiceFailureActions' -as [type]) { return }
  try {
    Add-Type -TypeDefinition $NativeFailureActionsSource -ErrorAction Stop
  } catch {
    Stop-Engine 'apply-failed' ('cannot compile the ChangeServiceConfig2 helper (Add-Type): ' + $_.Exception.Message)
  }
}

# Writes reset period, reboot message, command and actions in one ChangeServiceConfig2W call, with the same
# meaning as the sc.exe path: 'infinite' is INFINITE, "" deletes a text, no actions also resets the period to 0.
# The service is opened with SERVICE_CHANGE_CONFIG, plus SERVICE_START when there is a restart action; a reboot
# action needs SeShutdownPrivilege enabled (ChangeServiceConfig2 docs; scm 9.1 failure_actions).
function Set-FailureActionsNative {
  param([string]$Name, $Failure, [string]$Phase)
  $list = @(@($Failure.actions) | Where-Object { $null -ne $_ })
  $codes = [uint32[]]@(foreach ($a in $list) { [uint32]$ActionValue[[string]$a.type] })
  $waits = [uint32[]]@(foreach ($a in $list) { [uint32][long]$a.delayMs })
  $reset = [uint32]0
  if ($list.Count -gt 0) {
    if ([string]$Failure.resetPeriod -eq 'infinite') { $reset = [uint32]::MaxValue } else { $reset = [uint32][long]$Failure.resetPeriod }
  }
  Initialize-NativeFailureActions
  $native = 'Svcfleet.Native.ServiceFailureActions' -as [type]
  $access = [uint32]$native::SERVICE_CHANGE_CONFIG
  if (@($list | Where-Object { [string]$_.type -eq 'restart' }).Count -gt 0) { $access = [uint32]($access -bor $native::SERVICE_START) }
  $api = $null
  if (@($list | Where-Object { [string]$_.type -eq 'reboot' }).Count -gt 0) {
    $code = $native::EnableShutdownPrivilege([ref]$api)
    if ($code -ne 0) { Stop-Engine 'apply-failed' ('enabling SeShutdownPrivilege for a reboot action failed: ' + $api + ' returned ' + $code) $code }
  }
  $code = $native::Write($Name, $access, $reset, [string]$Failure.rebootMessage, [string]$Failure.command, $codes, $waits, [ref]$api)
  if ($code -ne 0) {
    Stop-Engine 'apply-failed' ('ChangeServiceConfig2(SERVICE_CONFIG_FAILURE_ACTIONS) failed: ' + $api + ' returned ' + $code) $code
  }
  Send-Event $Phase 'ChangeServiceConfig2 failure actions' ([ordered]@{ via = 'ChangeServiceConfig2'; command = 'failure' })
}

# Writes every field in which $To differs from $From. $Password: set with the account (Change() only).
function Set-ServiceConfig {
  param([string]$Name, $From, $To, $Password = $null, [string]$Phase = 'apply')
  $diff = @(Compare-Config $From $To)
  $passwordGiven = ($null -ne $Password)
  if ($diff.Count -eq 0 -and -not $passwordGiven) { return }
  $startModes = @{ 'boot' = 'Boot'; 'system' = 'System'; 'auto' = 'Automatic'; 'demand' = 'Manual'; 'disabled' = 'Disabled' }

  $change = @{}
  if ($diff -contains 'binaryPath') { $change.PathName = [string]$To.binaryPath }
  if ($diff -contains 'displayName') { $change.DisplayName = [string]$To.displayName }
  if ($diff -contains 'errorControl') { $change.ErrorControl = [byte]$ErrorControlValue[$To.errorControl] }
  if ($diff -contains 'serviceType') { $change.ServiceType = [uint32]$To.serviceType }
  # Change() has no delayed start (scm 2) and ChangeServiceConfig leaves the delayed flag alone, so any move into
  # or out of delayed-auto goes through sc.exe, whose 'start= auto' also clears the flag (scm 1.2).
  $viaSc = ($To.startType -eq 'delayed-auto' -or $From.startType -eq 'delayed-auto')
  if ($diff -contains 'startType' -and -not $viaSc) { $change.StartMode = $startModes[$To.startType] }
  if ($diff -contains 'account' -or $passwordGiven) {
    $change.StartName = [string]$To.account
    if ($passwordGiven) { $change.StartPassword = [string]$Password }
    elseif (Test-BuiltinAccount $To.account) { $change.StartPassword = '' }   # "" not null (scm 2)
    else { Send-Event $Phase ('the password of ' + $To.account + ' is not known here; the SCM keeps the one it has') $null 'warn' }
  }
  $Password = $null
  if ($change.Count -gt 0) { Invoke-ServiceChange $Name $change $Phase }
  $change = $null

  if ($diff -contains 'startType' -and $viaSc) { Invoke-ScChecked @('config', $Name, 'start=', $To.startType) 'config start=' $Phase }
  # depend= "" and group= "" clear the value (scm 1.2); Change() has no documented way to clear them.
  if ($diff -contains 'dependencies') { Invoke-ScChecked @('config', $Name, 'depend=', (@($To.dependencies) -join '/')) 'config depend=' $Phase }
  if ($diff -contains 'loadOrderGroup') { Invoke-ScChecked @('config', $Name, 'group=', [string]$To.loadOrderGroup) 'config group=' $Phase }
  if ($diff -contains 'description') { Invoke-ScChecked @('description', $Name, [string]$To.description) 'description' $Phase }
  if (@($diff | Where-Object { $_ -like 'failure.*' -and $_ -ne 'failure.nonCrashFailures' }).Count -gt 0) {
    if (Test-NeedsNativeFailureWrite $To.failure.actions) {
      Set-FailureActionsNative $Name $To.failure $Phase
    } else {
      # reset= only works together with actions= (scm 1.3); all four are written so the result is exact.
      $reset = [string]$To.failure.resetPeriod
      if ($reset -eq 'infinite') { $reset = 'INFINITE' }
      Invoke-ScChecked @('failure', $Name, 'reset=', $reset, 'reboot=', [string]$To.failure.rebootMessage,
        'command=', [string]$To.failure.command, 'actions=', (Format-FailureActions $To.failure.actions)) 'failure' $Phase
    }
  }
  if ($diff -contains 'failure.nonCrashFailures') {
    $flag = '0'
    if ($To.failure.nonCrashFailures) { $flag = '1' }
    Invoke-ScChecked @('failureflag', $Name, $flag) 'failureflag' $Phase   # positional flag (scm 1.3)
  }
  if ($diff -contains 'environment') { Set-ServiceEnvironment $Name $To.environment $Phase }
}

function Set-ServiceEnvironment {
  param([string]$Name, $Environment, [string]$Phase)
  $key = Get-ServiceKeyPath $Name
  try {
    if ($null -eq $Environment) {
      if (Test-Prop (Get-ItemProperty -LiteralPath $key -ErrorAction Stop) 'Environment') {
        Remove-ItemProperty -LiteralPath $key -Name 'Environment' -ErrorAction Stop
      }
    } else {
      $entries = [string[]]@(foreach ($k in $Environment.Keys) { [string]$k + '=' + [string]$Environment[$k] })
      Set-ItemProperty -LiteralPath $key -Name 'Environment' -Value $entries -Type MultiString -ErrorAction Stop
    }
  } catch {
    Stop-Engine 'apply-failed' ('cannot write the Environment registry value: ' + $_.Exception.Message) (Get-ExceptionWin32 $_.Exception)
  }
  $names = @()
  if ($null -ne $Environment) { $names = @($Environment.Keys) }
  Send-Event $Phase 'registry Environment' ([ordered]@{ via = 'registry'; value = 'Environment'; names = $names })
}

# ---------------------------------------------------------------------------------------------------------------
# Service control: sc.exe start/stop are asynchronous (scm 1.3); poll the state with deadlines.
# ---------------------------------------------------------------------------------------------------------------

function Get-ServiceStatus {
  param([string]$Name)
  $svc = Get-Win32Service $Name
  $state = $StateByCim[[string]$svc.State]
  if (-not $state) { $state = 'stopped' }
  $procId = $null
  if ($svc.ProcessId -and [long]$svc.ProcessId -gt 0) { $procId = [long]$svc.ProcessId }
  @{ state = $state; pid = $procId; exitCode = $svc.ExitCode }
}

function Stop-ServiceAndWait {
  param([string]$Name, [int]$TimeoutSeconds, [string]$Phase = 'stop', [switch]$KillOnTimeout)
  $st = Get-ServiceStatus $Name
  if ($st.state -eq 'stopped') { return }
  $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
  $lastPid = $st.pid
  Send-Event $Phase 'stopping' ([ordered]@{ pid = $st.pid; state = $st.state })
  $sent = $false
  while ($true) {
    if ($st.state -eq 'stopped') { Send-Event $Phase 'stopped'; return }
    if ($null -ne $st.pid) { $lastPid = $st.pid }
    if (-not $sent -and ($st.state -eq 'running' -or $st.state -eq 'paused')) {
      $r = Invoke-Native 'sc.exe' @('stop', $Name)
      # 1062: not active (stopped meanwhile); 1061: in a pending state, keep polling (scm 1.5).
      if ($r.code -ne 0 -and $r.code -ne 1062 -and $r.code -ne 1061) {
        Stop-Engine 'stop-failed' ('sc.exe stop failed with ' + $r.code + ': ' + $r.text) $r.code
      }
      $sent = $true
    }
    if ([DateTime]::UtcNow -gt $deadline) { break }
    Start-Sleep -Milliseconds 200
    $st = Get-ServiceStatus $Name
    if ($st.state -eq 'running') { $sent = $false }
  }
  if ($KillOnTimeout -and $null -ne $lastPid) {
    # Restoring a service stuck in STOP_PENDING: end its process, as an operator would.
    Send-Event $Phase ('still ' + $st.state + ' after ' + $TimeoutSeconds + ' s; ending process ' + $lastPid) $null 'warn'
    try { Stop-Process -Id $lastPid -Force -ErrorAction Stop } catch { }
    $deadline = [DateTime]::UtcNow.AddSeconds(10)
    while ([DateTime]::UtcNow -lt $deadline) {
      $st = Get-ServiceStatus $Name
      if ($st.state -eq 'stopped') { Send-Event $Phase 'stopped'; return }
      Start-Sleep -Milliseconds 200
    }
  }
  Stop-Engine 'stop-timeout' ('the service is still ' + $st.state + ' after ' + $TimeoutSeconds + ' s') 1053
}

# -> the new PID.
function Start-ServiceAndWait {
  param([string]$Name, [int]$TimeoutSeconds, [string]$Phase = 'start-service')
  Send-Event $Phase 'starting'
  $r = Invoke-Native 'sc.exe' @('start', $Name)
  if ($r.code -ne 0 -and $r.code -ne 1056) {
    Stop-Engine 'start-failed' ('sc.exe start failed with ' + $r.code + ': ' + $r.text) $r.code
  }
  $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
  while ($true) {
    $st = Get-ServiceStatus $Name
    if ($st.state -eq 'running') {
      Send-Event $Phase 'running' ([ordered]@{ pid = $st.pid })
      return $st.pid
    }
    if ($st.state -eq 'stopped') {
      $code = $null
      if ($null -ne $st.exitCode) { $code = [int]$st.exitCode }
      Stop-Engine 'start-failed' ('the service stopped while starting (exit code ' + $code + ')') $code
    }
    if ([DateTime]::UtcNow -gt $deadline) {
      Stop-Engine 'start-timeout' ('the service did not reach RUNNING within ' + $TimeoutSeconds + ' s (still ' + $st.state + ')') 1053
    }
    Start-Sleep -Milliseconds 200
  }
}

# ---------------------------------------------------------------------------------------------------------------
# Verification gates.
# ---------------------------------------------------------------------------------------------------------------

function Test-TcpPort {
  param([int]$Port, [int]$TimeoutMs = 1000)
  foreach ($addr in @([Net.IPAddress]::Loopback, [Net.IPAddress]::IPv6Loopback)) {
    $client = New-Object System.Net.Sockets.TcpClient ($addr.AddressFamily)
    try {
      $ar = $client.BeginConnect($addr, $Port, $null, $null)
      if ($ar.AsyncWaitHandle.WaitOne($TimeoutMs)) {
        $client.EndConnect($ar)
        if ($client.Connected) { return $true }
      }
    } catch {
    } finally {
      $client.Close()
    }
  }
  $false
}

function Get-HttpStatus {
  param([string]$Url, [int]$TimeoutMs = 3000)
  try {
    $req = [System.Net.WebRequest]::Create($Url)
    $req.Method = 'GET'
    $req.Timeout = $TimeoutMs
    $resp = $req.GetResponse()
    $code = [int]$resp.StatusCode
    $resp.Close()
    return $code
  } catch {
    # A non-2xx answer arrives as a WebException (wrapped by PowerShell) that still carries the response.
    $e = $_.Exception
    while ($null -ne $e) {
      if ($e -is [System.Net.WebException] -and $e.Response) { $code = [int]$e.Response.StatusCode; $e.Response.Close(); return $code }
      $e = $e.InnerException
    }
    return $null
  }
}

# Verify spec with defaults applied.
function Get-VerifySpec {
  param($Request, [bool]$WasRunning)
  $v = Get-Prop $Request 'verify'
  $spec = @{
    running = $WasRunning
    port = $null
    timeoutSeconds = 60
    settleSeconds = 0
    dependencies = 'running'
    http = $null
  }
  if ($null -eq $v) { return $spec }
  if (Test-Prop $v 'running') {
    $x = Get-Prop $v 'running'
    if ($x -isnot [bool]) { Stop-Engine 'bad-request' 'field verify.running: must be true or false' }
    $spec.running = $x
  }
  if (Test-Prop $v 'port') { $x = Get-Prop $v 'port'; Assert-IntRange $x 'verify.port' 1 65535; $spec.port = [int]$x }
  if (Test-Prop $v 'timeoutSeconds') { $x = Get-Prop $v 'timeoutSeconds'; Assert-IntRange $x 'verify.timeoutSeconds' 1 3600; $spec.timeoutSeconds = [int]$x }
  if (Test-Prop $v 'settleSeconds') { $x = Get-Prop $v 'settleSeconds'; Assert-IntRange $x 'verify.settleSeconds' 0 3600; $spec.settleSeconds = [int]$x }
  if (Test-Prop $v 'dependencies') { $x = Get-Prop $v 'dependencies'; Assert-OneOf $x 'verify.dependencies' @('running', 'ignore'); $spec.dependencies = $x }
  if (Test-Prop $v 'http') {
    $h = Get-Prop $v 'http'
    $url = Get-Prop $h 'url'
    Assert-String $url 'verify.http.url' 2048
    if ($url -notmatch '^https?://') { Stop-Engine 'bad-request' 'field verify.http.url: must be an http:// or https:// URL' }
    $status = Get-Prop $h 'status' 200
    Assert-IntRange $status 'verify.http.status' 100 599
    $spec.http = @{ url = $url; status = [int]$status }
  }
  $spec
}

# Gates, in order: RUNNING within the budget; a new PID when restarted; the TCP port accepts connections on
# loopback; service dependencies RUNNING; the optional HTTP status; then the same PID stays RUNNING for
# settleSeconds (catches a crash shortly after start). -> the verified PID.
function Test-ServiceGates {
  param([string]$Name, $Spec, $OldPid, [bool]$Restarted, $Dependencies, [string]$Phase = 'verify')
  $deadline = [DateTime]::UtcNow.AddSeconds($Spec.timeoutSeconds)
  while ($true) {
    $st = Get-ServiceStatus $Name
    if ($st.state -eq 'running') { break }
    if ($st.state -eq 'stopped' -or [DateTime]::UtcNow -gt $deadline) {
      Stop-Engine 'verify-running' ('the service is ' + $st.state + ', not RUNNING') $null
    }
    Start-Sleep -Milliseconds 200
  }
  Send-Event $Phase 'running' ([ordered]@{ gate = 'running'; pid = $st.pid })
  $verifiedPid = $st.pid
  if ($Restarted -and $null -ne $OldPid -and $verifiedPid -eq $OldPid) {
    Stop-Engine 'verify-pid' ('the service still runs as PID ' + $OldPid + ' after a restart')
  }
  if ($null -ne $Spec.port) {
    while (-not (Test-TcpPort $Spec.port)) {
      if ([DateTime]::UtcNow -gt $deadline) { Stop-Engine 'verify-port' ('nothing accepts TCP connections on localhost port ' + $Spec.port) }
      Start-Sleep -Milliseconds 250
    }
    Send-Event $Phase ('port ' + $Spec.port + ' accepts connections') ([ordered]@{ gate = 'port'; port = $Spec.port })
  }
  if ($Spec.dependencies -eq 'running') {
    foreach ($d in @($Dependencies | Where-Object { -not $_.StartsWith('+') })) {
      $ds = Get-ServiceStatus $d
      if ($ds.state -ne 'running') { Stop-Engine 'verify-dependencies' ('dependency ' + $d + ' is ' + $ds.state + ', not RUNNING') }
    }
  }
  if ($null -ne $Spec.http) {
    while ($true) {
      $code = Get-HttpStatus $Spec.http.url
      if ($code -eq $Spec.http.status) { break }
      if ([DateTime]::UtcNow -gt $deadline) {
        Stop-Engine 'verify-http' ('GET ' + $Spec.http.url + ' answered ' + $code + ', expected ' + $Spec.http.status)
      }
      Start-Sleep -Milliseconds 250
    }
    Send-Event $Phase ('GET ' + $Spec.http.url + ' answered ' + $Spec.http.status) ([ordered]@{ gate = 'http'; status = $Spec.http.status })
  }
  if ($Spec.settleSeconds -gt 0) {
    $until = [DateTime]::UtcNow.AddSeconds($Spec.settleSeconds)
    while ([DateTime]::UtcNow -lt $until) {
      Start-Sleep -Milliseconds 200
      $st = Get-ServiceStatus $Name
      if ($st.state -ne 'running' -or $st.pid -ne $verifiedPid) {
        $nowPid = 'no process'
        if ($st.pid) { $nowPid = 'PID ' + $st.pid }
        Stop-Engine 'verify-settle' ('the service did not stay up for ' + $Spec.settleSeconds + ' s: now ' + $st.state + ' (' + $nowPid + '; PID ' + $verifiedPid + ' when it was verified)')
      }
    }
    Send-Event $Phase ('stayed up ' + $Spec.settleSeconds + ' s') ([ordered]@{ gate = 'settle'; pid = $verifiedPid })
  }
  $verifiedPid
}

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

function Write-Backup {
  param($Snapshot, [string]$Service, [string]$RunId)
  $p = Get-BackupPath $Service $RunId
  try {
    [void][IO.Directory]::CreateDirectory($p.root)
    Set-AdminOnlyAcl $p.root -Container
    [void][IO.Directory]::CreateDirectory($p.dir)
    if (Test-Path -LiteralPath $p.file) {
      # A retried run keeps the backup taken before its first change.
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
  } catch {
    $why = Get-Reason $_
    if ($why.reason.code -eq 'backup-failed') { throw }
    Stop-Engine 'backup-failed' ('cannot write the backup ' + $p.file + ': ' + $why.message) (Get-ExceptionWin32 $_.Exception)
  }
  Send-Event 'backup' ('wrote ' + $p.file) ([ordered]@{ path = $p.file })
  $p.file
}

function Read-Backup {
  param([string]$Service, [string]$RunId)
  $p = Get-BackupPath $Service $RunId
  if (-not (Test-Path -LiteralPath $p.file)) { Stop-Engine 'backup-not-found' ('no backup for run ' + $RunId + ' at ' + $p.file) }
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
# Restore: bring the service back to a snapshot (config AND running state), then verify it. Shared by apply's
# failure path and the rollback operation.
# ---------------------------------------------------------------------------------------------------------------

function Restore-Service {
  param([string]$Name, $Saved, [string]$Phase, [string]$VerifyPhase, $Timeouts, [int]$SettleSeconds = 0)
  $now = Get-ServiceSnapshot $Name
  $fields = @(Compare-Config $now.config $Saved.config)
  Send-Event $Phase ('restoring ' + $fields.Count + ' field(s)') ([ordered]@{ fields = $fields })
  Set-ServiceConfig $Name $now.config $Saved.config $null $Phase

  $st = Get-ServiceStatus $Name
  $restarted = $false
  if ($Saved.state -eq 'running') {
    # The original process keeps the original config in effect; any other process (or none) must be replaced.
    $original = ($st.state -eq 'running' -and $null -ne $Saved.pid -and $st.pid -eq $Saved.pid)
    if (-not $original) {
      Stop-ServiceAndWait $Name $Timeouts.stop $Phase -KillOnTimeout
      [void](Start-ServiceAndWait $Name $Timeouts.start $Phase)
      $restarted = $true
    }
  } elseif ($Saved.state -eq 'stopped' -and $st.state -ne 'stopped') {
    Stop-ServiceAndWait $Name $Timeouts.stop $Phase -KillOnTimeout
  }

  $after = Get-ServiceSnapshot $Name
  $mismatch = @(Compare-Config $after.config $Saved.config)
  if ($mismatch.Count -gt 0) {
    Stop-Engine 'restore-mismatch' ('after restoring, these fields still differ: ' + ($mismatch -join ', '))
  }
  if ($Saved.state -eq 'running') {
    $spec = @{ running = $true; port = $null; timeoutSeconds = $Timeouts.start; settleSeconds = $SettleSeconds; dependencies = 'ignore'; http = $null }
    [void](Test-ServiceGates $Name $spec $null $false @() $VerifyPhase)
    $after = Get-ServiceSnapshot $Name
  }
  Send-Event $VerifyPhase 'restored and verified' ([ordered]@{ configHash = $after.configHash; state = $after.state; pid = $after.pid })
  @{ after = $after; restarted = $restarted; fields = $fields }
}

# ---------------------------------------------------------------------------------------------------------------
# Operations.
# ---------------------------------------------------------------------------------------------------------------

function Get-Timeouts {
  param($Request)
  $t = Get-Prop $Request 'timeouts'
  $r = @{ stop = 30; start = 30 }
  if (Test-Prop $t 'stopSeconds') { $x = Get-Prop $t 'stopSeconds'; Assert-IntRange $x 'timeouts.stopSeconds' 1 3600; $r.stop = [int]$x }
  if (Test-Prop $t 'startSeconds') { $x = Get-Prop $t 'startSeconds'; Assert-IntRange $x 'timeouts.startSeconds' 1 3600; $r.start = [int]$x }
  $r
}

function New-Result {
  param([string]$Op, [string]$Outcome, $Reason, [string]$Message)
  [ordered]@{ kind = 'result'; op = $Op; outcome = $Outcome; reason = $Reason; message = $Message }
}

# The snapshot of the request's service, announced as the 'snapshot' step.
function Read-Snapshot {
  $snap = Get-ServiceSnapshot $Ctx.Service
  Send-Event 'snapshot' ('state ' + $snap.state) ([ordered]@{ configHash = $snap.configHash; state = $snap.state; pid = $snap.pid; findings = @($snap.findings) })
  $snap
}

function Invoke-SnapshotOp {
  param($Request)
  $snap = Read-Snapshot
  $res = New-Result 'snapshot' 'unchanged' ([ordered]@{ code = 'ok' }) ('snapshot of ' + $snap.config.name)
  $res.snapshot = $snap
  $res
}

# Shared by plan and apply: snapshot, drift guard, target, diff. -> @{ snap; target; password; diff; result }
# where result is set when the call already has its outcome (drifted).
function Get-Plan {
  param($Request, [string]$Op)
  $snap = Read-Snapshot
  $expected = Get-Prop $Request 'expectedHash'
  if ($null -ne $expected) {
    Assert-String $expected 'expectedHash' 128
    if ($expected -cne $snap.configHash) {
      $res = New-Result $Op 'drifted' ([ordered]@{ code = 'drift' }) ('the service changed since it was planned: config hash ' + $snap.configHash + ', expected ' + $expected + '; nothing was changed')
      $res.snapshot = $snap
      return @{ snap = $snap; result = $res }
    }
  }
  $t = New-TargetConfig $snap.config (Get-Prop $Request 'desired')
  $diff = @(Get-Diff $snap.config $t.config ($null -ne $t.password))
  $restartNeeded = (@($diff | Where-Object { $_.restartNeeded }).Count -gt 0)
  Send-Event 'plan' ($diff.Count.ToString() + ' field(s) differ') ([ordered]@{ fields = @($diff | ForEach-Object { $_.field }); restartNeeded = $restartNeeded })
  @{ snap = $snap; target = $t.config; password = $t.password; diff = $diff; restartNeeded = $restartNeeded; result = $null }
}

function Invoke-PlanOp {
  param($Request)
  $p = Get-Plan $Request 'plan'
  if ($p.result) { return $p.result }
  # Ansible check-mode semantics: 'changed' means apply would change something.
  $outcome = 'unchanged'
  if ($p.diff.Count -gt 0) { $outcome = 'changed' }
  $res = New-Result 'plan' $outcome ([ordered]@{ code = 'ok' }) ($p.diff.Count.ToString() + ' field(s) would change')
  $res.snapshot = $p.snap
  $res.diff = @($p.diff)
  $res.restartNeeded = $p.restartNeeded
  $res
}

function Invoke-ApplyOp {
  param($Request)
  $policy = [string](Get-Prop $Request 'restart' 'if-needed')
  Assert-OneOf $policy 'restart' @('never', 'if-needed', 'always')
  $rollbackPolicy = [string](Get-Prop $Request 'rollback' 'auto')
  Assert-OneOf $rollbackPolicy 'rollback' @('auto', 'never')
  $timeouts = Get-Timeouts $Request
  $p = Get-Plan $Request 'apply'
  if ($p.result) { return $p.result }
  $snap = $p.snap
  $wasRunning = ($snap.state -eq 'running' -or $snap.state -eq 'start-pending')
  $spec = Get-VerifySpec $Request $wasRunning
  $doRestart = ($policy -eq 'always') -or ($policy -eq 'if-needed' -and $p.restartNeeded)

  $res = New-Result 'apply' 'unchanged' ([ordered]@{ code = 'ok' }) ''
  $res.snapshot = $snap
  $res.diff = @($p.diff)
  $res.restartNeeded = $p.restartNeeded
  $res.restarted = $false
  if ($p.diff.Count -eq 0 -and $policy -ne 'always') {
    $res.message = 'already as desired; nothing changed'
    return $res
  }

  $res.backupPath = Write-Backup $snap $Ctx.Service ([string]$Request.runId)
  $password = $p.password
  $p.password = $null
  try {
    Set-ServiceConfig $Ctx.Service $snap.config $p.target $password 'apply'
    $password = $null
    $read = Get-ServiceSnapshot $Ctx.Service
    $mismatch = @(Compare-Config $read.config $p.target)
    if ($mismatch.Count -gt 0) {
      $detail = @(foreach ($m in $mismatch) { $m + ' is ' + (ConvertTo-CanonicalJson (Get-FieldValue $read.config $m)) + ', wanted ' + (ConvertTo-CanonicalJson (Get-FieldValue $p.target $m)) })
      Stop-Engine 'readback-mismatch' ('read back differs: ' + ($detail -join '; '))
    }
    Send-Event 'readback' 'every field reads back as written' ([ordered]@{ configHash = $read.configHash })

    $oldPid = $snap.pid
    if ($doRestart -and $wasRunning) {
      Stop-ServiceAndWait $Ctx.Service $timeouts.stop 'stop'
      [void](Start-ServiceAndWait $Ctx.Service $timeouts.start 'start-service')
      $res.restarted = $true
    } elseif (-not $wasRunning -and $spec.running -and $policy -ne 'never') {
      [void](Start-ServiceAndWait $Ctx.Service $timeouts.start 'start-service')
      $res.restarted = $true
    }
    if ($spec.running) {
      [void](Test-ServiceGates $Ctx.Service $spec $oldPid $res.restarted $p.target.dependencies 'verify')
    }
    $res.after = Get-ServiceSnapshot $Ctx.Service
    $res.outcome = 'changed'
    $res.message = 'changed ' + $p.diff.Count + ' field(s)'
    if ($res.restarted) { $res.message += ', restarted' }
    if ($p.restartNeeded -and -not $res.restarted) { $res.message += '; not restarted, so the change takes effect at the next start' }
    return $res
  } catch {
    $password = $null
    $why = Get-Reason $_
    $res.reason = $why.reason
    $res.message = $why.message
    Send-Event 'apply' ('failed: ' + $why.message) ([ordered]@{ reason = $why.reason }) 'error'
  }

  # Nothing to undo when the failure left the config and the process exactly as they were.
  $now = $null
  try { $now = Get-ServiceSnapshot $Ctx.Service } catch { }
  if ($null -ne $now -and $now.configHash -eq $snap.configHash -and $now.state -eq $snap.state -and $now.pid -eq $snap.pid) {
    $res.outcome = 'failed'
    $res.message += '; nothing was changed'
    $res.after = $now
    return $res
  }
  if ($rollbackPolicy -eq 'never') {
    $res.outcome = 'failed'
    $res.message += '; rollback policy is never: left as is'
    if ($null -ne $now) { $res.after = $now }
    return $res
  }
  $saved = @{ config = $snap.config; state = 'stopped'; pid = $snap.pid }
  if ($wasRunning) { $saved.state = 'running' }
  try {
    $r = Restore-Service $Ctx.Service $saved 'rollback' 'rollback-verify' $timeouts ([Math]::Min($spec.settleSeconds, 5))
    $res.outcome = 'rolled-back'
    $res.after = $r.after
    $res.rollback = [ordered]@{ ok = $true; message = 'restored the snapshot and verified it' }
  } catch {
    $rb = Get-Reason $_
    $res.outcome = 'rollback-failed'
    $res.rollback = [ordered]@{ ok = $false; message = $rb.message; reason = $rb.reason }
    Send-Event 'rollback' ('failed: ' + $rb.message) ([ordered]@{ reason = $rb.reason }) 'error'
    try { $res.after = Get-ServiceSnapshot $Ctx.Service } catch { }
  }
  $res
}

function Invoke-RollbackOp {
  param($Request)
  $timeouts = Get-Timeouts $Request
  $restore = Get-Prop $Request 'restore'
  if ($null -eq $restore) { Stop-Engine 'bad-request' 'field restore: rollback needs restore.snapshot or restore.fromRunId' }
  $source = ''
  if (Test-Prop $restore 'snapshot') {
    $saved = ConvertFrom-SnapshotObject (Get-Prop $restore 'snapshot') $Ctx.Service 'restore.snapshot'
    $source = 'the snapshot in the request'
  } else {
    $from = Get-Prop $restore 'fromRunId'
    Assert-RunId $from 'restore.fromRunId'
    $b = Read-Backup $Ctx.Service $from
    $saved = ConvertFrom-SnapshotObject $b.snapshot $Ctx.Service 'backup.snapshot'
    $source = $b.path
  }
  $now = Read-Snapshot
  $fields = @(Compare-Config $now.config $saved.config)
  $wantRunning = ($saved.state -eq 'running' -or $saved.state -eq 'start-pending')
  $isRunning = ($now.state -eq 'running')
  $res = New-Result 'rollback' 'unchanged' ([ordered]@{ code = 'ok' }) ''
  $res.snapshot = [ordered]@{ config = $saved.config; configHash = $saved.configHash; state = $saved.state; pid = $saved.pid; takenAt = (Get-UtcStamp); findings = @() }
  $res.diff = @(Get-Diff $now.config $saved.config $false)
  Send-Event 'plan' ($fields.Count.ToString() + ' field(s) differ from ' + $source) ([ordered]@{ fields = $fields })
  if ($fields.Count -eq 0 -and $wantRunning -eq $isRunning) {
    $res.message = 'already matches ' + $source
    $res.after = $now
    return $res
  }
  $res.backupPath = Write-Backup $now $Ctx.Service ([string]$Request.runId)
  $target = @{ config = $saved.config; state = 'stopped'; pid = $null }
  if ($wantRunning) { $target.state = 'running' }
  # A running process is replaced when restored fields only take effect at the next start.
  if ($isRunning -and @($res.diff | Where-Object { $_.restartNeeded }).Count -eq 0) { $target.pid = $now.pid }
  try {
    $r = Restore-Service $Ctx.Service $target 'rollback' 'rollback-verify' $timeouts 0
    $res.outcome = 'changed'
    $res.after = $r.after
    $res.restarted = $r.restarted
    $res.message = 'restored ' + $fields.Count + ' field(s) from ' + $source
  } catch {
    $rb = Get-Reason $_
    $res.outcome = 'rollback-failed'
    $res.reason = $rb.reason
    $res.message = $rb.message
    try { $res.after = Get-ServiceSnapshot $Ctx.Service } catch { }
  }
  $res
}

function Assert-RunId {
  param($Value, [string]$Field)
  if (-not ($Value -is [string]) -or $Value -notmatch '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$') {
    Stop-Engine 'bad-request' ('field ' + $Field + ': must be 1-128 characters of A-Z a-z 0-9 . _ - starting with a letter or digit')
  }
}

function Get-ExitCode {
  param($Result)
  $code = [string]$Result.reason.code
  if ($code -eq 'bad-request' -or $code -eq 'unsupported-protocol') { return $ExitCodes.badRequest }
  if ($code -eq 'internal') { return $ExitCodes.internal }
  switch ([string]$Result.outcome) {
    'unchanged' { return $ExitCodes.ok }
    'changed' { return $ExitCodes.ok }
    'drifted' { return $ExitCodes.drifted }
    'rolled-back' { return $ExitCodes['rolled-back'] }
    'rollback-failed' { return $ExitCodes['rollback-failed'] }
  }
  $ExitCodes.failed
}

function Invoke-Request {
  param($Request)
  $nonce = Get-Prop $Request 'nonce'
  if (-not ($nonce -is [string]) -or $nonce -notmatch '^[A-Za-z0-9_-]{16,128}$') {
    # Without a valid nonce no frame can be trusted by the controller; say so on stderr only.
    [Console]::Error.WriteLine('svcfleet engine: request.nonce must be 16-128 characters of A-Z a-z 0-9 _ -')
    return $ExitCodes.badRequest
  }
  $Ctx.Nonce = $nonce
  $op = [string](Get-Prop $Request 'op')
  $res = $null
  try {
    Send-Event 'start' ('svcfleet engine: ' + $op) ([ordered]@{
      op = $op; service = [string](Get-Prop $Request 'service'); runId = [string](Get-Prop $Request 'runId')
      psVersion = $PSVersionTable.PSVersion.ToString(); psEdition = [string]$PSVersionTable.PSEdition
      nativeArguments = (Get-NativeArgumentMode)
    })
    if ((Get-Prop $Request 'v') -ne 1) { Stop-Engine 'unsupported-protocol' ('protocol version ' + (Get-Prop $Request 'v') + ' is not supported; this engine speaks version 1') }
    Assert-OneOf $op 'op' @('snapshot', 'plan', 'apply', 'rollback')
    Assert-RunId (Get-Prop $Request 'runId') 'runId'
    $svc = Get-Prop $Request 'service'
    Assert-String $svc 'service' 256
    if ($svc -match '[\\/]') { Stop-Engine 'bad-request' 'field service: a service name cannot contain "/" or "\"' }
    Assert-NoDates $Request 'request'
    $Ctx.Service = $svc
    switch ($op) {
      'snapshot' { $res = Invoke-SnapshotOp $Request }
      'plan' { $res = Invoke-PlanOp $Request }
      'apply' { $res = Invoke-ApplyOp $Request }
      'rollback' { $res = Invoke-RollbackOp $Request }
    }
  } catch {
    $why = Get-Reason $_
    $res = New-Result $op 'failed' $why.reason $why.message
    if ($null -eq $res.op -or -not (@('snapshot', 'plan', 'apply', 'rollback') -contains $res.op)) { $res.op = 'snapshot' }
  } finally {
    # The password is not needed past apply; do not keep it around.
    $acct = Get-Prop (Get-Prop $Request 'desired') 'account'
    if (Test-Prop $acct 'password') { $acct.password = $null }
  }
  Send-Event 'done' ($res.outcome + ': ' + $res.message) ([ordered]@{ outcome = $res.outcome; reason = $res.reason })
  Write-Frame $res
  Get-ExitCode $res
}

if ($null -eq $Request) { return }
Invoke-Request $Request
