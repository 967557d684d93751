/**
 * A retained PUBLISH is written twice: to its mapped Kafka topic, as every PUBLISH, and to the
 * retained topic (an empty payload as a tombstone that clears, never stored [MQTT-3.3.1-10/11]).
 * It is acknowledged only once both are in Kafka; either failing means no acknowledgement.
 */
import { classifyProduceError, ProduceError, type ProduceFailureReason } from '../kafka/errors.js';
import type { ProduceCallback } from '../kafka/produce-lane.js';
import type { WriteReceipt } from '../kafka/record.js';
import type { InboundPublish } from '../mqtt/types.js';
import { RetainedWriteError, type RetainedMessage, type RetainedStore, type RetainedWriteFailure } from '../state/retained-store.js';

/** The retained message a PUBLISH with RETAIN 1 leaves behind: stored when received, for its expiry. */
export function retainedOf(message: InboundPublish): RetainedMessage {
  return { topic: message.topic, payload: message.payload, qos: message.qos, properties: message.properties, storedAt: message.receivedAt };
}

const AS_PRODUCE_FAILURE: Readonly<Record<RetainedWriteFailure, ProduceFailureReason>> = {
  unavailable: 'unavailable',
  timeout: 'timeout',
  closed: 'shutting-down',
  // The retained topic cannot hold it: sending it again will not help.
  misconfigured: 'unknown',
};

/** A failed retained write as the pipeline's answers know failures (retriable or not). */
export function retainedFailure(error: unknown): ProduceError {
  if (error instanceof RetainedWriteError) {
    // Kafka's own refusal (a record too large for the retained topic, not authorized) says more than "unavailable".
    if (error.reason === 'unavailable' && error.cause !== undefined) {
      const kafka = classifyProduceError(error.cause);
      return new ProduceError(kafka.reason, error.message, kafka.kafkaCode, { cause: error });
    }
    return new ProduceError(AS_PRODUCE_FAILURE[error.reason], error.message, undefined, { cause: error });
  }
  return new ProduceError('unknown', `the retained message was not written: ${String(error)}`, undefined, { cause: error });
}

/**
 * Starts the retained write now and returns the callback for the mapped record: `done` runs once
 * both have an answer, with the record's error first, else the retained write's.
 */
export function alongsideRetained(store: RetainedStore, message: InboundPublish, done: ProduceCallback): ProduceCallback {
  let produced: ProduceError | null | undefined;
  let retained: ProduceError | null | undefined;
  let receipt: WriteReceipt | undefined;
  let index: number | undefined;
  const settle = (): void => {
    if (produced === undefined || retained === undefined) return;
    // Where the mapped record went (an HTTP answer names it), whatever became of the retained write.
    if (receipt === undefined) done(produced ?? retained);
    else done(produced ?? retained, receipt, index);
  };
  store.set(retainedOf(message)).then(
    () => {
      retained = null;
      settle();
    },
    (error: unknown) => {
      retained = retainedFailure(error);
      settle();
    },
  );
  return (error, writtenAt, at) => {
    produced = error;
    receipt = writtenAt;
    index = at;
    settle();
  };
}
