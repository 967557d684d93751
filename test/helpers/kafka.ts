import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Admin, type IHeaders } from 'kafkajs';

/** The cluster under test: `npm test` sets KAFKA_BROKERS (starting a local Kafka when needed). */
export function testBrokers(): string[] {
  const brokers = process.env.KAFKA_BROKERS;
  if (!brokers) throw new Error('KAFKA_BROKERS is not set: run the suite with `npm test`');
  return brokers.split(',');
}

/**
 * TEST_KAFKA_CLIENT=platformatic (or kafkajs) runs every proxy the suite starts on that Kafka client
 * library, whatever its config says: the overrides for parseConfig/loadConfig, and the environment
 * variable for the CLI. Unset: each config's own `kafka.client`.
 */
export function testKafkaClient(): { kafkaClient?: string } {
  const client = process.env.TEST_KAFKA_CLIENT;
  return client ? { kafkaClient: client } : {};
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

function client(brokers: readonly string[] = testBrokers()): Kafka {
  return new Kafka({ clientId: 'mkp-test', brokers: [...brokers], logLevel: logLevel.NOTHING });
}

export async function withAdmin<T>(use: (admin: Admin) => Promise<T>, brokers?: readonly string[]): Promise<T> {
  const admin = client(brokers).admin();
  await admin.connect();
  try {
    return await use(admin);
  } finally {
    await admin.disconnect();
  }
}

export async function createTopics(names: readonly string[], brokers?: readonly string[], partitions = 1): Promise<void> {
  await withAdmin(async (admin) => {
    await admin.createTopics({ waitForLeaders: true, topics: names.map((topic) => ({ topic, numPartitions: partitions })) });
  }, brokers);
}

export interface ReadRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: IHeaders;
  readonly timestamp: string;
}

/**
 * Reads a topic from the beginning until `count` records arrived (or `timeoutMs` passed), then
 * waits `settleMs` more to catch any record beyond the expected count (duplicates).
 */
export async function readRecords(
  topic: string,
  count: number,
  { timeoutMs = 20000, settleMs = 500, brokers }: { timeoutMs?: number; settleMs?: number; brokers?: readonly string[] } = {},
): Promise<ReadRecord[]> {
  const consumer = client(brokers).consumer({ groupId: uniqueName('mkp-test-reader'), maxWaitTimeInMs: 100 });
  const records: ReadRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let reached: () => void = () => undefined;
    const enough = new Promise<void>((resolve) => {
      reached = resolve;
    });
    await consumer.run({
      eachMessage: async ({ topic: t, partition, message }) => {
        records.push({
          topic: t,
          partition,
          offset: message.offset,
          key: message.key,
          value: message.value,
          headers: message.headers ?? {},
          timestamp: message.timestamp,
        });
        if (records.length >= count) reached();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([enough, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    await new Promise((resolve) => setTimeout(resolve, settleMs));
  } finally {
    await consumer.disconnect();
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
  const consumer = client(brokers).consumer({ groupId: uniqueName('mkp-test-reader'), maxWaitTimeInMs: 100 });
  const records: ReadRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let reached: () => void = () => undefined;
    const enough = new Promise<void>((resolve) => {
      reached = resolve;
    });
    await consumer.run({
      eachMessage: async ({ topic: t, partition, message }) => {
        records.push({ topic: t, partition, offset: message.offset, key: message.key, value: message.value, headers: message.headers ?? {}, timestamp: message.timestamp });
        if (done(records)) reached();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([enough, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    await new Promise((resolve) => setTimeout(resolve, settleMs));
  } finally {
    await consumer.disconnect();
  }
  return records;
}

/** Header value as text (kafkajs hands headers back as Buffers). */
export function headerText(headers: IHeaders, name: string): string | string[] | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return value.map((v) => v.toString());
  return value.toString();
}
