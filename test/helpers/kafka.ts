import { randomUUID } from 'node:crypto';
import { Admin, Consumer, ListOffsetTimestamps, MessagesStreamModes, type Message } from '@platformatic/kafka';

/** The cluster under test: `npm test` sets KAFKA_BROKERS (starting a local Kafka when needed). */
export function testBrokers(): string[] {
  const brokers = process.env.KAFKA_BROKERS;
  if (!brokers) throw new Error('KAFKA_BROKERS is not set: run the suite with `npm test`');
  return brokers.split(',');
}

/**
 * TEST_KAFKA_CLIENT=NAME runs every proxy the suite starts on that Kafka client library, whatever
 * its config says: the overrides for parseConfig/loadConfig, and the environment variable for the
 * CLI. Unset: each config's own `kafka.client`.
 */
export function testKafkaClient(): { kafkaClient?: string } {
  const client = process.env.TEST_KAFKA_CLIENT;
  return client ? { kafkaClient: client } : {};
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

// Generous retries: a broker just restarted by a test answers group requests with "coordinator
// not available" until it has loaded its group metadata.
const options = (brokers: readonly string[]) => ({ clientId: 'mkp-test', bootstrapBrokers: [...brokers], retries: 30, retryDelay: 500 });

/** An @platformatic/kafka admin client for the duration of `use`. */
export async function withAdmin<T>(use: (admin: Admin) => Promise<T>, brokers: readonly string[] = testBrokers()): Promise<T> {
  const admin = new Admin(options(brokers));
  try {
    return await use(admin);
  } finally {
    await admin.close();
  }
}

/**
 * Creates the topics (`configs`: topic settings such as `max.message.bytes`) and waits until every
 * partition has a leader, so the first produce does not meet a topic still being set up.
 */
export async function createTopics(
  names: readonly string[],
  brokers?: readonly string[],
  partitions = 1,
  configs: Readonly<Record<string, string>> = {},
): Promise<void> {
  await withAdmin(async (admin) => {
    await admin.createTopics({
      topics: [...names],
      partitions,
      replicas: 1,
      configs: Object.entries(configs).map(([name, value]) => ({ name, value })),
    });
    const deadline = Date.now() + 20000;
    for (;;) {
      const metadata = await admin.metadata({ topics: [...names], forceUpdate: true });
      const led = names.every((name) => {
        const topic = metadata.topics.get(name);
        return topic !== undefined && topic.partitionsCount === partitions && topic.partitions.every((p) => p !== undefined && p.leader >= 0);
      });
      if (led) return;
      if (Date.now() > deadline) throw new Error(`topics ${names.join(', ')} have no leader for every partition after 20 s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }, brokers);
}

/** Each partition's first and next offset (`high` - `low` records are in it). */
export async function topicOffsets(topic: string, brokers: readonly string[] = testBrokers()): Promise<Array<{ partition: number; low: number; high: number }>> {
  const consumer = new Consumer({ ...options(brokers), groupId: uniqueName('mkp-test-offsets') });
  try {
    const [low, high] = await Promise.all([
      consumer.listOffsets({ topics: [topic], timestamp: ListOffsetTimestamps.EARLIEST }),
      consumer.listOffsets({ topics: [topic], timestamp: ListOffsetTimestamps.LATEST }),
    ]);
    return (high.get(topic) ?? []).map((end, partition) => ({ partition, low: Number(low.get(topic)?.[partition] ?? 0n), high: Number(end) }));
  } finally {
    await consumer.close();
  }
}

/** Header values by name, a repeated name keeping every value in order. */
export type RecordHeaders = Readonly<Record<string, Buffer | Buffer[]>>;

export interface ReadRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: RecordHeaders;
  /** Milliseconds since the epoch, as text. */
  readonly timestamp: string;
}

function toReadRecord(message: Message): ReadRecord {
  const headers: Record<string, Buffer | Buffer[]> = Object.create(null) as Record<string, Buffer | Buffer[]>;
  for (const [nameBytes, value] of message.headerEntries) {
    const name = nameBytes.toString();
    const existing = headers[name];
    headers[name] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  return {
    topic: message.topic,
    partition: message.partition,
    offset: String(message.offset),
    key: message.key ?? null,
    value: message.value ?? null,
    headers,
    timestamp: String(message.timestamp),
  };
}

export interface ReadOptions {
  readonly timeoutMs?: number;
  readonly settleMs?: number;
  readonly brokers?: readonly string[];
  /** Keep reading until this is true of the records so far (default: `count` of them). */
  readonly until?: (records: readonly ReadRecord[]) => boolean;
}

/**
 * Reads a topic from the beginning until `count` records arrived (or `timeoutMs` passed), then
 * waits `settleMs` more to catch any record beyond the expected count (duplicates).
 */
export async function readRecords(topic: string, count: number, { timeoutMs = 20000, settleMs = 500, brokers = testBrokers(), until }: ReadOptions = {}): Promise<ReadRecord[]> {
  const consumer = new Consumer({ ...options(brokers), groupId: uniqueName('mkp-test-reader'), maxWaitTime: 100, autocommit: false });
  const records: ReadRecord[] = [];
  try {
    const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: false, maxWaitTime: 100 });
    let reached: () => void = () => undefined;
    const enough = new Promise<void>((resolve) => (reached = resolve));
    const done = until ?? ((so: readonly ReadRecord[]) => so.length >= count);
    stream.on('data', (message: Message) => {
      records.push(toReadRecord(message));
      if (done(records)) reached();
    });
    stream.on('error', () => undefined);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([enough, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    await new Promise((resolve) => setTimeout(resolve, settleMs));
    await stream.close();
  } finally {
    await consumer.close(true);
  }
  return records;
}

/**
 * Reads a topic from the beginning until `done` says the records read so far are enough (or
 * `timeoutMs` passed), then `settleMs` more (to catch duplicates), and returns them.
 */
export async function readRecordsUntil(
  topic: string,
  done: (records: readonly ReadRecord[]) => boolean,
  { timeoutMs = 20000, settleMs = 300, brokers }: { timeoutMs?: number; settleMs?: number; brokers?: readonly string[] } = {},
): Promise<ReadRecord[]> {
  return readRecords(topic, Number.MAX_SAFE_INTEGER, { timeoutMs, settleMs, until: done, ...(brokers !== undefined && { brokers }) });
}

/** Header value as text. */
export function headerText(headers: RecordHeaders, name: string): string | string[] | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return value.map((v) => v.toString());
  return value.toString();
}
