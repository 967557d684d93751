export type HeaderValue = Buffer | string | Array<Buffer | string>;

/** One Kafka record, as the proxy produces it. */
export interface KafkaRecord {
  readonly topic: string;
  readonly key: Buffer | string | null;
  readonly value: Buffer;
  readonly headers: Record<string, HeaderValue>;
  /** Milliseconds since the epoch. */
  readonly timestamp: number;
}

/**
 * The bytes a record carries: its value, key, and header names and values. The one estimate of a
 * record's size: produce requests are bounded with it, in-flight bytes are counted with it.
 */
export function recordBytes(record: KafkaRecord): number {
  let bytes = record.value.length;
  if (record.key !== null) bytes += record.key.length;
  for (const name in record.headers) {
    const value = record.headers[name]!;
    bytes += name.length;
    if (Array.isArray(value)) for (const v of value) bytes += v.length;
    else bytes += (value as Buffer | string).length;
  }
  return bytes;
}

/** The acks a produce request asks for: 0, 1 or -1 (all in-sync replicas). */
export type KafkaAcks = 0 | 1 | -1;

/** Where Kafka wrote one record: what an HTTP client is answered with. */
export interface RecordPosition {
  readonly topic: string;
  readonly partition: number;
  /** A decimal string: offsets are 64-bit. */
  readonly offset: string;
}

/**
 * Where Kafka wrote the records of one produce request, by their index in it. Worked out only when
 * asked (MQTT acknowledgements never ask), from the request's answer and the cached metadata.
 */
export interface WriteReceipt {
  position(index: number): Promise<RecordPosition | undefined>;
}
