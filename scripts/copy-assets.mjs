// Copies every file under src/ that tsc does not compile (the lab's emulated SCM: its PowerShell module and parts,
// the C# sources it compiles, the service program svcprogram.mjs, the bin/powershell.exe shim, the pool worker)
// to the same relative path in dist/, next to the compiled module that reads it. Why: the built CLI resolves these
// files relative to its own module (src/lab/scm/state.ts → dist/lab/scm/), so the package never reaches back into
// src/ at run time and does not ship src/. Tests run from src/, where the same files sit next to the same module.
//   node scripts/copy-assets.mjs [--out DIR]   (DIR: a compiled mirror of src/, default dist; run after tsc)
import { chmodSync, copyFileSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = join(root, 'src');
const outAt = process.argv.indexOf('--out');
const outDir = outAt > 0 ? resolve(process.argv[outAt + 1]) : join(root, 'dist');

/** TypeScript sources and declarations: tsc's business, not assets. */
const compiled = (name) => /\.(ts|tsx|mts|cts)$/.test(name);

let copied = 0;
function walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const from = join(dir, entry.name);
    if (entry.isDirectory()) {
      walk(from);
    } else if (entry.isFile() && !compiled(entry.name)) {
      const to = join(outDir, relative(srcDir, from));
      mkdirSync(dirname(to), { recursive: true });
      copyFileSync(from, to);
      chmodSync(to, statSync(from).mode & 0o777); // the powershell.exe shim is executed directly (sshd execs it)
      copied++;
    }
  }
}
walk(srcDir);
process.stdout.write(`copy-assets: ${copied} files from src/ to ${relative(root, outDir) || '.'}/\n`);
