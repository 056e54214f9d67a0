# Windows PowerShell 5.1 compatibility check for the scripts that are sent (the bootstrap and the assembled engine):
# parses each file with PowerShell's own parser and walks the AST for syntax, cmdlets, parameters and members that
# exist only in PowerShell 6+/7 (or only in 5.1: the scripts must run on both). Prints one JSON line: [{file, line, rule, text}].
param([Parameter(Mandatory = $true, ValueFromRemainingArguments = $true)][string[]]$Path)
$ErrorActionPreference = 'Stop'

# Cmdlets that Windows PowerShell 5.1 does not have.
$Ps7OnlyCommands = @(
  'Remove-Service', 'Get-Uptime', 'Join-String', 'Test-Json', 'Get-Error', 'ConvertFrom-Markdown', 'Show-Markdown',
  'Get-MarkdownOption', 'Set-MarkdownOption', 'Get-PSSubsystem', 'Enable-ExperimentalFeature',
  'Disable-ExperimentalFeature', 'Get-ExperimentalFeature', 'Start-ThreadJob', 'ConvertTo-CliXml',
  'ConvertFrom-CliXml', 'Get-SecureRandom', 'Wait-Debugger'
)
# Parameters added in 6+/7 (name -> commands). Matched by unique prefix, as PowerShell binds them.
$Ps7OnlyParameters = @(
  @{ command = @('ForEach-Object', 'foreach', '%'); parameter = @('Parallel', 'ThrottleLimit', 'TimeoutSeconds', 'AsJob', 'UseNewRunspace') }
  @{ command = @('ConvertFrom-Json'); parameter = @('AsHashtable', 'Depth', 'NoEnumerate', 'DateKind') }
  @{ command = @('ConvertTo-Json'); parameter = @('AsArray', 'EnumsAsStrings', 'EscapeHandling') }
  @{ command = @('Set-Service'); parameter = @('Credential', 'SecurityDescriptorSddl', 'Force') }
  @{ command = @('Join-Path'); parameter = @('AdditionalChildPath') }
  @{ command = @('Get-Content', 'Set-Content', 'Add-Content'); parameter = @('AsByteStream') }
  @{ command = @('Invoke-WebRequest', 'Invoke-RestMethod', 'iwr', 'irm'); parameter = @('SkipCertificateCheck', 'SkipHttpErrorCheck', 'Authentication', 'StatusCodeVariable', 'ResponseHeadersVariable', 'MaximumRetryCount', 'RetryIntervalSec', 'SslProtocol', 'SkipHeaderValidation', 'Resume', 'HttpVersion') }
  @{ command = @('Get-Date'); parameter = @('AsUTC', 'UnixTimeSeconds') }
  @{ command = @('Split-Path'); parameter = @('LeafBase', 'Extension') }
  @{ command = @('Select-String'); parameter = @('Raw', 'NoEmphasis', 'Culture') }
  @{ command = @('Test-Connection'); parameter = @('TargetName', 'TcpPort', 'Ping', 'Traceroute', 'MtuSize') }
  @{ command = @('Start-Process'); parameter = @('Environment') }
  @{ command = @('Get-ChildItem', 'gci', 'ls', 'dir'); parameter = @('FollowSymlink') }
)
# Service properties that PowerShell 6+ adds to Get-Service output (docs/reference/powershell.md#service-cmdlets-in-51-and-7).
$Ps7ServiceMembers = @('BinaryPathName', 'UserName', 'Description', 'StartupType', 'DelayedAutoStart')
# Types that .NET Framework 4.x lacks, or that need an assembly 5.1 does not load.
$Ps7OnlyTypes = '^(System\.)?(Text\.Json\.|Management\.Automation\.SemanticVersion$|SemanticVersion$|Span|ReadOnlySpan|Memory|Net\.Http\.|Range$|Index$)'

$findings = New-Object System.Collections.ArrayList
function Add-Finding {
  param([string]$File, $Extent, [string]$Rule)
  $text = $Extent.Text
  if ($text.Length -gt 80) { $text = $text.Substring(0, 80) }
  [void]$findings.Add([ordered]@{ file = $File; line = $Extent.StartLineNumber; rule = $Rule; text = $text })
}

