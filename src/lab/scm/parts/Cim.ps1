# Win32_Service over CIM (docs/reference/windows-services.md#win32_service-over-cim): Get-CimInstance objects with the documented properties (all read-only
# except State, docs/reference/windows-services.md#win32_service-over-cim), and the Change / ChangeStartMode / StartService / StopService methods with their ReturnValue
# codes (docs/reference/windows-services.md#change-method). Invoke-CimMethod does not throw on a non-zero ReturnValue.

$script:LabCimStartMode = @{ boot = 'Boot'; system = 'System'; auto = 'Auto'; demand = 'Manual'; disabled = 'Disabled' }
$script:LabCimState = @{ 'stopped' = 'Stopped'; 'start-pending' = 'Start Pending'; 'stop-pending' = 'Stop Pending'; 'running' = 'Running' }
$script:LabCimErrorControl = @{ 0 = 'Ignore'; 1 = 'Normal'; 2 = 'Severe'; 3 = 'Critical' }

function ConvertTo-LabCimService {
    param($Svc, $State)
    # Served as QueryServiceConfig serves them: path expanded, indirect strings resolved (parts/Registry.ps1).
    $shownName = Resolve-LabIndirectString $State ([string]$Svc.displayName)
    $shownDescription = Resolve-LabIndirectString $State ([string]$Svc.description)
    $st = $Svc.status
    $running = $st.state -eq 'running'
    $view = Get-LabStatusView $Svc   # CheckPoint and WaitHint as sc.exe query shows them
    $type = [int]$Svc.serviceType
    $typeName = switch ($type -band 0xFF) { 0x1 { 'Kernel Driver' } 0x2 { 'File System Driver' } 0x10 { 'Own Process' } 0x20 { 'Share Process' } default { 'Unknown' } }
    $o = [ordered]@{
        Name                    = [string]$Svc.name
        Status                  = 'OK'
        ExitCode                = [uint32][int]$st.win32ExitCode
        DesktopInteract         = [bool]($type -band 0x100)
        ErrorControl            = $script:LabCimErrorControl[[int]$Svc.errorControl]
        PathName                = Expand-LabEnvironment ([string]$Svc.binaryPath)
        ServiceType             = $typeName
        StartMode               = $script:LabCimStartMode[[string]$Svc.startType]
        Caption                 = $shownName
        Description             = $(if ([string]::IsNullOrEmpty($shownDescription)) { $null } else { $shownDescription })
        InstallDate             = $null
        CreationClassName       = 'Win32_Service'
        Started                 = $running
        SystemCreationClassName = 'Win32_ComputerSystem'
        SystemName              = [Environment]::MachineName
        AcceptPause             = $false
        AcceptStop              = $running -and (-not $Svc.virtual -or [bool]$Svc.stoppable)
        DisplayName             = $shownName
        CheckPoint              = [uint32]$view.checkpoint
        DelayedAutoStart        = [bool]($Svc.startType -eq 'auto' -and $Svc.delayedAutoStart)
        ProcessId               = [uint32]$(if ($st.state -ne 'stopped') { [int]$st.pid } else { 0 })
        ServiceSpecificExitCode = [uint32][int]$st.serviceExitCode
        StartName               = [string]$Svc.account
        State                   = $script:LabCimState[[string]$st.state]
        TagId                   = [uint32][int]$Svc.tag
        WaitHint                = [uint32]$view.waitHint
        PSComputerName          = $null
    }
    $obj = [pscustomobject]$o
    $obj.PSObject.TypeNames.Insert(0, 'Microsoft.Management.Infrastructure.CimInstance#root/cimv2/Win32_Service')
    $obj.PSObject.TypeNames.Insert(1, 'Microsoft.Management.Infrastructure.CimInstance#root/cimv2/Win32_BaseService')
    $obj.PSObject.TypeNames.Insert(2, 'Microsoft.Management.Infrastructure.CimInstance')
    $obj
}

