// svcfleet lab: the emulated twin of Svcfleet.Native.ServiceLogon, the P/Invoke type that ps-scripts/engine/ compiles
// with Add-Type to check "Log on as a service" and a password before it sets a service account (LogonUserW with
// LOGON32_LOGON_SERVICE, LsaEnumerateAccountRights, LsaAddAccountRights). advapi32 does not exist here, so the lab's
// Add-Type compiles THIS source instead when it is handed the engine's (parts/NativeApi.ps1). The public surface must
// stay identical to the engine's; each method calls the emulated host in the caller's runspace.
using System;
using System.Collections;
using System.Collections.ObjectModel;
using System.Management.Automation;

namespace Svcfleet.Native
{
    public static class ServiceLogon
    {
        public const int LOGON32_LOGON_SERVICE = 5;

        public static int TestLogon(string account, string password, out string failedApi)
        {
            // The password inside a hashtable of its own: a traced (module-logged) parameter shows a hashtable's type name only.
            Hashtable answer = Call("EmulatedScm\\Invoke-LabLogonUser", new Hashtable { { "Account", account }, { "Secret", new Hashtable { { "password", password } } } });
            failedApi = answer["api"] as string;
            return Convert.ToInt32(answer["code"]);
        }

        public static int HasLogonRight(string account, out bool granted, out string failedApi)
        {
            Hashtable answer = Call("EmulatedScm\\Invoke-LabGetLogonRight", new Hashtable { { "Account", account } });
            failedApi = answer["api"] as string;
            granted = answer["granted"] is bool && (bool)answer["granted"];
            return Convert.ToInt32(answer["code"]);
        }

        public static int GrantLogonRight(string account, out string failedApi)
        {
            Hashtable answer = Call("EmulatedScm\\Invoke-LabGrantLogonRight", new Hashtable { { "Account", account } });
            failedApi = answer["api"] as string;
            return Convert.ToInt32(answer["code"]);
        }

        // A nested pipeline in the runspace that is calling us (the engine's), so the emulated host it selected answers.
        private static Hashtable Call(string command, Hashtable parameters)
        {
            using (PowerShell ps = PowerShell.Create(RunspaceMode.CurrentRunspace))
            {
                ps.AddCommand(command);
                foreach (DictionaryEntry p in parameters) { ps.AddParameter((string)p.Key, p.Value); }
                Collection<PSObject> result = ps.Invoke();
                if (ps.HadErrors || result.Count != 1 || !(result[0].BaseObject is Hashtable))
                {
                    string why = ps.Streams.Error.Count > 0 ? ps.Streams.Error[0].ToString() : "unexpected result";
                    throw new InvalidOperationException("svcfleet lab: " + command + " failed: " + why);
                }
                return (Hashtable)result[0].BaseObject;
            }
        }
    }
}
