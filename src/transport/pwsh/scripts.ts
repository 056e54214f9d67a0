/**
 * The two static PowerShell scripts of the `pwsh` transport. Nothing in them is generated from data: every value
 * (host, user, paths, the bootstrap, the payload) reaches them as a base64 argument that is decoded inside
 * PowerShell, so no value is ever parsed as code.
 *
 * CONTROLLER_SCRIPT runs in the controller's own PowerShell (driven through node-powershell). It opens one
 * PSSession — `-HostName` (PowerShell remoting over SSH, any pwsh 7) or `-ComputerName` (WinRM, from a Windows
 * controller, with Negotiate/Kerberos) — and runs REMOTE_SCRIPT in it per request. Each reply is one line,
 * `SVCFLEET-REPLY <base64 JSON>`, so node-powershell's delimiters, trimming and stderr handling cannot touch it.
 *
 * REMOTE_SCRIPT runs on the target (Windows PowerShell 5.1 or PowerShell 7: no PS7-only syntax). It starts the
 * very same `powershell.exe -NoLogo -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand
 * <bootstrap>` as the ssh and winrm transports, as a child process whose stdin gets the payload bytes. A child
 * process rather than running the bootstrap in the remoting runspace: the bootstrap writes frames with
 * [Console]::Out and ends with `exit`, and in a `pwsh -sshs` server process stdout IS the remoting channel.
 *
 * The stdin bytes (which hold the password line when a request sets an account password) travel inside a hashtable
 * `@{ stdin = <base64> }`, on both sides: module logging records each parameter's value as text, and a hashtable's
 * text is only its type name (docs/reference/powershell.md "What Windows logs about an svcfleet run").
 */

export const REPLY_MARKER = 'SVCFLEET-REPLY ';

export const REMOTE_SCRIPT = String.raw`
param([string]$Enc, $In, [string]$Shell)
$ErrorActionPreference = 'Stop'
if ($Enc -notmatch '^[A-Za-z0-9+/]+={0,2}$' -or -not ($In -is [System.Collections.IDictionary]) -or [string]$In['stdin'] -notmatch '^[A-Za-z0-9+/]*={0,2}$') {
  throw 'svcfleet: refusing a request that is not base64'
}
if ($Shell -ne 'powershell.exe' -and $Shell -ne 'pwsh') { throw 'svcfleet: unsupported shell' }
$psi = New-Object System.Diagnostics.ProcessStartInfo
$psi.FileName = $Shell
$psi.Arguments = '-NoLogo -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand ' + $Enc
$psi.UseShellExecute = $false
$psi.RedirectStandardInput = $true
$psi.RedirectStandardOutput = $true
$psi.RedirectStandardError = $true
$utf8 = New-Object System.Text.UTF8Encoding $false
$psi.StandardOutputEncoding = $utf8
$psi.StandardErrorEncoding = $utf8
$p = [System.Diagnostics.Process]::Start($psi)
try {
  $out = $p.StandardOutput.ReadToEndAsync()
  $err = $p.StandardError.ReadToEndAsync()
  $bytes = [Convert]::FromBase64String([string]$In['stdin'])
  try {
    $p.StandardInput.BaseStream.Write($bytes, 0, $bytes.Length)
    $p.StandardInput.Close()
  } catch { }
  $p.WaitForExit()
  New-Object PSObject -Property @{ ExitCode = $p.ExitCode; Stdout = $out.Result; Stderr = $err.Result }
} finally {
  if (-not $p.HasExited) { try { $p.Kill() } catch { } }
}
`;

export const CONTROLLER_SCRIPT = String.raw`
$script:SvcfleetRemote = [ScriptBlock]::Create([Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($SvcfleetRemoteB64)))
$script:SvcfleetSession = $null

function Write-SvcfleetReply {
  param($Reply)
  $json = ConvertTo-Json -Compress -Depth 4 -InputObject $Reply
  [Console]::Out.WriteLine('SVCFLEET-REPLY ' + [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes($json)))
}

function Get-SvcfleetFailure {
  param($ErrorRecord)
  $e = $ErrorRecord.Exception
  @{ ok = $false; message = $e.Message; type = $e.GetType().FullName; id = [string]$ErrorRecord.FullyQualifiedErrorId }
}

function Open-SvcfleetSession {
  param([string]$ArgsB64)
  try {
    $a = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($ArgsB64)) | ConvertFrom-Json
    $p = @{ ErrorAction = 'Stop' }
    if ($a.mode -eq 'hostname') {
      $p.HostName = [string]$a.address
      if ($a.port) { $p.Port = [int]$a.port }
      if ($a.user) { $p.UserName = [string]$a.user }
      if ($a.keyFile) { $p.KeyFilePath = [string]$a.keyFile }
      $p.ConnectingTimeout = [int]$a.connectMs
      # BatchMode: never prompt (a prompt would hang the run); host keys per the configured policy.
      $o = @{ BatchMode = 'yes'; StrictHostKeyChecking = [string]$a.strict; ServerAliveInterval = '15' }
      if ($a.knownHosts) { $o.UserKnownHostsFile = [string]$a.knownHosts }
      $p.Options = $o
    } else {
      $p.ComputerName = [string]$a.address
      if ($a.port) { $p.Port = [int]$a.port }
      if ($a.useSsl) { $p.UseSSL = $true }
      if ($a.user -and $a.password) {
        $sec = ConvertTo-SecureString -String ([string]$a.password) -AsPlainText -Force
        $p.Credential = New-Object System.Management.Automation.PSCredential ([string]$a.user, $sec)
      }
      $p.Authentication = 'Negotiate'
      $p.SessionOption = New-PSSessionOption -OpenTimeout ([int]$a.connectMs) -OperationTimeout ([int]$a.commandMs)
    }
    $a = $null
    $script:SvcfleetSession = New-PSSession @p
    Write-SvcfleetReply @{ ok = $true }
  } catch {
    Write-SvcfleetReply (Get-SvcfleetFailure $_)
  }
}

function Invoke-SvcfleetRemote {
  param([string]$Enc, $In, [string]$Shell)
  try {
    $r = Invoke-Command -Session $script:SvcfleetSession -ScriptBlock $script:SvcfleetRemote -ArgumentList $Enc, $In, $Shell -ErrorAction Stop
    Write-SvcfleetReply @{ ok = $true; exitCode = $r.ExitCode; stdout = [string]$r.Stdout; stderr = [string]$r.Stderr }
  } catch {
    $f = Get-SvcfleetFailure $_
    if ($script:SvcfleetSession) { $f.state = $script:SvcfleetSession.State.ToString() }
    Write-SvcfleetReply $f
  }
}

function Close-SvcfleetSession {
  if ($script:SvcfleetSession) { try { Remove-PSSession -Session $script:SvcfleetSession } catch { } }
  $script:SvcfleetSession = $null
  Write-SvcfleetReply @{ ok = $true }
}
`;
