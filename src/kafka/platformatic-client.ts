import type { Admin, BaseOptions, MessageToProduce, Producer, SASLOptions } from '@platformatic/kafka';
import type { Logger } from 'pino';
import type { KafkaConfig, KafkaSaslConfig } from '../config/types.js';
import type { ClientProducer, KafkaClient } from './client.js';
import { murmur2 } from './murmur2.js';
import type { HeaderValue, KafkaRecord } from './record.js';
import { tlsOptions } from './security.js';

type Library = typeof import('@platformatic/kafka');

// Loaded on first use: importing it takes most of a second, which a proxy on kafkajs need not pay.
let library: Promise<Library> | undefined;
const loadLibrary = (): Promise<Library> => (library ??= import('@platformatic/kafka'));

/**
 * The @platformatic/kafka implementation of {@link KafkaClient} (`kafka.client: platformatic`).
 * Its clients connect on first use; connect() makes that first use happen (a metadata request, and
 * for the idempotent producer its producer id), so connection trouble shows up at startup.
 */
export function createPlatformaticClient(config: KafkaConfig, _logger: Logger): KafkaClient {
  let lib: Library | undefined;
  const loaded = (): Library => {
    if (lib === undefined) throw new Error('@platformatic/kafka is used before prepare()');
    return lib;
  };
  const base = (): BaseOptions => {
    const options: BaseOptions = {
      clientId: config.clientId,
      bootstrapBrokers: [...config.brokers],
      connectTimeout: config.connectionTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      // The time Kafka has to answer a produce request (acks=all waits for the in-sync replicas).
      timeout: config.requestTimeoutMs,
      // Bounded retries even for the idempotent producer, as with kafkajs: a lane stuck forever
      // behind one request would stop every device; the devices retransmit whatever times out.
      retries: 5,
      retryDelay: (_client, _operation, attempt) => Math.min(3000, 100 * 2 ** (attempt - 1)),
      autocreateTopics: false,
    };
    const tls = tlsOptions(config.ssl);
    if (tls !== undefined) {
      options.tls = tls;
      // Like kafkajs: the broker's host name is checked against its certificate unless one is configured.
      options.tlsServerName = config.ssl?.servername ?? true;
    }
    const sasl = saslOptions(config.sasl);
    if (sasl !== undefined) options.sasl = sasl;
    return options;
  };
  let admin: Admin | undefined;

  return {
    async prepare() {
      lib = await loadLibrary();
    },
    producer(idempotent): ClientProducer {
      let producer: Producer | undefined;
      const create = (): Producer => {
        const { Producer } = loaded();
        return new Producer({
          ...base(),
          idempotent,
          compression: config.compression,
          partitioner: javaCompatiblePartitioner(),
        });
      };
      return {
        async connect() {
          producer ??= create();
          if (idempotent) await producer.initIdempotentProducer({});
          else await producer.metadata({ topics: [], forceUpdate: true });
        },
        async disconnect() {
          await producer?.close();
        },
        async send(records, acks) {
          producer ??= create();
          await producer.send({ messages: records.map(toMessage), acks });
        },
      };
    },
    async connectAdmin() {
      const { Admin } = loaded();
      admin ??= new Admin({ ...base(), retries: 0 });
      await admin.metadata({ topics: [], forceUpdate: true });
    },
    async disconnectAdmin() {
      await admin?.close();
    },
    async listTopics() {
      if (admin === undefined) throw new Error('Kafka admin client not connected');
      return admin.listTopics();
    },
    async checkCluster() {
      if (admin === undefined) throw new Error('Kafka admin client not connected');
      await admin.metadata({ topics: [], forceUpdate: true });
    },
  };
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

function toBuffer(value: Buffer | string): Buffer {
  return typeof value === 'string' ? Buffer.from(value) : value;
}

/**
 * The Java client's partitioning, like kafkajs' default: a keyed record goes to positive murmur2
 * of its key modulo the partition count (the client applies the modulo); records without a key
 * take partitions in turn. The library's own default partitioner treats the hash as unsigned,
 * which puts keys with a negative hash on other partitions than every Java-compatible producer.
 */
function javaCompatiblePartitioner(): (message: MessageToProduce, key: Buffer | undefined) => number {
  let next = 0;
  return (_message, key) => {
    if (key !== undefined) return murmur2(key) & 0x7fffffff;
    next = (next + 1) & 0x7fffffff;
    return next;
  };
}

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
