# ---------------------------------------------------------------------------------------------------------------
# Framing and events (docs/reference/powershell.md#console-encoding-and-structured-output: base64 of UTF-8 JSON between markers carrying the per-call nonce, written with
# [Console]::Out so that banners, Write-Host, CLIXML and stray pipeline output can never be mistaken for a frame).
# ---------------------------------------------------------------------------------------------------------------

function Get-UtcStamp {
  # Formatted by hand: 5.1's ConvertTo-Json turns DateTime into "\/Date(ms)\/" (docs/reference/powershell.md#console-encoding-and-structured-output).
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
