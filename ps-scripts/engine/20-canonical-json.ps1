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
  Get-Sha256Hex $bytes
}
