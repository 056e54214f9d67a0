/** The open transport registry: one instance per kind, built by `prepare`, disposed together. */
import { expect, test } from 'vitest';
import { createTransportRegistry, registerBuiltinTransports } from '../../../src/transport/registry.js';
import { PwshTransport } from '../../../src/transport/pwsh/transport.js';
import { SshTransport } from '../../../src/transport/ssh/transport.js';
import type { Transport } from '../../../src/transport/types.js';
import { InputError } from '../../../src/util/errors.js';

test('each kind maps to its transport, created once', async () => {
  const r = registerBuiltinTransports(createTransportRegistry(), { ssh: { maxConcurrentHandshakes: 3 } });
  let built = 0;
  const local: Transport = { kind: 'local', open: async () => Promise.reject(new Error('unused')) };
  r.register('local', async () => {
    built++;
    return local;
  });
  await r.prepare(['ssh', 'pwsh', 'winrm', 'local', 'local']);
  const ssh = r.get('ssh');
  expect(ssh).toBeInstanceOf(SshTransport);
  expect(r.get('ssh')).toBe(ssh);
  expect(r.get('pwsh')).toBeInstanceOf(PwshTransport);
  expect(r.get('winrm').kind).toBe('winrm');
  expect(r.get('local').kind).toBe('local');
  await r.prepare(['local']);
  expect(built).toBe(1);
  await r.dispose();
  await r.prepare(['ssh']);
  expect(r.get('ssh')).not.toBe(ssh);
  await r.dispose();
});

test('an unregistered kind is an input error naming it; get before prepare throws', async () => {
  const r = registerBuiltinTransports(createTransportRegistry());
  await expect(r.prepare(['ssh', 'local'])).rejects.toThrow(InputError);
  await expect(r.prepare(['local'])).rejects.toThrow(/"local"/);
  expect(() => r.get('ssh')).toThrow(/not prepared/);
  await r.dispose();
});
