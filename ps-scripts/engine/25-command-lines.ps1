# ---------------------------------------------------------------------------------------------------------------
# Windows command lines (docs/reference/windows-cmdline.md#unquoted-service-paths-cwe-428: split the exe from its arguments with the CommandLineToArgvW rules).
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

# CWE-428 (docs/reference/windows-cmdline.md#unquoted-service-paths-cwe-428): the executable part is unquoted and contains whitespace.
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

# How this PowerShell passes arguments to native programs (docs/reference/powershell.md#native-argument-passing, docs/reference/sc-exe.md#the-binpath-value). 'Legacy' (5.1, 7.0-7.2, or 7.3+ with
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
