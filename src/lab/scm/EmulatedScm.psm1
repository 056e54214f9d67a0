# svcfleet lab: an emulated Windows Service Control Manager for Linux pwsh.
#
# Import it, select a host (env SVCFLEET_LAB_STATE, or Set-LabScmStateDir), and unmodified remote-engine scripts
# written for Windows find sc.exe, icacls.exe, Get-CimInstance/Invoke-CimMethod (Win32_Service), the *-Service
# cmdlets of Windows PowerShell 5.1, HKLM:\SYSTEM\CurrentControlSet\Services\<name> in the registry cmdlets, and
# their native ChangeServiceConfig2W helper behind Add-Type (parts/NativeApi.ps1).
# Facts come from docs/reference/ (windows-services.md, sc-exe.md, powershell.md, windows-cmdline.md), cited by
# file and heading. Never load this on a real Windows host.
#
# Why the public commands are created as GLOBAL functions from text (below) rather than exported: functions
# defined in a module run in the module's session state, so they would not see the caller's
# $PSNativeCommandArgumentPassing or $ErrorActionPreference. Real cmdlets and native programs do; unbound global
# functions do too, and they forward to the module's implementation.

foreach ($part in 'State', 'Process', 'Ops', 'Native', 'ScExe', 'Cim', 'Registry', 'Services', 'Icacls', 'NativeApi', 'EventLog', 'Accounts') {
    . ([IO.Path]::Combine($PSScriptRoot, 'parts', "$part.ps1"))
}

Export-ModuleMember -Function @(
    'Set-LabScmStateDir', 'Get-LabStateDir', 'Invoke-LabScExe', 'Get-LabNativeArgv', 'Invoke-LabIcacls',
    'Get-LabCimServices', 'Invoke-LabCimMethod', 'Invoke-LabRegistry', 'Test-LabServiceKeyPath',
    'Get-LabServiceControllers', 'Invoke-LabServiceCmdlet', 'Split-LabArgs', 'Use-LabHost', 'Find-LabService',
    'Update-LabStatus', 'Get-LabRegistryKeyName', 'ConvertTo-LabItemProperty', 'ConvertTo-LabRegistryKey',
    'ConvertTo-LabRegistryClr', 'Write-LabRegistryError', 'Get-LabRegistryValues', 'Get-LabMessage', 'Set-LabScmStateDir', 'Resolve-LabImage',
    'Test-LabNativeTypeSource', 'Add-LabNativeType', 'Invoke-LabEnableShutdownPrivilege', 'Invoke-LabChangeFailureActions',
    'Invoke-LabChangeDelayedAutoStart',
    'Invoke-LabLogonUser', 'Invoke-LabGetLogonRight', 'Invoke-LabGrantLogonRight', 'Invoke-LabIsProcessCritical', 'Get-LabAcl', 'Get-LabWinEvent'
)

# Bind the host named by the environment now, so that $env:ProgramData points into it before the first SCM call.
if ($env:SVCFLEET_LAB_STATE) { try { Set-LabScmStateDir -Path $env:SVCFLEET_LAB_STATE } catch { } }

# Each function of parts/Wrappers.ps1 becomes an unbound global function (see above). The file is parsed, never run.
# The lab runner and the powershell.exe shim dot-source Wrappers.ps1 at global scope before importing this module
# (same effect, ~0.3 CPU-s cheaper per pwsh start); then there is nothing to do here.
$wrappersPath = [IO.Path]::Combine($PSScriptRoot, 'parts', 'Wrappers.ps1')
$already = $ExecutionContext.InvokeCommand.GetCommand('sc.exe', 'Function')
if (-not ($already -and $already.ScriptBlock.File -and [IO.Path]::GetFullPath($already.ScriptBlock.File) -eq [IO.Path]::GetFullPath($wrappersPath))) {
    $tokens = $null; $errors = $null
    $ast = [System.Management.Automation.Language.Parser]::ParseFile($wrappersPath, [ref]$tokens, [ref]$errors)
    if ($errors.Count) { throw "svcfleet lab: parts/Wrappers.ps1 does not parse: $($errors[0])" }
    $names = @()
    foreach ($fn in $ast.FindAll({ param($a) $a -is [System.Management.Automation.Language.FunctionDefinitionAst] }, $false)) {
        $body = $fn.Body.Extent.Text
        Set-Item -Path "function:global:$($fn.Name)" -Value ([scriptblock]::Create($body.Substring(1, $body.Length - 2)))
        $names += $fn.Name
    }
    $MyInvocation.MyCommand.ScriptBlock.Module.OnRemove = {
        foreach ($n in $names) { Remove-Item -Path "function:global:$n" -ErrorAction SilentlyContinue }
    }.GetNewClosure()
}
