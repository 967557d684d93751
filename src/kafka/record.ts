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

/** The acks a produce request asks for: 0, 1 or -1 (all in-sync replicas). */
export type KafkaAcks = 0 | 1 | -1;
