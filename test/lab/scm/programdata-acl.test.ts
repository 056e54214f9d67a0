/**
 * Owners and entries of %ProgramData% paths on the emulated host (docs/reference/programdata-acl.md): what the
 * elevated caller creates is owned by Administrators and inherits ProgramData's entries (Users may read); a folder an
 * ordinary user created first stays theirs; icacls /inheritance:r /grant:r and /setowner change what Get-Acl shows.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initLabHost } from '../../../src/lab/host.js';
import { readHostState, withHostLock, writeHostState } from '../../../src/lab/scm/state.js';
import { removeHost, runProbes, tempDir, type ProbeResults } from './helpers.js';

const USER = 'S-1-5-21-1004336348-1177238915-682003330-1001';
let stateDir: string;
let r: ProbeResults;

beforeAll(async () => {
  stateDir = tempDir('pdacl');
  await initLabHost({ stateDir, services: [] });
  // A folder an ordinary user created before svcfleet ran: the user owns it, CREATOR OWNER gave them full control.
  const planted = path.join(stateDir, 'fs', 'ProgramData', 'planted');
  fs.mkdirSync(planted, { recursive: true });
  withHostLock(stateDir, () => {
    const st = readHostState(stateDir);
    st.acls[planted] = {
      owner: USER,
      inheritance: 'e',
      grants: [
        { sid: USER, perms: '(I)(F)' },
        { sid: 'S-1-5-18', perms: '(I)(F)' },
        { sid: 'S-1-5-32-544', perms: '(I)(F)' },
      ],
    };
    writeHostState(stateDir, st);
  });
  r = runProbes(
    stateDir,
    `
function View($p) { $a = Get-Acl -LiteralPath $p; @{ owner = $a.GetOwner([System.Security.Principal.SecurityIdentifier]).Value; protected = $a.AreAccessRulesProtected; rules = @($a.GetAccessRules($true, $true, [System.Security.Principal.SecurityIdentifier]) | ForEach-Object { $_.IdentityReference.Value + $(if ($_.IsInherited) { ' inherited' } else { '' }) }) } }
$mine = Join-Path $env:ProgramData 'mine'
[void][IO.Directory]::CreateDirectory($mine)
P created { View $mine }
P locked { icacls.exe $mine /inheritance:r /grant:r '*S-1-5-32-544:(OI)(CI)F' '*S-1-5-18:(OI)(CI)F' | Out-Null; View $mine }
P child { $c = Join-Path $mine 'child'; [void][IO.Directory]::CreateDirectory($c); View $c }
P setOwner { icacls.exe $mine /setowner '*${USER}' | Out-Null; View $mine }
P planted { View (Join-Path $env:ProgramData 'planted') }
P missing { $e = $null; Get-Acl -LiteralPath (Join-Path $env:ProgramData 'nope') -ErrorVariable e -ErrorAction SilentlyContinue; "$($e[0].FullyQualifiedErrorId)" }
`,
  );
}, 120_000);

afterAll(async () => {
  await removeHost(stateDir);
});

describe('ProgramData owners and entries', () => {
  it('what the administrator creates is owned by Administrators and inherits read access for Users', () => {
    expect(r['created']).toEqual({
      owner: 'S-1-5-32-544',
      protected: false,
      rules: ['S-1-5-32-544 inherited', 'S-1-5-18 inherited', 'S-1-5-32-545 inherited'],
    });
  });

  it('icacls /inheritance:r /grant:r leaves a protected ACL with only the granted entries; /setowner changes the owner', () => {
    expect(r['locked']).toEqual({ owner: 'S-1-5-32-544', protected: true, rules: ['S-1-5-32-544', 'S-1-5-18'] });
    expect(r['setOwner'].owner).toBe(USER);
  });

  it('a folder created inside a locked folder inherits only its inheritable entries', () => {
    expect(r['child']).toEqual({ owner: 'S-1-5-32-544', protected: false, rules: ['S-1-5-32-544 inherited', 'S-1-5-18 inherited'] });
  });

  it('a folder a user created first stays theirs', () => {
    expect(r['planted']).toEqual({ owner: USER, protected: false, rules: [`${USER} inherited`, 'S-1-5-18 inherited', 'S-1-5-32-544 inherited'] });
    expect(r['missing']).toMatch(/^PathNotFound,Microsoft\.PowerShell\.Commands\.GetAclCommand/);
  });
});
