import type { Admin, Base, BaseOptions, ClusterMetadata, MessageToProduce, Producer, SASLOptions } from '@platformatic/kafka';
import type { Logger } from 'pino';
import type { KafkaConfig, KafkaSaslConfig } from '../config/types.js';
import type { ClientObserver, ClientProducer, KafkaClient } from './client.js';
import type { LeaderView } from './leader-watch.js';
import { murmur2 } from './murmur2.js';
import type { HeaderValue, KafkaRecord } from './record.js';
import { tlsOptions } from './security.js';
import { writeReceipt } from './write-receipt.js';

type Library = typeof import('@platformatic/kafka');

// Loaded on first use: importing it takes most of a second (schema compilation), which the CLI's
// subcommands need not pay and which the proxy pays after its listeners are open.
let library: Promise<Library> | undefined;
const loadLibrary = (): Promise<Library> => (library ??= import('@platformatic/kafka'));

/**
 * The @platformatic/kafka implementation of {@link KafkaClient} (`kafka.client: platformatic`).
 * Its clients connect on first use; connect() makes that first use happen (a metadata request, and
 * for the idempotent producer its producer id), so connection trouble shows up at startup.
 */
export function createPlatformaticClient(config: KafkaConfig, _logger: Logger, observer?: ClientObserver): KafkaClient {
  const observe = <T extends Base>(client: T): T => {
    if (observer !== undefined) client.on('client:metadata', (metadata: ClusterMetadata) => observer.metadata(leaderView(metadata)));
    return client;
  };
  const base = (): BaseOptions => {
    const options: BaseOptions = {
      clientId: config.clientId,
      bootstrapBrokers: [...config.brokers],
      connectTimeout: config.connectionTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      // The time Kafka has to answer a produce request (acks=all waits for the in-sync replicas).
      timeout: config.requestTimeoutMs,
      // Bounded retries even for the idempotent producer: a lane stuck forever
      // behind one request would stop every device; the devices retransmit whatever times out.
      retries: 5,
      retryDelay: (_client, _operation, attempt) => Math.min(3000, 100 * 2 ** (attempt - 1)),
      autocreateTopics: false,
    };
    const tls = tlsOptions(config.ssl);
    if (tls !== undefined) {
      options.tls = tls;
      // The broker's host name is checked against its certificate unless another name is configured.
      options.tlsServerName = config.ssl?.servername ?? true;
    }
    const sasl = saslOptions(config.sasl);
    if (sasl !== undefined) options.sasl = sasl;
    return options;
  };
  let admin: Promise<Admin> | undefined;
  // No retries on the admin side: the sink's own timers try again (topic listing, cluster check).
  const connectedAdmin = (): Promise<Admin> => (admin ??= loadLibrary().then(({ Admin }) => observe(new Admin({ ...base(), retries: 0 }))));

  return {
    async prepare() {
      await loadLibrary();
    },
    producer(idempotent): ClientProducer {
      let producer: Promise<Producer> | undefined;
      const created = (): Promise<Producer> =>
        (producer ??= loadLibrary().then(({ Producer }) =>
          observe(new Producer({ ...base(), idempotent, compression: config.compression, partitioner: javaCompatiblePartitioner() })),
        ));
      return {
        async connect() {
          const client = await created();
          if (idempotent) await client.initIdempotentProducer({});
          else await client.metadata({ topics: [], forceUpdate: true });
        },
        async disconnect() {
          if (producer !== undefined) await (await producer).close();
        },
        async send(records, acks) {
          const client = await created();
          const messages = records.map(toMessage);
          const result = await client.send({ messages, acks });
          if (acks === 0) return undefined;
          return writeReceipt({
            messages,
            chosenPartition: (message) => chosenPartitions.get(message),
            written: result.offsets,
            partitionCounts: (topics) => partitionCounts(client, topics),
          });
        },
      };
    },
    async disconnectAdmin() {
      if (admin !== undefined) await (await admin).close();
    },
    async listTopics() {
      return (await connectedAdmin()).listTopics();
    },
    async checkCluster() {
      await (await connectedAdmin()).metadata({ topics: [], forceUpdate: true });
    },
  };
}

