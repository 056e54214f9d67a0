# svcfleet native code: the P/Invoke types the engine needs for some requests only, kept out of the engine's text.
#
# PowerShell logs every script block that contains P/Invoke declarations, Add-Type or token-privilege calls as a
# warning (event 4104), whatever the logging policy says (docs/reference/powershell.md "Script block logging and
# suspicious content"), and EDR tools read that log. The engine (ps-scripts/engine/) therefore holds none of it. This
# static text is sent beside the engine on stdin and becomes a script block only when a request needs one of these
# types (the engine's Import-NativeType, ps-scripts/engine/12-native-code.ps1): a password account's logon checks,
# a failure-action list with a NONE action, an explicit write of the delayed auto-start flag, or the critical-process
# check before a service process stuck in STOP_PENDING is ended. Request values never become part of it.
#
# Invoked with the name of one type, it compiles that type; dot-sourced without one (tests), it only defines the
# sources. C# 5 only: Windows PowerShell 5.1 compiles Add-Type sources with the .NET Framework csc
# (test/ps-scripts/compat.test.ts checks them as C# 5). The lab replaces each type by one with the same public
# surface (src/lab/scm/NativeServiceLogon.cs, src/lab/scm/NativeFailureActions.cs, src/lab/scm/NativeProcessGuard.cs;
# docs/lab.md).
param([string]$Type)

# LogonUserW and the LSA calls for "Log on as a service" (docs/reference/windows-services.md "Log on as a service right").
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

# ChangeServiceConfig2W(SERVICE_CONFIG_FAILURE_ACTIONS) through this P/Invoke type. C# 5 only: Windows PowerShell
# 5.1 compiles Add-Type sources with the .NET Framework csc (test/ps-scripts checks the source as C# 5). The lab
# replaces this type by one with the same public surface (src/lab/scm/NativeFailureActions.cs, docs/lab.md).
$NativeFailureActionsSource = @'
using System;
using System.Runtime.InteropServices;

namespace Svcfleet.Native
{
    public static class ServiceFailureActions
    {
        public const uint SERVICE_CHANGE_CONFIG = 0x0002;
        public const uint SERVICE_START = 0x0010;
        public const uint INFINITE = 0xFFFFFFFF;

        private const uint SC_MANAGER_CONNECT = 0x0001;
        private const uint SERVICE_CONFIG_FAILURE_ACTIONS = 2;
        private const uint SERVICE_CONFIG_DELAYED_AUTO_START_INFO = 3;
        private const uint TOKEN_ADJUST_PRIVILEGES = 0x0020;
        private const uint TOKEN_QUERY = 0x0008;
        private const uint SE_PRIVILEGE_ENABLED = 0x0002;
        private const int ERROR_NOT_ALL_ASSIGNED = 1300;

        [StructLayout(LayoutKind.Sequential)]
        private struct SERVICE_FAILURE_ACTIONSW
        {
            public uint dwResetPeriod;
            public IntPtr lpRebootMsg;
            public IntPtr lpCommand;
            public uint cActions;
            public IntPtr lpsaActions;
        }

        [StructLayout(LayoutKind.Sequential)]
        private struct SERVICE_DELAYED_AUTO_START_INFO
        {
            public int fDelayedAutostart;
        }

        [StructLayout(LayoutKind.Sequential)]
        private struct LUID
        {
            public uint LowPart;
            public int HighPart;
        }

        [StructLayout(LayoutKind.Sequential)]
        private struct TOKEN_PRIVILEGES
        {
            public uint PrivilegeCount;
            public LUID Luid;
            public uint Attributes;
        }

        [DllImport("advapi32.dll", EntryPoint = "OpenSCManagerW", CharSet = CharSet.Unicode, SetLastError = true)]
        private static extern IntPtr OpenSCManager(string machineName, string databaseName, uint desiredAccess);

        [DllImport("advapi32.dll", EntryPoint = "OpenServiceW", CharSet = CharSet.Unicode, SetLastError = true)]
        private static extern IntPtr OpenService(IntPtr manager, string serviceName, uint desiredAccess);

        [DllImport("advapi32.dll", EntryPoint = "ChangeServiceConfig2W", SetLastError = true)]
        [return: MarshalAs(UnmanagedType.Bool)]
        private static extern bool ChangeServiceConfig2(IntPtr service, uint infoLevel, ref SERVICE_FAILURE_ACTIONSW info);

        [DllImport("advapi32.dll", EntryPoint = "ChangeServiceConfig2W", SetLastError = true)]
        [return: MarshalAs(UnmanagedType.Bool)]
        private static extern bool ChangeServiceConfig2(IntPtr service, uint infoLevel, ref SERVICE_DELAYED_AUTO_START_INFO info);

        [DllImport("advapi32.dll", SetLastError = true)]
        [return: MarshalAs(UnmanagedType.Bool)]
        private static extern bool CloseServiceHandle(IntPtr handle);

