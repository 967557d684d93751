// What the reader and compacted-store tests share: topics made and written with @platformatic/kafka
// (the reader's own library, used here only as a plain producer and admin), and a handler that
// keeps what the reader delivered and checks its order.
import { Admin, Producer, type MessageToProduce } from '@platformatic/kafka';
import pino from 'pino';
import type { ReaderBatch, ReaderRecord } from '../../src/kafka/reader-types.js';

export const quietLogger = (): pino.Logger => pino({ level: 'silent' });

/** A logger whose lines are kept (as parsed objects) for a test to count. */
export function keptLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

export async function createTopic(
  brokers: readonly string[],
  name: string,
  { partitions = 1, replicas = 1, configs = {} }: { partitions?: number; replicas?: number; configs?: Record<string, string> } = {},
): Promise<void> {
  const admin = new Admin({ clientId: 'mkp-test-admin', bootstrapBrokers: [...brokers] });
  try {
    await admin.createTopics({
      topics: [name],
      partitions,
      replicas,
      configs: Object.entries(configs).map(([key, value]) => ({ name: key, value })),
    });
    // Leaders are elected right after creation, and a broker may list fewer partitions at first
    // (a producer that saw that would send every record to the partitions it knows of).
    for (let i = 0; i < 100; i++) {
      const metadata = await admin.metadata({ topics: [name], forceUpdate: true });
      const topic = metadata.topics.get(name);
      if (topic?.partitionsCount === partitions && topic.partitions.every((p) => p.leader >= 0)) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`no leaders for ${name}`);
  } finally {
    await admin.close();
  }
}

export async function addPartitions(brokers: readonly string[], name: string, count: number): Promise<void> {
  const admin = new Admin({ clientId: 'mkp-test-admin', bootstrapBrokers: [...brokers] });
  try {
    await admin.createPartitions({ topics: [{ name, count }] });
  } finally {
    await admin.close();
  }
}

export async function deleteTopic(brokers: readonly string[], name: string): Promise<void> {
  const admin = new Admin({ clientId: 'mkp-test-admin', bootstrapBrokers: [...brokers] });
  try {
    await admin.deleteTopics({ topics: [name] });
  } finally {
    await admin.close();
  }
}

export interface TestMessage {
  readonly partition?: number;
  readonly key?: string | null;
  /** undefined or null: a tombstone. */
  readonly value?: string | Buffer | null;
  readonly timestamp?: number;
  readonly headers?: Readonly<Record<string, string>>;
}

/** A producer for tests: sends in chunks (of `chunk` messages per request), acks=all. */
export class TestProducer {
  private readonly producer: Producer;

  constructor(brokers: readonly string[]) {
    // Idempotent: a retried request (leaders of a new topic still moving in) must not write a record twice.
    this.producer = new Producer({ clientId: 'mkp-test-producer', bootstrapBrokers: [...brokers], idempotent: true, retries: 5, retryDelay: 200 });
  }

  async send(topic: string, messages: readonly TestMessage[], chunk = 1000): Promise<void> {
    for (let i = 0; i < messages.length; i += chunk) {
      const part: MessageToProduce[] = messages.slice(i, i + chunk).map((m) => ({
        topic,
        ...(m.partition !== undefined && { partition: m.partition }),
        ...(m.key !== undefined && m.key !== null && { key: Buffer.from(m.key) }),
        value: m.value === undefined || m.value === null ? undefined : Buffer.from(m.value),
        ...(m.timestamp !== undefined && { timestamp: BigInt(m.timestamp) }),
        ...(m.headers !== undefined && { headers: new Map(Object.entries(m.headers).map(([k, v]) => [Buffer.from(k), Buffer.from(v)])) }),
      }));
      await this.producer.send({ messages: part, acks: -1 });
    }
  }

  close(): Promise<void> {
    return this.producer.close();
  }
}

/** `count` messages `prefix-i` spread over partitions in turn. */
export function numbered(prefix: string, count: number, partitions: number, from = 0): TestMessage[] {
  return Array.from({ length: count }, (_, i) => ({ partition: (from + i) % partitions, value: `${prefix}-${from + i}` }));
}

/**
 * Keeps every delivered record per partition and counts what went wrong: an offset not after the
 * previous one (reordered or delivered twice) or a gap when `dense` (a topic without compaction or
 * transactions has no gaps).
 */
export class Collector {
  readonly byPartition = new Map<number, ReaderRecord[]>();
  readonly batches: ReaderBatch[] = [];
  disorder = 0;
  gaps = 0;
  private readonly lastOffset = new Map<number, bigint>();

  constructor(private readonly dense = true) {}

  readonly take = (batch: ReaderBatch): void => {
    this.batches.push(batch);
    let list = this.byPartition.get(batch.partition);
    if (list === undefined) this.byPartition.set(batch.partition, (list = []));
    for (const record of batch.records) {
      const last = this.lastOffset.get(batch.partition);
      if (last !== undefined && record.offset <= last) this.disorder++;
      if (this.dense && last !== undefined && record.offset > last + 1n) this.gaps++;
      this.lastOffset.set(batch.partition, record.offset);
      list.push(record);
    }
  };

  get count(): number {
    let n = 0;
    for (const list of this.byPartition.values()) n += list.length;
    return n;
  }

  values(partition?: number): string[] {
    const lists = partition === undefined ? [...this.byPartition.values()] : [this.byPartition.get(partition) ?? []];
    return lists.flat().map((r) => r.value?.toString() ?? '<null>');
  }
}

export async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
