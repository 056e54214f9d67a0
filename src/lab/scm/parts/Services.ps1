# Get-/Set-/Start-/Stop-/Restart-Service as Windows PowerShell 5.1 has them (docs/reference/powershell.md#service-cmdlets-in-51-and-7): ServiceController
# objects (no BinaryPathName, UserName, Description, delayed-start flag - those are PS 6+ additions), Set-Service
# -StartupType of type ServiceStartMode (AutomaticDelayedStart does not bind), ChangeServiceConfig without touching
# the delayed flag (only PS 7 always rewrites it, docs/reference/windows-services.md#delayed-auto-start-flag), and the 5.1 messages and error ids. Messages are from
# Windows PowerShell 5.1's resources as the lab remembers them.

$script:LabStatusEnum = @{ 'running' = 'Running'; 'stopped' = 'Stopped'; 'start-pending' = 'StartPending'; 'stop-pending' = 'StopPending' }
$script:LabStartModeEnum = @{ boot = 'Boot'; system = 'System'; auto = 'Automatic'; demand = 'Manual'; disabled = 'Disabled' }

function Get-LabServiceTypeEnum {
    param([int]$Type)
    [System.ServiceProcess.ServiceType]$Type
}

function ConvertTo-LabServiceController {
    param($State, $Svc, [switch]$Shallow)
    $status = [System.ServiceProcess.ServiceControllerStatus]$script:LabStatusEnum[[string]$Svc.status.state]
    $running = $Svc.status.state -eq 'running'
    $stoppable = -not $Svc.virtual -or [bool]$Svc.stoppable
    $o = [ordered]@{
        Name                = [string]$Svc.name
        ServiceName         = [string]$Svc.name
        DisplayName         = Resolve-LabIndirectString $State ([string]$Svc.displayName)
        Status              = $status
        StartType           = [System.ServiceProcess.ServiceStartMode]$script:LabStartModeEnum[[string]$Svc.startType]
        ServiceType         = Get-LabServiceTypeEnum ([int]$Svc.serviceType)
        CanStop             = $running -and $stoppable
        CanShutdown         = $running -and $stoppable
        CanPauseAndContinue = $false
        MachineName         = '.'
        Site                = $null
        Container           = $null
    }
    if (-not $Shallow) {
        $o.DependentServices = [object[]]@(Get-LabDependents -State $State -Svc $Svc | ForEach-Object { Update-LabStatus -State $State -Svc $_; ConvertTo-LabServiceController -State $State -Svc $_ -Shallow })
        $o.ServicesDependedOn = [object[]]@($Svc.dependencies | Where-Object { $_ -and -not $_.StartsWith('+') } | ForEach-Object {
                $d = Find-LabService -State $State -Name $_
                if ($d) { Update-LabStatus -State $State -Svc $d; ConvertTo-LabServiceController -State $State -Svc $d -Shallow }
            })
    } else { $o.DependentServices = [object[]]@(); $o.ServicesDependedOn = [object[]]@() }
    $obj = [pscustomobject]$o
    # Before the type name: once PowerShell's own type data for ServiceController (a ToString script method) is
    # loaded in the runspace, -Force cannot add an instance ToString to an object that already carries the name.
    $obj | Add-Member -MemberType ScriptMethod -Name ToString -Value { 'System.ServiceProcess.ServiceController' } -Force
    $obj.PSObject.TypeNames.Insert(0, 'System.ServiceProcess.ServiceController')
    $obj.PSObject.TypeNames.Insert(1, 'System.ComponentModel.Component')
    $obj | Add-Member -MemberType ScriptMethod -Name Refresh -Value {
        $st = Get-LabServiceStatusName -Name $this.ServiceName
        if ($st) { $this.Status = [System.ServiceProcess.ServiceControllerStatus]$st }
    }
    $obj | Add-Member -MemberType ScriptMethod -Name WaitForStatus -Value {
        param($desired, $timeout)
        $want = [System.ServiceProcess.ServiceControllerStatus]$desired
        $until = if ($null -ne $timeout) { [DateTime]::UtcNow + [TimeSpan]$timeout } else { [DateTime]::MaxValue }
        while ($true) {
            $this.Refresh()
            if ($this.Status -eq $want) { return }
            if ([DateTime]::UtcNow -gt $until) { throw [System.ServiceProcess.TimeoutException]::new('Time out has expired and the operation has not been completed.') }
            Start-Sleep -Milliseconds 50
        }
    }
    $obj | Add-Member -MemberType ScriptMethod -Name Start -Value {
        $rc = (Invoke-LabControl -Name $this.ServiceName -Verb start).code
        if ($rc) { throw [InvalidOperationException]::new("Cannot start service $($this.ServiceName) on computer '.'.", [ComponentModel.Win32Exception]::new([int]$rc)) }
    }
    $obj | Add-Member -MemberType ScriptMethod -Name Stop -Value {
        $rc = (Invoke-LabControl -Name $this.ServiceName -Verb stop).code
        if ($rc) { throw [InvalidOperationException]::new("Cannot stop $($this.ServiceName) service on computer '.'.", [ComponentModel.Win32Exception]::new([int]$rc)) }
    }
    $obj
}