/** Partition counts from the producer's metadata (cached: the request just used it). */
async function partitionCounts(producer: Producer, topics: readonly string[]): Promise<Map<string, number>> {
  const metadata = await producer.metadata({ topics: [...topics] });
  const counts = new Map<string, number>();
  for (const topic of topics) {
    const info = metadata.topics.get(topic);
    if (info !== undefined) counts.set(topic, info.partitionsCount);
  }
  return counts;
}

/** The leaders of the topics a metadata answer covered, without the library's types. */
function leaderView(metadata: ClusterMetadata): LeaderView {
  const brokers = new Map<number, string>();
  for (const [id, broker] of metadata.brokers) brokers.set(id, `${broker.host}:${broker.port}`);
  const leaders = new Map<string, number[]>();
  for (const [topic, info] of metadata.topics) {
    // A topic the answer did not cover is undefined in the map.
    if (info !== undefined) leaders.set(topic, info.partitions.map((partition) => partition?.leader ?? -1));
  }
  return { brokers, leaders };
}

function toMessage(record: KafkaRecord): MessageToProduce {
  const message: MessageToProduce = {
    topic: record.topic,
    value: record.value,
    headers: toHeaders(record.headers),
    timestamp: BigInt(record.timestamp),
  };
  if (record.key !== null) message.key = typeof record.key === 'string' ? Buffer.from(record.key) : record.key;
  return message;
}

/**
 * Headers as the client writes them: a Map keyed by Buffer, one entry per value. Each name is a
 * Buffer of its own, so a repeated header (MQTT 5 user properties with one name) keeps every value.
 */
function toHeaders(headers: Readonly<Record<string, HeaderValue>>): Map<Buffer, Buffer> {
  const map = new Map<Buffer, Buffer>();
  for (const name in headers) {
    const value = headers[name]!;
    if (Array.isArray(value)) {
      for (const item of value) map.set(Buffer.from(name), toBuffer(item));
    } else {
      map.set(headerName(name), toBuffer(value));
    }
  }
  return map;
}

// The proxy's own header names (mqtt.topic, mqtt.qos...) recur in every record: encoded once. Names
// from MQTT 5 user properties are the devices' and are not kept beyond the bound.
const HEADER_NAMES_KEPT = 256;
const headerNames = new Map<string, Buffer>();
function headerName(name: string): Buffer {
  let buffer = headerNames.get(name);
  if (buffer === undefined) {
    buffer = Buffer.from(name);
    if (headerNames.size < HEADER_NAMES_KEPT) headerNames.set(name, buffer);
  }
  return buffer;
}

// Values the proxy's own headers take over and over (mqtt.qos, mqtt.retain...): encoded once.
const CONSTANT_VALUES = new Map(['0', '1', '2', 'true', 'false'].map((value) => [value, Buffer.from(value)]));

function toBuffer(value: Buffer | string): Buffer {
  if (typeof value !== 'string') return value;
  return CONSTANT_VALUES.get(value) ?? Buffer.from(value);
}

/**
 * The Java client's partitioning: a keyed record goes to positive murmur2
 * of its key modulo the partition count (the client applies the modulo); records without a key
 * take partitions in turn. The library's own default partitioner treats the hash as unsigned,
 * which puts keys with a negative hash on other partitions than every Java-compatible producer.
 */
function javaCompatiblePartitioner(): (message: MessageToProduce, key: Buffer | undefined) => number {
  let next = 0;
  return (message, key) => {
    let partition: number;
    if (key !== undefined) partition = murmur2(key) & 0x7fffffff;
    else {
      next = (next + 1) & 0x7fffffff;
      partition = next;
    }
    // Remembered for the write receipt (the client applies the modulo to it).
    chosenPartitions.set(message, partition);
    return partition;
  };
}

/** The partitioner's choice per message, before the client's modulo: see write-receipt.ts. */
const chosenPartitions = new WeakMap<MessageToProduce, number>();

/** The SASL option of @platformatic/kafka; the only place the password is revealed for it. */
export function saslOptions(sasl: KafkaSaslConfig | null): SASLOptions | undefined {
  if (sasl === null) return undefined;
  const credentials = { username: sasl.username, password: sasl.password.reveal() };
  switch (sasl.mechanism) {
    case 'plain':
      return { mechanism: 'PLAIN', ...credentials };
    case 'scram-sha-256':
      return { mechanism: 'SCRAM-SHA-256', ...credentials };
    case 'scram-sha-512':
      return { mechanism: 'SCRAM-SHA-512', ...credentials };
  }
}
