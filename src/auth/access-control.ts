/**
 * Authentication and publish authorization as the proxy uses them: built from `auth`, logging and
 * counting every refusal (never with the password or token), reloadable.
 */
import type { Logger } from 'pino';
import type { AuthConfig } from '../config/types.js';
import type { ProxyMetrics } from '../observability/metrics.js';
import { checkPublish, type AclRule } from './acl.js';
import { Authenticator, type AuthResult, type Credentials } from './authenticator.js';
import { FailureDelay } from './failure-delay.js';
import { JwtStore } from './jwt-store.js';
import { UsersStore } from './users-store.js';

export interface ConnectAttempt extends Credentials {
  readonly listener: string;
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
  authenticate(attempt: ConnectAttempt): Promise<AuthResult>;
  authorizePublish(subject: PublishSubject, topic: string): PublishVerdict;
  /** Re-reads the users file and the JWT key files. False when one was refused (the previous one stays). */
  reload(): boolean;
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
  const failureDelay = new FailureDelay({
    initialMs: auth.failureDelay.initialMs,
    maxMs: auth.failureDelay.maxMs,
    forgetAfterMs: auth.failureDelay.forgetAfterSeconds * 1000,
    maxAddresses: auth.failureDelay.maxAddresses,
  });
  const authenticator = new Authenticator({
    anonymous: auth.anonymous,
    certificate: auth.certificate,
    ...(users !== undefined && { users: () => users.current }),
    ...(jwt !== undefined && { jwt: () => jwt.current }),
    failureDelay,
  });

  return {
    async authenticate(attempt) {
      const result = await authenticator.authenticate(attempt);
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
          { ...fields, reason: result.reason, detail: result.detail, nextAttemptDelayMs: failureDelay.delayFor(attempt.remoteAddress) },
          'authentication failed',
        );
      }
      return result;
    },
    authorizePublish(subject, topic) {
      const policy = users?.current.acl;
      if (policy === undefined) return 'allow';
      const decision = checkPublish(policy, subject, topic);
      if (decision.allowed) return 'allow';
      const verdict: PublishVerdict = subject.protocolVersion === 5 || auth.deniedPublish311 === 'disconnect' ? 'deny' : 'drop';
      metrics.aclDenials.inc({ version: String(subject.protocolVersion) });
      logDenial(logger, subject, topic, decision.rule, verdict);
      return verdict;
    },
    reload() {
      const usersReloaded = users?.reload() ?? true;
      const keysReloaded = jwt?.reload() ?? true;
      return usersReloaded && keysReloaded;
    },
    close() {
      users?.close();
      jwt?.close();
    },
  };
}

function logDenial(logger: Logger, subject: PublishSubject, topic: string, rule: AclRule | undefined, verdict: PublishVerdict): void {
  logger.warn(
    {
      clientId: subject.clientId,
      username: subject.username,
      remoteAddress: subject.remoteAddress,
      listener: subject.listener,
      protocolVersion: subject.protocolVersion,
      topic,
      rule: rule === undefined ? 'none matched' : `${rule.effect}: ${rule.filter}`,
      outcome: verdict === 'drop' ? 'acknowledged and dropped' : subject.protocolVersion === 5 ? 'not authorized (0x87)' : 'disconnected',
    },
    'publish denied by ACL',
  );
}