function Get-LabServiceStatusName {
    param([string]$Name)
    Use-LabHost -Body { param($h)
        $s = Find-LabService -State $h -Name $Name
        if (-not $s) { return $null }
        Update-LabStatus -State $h -Svc $s
        $script:LabStatusEnum[[string]$s.status.state]
    }
}

# StartService / ControlService(STOP) for every surface. Returns @{ code (Win32; 0 = accepted, pending); api (the
# failing API, for sc.exe's message); block (sc.exe's status block after the call) }.
function Invoke-LabControl {
    param([string]$Name, [ValidateSet('start', 'stop')][string]$Verb)
    $r = Use-LabHost -Body { param($h)
        $o = Open-LabService -State $h -Name $Name -Op $Verb -Subject $Name
        if ($o.code) { return @{ code = $o.code; api = 'OpenService' } }
        $rc = if ($Verb -eq 'start') { Start-LabServiceCore -State $h -Svc $o.svc } else { Stop-LabServiceCore -State $h -Svc $o.svc }
        if ($rc) { return @{ code = $rc; api = $(if ($Verb -eq 'start') { 'StartService' } else { 'ControlService' }) } }
        @{ code = 0; hang = ($Verb -eq 'start' -and $o.svc.status.hang); name = $o.svc.name; block = @(Format-LabStatusBlock $o.svc -Ex:($Verb -eq 'start')) }
    }
    if ($r.hang) {
        # A process that never reports RUNNING: StartService gives up after the start timeout with 1053
        # (docs/reference/sc-exe.md#exit-codes: "A plain exe that is not a service does this").
        [void](Wait-LabServiceState -Name $r.name -Until 'stopped', 'running' -TimeoutMs 3600000)
        return @{ code = 1053; api = 'StartService' }
    }
    $r
}

# Names -> service records, writing the 5.1 "not found" errors (wildcards that match nothing are silent).
function Resolve-LabServiceTargets {
    param($Cmdlet, [string]$Command, [string[]]$Name, [string[]]$DisplayName, $InputObject, [string[]]$Include, [string[]]$Exclude)
    $views = Use-LabHost -Body { param($h)
        $acc = @()
        foreach ($s in $h.services.Values) {
            if (Test-LabFault -State $h -Service $s.name -Op 'query' -Kinds 'no-such-service' -Subject $s.name) { continue }
            $acc += , @{ name = $s.name; displayName = (Resolve-LabIndirectString $h ([string]$s.displayName)) }
        }
        , $acc
    }
    $picked = [Collections.Generic.List[string]]::new()
    $add = { param($n) if (-not $picked.Contains($n)) { $picked.Add($n) } }
    if ($InputObject) {
        foreach ($io in @($InputObject)) {
            $n = [string]$io.ServiceName
            if ($views | Where-Object { $_.name -ieq $n }) { & $add ($views | Where-Object { $_.name -ieq $n } | Select-Object -First 1).name }
            else { Write-LabServiceError -Cmdlet $Cmdlet -Command $Command -Id 'NoServiceFoundForGivenName' -Category ObjectNotFound -Message "Cannot find any service with service name '$n'." -Target $n }
        }
    } else {
        # -Name (default '*') or -DisplayName: wildcard patterns; an exact name that matches nothing is an error.
        $byDisplay = [bool]$DisplayName
        $patterns = if ($byDisplay) { $DisplayName } elseif ($Name) { $Name } else { @('*') }
        foreach ($n in $patterns) {
            $pat = [WildcardPattern]::new($n, 'IgnoreCase')
            $m = @($views | Where-Object { $pat.IsMatch($(if ($byDisplay) { $_.displayName } else { $_.name })) } | Sort-Object { $_.name })
            if (-not $m.Count -and -not [WildcardPattern]::ContainsWildcardCharacters($n)) {
                $what = if ($byDisplay) { 'display name' } else { 'service name' }
                $id = if ($byDisplay) { 'NoServiceFoundForGivenDisplayName' } else { 'NoServiceFoundForGivenName' }
                Write-LabServiceError -Cmdlet $Cmdlet -Command $Command -Id $id -Category ObjectNotFound -Message "Cannot find any service with $what '$n'." -Target $n
            }
            foreach ($x in $m) { & $add $x.name }
        }
    }
    $out = @()
    foreach ($n in $picked) {
        $v = $views | Where-Object { $_.name -eq $n } | Select-Object -First 1
        if ($Include -and -not ($Include | Where-Object { $v.name -like $_ })) { continue }
        if ($Exclude -and ($Exclude | Where-Object { $v.name -like $_ })) { continue }
        $out += , $v
    }
    , $out
}

