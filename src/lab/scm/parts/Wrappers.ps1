# The public surface of the emulated host. NOT dot-sourced: EmulatedScm.psm1 parses this file and turns each
# function body into an unbound GLOBAL function, so each sees its caller's preference variables (like a real
# cmdlet or native program would) and forwards to the module (EmulatedScm\...).

function sc.exe {
    # A native program: arguments go through one Windows command line (parts/Native.ps1), output is lines on
    # stdout, the Win32 code lands in $LASTEXITCODE (docs/reference/sc-exe.md#exit-codes).
    $__argv = EmulatedScm\Get-LabNativeArgv -Arguments $args -Mode $PSNativeCommandArgumentPassing
    $__r = EmulatedScm\Invoke-LabScExe -Argv $__argv
    $global:LASTEXITCODE = $__r.exit
    foreach ($__l in $__r.lines) { $__l }
}

function icacls.exe {
    $__argv = EmulatedScm\Get-LabNativeArgv -Arguments $args -Mode $PSNativeCommandArgumentPassing
    $__r = EmulatedScm\Invoke-LabIcacls -Argv $__argv
    $global:LASTEXITCODE = $__r.exit
    foreach ($__l in $__r.lines) { $__l }
}

function Add-Type {
    # The real cmdlet's parameters (PowerShell 7). svcfleet's own P/Invoke type cannot run here (no advapi32): its
    # source gets the emulated twin instead (parts/NativeApi.ps1). Any other call goes to the real cmdlet unchanged.
    [CmdletBinding(DefaultParameterSetName = 'FromSource')]
    param(
        [Parameter(ParameterSetName = 'FromSource', Mandatory, Position = 0)][string]$TypeDefinition,
        [Parameter(ParameterSetName = 'FromMember', Mandatory, Position = 0)][string]$Name,
        [Parameter(ParameterSetName = 'FromMember', Mandatory, Position = 1)][string[]]$MemberDefinition,
        [Parameter(ParameterSetName = 'FromMember')][Alias('NS')][AllowNull()][string]$Namespace,
        [Parameter(ParameterSetName = 'FromMember')][Alias('Using')][ValidateNotNull()][string[]]$UsingNamespace,
        [Parameter(ParameterSetName = 'FromPath', Mandatory, Position = 0)][string[]]$Path,
        [Parameter(ParameterSetName = 'FromLiteralPath', Mandatory)][Alias('PSPath', 'LP')][string[]]$LiteralPath,
        [Parameter(ParameterSetName = 'FromAssemblyName', Mandatory)][Alias('AN')][string[]]$AssemblyName,
        [Parameter(ParameterSetName = 'FromSource')][Parameter(ParameterSetName = 'FromMember')][Microsoft.PowerShell.Commands.Language]$Language,
        [Parameter(ParameterSetName = 'FromSource')][Parameter(ParameterSetName = 'FromMember')][Parameter(ParameterSetName = 'FromPath')][Parameter(ParameterSetName = 'FromLiteralPath')][Alias('RA')][string[]]$ReferencedAssemblies,
        [Parameter(ParameterSetName = 'FromSource')][Parameter(ParameterSetName = 'FromMember')][Parameter(ParameterSetName = 'FromPath')][Parameter(ParameterSetName = 'FromLiteralPath')][Alias('OA')][string]$OutputAssembly,
        [Parameter(ParameterSetName = 'FromSource')][Parameter(ParameterSetName = 'FromMember')][Parameter(ParameterSetName = 'FromPath')][Parameter(ParameterSetName = 'FromLiteralPath')][Alias('OT')][Microsoft.PowerShell.Commands.OutputAssemblyType]$OutputType,
        [switch]$PassThru,
        [Parameter(ParameterSetName = 'FromSource')][Parameter(ParameterSetName = 'FromMember')][Parameter(ParameterSetName = 'FromPath')][Parameter(ParameterSetName = 'FromLiteralPath')][switch]$IgnoreWarnings,
        [Parameter(ParameterSetName = 'FromSource')][Parameter(ParameterSetName = 'FromMember')][Parameter(ParameterSetName = 'FromPath')][Parameter(ParameterSetName = 'FromLiteralPath')][ValidateNotNullOrEmpty()][string[]]$CompilerOptions
    )
    if ($PSCmdlet.ParameterSetName -eq 'FromSource' -and -not $OutputAssembly -and (EmulatedScm\Test-LabNativeTypeSource -Source $TypeDefinition)) {
        EmulatedScm\Add-LabNativeType -Source $TypeDefinition -PassThru:$PassThru
        return
    }
    Microsoft.PowerShell.Utility\Add-Type @PSBoundParameters
}

