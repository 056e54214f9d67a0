// svcfleet selftest: the scratch service. A real Windows service (ServiceBase), compiled ON the host under test
// by the .NET Framework C# compiler (ps-scripts/selftest/host.ps1), registered under a unique name, and deleted
// again when the selftest ends.
//
// It takes the same command line as the lab's service program (src/lab/scm/svcprogram.mjs), parsed like Go's
// `flag` package: --port int, --config string (must exist), --log-level debug|info|warn|error, --workers int,
// --stop-ms int (the stop handler blocks that long before the service stops: "stuck STOP_PENDING");
// -flag value, --flag value and --flag=value; "--" or the first non-flag ends the flags. An unknown flag, a
// missing value or a bad value exits with status 2 (a bad hot-fix really fails to start); a missing config file
// exits with 1. Like the lab's program it reads SVCFLEET_LAB_CRASH_AFTER_MS from its environment and exits with
// status 3 that many milliseconds after reporting RUNNING (the "crash after start" scenario sets it through the
// service's Environment value).
//
// With --port it listens on 127.0.0.1:<port> and answers every connection with "ok" (the engine's port gate only
// connects). The listener is opened BEFORE OnStart returns, so RUNNING means "listening", as in the lab.
//
// --services a,b hosts those services in ONE process (the "shared-process guard" scenario): ServiceBase.Run with more
// than one service registers them all with the SCM as SERVICE_WIN32_SHARE_PROCESS, and each is registered under its
// name with `sc.exe create <name> type= share` and this same command line. The process listens once, for all of them,
// from the first start until the last stop. --stop-ms-service NAME makes only NAME's stop handler take --stop-ms
// (the others stop at once), so one service of the process can be left in STOP_PENDING while the others run.
// Without --services the process runs one service, whatever name it was registered under (own process).
//
// NEVER COMPILED OR RUN ON WINDOWS so far: it is parsed as C# 5 here, and the lab runs src/lab/scm/svcprogram.mjs in
// its place. The multi-service part follows ServiceBase's documented behaviour (docs/reference/windows-services.md
// "Shared-process services").
using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.ServiceProcess;
using System.Text;
using System.Threading;

public static class SvcfleetScratchProgram
{
    public static int Port = 0;
    public static string Config = "";
    public static string LogLevel = "info";
    public static int Workers = 1;
    public static int StopMs = 0;
    public static string[] Services = new string[0];
    public static string StopMsService = "";

    static readonly string[] Levels = { "debug", "info", "warn", "error" };

    // Go's flag package: message, usage, exit 2.
    static int Usage(string message)
    {
        Console.Error.WriteLine(message);
        Console.Error.WriteLine("Usage of svcprogram:\n  -config string\n  -log-level string\n  -port int\n  -services string\n  -stop-ms int\n  -stop-ms-service string\n  -workers int");
        return 2;
    }

    // Returns -1 when the flags are good, else the exit status.
    public static int ParseFlags(string[] argv)
    {
        for (int i = 0; i < argv.Length; i++)
        {
            string a = argv[i];
            if (a == "--") break;
            if (!a.StartsWith("-") || a == "-") break;
            string name = a.TrimStart('-');
            string value = null;
            int eq = name.IndexOf('=');
            if (eq >= 0) { value = name.Substring(eq + 1); name = name.Substring(0, eq); }
            if (name == "h" || name == "help") { Usage(""); return 0; }
            if (name != "port" && name != "config" && name != "log-level" && name != "workers" && name != "stop-ms" &&
                name != "services" && name != "stop-ms-service")
                return Usage("flag provided but not defined: -" + name);
            if (value == null)
            {
                if (i + 1 >= argv.Length) return Usage("flag needs an argument: -" + name);
                value = argv[++i];
            }
            int n;
            switch (name)
            {
                case "port":
                case "workers":
                case "stop-ms":
                    if (!int.TryParse(value, out n)) return Usage("invalid value \"" + value + "\" for flag -" + name + ": parse error");
                    if (name == "port") Port = n; else if (name == "workers") Workers = n; else StopMs = n;
                    break;
                case "services":
                    Services = value.Split(',');
                    foreach (string one in Services)
                    {
                        if (one.Trim().Length == 0) return Usage("invalid value \"" + value + "\" for flag -services: empty service name");
                    }
                    break;
                case "stop-ms-service":
                    StopMsService = value;
                    break;
                case "log-level":
                    if (Array.IndexOf(Levels, value) < 0) return Usage("invalid value \"" + value + "\" for flag -log-level: must be one of debug|info|warn|error");
                    LogLevel = value;
                    break;
                default:
                    Config = value;
                    break;
            }
        }
        if (Port < 0 || Port > 65535) return Usage("invalid value \"" + Port + "\" for flag -port: out of range");
        if (StopMs < 0) return Usage("invalid value \"" + StopMs + "\" for flag -stop-ms: must be >= 0");
        if (Workers < 1) return Usage("invalid value \"" + Workers + "\" for flag -workers: must be >= 1");
        if (Config.Length > 0 && !File.Exists(Config))
        {
            Console.Error.WriteLine("open " + Config + ": no such file or directory");
            return 1;
        }
        return -1;
    }

