/**
 * The lab's "slow connect" for SSH hosts: a loopback TCP listener that holds each new connection silent for a
 * while before connecting it through to the host's real sshd. TCP itself accepts at once (loopback cannot be
 * slowed without root-only traffic shaping), so what the client sees is a server that does not speak: its connect
 * deadline, which covers the SSH banner and key exchange, is what expires.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface DelayProxy {
  readonly port: number;
  close(): Promise<void>;
}

export async function startDelayProxy(o: { address: string; port: number; target: { host: string; port: number }; delayMs: number }): Promise<DelayProxy> {
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    open.add(client);
    client.pause();
    client.on('error', () => undefined);
    client.on('close', () => open.delete(client));
    const timer = setTimeout(() => {
      if (client.destroyed) return;
      const upstream = connect(o.target);
      open.add(upstream);
      upstream.on('close', () => open.delete(upstream));
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('connect', () => {
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    }, o.delayMs);
    client.on('close', () => clearTimeout(timer));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.address, () => resolve());
  });
  return {
    port: o.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
