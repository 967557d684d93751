import { protocolErrorsCodesById, type Consumer, type fetchV17 } from '@platformatic/kafka';
import { decodeBatches, type DecodedPartition } from './fetch-decode.js';
import { partitionKey, type PartitionCursor } from './partition-cursor.js';
import { Backoff } from './reader-health.js';

/** What a node's fetch loop needs from the reader that owns it. */
export interface FetchHost {
  readonly consumer: Consumer;
  readonly closed: boolean;
  readonly readCommitted: boolean;
  /** The partitions led by `node` that may be fetched now. */
  fetchable(node: number): PartitionCursor[];
  topicId(topic: string): string | undefined;
  topicName(id: string): string | undefined;
  /** Records (or only a new position) for a cursor, from an answer asked at its current generation. */
  deliver(cursor: PartitionCursor, decoded: DecodedPartition, endOffset: bigint | undefined): void;
  /** The broker answered for the partition with a Kafka error code name. */
  partitionFailed(cursor: PartitionCursor, code: string): void;
  /** No answer from the node (connection refused or lost, timeout): its partitions need their leader looked up. */
  nodeFailed(node: number, error: unknown, cursors: readonly PartitionCursor[]): void;
  nodeOk(node: number): void;
}

export interface FetchLimits {
  readonly maxWaitMs: number;
  readonly maxBytes: number;
  readonly partitionMaxBytes: number;
  readonly retryInitialMs: number;
  readonly retryMaxMs: number;
}

type FetchRequestTopic = fetchV17.FetchRequestTopic;
type FetchResponse = fetchV17.FetchResponse;

interface Asked {
  readonly cursor: PartitionCursor;
  readonly generation: number;
  readonly offset: bigint;
}

// Errors of the fetch session alone (KIP-227): the client has already dropped its session, so
// the next request (a full one) goes out at once.
const SESSION_ERRORS = new Set(['FETCH_SESSION_ID_NOT_FOUND', 'INVALID_FETCH_SESSION_EPOCH', 'FETCH_SESSION_TOPIC_ID_ERROR']);

/**
 * One broker's fetch loop: a single fetch in flight at a time, for every partition the broker leads
 * that is neither paused nor waiting on the handler. One request at a time per broker is what a
 * fetch session needs: the library keeps one session per broker and sends, after the first request,
 * only the partitions whose position changed, and the broker answers only those with news.
 */
export class NodeFetcher {
  private wakeUp: (() => void) | undefined;
  private endSleep: (() => void) | undefined;
  private readonly backoff: Backoff;
  private running: Promise<void> | undefined;

  constructor(
    readonly node: number,
    private readonly host: FetchHost,
    private readonly limits: FetchLimits,
  ) {
    this.backoff = new Backoff(limits.retryInitialMs, limits.retryMaxMs);
  }

  start(): void {
    this.running ??= this.run();
  }

  /** Something may have become fetchable on this node. */
  wake(): void {
    const wakeUp = this.wakeUp;
    this.wakeUp = undefined;
    wakeUp?.();
  }

  /** Ends the loop once the fetch in flight (if any) has returned. */
  async stop(): Promise<void> {
    this.endSleep?.();
    this.wake();
    await this.running;
  }

  private async run(): Promise<void> {
    while (!this.host.closed) {
      const cursors = this.host.fetchable(this.node);
      if (cursors.length === 0) {
        await new Promise<void>((resolve) => (this.wakeUp = resolve));
        continue;
      }
      try {
        await this.fetchOnce(cursors);
      } catch (error) {
        // A fault in handling an answer (not a Kafka failure, which fetchOnce handles): the loop goes on.
        this.host.nodeFailed(this.node, error, cursors);
        await this.sleep(this.backoff.fail());
      }
    }
  }

  private async fetchOnce(cursors: readonly PartitionCursor[]): Promise<void> {
    const asked = new Map<string, Asked>();
    const topics = this.request(cursors, asked);
    if (topics.length === 0) return;
    for (const { cursor } of asked.values()) cursor.inFlight = true;
    let response: FetchResponse | undefined;
    let failure: unknown;
    try {
      response = await this.host.consumer.fetch({
        node: this.node,
        topics,
        maxWaitTime: this.limits.maxWaitMs,
        minBytes: 1,
        maxBytes: this.limits.maxBytes,
      });
    } catch (error) {
      failure = error;
    } finally {
      for (const { cursor } of asked.values()) cursor.inFlight = false;
    }
    if (this.host.closed) return;
    if (response !== undefined) {
      this.backoff.reset();
      this.host.nodeOk(this.node);
      this.accept(response, asked);
      return;
    }
    await this.failed(failure, asked);
  }