    public static int Main(string[] args)
    {
        int status = ParseFlags(args);
        if (status >= 0) return status;
        // Run by the SCM: ServiceBase.Run blocks until the service stops. Run from a console (a developer trying
        // it): ServiceBase.Run fails fast with 1063, reported here.
        if (Services.Length == 0)
        {
            ServiceBase.Run(new SvcfleetScratchService("svcfleet-selftest"));
        }
        else
        {
            ServiceBase[] all = new ServiceBase[Services.Length];
            for (int i = 0; i < Services.Length; i++) all[i] = new SvcfleetScratchService(Services[i].Trim());
            ServiceBase.Run(all);
        }
        return Environment.ExitCode;
    }

    // One listener and one crash timer per process, however many of its services run.
    static readonly object Gate = new object();
    static int running;
    static TcpListener listener;
    static Timer crash;

    public static void ServiceStarted()
    {
        lock (Gate)
        {
            if (running++ > 0) return;
            if (Port > 0)
            {
                // A port that cannot be bound fails the start, as the lab's program exits 1.
                listener = new TcpListener(IPAddress.Loopback, Port);
                listener.Start();
                Thread acceptor = new Thread(Accept);
                acceptor.IsBackground = true;
                acceptor.Start(listener);
            }
            string crashMs = Environment.GetEnvironmentVariable("SVCFLEET_LAB_CRASH_AFTER_MS");
            int ms;
            if (crash == null && !string.IsNullOrEmpty(crashMs) && int.TryParse(crashMs, out ms) && ms > 0)
            {
                // Exit without reporting SERVICE_STOPPED: to the SCM this is a crash.
                crash = new Timer(delegate { Environment.Exit(3); }, null, ms, Timeout.Infinite);
            }
        }
    }

    public static void ServiceStopped()
    {
        lock (Gate)
        {
            if (running == 0 || --running > 0) return;
            TcpListener l = listener;
            listener = null;
            if (l != null) l.Stop();
        }
    }

    static void Accept(object state)
    {
        TcpListener l = (TcpListener)state;
        byte[] ok = Encoding.ASCII.GetBytes("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok");
        while (true)
        {
            try
            {
                using (TcpClient c = l.AcceptTcpClient())
                {
                    c.GetStream().Write(ok, 0, ok.Length);
                }
            }
            catch (ObjectDisposedException) { return; }
            catch (SocketException) { if (listener != l) return; }
            catch (InvalidOperationException) { return; }
        }
    }
}

public class SvcfleetScratchService : ServiceBase
{
    public SvcfleetScratchService(string name)
    {
        ServiceName = name;
        CanStop = true;
        CanShutdown = true;
        AutoLog = false;
    }

    protected override void OnStart(string[] startArgs)
    {
        SvcfleetScratchProgram.ServiceStarted();
    }

    protected override void OnStop()
    {
        // ServiceBase reports STOP_PENDING before it calls OnStop and STOPPED after it returns: a handler that
        // blocks leaves the service in STOP_PENDING with a checkpoint that does not move.
        string only = SvcfleetScratchProgram.StopMsService;
        if (SvcfleetScratchProgram.StopMs > 0 && (only.Length == 0 || string.Equals(only, ServiceName, StringComparison.OrdinalIgnoreCase)))
        {
            Thread.Sleep(SvcfleetScratchProgram.StopMs);
        }
        SvcfleetScratchProgram.ServiceStopped();
    }

    protected override void OnShutdown() { OnStop(); }
}
