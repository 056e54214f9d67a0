# svcfleet selftest: the host side of `svcfleet selftest`, separate from the engine on purpose.
#
# Sent exactly like the engine (ps-scripts/bootstrap.ps1 as -EncodedCommand, one JSON line {script, request} on
# stdin): the request is data and never becomes script text. It answers with ONE frame on stdout,
#   <<svcfleet-selftest:<nonce>:<base64 of UTF-8 JSON>>>
# and never uses the engine's functions: what the engine wrote is read back here through sc.exe (qc, qdescription,
# qfailure, qfailureflag, queryex: exit codes and raw output lines, parsed by the controller) and the registry,
# a reading path that shares no code with the engine's reader (CIM + registry).
#
# Operations (request.op):
#   census  the host's service names, the files under %ProgramData%\svcfleet and the selftest's build folder, the
#           local users, who holds "Log on as a service" (SIDs, orphans included) and the user profiles
#   create  compile the scratch service (ScratchService.cs, sent as request.source) and register + start it;
#           with request.dependsOn: a second scratch service on the same executable that depends on that one;
#           with request.share: a scratch service of type 0x20 (SERVICE_WIN32_SHARE_PROCESS) on the same executable
#           and request.binaryPath (every service of one shared process has the same one)
#   read    sc.exe qc / qdescription / qfailure / qfailureflag / queryex of request.name, raw, plus the registry
#           values DisplayName, Description, ImagePath, Environment and FailureActions as stored
#   delete  stop and delete request.name, remove its backups, its build folder (unless request.keepDir) and the
#           folders request.remove
#   user    the scratch local user (request.verb): create it with request.password (ADSI WinNT: the password is a .NET
#           method argument, never a command line), right (does it exist, does it hold "Log on as a service"),
#           revoke (LsaRemoveAccountRights(SeServiceLogonRight)), remove (revoke if held, its profile, then the user:
#           revoked FIRST, or its SID would stay in the rights policy as an orphan)
#   acl     grant (request.grant) or remove a read entry for Users (S-1-5-32-545) on the scratch service's own
#           backup folder, %ProgramData%\svcfleet\backups\<request.name>: the backup folder guard scenario. Only
#           that folder, which the selftest removes at the end, is ever touched.
#
# On an emulated host (the lab: src/lab/, which exposes itself as the EmulatedScm module and SVCFLEET_LAB_STATE)
# there is no sc.exe create/delete and every service process is the lab's own service program
# (src/lab/scm/svcprogram.mjs, the same flags as ScratchService.cs). There, create and delete register and remove
# the scratch record through the emulator's own host-state function. That is the one lab branch, and it is here,
# never in the engine. Runs unchanged on Windows PowerShell 5.1 and PowerShell 7.
param($Request)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$PSNativeCommandUseErrorActionPreference = $false
Set-StrictMode -Off

function Write-SelftestFrame {
  param($Object)
  $json = ConvertTo-Json -InputObject $Object -Depth 8 -Compress
  $b64 = [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes($json))
  [Console]::Out.Write("`n<<svcfleet-selftest:" + [string]$Request.nonce + ':' + $b64 + ">>`n")
  [Console]::Out.Flush()
}

function Test-EmulatedHost {
  [bool]($env:SVCFLEET_LAB_STATE -and (Get-Module -Name EmulatedScm))
}

# A native command's exit code and its output lines, as text (stderr folded in).
# Only plain arguments are passed (names, numbers, paths without quotes), so 5.1's legacy native-argument passing and
# 7's standard passing give the program the same argv.
function Invoke-Raw {
  param([string]$Exe, [string[]]$Arguments)
  # 5.1 turns stderr lines of a redirected native command into terminating errors under 'Stop' (this scope only).
  $ErrorActionPreference = 'Continue'
  $global:LASTEXITCODE = 0
  $lines = @(& $Exe @Arguments 2>&1 | ForEach-Object { [string]$_ })
  @{ exit = [int]$LASTEXITCODE; lines = $lines }
}

