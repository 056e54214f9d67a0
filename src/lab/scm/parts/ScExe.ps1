# sc.exe, emulated. Output shapes follow docs/reference/sc-exe.md#output-of-qc line for line; exit codes are Win32 codes (docs/reference/sc-exe.md#exit-codes).
# Localization is not emulated: the words SUCCESS/FAILED are English, as on an en-US host.

$script:LabStartNames = @{ boot = '0   BOOT_START'; system = '1   SYSTEM_START'; auto = '2   AUTO_START'; demand = '3   DEMAND_START'; disabled = '4   DISABLED' }
$script:LabErrorNames = @{ 0 = '0   IGNORE'; 1 = '1   NORMAL'; 2 = '2   SEVERE'; 3 = '3   CRITICAL' }

function Format-LabField { param([string]$Label, [string]$Value) ('        {0,-19}: {1}' -f $Label, $Value) }

function Format-LabType {
    # TYPE is printed in hex (docs/reference/sc-exe.md#output-of-query-and-queryex): 10 own, 20 share, 110 own + interactive, 1 kernel, 2 fs driver.
    param([int]$Type)
    $base = $Type -band (-bnot 0x100)
    $name = switch ($base) { 0x10 { 'WIN32_OWN_PROCESS' } 0x20 { 'WIN32_SHARE_PROCESS' } 0x1 { 'KERNEL_DRIVER' } 0x2 { 'FILE_SYSTEM_DRIVER' } 0x50 { 'USER_OWN_PROCESS' } 0x60 { 'USER_SHARE_PROCESS' } default { 'WIN32' } }
    if ($Type -band 0x100) { $name += ' (interactive)' }
    '{0:x}  {1}' -f $Type, $name
}

function Get-LabStatusView {
    param($Svc)
    $st = $Svc.status
    $stoppable = -not $Svc.virtual -or $Svc.stoppable
    $v = @{ win32 = [int]$st.win32ExitCode; svcExit = [int]$st.serviceExitCode; checkpoint = 0; waitHint = 0; pid = 0 }
    switch ($st.state) {
        'running' {
            $v.num = 4; $v.name = 'RUNNING'; $v.pid = [int]$st.pid
            $v.controls = if ($stoppable) { '(STOPPABLE, NOT_PAUSABLE, ACCEPTS_SHUTDOWN)' } else { '(NOT_STOPPABLE, NOT_PAUSABLE, IGNORES_SHUTDOWN)' }
        }
        'start-pending' { $v.num = 2; $v.name = 'START_PENDING'; $v.pid = [int]$st.pid; $v.waitHint = 2000; $v.controls = '(NOT_STOPPABLE, NOT_PAUSABLE, IGNORES_SHUTDOWN)' }
        'stop-pending' {
            # A stopping service raises its checkpoint within each wait hint; a hung one (stuck-stop-pending) never
            # does (SERVICE_STATUS dwCheckPoint / dwWaitHint, docs/reference/windows-services.md "Pending states").
            $v.num = 3; $v.name = 'STOP_PENDING'; $v.pid = [int]$st.pid; $v.waitHint = 2000; $v.checkpoint = 1
            if (-not $st.hung -and $st.stopAt) { $v.checkpoint = 1 + [int][Math]::Floor(((Get-LabNowMs) - [long]$st.stopAt) / 500) }
            $v.controls = '(STOPPABLE, NOT_PAUSABLE, ACCEPTS_SHUTDOWN)'
        }
        default { $v.num = 1; $v.name = 'STOPPED'; $v.controls = '(NOT_STOPPABLE, NOT_PAUSABLE, IGNORES_SHUTDOWN)' }
    }
    $v
}

function Format-LabStatusBlock {
    # query / queryex / start / stop (docs/reference/sc-exe.md#output-of-query-and-queryex; PID and FLAGS only for the Ex form and for start).
    param($Svc, [switch]$Ex, [switch]$WithDisplayName, $State)
    $v = Get-LabStatusView $Svc
    $lines = @("SERVICE_NAME: $($Svc.name)")
    if ($WithDisplayName) { $lines += "DISPLAY_NAME: $(Resolve-LabIndirectString $State ([string]$Svc.displayName))" }
    $lines += Format-LabField 'TYPE' (Format-LabType $Svc.serviceType)
    $lines += Format-LabField 'STATE' ('{0}  {1}' -f $v.num, $v.name)
    $lines += (' ' * 32) + $v.controls
    $lines += Format-LabField 'WIN32_EXIT_CODE' ('{0}  (0x{0:x})' -f $v.win32)
    $lines += Format-LabField 'SERVICE_EXIT_CODE' ('{0}  (0x{0:x})' -f $v.svcExit)
    $lines += Format-LabField 'CHECKPOINT' ('0x{0:x}' -f $v.checkpoint)
    $lines += Format-LabField 'WAIT_HINT' ('0x{0:x}' -f $v.waitHint)
    if ($Ex) {
        $lines += Format-LabField 'PID' "$($v.pid)"
        $lines += Format-LabField 'FLAGS' ''
    }
    $lines
}