function Get-CimInstance {
    [CmdletBinding(DefaultParameterSetName = 'ClassNameComputerSet')]
    param(
        [Parameter(ParameterSetName = 'ClassNameComputerSet', Mandatory, Position = 0)][string]$ClassName,
        [Parameter(ParameterSetName = 'ClassNameComputerSet')][string]$Filter,
        [Parameter(ParameterSetName = 'QueryComputerSet', Mandatory)][string]$Query,
        [string]$QueryDialect, [string]$Namespace, [string[]]$Property, [string[]]$ComputerName,
        [switch]$KeyOnly, [switch]$Shallow, [uint32]$OperationTimeoutSec, $CimSession
    )
    foreach ($__o in @(EmulatedScm\Get-LabCimServices -ClassName $ClassName -Filter $Filter -Query $Query)) {
        if ($__o -is [hashtable] -and $__o.labError) {
            $PSCmdlet.WriteError([System.Management.Automation.ErrorRecord]::new([Microsoft.Management.Infrastructure.CimException]::new($__o.labError), "$($__o.id),Microsoft.Management.Infrastructure.CimCmdlets.GetCimInstanceCommand", 'InvalidArgument', $ClassName))
        } else { $__o }
    }
}

function Invoke-CimMethod {
    [CmdletBinding(DefaultParameterSetName = 'CimInstanceComputerSet')]
    param(
        [Parameter(ParameterSetName = 'CimInstanceComputerSet', Mandatory, ValueFromPipeline)][Alias('CimInstance')]$InputObject,
        [Parameter(ParameterSetName = 'QueryComputerSet', Mandatory)][string]$Query,
        [Parameter(ParameterSetName = 'ClassNameComputerSet', Mandatory)][string]$ClassName,
        [Parameter(Mandatory, Position = 1)][Alias('Name')][string]$MethodName,
        [Parameter(Position = 2)][System.Collections.IDictionary]$Arguments,
        [string]$QueryDialect, [string]$Namespace, [string[]]$ComputerName, [uint32]$OperationTimeoutSec, $CimSession
    )
    process {
        $__targets = @()
        if ($PSCmdlet.ParameterSetName -eq 'QueryComputerSet') {
            $__found = @(EmulatedScm\Get-LabCimServices -Query $Query)
            if ($__found.Count -eq 1 -and $__found[0] -is [hashtable] -and $__found[0].labError) {
                $PSCmdlet.WriteError([System.Management.Automation.ErrorRecord]::new([InvalidOperationException]::new($__found[0].labError), "$($__found[0].id),Microsoft.Management.Infrastructure.CimCmdlets.InvokeCimMethodCommand", 'InvalidArgument', $Query)); return
            }
            $__targets = @($__found | ForEach-Object Name)
        }
        elseif ($PSCmdlet.ParameterSetName -eq 'ClassNameComputerSet') {
            $PSCmdlet.WriteError([System.Management.Automation.ErrorRecord]::new([InvalidOperationException]::new("Win32_Service.$MethodName is not a static method (svcfleet lab)"), 'HRESULT 0x80041055', 'InvalidOperation', $ClassName)); return
        } else { $__targets = @($InputObject.Name) }
        foreach ($__t in $__targets) {
            try { $__rv = EmulatedScm\Invoke-LabCimMethod -Name $__t -MethodName $MethodName -Arguments $Arguments }
            catch { $PSCmdlet.WriteError([System.Management.Automation.ErrorRecord]::new($_.Exception, 'HRESULT 0x80041008,Microsoft.Management.Infrastructure.CimCmdlets.InvokeCimMethodCommand', 'InvalidArgument', $__t)); continue }
            if ($__rv -lt 0) {
                $PSCmdlet.WriteError([System.Management.Automation.ErrorRecord]::new([InvalidOperationException]::new('Not found '), 'HRESULT 0x80041002,Microsoft.Management.Infrastructure.CimCmdlets.InvokeCimMethodCommand', 'ObjectNotFound', $__t)); continue
            }
            $__o = [pscustomobject]@{ ReturnValue = [uint32]$__rv; PSComputerName = $null }
            $__o.PSObject.TypeNames.Insert(0, "Microsoft.Management.Infrastructure.CimMethodResult#Win32_Service#$MethodName")
            $__o
        }
    }
}

