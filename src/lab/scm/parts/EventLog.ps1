# The Windows event log as far as the engine reads it (Get-WinEvent -FilterHashtable; docs/reference/
# windows-services.md "Start-failure evidence"): the Service Control Manager's events about a service that failed
# to start or stopped unexpectedly (System log), and a service's own entries (Application log, source = service
# name). The SCM events are the ones this emulator records when a service process dies or overruns its start
# timeout (Add-LabScmEvent); a service's Application entries are its program's output since its last start (the lab
# service program writes stdout/stderr where a Windows service would write events). Nothing else is emulated.

$script:LabScmEventsKept = 20

# Records one SCM event about $Svc: 7034 (terminated unexpectedly), 7031 (the same, with a recovery action to
# follow), 7009 (start timeout), 7000 (failed to start). $Params: the message's insertion strings, %1 first.
function Add-LabScmEvent {
    param($Svc, [int]$Id, [string]$Message, [string[]]$Params)
    Set-LabDirty
    $entry = @{ id = $Id; at = Get-LabNowMs; message = $Message; params = @($Params) }
    $kept = @(@($Svc.events | Where-Object { $null -ne $_ }) + @($entry))
    if ($kept.Count -gt $script:LabScmEventsKept) { $kept = $kept[($kept.Count - $script:LabScmEventsKept)..($kept.Count - 1)] }
    $Svc.events = $kept
}

# How the SCM names a service in its messages: the display name (the key name when it has none, or an indirect one).
function Get-LabScmName {
    param($Svc)
    $dn = [string]$Svc.displayName
    if ([string]::IsNullOrEmpty($dn) -or $dn.StartsWith('@')) { return [string]$Svc.name }
    $dn
}

function Add-LabDeathEvent {
    param($Svc)
    $name = Get-LabScmName $Svc
    $count = 1
    if ($Svc.recovery) { $count = [long]$Svc.recovery.count + 1 }
    $actions = @($Svc.failure.actions | Where-Object { $null -ne $_ -and [string]$_.type -ne 'none' })
    if ($actions.Count -gt 0) {
        Add-LabScmEvent -Svc $Svc -Id 7031 -Message "The $name service terminated unexpectedly. It has done this $count time(s). The following corrective action will be taken in $([long]$actions[0].delayMs) milliseconds: $([string]$actions[0].type)." -Params @($name, "$count")
    } else {
        Add-LabScmEvent -Svc $Svc -Id 7034 -Message "The $name service terminated unexpectedly. It has done this $count time(s)." -Params @($name, "$count")
    }
}

function Add-LabStartTimeoutEvents {
    param($State, $Svc)
    $name = Get-LabScmName $Svc
    $ms = [long]$State.startTimeoutMs
    Add-LabScmEvent -Svc $Svc -Id 7009 -Message "A timeout was reached ($ms milliseconds) while waiting for the $name service to connect." -Params @("$ms", $name)
    Add-LabScmEvent -Svc $Svc -Id 7000 -Message "The $name service failed to start due to the following error: The service did not respond to the start or control request in a timely fashion." -Params @($name, '%%1053')
}

function New-LabEventRecord {
    param([long]$Id, [string]$Provider, [string]$Log, [DateTime]$TimeUtc, [string]$Message, [string[]]$Params)
    # Like System.Diagnostics.Eventing.Reader.EventRecord: ToXml() gives the event's XML, whose EventData holds
    # one <Data> element per insertion string (learn.microsoft.com: EventRecord.ToXml; docs/reference/windows-services.md
    # "Start-failure evidence").
    $n = 0
    $data = (@(foreach ($p in @($Params)) { $n++; "<Data Name='param$n'>" + [Security.SecurityElement]::Escape([string]$p) + '</Data>' }) -join '')
    $xml = "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='" +
        [Security.SecurityElement]::Escape($Provider) + "'/><EventID>$Id</EventID></System><EventData>$data</EventData></Event>"
    $record = [pscustomobject]@{
        Id = $Id; ProviderName = $Provider; LogName = $Log; TimeCreated = $TimeUtc.ToLocalTime(); Message = $Message
    }
    $record | Add-Member -MemberType ScriptMethod -Name ToXml -Value ([scriptblock]::Create("'" + $xml.Replace("'", "''") + "'"))
    $record
}

