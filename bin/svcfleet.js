#!/usr/bin/env node
// Thin launcher: the program (src/main.ts, its composition root) is compiled to dist/ by `npm ci` (the prepare script).
import { main } from '../dist/main.js';

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`svcfleet: internal error: ${err?.stack ?? err}\n`);
    process.exitCode = 70;
  },
);
