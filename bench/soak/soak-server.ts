/**
 * The soak bench's hosts, in their own process (so none of their CPU or memory is the controller's): N
 * lightweight in-process SSH servers (ssh2), each on its own loopback port with the one bench host key. They
 * are RESPONDERS, not the emulated SCM: every exec reads the payload line from stdin and answers, after a fixed
 * per-op latency, with bench/fleet's canned framed events and result for the request's nonce.
 *
 * Faults, a seeded 1% of the hosts: half `refuse` (the port is reserved but nothing listens: connection
 * refused), half `drop` (the TCP connection is destroyed once the first command's payload has arrived: the
 * connection drops after the request was sent, before any answer).
 *
 * Prints one JSON line describing the fleet (hosts, ports, faults, key files), then serves until stdin closes.
 *   node soak-server.js --hosts 2000 --seed 13 --dir DIR [--plan-ms 50] [--apply-ms 200]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import ssh2 from 'ssh2';
import { generateLabKeyPair } from '../../src/lab/ssh/keys.js';
import { releasePorts, reservePorts } from '../../src/lab/fleet/ports.js';
import { knownHostsName } from '../../src/transport/ssh/known-hosts.js';
import { answer, parsePayloadLine } from '../fleet/responder.js';

export type SoakFault = 'refuse' | 'drop';

export interface SoakFleet {
  user: string;
  knownHostsFile: string;
  identityFile: string;
  hosts: Array<{ name: string; address: string; port: number; fault?: SoakFault }>;
}

const { values } = parseArgs({
  options: {
    hosts: { type: 'string', default: '2000' },
    seed: { type: 'string', default: '13' },
    dir: { type: 'string' },
    'plan-ms': { type: 'string', default: '50' },
    'apply-ms': { type: 'string', default: '200' },
    'fault-rate': { type: 'string', default: '0.01' },
  },
});
const N = Number(values.hosts);
const dir = String(values.dir);
const latency = { plan: Number(values['plan-ms']), apply: Number(values['apply-ms']) };
const ADDRESS = '127.0.0.1';
const USER = 'bench';

/** mulberry32: a small seeded PRNG, so the faulty set is the same for the same seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Exactly round(N × rate) distinct hosts, alternately refuse and drop. */
function seededFaults(n: number, rate: number, seed: number): Map<number, SoakFault> {
  const rand = prng(seed);
  const want = Math.round(n * rate);
  const faults = new Map<number, SoakFault>();
  while (faults.size < want) {
    const i = Math.floor(rand() * n);
    if (!faults.has(i)) faults.set(i, faults.size % 2 === 0 ? 'refuse' : 'drop');
  }
  return faults;
}

function serve(port: number, hostKey: string, clientKey: ReturnType<typeof ssh2.utils.parseKey>, fault: SoakFault | undefined): Promise<ssh2.Server> {
  const server = new ssh2.Server({ hostKeys: [hostKey] }, (client) => {
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey' || ctx.username !== USER || Array.isArray(clientKey) || clientKey instanceof Error) return ctx.reject(['publickey']);
      if (ctx.key.algo !== clientKey.type || !ctx.key.data.equals(clientKey.getPublicSSH())) return ctx.reject(['publickey']);
      if (!ctx.signature) return ctx.accept();
      if (clientKey.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) === true) return ctx.accept();
      return ctx.reject(['publickey']);
    });
    client.on('session', (acceptSession) => {
      const session = acceptSession();
      session.on('exec', (acceptExec) => {
        const channel = acceptExec();
        const chunks: Buffer[] = [];
        channel.on('data', (d: Buffer) => {
          chunks.push(d);
          if (d.indexOf(0x0a) < 0) return;
          const line = Buffer.concat(chunks);
          chunks.length = 0;
          if (fault === 'drop') {
            // The request has arrived; the connection goes away before any answer.
            (client as unknown as { _sock?: { destroy(): void } })._sock?.destroy();
            return;
          }
          const req = parsePayloadLine(line);
          setTimeout(
            () => {
              channel.write(answer(req));
              channel.exit(0);
              channel.end();
            },
            req.op === 'apply' ? latency.apply : latency.plan,
          );
        });
        channel.on('error', () => undefined);
      });
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, ADDRESS, () => resolve(server));
  });
}

async function main(): Promise<void> {
  const host = generateLabKeyPair('ed25519', 'soak-host');
  const client = generateLabKeyPair('ed25519', 'soak-client');
  const identityFile = join(dir, 'client_key');
  writeFileSync(identityFile, client.private, { mode: 0o600 });
  const clientKey = ssh2.utils.parseKey(client.public);
  const hostPublic = host.public.trim().split(/\s+/);
  const ports = await reservePorts(N, ADDRESS);
  const faults = seededFaults(N, Number(values['fault-rate']), Number(values.seed));
  const width = Math.max(4, String(N).length);
  const hosts: SoakFleet['hosts'] = ports.map((port, i) => ({
    name: `soak${String(i + 1).padStart(width, '0')}`,
    address: ADDRESS,
    port,
    ...(faults.has(i) ? { fault: faults.get(i) as SoakFault } : {}),
  }));
  const knownHostsFile = join(dir, 'known_hosts');
  writeFileSync(knownHostsFile, hosts.map((h) => `${knownHostsName(h.address, h.port)} ${hostPublic[0]} ${hostPublic[1]}\n`).join(''));
  const servers: ssh2.Server[] = [];
  for (const h of hosts) if (h.fault !== 'refuse') servers.push(await serve(h.port, host.private, clientKey, h.fault));
  const fleet: SoakFleet = { user: USER, knownHostsFile, identityFile, hosts };
  process.stdout.write(`${JSON.stringify(fleet)}\n`);
  process.stdin.on('end', () => {
    for (const s of servers) s.close();
    releasePorts(ports);
    process.exit(0);
  });
  process.stdin.resume();
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/soak server: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
