/**
 * SSH user authentication, in OpenSSH's order: agent keys, then the identity file, then password, then
 * keyboard-interactive (answered with the same password). Each method is offered only when the server still
 * lists it, so a host that allows only publickey never sees a password attempt.
 *
 * Private keys are parsed once per file and passphrase (an encrypted OpenSSH key costs a bcrypt-pbkdf run, far
 * too slow to repeat for each of hundreds of hosts) and re-read when the file changes.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import type { AnyAuthMethod, AuthHandlerMiddleware, AuthenticationType, ParsedKey } from 'ssh2';
import type { Secret } from '../../util/secret.js';
import { TransportError } from '../types.js';

export interface AuthInputs {
  user: string;
  /** Socket of an ssh-agent; undefined = no agent. */
  agent?: string;
  identityFile?: string;
  passphrase?: Secret;
  password?: Secret;
}

/** Identity files OpenSSH tries when none is configured; used only if present and not encrypted. */
const DEFAULT_IDENTITIES = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

interface CachedKey {
  mtimeMs: number;
  passphraseDigest: string;
  key: ParsedKey;
}

export class PrivateKeyCache {
  readonly #keys = new Map<string, CachedKey>();

  /** Loads and decrypts a private key; every failure is an auth-failed error naming the file (never the secret). */
  async load(path: string, passphrase: Secret | undefined): Promise<ParsedKey> {
    let st;
    try {
      st = await stat(path);
    } catch (err) {
      throw new TransportError('auth-failed', 'auth', `cannot read identity file ${path}: ${(err as Error).message}`);
    }
    const passphraseDigest = passphrase ? createHash('sha256').update(passphrase.reveal()).digest('hex') : '';
    const hit = this.#keys.get(path);
    if (hit && hit.mtimeMs === st.mtimeMs && hit.passphraseDigest === passphraseDigest) return hit.key;
    const text = await readFile(path);
    const parsed = ssh2.utils.parseKey(text, passphrase?.reveal());
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    if (!key || key instanceof Error) {
      const why = key instanceof Error ? key.message : 'no key found';
      const hint = /encrypted|passphrase|decrypt/i.test(why) ? (passphrase ? ' (wrong passphrase?)' : ' (the key is encrypted: set ssh.passphrase)') : '';
      throw new TransportError('auth-failed', 'auth', `cannot load identity file ${path}: ${why}${hint}`);
    }
    if (!key.isPrivateKey()) {
      throw new TransportError('auth-failed', 'auth', `identity file ${path} holds a public key, not a private key`);
    }
    this.#keys.set(path, { mtimeMs: st.mtimeMs, passphraseDigest, key });
    return key;
  }

  /** The first default identity (~/.ssh/id_*) that exists and needs no passphrase. */
  async loadDefault(): Promise<ParsedKey | undefined> {
    for (const name of DEFAULT_IDENTITIES) {
      const path = join(homedir(), '.ssh', name);
      try {
        return await this.load(path, undefined);
      } catch {
        // absent or encrypted: OpenSSH would prompt; a fleet run cannot, so it is skipped
      }
    }
    return undefined;
  }
}

/** What the server calls each of our methods in its "methods that can continue" list. */
const SERVER_NAME: Record<AnyAuthMethod['type'], AuthenticationType> = {
  none: 'none',
  agent: 'publickey',
  publickey: 'publickey',
  hostbased: 'hostbased',
  password: 'password',
  'keyboard-interactive': 'keyboard-interactive',
};

/** Builds the ordered list of methods; throws auth-failed before any connection when there is none. */
export async function authMethods(inputs: AuthInputs, keys: PrivateKeyCache): Promise<AnyAuthMethod[]> {
  const username = inputs.user;
  const methods: AnyAuthMethod[] = [];
  if (inputs.agent) methods.push({ type: 'agent', username, agent: inputs.agent });
  const key = inputs.identityFile ? await keys.load(inputs.identityFile, inputs.passphrase) : await keys.loadDefault();
  if (key) methods.push({ type: 'publickey', username, key });
  const password = inputs.password;
  if (password) {
    methods.push({ type: 'password', username, password: password.reveal() });
    methods.push({
      type: 'keyboard-interactive',
      username,
      // Windows/PAM ask one hidden "Password:" prompt; answer every hidden prompt with the password and any
      // visible one with nothing, rather than guessing at prompt wording.
      prompt: (_name, _instructions, _lang, prompts, finish) => finish(prompts.map((p) => (p.echo ? '' : password.reveal()))),
    });
  }
  if (methods.length === 0) {
    throw new TransportError('auth-failed', 'auth', 'no SSH authentication method configured (ssh.identityFile, ssh.agent / SSH_AUTH_SOCK, or password)');
  }
  return methods;
}

/** An ssh2 auth handler that walks `methods` in order, skipping those the server no longer accepts. */
export function authHandler(methods: AnyAuthMethod[]): AuthHandlerMiddleware {
  let next = 0;
  return (authsLeft, _partial, done) => {
    while (next < methods.length) {
      const m = methods[next++] as AnyAuthMethod;
      if (!authsLeft || authsLeft.includes(SERVER_NAME[m.type])) return done(m);
    }
    return done(false as unknown as AnyAuthMethod);
  };
}
