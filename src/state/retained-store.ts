import type { Logger } from 'pino';
import { CompactedStore } from '../kafka/compacted-store.js';
import { TopicNotCompactedError } from '../kafka/compacted-topic.js';
import { checkCompactedTopic, type CheckOutcome } from '../kafka/compacted-topic-check.js';
import type { KafkaConnectionOptions } from '../kafka/connection-options.js';
import { describeCause } from '../kafka/reader-health.js';
import { retainedCodec } from './retained-codec.js';
import { TopicIndex } from './retained-index.js';
import { isExpired, RetainedWriteError, type RetainedMessage, type RetainedStore } from './retained-types.js';

export type { RetainedMessage, RetainedProperties, RetainedStore, RetainedWriteFailure } from './retained-types.js';
export { RetainedWriteError, expiresAt, isExpired } from './retained-types.js';

export interface KafkaRetainedStoreOptions {
  /** The compacted topic, keyed by MQTT topic (`retained.topic`). */
  readonly topic: string;
  readonly connection: KafkaConnectionOptions;
  readonly logger: Logger;
  /** A set() not acknowledged and read back within this is refused (retriable). Default 30 s. */
  readonly writeTimeoutMs?: number;
  /** Reader fetch wait, ms (how soon another replica's write shows up here when the topic is idle). */
  readonly maxWaitMs?: number;
  /** First and longest wait between attempts to reach Kafka at start, ms. */
  readonly retryMs?: { readonly first: number; readonly max: number };
}

export type RetainedStoreState = 'checking' | 'reading' | 'ready' | 'misconfigured' | 'closed';

const DEFAULT_WRITE_TIMEOUT_MS = 30_000;

/**
 * Retained messages in a compacted Kafka topic, keyed by MQTT topic, mirrored in memory: the topic
 * is checked (created compacted when absent, refused when it exists without compaction), read to
 * its end at start, then kept current with every replica's writes. A write resolves once Kafka
 * acknowledged it and this store read it back, so a SUBSCRIBE here after it sees it.
 */
export class KafkaRetainedStore implements RetainedStore {
  readonly ready: Promise<void>;
  /** Resolves with the outcome of the first attempt to check the topic (`unreachable` when Kafka did not answer it). */
  readonly checked: Promise<'created' | 'exists' | 'unreachable' | TopicNotCompactedError>;
  private readonly index = new TopicIndex<RetainedMessage>();
  private store: CompactedStore<RetainedMessage> | undefined;
  private readonly started: Promise<CompactedStore<RetainedMessage>>;
  private markStarted: (store: CompactedStore<RetainedMessage>) => void = () => undefined;
  private failStart: (error: Error) => void = () => undefined;
  private starting = false;
  private phase: RetainedStoreState = 'checking';
  private problem: Error | undefined;
  private closed = false;
  private reportCheck: (outcome: 'created' | 'exists' | 'unreachable' | TopicNotCompactedError) => void = () => undefined;

  constructor(private readonly options: KafkaRetainedStoreOptions) {
    this.checked = new Promise((resolve) => (this.reportCheck = resolve));
    this.started = new Promise((resolve, reject) => {
      this.markStarted = resolve;
      this.failStart = reject;
    });
    this.started.catch(() => undefined);
    this.ready = this.started.then((store) => store.ready);
    this.ready.catch(() => undefined);
  }

  /**
   * Checks the topic (retried until Kafka answers) and starts reading it; resolves with the first
   * check's outcome. Writes made before wait for it.
   */
  start(): Promise<'created' | 'exists' | 'unreachable' | TopicNotCompactedError> {
    if (!this.starting) {
      this.starting = true;
      this.begin().then(this.markStarted, this.failStart);
    }
    return this.checked;
  }

  /** Where the store is: checking the topic, reading it, ready, or stopped by a topic that is not compacted. */
  get state(): RetainedStoreState {
    return this.phase;
  }

  /** Why the store cannot serve (`misconfigured`), for readiness and logs. */
  get failure(): Error | undefined {
    return this.problem;
  }

  /** Topics holding a retained message (expired ones included until they are replaced or cleared). */
  get size(): number {
    return this.index.size;
  }

  matching(filter: string, now: number): readonly RetainedMessage[] {
    let found: RetainedMessage[];
    if (!filter.includes('+') && !filter.includes('#')) {
      const message = this.store?.get(filter);
      found = message === undefined ? [] : [message];
    } else {
      found = this.index.match(filter);
    }
    return found.some((m) => isExpired(m, now)) ? found.filter((m) => !isExpired(m, now)) : found;
  }

  async set(message: RetainedMessage): Promise<void> {
    if (this.closed) throw new RetainedWriteError('closed', 'the retained store is closed');
    const timeoutMs = this.options.writeTimeoutMs ?? DEFAULT_WRITE_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RetainedWriteError('timeout', `the retained message for ${message.topic} was not written and read back within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.write(message), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.phase = 'closed';
    this.failStart(new RetainedWriteError('closed', 'the retained store was closed before it started'));
    await this.store?.close();
  }

  private async write(message: RetainedMessage): Promise<void> {
    const store = await this.started;
    try {
      if (message.payload.length === 0) await store.delete(message.topic);
      else await store.set(message.topic, message);
    } catch (error) {
      if (error instanceof RetainedWriteError) throw error;
      throw new RetainedWriteError(this.closed ? 'closed' : 'unavailable', `the retained message for ${message.topic} was not written: ${describeCause(error)}`, { cause: error });
    }
  }

  /** The topic checked (retried until Kafka answers), then the store that reads it. */
  private async begin(): Promise<CompactedStore<RetainedMessage>> {
    const { topic, connection, logger } = this.options;
    // The state is known when `checked` settles: set before the outcome is reported.
    const report = (outcome: CheckOutcome): void => {
      if (outcome instanceof TopicNotCompactedError) {
        this.phase = 'misconfigured';
        this.problem = outcome;
      }
      this.reportCheck(outcome);
    };
    try {
      const check = { topic, connection, logger, what: 'retained messages', closed: () => this.closed, report };
      await checkCompactedTopic({ ...check, ...(this.options.retryMs !== undefined && { retryMs: this.options.retryMs }) });
    } catch (error) {
      if (!(error instanceof TopicNotCompactedError)) throw error;
      throw new RetainedWriteError('misconfigured', error.message, { cause: error });
    }
    if (this.closed) throw new RetainedWriteError('closed', 'the retained store was closed before it started');
    this.phase = 'reading';
    const store = new CompactedStore<RetainedMessage>({
      topic,
      connection,
      logger,
      codec: retainedCodec,
      reader: { maxWaitMs: this.options.maxWaitMs ?? 500 },
      onChange: (key, value) => {
        if (value === undefined) this.index.delete(key);
        else this.index.set(key, value);
      },
    });
    this.store = store;
    void store.ready.then(() => {
      if (this.phase === 'reading') this.phase = 'ready';
    }, () => undefined);
    return store;
  }
}
