/**
 * What a lab sshd runs for every session (its ForceCommand). It plays the Windows side of Win32-OpenSSH:
 *  - an exec of `powershell.exe ...` / `pwsh ...` runs the emulated-SCM shim (src/lab/scm/bin/powershell.exe)
 *    with the same arguments, against the host's state dir ($SVCFLEET_LAB_STATE); `echo` answers like cmd.exe
 *    (the benchmark's floor); anything else fails as cmd.exe would ("is not recognized");
 *  - the `powershell` subsystem runs `pwsh -sshs` with the shim first on PATH (PowerShell remoting over SSH);
 *  - when the SSH session goes away (client abort, dropped connection) the command's whole process tree is
 *    killed, as Windows does with a session's job object. OpenSSH itself leaves a non-pty command running, and
 *    refuses `signal` requests for forced commands, so without this an aborted run would leave pwsh behind;
 *  - fault `drop`: 0.3 s after the command's first stdout line the sshd session process is killed, so the
 *    client sees its connection drop mid-command (after some output, before the exit status).
 * Generated as a file in the lab dir (not shipped as a script) so that it works from dist/ too.
 */
import { chmod, writeFile } from 'node:fs/promises';

export const EXEC_WRAPPER_NAME = 'svcfleet-lab-exec';

/** POSIX sh; `set -f` so the split of SSH_ORIGINAL_COMMAND never globs. */
const SCRIPT = `#!/bin/sh
# svcfleet lab: entry point of every SSH session of an emulated Windows host (sshd ForceCommand).
# Environment (sshd SetEnv): SVCFLEET_LAB_STATE SVCFLEET_LAB_SHIM SVCFLEET_LAB_PWSH SVCFLEET_LAB_BIN
#                            SVCFLEET_LAB_SUBSYSTEM SVCFLEET_LAB_FAULT TMPDIR
set -f

# The sshd process that owns this session: the nearest ancestor named sshd (looked up only when needed).
find_owner() {
  owner=$PPID
  while [ "$owner" -gt 1 ] && [ "$(cat /proc/$owner/comm 2>/dev/null)" != sshd ]; do
    owner=$(sed 's/.*) //' /proc/$owner/stat 2>/dev/null | cut -d' ' -f2)
    [ -n "$owner" ] || owner=1
  done
}

# Kill this session's process group once its sshd is gone (sshd made us a session leader: setsid).
guard() {
  while kill -0 "$owner" 2>/dev/null; do sleep 0.25; done
  kill -KILL 0
}

run() {
  find_owner
  if [ "$owner" -gt 1 ]; then
    guard </dev/null >/dev/null 2>&1 &
    guard_pid=$!
  fi
  case "$SVCFLEET_LAB_FAULT" in
    drop)
      # Let sshd forward the first line (0.3 s), then cut the connection under the running command.
      "$@" | { IFS= read -r line; printf '%s\\n' "$line"; sleep 0.3; kill -KILL "$owner"; cat >/dev/null; }
      rc=1 ;;
    *)
      "$@"
      rc=$? ;;
  esac
  [ -n "$guard_pid" ] && kill "$guard_pid" 2>/dev/null
  exit $rc
}

if [ -n "$SVCFLEET_LAB_SUBSYSTEM" ] && [ "$SSH_ORIGINAL_COMMAND" = "$SVCFLEET_LAB_SUBSYSTEM" ]; then
  PATH="$SVCFLEET_LAB_BIN:$PATH"
  export PATH
  run "$SVCFLEET_LAB_PWSH" -sshs -NoLogo -NoProfile
fi

# shellcheck disable=SC2086 # word splitting is the point: cmd.exe-like argument split, no globbing (set -f)
set -- $SSH_ORIGINAL_COMMAND
prog=$1
[ $# -gt 0 ] && shift
case "$prog" in
  powershell.exe|powershell|pwsh|pwsh.exe|POWERSHELL.EXE|PowerShell.exe)
    run "$SVCFLEET_LAB_SHIM" "$@" ;;
  echo)
    # A host with a fault treats echo like any command (the drop fault cuts it); otherwise no guard is needed.
    [ -n "$SVCFLEET_LAB_FAULT" ] && run printf '%s\\r\\n' "$*"
    printf '%s\\r\\n' "$*"
    exit 0 ;;
  *)
    printf "'%s' is not recognized as an internal or external command,\\r\\noperable program or batch file.\\r\\n" "$prog" >&2
    exit 1 ;;
esac
`;

export async function writeExecWrapper(path: string): Promise<void> {
  await writeFile(path, SCRIPT, { mode: 0o755 });
  await chmod(path, 0o755);
}
