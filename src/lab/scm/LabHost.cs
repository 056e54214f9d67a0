// Pool-mode host for the lab runner (compiled by pool-worker.ps1 with Add-Type, cached by content hash).
// A hosted runspace has no console host: without a PSHost of our own, `exit <n>` in the bootstrap would end the
// script silently and lose <n>. LabHost records SetShouldExit; its UI writes where powershell.exe's console host
// would (stdout), and FramedWriter carries one call's stdout/stderr to the controller as JSON lines.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Security;
using System.Text;

namespace SvcfleetLab
{
    public sealed class Proto
    {
        private readonly System.IO.TextWriter _w;
        private readonly object _gate = new object();
        public Proto(System.IO.TextWriter w) { _w = w; }
        public void Send(string kind, string data)
        {
            lock (_gate)
            {
                _w.Write("{\"t\":\"" + kind + "\",\"d\":" + System.Text.Json.JsonSerializer.Serialize(data) + "}\n");
                _w.Flush();
            }
        }
        public void Raw(string line) { lock (_gate) { _w.Write(line + "\n"); _w.Flush(); } }
    }

    /// <summary>Buffers text and sends it as {"t":kind,"d":text} lines, one per completed line of output.</summary>
    public sealed class FramedWriter : System.IO.TextWriter
    {
        private readonly Proto _proto;
        private readonly string _kind;
        private readonly StringBuilder _buf = new StringBuilder();
        public FramedWriter(Proto proto, string kind) { _proto = proto; _kind = kind; }
        public override Encoding Encoding { get { return new UTF8Encoding(false); } }
        public override void Write(char value) { lock (_buf) { _buf.Append(value); if (value == '\n') Drain(); } }
        public override void Write(string value)
        {
            if (value == null) return;
            lock (_buf) { _buf.Append(value); if (value.IndexOf('\n') >= 0) Drain(); }
        }
        public override void Write(char[] buffer, int index, int count) { Write(new string(buffer, index, count)); }
        public override void Flush() { lock (_buf) { if (_buf.Length > 0) { _proto.Send(_kind, _buf.ToString()); _buf.Clear(); } } }
        private void Drain()
        {
            string s = _buf.ToString();
            int last = s.LastIndexOf('\n');
            _proto.Send(_kind, s.Substring(0, last + 1));
            _buf.Clear();
            _buf.Append(s.Substring(last + 1));
        }
    }

    public sealed class LabHost : PSHost
    {
        private readonly Guid _id = Guid.NewGuid();
        private readonly LabHostUI _ui;
        public int? ExitCode;
        public LabHost(System.IO.TextWriter stdout) { _ui = new LabHostUI(stdout); }
        public override string Name { get { return "ConsoleHost"; } }
        public override Version Version { get { return typeof(PSHost).Assembly.GetName().Version; } }
        public override Guid InstanceId { get { return _id; } }
        public override PSHostUserInterface UI { get { return _ui; } }
        public LabHostUI LabUI { get { return _ui; } }
        public override CultureInfo CurrentCulture { get { return CultureInfo.CurrentCulture; } }
        public override CultureInfo CurrentUICulture { get { return CultureInfo.CurrentUICulture; } }
        public override void SetShouldExit(int exitCode) { ExitCode = exitCode; }
        public override void EnterNestedPrompt() { throw new NotSupportedException(); }
        public override void ExitNestedPrompt() { throw new NotSupportedException(); }
        public override void NotifyBeginApplication() { }
        public override void NotifyEndApplication() { }
    }

    public sealed class LabHostUI : PSHostUserInterface
    {
        private System.IO.TextWriter _out;
        public LabHostUI(System.IO.TextWriter stdout) { _out = stdout; }
        /// <summary>Point host output at the current call's stdout (a runspace is opened before its call).</summary>
        public void SetOutput(System.IO.TextWriter stdout) { _out = stdout; }
        public override PSHostRawUserInterface RawUI { get { return null; } }
        public override void Write(string value) { _out.Write(value); }
        public override void Write(ConsoleColor f, ConsoleColor b, string value) { _out.Write(value); }
        public override void WriteLine(string value) { _out.Write(value + "\n"); }
        public override void WriteErrorLine(string value) { Console.Error.Write(value + "\n"); }
        public override void WriteDebugLine(string message) { }
        public override void WriteProgress(long sourceId, ProgressRecord record) { }
        public override void WriteVerboseLine(string message) { }
        public override void WriteWarningLine(string message) { }
        // -NonInteractive: anything that would prompt fails, as it does under powershell.exe -NonInteractive.
        public override string ReadLine() { throw new PSInvalidOperationException("PowerShell is in NonInteractive mode. Read and Prompt functionality is not available."); }
        public override SecureString ReadLineAsSecureString() { throw new PSInvalidOperationException("PowerShell is in NonInteractive mode. Read and Prompt functionality is not available."); }
        public override Dictionary<string, PSObject> Prompt(string caption, string message, System.Collections.ObjectModel.Collection<FieldDescription> descriptions) { throw new PSInvalidOperationException("PowerShell is in NonInteractive mode. Read and Prompt functionality is not available."); }
        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName) { throw new PSInvalidOperationException("PowerShell is in NonInteractive mode. Read and Prompt functionality is not available."); }
        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName, PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options) { throw new PSInvalidOperationException("PowerShell is in NonInteractive mode. Read and Prompt functionality is not available."); }
        public override int PromptForChoice(string caption, string message, System.Collections.ObjectModel.Collection<ChoiceDescription> choices, int defaultChoice) { throw new PSInvalidOperationException("PowerShell is in NonInteractive mode. Read and Prompt functionality is not available."); }
    }
}
