/** The `--faults SPEC` grammar of `svcfleet lab up` (docs/lab-fleet.md). */
import { describe, expect, test } from 'vitest';
import { parseFaultSpec } from '../../../src/lab/fleet/fault-spec.js';
import { labHostNames } from '../../../src/lab/fleet/fleet.js';
import { InputError } from '../../../src/util/errors.js';

const names = labHostNames(25);

describe('selectors and faults', () => {
  test('the documented example', () => {
    const m = parseFaultSpec('lab003=refuse;lab010-012=hostkey-changed;lab020=scm:crash-after-start', names, 'both');
    expect([...m.keys()]).toEqual(['lab003', 'lab010', 'lab011', 'lab012', 'lab020']);
    expect(m.get('lab003')).toEqual({ refuse: true });
    expect(m.get('lab011')).toEqual({ hostKeyChanged: true });
    expect(m.get('lab020')).toEqual({ scm: [{ kind: 'crash-after-start' }] });
  });

  test('indexes, index ranges, lists, *, several faults, arguments and SCM options', () => {
    const m = parseFaultSpec(
      '1,3-4=slow-connect:2500,auth-fail; *=slow-receive ; lab005=drop,scm:start-timeout:contains=--workers%209:nth=2,scm:access-denied:ops=config+start',
      names,
      'both',
    );
    expect(m.get('lab001')).toEqual({ slowConnectMs: 2500, authFailure: true, slowReceiveMs: 5000 });
    expect(m.get('lab002')).toEqual({ slowReceiveMs: 5000 });
    expect(m.get('lab004')).toEqual({ slowConnectMs: 2500, authFailure: true, slowReceiveMs: 5000 });
    expect(m.get('lab005')).toEqual({
      slowReceiveMs: 5000,
      drop: true,
      scm: [
        { kind: 'start-timeout', contains: '--workers 9', nth: 2 },
        { kind: 'access-denied', ops: ['config', 'start'] },
      ],
    });
    expect(m.size).toBe(25);
  });

  test('broken WinRM replies: winrm-500, winrm-garbage-xml, winrm-truncated (winrm side only, no argument)', () => {
    const m = parseFaultSpec('1=winrm-500;2=winrm-garbage-xml;3=winrm-truncated', names, 'winrm');
    expect(m.get('lab001')).toEqual({ winrmBadReply: 'http-500' });
    expect(m.get('lab002')).toEqual({ winrmBadReply: 'garbage-xml' });
    expect(m.get('lab003')).toEqual({ winrmBadReply: 'truncated' });
    expect(() => parseFaultSpec('1=winrm-500', names, 'ssh')).toThrow(/winrm-500 only applies to winrm hosts/);
    expect(() => parseFaultSpec('1=winrm-truncated:5', names, 'both')).toThrow(/winrm-truncated takes no argument/);
  });

  test('engine-dies / session-drops: the point of the transaction (nth, when, since)', () => {
    const m = parseFaultSpec('lab002=scm:engine-dies:ops=config:nth=3:when=after;lab004=scm:session-drops:ops=query:since=start:nth=2', names, 'ssh');
    expect(m.get('lab002')).toEqual({ scm: [{ kind: 'engine-dies', ops: ['config'], nth: 3, when: 'after' }] });
    expect(m.get('lab004')).toEqual({ scm: [{ kind: 'session-drops', ops: ['query'], since: 'start', nth: 2 }] });
  });

  test('connection faults: sshd-restart (ssh), winrm-reset (winrm), link-stall (both), at an SCM point of the engine', () => {
    const m = parseFaultSpec('lab001=sshd-restart:ops=config:nth=1:when=after;lab002=winrm-reset;lab003=link-stall:ops=stop', names, 'both');
    expect(m.get('lab001')).toEqual({ connection: 'sshd-restart', scm: [{ kind: 'connection-fault', ops: ['config'], nth: 1, when: 'after' }] });
    expect(m.get('lab002')).toEqual({ connection: 'winrm-reset', scm: [{ kind: 'connection-fault' }] });
    expect(m.get('lab003')).toEqual({ connection: 'link-stall', scm: [{ kind: 'connection-fault', ops: ['stop'] }] });
    expect(() => parseFaultSpec('1=sshd-restart', names, 'winrm')).toThrow(/sshd-restart only applies to ssh hosts/);
    expect(() => parseFaultSpec('1=winrm-reset', names, 'ssh')).toThrow(/winrm-reset only applies to winrm hosts/);
    expect(() => parseFaultSpec('1=link-stall,link-stall', names, 'ssh')).toThrow(/already has the connection fault link-stall/);
    expect(() => parseFaultSpec('1=link-stall:colour=red', names, 'ssh')).toThrow(/unknown SCM fault option "colour"/);
    // The SCM side of a connection fault is not a fault of its own: without the lab acting on it, it would only wait.
    expect(() => parseFaultSpec('1=scm:connection-fault', names, 'ssh')).toThrow(/unknown SCM fault "connection-fault"/);
  });

  test('empty spec and empty entries mean no faults', () => {
    expect(parseFaultSpec('', names, 'ssh').size).toBe(0);
    expect(parseFaultSpec(' ; ;', names, 'ssh').size).toBe(0);
  });
});

describe('bad specs are InputErrors naming the token', () => {
  const cases: Array<[string, RegExp]> = [
    ['lab003=explode', /token "explode": unknown fault/],
    ['lab099=refuse', /token "lab099": no lab host named lab099/],
    ['30=refuse', /token "30": host index 30 is outside 1-25/],
    ['5-2=refuse', /token "5-2": range runs backwards/],
    ['lab003', /token "lab003": expected SELECTOR=FAULT/],
    ['lab003=slow-connect:soon', /token "slow-connect:soon": "soon" is not a positive number/],
    ['lab003=refuse:now', /token "refuse:now": refuse takes no argument/],
    ['lab003=scm:meltdown', /token "scm:meltdown": unknown SCM fault "meltdown"/],
    ['lab003=scm:start-timeout:ops=config+reboot', /unknown op "reboot"/],
    ['lab003=scm:start-timeout:colour=red', /unknown SCM fault option "colour"/],
    ['lab003=scm:engine-dies:when=later', /when must be before or after/],
    ['lab003=scm:engine-dies:since=reboot', /unknown op "reboot"/],
    ['lab003=tls-untrusted', /token "tls-untrusted": tls-untrusted only applies to winrm hosts/],
    ['what?=refuse', /token "what\?": not a host selector/],
  ];
  test.each(cases)('%s', (spec, message) => {
    let err: unknown;
    try {
      parseFaultSpec(spec, names, 'ssh');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).message).toMatch(message);
    expect((err as InputError).where.field).toBe('faults');
  });

  test('winrm-only faults are fine on winrm or both labs; hostkey-changed is ssh-only', () => {
    expect(parseFaultSpec('1=tls-untrusted', names, 'winrm').get('lab001')).toEqual({ tlsUntrusted: true });
    expect(parseFaultSpec('1=tls-untrusted,hostkey-changed', names, 'both').get('lab001')).toEqual({ tlsUntrusted: true, hostKeyChanged: true });
    expect(() => parseFaultSpec('1=hostkey-changed', names, 'winrm')).toThrow(/only applies to ssh hosts/);
  });
});
