/**
 * Every pwsh that svcfleet starts runs with .NET's multicore JIT off. PowerShell replays and rewrites one startup
 * profile per user (~/.cache/powershell/StartupProfileData-NonInteractive), not atomically; pwsh processes started
 * side by side (one per session in the pwsh transport, one per emulated host in the lab) tear it, and the next pwsh
 * to replay a torn file can crash in the runtime's profile player. With the feature off a pwsh neither reads nor
 * writes that file. Facts, sources and the crash seen here: docs/reference/powershell.md#the-shared-startup-jit-profile.
 */

/**
 * The runtime's minimum CPU count for multicore JIT, set above any machine's: 9999 is above any CPU count whether
 * the runtime parses it as hex (39,321) or decimal.
 */
export const STARTUP_JIT_PROFILE_OFF: Readonly<Record<string, string>> = { DOTNET_MultiCoreJitMinNumCpus: '9999' };

/** `env` with the startup JIT profile turned off (see the file comment). */
export function withoutStartupJitProfile(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, ...STARTUP_JIT_PROFILE_OFF };
}
