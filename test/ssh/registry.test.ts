/** The transport registry used by the orchestrator: one instance per kind, disposed together. */
import { expect, test } from 'vitest';
import { createTransportRegistry } from '../../src/transport/registry.js';
import { PwshTransport } from '../../src/transport/pwsh/transport.js';
import { SshTransport } from '../../src/transport/ssh/transport.js';

test('each kind maps to its transport, created once', async () => {
  const r = createTransportRegistry({ ssh: { maxConcurrentHandshakes: 3 } });
  const ssh = r.get('ssh');
  expect(ssh).toBeInstanceOf(SshTransport);
  expect(r.get('ssh')).toBe(ssh);
  expect(r.get('pwsh')).toBeInstanceOf(PwshTransport);
  expect(r.get('winrm').kind).toBe('winrm');
  expect(r.get('local').kind).toBe('local');
  await r.dispose();
  expect(r.get('ssh')).not.toBe(ssh);
  await r.dispose();
});
