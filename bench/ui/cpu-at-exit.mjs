// Preload (node --import): writes this process's own CPU time (not its children's) to $SVCFLEET_CPU_FILE at exit.
import { writeFileSync } from 'node:fs';

const file = process.env.SVCFLEET_CPU_FILE;
const t0 = Date.now();
if (file) {
  process.on('exit', () => {
    const u = process.cpuUsage();
    writeFileSync(file, JSON.stringify({ cpuMs: (u.user + u.system) / 1000, wallMs: Date.now() - t0 }));
  });
}