function Get-ServiceKeyPath { param([string]$Name) 'HKLM:\SYSTEM\CurrentControlSet\Services\' + $Name }

function Get-StoredValue {
  # The value as stored, or $null when absent. Not Get-ItemProperty: the registry provider returns REG_EXPAND_SZ
  # expanded (ImagePath's %SystemRoot% would read back as C:\Windows although the SCM stored it literally);
  # GetValue with DoNotExpandEnvironmentNames returns it raw (docs/reference/powershell.md "Registry provider and
  # REG_EXPAND_SZ", https://learn.microsoft.com/dotnet/api/microsoft.win32.registrykey.getvalue).
  param([string]$Name, [string]$Value)
  $key = $null
  try {
    $key = Get-Item -LiteralPath (Get-ServiceKeyPath $Name) -ErrorAction Stop
    return $key.GetValue($Value, $null, 'DoNotExpandEnvironmentNames')
  } catch { return $null }
  finally { if ($null -ne $key -and $key.PSObject.Methods['Close']) { $key.Close() } }
}

function Get-SelftestRoot { Join-Path $env:ProgramData 'svcfleet-selftest' }

function Get-FileList {
  param([string]$Root, [string]$Label)
  $out = @()
  if (-not (Test-Path -LiteralPath $Root)) { return $out }
  $out += ($Label + '/')
  foreach ($f in @(Get-ChildItem -LiteralPath $Root -Recurse -Force -ErrorAction SilentlyContinue)) {
    $rel = $f.FullName.Substring($Root.Length).TrimStart('\', '/').Replace('\', '/')
    if ($f.PSIsContainer) { $out += ($Label + '/' + $rel + '/') } else { $out += ($Label + '/' + $rel + ' ' + $f.Length) }
  }
  $out
}

function Invoke-Census {
  $q = Invoke-Raw 'sc.exe' @('query', 'type=', 'service', 'state=', 'all')
  $names = @()
  foreach ($l in $q.lines) { if ($l -match '^SERVICE_NAME:\s*(.+?)\s*$') { $names += $Matches[1] } }
  $files = @()
  $files += Get-FileList (Join-Path $env:ProgramData 'svcfleet') 'svcfleet'
  $files += Get-FileList (Get-SelftestRoot) 'svcfleet-selftest'
  $accounts = Get-AccountCensus
  @{
    ok = ($q.exit -eq 0); exit = $q.exit; services = $names; files = $files; emulated = (Test-EmulatedHost)
    users = @($accounts.users); logonRight = @($accounts.logonRight); profiles = @($accounts.profiles)
  }
}

function Invoke-LabScratch {
  # The emulator's own state function, called in the module's scope (Use-LabHost writes only what it marks dirty).
  param([string]$Verb, [string]$Name, [string]$BinaryPath, [string]$Image, [string[]]$Dependencies, [int]$ServiceType = 16)
  $m = Get-Module -Name EmulatedScm
  & $m {
    param($Verb, $Name, $BinaryPath, $Image, $Dependencies, $ServiceType)
    Use-LabHost -Body {
      param($h)
      if ($Verb -eq 'create') {
        if (Find-LabService -State $h -Name $Name) { throw "the service $Name exists" }
        $h.services[$Name] = @{
          name = $Name; displayName = $Name; description = ''; binaryPath = $BinaryPath; serviceType = $ServiceType
          startType = 'demand'; delayedAutoStart = $false; errorControl = 1; account = 'LocalSystem'; passwordSha256 = $null
          dependencies = @($Dependencies | Where-Object { $_ }); loadOrderGroup = ''; tag = 0
          failure = @{ resetPeriod = 0; rebootMessage = ''; command = ''; actions = @(); nonCrashFailures = $false }
          failureConfigured = $false; registry = @{}; registryDeleted = @(); virtual = $false; stoppable = $true
          status = @{ state = 'stopped'; pid = 0; procStart = $null; win32ExitCode = 0; serviceExitCode = 0 }
        }
        if ($Image) { $h.installedFiles = @($h.installedFiles) + $Image }
      } else {
        $key = $null
        foreach ($k in @($h.services.Keys)) { if ([string]::Equals($k, $Name, [StringComparison]::OrdinalIgnoreCase)) { $key = $k } }
        if ($key) { $h.services.Remove($key) }
        if ($Image) { $h.installedFiles = @($h.installedFiles | Where-Object { $_ -ne $Image }) }
      }
      Set-LabDirty
    } | Out-Null
  } $Verb $Name $BinaryPath $Image $Dependencies $ServiceType
}

function Wait-State {
  param([string]$Name, [string]$Want, [int]$Seconds)
  $until = [DateTime]::UtcNow.AddSeconds($Seconds)
  while ($true) {
    $q = Invoke-Raw 'sc.exe' @('queryex', $Name)
    $state = ''
    foreach ($l in $q.lines) { if ($l -match '^\s*STATE\s*:\s*\d+\s+(\S+)') { $state = $Matches[1] } }
    if ($state -eq $Want) { return $true }
    if ([DateTime]::UtcNow -gt $until) { return $false }
    Start-Sleep -Milliseconds 200
  }
}

function Invoke-Create {
  $name = [string]$Request.name
  $port = [int]$Request.port
  $dir = Join-Path (Get-SelftestRoot) ([string]$Request.id)
  $exe = Join-Path $dir 'scratch.exe'
  $binaryPath = $exe + ' --port ' + $port
  $dependsOn = [string]$Request.dependsOn
  if ($Request.share) {
    # A service of a shared process: the executable built for the scratch service, with the one command line every
    # service of that process shares (it names them all: --services).
    $binaryPath = [string]$Request.binaryPath
    if (Test-EmulatedHost) { Invoke-LabScratch -Verb 'create' -Name $name -BinaryPath $binaryPath -Image '' -ServiceType 0x20; $program = 'lab-svcprogram' }
    else {
      $r = Invoke-Raw 'sc.exe' @('create', $name, 'type=', 'share', 'binPath=', $binaryPath, 'start=', 'demand', 'DisplayName=', $name)
      if ($r.exit -ne 0) { return @{ ok = $false; message = ('sc.exe create failed (' + $r.exit + '): ' + ($r.lines -join ' | ')) } }
      $program = 'scratch-service'
    }
  } elseif (Test-EmulatedHost) {
    if ($dependsOn) { Invoke-LabScratch -Verb 'create' -Name $name -BinaryPath $binaryPath -Image '' -Dependencies @($dependsOn) }
    else { Invoke-LabScratch -Verb 'create' -Name $name -BinaryPath $binaryPath -Image $exe }
    $program = 'lab-svcprogram'
  } elseif ($dependsOn) {
    # The same executable as the service it depends on, already built.
    $r = Invoke-Raw 'sc.exe' @('create', $name, 'binPath=', $binaryPath, 'start=', 'demand', 'DisplayName=', $name, 'depend=', $dependsOn)
    if ($r.exit -ne 0) { return @{ ok = $false; message = ('sc.exe create failed (' + $r.exit + '): ' + ($r.lines -join ' | ')) } }
    $program = 'scratch-service'
  } else {
    [void][IO.Directory]::CreateDirectory($dir)
    $cs = Join-Path $dir 'ScratchService.cs'
    [IO.File]::WriteAllText($cs, [string]$Request.source, (New-Object Text.UTF8Encoding $false))
    # The .NET Framework compiler that ships with Windows: the same under powershell.exe 5.1 and pwsh 7 (pwsh's
    # Add-Type compiles for .NET, which cannot write a Framework service executable).
    $csc = Join-Path $env:WINDIR 'Microsoft.NET\Framework64\v4.0.30319\csc.exe'
    if (-not (Test-Path -LiteralPath $csc)) { $csc = Join-Path $env:WINDIR 'Microsoft.NET\Framework\v4.0.30319\csc.exe' }
    if (Test-Path -LiteralPath $csc) {
      $c = Invoke-Raw $csc @('/nologo', '/target:exe', ('/out:' + $exe), '/reference:System.ServiceProcess.dll', $cs)
      if ($c.exit -ne 0) { return @{ ok = $false; message = ('csc.exe failed (' + $c.exit + '): ' + ($c.lines -join ' | ')) } }
    } elseif ($PSVersionTable.PSEdition -ne 'Core') {
      Add-Type -TypeDefinition ([string]$Request.source) -ReferencedAssemblies 'System.ServiceProcess' -OutputAssembly $exe -OutputType ConsoleApplication
    } else {
      return @{ ok = $false; message = 'no .NET Framework C# compiler (csc.exe) on this host' }
    }
    $r = Invoke-Raw 'sc.exe' @('create', $name, 'binPath=', $binaryPath, 'start=', 'demand', 'DisplayName=', $name)
    if ($r.exit -ne 0) { return @{ ok = $false; message = ('sc.exe create failed (' + $r.exit + '): ' + ($r.lines -join ' | ')) } }
    $program = 'scratch-service'
  }
  $s = Invoke-Raw 'sc.exe' @('start', $name)
  if ($s.exit -ne 0) { return @{ ok = $false; message = ('sc.exe start failed (' + $s.exit + '): ' + ($s.lines -join ' | ')); binaryPath = $binaryPath; program = $program } }
  if (-not (Wait-State $name 'RUNNING' 30)) { return @{ ok = $false; message = 'the scratch service did not reach RUNNING in 30 s'; binaryPath = $binaryPath; program = $program } }
  @{ ok = $true; binaryPath = $binaryPath; program = $program; dir = $dir }
}

function Invoke-Read {
  $name = [string]$Request.name
  $out = @{ ok = $true }
  foreach ($verb in 'qc', 'qdescription', 'qfailure', 'qfailureflag', 'queryex') { $out[$verb] = Invoke-Raw 'sc.exe' @($verb, $name) }
  $envValue = Get-StoredValue $name 'Environment'
  $out.environment = if ($null -eq $envValue) { $null } else { @($envValue | ForEach-Object { [string]$_ }) }
  $out.displayName = Get-StoredValue $name 'DisplayName'
  $out.description = Get-StoredValue $name 'Description'
  $out.imagePath = Get-StoredValue $name 'ImagePath'
  # SERVICE_FAILURE_ACTIONS as stored (REG_BINARY): the only reading that shows a NONE action (sc.exe stops there).
  $fa = Get-StoredValue $name 'FailureActions'
  $out.failureActions = if ($null -eq $fa) { $null } else { [Convert]::ToBase64String([byte[]]$fa) }
  $out
}

function Invoke-Delete {
  $name = [string]$Request.name
  $dir = Join-Path (Get-SelftestRoot) ([string]$Request.id)
  $notes = @()
  $q = Invoke-Raw 'sc.exe' @('queryex', $name)
  if ($q.exit -eq 0) {
    $st = Invoke-Raw 'sc.exe' @('stop', $name)
    if ($st.exit -ne 0 -and $st.exit -ne 1062) { $notes += ('sc.exe stop: ' + $st.exit) }
    if (-not (Wait-State $name 'STOPPED' 60)) { $notes += 'the scratch service did not stop in 60 s' }
    if (Test-EmulatedHost) {
      $image = Join-Path $dir 'scratch.exe'
      if ($Request.keepDir) { $image = '' }
      Invoke-LabScratch -Verb 'delete' -Name $name -BinaryPath '' -Image $image
    } else {
      $d = Invoke-Raw 'sc.exe' @('delete', $name)
      if ($d.exit -ne 0) { $notes += ('sc.exe delete failed (' + $d.exit + '): ' + ($d.lines -join ' | ')) }
      # The SCM removes the record once the last handle is closed: wait for it (1060 = does not exist).
      $until = [DateTime]::UtcNow.AddSeconds(30)
      while ((Invoke-Raw 'sc.exe' @('query', $name)).exit -ne 1060 -and [DateTime]::UtcNow -lt $until) { Start-Sleep -Milliseconds 200 }
    }
  }
  $backups = Join-Path (Join-Path (Join-Path $env:ProgramData 'svcfleet') 'backups') $name
  $gone = @($backups)
  if (-not $Request.keepDir) { $gone += $dir }
  foreach ($p in $gone) {
    if (Test-Path -LiteralPath $p) { Remove-Item -LiteralPath $p -Recurse -Force }
  }
  # Folders the selftest created (absent in the census before): removed when empty, deepest first.
  foreach ($rel in @($Request.remove)) {
    if (-not $rel) { continue }
    $p = Join-Path $env:ProgramData ([string]$rel)
    if ((Test-Path -LiteralPath $p) -and -not @(Get-ChildItem -LiteralPath $p -Force).Count) { Remove-Item -LiteralPath $p -Force }
  }
  @{ ok = ($notes.Count -eq 0); notes = $notes }
}

# --- the scratch local user and "Log on as a service" -----------------------------------------------------------
# Read and revoked through LSA directly (docs/reference/windows-services.md "Local users and the logon right"): the
# policy holds rights by SID, and LsaEnumerateAccountsWithUserRight lists them all, orphaned SIDs of deleted accounts
# included, which is what "as it was" must compare. C# 5 for Windows PowerShell 5.1's Add-Type; compiled only for a
# census or a user operation on a real host. NEVER RUN ON WINDOWS so far: written from Microsoft's documentation.
$script:LsaSource = @'
using System;
using System.Runtime.InteropServices;

namespace SvcfleetSelftest
{
    public static class Lsa
    {
        [StructLayout(LayoutKind.Sequential)] struct UnicodeString { public ushort Length; public ushort MaximumLength; public IntPtr Buffer; }

        [StructLayout(LayoutKind.Sequential)] struct ObjectAttributes { public int Length; public IntPtr RootDirectory; public IntPtr ObjectName; public uint Attributes; public IntPtr SecurityDescriptor; public IntPtr SecurityQualityOfService; }

        [DllImport("advapi32.dll")] static extern uint LsaOpenPolicy(IntPtr systemName, ref ObjectAttributes attributes, uint access, out IntPtr policy);
        [DllImport("advapi32.dll")] static extern uint LsaEnumerateAccountsWithUserRight(IntPtr policy, ref UnicodeString right, out IntPtr buffer, out uint count);
        [DllImport("advapi32.dll")] static extern uint LsaEnumerateAccountRights(IntPtr policy, byte[] sid, out IntPtr rights, out uint count);
        [DllImport("advapi32.dll")] static extern uint LsaRemoveAccountRights(IntPtr policy, byte[] sid, [MarshalAs(UnmanagedType.U1)] bool allRights, UnicodeString[] rights, uint count);
        [DllImport("advapi32.dll")] static extern uint LsaFreeMemory(IntPtr buffer);
        [DllImport("advapi32.dll")] static extern uint LsaClose(IntPtr policy);
        [DllImport("advapi32.dll")] static extern int LsaNtStatusToWinError(uint status);
        [DllImport("advapi32.dll", CharSet = CharSet.Unicode, SetLastError = true)] static extern bool ConvertSidToStringSidW(IntPtr sid, out IntPtr text);
        [DllImport("kernel32.dll")] static extern IntPtr LocalFree(IntPtr mem);

        const uint POLICY_VIEW_LOCAL_INFORMATION = 0x1, POLICY_LOOKUP_NAMES = 0x800;
        const uint STATUS_NO_MORE_ENTRIES = 0x8000001A, STATUS_OBJECT_NAME_NOT_FOUND = 0xC0000034;

        static IntPtr Open()
        {
            ObjectAttributes a = new ObjectAttributes();
            a.Length = Marshal.SizeOf(typeof(ObjectAttributes));
            IntPtr policy;
            uint st = LsaOpenPolicy(IntPtr.Zero, ref a, POLICY_VIEW_LOCAL_INFORMATION | POLICY_LOOKUP_NAMES, out policy);
            if (st != 0) throw Failed("LsaOpenPolicy", LsaNtStatusToWinError(st));
            return policy;
        }

        static Exception Failed(string api, int code) { return new InvalidOperationException(api + " failed: Win32 error " + code); }

        static string SidText(IntPtr sid)
        {
            IntPtr text;
            if (!ConvertSidToStringSidW(sid, out text)) throw Failed("ConvertSidToStringSid", Marshal.GetLastWin32Error());
            try { return Marshal.PtrToStringUni(text); }
            finally { LocalFree(text); }
        }

        static UnicodeString Text(string s)
        {
            UnicodeString u = new UnicodeString();
            u.Buffer = Marshal.StringToHGlobalUni(s);
            u.Length = (ushort)(s.Length * 2);
            u.MaximumLength = (ushort)(s.Length * 2 + 2);
            return u;
        }

        // The SIDs that hold the right (STATUS_NO_MORE_ENTRIES: none).
        public static string[] AccountsWithRight(string right)
        {
            IntPtr policy = Open();
            UnicodeString u = Text(right);
            try
            {
                IntPtr buffer; uint count;
                uint st = LsaEnumerateAccountsWithUserRight(policy, ref u, out buffer, out count);
                if (st == STATUS_NO_MORE_ENTRIES) return new string[0];
                if (st != 0) throw Failed("LsaEnumerateAccountsWithUserRight", LsaNtStatusToWinError(st));
                try
                {
                    string[] sids = new string[count];
                    for (int i = 0; i < count; i++) sids[i] = SidText(Marshal.ReadIntPtr(buffer, i * IntPtr.Size));
                    return sids;
                }
                finally { LsaFreeMemory(buffer); }
            }
            finally { Marshal.FreeHGlobal(u.Buffer); LsaClose(policy); }
        }

        // Whether the SID holds the right (an account with no rights at all: STATUS_OBJECT_NAME_NOT_FOUND).
        public static bool HasRight(byte[] sid, string right)
        {
            IntPtr policy = Open();
            try
            {
                IntPtr buffer; uint count;
                uint st = LsaEnumerateAccountRights(policy, sid, out buffer, out count);
                if (st == STATUS_OBJECT_NAME_NOT_FOUND) return false;
                if (st != 0) throw Failed("LsaEnumerateAccountRights", LsaNtStatusToWinError(st));
                try
                {
                    int size = Marshal.SizeOf(typeof(UnicodeString));
                    for (int i = 0; i < count; i++)
                    {
                        UnicodeString u = (UnicodeString)Marshal.PtrToStructure(IntPtr.Add(buffer, i * size), typeof(UnicodeString));
                        if (string.Equals(Marshal.PtrToStringUni(u.Buffer, u.Length / 2), right, StringComparison.OrdinalIgnoreCase)) return true;
                    }
                    return false;
                }
                finally { LsaFreeMemory(buffer); }
            }
            finally { LsaClose(policy); }
        }

        // LsaRemoveAccountRights for one right; the Win32 error code (0: removed, or not held).
        public static int RemoveRight(byte[] sid, string right)
        {
            IntPtr policy = Open();
            UnicodeString[] rights = new UnicodeString[] { Text(right) };
            try { return LsaNtStatusToWinError(LsaRemoveAccountRights(policy, sid, false, rights, 1)); }
            finally { Marshal.FreeHGlobal(rights[0].Buffer); LsaClose(policy); }
        }
    }
}
'@

function Get-Lsa {
  if (-not ('SvcfleetSelftest.Lsa' -as [type])) { Add-Type -TypeDefinition $script:LsaSource }
  'SvcfleetSelftest.Lsa' -as [type]
}

function Get-LocalComputer { [ADSI]('WinNT://' + $env:COMPUTERNAME + ',computer') }

# -> the user's SID as bytes and text, or $null when there is no such local user.
function Get-UserSid {
  param([string]$Name)
  try { $sid = (New-Object Security.Principal.NTAccount($env:COMPUTERNAME, $Name)).Translate([Security.Principal.SecurityIdentifier]) } catch { return $null }
  $bytes = New-Object byte[] $sid.BinaryLength
  $sid.GetBinaryForm($bytes, 0)
  @{ bytes = $bytes; text = $sid.Value }
}

function Invoke-LabAccounts {
  # The emulator's own account functions, in the module's scope (src/lab/scm/parts/Accounts.ps1).
  param([string]$Command, [hashtable]$Arguments = @{})
  $m = Get-Module -Name EmulatedScm
  & $m { param($Command, $Arguments) & $Command @Arguments } $Command $Arguments
}

function Get-AccountCensus {
  if (Test-EmulatedHost) {
    $c = Invoke-LabAccounts 'Get-LabAccountCensus'
    return @{ users = @($c.users); logonRight = @($c.logonRight); profiles = @() }
  }
  $users = @((Get-LocalComputer).Children | Where-Object { $_.SchemaClassName -eq 'User' } | ForEach-Object { [string]$_.psbase.Name } | Sort-Object)
  $holders = @((Get-Lsa)::AccountsWithRight('SeServiceLogonRight') | Sort-Object)
  # A service that logs on as a user gets a profile (C:\Users\<name>): it outlives the user unless removed.
  $profiles = @(Get-CimInstance -ClassName Win32_UserProfile -ErrorAction Stop | ForEach-Object { [string]$_.SID } | Sort-Object)
  @{ users = $users; logonRight = $holders; profiles = $profiles }
}

function Invoke-User {
  $name = [string]$Request.name
  $verb = [string]$Request.verb
  $emulated = Test-EmulatedHost
  switch ($verb) {
    'create' {
      if ($emulated) {
        $r = Invoke-LabAccounts 'Add-LabLocalUser' @{ Name = $name; Secret = @{ password = [string]$Request.password } }
        return @{ ok = ($r.code -eq 0); code = $r.code; account = ('.\' + $name) }
      }
      $u = (Get-LocalComputer).Create('User', $name)
      $u.SetPassword([string]$Request.password)
      $u.Put('Description', 'svcfleet selftest scratch user: deleted when the selftest ends')
      $u.SetInfo()
      return @{ ok = $true; code = 0; account = ('.\' + $name) }
    }
    'right' {
      if ($emulated) { $r = Invoke-LabAccounts 'Get-LabAccountRight' @{ Account = ('.\' + $name) }; return @{ ok = $true; exists = [bool]$r.exists; granted = [bool]$r.granted } }
      $sid = Get-UserSid $name
      if ($null -eq $sid) { return @{ ok = $true; exists = $false; granted = $false } }
      return @{ ok = $true; exists = $true; granted = [bool]((Get-Lsa)::HasRight($sid.bytes, 'SeServiceLogonRight')); sid = $sid.text }
    }
    'revoke' { return (Remove-UserRight $name) }
    'remove' {
      $notes = @()
      $rv = Remove-UserRight $name
      if (-not $rv.ok) { $notes += ('revoking "Log on as a service" failed: ' + $rv.code) }
      if ($emulated) {
        $r = Invoke-LabAccounts 'Remove-LabLocalUser' @{ Name = $name }
        if ($r.code -ne 0 -and $r.code -ne 2221) { $notes += ('deleting the user failed: ' + $r.code) }
        return @{ ok = ($notes.Count -eq 0); notes = $notes; revoked = $rv.revoked }
      }
      $sid = Get-UserSid $name
      if ($null -ne $sid) {
        # The profile a service logon created, removed while the user still exists (Win32_UserProfile Delete). The SCM
        # may hold it loaded for a moment after the service stopped running as the user: retried for up to 30 s.
        $until = [DateTime]::UtcNow.AddSeconds(30)
        foreach ($p in @(Get-CimInstance -ClassName Win32_UserProfile -ErrorAction SilentlyContinue | Where-Object { [string]$_.SID -eq $sid.text })) {
          while ($true) {
            try { Remove-CimInstance -InputObject $p -ErrorAction Stop; break } catch {
              if ([DateTime]::UtcNow -gt $until) { $notes += ('removing the profile ' + $p.LocalPath + ' failed: ' + $_.Exception.Message); break }
              Start-Sleep -Seconds 1
            }
          }
        }
        try { (Get-LocalComputer).Delete('User', $name) } catch { $notes += ('deleting the user failed: ' + $_.Exception.Message) }
      }
      return @{ ok = ($notes.Count -eq 0); notes = $notes; revoked = $rv.revoked }
    }
    default { return @{ ok = $false; message = ('unknown user verb ' + $verb) } }
  }
}

# Revoke SeServiceLogonRight from the scratch user when it holds it. -> ok, code, revoked.
function Remove-UserRight {
  param([string]$Name)
  if (Test-EmulatedHost) {
    $held = Invoke-LabAccounts 'Get-LabAccountRight' @{ Account = ('.\' + $Name) }
    if (-not $held.granted) { return @{ ok = $true; code = 0; revoked = $false } }
    $r = Invoke-LabAccounts 'Invoke-LabRevokeLogonRight' @{ Account = ('.\' + $Name) }
    return @{ ok = ($r.code -eq 0); code = $r.code; revoked = ($r.code -eq 0) }
  }
  $sid = Get-UserSid $Name
  if ($null -eq $sid) { return @{ ok = $true; code = 0; revoked = $false } }
  $lsa = Get-Lsa
  if (-not $lsa::HasRight($sid.bytes, 'SeServiceLogonRight')) { return @{ ok = $true; code = 0; revoked = $false } }
  $code = $lsa::RemoveRight($sid.bytes, 'SeServiceLogonRight')
  @{ ok = ($code -eq 0); code = $code; revoked = ($code -eq 0) }
}

function Invoke-Acl {
  $dir = Join-Path (Join-Path (Join-Path $env:ProgramData 'svcfleet') 'backups') ([string]$Request.name)
  if (-not (Test-Path -LiteralPath $dir)) { return @{ ok = $false; message = ('no backup folder ' + $dir) } }
  if ($Request.grant) { $r = Invoke-Raw 'icacls.exe' @($dir, '/grant', '*S-1-5-32-545:(R)') }
  else { $r = Invoke-Raw 'icacls.exe' @($dir, '/remove:g', '*S-1-5-32-545') }
  @{ ok = ($r.exit -eq 0); exit = $r.exit; message = ($r.lines -join ' | ') }
}

if ($null -eq $Request) { return }
try {
  $result = switch ([string]$Request.op) {
    'census' { Invoke-Census }
    'create' { Invoke-Create }
    'read' { Invoke-Read }
    'delete' { Invoke-Delete }
    'acl' { Invoke-Acl }
    'user' { Invoke-User }
    default { @{ ok = $false; message = ('unknown op ' + [string]$Request.op) } }
  }
  Write-SelftestFrame $result
  0
} catch {
  Write-SelftestFrame @{ ok = $false; message = ('selftest host script: ' + $_.Exception.Message + ' (line ' + $_.InvocationInfo.ScriptLineNumber + ')') }
  1
}