function Set-CimInstance {
    # Every Win32_Service property except State is read-only (docs/reference/windows-services.md#win32_service-over-cim: "read-only" error).
    [CmdletBinding(SupportsShouldProcess)]
    param(
        [Parameter(Mandatory, ValueFromPipeline)]$InputObject,
        [System.Collections.IDictionary]$Property, [switch]$PassThru, [string[]]$ComputerName, [uint32]$OperationTimeoutSec
    )
    process {
        $__name = if ($Property -and $Property.Count) { @($Property.Keys)[0] } else { 'Description' }
        $PSCmdlet.WriteError([System.Management.Automation.ErrorRecord]::new(
                [InvalidOperationException]::new("Property '$__name' is read-only. Win32_Service cannot be modified with Set-CimInstance; use its Change() method or the SCM (svcfleet lab)."),
                'HRESULT 0x80041024,Microsoft.Management.Infrastructure.CimCmdlets.SetCimInstanceCommand', 'NotImplemented', $InputObject))
    }
}

function Invoke-SvcfleetLabPassThru {
    # Paths outside the Services key go to the real registry/file-system cmdlet, with the caller's parameters. A global
    # function too, so the real cmdlet still sees the caller's preference variables.
    param([string]$Command, [string]$Path, [bool]$Literal, [System.Collections.IDictionary]$Bound)
    $__bp = @{} + $Bound
    [void]$__bp.Remove('Path'); [void]$__bp.Remove('LiteralPath')
    if ($Literal) { $__bp['LiteralPath'] = $Path } else { $__bp['Path'] = $Path }
    & "Microsoft.PowerShell.Management\$Command" @__bp
}

function Get-ItemProperty {
    [CmdletBinding(DefaultParameterSetName = 'Path')]
    param(
        [Parameter(ParameterSetName = 'Path', Mandatory, Position = 0, ValueFromPipelineByPropertyName)][string[]]$Path,
        [Parameter(ParameterSetName = 'LiteralPath', Mandatory, ValueFromPipelineByPropertyName)][Alias('PSPath', 'LP')][string[]]$LiteralPath,
        [Parameter(Position = 1)][Alias('PSProperty')][string[]]$Name,
        [string]$Filter, [string[]]$Include, [string[]]$Exclude, [pscredential]$Credential
    )
    process {
        $__lit = $PSCmdlet.ParameterSetName -eq 'LiteralPath'
        foreach ($__p in @(if ($__lit) { $LiteralPath } else { $Path })) {
            if (-not (EmulatedScm\Test-LabServiceKeyPath $__p)) {
                Invoke-SvcfleetLabPassThru -Command Get-ItemProperty -Path $__p -Literal $__lit -Bound $PSBoundParameters
                continue
            }
            $__r = EmulatedScm\Invoke-LabRegistry -Op 'get-values' -Path $__p -Literal:$__lit
            if (-not $__r.ok) { EmulatedScm\Write-LabRegistryError -Cmdlet $PSCmdlet -Result $__r -Path $__p -Command 'GetItemPropertyCommand'; continue }
            foreach ($__it in $__r.items) {
                if ($Name) {
                    foreach ($__n in $Name) {
                        if (-not ($__it.values.Keys | Where-Object { $_ -ieq $__n })) {
                            EmulatedScm\Write-LabRegistryError -Cmdlet $PSCmdlet -Result @{ error = @{ kind = 'NoProperty'; message = "Property $__n does not exist at path $(EmulatedScm\Get-LabRegistryKeyName $__it.service)." } } -Path $__p -Command 'GetItemPropertyCommand'
                        }
                    }
                    if (-not ($__it.values.Keys | Where-Object { $__k = $_; $Name | Where-Object { $_ -ieq $__k } })) { continue }
                }
                EmulatedScm\ConvertTo-LabItemProperty -Service $__it.service -Values $__it.values -Names $Name
            }
        }
    }
}