# --- a small WQL WHERE evaluator: = <> != < > <= >= LIKE, IS [NOT] NULL, AND OR NOT, parentheses, 'strings' with
#     backslash escapes (WQL), numbers, TRUE/FALSE. Comparisons are case-insensitive, as in WMI. ---
function Split-LabWql {
    param([string]$Text)
    $toks = [Collections.Generic.List[object]]::new(); $i = 0
    while ($i -lt $Text.Length) {
        $c = $Text[$i]
        if ([char]::IsWhiteSpace($c)) { $i++; continue }
        if ($c -eq "'" -or $c -eq '"') {
            $q = $c; $sb = [Text.StringBuilder]::new(); $i++
            while ($i -lt $Text.Length -and $Text[$i] -ne $q) {
                if ($Text[$i] -eq '\' -and $i + 1 -lt $Text.Length) { $i++ }
                [void]$sb.Append($Text[$i]); $i++
            }
            if ($i -ge $Text.Length) { $script:wqlBad = $true; return $false }
            $i++; $toks.Add(@{ t = 'str'; v = $sb.ToString() }); continue
        }
        if ('()'.Contains($c)) { $toks.Add(@{ t = $c }); $i++; continue }
        if ('=<>!'.Contains($c)) {
            $op = [string]$c
            if ($i + 1 -lt $Text.Length -and '=>'.Contains($Text[$i + 1])) { $op += $Text[$i + 1] }
            $i += $op.Length; $toks.Add(@{ t = 'op'; v = $op }); continue
        }
        $start = $i
        while ($i -lt $Text.Length -and ([char]::IsLetterOrDigit($Text[$i]) -or $Text[$i] -in '_', '.', '-')) { $i++ }
        if ($i -eq $start) { $script:wqlBad = $true; return $false }
        $word = $Text.Substring($start, $i - $start)
        if ($word -match '^-?\d+$') { $toks.Add(@{ t = 'num'; v = [long]$word }) }
        elseif ($word -in 'AND', 'OR', 'NOT', 'LIKE', 'IS', 'NULL', 'TRUE', 'FALSE') { $toks.Add(@{ t = $word.ToUpperInvariant() }) }
        else { $toks.Add(@{ t = 'id'; v = $word }) }
    }
    , $toks.ToArray()
}

# Returns $true/$false, or $null for an invalid WHERE (the parser sets a flag instead of throwing, so that no
# exception reaches the caller's $Error / -ErrorVariable).
function Test-LabWql {
    param($Object, [string]$Where)
    if ([string]::IsNullOrWhiteSpace($Where)) { return $true }
    $script:wqlBad = $false
    $script:wqlToks = Split-LabWql $Where; $script:wqlPos = 0
    if ($script:wqlBad) { return $null }
    $r = Read-LabWqlOr $Object
    if ($script:wqlBad -or $script:wqlPos -lt $script:wqlToks.Count) { return $null }
    $r
}
function Get-LabWqlTok { if ($script:wqlPos -lt $script:wqlToks.Count) { $script:wqlToks[$script:wqlPos] } else { @{ t = 'eof' } } }
function Read-LabWqlOr { param($O) $l = Read-LabWqlAnd $O; while ((Get-LabWqlTok).t -eq 'OR') { $script:wqlPos++; $r = Read-LabWqlAnd $O; $l = $l -or $r }; $l }
function Read-LabWqlAnd { param($O) $l = Read-LabWqlNot $O; while ((Get-LabWqlTok).t -eq 'AND') { $script:wqlPos++; $r = Read-LabWqlNot $O; $l = $l -and $r }; $l }
function Read-LabWqlNot {
    param($O)
    if ((Get-LabWqlTok).t -eq 'NOT') { $script:wqlPos++; return -not (Read-LabWqlNot $O) }
    if ((Get-LabWqlTok).t -eq '(') {
        $script:wqlPos++; $v = Read-LabWqlOr $O
        if ((Get-LabWqlTok).t -ne ')') { $script:wqlBad = $true; return $false }
        $script:wqlPos++; return $v
    }
    $id = Get-LabWqlTok
    if ($id.t -ne 'id') { $script:wqlBad = $true; return $false }
    $script:wqlPos++
    $prop = $O.PSObject.Properties[$id.v]
    if (-not $prop) { $script:wqlBad = $true; return $false }
    $left = $prop.Value
    $op = Get-LabWqlTok; $script:wqlPos++
    if ($op.t -eq 'IS') {
        $neg = $false
        if ((Get-LabWqlTok).t -eq 'NOT') { $neg = $true; $script:wqlPos++ }
        if ((Get-LabWqlTok).t -ne 'NULL') { $script:wqlBad = $true; return $false }
        $script:wqlPos++
        return ($null -eq $left) -xor $neg
    }
    $val = Get-LabWqlTok; $script:wqlPos++
    $right = switch ($val.t) { 'str' { $val.v } 'num' { $val.v } 'TRUE' { $true } 'FALSE' { $false } 'NULL' { $null } default { $script:wqlBad = $true; return $false } }
    if ($op.t -eq 'LIKE') {
        $rx = '^' + (([regex]::Escape([string]$right)) -replace '%', '.*' -replace '_', '.' -replace '\\\[', '[' -replace '\\]', ']') + '$'
        return [regex]::IsMatch([string]$left, $rx, 'IgnoreCase')
    }
    if ($op.t -ne 'op') { $script:wqlBad = $true; return $false }
    if ($left -is [bool] -or $right -is [bool]) { $left = [bool]$left; $right = [bool]$right }
    elseif ($right -is [long]) { $left = [long]$left }
    else { $left = [string]$left; $right = [string]$right }
    switch ($op.v) {
        '=' { if ($left -is [string]) { [string]::Equals($left, $right, [StringComparison]::OrdinalIgnoreCase) } else { $left -eq $right } }
        { $_ -in '<>', '!=' } { if ($left -is [string]) { -not [string]::Equals($left, $right, [StringComparison]::OrdinalIgnoreCase) } else { $left -ne $right } }
        '<' { $left -lt $right } '>' { $left -gt $right } '<=' { $left -le $right } '>=' { $left -ge $right }
        default { $script:wqlBad = $true; return $false }
    }
}

function Get-LabCimServices {
    param([string]$ClassName, [string]$Filter, [string]$Query)
    # Errors are returned, not thrown: a caught exception would still land in the caller's -ErrorVariable.
    if ($Query) {
        if ($Query -notmatch '^\s*SELECT\s+(?<props>.+?)\s+FROM\s+(?<class>\w+)\s*(WHERE\s+(?<where>.*))?$') { return @{ labError = 'Invalid query'; id = 'HRESULT 0x80041017' } }
        $ClassName = $Matches['class']; $Filter = $Matches['where']
    }
    if ($ClassName -notin 'Win32_Service', 'Win32_BaseService', 'CIM_Service') {
        return @{ labError = "Invalid class (svcfleet lab emulates only Win32_Service): $ClassName"; id = 'HRESULT 0x80041010' }
    }
    if ($Filter -and $null -eq (Test-LabWql -Object ([pscustomobject]@{ Name = ''; State = ''; ProcessId = 0; DisplayName = ''; StartMode = ''; PathName = ''; StartName = ''; Started = $false; DelayedAutoStart = $false; Description = ''; ServiceType = ''; ExitCode = 0; Status = '' }) -Where $Filter)) {
        return @{ labError = 'Invalid query'; id = 'HRESULT 0x80041017' }
    }
    # Fast path for the usual -Filter "Name='x'": only that service is looked at.
    $only = $null
    if ($Filter -match "^\s*Name\s*=\s*'([^'\\]*)'\s*$") { $only = $Matches[1] }
    $views = Use-LabHost -Body { param($h)
        $acc = @()
        $list = if ($null -ne $only) { @(Find-LabService -State $h -Name $only | Where-Object { $_ }) } else { @($h.services.Values) }
        foreach ($s in $list) {
            if ($null -ne $only) { Invoke-LabDeathFault -State $h -Service $s.name -Op 'query' -Subject $s.name }
            if (Test-LabFault -State $h -Service $s.name -Op 'query' -Kinds 'no-such-service' -Subject $s.name) { continue }
            Update-LabStatus -State $h -Svc $s
            $acc += ConvertTo-LabCimService $s $h
        }
        , $acc
    }
    foreach ($v in $views) { if (Test-LabWql -Object $v -Where $Filter) { $v } }
}

# Win32 error -> Win32_Service method ReturnValue (docs/reference/windows-services.md#change-method return codes).
$script:LabCimCode = @{ 0 = 0; 5 = 2; 1051 = 3; 1052 = 4; 1061 = 5; 1062 = 6; 1053 = 7; 2 = 9; 1056 = 10; 1075 = 12; 1068 = 13; 1058 = 14; 1069 = 15; 1072 = 16; 1059 = 18; 1078 = 19; 87 = 21; 1057 = 22 }

function ConvertTo-LabCimCode { param([int]$Win32) $c = $script:LabCimCode[$Win32]; if ($null -eq $c) { 8 } else { $c } }

function Invoke-LabCimMethod {
    param([string]$Name, [string]$MethodName, [System.Collections.IDictionary]$Arguments)
    if (-not $Arguments) { $Arguments = @{} }
    $argsCi = [Collections.Hashtable]::new([StringComparer]::OrdinalIgnoreCase)
    foreach ($k in $Arguments.Keys) { $argsCi[[string]$k] = $Arguments[$k] }
    $method = $MethodName.ToLowerInvariant()
    $known = @{
        change          = 'DisplayName', 'PathName', 'ServiceType', 'ErrorControl', 'StartMode', 'DesktopInteract', 'StartName', 'StartPassword', 'LoadOrderGroup', 'LoadOrderGroupDependencies', 'ServiceDependencies'
        changestartmode = @('StartMode'); startservice = @(); stopservice = @(); pauseservice = @(); resumeservice = @(); interrogateservice = @(); userControlService = @('ControlCode')
    }
    if (-not $known.ContainsKey($method)) { throw [InvalidOperationException]::new("Method not found: Win32_Service.$MethodName") }
    foreach ($k in $argsCi.Keys) { if (@($known[$method]) -notcontains $k) { throw [ArgumentException]::new("Invalid parameter: $k") } }
    $change = @{}
    if ($method -in 'change', 'changestartmode') {
        if ($argsCi.ContainsKey('StartMode') -and $null -ne $argsCi.StartMode) {
            # Change/ChangeStartMode take Boot, System, Automatic, Manual, Disabled; there is no delayed option, and
            # (ChangeServiceConfig only) the delayed flag is left as it is.
            $sm = @{ boot = 'boot'; system = 'system'; automatic = 'auto'; manual = 'demand'; disabled = 'disabled' }[([string]$argsCi.StartMode).ToLowerInvariant()]
            if (-not $sm) { return 21 }
            $change.startType = $sm
        }
    }
    if ($method -eq 'change') {
        # Null parameters mean "no change" (docs/reference/windows-services.md#change-method).
        if ($null -ne $argsCi.DisplayName) { $change.displayName = [string]$argsCi.DisplayName }
        if ($null -ne $argsCi.PathName) { $change.binaryPath = [string]$argsCi.PathName }
        if ($null -ne $argsCi.ErrorControl) { $change.errorControl = [int]$argsCi.ErrorControl }
        if ($null -ne $argsCi.StartName) { $change.account = [string]$argsCi.StartName }
        if ($null -ne $argsCi.StartPassword) { $change.password = [string]$argsCi.StartPassword }
        if ($null -ne $argsCi.LoadOrderGroup) { $change.loadOrderGroup = [string]$argsCi.LoadOrderGroup }
    }
    $code = Use-LabHost -Body { param($h)
        $op = if ($method -in 'startservice') { 'start' } elseif ($method -in 'stopservice') { 'stop' } else { 'config' }
        $o = Open-LabService -State $h -Name $Name -Op $op -Subject (Get-LabChangeSubject -Change $change)
        if ($o.code -eq 1060) { return -1 }
        if ($o.code) { return (ConvertTo-LabCimCode $o.code) }
        $svc = $o.svc
        switch ($method) {
            { $_ -in 'change', 'changestartmode' } {
                if ($method -eq 'change') {
                    $type = [int]$svc.serviceType
                    if ($null -ne $argsCi.ServiceType) { $type = ([int]$argsCi.ServiceType) -bor ($type -band 0x100) }
                    if ($null -ne $argsCi.DesktopInteract) { $type = if ($argsCi.DesktopInteract) { $type -bor 0x100 } else { $type -band (-bnot 0x100) } }
                    if ($type -ne [int]$svc.serviceType) { $change.serviceType = $type }
                    if ($null -ne $argsCi.ServiceDependencies -or $null -ne $argsCi.LoadOrderGroupDependencies) {
                        $svcDeps = @($svc.dependencies | Where-Object { $_ -and -not $_.StartsWith('+') })
                        $grpDeps = @($svc.dependencies | Where-Object { $_ -and $_.StartsWith('+') })
                        if ($null -ne $argsCi.ServiceDependencies) { $svcDeps = @($argsCi.ServiceDependencies | ForEach-Object { [string]$_ } | Where-Object { $_ }) }
                        if ($null -ne $argsCi.LoadOrderGroupDependencies) { $grpDeps = @($argsCi.LoadOrderGroupDependencies | ForEach-Object { '+' + [string]$_ } | Where-Object { $_ -ne '+' }) }
                        $change.dependencies = @($svcDeps) + @($grpDeps)
                    }
                }
                return (ConvertTo-LabCimCode (Set-LabServiceConfig -State $h -Svc $svc -Change $change))
            }
            'startservice' { $rc = Start-LabServiceCore -State $h -Svc $svc; if ($rc -eq 0 -and $svc.status.hang) { return 'hang' }; return (ConvertTo-LabCimCode $rc) }
            'stopservice' { return (ConvertTo-LabCimCode (Stop-LabServiceCore -State $h -Svc $svc)) }
            default { return 1 }
        }
    }
    if ($code -eq 'hang') {
        [void](Wait-LabServiceState -Name $Name -Until 'stopped', 'running' -TimeoutMs 3600000)
        return 7
    }
    $code
}
