#!/usr/bin/env node
// The lab's "service executable": every installed file of an emulated host runs this program.
// It parses its arguments like Go's `flag` package (so a bad hot-fix really fails to start), listens on the port
// it was given, and tells the emulated SCM it is ready by writing a ready file (the SCM reports START_PENDING
// until then, RUNNING after). Kept tiny: it is started on every service (re)start.
import http from 'node:http';
import fs from 'node:fs';

// --services and --stop-ms-service name the services of a shared process (ps-scripts/selftest/ScratchService.cs hosts
// them all in one process). Here the emulated SCM models the sharing and the per-service stop delay (parts/Ops.ps1
// Stop-LabServiceCore), so the program only accepts them, with the same checks.
const KNOWN = { port: 'int', config: 'string', 'log-level': 'level', workers: 'int', 'stop-ms': 'int', services: 'names', 'stop-ms-service': 'string' };
const LEVELS = ['debug', 'info', 'warn', 'error'];

function fail(message, code = 2) {
  // Go's flag package: message, then usage, exit status 2 (0 for -h/-help).
  process.stderr.write(
    `${message ? `${message}\n` : ''}Usage of svcprogram:\n  -config string\n  -log-level string\n  -port int\n  -services string\n  -stop-ms int\n  -stop-ms-service string\n  -workers int\n`,
  );
  finish(code);
}

const ctl = {
  ready: process.env.SVCFLEET_LAB_READY_FILE,
  exit: process.env.SVCFLEET_LAB_EXIT_FILE,
  hang: process.env.SVCFLEET_LAB_HANG === '1',
  crashAfterMs: Number(process.env.SVCFLEET_LAB_CRASH_AFTER_MS ?? '') || 0,
};

function finish(code) {
  if (ctl.exit) {
    try {
      fs.writeFileSync(ctl.exit, String(code));
    } catch {
      /* state dir gone: nothing to report to */
    }
  }
  process.exit(code);
}

const opts = { port: 0, config: '', 'log-level': 'info', workers: 1, 'stop-ms': 0, services: [], 'stop-ms-service': '' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  // Go's flag parsing stops at the first non-flag argument and at "--".
  if (a === '--') break;
  if (!a.startsWith('-') || a === '-') break;
  let name = a.replace(/^--?/, '');
  let value;
  const eq = name.indexOf('=');
  if (eq >= 0) {
    value = name.slice(eq + 1);
    name = name.slice(0, eq);
  }
  if (name === 'h' || name === 'help') fail('', 0);
  const kind = KNOWN[name];
  if (!kind) fail(`flag provided but not defined: -${name}`);
  if (value === undefined) {
    if (i + 1 >= argv.length) fail(`flag needs an argument: -${name}`);
    value = argv[++i];
  }
  if (kind === 'int') {
    if (!/^-?\d+$/.test(value)) fail(`invalid value "${value}" for flag -${name}: parse error`);
    opts[name] = Number(value);
  } else if (kind === 'names') {
    const names = value.split(',');
    if (names.some((n) => n.trim() === '')) fail(`invalid value "${value}" for flag -${name}: empty service name`);
    opts[name] = names;
  } else if (kind === 'level') {
    if (!LEVELS.includes(value)) fail(`invalid value "${value}" for flag -${name}: must be one of ${LEVELS.join('|')}`);
    opts[name] = value;
  } else {
    opts[name] = value;
  }
}
if (opts.port < 0 || opts.port > 65535) fail(`invalid value "${opts.port}" for flag -port: out of range`);
if (opts.workers < 1) fail(`invalid value "${opts.workers}" for flag -workers: must be >= 1`);
if (opts['stop-ms'] < 0) fail(`invalid value "${opts['stop-ms']}" for flag -stop-ms: must be >= 0`);
if (opts.config && !fs.existsSync(opts.config)) {
  // A missing config file is a runtime failure (exit 1), not a usage error.
  process.stderr.write(`open ${opts.config}: no such file or directory\n`);
  finish(1);
}

function log(level, msg) {
  if (LEVELS.indexOf(level) >= LEVELS.indexOf(opts['log-level'])) {
    process.stdout.write(`${new Date().toISOString()} ${level} ${msg}\n`);
  }
}

function ready() {
  if (ctl.hang) return; // start-timeout fault: never report RUNNING
  if (ctl.ready) fs.writeFileSync(ctl.ready, String(process.pid));
  log('info', `ready pid=${process.pid} port=${opts.port}`);
  if (ctl.crashAfterMs > 0) {
    setTimeout(() => {
      log('error', 'crash-after-start fault: exiting');
      finish(3);
    }, ctl.crashAfterMs);
  }
}

// --stop-ms N: a stop handler like a Go service's (golang.org/x/sys/windows/svc): the control is taken at once, but
// the program cleans up for N ms before it exits, still reporting RUNNING, and takes no other control meanwhile
// (the emulated SCM models the reported state, parts/Ops.ps1 Stop-LabServiceCore).
let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  log('info', 'stop requested');
  if (opts['stop-ms'] > 0) setTimeout(() => finish(0), opts['stop-ms']);
  else finish(0);
});
process.on('SIGINT', () => finish(0));

if (opts.port > 0) {
  const server = http.createServer((req, res) => {
    const send = (body, type = 'application/json') => {
      res.writeHead(200, { 'content-type': type });
      res.end(body);
    };
    if (req.url === '/env') return send(JSON.stringify(process.env));
    if (req.url === '/args') return send(JSON.stringify(process.argv.slice(2)));
    if (req.url === '/info') return send(JSON.stringify({ pid: process.pid, opts }));
    if (req.url === '/' || req.url === '/health') return send('ok', 'text/plain');
    res.writeHead(404);
    res.end('not found');
  });
  server.on('error', (err) => {
    process.stderr.write(`listen tcp 127.0.0.1:${opts.port}: ${err.code === 'EADDRINUSE' ? 'bind: address already in use' : err.message}\n`);
    finish(1);
  });
  server.listen(opts.port, '127.0.0.1', ready);
} else {
  // No port: nothing to serve, but stay alive like a service would.
  setInterval(() => {}, 1 << 30);
  ready();
}
