/**
 * A real, throwaway MIT Kerberos realm on loopback: krb5kdc (Debian krb5-kdc) on a reserved port, its database made
 * by kdb5_util and its principals and keytabs by kadmin.local, everything in one directory. Used by the Kerberos
 * tests and by `svcfleet lab up --auth kerberos` (docs/lab-fleet.md).
 *
 * Nothing outside that dir is read or written: KRB5_CONFIG (client library), KRB5_KDC_PROFILE (kdc.conf for
 * krb5kdc/kdb5_util/kadmin.local) and KRB5CCNAME all point into it — /etc/krb5.conf is never used.
 * Host names: `rdns = false` and `dns_canonicalize_hostname = false`, so the SPN is HTTP/<the name as written>
 * (here `localhost`, which resolves to 127.0.0.1 and is in the lab certificate) with no DNS involved, and
 * `[domain_realm]` maps it to the lab realm.
 * `kdc_timesync = 1` makes the library keep a KDC time offset in each ccache header, which the clock-skew test
 * rewrites to simulate a controller whose clock is off.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { releasePorts, reservePorts } from '../fleet/ports.js';

export const REALM = 'LAB.TEST';
const SBIN = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'];

function findTool(name: string): string {
  for (const d of SBIN) if (existsSync(join(d, name))) return join(d, name);
  throw new Error(`${name} is missing: apt-get install -y krb5-kdc krb5-admin-server krb5-user (scripts/setup.sh --peers)`);
}

export interface LabKdc {
  readonly dir: string;
  readonly realm: string;
  readonly port: number;
  /** The client configuration (KRB5_CONFIG) that finds this KDC: what an inventory's `krb5Config` names. */
  readonly krb5Config: string;
  /** krb5kdc's process id (recorded by `lab up` so that `lab down` can stop an orphaned KDC). */
  readonly pid: number;
  /** Environment for child processes (kinit, klist, python): the realm's config and a default cache in dir. */
  readonly env: Record<string, string>;
  /** kadmin.local -q <query>. */
  kadmin(query: string): Promise<string>;
  addUser(name: string, password: string): Promise<void>;
  /** addprinc -randkey for the service and ktadd it to a keytab file (returned). */
  addService(spn: string, keytab?: string): Promise<string>;
  /** ktadd the user's current key (-norandkey) to a keytab (returned). */
  userKeytab(name: string, keytab?: string): Promise<string>;
  /** kinit into `ccache` (default: the realm's default cache) with the password on stdin. */
  kinit(principal: string, password: string, ccache?: string, extra?: string[]): Promise<void>;
  /** Set KRB5_CONFIG/KRB5CCNAME in this process (the binding reads them); returns the restorer. */
  useInProcess(): () => void;
  stop(): Promise<void>;
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { env, timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(' ')}: ${stderr || err.message}`));
      else resolve(stdout);
    });
    child.stdin?.end(input ?? '');
  });
}

export interface StartKdcOptions {
  /** Directory for the realm's files (created; removed by stop()). Default: a new temp dir. */
  dir?: string;
}

export async function startKdc(o: StartKdcOptions = {}): Promise<LabKdc> {
  const krb5kdc = findTool('krb5kdc');
  const kdb5 = findTool('kdb5_util');
  const kadminLocal = findTool('kadmin.local');
  const kinitBin = findTool('kinit');
  const dir = o.dir ?? (await mkdtemp(join(tmpdir(), 'svcfleet-kdc-')));
  if (o.dir) await mkdir(dir, { recursive: true, mode: 0o700 });
  // krb5kdc binds the port itself: a claimed one outside the ephemeral range, which no connect() can take first.
  const [port] = (await reservePorts(1)) as [number];
  const krb5conf = join(dir, 'krb5.conf');
  const kdcconf = join(dir, 'kdc.conf');
  await writeFile(
    krb5conf,
    `[libdefaults]
  default_realm = ${REALM}
  dns_lookup_kdc = false
  dns_lookup_realm = false
  rdns = false
  dns_canonicalize_hostname = false
  kdc_timesync = 1
  forwardable = true
  udp_preference_limit = 1
