/** Finds the controller's PowerShell 7: $NODE_POWERSHELL (node-powershell's own override), PATH, dotnet tools. */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The first candidate path that is an executable file. */
export function findExecutable(candidates: readonly string[]): string | undefined {
  return candidates.find((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** `name` in each PATH directory. */
export function onPath(name: string): string[] {
  return (process.env.PATH ?? '')
    .split(delimiter)
    .filter(Boolean)
    .map((d) => join(d, name));
}

export function pwshBinary(): string {
  const override = process.env.NODE_POWERSHELL;
  if (override) return override;
  const name = process.platform === 'win32' ? 'pwsh.exe' : 'pwsh';
  const home = process.env.HOME ?? process.env.USERPROFILE ?? '';
  const found = findExecutable([...onPath(name), join(home, '.dotnet', 'tools', name), '/usr/bin/pwsh']);
  if (!found) throw new Error('PowerShell 7 (pwsh) not found: install it, or run `bash scripts/setup.sh`');
  return found;
}
