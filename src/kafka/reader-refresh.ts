import { ListOffsetTimestamps, type ClusterMetadata, type Consumer } from '@platformatic/kafka';
import { errorChain } from './errors.js';
import type { PartitionCursor } from './partition-cursor.js';
import { Backoff, type ReaderHealth } from './reader-health.js';
import type { StartPosition } from './reader-types.js';

/** What the refresh needs from the reader. */
export interface RefreshHost {
  readonly consumer: Consumer;
  readonly closed: boolean;
  readonly readCommitted: boolean;
  readonly health: ReaderHealth;
  /** Where positions go that no longer mean anything (the topic was deleted and created again). */
  readonly outOfRange: 'earliest' | 'latest';
  /** Topics with at least one assigned partition, or assigned whole. */
  topics(): string[];
  cursorsOf(topic: string): PartitionCursor[];
  /** The topic has `count` partitions now (a whole-topic assignment adds cursors for new ones). */
  partitionCount(topic: string, count: number): void;
  /** A start position was looked up. */
  resolved(cursor: PartitionCursor, offset: bigint): void;
  /** Leaders are known again for these nodes' partitions. */
  leadersKnown(nodes: ReadonlySet<number>): void;
}

// Metadata is asked of the next bootstrap broker when one does not answer.
const METADATA_RETRIES = 2;

/**
 * Looks up what the fetch loops need and cannot find out alone: each partition's leader (and the
 * topic ids fetch requests name topics by), and the offsets of start positions (ListOffsets). Runs
 * when asked (new assignment, a leader or broker error, a reset) and on a timer for whole-topic
 * assignments; one run at a time, failures retried with backoff.
 */
export class ReaderRefresh {
  private readonly ids = new Map<string, string>();
  private readonly names = new Map<string, string>();
  private readonly brokers = new Map<number, string>();
  private readonly backoff: Backoff;
  private running = false;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private idle: Promise<void> = Promise.resolve();

  constructor(
    private readonly host: RefreshHost,
    retryInitialMs: number,
    retryMaxMs: number,
  ) {
    this.backoff = new Backoff(retryInitialMs, retryMaxMs);
  }

  topicId(topic: string): string | undefined {
    return this.ids.get(topic);
  }

  topicName(id: string): string | undefined {
    return this.names.get(id);
  }

  brokerAddress(node: number): string {
    return this.brokers.get(node) ?? `node ${node}`;
  }

