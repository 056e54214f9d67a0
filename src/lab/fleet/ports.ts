/**
 * Free loopback ports for lab servers. All are reserved at once (listening together, so none repeats) and
 * released just before use; another process could still take one in between, which the caller sees as a bind
 * error naming the port.
 */
import { createServer, type Server } from 'node:net';

export async function freePorts(count: number, address = '127.0.0.1'): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const s = createServer();
      servers.push(s);
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(0, address, () => resolve());
      });
    }
    return servers.map((s) => {
      const a = s.address();
      if (a === null || typeof a === 'string') throw new Error('no port');
      return a.port;
    });
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}
