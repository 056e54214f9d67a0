/** The configuration a use case runs with: file, environment and the caller's settings, merged by config/load. */
import { loadConfig } from '../config/load.js';
import type { ConfigInput, ResolvedConfig } from '../config/schema.js';
import { type AppContext, warn } from './context.js';

export interface ConfigOptions {
  /** An explicit config file; otherwise SVCFLEET_CONFIG or the search from `cwd` (docs/config.md). */
  configFile?: string;
  /** Settings that win over the file and the environment (what the command-line flags set), keyed like the file. */
  settings?: ConfigInput;
}

export async function loadAppConfig(options: ConfigOptions, ctx: AppContext): Promise<ResolvedConfig> {
  const config = await loadConfig({ cwd: ctx.cwd, env: ctx.env, flags: options.settings ?? {}, ...(options.configFile ? { file: options.configFile } : {}) });
  for (const w of config.warnings) warn(ctx, w);
  return config;
}