function Get-ItemPropertyValue {
    [CmdletBinding(DefaultParameterSetName = 'Path')]
    param(
        [Parameter(ParameterSetName = 'Path', Position = 0, ValueFromPipelineByPropertyName)][string[]]$Path,
        [Parameter(ParameterSetName = 'LiteralPath', Mandatory, ValueFromPipelineByPropertyName)][Alias('PSPath', 'LP')][string[]]$LiteralPath,
        [Parameter(Mandatory, Position = 1)][Alias('PSProperty')][string[]]$Name,
        [string]$Filter, [string[]]$Include, [string[]]$Exclude, [pscredential]$Credential
    )
    process {
        $__lit = $PSCmdlet.ParameterSetName -eq 'LiteralPath'
        foreach ($__p in @(if ($__lit) { $LiteralPath } else { $Path })) {
            if (-not (EmulatedScm\Test-LabServiceKeyPath $__p)) {
                Invoke-SvcfleetLabPassThru -Command Get-ItemPropertyValue -Path $__p -Literal $__lit -Bound $PSBoundParameters
                continue
            }
            $__r = EmulatedScm\Invoke-LabRegistry -Op 'get-values' -Path $__p -Literal:$__lit
            if (-not $__r.ok) { EmulatedScm\Write-LabRegistryError -Cmdlet $PSCmdlet -Result $__r -Path $__p -Command 'GetItemPropertyValueCommand'; continue }
            foreach ($__it in $__r.items) {
                foreach ($__n in $Name) {
                    $__k = $__it.values.Keys | Where-Object { $_ -ieq $__n } | Select-Object -First 1
                    if (-not $__k) {
                        EmulatedScm\Write-LabRegistryError -Cmdlet $PSCmdlet -Result @{ error = @{ kind = 'NoProperty'; message = "Property $__n does not exist at path $(EmulatedScm\Get-LabRegistryKeyName $__it.service)." } } -Path $__p -Command 'GetItemPropertyValueCommand'
                        continue
                    }
                    EmulatedScm\ConvertTo-LabRegistryClr $__it.values[$__k]
                }
            }
        }
    }
}

function Get-Item {
    [CmdletBinding(DefaultParameterSetName = 'Path')]
    param(
        [Parameter(ParameterSetName = 'Path', Mandatory, Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)][string[]]$Path,
        [Parameter(ParameterSetName = 'LiteralPath', Mandatory, ValueFromPipelineByPropertyName)][Alias('PSPath', 'LP')][string[]]$LiteralPath,
        [string]$Filter, [string[]]$Include, [string[]]$Exclude, [switch]$Force, [pscredential]$Credential, [string[]]$Stream
    )
    process {
        $__lit = $PSCmdlet.ParameterSetName -eq 'LiteralPath'
        foreach ($__p in @(if ($__lit) { $LiteralPath } else { $Path })) {
            if (-not (EmulatedScm\Test-LabServiceKeyPath $__p)) {
                Invoke-SvcfleetLabPassThru -Command Get-Item -Path $__p -Literal $__lit -Bound $PSBoundParameters
                continue
            }
            $__r = EmulatedScm\Invoke-LabRegistry -Op 'get-values' -Path $__p -Literal:$__lit
            if (-not $__r.ok) { EmulatedScm\Write-LabRegistryError -Cmdlet $PSCmdlet -Result $__r -Path $__p -Command 'GetItemCommand'; continue }
            foreach ($__it in $__r.items) { EmulatedScm\ConvertTo-LabRegistryKey -Service $__it.service -Values $__it.values }
        }
    }
}