# QueryServiceConfig: the binary path expanded, the display name resolved (parts/Registry.ps1, Expand-LabEnvironment).
function Format-LabQc {
    param($Svc, $State)
    $start = $script:LabStartNames[[string]$Svc.startType]
    if ($Svc.startType -eq 'auto' -and $Svc.delayedAutoStart) { $start += '  (DELAYED)' }
    $lines = @('[SC] QueryServiceConfig SUCCESS', '', "SERVICE_NAME: $($Svc.name)")
    $lines += Format-LabField 'TYPE' (Format-LabType $Svc.serviceType)
    $lines += Format-LabField 'START_TYPE' $start
    $lines += Format-LabField 'ERROR_CONTROL' $script:LabErrorNames[[int]$Svc.errorControl]
    $lines += Format-LabField 'BINARY_PATH_NAME' (Expand-LabEnvironment ([string]$Svc.binaryPath))
    $lines += Format-LabField 'LOAD_ORDER_GROUP' $Svc.loadOrderGroup
    $lines += Format-LabField 'TAG' "$([int]$Svc.tag)"
    $lines += Format-LabField 'DISPLAY_NAME' (Resolve-LabIndirectString $State ([string]$Svc.displayName))
    # Each extra dependency goes on its own continuation line (docs/reference/sc-exe.md#output-of-query-and-queryex).
    $deps = @($Svc.dependencies | Where-Object { $_ })
    $lines += Format-LabField 'DEPENDENCIES' $(if ($deps.Count) { $deps[0] } else { '' })
    for ($i = 1; $i -lt $deps.Count; $i++) { $lines += (' ' * 27) + ': ' + $deps[$i] }
    $lines += Format-LabField 'SERVICE_START_NAME' $Svc.account
    $lines
}

function Format-LabQFailure {
    param($Svc)
    $f = $Svc.failure
    $lines = @('[SC] QueryServiceConfig2 SUCCESS', '', "SERVICE_NAME: $($Svc.name)")
    $lines += '        {0,-29}: {1}' -f 'RESET_PERIOD (in seconds)', ([uint32][long]$f.resetPeriod)
    $lines += '        {0,-29}: {1}' -f 'REBOOT_MESSAGE', $f.rebootMessage
    $lines += '        {0,-29}: {1}' -f 'COMMAND_LINE', $f.command
    # With no actions the FAILURE_ACTIONS line is missing; a NONE action ends the list (docs/reference/sc-exe.md#output-of-qfailure).
    $first = $true
    foreach ($a in @($f.actions)) {
        if (-not $a) { continue }
        $word = switch ($a.type) { 'restart' { 'RESTART' } 'reboot' { 'REBOOT' } 'run' { 'RUN PROCESS' } default { $null } }
        if (-not $word) { break }
        $text = '{0} -- Delay = {1} milliseconds.' -f $word, $a.delayMs
        if ($first) { $lines += '        {0,-29}: {1}' -f 'FAILURE_ACTIONS', $text; $first = $false }
        else { $lines += (' ' * 39) + $text }
    }
    $lines
}

function Format-LabScFailure {
    # "[SC] <Api> FAILED <code>:", a blank line, then the system message (docs/reference/sc-exe.md#failure-lines).
    param([string]$Api, [int]$Code)
    @("[SC] $Api FAILED ${Code}:", '', (Get-LabMessage $Code), '')
}

