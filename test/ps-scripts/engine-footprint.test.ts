/**
 * What Windows logs about a run (docs/windows-proof.md "What Windows logs about a run"). PowerShell logs every script
 * block whose text contains one of a fixed list of strings as a warning (event 4104), even when script block logging
 * is off, and EDR tools read that log. The list is public: `SuspiciousContentChecker` in PowerShell's
 * src/System.Management.Automation/engine/runtime/CompiledScriptBlock.cs
 * (https://github.com/PowerShell/PowerShell/blob/master/src/System.Management.Automation/engine/runtime/CompiledScriptBlock.cs;
 * docs/reference/powershell.md "Script block logging and suspicious content"). It matches case-insensitively inside
 * any run of letters and '-' (so "MarshalAs" holds "Marshal").
 *
 * What every request runs (the bootstrap and the assembled engine) must contain none of them; the native code piece,
 * loaded only for a request that needs it, is where they are.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildInvocation } from '../../src/remote/invocation.js';
import { loadPsScripts } from '../../src/remote/scripts.js';
import { Secret } from '../../src/util/secret.js';

// The strings of SuspiciousContentChecker.LookupHash, in its order.
const SUSPICIOUS = [
  'Add-Type',
  'DllImport',
  'DefineDynamicAssembly',
  'DefineDynamicModule',
  'DefineType',
  'DefineConstructor',
  'CreateType',
  'DefineLiteral',
  'DefineEnum',
  'DefineField',
  'ILGenerator',
  'Emit',
  'UnverifiableCodeAttribute',
  'DefinePInvokeMethod',
  'GetTypes',
  'GetAssemblies',
  'Methods',
  'Properties',
  'GetConstructor',
  'GetConstructors',
  'GetDefaultMembers',
  'GetEvent',
  'GetEvents',
  'GetField',
  'GetFields',
  'GetInterface',
  'GetInterfaceMap',
  'GetInterfaces',
  'GetMember',
  'GetMembers',
  'GetMethod',
  'GetMethods',
  'GetNestedType',
  'GetNestedTypes',
  'GetProperties',
  'GetProperty',
  'InvokeMember',
  'MakeArrayType',
  'MakeByRefType',
  'MakeGenericType',
  'MakePointerType',
  'DeclaringMethod',
  'DeclaringType',
  'ReflectedType',
  'TypeHandle',
  'TypeInitializer',
  'UnderlyingSystemType',
  'InteropServices',
  'Marshal',
  'AllocHGlobal',
  'PtrToStructure',
  'StructureToPtr',
  'FreeHGlobal',
  'IntPtr',
  'MemoryStream',
  'DeflateStream',
  'FromBase64String',
  'EncodedCommand',
  'Bypass',
  'ToBase64String',
  'ExpandString',
  'GetPowerShell',
  'OpenProcess',
  'VirtualAlloc',
  'VirtualFree',
  'WriteProcessMemory',
  'CreateUserThread',
  'CloseHandle',
  'GetDelegateForFunctionPointer',
  'kernel32',
  'CreateThread',
  'memcpy',
  'LoadLibrary',
  'GetModuleHandle',
  'GetProcAddress',
  'VirtualProtect',
  'FreeLibrary',
  'ReadProcessMemory',
  'CreateRemoteThread',
  'AdjustTokenPrivileges',
  'WriteByte',
  'WriteInt32',
  'OpenThreadToken',
  'PtrToString',
  'ZeroFreeGlobalAllocUnicode',
  'OpenProcessToken',
  'GetTokenInformation',
  'SetThreadToken',
  'ImpersonateLoggedOnUser',
  'RevertToSelf',
  'GetLogonSessionData',
  'CreateProcessWithToken',
  'DuplicateTokenEx',
  'OpenWindowStation',
  'OpenDesktop',
  'MiniDumpWriteDump',
  'AddSecurityPackage',
  'EnumerateSecurityPackages',
  'GetProcessHandle',
  'DangerousGetHandle',
  'CryptoServiceProvider',
  'Cryptography',
  'RijndaelManaged',
  'SHA1Managed',
  'CryptoStream',
  'CreateEncryptor',
  'CreateDecryptor',
  'TransformFinalBlock',
  'DeviceIoControl',
  'SetInformationProcess',
  'PasswordDeriveBytes',
  'GetAsyncKeyState',
  'GetKeyboardState',
  'GetForegroundWindow',
  'BindingFlags',
  'NonPublic',
  'ScriptBlockLogging',
  'LogPipelineExecutionDetails',
  'ProtectedEventLogging',
];

/** Every "line: keyword in word" of `text` that the checker would flag. */
function suspiciousIn(text: string): string[] {
  const found: string[] = [];
  const needles = SUSPICIOUS.map((s) => [s, s.toLowerCase()] as const);
  text.split('\n').forEach((line, i) => {
    for (const run of line.match(/[A-Za-z-]+/g) ?? []) {
      const lower = run.toLowerCase();
      for (const [s, n] of needles) if (lower.includes(n)) found.push(`${i + 1}: ${s} in ${run}`);
    }
  });
  return found;
}

describe('footprint: what PowerShell logs as suspicious (event 4104 warning)', () => {
  const scripts = loadPsScripts();

  it('the checker as ported flags what PowerShell flags (inside words, any case)', () => {
    expect(suspiciousIn('[Runtime.InteropServices.MarshalAs(1)]')).toEqual(['1: InteropServices in InteropServices', '1: Marshal in MarshalAs']);
    expect(suspiciousIn('add-type -typedefinition $s')).toEqual(['1: Add-Type in add-type']);
    expect(suspiciousIn('$x.PSObject.Members; Get-Member; [long]$n')).toEqual([]);
  });

  it('the bootstrap (run for every request) holds none of the strings', () => {
    expect(suspiciousIn(scripts.bootstrap)).toEqual([]);
  });

  it('the assembled engine (run for every request) holds none of the strings', () => {
    expect(suspiciousIn(scripts.engine)).toEqual([]);
  });

  it('the native code piece holds them, and is a separate static text sent beside the engine', () => {
    const native = readFileSync(join(scripts.dir, 'native.ps1'), 'utf8');
    expect(scripts.native).toBe(native);
    const found = suspiciousIn(native).join('\n');
    for (const s of ['Add-Type', 'DllImport', 'AdjustTokenPrivileges', 'Marshal']) expect(found).toContain(`: ${s} in`);
    const request = {
      v: 1 as const,
      op: 'apply' as const,
      nonce: 'n'.repeat(16),
      runId: 'r1',
      service: 'App',
      desired: { account: { name: '.\\svc', password: new Secret('pa55-w0rd') } },
    };
    const inv = buildInvocation(request);
    const line = JSON.parse(inv.stdin.toString('ascii').split('\n')[0]!) as { script: string; native: string; request: unknown };
    expect(Object.keys(line)).toEqual(['script', 'native', 'request']);
    expect(line.native).toBe(native);
    // The command line carries the bootstrap only: no request value, no password.
    const commandLine = Buffer.from(inv.encodedCommand, 'base64').toString('utf16le');
    expect(commandLine).toBe(scripts.bootstrap);
    expect(commandLine).not.toContain('pa55-w0rd');
  });
});