function Get-Acl {
    # Paths of the emulated host's %ProgramData%: an object with the members of FileSystemSecurity that callers use
    # (Owner, AreAccessRulesProtected, GetOwner, GetAccessRules, Access), built from the ACL icacls recorded
    # (parts/Icacls.ps1). SecurityIdentifier cannot be constructed off Windows, so identities are objects with the
    # same Value (the SID string). Any other path goes to the real cmdlet.
    [CmdletBinding(DefaultParameterSetName = 'ByPath')]
    param(
        [Parameter(ParameterSetName = 'ByPath', Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)][string[]]$Path,
        [Parameter(ParameterSetName = 'ByLiteralPath', ValueFromPipelineByPropertyName)][Alias('PSPath', 'LP')][string[]]$LiteralPath,
        [switch]$Audit, [string]$Filter, [string[]]$Include, [string[]]$Exclude
    )
    process {
        $__lit = $PSCmdlet.ParameterSetName -eq 'ByLiteralPath'
        foreach ($__p in @(if ($__lit) { $LiteralPath } else { $Path })) {
            $__a = EmulatedScm\Get-LabAcl -Path $__p
            if ($null -eq $__a) {
                $__e = [System.Management.Automation.ItemNotFoundException]::new("Cannot find path '$__p' because it does not exist.")
                $PSCmdlet.WriteError([System.Management.Automation.ErrorRecord]::new($__e, 'PathNotFound,Microsoft.PowerShell.Commands.GetAclCommand', 'ObjectNotFound', $__p))
                continue
            }
            $__sid = { param($v) [pscustomobject]@{ Value = [string]$v } }
            $__rules = @(foreach ($__g in $__a.entries) {
                [pscustomobject]@{ IdentityReference = (& $__sid $__g.sid); IsInherited = [bool]$__g.inherited; AccessControlType = 'Allow'; FileSystemRights = [string]$__g.perms }
            })
            $__o = [pscustomobject]@{ Path = $__a.path; Owner = $__a.owner; AreAccessRulesProtected = [bool]$__a.protected; Access = $__rules }
            $__o | Add-Member -MemberType NoteProperty -Name __labOwner -Value (& $__sid $__a.owner)
            $__o | Add-Member -MemberType ScriptMethod -Name GetOwner -Value { param($type) $this.__labOwner }
            $__o | Add-Member -MemberType ScriptMethod -Name GetAccessRules -Value {
                param($includeExplicit, $includeInherited, $type)
                , @($this.Access | Where-Object { ($_.IsInherited -and $includeInherited) -or (-not $_.IsInherited -and $includeExplicit) })
            }
            $__o
        }
    }
}

function Test-Path {
    [CmdletBinding(DefaultParameterSetName = 'Path')]
    param(
        [Parameter(ParameterSetName = 'Path', Mandatory, Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)][AllowEmptyString()][AllowNull()][string[]]$Path,
        [Parameter(ParameterSetName = 'LiteralPath', Mandatory, ValueFromPipelineByPropertyName)][Alias('PSPath', 'LP')][AllowEmptyString()][AllowNull()][string[]]$LiteralPath,
        [string]$Filter, [string[]]$Include, [string[]]$Exclude,
        [Microsoft.PowerShell.Commands.TestPathType]$PathType = 'Any', [switch]$IsValid, [pscredential]$Credential,
        [datetime]$OlderThan, [datetime]$NewerThan
    )
    process {
        $__lit = $PSCmdlet.ParameterSetName -eq 'LiteralPath'
        foreach ($__p in @(if ($__lit) { $LiteralPath } else { $Path })) {
            if (-not (EmulatedScm\Test-LabServiceKeyPath $__p)) {
                Invoke-SvcfleetLabPassThru -Command Test-Path -Path $__p -Literal $__lit -Bound $PSBoundParameters
                continue
            }
            if ($IsValid) { $true; continue }
            $__r = EmulatedScm\Invoke-LabRegistry -Op 'test' -Path $__p -Literal:$__lit
            $__r.ok -and $PathType -ne 'Leaf'
        }
    }
}