function Test-ParamPrefix {
  param([string]$Given, [string]$Full)
  $Given.Length -ge 2 -and $Full.StartsWith($Given, [StringComparison]::OrdinalIgnoreCase)
}

# C# compiled by Add-Type must be C# 5: Windows PowerShell 5.1 compiles it with the .NET Framework 4.x csc. Roslyn
# (which PowerShell 7 ships for its own Add-Type) compiles the source with LanguageVersion C# 5 and reports every
# newer feature (expression-bodied members, $"", out var, nameof, ...) as well as anything that does not compile.
function Test-CSharp5 {
  param([string]$File, [string]$Source, [int]$FirstLine)
  $cs = 'Microsoft.CodeAnalysis.CSharp'
  if (-not ("$cs.CSharpParseOptions" -as [type])) { [void][Reflection.Assembly]::LoadFrom([IO.Path]::Combine($PSHOME, "$cs.dll")) }
  $options = [Microsoft.CodeAnalysis.CSharp.CSharpParseOptions]::Default.WithLanguageVersion([Microsoft.CodeAnalysis.CSharp.LanguageVersion]::CSharp5)
  $tree = [Microsoft.CodeAnalysis.CSharp.CSharpSyntaxTree]::ParseText($Source, $options)
  $runtime = [IO.Path]::GetDirectoryName([object].Assembly.Location)
  $refs = [Microsoft.CodeAnalysis.MetadataReference[]]@(foreach ($dll in @([object].Assembly.Location, [IO.Path]::Combine($runtime, 'System.Runtime.dll'), [System.Management.Automation.PSObject].Assembly.Location)) {
      [Microsoft.CodeAnalysis.MetadataReference]::CreateFromFile($dll)
    })
  $compilation = [Microsoft.CodeAnalysis.CSharp.CSharpCompilation]::Create('compat', [Microsoft.CodeAnalysis.SyntaxTree[]]@($tree), $refs,
    [Microsoft.CodeAnalysis.CSharp.CSharpCompilationOptions]::new([Microsoft.CodeAnalysis.OutputKind]::DynamicallyLinkedLibrary))
  foreach ($d in @($compilation.GetDiagnostics())) {
    if ([string]$d.Severity -ne 'Error') { continue }
    $line = $FirstLine + $d.Location.GetLineSpan().StartLinePosition.Line
    [void]$findings.Add([ordered]@{ file = $File; line = $line; rule = 'csharp5'; text = ($d.Id + ': ' + $d.GetMessage([Globalization.CultureInfo]::InvariantCulture)) })
  }
}

