import type { Logger } from 'pino';
import type { KafkaConfig } from '../config/types.js';
import type { LeaderView } from './leader-watch.js';
import type { KafkaAcks, KafkaRecord, WriteReceipt } from './record.js';

/**
 * The calls the sink makes on a Kafka client library; everything else (lanes, topic catalog,
 * health and topic checks, drain, the idempotent producer's retirement) is shared and lives in
 * producer.ts. Request timeout and compression come from the config the client was built with.
 */
export interface ClientProducer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  /**
   * Sends the batch as one produce request (per broker) with these acks, and resolves when Kafka
   * acknowledged all of it. acks -1 goes through an idempotent producer, which asks for nothing else.
   * Resolves with where the records were written when the client can tell (not with acks 0).
   */
  send(records: readonly KafkaRecord[], acks: KafkaAcks): Promise<WriteReceipt | void>;
}

export interface KafkaClient {
  /** Loads the client library; every other call waits for it too, so this only starts it early. */
  prepare(): Promise<void>;
  /** A producer of its own (own connections, own producer id when idempotent); not connected yet. */
  producer(idempotent: boolean): ClientProducer;
  /** The admin side: topic listing and the cluster check, connected by the first of them. */
  disconnectAdmin(): Promise<void>;
  listTopics(): Promise<readonly string[]>;
  /** A cheap request every broker answers, tried once; rejects when the cluster does not answer. */
  checkCluster(): Promise<void>;
}

/** What a client reports besides the answers to its calls. */
export interface ClientObserver {
  /** Partition leaders (and broker addresses) of each metadata answer any of its parts received. */
  metadata(view: LeaderView): void;
}

export type KafkaClientFactory = (config: KafkaConfig, logger: Logger, observer?: ClientObserver) => KafkaClient;
