// svcfleet lab: the emulated twin of Svcfleet.Native.ProcessGuard, the P/Invoke type that ps-scripts/native.ps1
// compiles with Add-Type to ask Windows whether a process is critical before the engine ends a service process stuck
// in STOP_PENDING (OpenProcess + IsProcessCritical). kernel32 does not exist here, so the lab's Add-Type compiles THIS
// source instead when it is handed the engine's (parts/NativeApi.ps1). The public surface must stay identical to the
// engine's; the method calls the emulated host in the caller's runspace. What it answers, and where that is
// documented: docs/reference/windows-services.md "Killing a service process".
using System;
using System.Collections;
using System.Collections.ObjectModel;
using System.Management.Automation;

namespace Svcfleet.Native
{
    public static class ProcessGuard
    {
        public static int IsCritical(int processId, out bool critical, out string failedApi)
        {
            Hashtable answer = Call("EmulatedScm\\Invoke-LabIsProcessCritical", new Hashtable { { "ProcessId", processId } });
            failedApi = answer["api"] as string;
            critical = answer["critical"] is bool && (bool)answer["critical"];
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
