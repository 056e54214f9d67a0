// svcfleet lab: the emulated twin of Svcfleet.Native.ServiceFailureActions, the P/Invoke type that
// ps-scripts/engine/ compiles with Add-Type to call ChangeServiceConfig2W(SERVICE_CONFIG_FAILURE_ACTIONS and
// SERVICE_CONFIG_DELAYED_AUTO_START_INFO).
// advapi32 does not exist here, so the lab's Add-Type (parts/Wrappers.ps1, parts/NativeApi.ps1) compiles THIS source
// instead when it is handed the engine's. The public surface must stay identical to the engine's (Add-LabNativeType
// compares the two and refuses a mismatch); each method calls the emulated SCM in the caller's runspace.
using System;
using System.Collections;
using System.Collections.ObjectModel;
using System.Management.Automation;

namespace Svcfleet.Native
{
    public static class ServiceFailureActions
    {
        public const uint SERVICE_CHANGE_CONFIG = 0x0002;
        public const uint SERVICE_START = 0x0010;
        public const uint INFINITE = 0xFFFFFFFF;

        public static int EnableShutdownPrivilege(out string failedApi)
        {
            return Call("EmulatedScm\\Invoke-LabEnableShutdownPrivilege", null, out failedApi);
        }

        public static int Write(string serviceName, uint access, uint resetPeriod, string rebootMessage, string command, uint[] types, uint[] delays, out string failedApi)
        {
            var parameters = new Hashtable
            {
                { "Service", serviceName }, { "Access", access }, { "ResetPeriod", resetPeriod },
                { "RebootMessage", rebootMessage }, { "Command", command }, { "Types", types }, { "Delays", delays },
            };
            return Call("EmulatedScm\\Invoke-LabChangeFailureActions", parameters, out failedApi);
        }

        public static int WriteDelayedAutoStart(string serviceName, bool delayed, out string failedApi)
        {
            var parameters = new Hashtable { { "Service", serviceName }, { "Access", SERVICE_CHANGE_CONFIG }, { "Delayed", delayed } };
            return Call("EmulatedScm\\Invoke-LabChangeDelayedAutoStart", parameters, out failedApi);
        }

        // A nested pipeline in the runspace that is calling us (the engine's), so the emulated SCM it imported (and its
        // host state dir) does the work. Its answer is @{ code = <Win32 error>; api = <failed API or $null> }.
        private static int Call(string command, Hashtable parameters, out string failedApi)
        {
            using (PowerShell ps = PowerShell.Create(RunspaceMode.CurrentRunspace))
            {
                ps.AddCommand(command);
                if (parameters != null) { foreach (DictionaryEntry p in parameters) { ps.AddParameter((string)p.Key, p.Value); } }
                Collection<PSObject> result = ps.Invoke();
                if (ps.HadErrors || result.Count != 1 || !(result[0].BaseObject is Hashtable))
                {
                    string why = ps.Streams.Error.Count > 0 ? ps.Streams.Error[0].ToString() : "unexpected result";
                    throw new InvalidOperationException("svcfleet lab: " + command + " failed: " + why);
                }
                Hashtable answer = (Hashtable)result[0].BaseObject;
                failedApi = answer["api"] as string;
                return Convert.ToInt32(answer["code"]);
            }
        }
    }
}
