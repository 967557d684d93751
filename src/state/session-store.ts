import type { Logger } from 'pino';
import type { CheckOutcome } from '../kafka/compacted-topic-check.js';
import type { KafkaConnectionOptions } from '../kafka/connection-options.js';
import { StateTopic, type StateTopicPhase } from '../kafka/state-topic.js';
import { LEASE_KEY_PREFIX, sessionCodec, type ReplicaLease, type SessionTopicValue, type StoredSession } from './session-record.js';

export type { ReplicaLease, StoredInboundIntent, StoredInflight, StoredSession, StoredSubscription, StoredWill } from './session-record.js';
export { sessionExpiresAt } from './session-record.js';

export interface SessionStoreOptions {
  /** The compacted topic keyed by client id (`sessions.topic`). */
  readonly topic: string;
  readonly connection: KafkaConnectionOptions;
  readonly logger: Logger;
  /** Reader fetch wait, ms: how soon another replica's write shows up here [100]. */
  readonly maxWaitMs?: number;
}

export type SessionStoreState = StateTopicPhase;

/**
 * The sessions of every replica, and the replicas' leases, in a compacted Kafka topic mirrored in
 * memory: checked (created compacted when absent), read to its end before the proxy is ready, then
 * followed. A write resolves once Kafka has it and this store read it back.
 */
export class KafkaSessionStore {
  private readonly listeners: Array<(clientId: string, session: StoredSession | undefined) => void> = [];
  private readonly topic: StateTopic<SessionTopicValue>;

  constructor(options: SessionStoreOptions) {
    this.topic = new StateTopic<SessionTopicValue>({
      ...options,
      what: 'sessions',
      codec: sessionCodec,
      maxWaitMs: options.maxWaitMs ?? 100,
      onChange: (key, value) => {
        if (key.startsWith(LEASE_KEY_PREFIX)) return;
        const session = value?.kind === 'session' ? value.session : undefined;
        for (const listener of this.listeners) listener(key, session);
      },
    });
  }

  get checked(): Promise<CheckOutcome> {
    return this.topic.checked;
  }

  get ready(): Promise<void> {
    return this.topic.ready;
  }

  /** Checks the topic and starts reading it; resolves with the first check's outcome. */
  start(): Promise<CheckOutcome> {
    return this.topic.start();
  }

  get state(): SessionStoreState {
    return this.topic.state;
  }

  get failure(): Error | undefined {
    return this.topic.failure;
  }

  /** Told of every session record read, this replica's and the others' (undefined: deleted). */
  onRecord(listener: (clientId: string, session: StoredSession | undefined) => void): void {
    this.listeners.push(listener);
  }

  get(clientId: string): StoredSession | undefined {
    const value = this.topic.store?.get(clientId);
    return value?.kind === 'session' ? value.session : undefined;
  }

  *entries(): Iterable<[string, StoredSession]> {
    for (const [key, value] of this.topic.store?.entries() ?? []) if (value.kind === 'session') yield [key, value.session];
  }

  /** The replicas' leases, by replica. */
  leases(): Map<string, ReplicaLease> {
    const out = new Map<string, ReplicaLease>();
    for (const [, value] of this.topic.store?.entries() ?? []) if (value.kind === 'lease') out.set(value.lease.replica, value.lease);
    return out;
  }

  /** Resolves once every record written before the call (by any replica) has been read. */
  async sync(): Promise<void> {
    await (await this.topic.started).sync();
  }

  async set(clientId: string, session: StoredSession): Promise<void> {
    await (await this.topic.started).set(clientId, { kind: 'session', session });
  }

  async delete(clientId: string): Promise<void> {
    await (await this.topic.started).delete(clientId);
  }

  async renewLease(lease: ReplicaLease): Promise<void> {
    await (await this.topic.started).set(`${LEASE_KEY_PREFIX}${lease.replica}`, { kind: 'lease', lease });
  }

  async dropLease(replica: string): Promise<void> {
    await (await this.topic.started).delete(`${LEASE_KEY_PREFIX}${replica}`);
  }

  close(): Promise<void> {
    return this.topic.close();
  }
}