# A service's Application entries: its program's output lines since its last start, each stamped with the time the
# line carries (svcprogram writes ISO-8601 first), else with the log file's last write.
function Get-LabServiceOutputEvents {
    param($Svc)
    $path = [IO.Path]::Combine((Get-LabStateDir), 'logs', "$(ConvertTo-LabFileName $Svc.name).log")
    if (-not [IO.File]::Exists($path)) { return @() }
    $bytes = [IO.File]::ReadAllBytes($path)
    $offset = 0
    if ($Svc.status -and $null -ne $Svc.status.logOffset) { $offset = [Math]::Min([long]$Svc.status.logOffset, $bytes.Length) }
    $text = [Text.Encoding]::UTF8.GetString($bytes, [int]$offset, $bytes.Length - [int]$offset)
    $written = [IO.File]::GetLastWriteTimeUtc($path)
    foreach ($line in ($text -split "`r?`n")) {
        if ($line.Trim().Length -eq 0) { continue }
        $at = $written
        $parsed = [DateTime]::MinValue
        $stamp = ($line -split ' ', 2)[0]
        if ([DateTime]::TryParse($stamp, [Globalization.CultureInfo]::InvariantCulture, [Globalization.DateTimeStyles]::AdjustToUniversal -bor [Globalization.DateTimeStyles]::AssumeUniversal, [ref]$parsed)) { $at = $parsed }
        New-LabEventRecord -Id 0 -Provider ([string]$Svc.name) -Log 'Application' -TimeUtc $at -Message $line -Params @($line)
    }
}

# Get-WinEvent -FilterHashtable @{ LogName; ProviderName; Id; StartTime } [-MaxEvents N]: newest first, as the real
# cmdlet returns them; nothing found is the cmdlet's NoMatchingEventsFound error.
function Get-LabWinEvent {
    param($Cmdlet, [hashtable]$FilterHashtable, [long]$MaxEvents = 0)
    $log = [string]$FilterHashtable['LogName']
    $providers = @($FilterHashtable['ProviderName'] | Where-Object { $_ } | ForEach-Object { [string]$_ })
    $ids = @($FilterHashtable['Id'] | Where-Object { $null -ne $_ } | ForEach-Object { [long]$_ })
    $since = $null
    if ($null -ne $FilterHashtable['StartTime']) { $since = ([DateTime]$FilterHashtable['StartTime']).ToUniversalTime() }
    $found = Use-LabHost {
        param($h)
        $out = @()
        foreach ($svc in @($h.services.Values)) {
            Update-LabStatus -State $h -Svc $svc
            if ($log -eq 'System') {
                foreach ($e in @($svc.events | Where-Object { $null -ne $_ })) {
                    $at = [DateTimeOffset]::FromUnixTimeMilliseconds([long]$e.at).UtcDateTime
                    $out += New-LabEventRecord -Id ([long]$e.id) -Provider 'Service Control Manager' -Log 'System' -TimeUtc $at -Message ([string]$e.message) -Params @($e.params)
                }
            } elseif ($log -eq 'Application') {
                if ($providers | Where-Object { [string]::Equals($_, [string]$svc.name, [StringComparison]::OrdinalIgnoreCase) }) { $out += @(Get-LabServiceOutputEvents $svc) }
            }
        }
        , $out
    }
    $match = @($found | Where-Object {
            ($providers.Count -eq 0 -or $providers -contains $_.ProviderName) -and
            ($ids.Count -eq 0 -or $ids -contains $_.Id) -and
            ($null -eq $since -or $_.TimeCreated.ToUniversalTime() -ge $since)
        } | Sort-Object { $_.TimeCreated } -Descending)
    if ($MaxEvents -gt 0 -and $match.Count -gt $MaxEvents) { $match = $match[0..($MaxEvents - 1)] }
    if ($match.Count -eq 0) {
        $record = [Management.Automation.ErrorRecord]::new([Exception]::new('No events were found that match the specified selection criteria.'), 'NoMatchingEventsFound,Microsoft.PowerShell.Commands.GetWinEventCommand', [Management.Automation.ErrorCategory]::ObjectNotFound, $null)
        Write-LabCmdletError -Cmdlet $Cmdlet -Record $record
        return
    }
    $match
}