  /** Runs soon (at once unless a retry delay is pending); a run in progress runs again after. */
  request(delayMs = 0): void {
    if (this.host.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.idle = this.run().catch((error: unknown) => {
        // Not a Kafka failure (those are handled in run): still, the reader must not stop looking.
        this.running = false;
        this.host.health.other('refreshing partition metadata failed', error);
        this.request(this.backoff.fail());
      });
    }, delayMs);
  }

  /** Resolves once no run is in progress; no run starts after. */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.idle;
  }

  private async run(): Promise<void> {
    this.running = true;
    this.again = false;
    let ok = false;
    try {
      ok = (await this.refreshLeaders()) && (await this.resolveStarts());
    } finally {
      this.running = false;
    }
    if (this.host.closed) return;
    const pending = this.pending();
    if (ok && !pending) this.backoff.reset();
    // Still missing a leader (an election under way) or a failure: try again after a delay.
    if (!ok || pending) this.request(this.backoff.fail());
    else if (this.again) this.request();
  }

  /** Some cursor still lacks a leader or a position, or a whole topic has not been found yet. */
  private pending(): boolean {
    return this.host.topics().some((topic) => {
      const cursors = this.host.cursorsOf(topic);
      return cursors.length === 0 || cursors.some((c) => !c.removed && (c.leader === undefined || c.next === undefined));
    });
  }

  private async refreshLeaders(): Promise<boolean> {
    const topics = this.host.topics();
    if (topics.length === 0) return true;
    let metadata: ClusterMetadata;
    try {
      metadata = await this.host.consumer.metadata({ topics, forceUpdate: true, retries: METADATA_RETRIES });
    } catch (error) {
      if (!isUnknownTopic(error)) {
        this.host.health.clusterFailed(error);
        return false;
      }
      // One missing topic fails the whole request: ask topic by topic to read the others.
      const found = await this.eachTopic(topics);
      if (found === undefined) return false;
      metadata = found;
    }
    this.host.health.clusterOk();
    this.apply(metadata);
    return true;
  }

  private async eachTopic(topics: readonly string[]): Promise<ClusterMetadata | undefined> {
    let merged: ClusterMetadata | undefined;
    for (const topic of topics) {
      try {
        const one = await this.host.consumer.metadata({ topics: [topic], forceUpdate: true, retries: METADATA_RETRIES });
        if (merged === undefined) merged = { ...one, topics: new Map(one.topics) };
        else for (const [name, data] of one.topics) merged.topics.set(name, data);
      } catch (error) {
        if (!isUnknownTopic(error)) {
          this.host.health.clusterFailed(error);
          return undefined;
        }
        this.host.health.topicMissing(topic, 'not in the cluster metadata');
      }
    }
    return merged ?? { id: '', brokers: new Map(), controllerId: -1, topics: new Map(), lastUpdate: Date.now() };
  }

  private apply(metadata: ClusterMetadata): void {
    for (const [node, broker] of metadata.brokers) this.brokers.set(node, `${broker.host}:${broker.port}`);
    const moves: string[] = [];
    const nodes = new Set<number>();
    for (const [topic, data] of metadata.topics) {
      if (data === undefined) continue;
      this.host.health.topicFound(topic);
      const known = this.ids.get(topic);
      if (known !== undefined && known !== data.id) this.recreated(topic, known);
      this.ids.set(topic, data.id);
      this.names.set(data.id, topic);
      this.host.partitionCount(topic, data.partitionsCount);
      for (const cursor of this.host.cursorsOf(topic)) {
        const partition = data.partitions[cursor.partition];
        if (partition === undefined) {
          this.host.health.topicMissing(`${topic}/${cursor.partition}`, `the topic has ${data.partitionsCount} partitions`);
          continue;
        }
        const leader = partition.leader >= 0 ? partition.leader : undefined;
        if (cursor.lastLeader !== undefined && leader !== undefined && leader !== cursor.lastLeader) {
          moves.push(`${topic}/${cursor.partition}: ${cursor.lastLeader} -> ${leader}`);
        }
        cursor.leader = leader;
        cursor.leaderEpoch = partition.leaderEpoch;
        if (leader !== undefined) {
          cursor.lastLeader = leader;
          nodes.add(leader);
        }
      }
    }
    this.host.health.leadersMoved(moves);
    this.host.leadersKnown(nodes);
  }

  /** The topic's id changed: offsets of the old topic say nothing about the new one's records. */
  private recreated(topic: string, oldId: string): void {
    this.names.delete(oldId);
    this.host.health.topicRecreated(topic);
    for (const cursor of this.host.cursorsOf(topic)) {
      if (cursor.next !== undefined) cursor.resetFrom ??= cursor.next;
      cursor.seek(this.host.outOfRange);
    }
  }

  /** Looks up the offsets of start positions, one ListOffsets per topic and kind of position. */
  private async resolveStarts(): Promise<boolean> {
    const groups = new Map<string, { topic: string; timestamp: bigint; cursors: PartitionCursor[] }>();
    for (const topic of this.host.topics()) {
      for (const cursor of this.host.cursorsOf(topic)) {
        if (cursor.removed || cursor.start === undefined || cursor.leader === undefined) continue;
        const timestamp = listTimestamp(cursor.start);
        const key = `${topic}\u0000${timestamp}`;
        let group = groups.get(key);
        if (group === undefined) groups.set(key, (group = { topic, timestamp, cursors: [] }));
        group.cursors.push(cursor);
      }
    }
    let ok = true;
    for (const { topic, timestamp, cursors } of groups.values()) {
      if (!(await this.resolveGroup(topic, timestamp, cursors))) ok = false;
    }
    return ok;
  }

  private async resolveGroup(topic: string, timestamp: bigint, cursors: readonly PartitionCursor[]): Promise<boolean> {
    const asked = cursors.map((cursor) => ({ cursor, generation: cursor.generation }));
    try {
      const offsets = await this.listOffsets(topic, timestamp, cursors.map((c) => c.partition));
      // No record at or after a timestamp: the position is the end.
      const late = cursors.filter((c) => (offsets.get(c.partition) ?? -1n) < 0n).map((c) => c.partition);
      const ends = timestamp >= 0n && late.length > 0 ? await this.listOffsets(topic, ListOffsetTimestamps.LATEST, late) : new Map<number, bigint>();
      for (const { cursor, generation } of asked) {
        if (cursor.removed || cursor.generation !== generation) continue;
        const offset = offsets.get(cursor.partition) ?? -1n;
        const resolved = offset >= 0n ? offset : ends.get(cursor.partition);
        if (resolved !== undefined && resolved >= 0n) this.host.resolved(cursor, resolved);
      }
      this.host.health.otherOk();
      return true;
    } catch (error) {
      this.host.health.other(`looking up start offsets of ${topic}`, error);
      // The leaders may have moved: look them up again before the next try.
      for (const cursor of cursors) cursor.leader = undefined;
      return false;
    }
  }

  /** Every partition's first (`earliest`) or end (`latest`) offset now; one try, rejects on failure. */
  async offsetsOf(topic: string, which: 'earliest' | 'latest'): Promise<Map<number, bigint>> {
    const result = await this.host.consumer.listOffsets({
      topics: [topic],
      timestamp: listTimestamp(which),
      isolationLevel: this.host.readCommitted ? 1 : 0,
    });
    return new Map((result.get(topic) ?? []).map((offset, partition) => [partition, offset]));
  }

  private async listOffsets(topic: string, timestamp: bigint, partitions: number[]): Promise<Map<number, bigint>> {
    const result = await this.host.consumer.listOffsets({
      topics: [topic],
      partitions: { [topic]: partitions },
      timestamp,
      isolationLevel: this.host.readCommitted ? 1 : 0,
    });
    const offsets = result.get(topic) ?? [];
    return new Map(partitions.map((p) => [p, offsets[p] ?? -1n]));
  }
}

function listTimestamp(start: StartPosition): bigint {
  if (start === 'earliest') return ListOffsetTimestamps.EARLIEST;
  if (start === 'latest') return ListOffsetTimestamps.LATEST;
  if ('timestamp' in start) return BigInt(Math.max(0, Math.floor(start.timestamp)));
  throw new Error('an offset start position needs no lookup');
}

function isUnknownTopic(error: unknown): boolean {
  return errorChain(error).some((e) => typeof e.message === 'string' && e.message.startsWith('Unknown topic '));
}