function Set-ItemProperty {
    [CmdletBinding(DefaultParameterSetName = 'propertyValuePathSet', SupportsShouldProcess)]
    param(
        [Parameter(ParameterSetName = 'propertyValuePathSet', Mandatory, Position = 0, ValueFromPipelineByPropertyName)][string[]]$Path,
        [Parameter(ParameterSetName = 'propertyValueLiteralPathSet', Mandatory, ValueFromPipelineByPropertyName)][Alias('PSPath', 'LP')][string[]]$LiteralPath,
        [Parameter(Mandatory, Position = 1, ValueFromPipelineByPropertyName)][Alias('PSProperty')][string]$Name,
        [Parameter(Position = 2, ValueFromPipelineByPropertyName)][AllowNull()]$Value,
        [Microsoft.Win32.RegistryValueKind]$Type, [switch]$PassThru, [switch]$Force,
        [string]$Filter, [string[]]$Include, [string[]]$Exclude, [pscredential]$Credential
    )
    process {
        $__lit = $PSCmdlet.ParameterSetName -eq 'propertyValueLiteralPathSet'
        foreach ($__p in @(if ($__lit) { $LiteralPath } else { $Path })) {
            if (-not (EmulatedScm\Test-LabServiceKeyPath $__p)) {
                Invoke-SvcfleetLabPassThru -Command Set-ItemProperty -Path $__p -Literal $__lit -Bound $PSBoundParameters
                continue
            }
            if (-not $PSCmdlet.ShouldProcess($__p, 'Set Property')) { continue }
            $__kind = if ($PSBoundParameters.ContainsKey('Type')) { [string]$Type } else { '' }
            $__r = EmulatedScm\Invoke-LabRegistry -Op 'set' -Path $__p -Literal:$__lit -Name $Name -Value $Value -Kind $__kind
            if (-not $__r.ok) { EmulatedScm\Write-LabRegistryError -Cmdlet $PSCmdlet -Result $__r -Path $__p -Command 'SetItemPropertyCommand'; continue }
            if ($PassThru) { foreach ($__it in $__r.items) { EmulatedScm\ConvertTo-LabItemProperty -Service $__it.service -Values $__it.values -Names $__it.name } }
        }
    }
}

function New-ItemProperty {
    [CmdletBinding(DefaultParameterSetName = 'Path', SupportsShouldProcess)]
    param(
        [Parameter(ParameterSetName = 'Path', Mandatory, Position = 0, ValueFromPipelineByPropertyName)][string[]]$Path,
        [Parameter(ParameterSetName = 'LiteralPath', Mandatory, ValueFromPipelineByPropertyName)][Alias('PSPath', 'LP')][string[]]$LiteralPath,
        [Parameter(Mandatory, Position = 1, ValueFromPipelineByPropertyName)][Alias('PSProperty')][string]$Name,
        [Parameter(ValueFromPipelineByPropertyName)][Alias('Type')][string]$PropertyType,
        [Parameter(ValueFromPipelineByPropertyName)][AllowNull()]$Value,
        [switch]$Force, [string]$Filter, [string[]]$Include, [string[]]$Exclude, [pscredential]$Credential
    )
    process {
        $__lit = $PSCmdlet.ParameterSetName -eq 'LiteralPath'
        foreach ($__p in @(if ($__lit) { $LiteralPath } else { $Path })) {
            if (-not (EmulatedScm\Test-LabServiceKeyPath $__p)) {
                Invoke-SvcfleetLabPassThru -Command New-ItemProperty -Path $__p -Literal $__lit -Bound $PSBoundParameters
                continue
            }
            if (-not $PSCmdlet.ShouldProcess($__p, 'New Property')) { continue }
            $__kind = ''
            if ($PropertyType) {
                $__kind = [string]([Microsoft.Win32.RegistryValueKind]$PropertyType)
            }
            $__r = EmulatedScm\Invoke-LabRegistry -Op 'new' -Path $__p -Literal:$__lit -Name $Name -Value $Value -Kind $__kind -Force:$Force
            if (-not $__r.ok) { EmulatedScm\Write-LabRegistryError -Cmdlet $PSCmdlet -Result $__r -Path $__p -Command 'NewItemPropertyCommand'; continue }
            foreach ($__it in $__r.items) { EmulatedScm\ConvertTo-LabItemProperty -Service $__it.service -Values $__it.values -Names $__it.name }
        }
    }
}

