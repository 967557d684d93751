import type { Logger } from 'pino';
import type { CompactedStore } from '../kafka/compacted-store.js';
import { TopicNotCompactedError } from '../kafka/compacted-topic.js';
import type { CheckOutcome } from '../kafka/compacted-topic-check.js';
import { StateTopic, type StateTopicPhase } from '../kafka/state-topic.js';
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

export type RetainedStoreState = StateTopicPhase;

const DEFAULT_WRITE_TIMEOUT_MS = 30_000;

/**
 * Retained messages in a compacted Kafka topic, keyed by MQTT topic, mirrored in memory: the topic
 * is checked (created compacted when absent, refused when it exists without compaction), read to
 * its end at start, then kept current with every replica's writes. A write resolves once Kafka
 * acknowledged it and this store read it back, so a SUBSCRIBE here after it sees it.
 */
export class KafkaRetainedStore implements RetainedStore {
  private readonly index = new TopicIndex<RetainedMessage>();
  private readonly topic: StateTopic<RetainedMessage>;

  constructor(private readonly options: KafkaRetainedStoreOptions) {
    this.topic = new StateTopic<RetainedMessage>({
      topic: options.topic,
      connection: options.connection,
      logger: options.logger,
      what: 'retained messages',
      codec: retainedCodec,
      maxWaitMs: options.maxWaitMs ?? 500,
      ...(options.retryMs !== undefined && { retryMs: options.retryMs }),
      onChange: (key, value) => {
        if (value === undefined) this.index.delete(key);
        else this.index.set(key, value);
      },
    });
  }

  /** Resolves with the outcome of the first attempt to check the topic (`unreachable` when Kafka did not answer it). */
  get checked(): Promise<CheckOutcome> {
    return this.topic.checked;
  }

  get ready(): Promise<void> {
    return this.topic.ready;
  }

  /**
   * Checks the topic (retried until Kafka answers) and starts reading it; resolves with the first
   * check's outcome. Writes made before wait for it.
   */
  start(): Promise<CheckOutcome> {
    return this.topic.start();
  }

  /** Where the store is: checking the topic, reading it, ready, or stopped by a topic that is not compacted. */
  get state(): RetainedStoreState {
    return this.topic.state;
  }

  /** Why the store cannot serve (`misconfigured`), for readiness and logs. */
  get failure(): Error | undefined {
    return this.topic.failure;
  }

  /** Topics holding a retained message (expired ones included until they are replaced or cleared). */
  get size(): number {
    return this.index.size;
  }

  matching(filter: string, now: number): readonly RetainedMessage[] {
    let found: RetainedMessage[];
    if (!filter.includes('+') && !filter.includes('#')) {
      const message = this.topic.store?.get(filter);
      found = message === undefined ? [] : [message];
    } else {
      found = this.index.match(filter);
    }
    return found.some((m) => isExpired(m, now)) ? found.filter((m) => !isExpired(m, now)) : found;
  }

  async set(message: RetainedMessage): Promise<void> {
    if (this.topic.isClosed) throw new RetainedWriteError('closed', 'the retained store is closed');
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

  close(): Promise<void> {
    return this.topic.close();
  }

  private async write(message: RetainedMessage): Promise<void> {
    let store: CompactedStore<RetainedMessage>;
    try {
      store = await this.topic.started;
    } catch (error) {
      if (error instanceof TopicNotCompactedError) throw new RetainedWriteError('misconfigured', error.message, { cause: error });
      throw new RetainedWriteError('closed', 'the retained store was closed before it started', { cause: error });
    }
    try {
      if (message.payload.length === 0) await store.delete(message.topic);
      else await store.set(message.topic, message);
    } catch (error) {
      if (error instanceof RetainedWriteError) throw error;
      throw new RetainedWriteError(this.topic.isClosed ? 'closed' : 'unavailable', `the retained message for ${message.topic} was not written: ${describeCause(error)}`, { cause: error });
    }
  }
}
