import type { Logger } from 'pino';
import { errorChain } from './errors.js';

/** Short words for what went wrong: the innermost message of the client's error chain that says more than "failed N times". */
export function describeCause(error: unknown): string {
  const chain = errorChain(error);
  const messages = chain.map((e) => (typeof e.message === 'string' ? e.message : '')).filter((m) => m !== '');
  const telling = messages.filter((m) => !/failed \d+ times|^Received response with error/.test(m));
  const apiIds = chain.map((e) => e.apiId).filter((id): id is string => typeof id === 'string');
  const words = telling.at(-1) ?? messages[0] ?? String(error);
  return apiIds.length > 0 && !words.includes(apiIds[0]!) ? `${apiIds[0]}: ${words}` : words;
}

/** A retry delay that doubles per failure in a row, with a little jitter so retries of many partitions do not align. */
export class Backoff {
  private failures = 0;

  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
  ) {}

  get failing(): boolean {
    return this.failures > 0;
  }

  /** The delay before the next attempt after one more failure. */
  fail(): number {
    this.failures++;
    const base = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.failures - 1, 20));
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  reset(): void {
    this.failures = 0;
  }
}

interface Outage {
  readonly since: number;
  cause: string;
}

/**
 * The reader's log of Kafka's state: one line when something changes (Kafka or a broker becomes
 * unreachable, reachable again, partition leaders move, a topic is missing or back), never one per
 * retry. Attempts that fail the same way again are only counted.
 */
export class ReaderHealth {
  private clusterOutage: Outage | undefined;
  private readonly brokerOutages = new Map<number, Outage>();
  private readonly missingTopics = new Set<string>();
  private failedAttempts = 0;
  private lastOther: string | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly brokers: readonly string[],
  ) {}

  get reachable(): boolean {
    return this.clusterOutage === undefined;
  }

  clusterFailed(error: unknown): void {
    this.failedAttempts++;
    if (this.clusterOutage !== undefined) return;
    const cause = describeCause(error);
    this.clusterOutage = { since: Date.now(), cause };
    this.logger.warn({ brokers: this.brokers, cause }, 'Kafka reader: cannot reach Kafka; retrying');
  }

  clusterOk(): void {
    const outage = this.clusterOutage;
    if (outage === undefined) return;
    this.clusterOutage = undefined;
    this.logger.warn(
      { brokers: this.brokers, downMs: Date.now() - outage.since, failedAttempts: this.failedAttempts },
      'Kafka reader: Kafka reachable again',
    );
    this.failedAttempts = 0;
  }

  brokerFailed(node: number, address: string, error: unknown, partitions: number): void {
    if (this.brokerOutages.has(node)) return;
    const cause = describeCause(error);
    this.brokerOutages.set(node, { since: Date.now(), cause });
    this.logger.warn({ node, broker: address, cause, partitions }, 'Kafka reader: broker unreachable; reading its partitions from their next leader');
  }

  brokerOk(node: number, address: string): void {
    const outage = this.brokerOutages.get(node);
    if (outage === undefined) return;
    this.brokerOutages.delete(node);
    this.logger.warn({ node, broker: address, downMs: Date.now() - outage.since }, 'Kafka reader: broker reachable again');
  }

  /** `moves`: `topic/partition: old -> new` for each partition whose leader changed. */
  leadersMoved(moves: readonly string[]): void {
    if (moves.length === 0) return;
    this.logger.warn({ count: moves.length, moves: moves.slice(0, 20) }, 'Kafka reader: partition leaders moved');
  }

  topicMissing(topic: string, cause: string): void {
    if (this.missingTopics.has(topic)) return;
    this.missingTopics.add(topic);
    this.logger.warn({ topic, cause }, 'Kafka reader: topic not found; waiting for it');
  }

  topicFound(topic: string): void {
    if (this.missingTopics.delete(topic)) this.logger.warn({ topic }, 'Kafka reader: topic found');
  }

  topicRecreated(topic: string): void {
    this.logger.warn({ topic }, 'Kafka reader: topic deleted and created again; its positions start over');
  }

  positionReset(topic: string, partition: number, from: bigint, to: bigint): void {
    this.logger.warn(
      { topic, partition, from: from.toString(), to: to.toString() },
      'Kafka reader: position out of the log range; reset',
    );
  }

  /** A failure the other states do not cover, logged once per distinct cause in a row. */
  other(what: string, error: unknown): void {
    const cause = describeCause(error);
    const line = `${what}: ${cause}`;
    if (line === this.lastOther) return;
    this.lastOther = line;
    this.logger.warn({ cause }, `Kafka reader: ${what}`);
  }

  otherOk(): void {
    this.lastOther = undefined;
  }
}