        [DllImport("kernel32.dll")]
        private static extern IntPtr GetCurrentProcess();

        [DllImport("kernel32.dll", SetLastError = true)]
        [return: MarshalAs(UnmanagedType.Bool)]
        private static extern bool CloseHandle(IntPtr handle);

        [DllImport("advapi32.dll", SetLastError = true)]
        [return: MarshalAs(UnmanagedType.Bool)]
        private static extern bool OpenProcessToken(IntPtr process, uint desiredAccess, out IntPtr token);

        [DllImport("advapi32.dll", EntryPoint = "LookupPrivilegeValueW", CharSet = CharSet.Unicode, SetLastError = true)]
        [return: MarshalAs(UnmanagedType.Bool)]
        private static extern bool LookupPrivilegeValue(string systemName, string name, out LUID luid);

        [DllImport("advapi32.dll", SetLastError = true)]
        [return: MarshalAs(UnmanagedType.Bool)]
        private static extern bool AdjustTokenPrivileges(IntPtr token, [MarshalAs(UnmanagedType.Bool)] bool disableAll, ref TOKEN_PRIVILEGES newState, uint length, IntPtr previousState, IntPtr returnLength);

        // Enables SeShutdownPrivilege on this process's token (needed to set an SC_ACTION_REBOOT action).
        // Returns 0 or a Win32 error code; failedApi names the call that failed.
        public static int EnableShutdownPrivilege(out string failedApi)
        {
            failedApi = null;
            IntPtr token;
            if (!OpenProcessToken(GetCurrentProcess(), TOKEN_ADJUST_PRIVILEGES | TOKEN_QUERY, out token))
            {
                failedApi = "OpenProcessToken";
                return Marshal.GetLastWin32Error();
            }
            try
            {
                LUID luid;
                if (!LookupPrivilegeValue(null, "SeShutdownPrivilege", out luid))
                {
                    failedApi = "LookupPrivilegeValue";
                    return Marshal.GetLastWin32Error();
                }
                TOKEN_PRIVILEGES state = new TOKEN_PRIVILEGES();
                state.PrivilegeCount = 1;
                state.Luid = luid;
                state.Attributes = SE_PRIVILEGE_ENABLED;
                bool ok = AdjustTokenPrivileges(token, false, ref state, 0, IntPtr.Zero, IntPtr.Zero);
                // AdjustTokenPrivileges succeeds with ERROR_NOT_ALL_ASSIGNED when the token lacks the privilege.
                int error = Marshal.GetLastWin32Error();
                if (!ok || error == ERROR_NOT_ALL_ASSIGNED)
                {
                    failedApi = "AdjustTokenPrivileges";
                    return error;
                }
                return 0;
            }
            finally
            {
                CloseHandle(token);
            }
        }

        // ChangeServiceConfig2W(SERVICE_CONFIG_FAILURE_ACTIONS) on a handle opened with exactly `access`.
        // rebootMessage and command: "" deletes the value (null would mean "no change", never used here).
        // Zero actions with a non-NULL array deletes the actions and the reset period.
        // Returns 0 or a Win32 error code; failedApi names the call that failed.
        public static int Write(string serviceName, uint access, uint resetPeriod, string rebootMessage, string command, uint[] types, uint[] delays, out string failedApi)
        {
            failedApi = null;
            if (types == null || delays == null || types.Length != delays.Length)
            {
                failedApi = "ChangeServiceConfig2";
                return 87;
            }
            IntPtr manager = OpenSCManager(null, null, SC_MANAGER_CONNECT);
            if (manager == IntPtr.Zero)
            {
                failedApi = "OpenSCManager";
                return Marshal.GetLastWin32Error();
            }
            IntPtr service = IntPtr.Zero;
            IntPtr actions = IntPtr.Zero;
            IntPtr reboot = IntPtr.Zero;
            IntPtr commandLine = IntPtr.Zero;
            try
            {
                service = OpenService(manager, serviceName, access);
                if (service == IntPtr.Zero)
                {
                    failedApi = "OpenService";
                    return Marshal.GetLastWin32Error();
                }
                actions = Marshal.AllocHGlobal(8 * Math.Max(1, types.Length));
                for (int i = 0; i < types.Length; i++)
                {
                    Marshal.WriteInt32(actions, 8 * i, unchecked((int)types[i]));
                    Marshal.WriteInt32(actions, 8 * i + 4, unchecked((int)delays[i]));
                }
                reboot = Marshal.StringToHGlobalUni(rebootMessage == null ? "" : rebootMessage);
                commandLine = Marshal.StringToHGlobalUni(command == null ? "" : command);
                SERVICE_FAILURE_ACTIONSW info = new SERVICE_FAILURE_ACTIONSW();
                info.dwResetPeriod = resetPeriod;
                info.lpRebootMsg = reboot;
                info.lpCommand = commandLine;
                info.cActions = (uint)types.Length;
                info.lpsaActions = actions;
                if (!ChangeServiceConfig2(service, SERVICE_CONFIG_FAILURE_ACTIONS, ref info))
                {
                    failedApi = "ChangeServiceConfig2";
                    return Marshal.GetLastWin32Error();
                }
                return 0;
            }
            finally
            {
                if (commandLine != IntPtr.Zero) { Marshal.FreeHGlobal(commandLine); }
                if (reboot != IntPtr.Zero) { Marshal.FreeHGlobal(reboot); }
                if (actions != IntPtr.Zero) { Marshal.FreeHGlobal(actions); }
                if (service != IntPtr.Zero) { CloseServiceHandle(service); }
                CloseServiceHandle(manager);
            }
        }

