import type { Logger } from 'pino';
import { CompactedStore } from '../kafka/compacted-store.js';
import { TopicNotCompactedError } from '../kafka/compacted-topic.js';
import { checkCompactedTopic, type CheckOutcome } from '../kafka/compacted-topic-check.js';
import type { KafkaConnectionOptions } from '../kafka/connection-options.js';
import { LEASE_KEY_PREFIX, sessionCodec, type ReplicaLease, type SessionTopicValue, type StoredSession } from './session-record.js';

export type { ReplicaLease, StoredInflight, StoredSession, StoredSubscription, StoredWill } from './session-record.js';
export { sessionExpiresAt } from './session-record.js';

export interface SessionStoreOptions {
  /** The compacted topic keyed by client id (`sessions.topic`). */
  readonly topic: string;
  readonly connection: KafkaConnectionOptions;
  readonly logger: Logger;
  /** Reader fetch wait, ms: how soon another replica's write shows up here. */
  readonly maxWaitMs?: number;
}

export type SessionStoreState = 'checking' | 'reading' | 'ready' | 'misconfigured' | 'closed';

/**
 * The sessions of every replica in a compacted Kafka topic, mirrored in memory: checked (created
 * compacted when absent), read to its end before the proxy is ready, then followed. A write
 * resolves once Kafka has it and this store read it back.
 */
export class KafkaSessionStore {
  readonly checked: Promise<CheckOutcome>;
  readonly ready: Promise<void>;
  private store: CompactedStore<SessionTopicValue> | undefined;
  private readonly started: Promise<CompactedStore<SessionTopicValue>>;
  private phase: SessionStoreState = 'checking';
  private problem: Error | undefined;
  private closed = false;
  private begun = false;
  private report: (outcome: CheckOutcome) => void = () => undefined;
  private readonly listeners: Array<(clientId: string, session: StoredSession | undefined) => void> = [];
  private markStarted: (store: CompactedStore<SessionTopicValue>) => void = () => undefined;
  private failStart: (error: Error) => void = () => undefined;

  constructor(private readonly options: SessionStoreOptions) {
    this.checked = new Promise((resolve) => (this.report = resolve));
    this.started = new Promise((resolve, reject) => {
      this.markStarted = resolve;
      this.failStart = reject;
    });
    this.started.catch(() => undefined);
    this.ready = this.started.then((store) => store.ready);
    this.ready.catch(() => undefined);
  }

  /** Checks the topic and starts reading it; resolves with the first check's outcome. */
  start(): Promise<CheckOutcome> {
    if (!this.begun) {
      this.begun = true;
      this.begin().then(this.markStarted, this.failStart);
    }
    return this.checked;
  }

  get state(): SessionStoreState {
    return this.phase;
  }

  get failure(): Error | undefined {
    return this.problem;
  }

  /** Told of every session record read, this replica's and the others' (undefined: deleted). */
  onRecord(listener: (clientId: string, session: StoredSession | undefined) => void): void {
    this.listeners.push(listener);
  }

  get(clientId: string): StoredSession | undefined {
    const value = this.store?.get(clientId);
    return value?.kind === 'session' ? value.session : undefined;
  }

  /** Keys held: sessions and replica leases. */
  get size(): number {
    return this.store?.size ?? 0;
  }

  *entries(): Iterable<[string, StoredSession]> {
    for (const [key, value] of this.store?.entries() ?? []) if (value.kind === 'session') yield [key, value.session];
  }

  /** The replicas' leases, by replica. */
  leases(): Map<string, ReplicaLease> {
    const out = new Map<string, ReplicaLease>();
    for (const [, value] of this.store?.entries() ?? []) if (value.kind === 'lease') out.set(value.lease.replica, value.lease);
    return out;
  }

  async set(clientId: string, session: StoredSession): Promise<void> {
    await (await this.started).set(clientId, { kind: 'session', session });
  }

  async renewLease(lease: ReplicaLease): Promise<void> {
    await (await this.started).set(`${LEASE_KEY_PREFIX}${lease.replica}`, { kind: 'lease', lease });
  }

  async dropLease(replica: string): Promise<void> {
    await (await this.started).delete(`${LEASE_KEY_PREFIX}${replica}`);
  }

  async delete(clientId: string): Promise<void> {
    await (await this.started).delete(clientId);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.phase = 'closed';
    this.failStart(new Error('the session store was closed before it started'));
    await this.store?.close();
  }

  private async begin(): Promise<CompactedStore<SessionTopicValue>> {
    const { topic, connection, logger } = this.options;
    // The state is known when `checked` settles: set before the outcome is reported.
    const report = (outcome: CheckOutcome): void => {
      if (outcome instanceof TopicNotCompactedError) {
        this.phase = 'misconfigured';
        this.problem = outcome;
      }
      this.report(outcome);
    };
    await checkCompactedTopic({ topic, connection, logger, what: 'sessions', closed: () => this.closed, report });
    if (this.closed) throw new Error('the session store was closed before it started');
    this.phase = 'reading';
    const store = new CompactedStore<SessionTopicValue>({
      topic,
      connection,
      logger,
      codec: sessionCodec,
      reader: { maxWaitMs: this.options.maxWaitMs ?? 100 },
      onChange: (key, value) => {
        if (key.startsWith(LEASE_KEY_PREFIX)) return;
        const session = value?.kind === 'session' ? value.session : undefined;
        for (const listener of this.listeners) listener(key, session);
      },
    });
    this.store = store;
    void store.ready.then(() => {
      if (this.phase === 'reading') this.phase = 'ready';
    }, () => undefined);
    return store;
  }
}
