# ---------------------------------------------------------------------------------------------------------------
# Request access. ConvertFrom-Json gives PSCustomObjects on 5.1 and 7; a property that is present with a null
# value ("environment": null = remove) must be told apart from an absent one.
# ---------------------------------------------------------------------------------------------------------------

function Test-Prop {
  param($Object, [string]$Name)
  if ($null -eq $Object -or $Object -is [string] -or $Object -is [ValueType]) { return $false }
  if ($Object -is [System.Collections.IDictionary]) { return $Object.Contains($Name) }
  $null -ne (Get-PropMember $Object $Name)
}

# A PSObject's property (a note property of a PSCustomObject) by name, or $null. Through PSObject.Members, not the
# PSObject collection of property members only: that collection's name is on PowerShell's list of suspicious script
# content, and the engine must not be logged as a warning for it (docs/reference/powershell.md "Script block logging
# and suspicious content"). A method of the same name is not a property.
function Get-PropMember {
  param($Object, [string]$Name)
  $m = $Object.PSObject.Members[$Name]
  if ($m -is [System.Management.Automation.PSPropertyInfo]) { return $m }
  $null
}

# Returns the value as ONE object (the leading comma stops PowerShell from unrolling an array into the pipeline,
# which would turn @() into $null and @(x) into x). So: assign it or pass it in parentheses; never wrap the call
# itself in @(...) - that would nest the array.
function Get-Prop {
  param($Object, [string]$Name, $Default = $null)
  if (Test-Prop $Object $Name) {
    if ($Object -is [System.Collections.IDictionary]) { return , $Object[$Name] }
    return , (Get-PropMember $Object $Name).Value
  }
  , $Default
}

function Get-PropNames {
  param($Object)
  if ($null -eq $Object) { return }
  if ($Object -is [System.Collections.IDictionary]) { foreach ($k in $Object.Keys) { [string]$k }; return }
  foreach ($p in $Object.PSObject.Members) { if ($p -is [System.Management.Automation.PSPropertyInfo]) { [string]$p.Name } }
}

# ConvertFrom-Json that keeps date-like strings as strings where this PowerShell can (7.5+ -DateKind String).
function ConvertFrom-JsonText {
  param([string]$Text)
  $o = @{ InputObject = $Text }
  if ((Get-Command ConvertFrom-Json).Parameters.ContainsKey('DateKind')) { $o.DateKind = 'String' }
  ConvertFrom-Json @o
}

function Test-Integer {
  param($Value)
  ($Value -is [int] -or $Value -is [long] -or $Value -is [uint32] -or $Value -is [int16] -or $Value -is [byte] -or
    $Value -is [uint16] -or $Value -is [uint64] -or $Value -is [sbyte] -or
    (($Value -is [double] -or $Value -is [decimal]) -and [Math]::Floor($Value) -eq $Value))
}

function Assert-String {
  param($Value, [string]$Field, [int]$Max, [switch]$AllowEmpty)
  if (-not ($Value -is [string])) { Stop-Engine 'bad-request' ("field " + $Field + ": must be a string") }
  if (-not $AllowEmpty -and $Value.Length -eq 0) { Stop-Engine 'bad-request' ("field " + $Field + ": must not be empty") }
  if ($Value.Length -gt $Max) { Stop-Engine 'too-long' ("field " + $Field + ": " + $Value.Length + " characters; Windows allows at most " + $Max) }
  if ($Value.IndexOf([char]0) -ge 0) { Stop-Engine 'bad-request' ("field " + $Field + ": contains a NUL character") }
}

function Assert-IntRange {
  param($Value, [string]$Field, [long]$Min, [long]$Max)
  if (-not (Test-Integer $Value) -or [long]$Value -lt $Min -or [long]$Value -gt $Max) {
    Stop-Engine 'bad-request' ("field " + $Field + ": must be an integer from " + $Min + " to " + $Max)
  }
}

function Assert-OneOf {
  param($Value, [string]$Field, [string[]]$Allowed)
  if (-not ($Value -is [string]) -or -not ($Allowed -ccontains $Value)) {
    Stop-Engine 'bad-request' ("field " + $Field + ": must be one of " + ($Allowed -join ', '))
  }
}

# PowerShell 6.0-7.4 ConvertFrom-Json turns ISO-8601-looking strings into DateTime and loses the original text;
# the bootstrap avoids it on 7.5+ (-DateKind String) and 5.1 never does it. Refuse rather than write altered data.
function Assert-NoDates {
  param($Value, [string]$Path)
  if ($null -eq $Value -or $Value -is [string] -or $Path.EndsWith('.takenAt')) { return }
  if ($Value -is [DateTime] -or $Value -is [DateTimeOffset]) {
    Stop-Engine 'bad-request' ("field " + $Path + ": this PowerShell version (" + $PSVersionTable.PSVersion + ") rewrites date-like strings; run the engine with powershell.exe 5.1 or pwsh 7.5+")
  }
  if ($Value -is [System.Collections.IEnumerable] -and -not ($Value -is [System.Collections.IDictionary])) {
    $i = 0
    foreach ($x in $Value) { Assert-NoDates $x ($Path + '[' + $i + ']'); $i++ }
    return
  }
  if ($Value -is [System.Management.Automation.PSCustomObject]) {
    foreach ($n in @(Get-PropNames $Value)) { Assert-NoDates (Get-Prop $Value $n) ($Path + '.' + $n) }
  }
}
