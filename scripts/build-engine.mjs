// Assembles the remote engine's parts (ps-scripts/engine/NN-name.ps1) into the ONE script that is sent,
// dist/ps-scripts/engine.ps1, and copies ps-scripts/bootstrap.ps1 and ps-scripts/native.ps1 beside it:
// dist/ps-scripts then holds exactly the three files the transports send, and the installed CLI reads them from there (src/remote/scripts.ts).
// It runs after tsc and uses the compiled src/remote/engine-parts.ts, the function loadPsScripts() uses when it
// runs from source, so there is one piece of code that decides what the assembled engine is.
//   node scripts/build-engine.mjs   (run by `npm run build` and `prepare`, after tsc)
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assembleEngine } from '../dist/remote/engine-parts.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'ps-scripts');

const engine = assembleEngine(join(root, 'ps-scripts', 'engine'));
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'engine.ps1'), engine);
copyFileSync(join(root, 'ps-scripts', 'bootstrap.ps1'), join(out, 'bootstrap.ps1'));
copyFileSync(join(root, 'ps-scripts', 'native.ps1'), join(out, 'native.ps1'));
