/**
 * Authentication and authorization (publish, subscribe, delivery) as the proxy uses them: built from `auth`, logging and
 * counting every refusal (never with the password or token), reloadable.
 *
 * `authenticate` is the one entry for every login, whatever the protocol: an MQTT CONNECT, and
 * HTTP Basic auth the same way (`{ username, password, remoteAddress, listener }`, answering
 * `server-busy` with 503 and Retry-After, `bad-credentials` with 401, `not-authorized` with 403),
 * so the bounds on password hashing, the per-address turns and delays and the known-good reserve
 * (login-guard.ts) are shared by all of them.
 */
import type { Logger } from 'pino';
import type { AuthConfig } from '../config/types.js';
import { createLimitReporter } from '../observability/limit-reporter.js';
import type { ProxyMetrics } from '../observability/metrics.js';
import { Authenticator, type AuthResult, type Credentials } from './authenticator.js';
import { createAuthorization } from './authorization.js';
import { FailureDelay } from './failure-delay.js';
import { HashSlots } from './hash-slots.js';
import { JwtStore } from './jwt-store.js';
import { KnownGood } from './known-good.js';
import { LoginGuard, type LoginGuardStats } from './login-guard.js';
import { UsersStore } from './users-store.js';

/** One login, from any protocol; `clientId` and `protocolVersion` only for MQTT's log lines. */
export interface LoginAttempt extends Credentials {
  /** Where it came in, e.g. `tcp:1883` or `http:8080`. */
  readonly listener: string;
  readonly protocolVersion?: number;
}

export interface ConnectAttempt extends LoginAttempt {
  readonly clientId: string;
  readonly protocolVersion: number;
}

export interface PublishSubject {
  readonly username: string | undefined;
  readonly clientId: string;
  readonly protocolVersion: number;
  readonly remoteAddress: string;
  readonly listener: string;
}

export type PublishVerdict = 'allow' | 'deny' | 'drop';

export interface AccessControl {
  authenticate(attempt: LoginAttempt): Promise<AuthResult>;
  authorizePublish(subject: PublishSubject, topic: string): PublishVerdict;
  /**
   * May the session subscribe to `filter` (valid, without any `$share/{group}/` prefix)? A denial
   * is logged; the caller answers SUBACK 0x87 (MQTT 5) / 0x80 (3.1.1).
   */
  authorizeSubscribe(session: PublishSubject, filter: string): 'allow' | 'deny';
  /**
   * May a message on the concrete `topic` be delivered to the session? Asked per message, so it
   * neither logs nor counts: the caller counts what it drops.
   */
  authorizeDelivery(session: PublishSubject, topic: string): boolean;
  /** Re-reads the users file and the JWT key files. False when one was refused (the previous one stays). */
  reload(): boolean;
  /** Password hashes running and waiting now, and so far. */
  loginStats(): LoginGuardStats;
  close(): void;
}

export interface AccessControlOptions {
  readonly auth: AuthConfig;
  /** The configuration file, for messages about key files. */
  readonly source: string;
  readonly logger: Logger;
  readonly metrics: ProxyMetrics;
  /** Poll interval of the users and key file watches, in ms; 0 = no watch. Default `auth.watchIntervalMs`. */
  readonly watchIntervalMs?: number;
}

/** Reads the users file and key files now: throws ConfigError when one cannot be used. */
export function createAccessControl(options: AccessControlOptions): AccessControl {
  const { auth, logger, metrics } = options;
  const watchIntervalMs = options.watchIntervalMs ?? auth.watchIntervalMs;
  const users =
    auth.usersFile === undefined
      ? undefined
      : new UsersStore({
          file: auth.usersFile,
          logger,
          metrics,
          pollIntervalMs: watchIntervalMs,
        });
  const jwt = auth.jwt === undefined ? undefined : new JwtStore(auth.jwt, options.source, logger, metrics);
  // 0: the files are read again only when asked (reload, SIGHUP).
  if (watchIntervalMs > 0) {
    users?.watch();
    jwt?.watch({ pollIntervalMs: watchIntervalMs });
  }
  const guard = createLoginGuard(auth, logger, metrics);
  const authenticator = new Authenticator({
    anonymous: auth.anonymous,
    certificate: auth.certificate,
    ...(users !== undefined && { users: () => users.current }),
    ...(jwt !== undefined && { jwt: () => jwt.current }),
    guard,
  });

  return {
    async authenticate(attempt) {
      const result = await authenticator.authenticate(attempt);
      // Counted and logged (once a second at most) by the guard: a flood must not flood the log.
      if (!result.accepted && result.code === 'server-busy') return result;
      const fields = {
        clientId: attempt.clientId,
        username: attempt.username,
        remoteAddress: attempt.remoteAddress,
        listener: attempt.listener,
        protocolVersion: attempt.protocolVersion,
        ...(attempt.certificateIdentity !== undefined && { certificateIdentity: attempt.certificateIdentity }),
      };
      if (result.accepted) {
        logger.debug({ ...fields, method: result.method, identity: result.username }, 'client authenticated');
      } else {
        metrics.authFailures.inc({ reason: result.reason });
        logger.warn(
          { ...fields, reason: result.reason, detail: result.detail, nextAttemptDelayMs: guard.nextDelayFor(authenticator.laneOf(attempt), attempt.remoteAddress) },
          'authentication failed',
        );
      }
      return result;
    },
    ...createAuthorization(() => users?.current.acl, auth.deniedPublish311, logger, metrics),
    reload() {
      const usersReloaded = users?.reload() ?? true;
      const keysReloaded = jwt?.reload() ?? true;
      return usersReloaded && keysReloaded;
    },
    loginStats: () => guard.stats(),
    close() {
      users?.close();
      jwt?.close();
    },
  };
}

function createLoginGuard(auth: AuthConfig, logger: Logger, metrics: ProxyMetrics): LoginGuard {
  const { failureDelay: delay, logins } = auth;
  const reportLimit = createLimitReporter(logger, metrics);
  const slots = new HashSlots(
    { maxConcurrent: logins.maxConcurrentHashes, reserve: logins.knownGoodReserve, maxQueued: logins.maxQueuedHashes },
    {
      started: () => metrics.loginHashes.inc(),
      changed: ({ inFlight, queued }) => {
        metrics.loginHashesInFlight.set(inFlight);
        metrics.loginHashesQueued.set(queued);
      },
    },
  );
  return new LoginGuard({
    slots,
    failureDelay: new FailureDelay({
      initialMs: delay.initialMs,
      maxMs: delay.maxMs,
      forgetAfterMs: delay.forgetAfterSeconds * 1000,
      maxAddresses: delay.maxAddresses,
    }),
    knownGood: new KnownGood({ forgetAfterMs: logins.knownGoodSeconds * 1000, maxEntries: logins.maxKnownGood }),
    maxPendingPerAddress: logins.maxPendingPerAddress,
    onBusy: (reason, attempt) =>
      reportLimit(
        reason === 'hash-queue-full' ? 'login-hash-queue' : 'login-address-queue',
        { remoteAddress: attempt.address, lane: attempt.lane },
        reason === 'hash-queue-full'
          ? 'login refused as server busy: every password hash slot is taken and the queue is full'
          : 'login refused as server busy: too many attempts from this address at once',
      ),
  });
}
