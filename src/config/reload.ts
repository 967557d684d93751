/** The `reload` section: whether a change of the config file is applied without a signal. */
import { deepFreeze } from './freeze.js';
import { readBoolean, readSection, type Problems } from './readers.js';

export interface ReloadConfig {
  /** Reload the config file when it changes (besides SIGHUP). Default false. */
  readonly watch: boolean;
}

export const RELOAD_DEFAULTS: ReloadConfig = deepFreeze<ReloadConfig>({ watch: false });

const RELOAD_KEYS = ['watch'] as const;

export function readReload(value: unknown, problems: Problems): ReloadConfig {
  const section = readSection(value, 'reload', RELOAD_KEYS, problems);
  return { watch: readBoolean(section['watch'], 'reload.watch', problems, RELOAD_DEFAULTS.watch) };
}
