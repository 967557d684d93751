/**
 * The ACL side of AccessControl: publish, subscribe and delivery decisions against the users
 * file's rules in force, with the log lines and counts of refusals. Deliveries are decided per
 * message and so neither logged nor counted here; their caller counts what it drops.
 */
import type { Logger } from 'pino';
import type { DeniedPublish311 } from '../config/types.js';
import type { ProxyMetrics } from '../observability/metrics.js';
import type { AccessControl, PublishSubject, PublishVerdict } from './access-control.js';
import { checkPublish, checkReceive, checkSubscribe, type AclPolicy, type AclRule } from './acl.js';

export type Authorization = Pick<AccessControl, 'authorizePublish' | 'authorizeSubscribe' | 'authorizeDelivery'>;

/** `policy` is asked each time: a reloaded users file applies to the next decision. */
export function createAuthorization(
  policy: () => AclPolicy | undefined,
  deniedPublish311: DeniedPublish311,
  logger: Logger,
  metrics: ProxyMetrics,
): Authorization {
  return {
    authorizePublish(subject, topic) {
      const rules = policy();
      if (rules === undefined) return 'allow';
      const decision = checkPublish(rules, subject, topic);
      if (decision.allowed) return 'allow';
      const verdict: PublishVerdict = subject.protocolVersion === 5 || deniedPublish311 === 'disconnect' ? 'deny' : 'drop';
      metrics.aclDenials.inc({ version: String(subject.protocolVersion) });
      logPublishDenial(logger, subject, topic, decision.rule, verdict);
      return verdict;
    },
    authorizeSubscribe(session, filter) {
      const rules = policy();
      if (rules === undefined) return 'allow';
      const decision = checkSubscribe(rules, session, filter);
      if (decision.allowed) return 'allow';
      logSubscribeDenial(logger, session, filter, decision.rule);
      return 'deny';
    },
    authorizeDelivery(session, topic) {
      const rules = policy();
      return rules === undefined || checkReceive(rules, session, topic).allowed;
    },
  };
}

function ruleText(rule: AclRule | undefined): string {
  if (rule === undefined) return 'none matched';
  return `${rule.effect}: ${rule.filter}${rule.access === undefined || rule.access === 'both' ? '' : ` (${rule.access})`}`;
}

function subjectFields(subject: PublishSubject) {
  return {
    clientId: subject.clientId,
    username: subject.username,
    remoteAddress: subject.remoteAddress,
    listener: subject.listener,
    protocolVersion: subject.protocolVersion,
  };
}

function logSubscribeDenial(logger: Logger, session: PublishSubject, filter: string, rule: AclRule | undefined): void {
  logger.warn(
    {
      ...subjectFields(session),
      filter,
      rule: ruleText(rule),
      outcome: session.protocolVersion === 5 ? 'SUBACK 0x87 not authorized' : 'SUBACK 0x80 failure',
    },
    'subscribe denied by ACL',
  );
}

function logPublishDenial(logger: Logger, subject: PublishSubject, topic: string, rule: AclRule | undefined, verdict: PublishVerdict): void {
  logger.warn(
    {
      ...subjectFields(subject),
      topic,
      rule: ruleText(rule),
      outcome: verdict === 'drop' ? 'acknowledged and dropped' : subject.protocolVersion === 5 ? 'not authorized (0x87)' : 'disconnected',
    },
    'publish denied by ACL',
  );
}
