/** `reload.watch`: a change of the config file triggers a reload, without a signal. */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from '../observability/logger.js';

/** How long a file watch waits for writes to settle before reloading. */
const WATCH_DEBOUNCE_MS = 300;

/** Watches `file` (an absolute path); undefined when it cannot be watched (logged). */
export function watchConfigFile(file: string, onChange: () => void, logger: Logger): FSWatcher | undefined {
  // The directory, not the file: editors and Kubernetes ConfigMap updates replace the file
  // (ConfigMaps by swapping a `..data` symlink), which a watch on the old inode never sees.
  const name = basename(file);
  let timer: NodeJS.Timeout | undefined;
  try {
    const watcher = watch(dirname(file), (_event, changed) => {
      if (changed !== null && changed !== name && changed !== '..data') return;
      clearTimeout(timer);
      timer = setTimeout(onChange, WATCH_DEBOUNCE_MS);
    });
    watcher.unref();
    logger.info({ file }, 'watching the configuration file for changes');
    return watcher;
  } catch (error) {
    logger.warn({ err: (error as Error).message }, 'reload.watch: cannot watch the configuration file');
    return undefined;
  }
}