function Remove-ItemProperty {
    [CmdletBinding(DefaultParameterSetName = 'Path', SupportsShouldProcess)]
    param(
        [Parameter(ParameterSetName = 'Path', Mandatory, Position = 0, ValueFromPipelineByPropertyName)][string[]]$Path,
        [Parameter(ParameterSetName = 'LiteralPath', Mandatory, ValueFromPipelineByPropertyName)][Alias('PSPath', 'LP')][string[]]$LiteralPath,
        [Parameter(Mandatory, Position = 1, ValueFromPipelineByPropertyName)][Alias('PSProperty')][string[]]$Name,
        [switch]$Force, [string]$Filter, [string[]]$Include, [string[]]$Exclude, [pscredential]$Credential
    )
    process {
        $__lit = $PSCmdlet.ParameterSetName -eq 'LiteralPath'
        foreach ($__p in @(if ($__lit) { $LiteralPath } else { $Path })) {
            if (-not (EmulatedScm\Test-LabServiceKeyPath $__p)) {
                Invoke-SvcfleetLabPassThru -Command Remove-ItemProperty -Path $__p -Literal $__lit -Bound $PSBoundParameters
                continue
            }
            foreach ($__n in $Name) {
                if (-not $PSCmdlet.ShouldProcess($__p, "Remove Property $__n")) { continue }
                $__r = EmulatedScm\Invoke-LabRegistry -Op 'remove' -Path $__p -Literal:$__lit -Name $__n
                if (-not $__r.ok) { EmulatedScm\Write-LabRegistryError -Cmdlet $PSCmdlet -Result $__r -Path $__p -Command 'RemoveItemPropertyCommand' }
            }
        }
    }
}

function Get-Service {
    [CmdletBinding(DefaultParameterSetName = 'Default')]
    param(
        [Parameter(ParameterSetName = 'Default', Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)][Alias('ServiceName')][string[]]$Name,
        [Parameter(ParameterSetName = 'DisplayName', Mandatory)][string[]]$DisplayName,
        [Parameter(ParameterSetName = 'InputObject', ValueFromPipeline)]$InputObject,
        [string[]]$Include, [string[]]$Exclude, [Alias('DS')][switch]$DependentServices,
        [Alias('SDO', 'ServicesDependedOn')][switch]$RequiredServices, [Alias('Cn')][string[]]$ComputerName
    )
    process {
        EmulatedScm\Get-LabServiceControllers -Cmdlet $PSCmdlet -Name $Name -DisplayName $DisplayName -InputObject $InputObject -Include $Include -Exclude $Exclude -DependentServices:$DependentServices -RequiredServices:$RequiredServices
    }
}

function Start-Service {
    [CmdletBinding(DefaultParameterSetName = 'InputObject', SupportsShouldProcess)]
    param(
        [Parameter(ParameterSetName = 'InputObject', Mandatory, Position = 0, ValueFromPipeline)]$InputObject,
        [Parameter(ParameterSetName = 'Default', Mandatory, Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)][Alias('ServiceName')][string[]]$Name,
        [Parameter(ParameterSetName = 'DisplayName', Mandatory)][string[]]$DisplayName,
        [string[]]$Include, [string[]]$Exclude, [switch]$PassThru
    )
    process {
        if ($InputObject -is [string]) { $Name = @($InputObject); $InputObject = $null }
        EmulatedScm\Invoke-LabServiceCmdlet -Cmdlet $PSCmdlet -Verb Start -Name $Name -DisplayName $DisplayName -InputObject $InputObject -Include $Include -Exclude $Exclude -PassThru:$PassThru
    }
}

