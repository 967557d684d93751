import type { Logger } from 'pino';
import type { ClientProducer } from './client.js';
import { classifyProduceError } from './errors.js';
import type { KafkaRecord } from './record.js';

/**
 * Sends acks=all records through an idempotent producer, and retires that producer after a
 * request whose outcome is in doubt.
 *
 * After a failed request the client rolls its sequence numbers back, although Kafka may have
 * written that request (a timeout, a broker going down mid-request). The next request would then
 * reuse those numbers, and Kafka would take it for a retry of the written one: answered as a
 * success and discarded. A failed request therefore retires the producer; the next request goes
 * out under a new producer id, whose numbers Kafka has never seen.
 */
export class IdempotentSender {
  private producer: ClientProducer;
  private stale = false;

  constructor(
    private readonly newProducer: () => ClientProducer,
    private readonly logger: Logger,
  ) {
    this.producer = newProducer();
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  async send(records: readonly KafkaRecord[]): Promise<void> {
    if (this.stale) await this.replace();
    try {
      await this.producer.send(records, -1);
    } catch (error) {
      // A refusal (too large, not authorized...) was not written: only doubt retires the producer.
      if (classifyProduceError(error).retriable) this.stale = true;
      throw error;
    }
  }

  async disconnect(): Promise<void> {
    this.stale = false;
    await this.producer.disconnect();
  }

  private async replace(): Promise<void> {
    const retired = this.producer;
    this.producer = this.newProducer();
    this.stale = false;
    void retired.disconnect().catch(() => undefined);
    try {
      await this.producer.connect();
    } catch (error) {
      this.stale = true;
      throw error;
    }
    this.logger.info('idempotent producer replaced after a failed request');
  }
}
