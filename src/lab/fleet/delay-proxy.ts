/**
 * The lab's TCP proxy in front of a host's listener (sshd, the WS-Management listener), for two faults:
 *  - slow connect: each new connection is held silent for `delayMs` before it is connected through. TCP itself
 *    accepts at once (loopback cannot be slowed without root-only traffic shaping), so what the client sees is a
 *    server that does not speak: its connect deadline, which covers the SSH banner and key exchange, is what expires;
 *  - link stall (`stall()`): the connections open at that moment stop passing bytes both ways and stay open, as
 *    when a NAT or firewall on the path loses its state: no FIN, no RST, the peers' own timers must notice.
 *    Connections made afterwards are passed through, so the host can be reached again (resume).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface DelayProxy {
  readonly port: number;
  /** Freezes every connection open now (both directions), leaving it open. */
  stall(): void;
  close(): Promise<void>;
}

export async function startDelayProxy(o: { address: string; port: number; target: { host: string; port: number }; delayMs: number }): Promise<DelayProxy> {
  const open = new Set<Socket>();
  const pairs = new Set<[Socket, Socket]>();
  const server: Server = createServer((client) => {
    open.add(client);
    client.pause();
    client.on('error', () => undefined);
    client.on('close', () => open.delete(client));
    const link = (): void => {
      if (client.destroyed) return;
      const upstream = connect(o.target);
      open.add(upstream);
      upstream.on('close', () => open.delete(upstream));
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('connect', () => {
        const pair: [Socket, Socket] = [client, upstream];
        pairs.add(pair);
        client.on('close', () => pairs.delete(pair));
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    if (o.delayMs <= 0) return link();
    const timer = setTimeout(link, o.delayMs);
    client.on('close', () => clearTimeout(timer));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.address, () => resolve());
  });
  return {
    port: o.port,
    stall: () => {
      for (const pair of pairs) {
        const [client, upstream] = pair;
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
        // A stalled path does not report the end of either side either: neither close is passed on.
        client.removeAllListeners('close');
        upstream.removeAllListeners('close');
        client.on('close', () => open.delete(client));
        upstream.on('close', () => open.delete(upstream));
        pairs.delete(pair);
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
