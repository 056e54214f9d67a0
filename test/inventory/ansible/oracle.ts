/**
 * Running Debian's ansible-core as an oracle: deterministic (an empty ansible.cfg, HOME and temp dirs of our
 * own, no colour, no retry files), and a clear failure when it is not installed.
 *
 * Most of an ansible-* command's CPU time is Python importing ansible (~0.5 s each, on a 2-core machine). So
 * the commands run in a small fork server: one /usr/bin/python3 imports ansible.cli.{inventory,playbook,adhoc}
 * once, then forks a child per command that calls the same `main()` the /usr/bin/ansible-* scripts call, with
 * its own argv, stdout and stderr. `runBinary` runs the real executable, to check the server against it.
 */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ANSIBLE_BIN = '/usr/bin';
/** Debian's interpreter, the one ansible-core is installed for (not a pyenv python3 on PATH). */
const PYTHON = '/usr/bin/python3';
const INSTALL_HINT = "ansible-core is not installed: run `apt-get install -y ansible-core` (the test compares svcfleet with Debian's ansible-inventory)";

export function requireAnsible(): void {
  for (const tool of ['ansible-inventory', 'ansible', 'ansible-playbook', 'ansible-vault']) {
    if (!existsSync(join(ANSIBLE_BIN, tool))) throw new Error(`${join(ANSIBLE_BIN, tool)} not found; ${INSTALL_HINT}`);
  }
}

type Tool = 'ansible-inventory' | 'ansible' | 'ansible-playbook' | 'ansible-vault';
type Result = { stdout: string; stderr: string; code: number };

export interface Oracle {
  dir: string;
  /** Run a command in the fork server (fast). */
  run(tool: Tool, args: string[]): Promise<Result>;
  /** Run the real /usr/bin executable (slow; to cross-check the server). */
  runBinary(tool: Tool, args: string[]): Promise<Result>;
  dispose(): void;
}

const FORK_SERVER = String.raw`
import json, os, sys, tempfile, traceback
import ansible.cli.inventory, ansible.cli.playbook, ansible.cli.adhoc, ansible.cli.vault
MAINS = {"ansible-inventory": ansible.cli.inventory.main, "ansible-playbook": ansible.cli.playbook.main, "ansible": ansible.cli.adhoc.main, "ansible-vault": ansible.cli.vault.main}
for line in sys.stdin:
    req = json.loads(line)
    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    pid = os.fork()
    if pid == 0:
        # stdin is our request pipe: a command must never read it (ansible-vault could).
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        code = 0
        try:
            code = MAINS[req["tool"]]([req["tool"]] + req["args"]) or 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        except BaseException:
            traceback.print_exc()
            code = 99
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    out.seek(0)
    err.seek(0)
    sys.stdout.write(json.dumps({"code": os.waitstatus_to_exitcode(status), "stdout": out.read().decode("utf-8", "replace"), "stderr": err.read().decode("utf-8", "replace")}) + "\n")
    sys.stdout.flush()
`;

export function makeOracle(): Oracle {
  const dir = mkdtempSync(join(tmpdir(), 'svcfleet-ansible-'));
  mkdirSync(join(dir, 'tmp'));
  mkdirSync(join(dir, 'home'));
  writeFileSync(join(dir, 'ansible.cfg'), '');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: join(dir, 'home'),
    LC_ALL: 'C.UTF-8',
    ANSIBLE_CONFIG: join(dir, 'ansible.cfg'),
    ANSIBLE_HOME: join(dir, 'home', '.ansible'),
    ANSIBLE_LOCAL_TEMP: join(dir, 'tmp'),
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_FORCE_COLOR: '0',
    ANSIBLE_RETRY_FILES_ENABLED: '0',
    ANSIBLE_DEPRECATION_WARNINGS: '0',
    ANSIBLE_INVENTORY_UNPARSED_FAILED: '1',
    ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3',
    PYTHONDONTWRITEBYTECODE: '1',
  };
  let server: ChildProcessWithoutNullStreams | undefined;
  let buffered = '';
  const pending: Array<(r: Result) => void> = [];
  let chain: Promise<unknown> = Promise.resolve();
  const start = (): ChildProcessWithoutNullStreams => {
    // cwd is our empty dir, so no playbook-adjacent group_vars/ are picked up by accident.
    const child = spawn(PYTHON, ['-c', FORK_SERVER], { env, cwd: dir });
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        pending.shift()?.(JSON.parse(line) as Result);
      }
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => {
      for (const p of pending.splice(0)) p({ code: code ?? 1, stdout: '', stderr: `oracle server exited: ${stderr}` });
      server = undefined;
    });
    return child;
  };
  return {
    dir,
    run(tool, args) {
      const next = chain.then(
        () =>
          new Promise<Result>((resolve) => {
            server ??= start();
            pending.push(resolve);
            server.stdin.write(`${JSON.stringify({ tool, args })}\n`);
          }),
      );
      chain = next;
      return next;
    },
    runBinary(tool, args) {
      return new Promise((resolve) => {
        execFile(join(ANSIBLE_BIN, tool), args, { env, cwd: dir, maxBuffer: 64 << 20, timeout: 120_000 }, (err, stdout, stderr) => {
          const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
          resolve({ stdout, stderr, code });
        });
      });
    },
    dispose() {
      server?.stdin.end();
      server?.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
