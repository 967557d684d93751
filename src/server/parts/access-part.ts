/** Authentication and publish authorization; a reload that changes `auth` replaces them. */
import { createAccessControl, type AccessControl } from '../../auth/access-control.js';
import { changes, type ConfigChange } from '../../config/reload-diff.js';
import type { ProxyConfig } from '../../config/types.js';
import type { Logger } from '../../observability/logger.js';
import type { ProxyMetrics } from '../../observability/metrics.js';
import type { Part, ReloadProblems } from '../part.js';

export interface AccessPart extends Part {
  /** The access control in effect; replaced when a reload changes the `auth` section. */
  readonly current: AccessControl;
  reload(next: ProxyConfig, change: ConfigChange): ReloadProblems;
}

/** Reads the users and key files now: throws ConfigError when one cannot be used. */
export function createAccessPart(config: ProxyConfig, logger: Logger, metrics: ProxyMetrics): AccessPart {
  const authLogger = logger.child({ component: 'auth' });
  const build = (auth: ProxyConfig['auth']): AccessControl => createAccessControl({ auth, source: config.source, logger: authLogger, metrics });
  let current = build(config.auth);
  return {
    name: 'auth',
    get current() {
      return current;
    },
    start: () => Promise.resolve(),
    stop: () => {
      current.close();
      return Promise.resolve();
    },
    reload(next, change) {
      if (changes(change, 'auth')) {
        // A new auth section (another users file, anonymous on or off, JWT keys): a new access
        // control; building it throws, and the old one stays, when its files cannot be used.
        const replacement = build(next.auth);
        current.close();
        current = replacement;
      }
      // The files are read again on every reload, also when the config itself is unchanged: that
      // is what SIGHUP after a rotation asks for.
      return current.reload() ? [] : ['auth: a users or key file was refused; the previous one stays'];
    },
  };
}
