// SUBSCRIBE and UNSUBSCRIBE for the engine: each filter authorized, granted at most the QoS the
// rules that can serve it deliver with, added to the local subscriptions; the SUBACK waits until
// the Kafka topics the filter needs are read, so a record written after it is delivered.
import type { AccessControl } from '../auth/access-control.js';
import type { DeliveryRuleConfig } from '../config/types.js';
import type { SubscribeRequest, UnsubscribeRequest } from '../mqtt/subscribe-request.js';
import { SubackCode, UnsubackCode } from '../mqtt/subscribe-request.js';
import type { MqttSession, QoS } from '../mqtt/types.js';
import type { Logger } from '../observability/logger.js';
import type { LocalSubscriptions } from './local-subscriptions.js';

/** A subscription just made or replaced, for what it is sent after the SUBACK. */
export interface MadeSubscription {
  readonly filter: string;
  readonly granted: QoS;
  readonly existed: boolean;
  readonly retainHandling: 0 | 1 | 2;
  readonly shared: boolean;
  readonly subscriptionIdentifier: number | undefined;
}

export interface SubscribeHooksOptions {
  readonly subscriptions: LocalSubscriptions;
  readonly rules: () => readonly DeliveryRuleConfig[];
  readonly mayServe: (kafkaTopic: string, filter: string) => boolean;
  readonly access: () => AccessControl;
  /** Resolves once what the filter needs is read (direct: the reader; shared: the group joined). */
  readonly ready: (filter: string, shareGroup: string | undefined) => Promise<void>;
  /** After the SUBACK is out: what else the new subscription gets (retained messages). */
  readonly subscribed?: (session: MqttSession, made: MadeSubscription) => void;
  readonly logger: Logger;
  /** The longest a SUBACK waits for the reading to start [10000]. */
  readonly readyTimeoutMs?: number;
}

/** The highest QoS the rules that can serve `filter` deliver with; 2 when none can (nothing will come). */
export function qosCeiling(rules: readonly DeliveryRuleConfig[], mayServe: (kafkaTopic: string, filter: string) => boolean, filter: string): QoS {
  let ceiling: QoS | -1 = -1;
  for (const rule of rules) if (rule.qos > ceiling && mayServe(rule.kafka, filter)) ceiling = rule.qos;
  return ceiling === -1 ? 2 : ceiling;
}

export function subscribeHooks(options: SubscribeHooksOptions) {
  const { subscriptions, logger } = options;
  const timeoutMs = options.readyTimeoutMs ?? 10_000;
  const withinTimeout = (ready: Promise<void>): Promise<void> =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      ready.then(
        () => (clearTimeout(timer), resolve()),
        (error: unknown) => (clearTimeout(timer), logger.warn({ err: error }, 'subscription: reading its Kafka topics failed'), resolve()),
      );
    });

  return {
    async onSubscribe(session: MqttSession, request: SubscribeRequest): Promise<readonly number[]> {
      const codes: number[] = [];
      const waits: Array<Promise<void>> = [];
      const after: Array<() => void> = [];
      request.subscriptions.forEach((entry, index) => {
        if (request.refused.has(index)) return codes.push(SubackCode.UnspecifiedError);
        const { filter, shareGroup } = entry.topicFilter;
        if (options.access().authorizeSubscribe(session, filter) !== 'allow') {
          logger.info({ clientId: session.clientId, username: session.username, filter }, 'subscribe denied by ACL');
          return codes.push(SubackCode.NotAuthorized);
        }
        const granted = Math.min(entry.qos, qosCeiling(options.rules(), options.mayServe, filter)) as QoS;
        const existed = subscriptions.add(session, filter, {
          qos: granted,
          noLocal: entry.noLocal,
          retainAsPublished: entry.retainAsPublished,
          subscriptionIdentifier: request.subscriptionIdentifier,
          shareGroup,
        });
        waits.push(withinTimeout(options.ready(filter, shareGroup)));
        const made: MadeSubscription = { filter, granted, existed, retainHandling: entry.retainHandling, shared: shareGroup !== undefined, subscriptionIdentifier: request.subscriptionIdentifier };
        after.push(() => options.subscribed?.(session, made));
        return codes.push(granted);
      });
      await Promise.all(waits);
      // The SUBACK is written when this resolves: retained messages follow it.
      if (after.length > 0) setImmediate(() => after.forEach((send) => send()));
      return codes;
    },
    onUnsubscribe(session: MqttSession, request: UnsubscribeRequest): readonly number[] {
      return request.topicFilters.map(({ filter, shareGroup }, index) => {
        if (request.refused.has(index)) return UnsubackCode.TopicFilterInvalid;
        return subscriptions.remove(session, filter, shareGroup) ? UnsubackCode.Success : UnsubackCode.NoSubscriptionExisted;
      });
    },
    onClosed(session: MqttSession): void {
      subscriptions.removeAll(session);
    },
  };
}