function Write-LabServiceError {
    param($Cmdlet, [string]$Command, [string]$Id, [Management.Automation.ErrorCategory]$Category, [string]$Message, $Target, [int]$Win32 = 0)
    $inner = if ($Win32) { [ComponentModel.Win32Exception]::new($Win32) } else { $null }
    $ex = if ($inner) { [InvalidOperationException]::new($Message, $inner) } else { [InvalidOperationException]::new($Message) }
    Write-LabCmdletError -Cmdlet $Cmdlet -Record ([Management.Automation.ErrorRecord]::new($ex, "$Id,Microsoft.PowerShell.Commands.$Command", $Category, $Target))
}

function Get-LabServiceControllers {
    param($Cmdlet, [string[]]$Name, [string[]]$DisplayName, $InputObject, [string[]]$Include, [string[]]$Exclude, [switch]$DependentServices, [switch]$RequiredServices)
    $targets = Resolve-LabServiceTargets -Cmdlet $Cmdlet -Command 'GetServiceCommand' -Name $Name -DisplayName $DisplayName -InputObject $InputObject -Include $Include -Exclude $Exclude
    if (-not $targets.Count) { return }
    $objs = Use-LabHost -Body { param($h)
        $acc = @()
        foreach ($t in $targets) {
            $s = Find-LabService -State $h -Name $t.name
            Update-LabStatus -State $h -Svc $s
            $acc += ConvertTo-LabServiceController -State $h -Svc $s
        }
        , $acc
    }
    foreach ($o in $objs) {
        if ($DependentServices) { $o.DependentServices } elseif ($RequiredServices) { $o.ServicesDependedOn } else { $o }
    }
}

# Poll like ServiceOperationBaseCommand.DoWaitForStatus: warn every 2 s while pending; any other state is a failure.
function Wait-LabCmdletStatus {
    param($Cmdlet, [string]$Name, [string]$DisplayName, [string]$Target, [string]$Pending, [string]$Warning)
    $nextWarn = [DateTime]::UtcNow.AddSeconds(2)
    while ($true) {
        $st = Get-LabServiceStatusName -Name $Name
        if ($st -eq $Target) { return $true }
        if ($st -ne $Pending) { return $false }
        if ([DateTime]::UtcNow -ge $nextWarn) {
            Write-LabCmdletWarning -Cmdlet $Cmdlet -Message ($Warning -f $DisplayName, $Name)
            $nextWarn = [DateTime]::UtcNow.AddSeconds(2)
        }
        Start-Sleep -Milliseconds 50
    }
}

function Invoke-LabServiceCmdlet {
    param($Cmdlet, [ValidateSet('Start', 'Stop', 'Restart', 'Set')][string]$Verb, [string[]]$Name, [string[]]$DisplayName,
        $InputObject, [string[]]$Include, [string[]]$Exclude, [switch]$Force, [switch]$NoWait, [switch]$PassThru,
        [hashtable]$Settings)
    $command = "${Verb}ServiceCommand"
    $targets = Resolve-LabServiceTargets -Cmdlet $Cmdlet -Command $command -Name $Name -DisplayName $DisplayName -InputObject $InputObject -Include $Include -Exclude $Exclude
    foreach ($t in $targets) {
        $label = "$($t.displayName) ($($t.name))"
        if (-not $Cmdlet.ShouldProcess($label)) { continue }
        $ok = $true
        if ($Verb -eq 'Set') {
            $ok = Set-LabServiceFromCmdlet -Cmdlet $Cmdlet -Target $t -Settings $Settings
        }
        if ($Verb -in 'Stop', 'Restart' -or ($Verb -eq 'Set' -and $ok -and $Settings.status -eq 'Stopped')) {
            $ok = Stop-LabServiceFromCmdlet -Cmdlet $Cmdlet -Command $command -Target $t -Force:$Force -NoWait:$NoWait
        }
        if ($ok -and ($Verb -in 'Start', 'Restart' -or ($Verb -eq 'Set' -and $Settings.status -eq 'Running'))) {
            $ok = Start-LabServiceFromCmdlet -Cmdlet $Cmdlet -Command $command -Target $t
        }
        if ($PassThru) { Get-LabServiceControllers -Cmdlet $Cmdlet -Name ([WildcardPattern]::Escape($t.name)) }
    }
}