[realms]
  ${REALM} = {
    kdc = 127.0.0.1:${port}
  }
[domain_realm]
  localhost = ${REALM}
  .lab.test = ${REALM}
`,
  );
  await writeFile(
    kdcconf,
    `[kdcdefaults]
  kdc_ports = ${port}
  kdc_tcp_ports = ${port}
[realms]
  ${REALM} = {
    database_name = ${join(dir, 'principal')}
    key_stash_file = ${join(dir, 'stash')}
    acl_file = ${join(dir, 'kadm5.acl')}
    kdc_ports = ${port}
    kdc_tcp_ports = ${port}
    max_life = 10h
    max_renewable_life = 1d
  }
[logging]
  kdc = FILE:${join(dir, 'kdc.log')}
`,
  );
  await writeFile(join(dir, 'kadm5.acl'), '');
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    KRB5_CONFIG: krb5conf,
    KRB5_KDC_PROFILE: kdcconf,
    KRB5CCNAME: `FILE:${join(dir, 'ccache')}`,
  };
  delete env.KRB5_KTNAME;
  delete env.KRB5_CLIENT_KTNAME;

  let kdc: ChildProcess | undefined;
  const stop = async (): Promise<void> => {
    if (kdc && kdc.exitCode === null) {
      const exited = new Promise((r) => kdc!.once('exit', r));
      kdc.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (kdc.exitCode === null) kdc.kill('SIGKILL');
    }
    await rm(dir, { recursive: true, force: true });
    releasePorts([port]);
  };
  try {
    // -W: the master key from the kernel's weak RNG would do too, but do not block on entropy in containers.
    await run(kdb5, ['create', '-s', '-r', REALM, '-P', 'lab-master-key', '-W'], env);
    kdc = spawn(krb5kdc, ['-n', '-r', REALM, '-P', join(dir, 'kdc.pid')], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let kdcErr = '';
    kdc.stderr!.on('data', (d: Buffer) => (kdcErr += d.toString()));
    // Ready when it answers on TCP (an AS-REQ for a non-existent principal is answered, not dropped).
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (kdc.exitCode !== null) throw new Error(`krb5kdc exited: ${kdcErr}`);
      const up = await new Promise<boolean>((resolve) => {
        const s = connect(port, '127.0.0.1');
        s.once('connect', () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(false));
      });
      if (up) break;
      if (Date.now() > deadline) throw new Error(`krb5kdc did not listen on ${port}: ${kdcErr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    await stop();
    throw err;
  }

  const kadmin = (query: string): Promise<string> => run(kadminLocal, ['-r', REALM, '-q', query], env);
  const self: LabKdc = {
    dir,
    realm: REALM,
    port,
    krb5Config: krb5conf,
    pid: kdc!.pid!,
    env,
    kadmin,
    async addUser(name, password) {
      await kadmin(`addprinc -pw ${password} ${name}`);
    },
    async addService(spn, keytab = join(dir, `${spn.replace(/[^A-Za-z0-9]/g, '_')}.keytab`)) {
      await kadmin(`addprinc -randkey ${spn}`);
      await kadmin(`ktadd -k ${keytab} ${spn}`);
      return keytab;
    },
    async userKeytab(name, keytab = join(dir, `${name}.keytab`)) {
      await kadmin(`ktadd -k ${keytab} -norandkey ${name}`);
      return keytab;
    },
    async kinit(principal, password, ccache = env.KRB5CCNAME!, extra = []) {
      await run(kinitBin, ['-c', ccache, ...extra, principal], env, `${password}\n`);
    },
    useInProcess() {
      const saved = { KRB5_CONFIG: process.env.KRB5_CONFIG, KRB5CCNAME: process.env.KRB5CCNAME };
      process.env.KRB5_CONFIG = krb5conf;
      process.env.KRB5CCNAME = env.KRB5CCNAME;
      return () => {
        for (const [k, v] of Object.entries(saved)) {
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        }
      };
    },
    stop,
  };
  return self;
}
