/**
 * TLS material for the lab's HTTPS listeners, made with the `openssl` CLI (node:crypto cannot issue X.509
 * certificates): a lab CA and a server certificate for 127.0.0.1 / ::1 / localhost signed by it, plus a second,
 * "rogue" CA and server certificate that no client trusts (the untrusted-certificate fault). Keys stay in the lab
 * directory with mode 0600. One set serves every lab host: they share the loopback address and differ by port.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TlsMaterial {
  keyPem: string;
  certPem: string;
  /** The CA that signed certPem; what a client must trust. */
  caPem: string;
}

export interface LabPki {
  dir: string;
  /** CA file clients should pass as winrm.caFile. */
  caFile: string;
  trusted: TlsMaterial;
  rogue: TlsMaterial;
}

const SERVER_EXT = [
  'basicConstraints=critical,CA:FALSE',
  'keyUsage=critical,digitalSignature,keyEncipherment',
  'extendedKeyUsage=serverAuth',
  'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost',
].join('\n');

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd });
  } catch (err) {
    const e = err as { code?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT') throw new Error('openssl is not installed (apt-get install -y openssl)');
    throw new Error(`openssl ${args[0]} failed: ${e.stderr ?? e.message}`);
  }
}

async function makeSet(dir: string, name: string): Promise<void> {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(
    [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      `${name}-ca.key`,
      '-out',
      `${name}-ca.pem`,
      '-days',
      '3650',
      '-subj',
      `/CN=svcfleet lab ${name} CA`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  await openssl(['req', ...ec, '-keyout', `${name}-server.key`, '-out', `${name}-server.csr`, '-subj', '/CN=localhost'], dir);
  await writeFile(join(dir, `${name}-server.ext`), SERVER_EXT);
  await openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}-server.csr`,
      '-CA',
      `${name}-ca.pem`,
      '-CAkey',
      `${name}-ca.key`,
      '-set_serial',
      `0x${Date.now().toString(16)}`,
      '-days',
      '825',
      '-sha256',
      '-extfile',
      `${name}-server.ext`,
      '-out',
      `${name}-server.pem`,
    ],
    dir,
  );
  for (const f of [`${name}-ca.key`, `${name}-server.key`]) await chmod(join(dir, f), 0o600);
  await rm(join(dir, `${name}-server.csr`), { force: true });
  await rm(join(dir, `${name}-server.ext`), { force: true });
}

async function load(dir: string, name: string): Promise<TlsMaterial> {
  const [keyPem, certPem, caPem] = await Promise.all([`${name}-server.key`, `${name}-server.pem`, `${name}-ca.pem`].map((f) => readFile(join(dir, f), 'utf8')));
  return { keyPem: keyPem!, certPem: certPem!, caPem: caPem! };
}

const pending = new Map<string, Promise<LabPki>>();

/** Create (once) or load the lab PKI under `<labDir>/tls`. Safe to call from many servers at once. */
export function ensureLabPki(labDir: string): Promise<LabPki> {
  const dir = join(labDir, 'tls');
  let p = pending.get(dir);
  if (!p) {
    p = (async () => {
      if (!existsSync(join(dir, 'rogue-server.pem'))) {
        // Build in a private directory and move it into place, so a half-written set is never picked up.
        const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
        await mkdir(tmp, { recursive: true, mode: 0o700 });
        await makeSet(tmp, 'lab');
        await makeSet(tmp, 'rogue');
        try {
          await rename(tmp, dir);
        } catch {
          await rm(tmp, { recursive: true, force: true }); // another process won the race; use its set
        }
      }
      return { dir, caFile: join(dir, 'lab-ca.pem'), trusted: await load(dir, 'lab'), rogue: await load(dir, 'rogue') };
    })();
    pending.set(dir, p);
    p.catch(() => pending.delete(dir));
  }
  return p;
}
