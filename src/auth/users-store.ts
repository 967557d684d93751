/**
 * The users file as currently in force. It is re-read when the file changes (its size or mtime,
 * polled, which also sees Kubernetes' symlink swaps) and on `reload()`. A new version with a
 * problem is refused and logged; the previous users and ACLs stay in force.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { ConfigError } from '../config/errors.js';
import type { ProxyMetrics } from '../observability/metrics.js';
import { watchFileChanges } from './file-watch.js';
import { parseUsersFile, type UsersDatabase } from './users-file.js';

export interface UsersStoreOptions {
  readonly file: string;
  readonly logger: Logger;
  readonly metrics?: ProxyMetrics;
  /** How often the file's metadata is checked, in ms. */
  readonly pollIntervalMs?: number;
  /** Quiet time after a change before the file is read, so a file being written is read once, whole. */
  readonly debounceMs?: number;
}

export class UsersStore {
  private database: UsersDatabase;
  private stopWatching: (() => void) | undefined;

  /** Reads the file now; throws ConfigError when it cannot be used (the proxy does not start). */
  constructor(private readonly options: UsersStoreOptions) {
    this.database = readUsersFile(options.file);
  }

  get current(): UsersDatabase {
    return this.database;
  }

  /** Re-reads the file. Returns true when the new version is in force, false when it was refused. */
  reload(): boolean {
    const { file, logger, metrics } = this.options;
    try {
      this.database = readUsersFile(file);
    } catch (error) {
      const problems = error instanceof ConfigError ? error.message : (error as Error).message;
      logger.error({ file, problems }, 'users file not reloaded: keeping the previous users and ACLs');
      metrics?.reloads.inc({ outcome: 'refused' });
      return false;
    }
    logger.info({ file, users: this.database.users.size, acl: this.database.acl !== undefined }, 'users file reloaded');
    metrics?.reloads.inc({ outcome: 'applied' });
    return true;
  }

  /** Starts watching the file for changes. */
  watch(): void {
    if (this.stopWatching !== undefined) return;
    const { pollIntervalMs, debounceMs } = this.options;
    this.stopWatching = watchFileChanges(
      this.options.file,
      { ...(pollIntervalMs !== undefined && { pollIntervalMs }), ...(debounceMs !== undefined && { debounceMs }) },
      () => this.reload(),
    );
  }

  close(): void {
    this.stopWatching?.();
    this.stopWatching = undefined;
  }
}

function readUsersFile(file: string): UsersDatabase {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw new ConfigError(file, '', `cannot read the users file: ${why}`, { cause: error });
  }
  return parseUsersFile(text, file);
}
