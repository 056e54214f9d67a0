# How PowerShell hands arguments to a native program on Windows, emulated so that sc.exe and icacls.exe (which are
# PowerShell functions here) see exactly what the real executables would see.
#
# Windows has no argv: PowerShell joins the arguments into ONE command line and the program re-splits it with the
# CommandLineToArgvW rules (Split-LabArgs). How PowerShell joins depends on the CALLER:
#  - Windows PowerShell 5.1, or pwsh with $PSNativeCommandArgumentPassing = 'Legacy' (docs/reference/powershell.md#native-argument-passing):
#    an argument with whitespace outside balanced quotes is wrapped in quotes WITHOUT escaping the quotes inside it;
#    an empty string argument is dropped entirely; anything else is passed verbatim (embedded quotes included).
#    So  binpath= '"C:\Program Files\x.exe" --a'  reaches sc.exe as the two tokens  C:\Program  and  Files\x.exe --a.
#  - pwsh 7.3+ 'Standard' / 'Windows' (sc.exe and icacls.exe are not among the 'Windows' mode exceptions):
#    every argument is quoted and escaped so that it round-trips exactly ("" for an empty string).

function Test-LabLegacyNeedsQuotes {
    # Windows PowerShell 5.1 NativeCommandParameterBinder.NeedQuotes: whitespace while not inside "..." (a quote
    # preceded by a backslash does not count).
    param([string]$Arg)
    $quotes = 0; $afterBackslash = $false
    foreach ($c in $Arg.ToCharArray()) {
        if ($c -eq '"' -and -not $afterBackslash) { $quotes++ }
        elseif ([char]::IsWhiteSpace($c) -and ($quotes % 2) -eq 0) { return $true }
        $afterBackslash = ($c -eq '\')
    }
    $false
}

function ConvertTo-LabStandardArg {
    param([string]$Arg)
    if ($Arg.Length -eq 0) { return '""' }
    if ($Arg.IndexOfAny([char[]]@(' ', "`t", "`n", "`v", '"')) -lt 0) { return $Arg }
    $sb = [Text.StringBuilder]::new('"')
    $i = 0
    while ($i -lt $Arg.Length) {
        $bs = 0
        while ($i -lt $Arg.Length -and $Arg[$i] -eq '\') { $bs++; $i++ }
        if ($i -eq $Arg.Length) { [void]$sb.Append([char]'\', $bs * 2); break }
        if ($Arg[$i] -eq '"') { [void]$sb.Append([char]'\', $bs * 2 + 1).Append('"') }
        else { [void]$sb.Append([char]'\', $bs).Append($Arg[$i]) }
        $i++
    }
    [void]$sb.Append('"')
    $sb.ToString()
}

# Flatten like the native binder (arrays become separate arguments, $null disappears) and join.
function ConvertTo-LabNativeCommandLine {
    param([object[]]$Arguments, [string]$Mode)
    $legacy = ($Mode -eq 'Legacy') -or ($PSVersionTable.PSVersion -lt [version]'7.3')
    $parts = [Collections.Generic.List[string]]::new()
    foreach ($a in $Arguments) {
        foreach ($x in @($a)) {
            if ($null -eq $x) { continue }
            $s = [string]$x
            if ($legacy) {
                if ($s.Length -eq 0) { continue }
                if (Test-LabLegacyNeedsQuotes $s) { $parts.Add('"' + $s + '"') } else { $parts.Add($s) }
            } else { $parts.Add((ConvertTo-LabStandardArg $s)) }
        }
    }
    $parts -join ' '
}

# What the native program's argv[1..] would be after the round trip through one Windows command line.
function Get-LabNativeArgv {
    param([object[]]$Arguments, [string]$Mode)
    Split-LabArgs (ConvertTo-LabNativeCommandLine -Arguments $Arguments -Mode $Mode)
}