function Start-LabServiceFromCmdlet {
    param($Cmdlet, [string]$Command, $Target)
    $label = "$($Target.displayName) ($($Target.name))"
    if ((Get-LabServiceStatusName -Name $Target.name) -eq 'Running') { return $true }
    $Cmdlet.WriteVerbose("Performing the operation `"Start-Service`" on target `"$label`".")
    $rc = (Invoke-LabControl -Name $Target.name -Verb start).code
    if ($rc -and $rc -ne 1056) {
        Write-LabServiceError -Cmdlet $Cmdlet -Command $Command -Id 'CouldNotStartService' -Category OpenError -Win32 $rc -Target $Target.name `
            -Message "Service '$label' cannot be started due to the following error: Cannot start service $($Target.name) on computer '.'."
        return $false
    }
    if (-not (Wait-LabCmdletStatus -Cmdlet $Cmdlet -Name $Target.name -DisplayName $Target.displayName -Target 'Running' -Pending 'StartPending' -Warning "Waiting for service '{0} ({1})' to start...")) {
        Write-LabServiceError -Cmdlet $Cmdlet -Command $Command -Id 'StartServiceFailed' -Category OpenError -Target $Target.name -Message "Service '$label' start failed."
        return $false
    }
    $true
}

function Stop-LabServiceFromCmdlet {
    param($Cmdlet, [string]$Command, $Target, [switch]$Force, [switch]$NoWait)
    $label = "$($Target.displayName) ($($Target.name))"
    $deps = Use-LabHost -Body { param($h)
        $s = Find-LabService -State $h -Name $Target.name
        @(Get-LabDependents -State $h -Svc $s | ForEach-Object { Update-LabStatus -State $h -Svc $_; if ($_.status.state -ne 'stopped') { @{ name = $_.name; displayName = $_.displayName } } })
    }
    if (@($deps).Count) {
        if (-not $Force) {
            Write-LabServiceError -Cmdlet $Cmdlet -Command $Command -Id 'ServiceHasDependentServices' -Category InvalidOperation -Target $Target.name `
                -Message "Cannot stop service '$label' because it has dependent services. It can only be stopped if the Force flag is set."
            return $false
        }
        foreach ($d in @($deps)) { if (-not (Stop-LabServiceFromCmdlet -Cmdlet $Cmdlet -Command $Command -Target $d -Force)) { return $false } }
    }
    $st = Get-LabServiceStatusName -Name $Target.name
    if ($st -eq 'Stopped') { return $true }
    $rc = (Invoke-LabControl -Name $Target.name -Verb stop).code
    if ($rc -and $rc -ne 1062) {
        Write-LabServiceError -Cmdlet $Cmdlet -Command $Command -Id 'CouldNotStopService' -Category CloseError -Win32 $rc -Target $Target.name `
            -Message "Service '$label' cannot be stopped due to the following error: Cannot stop $($Target.name) service on computer '.'."
        return $false
    }
    if ($NoWait) { return $true }
    if (-not (Wait-LabCmdletStatus -Cmdlet $Cmdlet -Name $Target.name -DisplayName $Target.displayName -Target 'Stopped' -Pending 'StopPending' -Warning "Waiting for service '{0} ({1})' to stop...")) {
        Write-LabServiceError -Cmdlet $Cmdlet -Command $Command -Id 'StopServiceFailed' -Category CloseError -Target $Target.name -Message "Service '$label' stop failed."
        return $false
    }
    $true
}

function Set-LabServiceFromCmdlet {
    # 5.1 Set-Service: ChangeServiceConfig(startType, displayName) then ChangeServiceConfig2(description) only when
    # given; the delayed-auto flag is never written (docs/reference/windows-services.md#delayed-auto-start-flag).
    param($Cmdlet, $Target, [hashtable]$Settings)
    $change = @{}
    if ($Settings.ContainsKey('displayName')) { $change.displayName = $Settings.displayName }
    if ($Settings.ContainsKey('description')) { $change.description = $Settings.description }
    if ($Settings.ContainsKey('startType')) { $change.startType = $Settings.startType }
    if (-not $change.Count) { return $true }
    $rc = Use-LabHost -Body { param($h)
        $o = Open-LabService -State $h -Name $Target.name -Op 'config' -Subject (Get-LabChangeSubject -Change $change)
        if ($o.code) { return $o.code }
        Set-LabServiceConfig -State $h -Svc $o.svc -Change $change
    }
    if ($rc) {
        $cat = if ($rc -eq 5) { 'PermissionDenied' } else { 'WriteError' }
        Write-LabServiceError -Cmdlet $Cmdlet -Command 'SetServiceCommand' -Id 'CouldNotSetService' -Category $cat -Win32 $rc -Target $Target.name `
            -Message "Service '$($Target.displayName) ($($Target.name))' cannot be configured due to the following error: $(Get-LabMessage $rc)"
        return $false
    }
    $true
}
