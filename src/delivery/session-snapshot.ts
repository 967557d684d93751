// What a connected session's record holds at one moment: its subscriptions, its positions in the
// delivery topics, the messages in flight both ways, the will.
import type { MqttSession, SessionEnd } from '../mqtt/types.js';
import type { StoredSession, StoredWill } from '../state/session-store.js';
import type { InboundIntents } from './inbound-intents.js';
import type { LocalSubscriptions } from './local-subscriptions.js';
import { isDeliveryToken, type DeliveryToken, type SessionPositions } from './session-positions.js';

/** What the record is made from, per connection. */
export interface SnapshotSource {
  readonly session: MqttSession;
  readonly connectionId: string;
  readonly epoch: number;
  readonly expirySeconds: number;
  readonly positions: SessionPositions;
  readonly intents: InboundIntents;
  readonly will: StoredWill | undefined;
}

/** Where the live reader is, for the partitions a session has no position of its own in yet. */
export interface LivePositions {
  position(topic: string, partition: number): bigint | undefined;
  partitionsOf(topic: string): readonly number[];
  topicsFor(filter: string): readonly string[];
}

export interface SnapshotContext {
  readonly live: LivePositions;
  readonly subscriptions: LocalSubscriptions;
  readonly replicaId: string;
}

export function snapshotSession(source: SnapshotSource, context: SnapshotContext, outbound: SessionEnd['outbound'], inboundQoS2: readonly number[]): StoredSession {
  const { live } = context;
  const subs = context.subscriptions.directOf(source.session);
  const topics = new Set(subs.flatMap((s) => live.topicsFor(s.filter)));
  const window = new Map<DeliveryToken, { packetId: number | undefined; state: 'queued' | 'sent' | 'released' }>();
  for (const entry of outbound) if (isDeliveryToken(entry.message.token)) window.set(entry.message.token, { packetId: entry.packetId, state: entry.state });
  const inDoubt = source.intents.inDoubt(inboundQoS2);
  return {
    connectionId: source.connectionId,
    epoch: source.epoch,
    owner: context.replicaId,
    connected: true,
    expirySeconds: source.expirySeconds,
    subscriptions: [...subs, ...context.subscriptions.sharedOf(source.session)].map(({ filter, options: o }) => ({
      filter, qos: o.qos, noLocal: o.noLocal, retainAsPublished: o.retainAsPublished,
      ...(o.subscriptionIdentifier !== undefined && { subscriptionIdentifier: o.subscriptionIdentifier }),
      ...(o.shareGroup !== undefined && { shareGroup: o.shareGroup }),
    })),
    positions: source.positions.stored((t, p) => live.position(t, p), topics, (t) => live.partitionsOf(t)),
    inflight: source.positions.inflight(window),
    inboundQoS2: [...inboundQoS2],
    ...(inDoubt.length > 0 && { inboundInDoubt: inDoubt }),
    ...(source.session.username !== undefined && { username: source.session.username }),
    ...(source.will !== undefined && { will: source.will }),
  };
}