function Stop-Service {
    [CmdletBinding(DefaultParameterSetName = 'InputObject', SupportsShouldProcess)]
    param(
        [Parameter(ParameterSetName = 'InputObject', Mandatory, Position = 0, ValueFromPipeline)]$InputObject,
        [Parameter(ParameterSetName = 'Default', Mandatory, Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)][Alias('ServiceName')][string[]]$Name,
        [Parameter(ParameterSetName = 'DisplayName', Mandatory)][string[]]$DisplayName,
        [string[]]$Include, [string[]]$Exclude, [switch]$Force, [switch]$NoWait, [switch]$PassThru
    )
    process {
        if ($InputObject -is [string]) { $Name = @($InputObject); $InputObject = $null }
        EmulatedScm\Invoke-LabServiceCmdlet -Cmdlet $PSCmdlet -Verb Stop -Name $Name -DisplayName $DisplayName -InputObject $InputObject -Include $Include -Exclude $Exclude -Force:$Force -NoWait:$NoWait -PassThru:$PassThru
    }
}

function Restart-Service {
    [CmdletBinding(DefaultParameterSetName = 'InputObject', SupportsShouldProcess)]
    param(
        [Parameter(ParameterSetName = 'InputObject', Mandatory, Position = 0, ValueFromPipeline)]$InputObject,
        [Parameter(ParameterSetName = 'Default', Mandatory, Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)][Alias('ServiceName')][string[]]$Name,
        [Parameter(ParameterSetName = 'DisplayName', Mandatory)][string[]]$DisplayName,
        [string[]]$Include, [string[]]$Exclude, [switch]$Force, [switch]$PassThru
    )
    process {
        if ($InputObject -is [string]) { $Name = @($InputObject); $InputObject = $null }
        EmulatedScm\Invoke-LabServiceCmdlet -Cmdlet $PSCmdlet -Verb Restart -Name $Name -DisplayName $DisplayName -InputObject $InputObject -Include $Include -Exclude $Exclude -Force:$Force -PassThru:$PassThru
    }
}

function Set-Service {
    # Windows PowerShell 5.1's parameters (docs/reference/powershell.md#service-cmdlets-in-51-and-7): StartupType is a ServiceStartMode, so
    # AutomaticDelayedStart fails parameter binding; no -Credential, -Force or -SecurityDescriptorSddl.
    [CmdletBinding(DefaultParameterSetName = 'Name', SupportsShouldProcess)]
    param(
        [Parameter(ParameterSetName = 'Name', Mandatory, Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)][Alias('ServiceName', 'SN')][string]$Name,
        [Parameter(ParameterSetName = 'InputObject', ValueFromPipeline)]$InputObject,
        [Parameter(ValueFromPipelineByPropertyName)][Alias('DN')][string]$DisplayName,
        [Parameter(ValueFromPipelineByPropertyName)][string]$Description,
        [Parameter(ValueFromPipelineByPropertyName)][Alias('StartMode', 'SM', 'ST')][System.ServiceProcess.ServiceStartMode]$StartupType,
        [Parameter(ValueFromPipelineByPropertyName)][ValidateSet('Running', 'Stopped', 'Paused')][string]$Status,
        [Parameter(ValueFromPipelineByPropertyName)][Alias('cn')][string[]]$ComputerName,
        [switch]$PassThru
    )
    process {
        $__s = @{}
        if ($PSBoundParameters.ContainsKey('DisplayName')) { $__s.displayName = $DisplayName }
        if ($PSBoundParameters.ContainsKey('Description')) { $__s.description = $Description }
        if ($PSBoundParameters.ContainsKey('StartupType')) {
            $__s.startType = @{ Boot = 'boot'; System = 'system'; Automatic = 'auto'; Manual = 'demand'; Disabled = 'disabled' }[[string]$StartupType]
        }
        if ($PSBoundParameters.ContainsKey('Status')) { $__s.status = $Status }
        $__names = if ($PSCmdlet.ParameterSetName -eq 'Name') { @([WildcardPattern]::Escape($Name)) } else { $null }
        EmulatedScm\Invoke-LabServiceCmdlet -Cmdlet $PSCmdlet -Verb Set -Name $__names -InputObject $InputObject -Settings $__s -PassThru:$PassThru
    }
}

function Get-WinEvent {
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)][hashtable[]]$FilterHashtable,
        [long]$MaxEvents = 0,
        [switch]$Oldest
    )
    foreach ($__f in $FilterHashtable) { EmulatedScm\Get-LabWinEvent -Cmdlet $PSCmdlet -FilterHashtable $__f -MaxEvents $MaxEvents }
}