        // ChangeServiceConfig2W(SERVICE_CONFIG_DELAYED_AUTO_START_INFO): writes the delayed flag explicitly, true or
        // false, on a handle opened with SERVICE_CHANGE_CONFIG. Returns 0 or a Win32 error code.
        public static int WriteDelayedAutoStart(string serviceName, bool delayed, out string failedApi)
        {
            failedApi = null;
            IntPtr manager = OpenSCManager(null, null, SC_MANAGER_CONNECT);
            if (manager == IntPtr.Zero)
            {
                failedApi = "OpenSCManager";
                return Marshal.GetLastWin32Error();
            }
            IntPtr service = IntPtr.Zero;
            try
            {
                service = OpenService(manager, serviceName, SERVICE_CHANGE_CONFIG);
                if (service == IntPtr.Zero)
                {
                    failedApi = "OpenService";
                    return Marshal.GetLastWin32Error();
                }
                SERVICE_DELAYED_AUTO_START_INFO info = new SERVICE_DELAYED_AUTO_START_INFO();
                info.fDelayedAutostart = delayed ? 1 : 0;
                if (!ChangeServiceConfig2(service, SERVICE_CONFIG_DELAYED_AUTO_START_INFO, ref info))
                {
                    failedApi = "ChangeServiceConfig2";
                    return Marshal.GetLastWin32Error();
                }
                return 0;
            }
            finally
            {
                if (service != IntPtr.Zero) { CloseServiceHandle(service); }
                CloseServiceHandle(manager);
            }
        }
    }
}
'@

# OpenProcess + IsProcessCritical: whether ending a process stops Windows (docs/reference/windows-services.md "Killing a
# service process"). IsProcessCritical exists from Windows 8.1 / Server 2012 R2; older kernel32 lacks the export.
$NativeProcessGuardSource = @'
using System;
using System.Runtime.InteropServices;

namespace Svcfleet.Native
{
    public static class ProcessGuard
    {
        private const uint PROCESS_QUERY_LIMITED_INFORMATION = 0x1000;
        private const int ERROR_PROC_NOT_FOUND = 127;

        [DllImport("kernel32.dll", SetLastError = true)]
        private static extern IntPtr OpenProcess(uint access, [MarshalAs(UnmanagedType.Bool)] bool inheritHandle, int processId);

        [DllImport("kernel32.dll", SetLastError = true)]
        [return: MarshalAs(UnmanagedType.Bool)]
        private static extern bool IsProcessCritical(IntPtr process, [MarshalAs(UnmanagedType.Bool)] out bool critical);

        [DllImport("kernel32.dll", SetLastError = true)]
        [return: MarshalAs(UnmanagedType.Bool)]
        private static extern bool CloseHandle(IntPtr handle);

        // Returns 0 (critical set) or a Win32 error with the call that failed: OpenProcess answers 87 for a PID no
        // process has; 127 (ERROR_PROC_NOT_FOUND) where kernel32 has no IsProcessCritical.
        public static int IsCritical(int processId, out bool critical, out string failedApi)
        {
            critical = false;
            failedApi = null;
            IntPtr process = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, false, processId);
            if (process == IntPtr.Zero)
            {
                failedApi = "OpenProcess";
                return Marshal.GetLastWin32Error();
            }
            try
            {
                if (!IsProcessCritical(process, out critical))
                {
                    failedApi = "IsProcessCritical";
                    return Marshal.GetLastWin32Error();
                }
                return 0;
            }
            catch (EntryPointNotFoundException)
            {
                failedApi = "IsProcessCritical";
                return ERROR_PROC_NOT_FOUND;
            }
            finally
            {
                CloseHandle(process);
            }
        }
    }
}
'@

if (-not $Type) { return }
$source = @{ ServiceLogon = $NativeServiceLogonSource; ServiceFailureActions = $NativeFailureActionsSource; ProcessGuard = $NativeProcessGuardSource }[$Type]
if (-not $source) { throw ('svcfleet native code: no type ' + $Type) }
Add-Type -TypeDefinition $source -ErrorAction Stop