# Parse "option= value" pairs (docs/reference/sc-exe.md#option-syntax): the option name includes the '=', the value is the NEXT argument.
# - "start=auto" (no space): the documented syntax requires the space and says the operation fails (docs/reference/sc-exe.md#spaced-and-unspaced-options);
#   the lab follows the documented strict behaviour and fails with 1639 (newer builds may accept it: docs/reference/sc-exe.md#spaced-and-unspaced-options).
# - an option with no value after it (e.g. the 5.1 dropped-empty-string trap: depend= "" under Legacy) -> 1639.
# - any other token is read as an unknown option and silently dropped (docs/reference/sc-exe.md#the-binpath-value).
function Read-LabScOptions {
    param([string[]]$Tokens, [string[]]$Known)
    $opts = [ordered]@{}; $multi = @{}
    $i = 0
    while ($i -lt $Tokens.Count) {
        $t = $Tokens[$i]
        $key = $t.ToLowerInvariant()
        if ($key.EndsWith('=') -and $Known -contains $key.TrimEnd('=')) {
            if ($i + 1 -ge $Tokens.Count) { return @{ error = 1639 } }
            $name = $key.TrimEnd('=')
            if ($name -eq 'type') { $multi['type'] = @($multi['type']) + $Tokens[$i + 1] | Where-Object { $null -ne $_ } }
            $opts[$name] = $Tokens[$i + 1]
            $i += 2; continue
        }
        $eq = $key.IndexOf('=')
        if ($eq -gt 0 -and $Known -contains $key.Substring(0, $eq)) { return @{ error = 1639 } }
        $i++
    }
    @{ options = $opts; types = @($multi['type']) }
}

