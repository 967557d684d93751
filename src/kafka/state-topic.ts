import type { Logger } from 'pino';
import { CompactedStore, type ValueCodec } from './compacted-store.js';
import { TopicNotCompactedError } from './compacted-topic.js';
import { checkCompactedTopic, type CheckOutcome } from './compacted-topic-check.js';
import type { KafkaConnectionOptions } from './connection-options.js';

export type StateTopicPhase = 'checking' | 'reading' | 'ready' | 'misconfigured' | 'closed';

export interface StateTopicOptions<V> {
  readonly topic: string;
  readonly connection: KafkaConnectionOptions;
  readonly logger: Logger;
  /** For log lines: `retained messages`, `sessions`. */
  readonly what: string;
  readonly codec: ValueCodec<V>;
  /** Reader fetch wait, ms: how soon another replica's write shows up here. */
  readonly maxWaitMs: number;
  readonly retryMs?: { readonly first: number; readonly max: number };
  readonly onChange?: (key: string, value: V | undefined, previous: V | undefined) => void;
}

/**
 * A compacted topic the proxy keeps state in, from start to close: checked (created compacted when
 * absent; a topic without compaction stops it: `misconfigured`), then read into a CompactedStore
 * and followed. `checked` settles with the first check's outcome, `ready` once the topic was read
 * to its end, `started` with the store (writes wait for it).
 */
export class StateTopic<V> {
  readonly checked: Promise<CheckOutcome>;
  readonly started: Promise<CompactedStore<V>>;
  readonly ready: Promise<void>;
  private current: CompactedStore<V> | undefined;
  private phase: StateTopicPhase = 'checking';
  private problem: TopicNotCompactedError | undefined;
  private closed = false;
  private begun = false;
  private report: (outcome: CheckOutcome) => void = () => undefined;
  private markStarted: (store: CompactedStore<V>) => void = () => undefined;
  private failStart: (error: Error) => void = () => undefined;

  constructor(private readonly options: StateTopicOptions<V>) {
    this.checked = new Promise((resolve) => (this.report = resolve));
    this.started = new Promise((resolve, reject) => {
      this.markStarted = resolve;
      this.failStart = reject;
    });
    this.started.catch(() => undefined);
    this.ready = this.started.then((store) => store.ready);
    this.ready.catch(() => undefined);
  }

  /** Checks the topic (retried until Kafka answers) and starts reading it; resolves with the first check's outcome. */
  start(): Promise<CheckOutcome> {
    if (!this.begun) {
      this.begun = true;
      this.begin().then(this.markStarted, this.failStart);
    }
    return this.checked;
  }

  get state(): StateTopicPhase {
    return this.phase;
  }

  /** Why it cannot serve (`misconfigured`). */
  get failure(): TopicNotCompactedError | undefined {
    return this.problem;
  }

  /** The store once the topic is being read. */
  get store(): CompactedStore<V> | undefined {
    return this.current;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.phase = 'closed';
    this.failStart(new Error(`the store of ${this.options.topic} was closed before it started`));
    await this.current?.close();
  }

  private async begin(): Promise<CompactedStore<V>> {
    const { topic, connection, logger, what } = this.options;
    // The state is known when `checked` settles: set before the outcome is reported.
    const report = (outcome: CheckOutcome): void => {
      if (outcome instanceof TopicNotCompactedError) {
        this.phase = 'misconfigured';
        this.problem = outcome;
      }
      this.report(outcome);
    };
    await checkCompactedTopic({ topic, connection, logger, what, closed: () => this.closed, report, ...(this.options.retryMs !== undefined && { retryMs: this.options.retryMs }) });
    if (this.closed) throw new Error(`the store of ${topic} was closed before it started`);
    this.phase = 'reading';
    const onChange = this.options.onChange;
    const store = new CompactedStore<V>({ topic, connection, logger, codec: this.options.codec, reader: { maxWaitMs: this.options.maxWaitMs }, ...(onChange !== undefined && { onChange }) });
    this.current = store;
    void store.ready.then(() => {
      if (this.phase === 'reading') this.phase = 'ready';
    }, () => undefined);
    return store;
  }
}
