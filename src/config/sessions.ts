/**
 * The `sessions` section: where persistent MQTT sessions live (a compacted topic keyed by client
 * id) and how long one may outlive its connection. Sessions exist where there is something to keep:
 * on a proxy with delivery rules (subscriptions and their positions in the delivery topics).
 */
import type { DeliveryRuleConfig, RetainedConfig } from './delivery.js';
import { deliveryRulePath } from './delivery.js';
import { deepFreeze } from './freeze.js';
import { readBoolean, readInteger, readKafkaTopicName, readSection, type Problems } from './readers.js';

export interface SessionsConfig {
  /** false: every session ends with its connection (CONNACK Session Present 0, Session Expiry 0) [true]. */
  readonly enabled: boolean;
  /** Compacted topic keyed by client id: subscriptions, positions, in-flight messages, owner [mqtt.sessions]. */
  readonly topic: string;
  /**
   * The longest a session outlives its connection, in seconds: an MQTT 5 Session Expiry Interval
   * above it is granted as this (CONNACK says so), and an MQTT 3.1.1 clean session 0 lasts this
   * long [86400, one day].
   */
  readonly maxExpirySeconds: number;
  /**
   * How long a replica's lease lasts without renewal, in seconds: once it lapses, another replica
   * takes over the sessions it held and publishes their wills [15].
   */
  readonly leaseSeconds: number;
}

/** Session Expiry Interval 0xFFFFFFFF: "never", the most MQTT 5 can ask for. */
export const SESSION_EXPIRY_NEVER = 0xffff_ffff;

export const SESSIONS_DEFAULTS: SessionsConfig = deepFreeze<SessionsConfig>({ enabled: true, topic: 'mqtt.sessions', maxExpirySeconds: 86_400, leaseSeconds: 15 });

const SESSIONS_KEYS = ['enabled', 'topic', 'maxExpirySeconds', 'leaseSeconds'] as const;

export function readSessions(value: unknown, problems: Problems): SessionsConfig {
  const section = readSection(value, 'sessions', SESSIONS_KEYS, problems);
  return {
    enabled: readBoolean(section['enabled'], 'sessions.enabled', problems, SESSIONS_DEFAULTS.enabled),
    topic: readKafkaTopicName(section['topic'], 'sessions.topic', problems, SESSIONS_DEFAULTS.topic),
    maxExpirySeconds: readInteger(section['maxExpirySeconds'], 'sessions.maxExpirySeconds', 1, SESSION_EXPIRY_NEVER, problems, SESSIONS_DEFAULTS.maxExpirySeconds),
    leaseSeconds: readInteger(section['leaseSeconds'], 'sessions.leaseSeconds', 1, 3600, problems, SESSIONS_DEFAULTS.leaseSeconds),
  };
}

/** The sessions topic holds the store's own records: neither the retained store nor a delivery rule may use it. */
export function checkSessionsTopic(delivery: readonly DeliveryRuleConfig[], retained: RetainedConfig, sessions: SessionsConfig, problems: Problems): void {
  if (sessions.topic === retained.topic) problems.report('sessions.topic', `${sessions.topic} is also retained.topic: sessions and retained messages need a topic each`);
  const index = delivery.findIndex((rule) => rule.kafka === sessions.topic);
  if (index === -1) return;
  problems.report(`${deliveryRulePath(index, delivery[index]!.name)}.kafka`, `${sessions.topic} is sessions.topic, where sessions are stored; a delivery rule cannot read it`);
}
