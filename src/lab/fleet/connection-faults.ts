/**
 * The lab fleet's connection faults, set off by the remote engine itself at an exact point of its transaction:
 *
 *   sshd-restart  the host's sshd is restarted (stopped with every session it carries, then started again on the
 *                 same address, port, config and host key): the engine's session is cut under it. A plain service
 *                 restart would leave the session running (docs/reference/ssh.md#restarting-sshd-and-established-sessions)
 *   winrm-reset   the host's WS-Management listener resets its connections (TCP RST) while a Receive waits on
 *                 one, or at the next Receive; the command runs on, as a WinRS command outlives its connection
 *                 (docs/reference/winrm.md#a-shell-outlives-its-connection), until the client's cleanup ends it
 *   link-stall    the proxy between controller and host stops passing bytes both ways on the open connections and
 *                 keeps them open; the engine runs on and completes, its output goes nowhere
 *
 * The point is an SCM `connection-fault` (fault-spec.ts maps `link-stall:ops=config:nth=2:when=after` to one): at that
 * call the emulated SCM writes the file `connection-fault` (holding the caller's pid) into the host's state dir and
 * waits until the file is gone (src/lab/scm/parts/State.ps1 Wait-LabConnectionFault). The lab acts, and removes the
 * file once the fault has taken effect: for sshd-restart, once the caller is dead (its session's processes are
 * ended with it), so the engine goes no step further than the chosen point.
 */
import { existsSync, readFileSync, rmSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { processAlive } from '../scm/state.js';

export const CONNECTION_FAULT_FILE = 'connection-fault';

export interface ConnectionFaultWatch {
  close(): void;
}

/**
 * Watches `stateDir` for the engine's signal and runs `act` once per signal. `endsCaller`: the fault ends the
 * caller (wait for its death before letting go of the file). Errors of `act` go to `onError`; the file is removed
 * anyway so that the engine is never left waiting on a fault that did not happen.
 */
export function watchConnectionFault(o: {
  stateDir: string;
  act: () => Promise<void> | void;
  endsCaller: boolean;
  onError?: (err: unknown) => void;
}): ConnectionFaultWatch {
  const file = join(o.stateDir, CONNECTION_FAULT_FILE);
  let busy = false;
  let closed = false;
  const check = async (): Promise<void> => {
    if (busy || closed || !existsSync(file)) return;
    busy = true;
    try {
      const pid = Number(readFileSync(file, 'utf8').trim());
      try {
        await o.act();
      } catch (err) {
        o.onError?.(err);
      }
      if (o.endsCaller && Number.isInteger(pid) && pid > 0) {
        const end = Date.now() + 10_000;
        while (!closed && processAlive(pid, null) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      }
    } catch (err) {
      o.onError?.(err);
    } finally {
      rmSync(file, { force: true });
      busy = false;
    }
  };
  const watcher: FSWatcher = watch(o.stateDir, (_event, name) => {
    if (name === CONNECTION_FAULT_FILE) void check();
  });
  watcher.on('error', (err) => o.onError?.(err));
  void check();
  return {
    close: () => {
      closed = true;
      watcher.close();
    },
  };
}
