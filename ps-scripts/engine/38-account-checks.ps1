# ---------------------------------------------------------------------------------------------------------------
# "Log on as a service" and the password, checked before a password account is written. Windows checks neither
# when the account is configured, only when the service starts (1069); LogonUserW with LOGON32_LOGON_SERVICE proves
# both beforehand (docs/reference/windows-services.md "Log on as a service right"). The native type is compiled only
# for a request that sets an ordinary (password) account. The password reaches it as a .NET method argument, never
# as a command or function parameter that module logging records (docs/reference/powershell.md).
# ---------------------------------------------------------------------------------------------------------------

# C# 5 (Windows PowerShell 5.1 compiles Add-Type sources with the .NET Framework csc). The lab replaces this type by
# one with the same public surface (src/lab/scm/NativeServiceLogon.cs).
$NativeServiceLogonSource = @'
using System;
using System.Runtime.InteropServices;
using System.Text;

namespace Svcfleet.Native
{
    public static class ServiceLogon
    {
        public const int LOGON32_LOGON_SERVICE = 5;

        private const int LOGON32_PROVIDER_DEFAULT = 0;
        private const uint POLICY_VIEW_LOCAL_INFORMATION = 0x0001;
        private const uint POLICY_CREATE_ACCOUNT = 0x0010;
        private const uint POLICY_LOOKUP_NAMES = 0x0800;
        private const uint STATUS_OBJECT_NAME_NOT_FOUND = 0xC0000034;
        private const string SE_SERVICE_LOGON_NAME = "SeServiceLogonRight";

        [StructLayout(LayoutKind.Sequential)]
        private struct LSA_UNICODE_STRING
        {
            public ushort Length;
            public ushort MaximumLength;
            public IntPtr Buffer;
        }

        [StructLayout(LayoutKind.Sequential)]
        private struct LSA_OBJECT_ATTRIBUTES
        {
            public int Length;
            public IntPtr RootDirectory;
            public IntPtr ObjectName;
            public uint Attributes;
            public IntPtr SecurityDescriptor;
            public IntPtr SecurityQualityOfService;
        }

        [DllImport("advapi32.dll", EntryPoint = "LogonUserW", CharSet = CharSet.Unicode, SetLastError = true)]
        [return: MarshalAs(UnmanagedType.Bool)]
        private static extern bool LogonUser(string user, string domain, string password, int logonType, int provider, out IntPtr token);

        [DllImport("kernel32.dll", SetLastError = true)]
        [return: MarshalAs(UnmanagedType.Bool)]
        private static extern bool CloseHandle(IntPtr handle);

        [DllImport("advapi32.dll", EntryPoint = "LookupAccountNameW", CharSet = CharSet.Unicode, SetLastError = true)]
        [return: MarshalAs(UnmanagedType.Bool)]
        private static extern bool LookupAccountName(string systemName, string accountName, byte[] sid, ref uint sidSize, StringBuilder domain, ref uint domainSize, out int use);

        [DllImport("advapi32.dll")]
        private static extern uint LsaOpenPolicy(IntPtr systemName, ref LSA_OBJECT_ATTRIBUTES attributes, uint access, out IntPtr policy);

        [DllImport("advapi32.dll")]
        private static extern uint LsaEnumerateAccountRights(IntPtr policy, byte[] sid, out IntPtr rights, out uint count);

        [DllImport("advapi32.dll")]
        private static extern uint LsaAddAccountRights(IntPtr policy, byte[] sid, LSA_UNICODE_STRING[] rights, uint count);

        [DllImport("advapi32.dll")]
        private static extern uint LsaFreeMemory(IntPtr buffer);

        [DllImport("advapi32.dll")]
        private static extern uint LsaClose(IntPtr policy);

        [DllImport("advapi32.dll")]
        private static extern int LsaNtStatusToWinError(uint status);

        // ".\user" and "user" are local accounts; "DOMAIN\user" splits; "user@domain" (UPN) goes whole with no domain.
        private static void Split(string account, out string domain, out string user)
        {
            int slash = account.IndexOf('\\');
            if (slash >= 0) { domain = account.Substring(0, slash); user = account.Substring(slash + 1); return; }
            if (account.IndexOf('@') >= 0) { domain = null; user = account; return; }
            domain = "."; user = account;
        }