foreach ($file in $Path) {
  $tokens = $null
  $errors = $null
  $ast = [System.Management.Automation.Language.Parser]::ParseFile($file, [ref]$tokens, [ref]$errors)
  foreach ($e in @($errors)) { Add-Finding $file $e.Extent ('parse-error: ' + $e.Message) }

  $bytes = [IO.File]::ReadAllBytes($file)
  for ($i = 0; $i -lt $bytes.Length; $i++) {
    if ($bytes[$i] -gt 127) {
      $line = 1 + @($bytes[0..$i] | Where-Object { $_ -eq 10 }).Count
      [void]$findings.Add([ordered]@{ file = $file; line = $line; rule = 'non-ascii'; text = 'byte ' + $bytes[$i] })
      break
    }
  }

  foreach ($t in @($tokens)) {
    $k = [string]$t.Kind
    if ($k -eq 'AndAnd' -or $k -eq 'OrOr') { Add-Finding $file $t.Extent 'pipeline-chain' }
    if ($t.Kind -eq 'StringExpandable' -or $t.Kind -eq 'HereStringExpandable') {
      if ($t.Text -match '`u\{') { Add-Finding $file $t.Extent 'unicode-escape' }
      if ($t.Text -match '(^|[^`])`e') { Add-Finding $file $t.Extent 'escape-char' }
    }
  }

  # Single-quoted here-strings holding a C# namespace are Add-Type sources (the content starts on the next line).
  foreach ($t in @($tokens)) {
    if ($t.Kind -eq 'HereStringLiteral' -and $t.Value -match '(?m)^\s*namespace\s') { Test-CSharp5 $file $t.Value ($t.Extent.StartLineNumber + 1) }
  }

  # PowerShell scoping is dynamic: a function's local variable hides a script-level variable of the same name
  # (case-insensitive) from every function it calls. Script-level tables must never be shadowed.
  $scriptVars = @{}
  foreach ($st in @($ast.EndBlock.Statements)) {
    if ($st -is [System.Management.Automation.Language.AssignmentStatementAst] -and $st.Left -is [System.Management.Automation.Language.VariableExpressionAst]) {
      $n = $st.Left.VariablePath.UserPath
      if ($n -notmatch 'Preference$' -and -not $st.Left.VariablePath.DriveName) { $scriptVars[$n.ToLowerInvariant()] = $true }
    }
  }
  foreach ($fn in $ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.FunctionDefinitionAst] }, $true)) {
    $locals = @($fn.Body.FindAll({ param($n)
        ($n -is [System.Management.Automation.Language.AssignmentStatementAst] -and $n.Left -is [System.Management.Automation.Language.VariableExpressionAst]) -or
        $n -is [System.Management.Automation.Language.ForEachStatementAst] -or $n -is [System.Management.Automation.Language.ParameterAst] }, $true))
    foreach ($l in $locals) {
      $v = $null
      if ($l -is [System.Management.Automation.Language.AssignmentStatementAst]) { $v = $l.Left }
      elseif ($l -is [System.Management.Automation.Language.ForEachStatementAst]) { $v = $l.Variable }
      else { $v = $l.Name }
      if ($v.VariablePath.DriveName) { continue }
      if ($scriptVars.ContainsKey($v.VariablePath.UserPath.ToLowerInvariant())) { Add-Finding $file $v.Extent ('shadows-script-variable: $' + $v.VariablePath.UserPath) }
    }
  }

  $serviceVars = @{}
  $all = $ast.FindAll({ $true }, $true)
  foreach ($node in $all) {
    $type = $node.GetType().Name
    switch ($type) {
      'TernaryExpressionAst' { Add-Finding $file $node.Extent 'ternary' }
      'PipelineChainAst' { }
      'BinaryExpressionAst' {
        $op = [string]$node.Operator
        if ($op -eq 'QuestionQuestion') { Add-Finding $file $node.Extent 'null-coalescing' }
        if ($op -match 'replace$' -and $node.Right -is [System.Management.Automation.Language.ArrayLiteralAst] -and
          @($node.Right.Elements)[-1] -is [System.Management.Automation.Language.ScriptBlockExpressionAst]) {
          Add-Finding $file $node.Extent 'replace-scriptblock'
        }
      }
      'AssignmentStatementAst' {
        if ([string]$node.Operator -eq 'QuestionQuestionEquals') { Add-Finding $file $node.Extent 'null-coalescing-assignment' }
        $rhs = $node.Right
        if ($node.Left -is [System.Management.Automation.Language.VariableExpressionAst] -and $rhs -is [System.Management.Automation.Language.PipelineAst]) {
          $first = @($rhs.PipelineElements)[0]
          if ($first -is [System.Management.Automation.Language.CommandAst] -and $first.GetCommandName() -in @('Get-Service', 'gsv')) {
            $serviceVars[$node.Left.VariablePath.UserPath] = $true
          }
        }
      }
      'MemberExpressionAst' { if ($node.NullConditional) { Add-Finding $file $node.Extent 'null-conditional-member' } }
      'InvokeMemberExpressionAst' { if ($node.NullConditional) { Add-Finding $file $node.Extent 'null-conditional-member' } }
      'IndexExpressionAst' { if ($node.NullConditional) { Add-Finding $file $node.Extent 'null-conditional-index' } }
      'PipelineAst' { if ($node.Background) { Add-Finding $file $node.Extent 'background-operator' } }
      'ScriptBlockAst' { if ($node.CleanBlock) { Add-Finding $file $node.CleanBlock.Extent 'clean-block' } }
      'TypeExpressionAst' { if ($node.TypeName.FullName -match $Ps7OnlyTypes) { Add-Finding $file $node.Extent 'ps7-type' } }
      'TypeConstraintAst' { if ($node.TypeName.FullName -match $Ps7OnlyTypes) { Add-Finding $file $node.Extent 'ps7-type' } }
      'CommandAst' {
        $name = $node.GetCommandName()
        if (-not $name) { break }
        if ($Ps7OnlyCommands -contains $name) { Add-Finding $file $node.Extent ('ps7-command: ' + $name) }
        $elements = @($node.CommandElements)
        foreach ($rule in $Ps7OnlyParameters) {
          if (-not ($rule.command -contains $name)) { continue }
          foreach ($el in $elements) {
            if ($el -isnot [System.Management.Automation.Language.CommandParameterAst]) { continue }
            foreach ($p in $rule.parameter) {
              if (Test-ParamPrefix $el.ParameterName $p) { Add-Finding $file $el.Extent ('ps7-parameter: ' + $name + ' -' + $p) }
            }
          }
        }
        if ($name -eq 'Join-Path') {
          $positional = @($elements | Select-Object -Skip 1 | Where-Object { $_ -isnot [System.Management.Automation.Language.CommandParameterAst] })
          $named = @($elements | Where-Object { $_ -is [System.Management.Automation.Language.CommandParameterAst] })
          if ($positional.Count - $named.Count -gt 2) { Add-Finding $file $node.Extent 'ps7-parameter: Join-Path -AdditionalChildPath (positional)' }
        }
        if ($name -eq 'Set-Service' -or $name -eq 'New-Service') {
          foreach ($el in $elements) {
            if ($el -is [System.Management.Automation.Language.StringConstantExpressionAst] -and $el.Value -eq 'AutomaticDelayedStart') {
              Add-Finding $file $el.Extent 'ps7-parameter-value: -StartupType AutomaticDelayedStart'
            }
          }
        }
        if (@('Get-Content', 'Set-Content', 'Add-Content') -contains $name) {
          foreach ($el in $elements) {
            if ($el -is [System.Management.Automation.Language.StringConstantExpressionAst] -and $el.Value -eq 'Byte') {
              Add-Finding $file $el.Extent 'ps51-only: -Encoding Byte (PowerShell 7 has -AsByteStream)'
            }
          }
        }
        if ($name -eq 'sc') { Add-Finding $file $node.Extent 'sc-alias: in 5.1 sc is Set-Content; call sc.exe' }
        # Get-Service ... | Select-Object/Where-Object/ForEach-Object/Sort-Object <7-only property>
        $pipe = $node.Parent
        if ($pipe -is [System.Management.Automation.Language.PipelineAst] -and @('Select-Object', 'select', 'Where-Object', 'where', '?', 'ForEach-Object', '%', 'Sort-Object', 'sort', 'Format-Table', 'ft', 'Format-List', 'fl') -contains $name) {
          $head = @($pipe.PipelineElements)[0]
          if ($head -is [System.Management.Automation.Language.CommandAst] -and @('Get-Service', 'gsv') -contains $head.GetCommandName()) {
            foreach ($c in $node.FindAll({ param($n) $n -is [System.Management.Automation.Language.StringConstantExpressionAst] }, $true)) {
              if ($Ps7ServiceMembers -contains $c.Value) { Add-Finding $file $c.Extent ('ps7-member: Get-Service .' + $c.Value) }
            }
          }
        }
      }
    }
    if ($node -is [System.Management.Automation.Language.MemberExpressionAst] -and $node.Member -is [System.Management.Automation.Language.StringConstantExpressionAst] -and
      $Ps7ServiceMembers -contains $node.Member.Value) {
      $target = $node.Expression
      $fromService = $false
      if ($target -is [System.Management.Automation.Language.VariableExpressionAst] -and $serviceVars.ContainsKey($target.VariablePath.UserPath)) { $fromService = $true }
      if ($target -is [System.Management.Automation.Language.ParenExpressionAst]) {
        $inner = $target.Pipeline
        if ($inner -is [System.Management.Automation.Language.PipelineAst]) {
          $head = @($inner.PipelineElements)[0]
          if ($head -is [System.Management.Automation.Language.CommandAst] -and @('Get-Service', 'gsv') -contains $head.GetCommandName()) { $fromService = $true }
        }
      }
      if ($fromService) { Add-Finding $file $node.Extent ('ps7-member: Get-Service .' + $node.Member.Value) }
    }
  }
}
[Console]::Out.WriteLine((ConvertTo-Json -InputObject @($findings) -Depth 5 -Compress))
