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

# Windows PowerShell 5.1 runs on .NET Framework as an old-target application: unless the host is configured, it
# offers only SSL 3 / TLS 1.0 and cannot reach a TLS-1.2-only endpoint (docs/reference/powershell.md "TLS defaults in
# Windows PowerShell"). So on 5.1 TLS 1.2 (and 1.3 where the enum has it) is added to what is on. SystemDefault (0:
# the OS chooses) is left alone, and so is PowerShell 7, whose .NET leaves the choice to the OS: adding a flag there
# would narrow it. -> the protocol value to use.
function Get-ModernTlsProtocol {
  param($Current, [string]$Edition)
  $value = [Net.SecurityProtocolType]$Current
  if ($Edition -ne 'Desktop' -or [int]$value -eq 0) { return $value }
  foreach ($name in @('Tls12', 'Tls13')) {
    if ([Enum]::GetNames([Net.SecurityProtocolType]) -contains $name) { $value = $value -bor [Net.SecurityProtocolType]$name }
  }
  $value
}

function Enable-ModernTls {
  $want = Get-ModernTlsProtocol ([Net.ServicePointManager]::SecurityProtocol) ([string]$PSVersionTable.PSEdition)
  if ($want -ne [Net.ServicePointManager]::SecurityProtocol) { [Net.ServicePointManager]::SecurityProtocol = $want }
}

function Get-HttpStatus {
  param([string]$Url, [int]$TimeoutMs = 3000)
  if ($Url -match '^(?i)https:') { Enable-ModernTls }
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
      Save-StartEvidence $Name $Ctx.LastStartAt
      Stop-Engine 'verify-running' ('the service is ' + $st.state + ', not RUNNING' + (Format-ServiceExitCode $Ctx.Evidence)) $null
    }
    Start-Sleep -Milliseconds 200
  }
  Send-Event $Phase 'running' ([ordered]@{ gate = 'running'; pid = $st.pid })
  $verifiedPid = $st.pid
  if ($Restarted -and $null -ne $OldPid -and $verifiedPid -eq $OldPid) {
    # The restart itself saw STOPPED, then RUNNING (Stop-/Start-ServiceAndWait): true for every service. A new PID
    # is only a further signal for a process of its own; a shared process keeps its PID (docs/reference/
    # windows-services.md "Shared-process services"), so there the gate is skipped, with the reason on record.
    $why = @(Get-ProcessSharing $Name $verifiedPid)
    if ($why.Count -eq 0) {
      Stop-Engine 'verify-pid' ('the service still runs as PID ' + $OldPid + ' after a restart')
    }
    Send-Event $Phase ('PID gate skipped: ' + ($why -join '; ') + '; the restart was seen as STOPPED, then RUNNING') ([ordered]@{ gate = 'pid'; skipped = $true; pid = $verifiedPid; reason = ($why -join '; ') })
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
        Save-StartEvidence $Name $Ctx.LastStartAt
        Stop-Engine 'verify-settle' ('the service did not stay up for ' + $Spec.settleSeconds + ' s: now ' + $st.state + ' (' + $nowPid + '; PID ' + $verifiedPid + ' when it was verified)')
      }
    }
    Send-Event $Phase ('stayed up ' + $Spec.settleSeconds + ' s') ([ordered]@{ gate = 'settle'; pid = $verifiedPid })
  }
  $verifiedPid
}