function Invoke-LabScExe {
    param([string[]]$Argv)
    $out = [Collections.Generic.List[string]]::new()
    $emit = { param($lines) foreach ($l in $lines) { $out.Add($l) } }
    $tokens = @($Argv)
    if ($tokens.Count -and $tokens[0].StartsWith('\\')) {
        $server = $tokens[0].TrimStart('\')
        $tokens = @($tokens | Select-Object -Skip 1)
        if ($server -notin '.', 'localhost', '127.0.0.1', [Environment]::MachineName) {
            & $emit (Format-LabScFailure 'OpenSCManager' 1722); return @{ lines = $out; exit = 1722 }
        }
    }
    if ($tokens.Count -eq 0) {
        & $emit @('DESCRIPTION:', '        SC is a command line program used for communicating with the', '        Service Control Manager and services. (svcfleet lab emulation)', '')
        return @{ lines = $out; exit = 1639 }
    }
    $cmd = $tokens[0].ToLowerInvariant()
    $name = if ($tokens.Count -gt 1) { $tokens[1] } else { $null }
    # Typed, so that a single remaining token stays an array (an if-expression would unroll it to a string).
    [string[]]$rest = @()
    if ($tokens.Count -gt 2) { $rest = $tokens[2..($tokens.Count - 1)] }
    $usage = {
        param([string]$c)
        & $emit @("DESCRIPTION:", "        svcfleet lab emulation of 'sc $c': invalid or missing arguments.", "USAGE:", "        sc <server> $c [service name] ...", '')
        @{ lines = $out; exit = 1639 }
    }
    switch ($cmd) {
        { $_ -in 'query', 'queryex' } {
            $ex = $cmd -eq 'queryex'
            if (-not $name -or $name.EndsWith('=')) { return Invoke-LabScEnum -Tokens ([string[]]@($tokens | Select-Object -Skip 1)) -Ex:$ex -Out $out }
            $r = Use-LabHost -Body { param($h)
                $o = Open-LabService -State $h -Name $name -Op 'query' -Subject $name
                if ($o.code) { return @{ code = $o.code } }
                @{ code = 0; lines = @('') + @(Format-LabStatusBlock $o.svc -Ex:$ex) + @('') }
            }
            if ($r.code) { & $emit (Format-LabScFailure 'EnumQueryServicesStatus:OpenService' $r.code); return @{ lines = $out; exit = $r.code } }
            & $emit $r.lines; return @{ lines = $out; exit = 0 }
        }
        { $_ -in 'qc', 'qdescription', 'qfailure', 'qfailureflag' } {
            if (-not $name) { return & $usage $cmd }
            $r = Use-LabHost -Body { param($h)
                $o = Open-LabService -State $h -Name $name -Op 'query' -Subject $name
                if ($o.code) { return @{ code = $o.code } }
                $s = $o.svc
                $lines = switch ($cmd) {
                    'qc' { Format-LabQc $s $h }
                    'qdescription' { @('[SC] QueryServiceConfig2 SUCCESS', '', "SERVICE_NAME: $($s.name)", "DESCRIPTION:  $(Resolve-LabIndirectString $h ([string]$s.description))") }
                    'qfailure' { Format-LabQFailure $s }
                    'qfailureflag' { @('[SC] QueryServiceConfig2 SUCCESS', '', "SERVICE_NAME: $($s.name)", ('        FAILURE_ACTIONS_ON_NONCRASH_FAILURES: {0}' -f $(if ($s.failure.nonCrashFailures) { 'TRUE' } else { 'FALSE' }))) }
                }
                @{ code = 0; lines = @($lines) + @('') }
            }
            if ($r.code) { & $emit (Format-LabScFailure 'OpenService' $r.code); return @{ lines = $out; exit = $r.code } }
            & $emit $r.lines; return @{ lines = $out; exit = 0 }
        }
        'config' {
            if (-not $name) { return & $usage $cmd }
            $p = Read-LabScOptions -Tokens $rest -Known 'type', 'start', 'error', 'binpath', 'group', 'tag', 'depend', 'obj', 'displayname', 'password'
            if ($p.error) { return & $usage $cmd }
            $change = @{}; $o = $p.options
            if ($o.Contains('type')) {
                $bits = 0; $interact = $false
                foreach ($t in $p.types) {
                    switch ($t.ToLowerInvariant()) {
                        'own' { $bits = 0x10 } 'share' { $bits = 0x20 } 'kernel' { $bits = 0x1 } 'filesys' { $bits = 0x2 }
                        'interact' { $interact = $true }
                        default { & $emit (Format-LabScFailure 'ChangeServiceConfig' 87); return @{ lines = $out; exit = 87 } }
                    }
                }
                # "interact" must be combined with own or share (docs/reference/sc-exe.md#config-options type=).
                if ($interact -and $bits -notin 0x10, 0x20) { & $emit (Format-LabScFailure 'ChangeServiceConfig' 87); return @{ lines = $out; exit = 87 } }
                $change.serviceType = $bits -bor $(if ($interact) { 0x100 } else { 0 })
            }
            if ($o.Contains('start')) {
                switch ($o['start'].ToLowerInvariant()) {
                    # delayed-auto = AUTO_START + delayed flag; auto clears the delayed flag (docs/reference/windows-services.md#delayed-auto-start-flag start=).
                    'delayed-auto' { $change.startType = 'auto'; $change.delayedAutoStart = $true }
                    'auto' { $change.startType = 'auto'; $change.delayedAutoStart = $false }
                    { $_ -in 'boot', 'system', 'demand', 'disabled' } { $change.startType = $_ }
                    default { & $emit (Format-LabScFailure 'ChangeServiceConfig' 87); return @{ lines = $out; exit = 87 } }
                }
            }
            if ($o.Contains('error')) {
                $ec = @{ ignore = 0; normal = 1; severe = 2; critical = 3 }[$o['error'].ToLowerInvariant()]
                if ($null -eq $ec) { & $emit (Format-LabScFailure 'ChangeServiceConfig' 87); return @{ lines = $out; exit = 87 } }
                $change.errorControl = $ec
            }
            if ($o.Contains('binpath')) { $change.binaryPath = $o['binpath'] }
            if ($o.Contains('group')) { $change.loadOrderGroup = $o['group'] }
            # depend= uses '/' as separator, '+' marks a group; depend= "" clears all (docs/reference/sc-exe.md#config-options depend=).
            if ($o.Contains('depend')) { $change.dependencies = @($o['depend'].Split('/') | Where-Object { $_ -ne '' }) }
            if ($o.Contains('obj')) { $change.account = $o['obj'] }
            if ($o.Contains('password')) { $change.password = $o['password'] }
            if ($o.Contains('displayname')) { $change.displayName = $o['displayname'] }
            return Invoke-LabScChange -Name $name -Api 'ChangeServiceConfig' -Change $change -Out $out
        }
        'description' {
            if (-not $name -or $rest.Count -lt 1) { return & $usage $cmd }
            return Invoke-LabScChange -Name $name -Api 'ChangeServiceConfig2' -Change @{ description = $rest[0] } -Out $out
        }
        'failure' {
            if (-not $name) { return & $usage $cmd }
            $p = Read-LabScOptions -Tokens $rest -Known 'reset', 'reboot', 'command', 'actions'
            if ($p.error) { return & $usage $cmd }
            $o = $p.options; $f = @{}
            # reset= and actions= go together (docs/reference/sc-exe.md#description-and-failure failure).
            if ($o.Contains('reset') -xor $o.Contains('actions')) { return & $usage $cmd }
            if ($o.Contains('reset')) {
                $rv = $o['reset']
                if ($rv -ieq 'INFINITE') { $f.resetPeriod = 4294967295 }
                elseif ($rv -match '^\d+$' -and [long]$rv -le 4294967295) { $f.resetPeriod = [long]$rv }
                else { & $emit (Format-LabScFailure 'ChangeServiceConfig2' 87); return @{ lines = $out; exit = 87 } }
                $acts = @()
                if ($o['actions'] -ne '') {
                    $parts = $o['actions'].Split('/')
                    if ($parts.Count % 2) { & $emit (Format-LabScFailure 'ChangeServiceConfig2' 87); return @{ lines = $out; exit = 87 } }
                    for ($i = 0; $i -lt $parts.Count; $i += 2) {
                        # Valid action words: run, restart, reboot; delays in milliseconds (docs/reference/sc-exe.md#description-and-failure).
                        $w = $parts[$i].ToLowerInvariant()
                        if ($w -notin 'run', 'restart', 'reboot' -or $parts[$i + 1] -notmatch '^\d+$') {
                            & $emit (Format-LabScFailure 'ChangeServiceConfig2' 87); return @{ lines = $out; exit = 87 }
                        }
                        $acts += , @{ type = $w; delayMs = [long]$parts[$i + 1] }
                    }
                }
                $f.actions = $acts
            }
            if ($o.Contains('reboot')) { $f.rebootMessage = $o['reboot'] }
            if ($o.Contains('command')) { $f.command = $o['command'] }
            $change = @{}
            if ($f.Count) { $change.failure = $f }
            return Invoke-LabScChange -Name $name -Api 'ChangeServiceConfig2' -Change $change -Out $out
        }
        'failureflag' {
            # Positional 0|1 (docs/reference/sc-exe.md#failureflag: "sc failureflag flag=1" is wrong).
            if (-not $name -or $rest.Count -lt 1 -or $rest[0] -notin '0', '1') { return & $usage $cmd }
            return Invoke-LabScChange -Name $name -Api 'ChangeServiceConfig2' -Change @{ nonCrashFailures = ($rest[0] -eq '1') } -Out $out
        }
        { $_ -in 'start', 'stop' } {
            # Asynchronous (docs/reference/sc-exe.md#start-and-stop-are-asynchronous): a START_PENDING (queryex-style, with PID) or STOP_PENDING block.
            if (-not $name) { return & $usage $cmd }
            $r = Invoke-LabControl -Name $name -Verb $cmd
            if ($r.code) { & $emit (Format-LabScFailure $r.api $r.code); return @{ lines = $out; exit = $r.code } }
            & $emit (@('') + @($r.block) + @('')); return @{ lines = $out; exit = 0 }
        }
        default {
            & $emit @("[SC] svcfleet lab: the sc.exe command '$($tokens[0])' is not emulated.", '')
            return @{ lines = $out; exit = 1639 }
        }
    }
}

function Invoke-LabScChange {
    param([string]$Name, [string]$Api, [hashtable]$Change, $Out)
    $subject = Get-LabChangeSubject -Change $Change
    $r = Use-LabHost -Body { param($h)
        $o = Open-LabService -State $h -Name $Name -Op 'config' -Subject $subject
        if ($o.code) { return @{ code = $o.code; api = 'OpenService' } }
        @{ code = (Set-LabServiceConfig -State $h -Svc $o.svc -Change $Change); api = $Api }
    }
    if ($r.code) { foreach ($l in (Format-LabScFailure $r.api $r.code)) { $Out.Add($l) }; return @{ lines = $Out; exit = $r.code } }
    $Out.Add("[SC] $Api SUCCESS"); $Out.Add('')
    @{ lines = $Out; exit = 0 }
}

function Invoke-LabScEnum {
    # sc query [type= service|driver|all] [state= active|inactive|all]: DISPLAY_NAME follows SERVICE_NAME (docs/reference/sc-exe.md#output-of-query-and-queryex).
    param([string[]]$Tokens, [switch]$Ex, $Out)
    $p = Read-LabScOptions -Tokens $Tokens -Known 'type', 'state', 'bufsize', 'ri', 'group'
    if ($p.error) { $Out.Add('[SC] EnumServicesStatus: invalid option'); return @{ lines = $Out; exit = 1639 } }
    $want = if ($p.options.Contains('state')) { $p.options['state'].ToLowerInvariant() } else { 'active' }
    $type = if ($p.options.Contains('type')) { $p.options['type'].ToLowerInvariant() } else { 'service' }
    $lines = Use-LabHost -Body { param($h)
        $acc = @()
        foreach ($s in $h.services.Values) {
            Update-LabStatus -State $h -Svc $s
            $isDriver = ([int]$s.serviceType -band 0x3) -ne 0
            if (($type -eq 'service' -and $isDriver) -or ($type -eq 'driver' -and -not $isDriver)) { continue }
            $active = $s.status.state -ne 'stopped'
            if (($want -eq 'active' -and -not $active) -or ($want -eq 'inactive' -and $active)) { continue }
            $acc += '' ; $acc += @(Format-LabStatusBlock $s -Ex:$Ex -WithDisplayName -State $h)
        }
        , $acc
    }
    foreach ($l in $lines) { $Out.Add($l) }
    $Out.Add('')
    @{ lines = $Out; exit = 0 }
}