        // LookupAccountNameW, asked twice (sizes, then data). ".\user" names a local account of this computer.
        // Returns 0 or a Win32 error (1332 ERROR_NONE_MAPPED for an unknown name).
        private static int SidOf(string account, out byte[] sid)
        {
            string name = account.StartsWith(".\\") ? Environment.MachineName + account.Substring(1) : account;
            uint sidSize = 0;
            uint domainSize = 0;
            int use;
            sid = null;
            LookupAccountName(null, name, null, ref sidSize, null, ref domainSize, out use);
            int error = Marshal.GetLastWin32Error();
            if (sidSize == 0) { return error == 0 ? 1332 : error; }
            sid = new byte[sidSize];
            StringBuilder domain = new StringBuilder((int)domainSize + 1);
            domainSize = (uint)domain.Capacity;
            if (!LookupAccountName(null, name, sid, ref sidSize, domain, ref domainSize, out use)) { return Marshal.GetLastWin32Error(); }
            return 0;
        }

        private static int OpenPolicy(uint access, out IntPtr policy)
        {
            LSA_OBJECT_ATTRIBUTES attributes = new LSA_OBJECT_ATTRIBUTES();
            attributes.Length = Marshal.SizeOf(typeof(LSA_OBJECT_ATTRIBUTES));
            return LsaNtStatusToWinError(LsaOpenPolicy(IntPtr.Zero, ref attributes, access, out policy));
        }

        // LogonUserW(LOGON32_LOGON_SERVICE): 0, or 1326 (wrong password or unknown account), 1385 (the account lacks
        // "Log on as a service"), or another Win32 error.
        public static int TestLogon(string account, string password, out string failedApi)
        {
            failedApi = null;
            string domain;
            string user;
            Split(account, out domain, out user);
            IntPtr token;
            if (!LogonUser(user, domain, password, LOGON32_LOGON_SERVICE, LOGON32_PROVIDER_DEFAULT, out token))
            {
                failedApi = "LogonUser";
                return Marshal.GetLastWin32Error();
            }
            CloseHandle(token);
            return 0;
        }

        // LsaEnumerateAccountRights: whether the account holds SeServiceLogonRight (an account with no rights at all
        // answers STATUS_OBJECT_NAME_NOT_FOUND). An unknown account is 1332 (ERROR_NONE_MAPPED).
        public static int HasLogonRight(string account, out bool granted, out string failedApi)
        {
            granted = false;
            failedApi = null;
            byte[] sid;
            int error = SidOf(account, out sid);
            if (error != 0) { failedApi = "LookupAccountName"; return error; }
            IntPtr policy;
            error = OpenPolicy(POLICY_LOOKUP_NAMES | POLICY_VIEW_LOCAL_INFORMATION, out policy);
            if (error != 0) { failedApi = "LsaOpenPolicy"; return error; }
            try
            {
                IntPtr rights;
                uint count;
                uint status = LsaEnumerateAccountRights(policy, sid, out rights, out count);
                if (status == STATUS_OBJECT_NAME_NOT_FOUND) { return 0; }
                if (status != 0) { failedApi = "LsaEnumerateAccountRights"; return LsaNtStatusToWinError(status); }
                try
                {
                    int size = Marshal.SizeOf(typeof(LSA_UNICODE_STRING));
                    for (int i = 0; i < count; i++)
                    {
                        LSA_UNICODE_STRING s = (LSA_UNICODE_STRING)Marshal.PtrToStructure(new IntPtr(rights.ToInt64() + i * size), typeof(LSA_UNICODE_STRING));
                        if (Marshal.PtrToStringUni(s.Buffer, s.Length / 2) == SE_SERVICE_LOGON_NAME) { granted = true; }
                    }
                }
                finally
                {
                    LsaFreeMemory(rights);
                }
                return 0;
            }
            finally
            {
                LsaClose(policy);
            }
        }

        // LsaAddAccountRights(SeServiceLogonRight).
        public static int GrantLogonRight(string account, out string failedApi)
        {
            failedApi = null;
            byte[] sid;
            int error = SidOf(account, out sid);
            if (error != 0) { failedApi = "LookupAccountName"; return error; }
            IntPtr policy;
            error = OpenPolicy(POLICY_LOOKUP_NAMES | POLICY_CREATE_ACCOUNT, out policy);
            if (error != 0) { failedApi = "LsaOpenPolicy"; return error; }
            IntPtr buffer = Marshal.StringToHGlobalUni(SE_SERVICE_LOGON_NAME);
            try
            {
                LSA_UNICODE_STRING[] rights = new LSA_UNICODE_STRING[1];
                rights[0].Buffer = buffer;
                rights[0].Length = (ushort)(SE_SERVICE_LOGON_NAME.Length * 2);
                rights[0].MaximumLength = (ushort)((SE_SERVICE_LOGON_NAME.Length + 1) * 2);
                uint status = LsaAddAccountRights(policy, sid, rights, 1);
                if (status != 0) { failedApi = "LsaAddAccountRights"; return LsaNtStatusToWinError(status); }
                return 0;
            }
            finally
            {
                Marshal.FreeHGlobal(buffer);
                LsaClose(policy);
            }
        }
    }
}
'@

