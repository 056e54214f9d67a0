# A warm pwsh for the lab runner's 'pool' mode (src/lab/runner/pool.ts). Protocol, one JSON object per line:
#   in : {"id":n,"stateDir":"...","script":"<decoded bootstrap>","input":["stdin line",...],"nativeArgs":"Legacy"}
#   out: {"t":"ready"} once; per call {"t":"o","d":text} (stdout), {"t":"e","d":text} (stderr), {"t":"x","id":n,"code":n}
# Every call runs in a FRESH runspace (nothing leaks between calls) with the emulated SCM imported for its host;
# `$input` sees the stdin lines, [Console]::Out/Error are captured, `exit <n>` becomes the exit code.
param([Parameter(Mandatory)][string]$ModulePath, [Parameter(Mandatory)][string]$CacheDir)
$ErrorActionPreference = 'Stop'

$source = [IO.File]::ReadAllText([IO.Path]::Combine($PSScriptRoot, 'LabHost.cs'))
$hash = -join ([Security.Cryptography.SHA256]::HashData([Text.Encoding]::UTF8.GetBytes($source + $PSVersionTable.PSVersion)) | Select-Object -First 8 | ForEach-Object { $_.ToString('x2') })
$dll = [IO.Path]::Combine($CacheDir, "LabHost-$hash.dll")
if (-not [IO.File]::Exists($dll)) {
    [void][IO.Directory]::CreateDirectory($CacheDir)
    $tmp = "$dll.$PID.$([guid]::NewGuid().ToString('N')).tmp.dll"  # unique to this compile; renamed into place atomically
    Add-Type -TypeDefinition $source -OutputAssembly $tmp
    [IO.File]::Move($tmp, $dll, $true)
}
Add-Type -Path $dll

$utf8 = [Text.UTF8Encoding]::new($false)
$proto = [SvcfleetLab.Proto]::new([IO.StreamWriter]::new([Console]::OpenStandardOutput(), $utf8))
$stdin = [IO.StreamReader]::new([Console]::OpenStandardInput(), $utf8)
$origOut = [Console]::Out; $origErr = [Console]::Error

function ConvertTo-ClixmlText {
    # Encode like the console host's CLIXML error stream: XML-escape, control characters as _xHHHH_.
    param([string]$Text)
    $sb = [Text.StringBuilder]::new()
    foreach ($c in $Text.ToCharArray()) {
        switch ($c) {
            '&' { [void]$sb.Append('&amp;') } '<' { [void]$sb.Append('&lt;') } '>' { [void]$sb.Append('&gt;') }
            '"' { [void]$sb.Append('&quot;') } "'" { [void]$sb.Append('&apos;') }
            default { if ([int]$c -lt 32 -or $c -eq '_') { [void]$sb.Append(('_x{0:X4}_' -f [int]$c)) } else { [void]$sb.Append($c) } }
        }
    }
    $sb.ToString()
}

# The next call's runspace is opened (module imported) while the controller is busy elsewhere: a call then only
# pays for binding the host and running the bootstrap.
function New-LabRunspace {
    $h = [SvcfleetLab.LabHost]::new([SvcfleetLab.FramedWriter]::new($proto, 'o'))
    $iss = [System.Management.Automation.Runspaces.InitialSessionState]::CreateDefault2()
    $iss.ImportPSModule([string[]]@($ModulePath))
    $r = [runspacefactory]::CreateRunspace($h, $iss)
    $r.Open()
    $r.SessionStateProxy.GetVariable('PSStyle').OutputRendering = 'PlainText'
    @{ host = $h; rs = $r }
}

$spare = New-LabRunspace
$proto.Raw('{"t":"ready"}')
while ($null -ne ($line = $stdin.ReadLine())) {
    if (-not $line) { continue }
    $req = $line | ConvertFrom-Json
    $outW = [SvcfleetLab.FramedWriter]::new($proto, 'o')
    $errW = [SvcfleetLab.FramedWriter]::new($proto, 'e')
    $code = 0
    $rs = $null; $ps = $null
    try {
        $env:SVCFLEET_LAB_STATE = $req.stateDir
        $labHost = $spare.host; $rs = $spare.rs; $spare = $null
        $labHost.LabUI.SetOutput($outW)
        $rs.SessionStateProxy.SetVariable('PSNativeCommandArgumentPassing', [string]$req.nativeArgs)
        $setup = [powershell]::Create(); $setup.Runspace = $rs
        [void]$setup.AddCommand('EmulatedScm\Set-LabScmStateDir').AddParameter('Path', [string]$req.stateDir).Invoke()
        $setup.Dispose()
        $ps = [powershell]::Create(); $ps.Runspace = $rs
        [void]$ps.AddScript([string]$req.script).AddCommand('Out-Default')
        $inp = [System.Management.Automation.PSDataCollection[object]]::new()
        foreach ($l in @($req.input)) { $inp.Add($l) }
        $inp.Complete()
        [Console]::SetOut($outW); [Console]::SetError($errW)
        $failed = $false
        try { [void]$ps.Invoke($inp) } catch { $failed = $true; $thrown = $_ }
        finally { [Console]::SetOut($origOut); [Console]::SetError($origErr) }
        $recs = @()
        # One <S S="Error"> per line, as the console host writes them.
        $errs = @($ps.Streams.Error)
        if ($failed) { $errs += if ($thrown.Exception.InnerException -is [System.Management.Automation.IContainsErrorRecord]) { $thrown.Exception.InnerException.ErrorRecord } else { $thrown } }
        foreach ($e in $errs) {
            foreach ($l in (($e | Out-String -Width 120).TrimEnd() -split '\r?\n')) { $recs += '<S S="Error">' + (ConvertTo-ClixmlText ($l + "`n")) + '</S>' }
        }
        foreach ($w in $ps.Streams.Warning) { $recs += '<S S="warning">' + (ConvertTo-ClixmlText $w.Message) + '</S>' }
        if ($recs.Count) { $errW.Write("#< CLIXML`n<Objs Version=`"1.1.0.1`" xmlns=`"http://schemas.microsoft.com/powershell/2004/04`">" + ($recs -join '') + '</Objs>') }
        if ($null -ne $labHost.ExitCode) { $code = $labHost.ExitCode }
        elseif ($failed -or $ps.HadErrors) { $code = 1 }
    } catch {
        $errW.Write("svcfleet lab pool worker: $($_.Exception.Message)`n"); $code = 1
    } finally {
        $outW.Flush(); $errW.Flush()
        if ($ps) { $ps.Dispose() }
        if ($rs) { $rs.Dispose() }
    }
    # The next runspace imports the emulated SCM, which selects the host named by SVCFLEET_LAB_STATE and creates
    # its fs/ProgramData. That host is this call's, which the caller may be removing right now: select none (each
    # call selects its own above).
    $env:SVCFLEET_LAB_STATE = $null
    $proto.Raw('{"t":"x","id":' + [int]$req.id + ',"code":' + [int]$code + '}')
    $spare = New-LabRunspace
}
