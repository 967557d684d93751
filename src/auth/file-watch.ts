/**
 * Calls back when a file changes: its metadata is polled (size, mtime, inode), which also sees a
 * file replaced by `mv` or a Kubernetes Secret/ConfigMap symlink swap, where fs.watch loses track.
 * The callback runs once the file has been quiet for `debounceMs`, so a file being written is read whole.
 */
import { unwatchFile, watchFile, type Stats } from 'node:fs';

export interface FileWatchOptions {
  /** How often the file's metadata is checked, in ms. Default 1000. */
  readonly pollIntervalMs?: number;
  /** Quiet time after a change before the callback, in ms. Default 200. */
  readonly debounceMs?: number;
}

/** Starts watching; returns the function that stops it. */
export function watchFileChanges(file: string, options: FileWatchOptions, onChange: () => void): () => void {
  const { pollIntervalMs = 1000, debounceMs = 200 } = options;
  let debounce: NodeJS.Timeout | undefined;
  const listener = (now: Stats, before: Stats): void => {
    if (now.mtimeMs === before.mtimeMs && now.size === before.size && now.ino === before.ino) return;
    clearTimeout(debounce);
    debounce = setTimeout(onChange, debounceMs);
    debounce.unref();
  };
  watchFile(file, { interval: pollIntervalMs, persistent: false }, listener);
  return () => {
    clearTimeout(debounce);
    unwatchFile(file, listener);
  };
}
