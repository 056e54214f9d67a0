/**
 * The engine is kept as parts (ps-scripts/engine/NN-name.ps1) and sent as ONE script. There must be one assembled
 * engine: what loadPsScripts() assembles from source, what the build writes to dist/ps-scripts, what the built CLI
 * reads back from there, and the `script` the transports put in the payload are the same bytes.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { transform } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { assembleEngine, assembleTexts, engineParts } from '../../src/remote/engine-parts.js';
import { buildInvocation, buildPayload, newNonce } from '../../src/remote/invocation.js';
import { loadPsScripts } from '../../src/remote/scripts.js';
import type { Payload } from '../../src/remote/protocol.js';
import { enginePath } from './pwsh.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const partsDir = join(root, 'ps-scripts', 'engine');
const assembled = assembleEngine(partsDir);

const temps: string[] = [];
function temp(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

describe('the engine parts', () => {
  it('are every .ps1 in ps-scripts/engine/, named NN-name.ps1, in file-name order, each under 500 lines', () => {
    const parts = engineParts(partsDir);
    expect(parts).toEqual(
      readdirSync(partsDir)
        .filter((f) => f.endsWith('.ps1'))
        .sort(),
    );
    expect(parts[0]).toBe('00-prologue.ps1');
    for (const f of parts) expect(f).toMatch(/^\d{2}-[a-z0-9-]+\.ps1$/);
    const long = parts.map((f) => ({ f, lines: readFileSync(join(partsDir, f), 'utf8').split('\n').length })).filter((p) => p.lines >= 500);
    expect(long).toEqual([]);
  });

  it('assemble into one script: the param block first, the entry point last', () => {
    const statements = assembled.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
    expect(statements[0]).toBe('param($Request, $NativeCode, $Secret)');
    expect(assembled.endsWith('if ($null -eq $Request) { return }\nInvoke-Request $Request\n')).toBe(true);
  });

  it('are joined by exactly one blank line, whatever blank lines a part starts or ends with', () => {
    expect(assembleTexts(['a\n', '\n\nb\n\n\n', 'c'])).toBe('a\n\nb\n\nc\n');
    expect(assembleTexts(['a\r\n\r\n', '  \nb\r\n'])).toBe('a\n\nb\n');
  });

  it('refuses a .ps1 that is not named as a part, and two parts with one number: nothing is left out or reordered silently', () => {
    const dir = temp('svcfleet-parts-');
    writeFileSync(join(dir, '00-a.ps1'), 'a\n');
    writeFileSync(join(dir, 'README.md'), 'not a part\n');
    expect(assembleEngine(dir)).toBe('a\n');
    writeFileSync(join(dir, 'extra.ps1'), 'x\n');
    expect(() => assembleEngine(dir)).toThrow(/extra\.ps1: engine parts are named NN-name\.ps1/);
    const dup = temp('svcfleet-parts-');
    writeFileSync(join(dup, '01-a.ps1'), 'a\n');
    writeFileSync(join(dup, '01-b.ps1'), 'b\n');
    expect(() => assembleEngine(dup)).toThrow(/01-a\.ps1 and 01-b\.ps1 have the same number/);
  });
});

describe('one assembled engine, byte for byte', () => {
  const request = { v: 1 as const, op: 'snapshot' as const, nonce: newNonce(), runId: 'run-1', service: 'App' };

  it('is what loadPsScripts() returns when run from source, and what the tests dot-source', () => {
    const scripts = loadPsScripts();
    expect(scripts.from).toBe('parts');
    expect(scripts.dir).toBe(join(root, 'ps-scripts'));
    expect(scripts.engine).toBe(assembled);
    expect(readFileSync(enginePath, 'utf8')).toBe(assembled);
  });

  it('is the script of the payload and of the line the transports write to stdin', () => {
    expect(buildPayload(request).script).toBe(assembled);
    const line = buildInvocation(request).stdin.toString('ascii');
    expect((JSON.parse(line) as Payload).script).toBe(assembled);
  });

  it('is what `npm run build` writes to dist/ps-scripts/engine.ps1, and what the built CLI reads and sends', async () => {
    // A copy of the package as the build sees it: the parts, the build script, and the compiled remote modules
    // (transpiled here as tsc would emit them), so the test neither needs nor touches the repository's dist/.
    const pkg = temp('svcfleet-build-');
    writeFileSync(join(pkg, 'package.json'), '{"type":"module"}\n');
    cpSync(join(root, 'ps-scripts'), join(pkg, 'ps-scripts'), { recursive: true });
    mkdirSync(join(pkg, 'scripts'));
    copyFileSync(join(root, 'scripts', 'build-engine.mjs'), join(pkg, 'scripts', 'build-engine.mjs'));
    mkdirSync(join(pkg, 'dist', 'remote'), { recursive: true });
    for (const m of ['engine-parts', 'scripts']) {
      const { code } = await transform(readFileSync(join(root, 'src', 'remote', `${m}.ts`), 'utf8'), { loader: 'ts', format: 'esm', target: 'node20' });
      writeFileSync(join(pkg, 'dist', 'remote', `${m}.js`), code);
    }

    execFileSync(process.execPath, [join(pkg, 'scripts', 'build-engine.mjs')]);
    const built = join(pkg, 'dist', 'ps-scripts');
    expect(readFileSync(join(built, 'engine.ps1'), 'utf8')).toBe(assembled);
    expect(readFileSync(join(built, 'bootstrap.ps1'), 'utf8')).toBe(loadPsScripts().bootstrap);

    // The built module reads the built file, not the parts: change a part after the build and it still sends the
    // engine that was built.
    writeFileSync(join(pkg, 'ps-scripts', 'engine', '99-changed-after-build.ps1'), '# not built\n');
    const probe = `import(${JSON.stringify(pathToFileURL(join(pkg, 'dist', 'remote', 'scripts.js')).href)}).then((m) => process.stdout.write(JSON.stringify(m.loadPsScripts())))`;
    const fromBuilt = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', probe], { encoding: 'utf8' })) as ReturnType<
      typeof loadPsScripts
    >;
    expect(fromBuilt.from).toBe('built');
    expect(fromBuilt.dir).toBe(built);
    expect(fromBuilt.engine).toBe(assembled);
  });
});
