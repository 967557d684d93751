import type { KafkaClientName } from './types.js';

/** The Kafka client libraries `kafka.client` (and `--kafka-client`) may name. */
export const KAFKA_CLIENTS: readonly KafkaClientName[] = ['platformatic'];

/**
 * What to tell a config that names a Kafka client the proxy had and no longer has (kafkajs, the
 * former default), so it says what to change; null for any other value.
 */
export function retiredKafkaClient(value: unknown): string | null {
  if (value !== 'kafkajs') return null;
  return 'kafkajs is no longer supported: the proxy produces and reads with @platformatic/kafka only; remove the setting or set it to platformatic';
}
