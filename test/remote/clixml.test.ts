/** Decoding powershell.exe's CLIXML stderr (docs/reference/winrm.md#clixml-on-stderr). */
import { describe, expect, it } from 'vitest';
import { decodeClixml, decodeClixmlEscapes } from '../../src/remote/clixml.js';

const NS = 'xmlns="http://schemas.microsoft.com/powershell/2004/04"';
const progress = `<Obj S="progress" RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject</T><T>System.Object</T></TN><MS><I64 N="SourceId">1</I64><PR N="Record"><AV>Preparing modules for first use.</AV><AI>0</AI><Nil /><PI>-1</PI><PC>-1</PC><T>Completed</T><SR>-1</SR><SD> </SD></PR></MS></Obj>`;

describe('decodeClixml', () => {
  it('turns error/warning strings into typed records, drops progress, decodes _xHHHH_ and XML entities', () => {
    const stderr =
      `#< CLIXML\r\n<Objs Version="1.1.0.1" ${NS}>${progress}` +
      `<S S="Error">Set-Content : A &lt;b&gt; &amp; c_x000D__x000A_</S><S S="Error">+ second line_x000D__x000A_</S>` +
      `<S S="Warning">careful_x005F_x000D_ \u2603_x000D__x000A_</S></Objs>`;
    const out = decodeClixml(stderr);
    expect(out.records).toEqual([
      { stream: 'error', text: 'Set-Content : A <b> & c\r\n+ second line' },
      { stream: 'warning', text: 'careful_x000D_ \u2603' },
    ]);
    expect(out.text).toBe('Set-Content : A <b> & c\r\n+ second line\nWARNING: careful_x000D_ \u2603');
    expect(out.text).not.toContain('Preparing modules');
  });

  it('keeps plain text around and between CLIXML blocks', () => {
    const stderr = `plain before\n#< CLIXML\n<Objs ${NS}><S S="Error">boom</S></Objs>\nplain after\n#< CLIXML\n<Objs ${NS}>${progress}</Objs>`;
    expect(decodeClixml(stderr).records).toEqual([
      { stream: 'text', text: 'plain before' },
      { stream: 'error', text: 'boom' },
      { stream: 'text', text: 'plain after' },
    ]);
  });

  it('returns text that is not CLIXML (or is broken CLIXML) as it is', () => {
    expect(decodeClixml('svcfleet: no valid payload line on stdin\n').text).toBe('svcfleet: no valid payload line on stdin');
    expect(decodeClixml('#< CLIXML\n<Objs><S S="Error">unterminated').records[0]?.stream).toBe('text');
    expect(decodeClixml('').records).toEqual([]);
  });

  it('decodes escapes of surrogate pairs into one character', () => {
    expect(decodeClixmlEscapes('_xD83C__xDF89_')).toBe('\u{1f389}');
  });
});
