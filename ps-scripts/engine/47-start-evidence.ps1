# ---------------------------------------------------------------------------------------------------------------
# Start-failure evidence: when a service fails to start or dies during verify, what the service itself said - its
# exit codes (SERVICE_STATUS dwWin32ExitCode / dwServiceSpecificExitCode, served by Win32_Service as ExitCode /
# ServiceSpecificExitCode) and the last lines logged about it: the Service Control Manager's failure events in the
# System log and the Application log entries whose source is the service
# (docs/reference/windows-services.md "Start-failure evidence"). Bounded and best effort: evidence never turns a
# failure into another failure.
# ---------------------------------------------------------------------------------------------------------------

$EvidenceMaxLines = 20
$EvidenceMaxBytes = 4096
$EvidenceMaxLineChars = 512
# Service Control Manager events about one service failing to start or stopping unexpectedly: 7000 failed to start,
# 7009 start timeout, 7023 terminated with an error, 7024 terminated with a service-specific error, 7031 terminated
# unexpectedly (a recovery action follows), 7034 terminated unexpectedly.
$ScmFailureEventIds = @(7000, 7009, 7023, 7024, 7031, 7034)

# The event-log seam. Get-WinEvent is Windows' own reader; the lab's emulated SCM answers it from its own record
# (src/lab/scm/parts/EventLog.ps1: SCM events it recorded, and the service program's output as the service's
# Application entries). This code has never run against a real Windows event log (docs/windows-proof.md).
# -> @{ at; source; id; text } oldest first, or an empty list when there is nothing (or no access).
function Read-ServiceEventLog {
  param([string]$Name, [string]$DisplayName, [DateTime]$SinceUtc)
  $since = $SinceUtc.ToLocalTime()
  $lines = @()
  # SCM messages name a service by its display name (%1); match the key name too, for services without one.
  $names = @($Name, $DisplayName | Where-Object { $_ })
  try {
    $events = @(Get-WinEvent -FilterHashtable @{ LogName = 'System'; ProviderName = 'Service Control Manager'; Id = $ScmFailureEventIds; StartTime = $since } -MaxEvents 200 -ErrorAction Stop)
    foreach ($e in $events) {
      # The insertion strings, from the record's XML (EventRecord.ToXml: <EventData><Data>...): the record's own list
      # of them is reached through a member whose name is on PowerShell's suspicious-word list (engine-footprint test).
      # PowerShell's XML adapter gives a <Data> without attributes as its text, one with a Name attribute as the element.
      $values = @(foreach ($d in @(([xml]$e.ToXml()).Event.EventData.Data)) { if ($d -is [string]) { $d } elseif ($null -ne $d) { [string]$d.InnerText } })
      if (@($values | Where-Object { $names -contains $_ }).Count -eq 0) { continue }
      $lines += ConvertTo-EvidenceLine $e 'System'
    }
  } catch { }   # NoMatchingEventsFound is an error of Get-WinEvent; so is a log the account may not read
  try {
    $events = @(Get-WinEvent -FilterHashtable @{ LogName = 'Application'; ProviderName = $Name; StartTime = $since } -MaxEvents $EvidenceMaxLines -ErrorAction Stop)
    foreach ($e in $events) { $lines += ConvertTo-EvidenceLine $e 'Application' }
  } catch { }   # a service that never registered an event source has no Application entries
  @($lines | Sort-Object { $_.at })
}

function ConvertTo-EvidenceLine {
  param($Entry, [string]$Log)
  $text = ([string]$Entry.Message -replace '\s+', ' ').Trim()
  if ($text.Length -eq 0) { $text = '(event ' + $Entry.Id + ' has no message text)' }
  if ($text.Length -gt $EvidenceMaxLineChars) { $text = $text.Substring(0, $EvidenceMaxLineChars - 1) + [char]0x2026 }
  [ordered]@{
    at = ([DateTime]$Entry.TimeCreated).ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ss.fffZ', [Globalization.CultureInfo]::InvariantCulture)
    source = $Log + '/' + [string]$Entry.ProviderName
    id = [long]$Entry.Id
    text = $text
  }
}

# The last lines that fit both bounds (lines and UTF-8 bytes of text), newest kept.
function Limit-EvidenceLines {
  param($Lines)
  $all = @($Lines)
  $kept = New-Object System.Collections.ArrayList
  $bytes = 0
  for ($i = $all.Count - 1; $i -ge 0 -and $kept.Count -lt $EvidenceMaxLines; $i--) {
    $n = [Text.Encoding]::UTF8.GetByteCount([string]$all[$i].text)
    if ($bytes + $n -gt $EvidenceMaxBytes) { break }
    $bytes += $n
    [void]$kept.Insert(0, $all[$i])
  }
  @{ lines = @($kept); truncated = ($kept.Count -lt $all.Count) }
}

# Records the evidence of the first start failure of this call ($Ctx.Evidence; the result carries it). Never throws.
function Save-StartEvidence {
  param([string]$Name, $SinceUtc)
  if ($null -ne $Ctx.Evidence) { return }
  try {
    $ev = [ordered]@{ service = $Name; win32ExitCode = $null; serviceExitCode = $null; lines = @(); truncated = $false }
    $displayName = ''
    $svc = $null
    try { $svc = Get-Win32Service $Name } catch { }
    if ($null -ne $svc) {
      if ($null -ne $svc.ExitCode) { $ev.win32ExitCode = [long]$svc.ExitCode }
      if ($null -ne $svc.ServiceSpecificExitCode) { $ev.serviceExitCode = [long]$svc.ServiceSpecificExitCode }
      $displayName = [string]$svc.DisplayName
    }
    if ($null -eq $SinceUtc) { $SinceUtc = [DateTime]::UtcNow.AddMinutes(-10) }
    # A little slack: the host's clock ticks between the start request and the first line.
    $limited = Limit-EvidenceLines @(Read-ServiceEventLog $Name $displayName ([DateTime]$SinceUtc).AddSeconds(-2))
    $ev.lines = @($limited.lines)
    $ev.truncated = $limited.truncated
    $Ctx.Evidence = $ev
  } catch { }
}