  private request(cursors: readonly PartitionCursor[], asked: Map<string, Asked>): FetchRequestTopic[] {
    const byTopic = new Map<string, FetchRequestTopic>();
    for (const cursor of cursors) {
      const topicId = this.host.topicId(cursor.topic);
      if (topicId === undefined || cursor.next === undefined) continue;
      let topic = byTopic.get(topicId);
      if (topic === undefined) {
        topic = { topicId, partitions: [] };
        byTopic.set(topicId, topic);
      }
      topic.partitions.push({
        partition: cursor.partition,
        currentLeaderEpoch: cursor.leaderEpoch,
        fetchOffset: cursor.next,
        lastFetchedEpoch: -1,
        partitionMaxBytes: this.limits.partitionMaxBytes,
      });
      asked.set(partitionKey(cursor.topic, cursor.partition), { cursor, generation: cursor.generation, offset: cursor.next });
    }
    return [...byTopic.values()];
  }

  /** Hands each partition's records to the reader; partitions not asked for (lingering in the session) are ignored. */
  private accept(response: FetchResponse, asked: ReadonlyMap<string, Asked>): void {
    for (const topicResponse of response.responses) {
      const topic = this.host.topicName(topicResponse.topicId);
      if (topic === undefined) continue;
      for (const partition of topicResponse.partitions) {
        const entry = asked.get(partitionKey(topic, partition.partitionIndex));
        if (entry === undefined || !this.current(entry)) continue;
        if (partition.errorCode !== 0) {
          this.host.partitionFailed(entry.cursor, errorName(partition.errorCode));
          continue;
        }
        const end = this.host.readCommitted && partition.lastStableOffset >= 0n ? partition.lastStableOffset : partition.highWatermark;
        this.host.deliver(entry.cursor, decodeBatches(partition.records, entry.offset), end >= 0n ? end : undefined);
      }
    }
  }

  /**
   * A fetch that failed. With an answer (some partitions in error), the errors are handed on and the
   * records of that answer are not used: the library filters aborted transactions only out of
   * answers without errors, so they are fetched again. Without one, the node is unreachable.
   */
  private async failed(failure: unknown, asked: ReadonlyMap<string, Asked>): Promise<void> {
    const response = responseOf(failure);
    if (response === undefined) {
      this.host.nodeFailed(this.node, failure, [...asked.values()].map((a) => a.cursor));
      await this.sleep(this.backoff.fail());
      return;
    }
    this.host.nodeOk(this.node);
    let partitionErrors = 0;
    for (const topicResponse of response.responses ?? []) {
      const topic = this.host.topicName(topicResponse.topicId);
      if (topic === undefined) continue;
      for (const partition of topicResponse.partitions) {
        const entry = asked.get(partitionKey(topic, partition.partitionIndex));
        if (entry === undefined || partition.errorCode === 0 || !this.current(entry)) continue;
        partitionErrors++;
        this.host.partitionFailed(entry.cursor, errorName(partition.errorCode));
      }
    }
    const sessionOnly = partitionErrors === 0 && SESSION_ERRORS.has(errorName(response.errorCode));
    if (!sessionOnly && partitionErrors === 0) await this.sleep(this.backoff.fail());
  }

  private current(entry: Asked): boolean {
    const { cursor } = entry;
    return !cursor.removed && !cursor.paused && cursor.generation === entry.generation && cursor.next === entry.offset;
  }

  /** A retry delay; only stop() cuts it short. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.endSleep = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.endSleep = done;
    });
  }
}

function errorName(code: number): string {
  return protocolErrorsCodesById[code] ?? `ERROR_${code}`;
}

/** The broker's answer carried by a ResponseError, when the failure is one. */
function responseOf(error: unknown): FetchResponse | undefined {
  if (error === null || typeof error !== 'object' || !('response' in error)) return undefined;
  const response = (error as { response?: unknown }).response;
  if (response === null || typeof response !== 'object' || !('responses' in response)) return undefined;
  return response as FetchResponse;
}
