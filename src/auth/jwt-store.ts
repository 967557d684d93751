/**
 * The JWT verifier in force, rebuilt when its key files change (key rotation) or on `reload()`.
 * New key files with a problem are refused and logged; the previous keys stay in force.
 */
import type { Logger } from 'pino';
import { ConfigError } from '../config/errors.js';
import type { JwtConfig } from '../config/types.js';
import type { ProxyMetrics } from '../observability/metrics.js';
import { watchFileChanges, type FileWatchOptions } from './file-watch.js';
import type { JwtVerifier } from './jwt.js';
import { createJwtVerifier } from './jwt-keys.js';

export class JwtStore {
  private verifier: JwtVerifier;
  private readonly stops: Array<() => void> = [];

  /** Reads the key files now; throws ConfigError when they cannot be used (the proxy does not start). */
  constructor(
    private readonly config: JwtConfig,
    private readonly source: string,
    private readonly logger: Logger,
    private readonly metrics?: ProxyMetrics,
  ) {
    this.verifier = createJwtVerifier(config, source);
  }

  get current(): JwtVerifier {
    return this.verifier;
  }

  /** Re-reads the key files. True when the new keys are in force, false when they were refused. */
  reload(): boolean {
    try {
      this.verifier = createJwtVerifier(this.config, this.source);
    } catch (error) {
      const problems = error instanceof ConfigError ? error.message : (error as Error).message;
      this.logger.error({ problems }, 'JWT keys not reloaded: keeping the previous keys');
      this.metrics?.reloads.inc({ outcome: 'refused' });
      return false;
    }
    if (this.config.secretFile !== undefined || this.config.publicKeyFile !== undefined) {
      this.logger.info({ algorithms: this.verifier.algorithms }, 'JWT keys reloaded');
      this.metrics?.reloads.inc({ outcome: 'applied' });
    }
    return true;
  }

  watch(options: FileWatchOptions = {}): void {
    if (this.stops.length > 0) return;
    for (const file of [this.config.secretFile, this.config.publicKeyFile]) {
      if (file !== undefined) this.stops.push(watchFileChanges(file, options, () => this.reload()));
    }
  }

  close(): void {
    for (const stop of this.stops.splice(0)) stop();
  }
}