function Initialize-NativeServiceLogon {
  if ('Svcfleet.Native.ServiceLogon' -as [type]) { return }
  try {
    Add-Type -TypeDefinition $NativeServiceLogonSource -ErrorAction Stop
  } catch {
    Stop-Engine 'logon-check-failed' ('cannot compile the LogonUser helper (Add-Type): ' + $_.Exception.Message)
  }
}

# Before an ordinary account (or its password) is written: the account must hold "Log on as a service" - granted
# here only when the request opts in (desired.account.grantLogonRight) and only by apply - and a given password must
# log on with LOGON32_LOGON_SERVICE. $Plan is New-TargetConfig's result (holding the password, so that no function
# parameter ever binds the password itself). -> what was done, for the result; refuses with a reason otherwise.
function Assert-AccountCanLogOn {
  param($Current, $Plan, [bool]$DryRun)
  $name = [string]$Plan.config.account
  if ((Get-AccountKind $name) -ne 'user') { return $null }
  if ((Test-SameValue 'account' $name $Current.account) -and $null -eq $Plan.password) { return $null }
  Initialize-NativeServiceLogon
  $native = 'Svcfleet.Native.ServiceLogon' -as [type]
  $api = $null
  $granted = $false
  $done = [ordered]@{ account = $name; logonRight = 'held'; password = 'not-given' }
  $code = $native::HasLogonRight($name, [ref]$granted, [ref]$api)
  if ($code -eq 1332) { Stop-Engine 'logon-failed' ('the account ' + $name + ' does not exist on the host (' + $api + ': 1332); nothing was changed') 1332 }
  if ($code -ne 0) { Stop-Engine 'logon-check-failed' ('cannot read the rights of ' + $name + ': ' + $api + ' returned ' + $code + '; nothing was changed') $code }
  if (-not $granted) {
    if (-not $Plan.grantLogonRight) {
      Stop-Engine 'logon-right-missing' ($name + ' does not hold "Log on as a service" (SeServiceLogonRight), so the service could not start under it (1069); nothing was changed. Grant the right on the host, or set account.grantLogonRight: true') 1385
    }
    if ($DryRun) {
      $done.logonRight = 'would-grant'
      Send-Event 'plan' ('apply would grant "Log on as a service" to ' + $name) ([ordered]@{ account = $name; grant = 'SeServiceLogonRight' })
      return $done
    }
    $code = $native::GrantLogonRight($name, [ref]$api)
    if ($code -ne 0) { Stop-Engine 'logon-check-failed' ('granting "Log on as a service" to ' + $name + ' failed: ' + $api + ' returned ' + $code + '; nothing was changed') $code }
    $done.logonRight = 'granted'
    Send-Event 'apply' ('granted "Log on as a service" to ' + $name + ' (a rollback does not take it away)') ([ordered]@{ via = 'LsaAddAccountRights'; account = $name; grant = 'SeServiceLogonRight' })
  }
  if ($null -ne $Plan.password) {
    $code = $native::TestLogon($name, [string]$Plan.password, [ref]$api)
    if ($code -eq 1326) { Stop-Engine 'logon-failed' ('the password of ' + $name + ' is wrong, or the account does not exist (LogonUser: 1326); nothing was changed') 1326 }
    if ($code -eq 1385) { Stop-Engine 'logon-right-missing' ($name + ' is not granted a service logon (LogonUser: 1385); nothing was changed') 1385 }
    if ($code -ne 0) { Stop-Engine 'logon-check-failed' ('LogonUser(LOGON32_LOGON_SERVICE) for ' + $name + ' failed: ' + $api + ' returned ' + $code + '; nothing was changed') $code }
    $done.password = 'logs-on'
  }
  Send-Event $(if ($DryRun) { 'plan' } else { 'apply' }) ($name + ' can log on as a service') ([ordered]@{ gate = 'logon'; account = $name; logonRight = $done.logonRight; password = $done.password })
  $done
}
