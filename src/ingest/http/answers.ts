/**
 * HTTP answers of the ingest endpoint, pure: the status and JSON body for each outcome of a message
 * (the pipeline's acknowledgement, or its refusal and why) and for requests refused as a whole.
 * The reasons are the MQTT side's: an ACL denial is 403 where MQTT 5 sends 0x87, an unmapped topic
 * under `unmapped: reject` 404 where it sends 0x90, Kafka unavailable 503 where it sends 0x89.
 */
import type { RecordPosition } from '../../kafka/record.js';
import type { RefusalCause } from '../../pipeline/pipeline.js';

export type ErrorCode =
  | 'bad-request'
  | 'bad-topic'
  | 'unauthorized'
  | 'forbidden'
  | 'not-found'
  | 'method-not-allowed'
  | 'unmapped'
  | 'request-timeout'
  | 'too-large'
  | 'too-many-requests'
  | 'kafka-refused'
  | 'internal-error'
  | 'kafka-unavailable'
  | 'overloaded'
  | 'shutting-down';

/** One message's outcome, as it appears in an answer. */
export type MessageAnswer =
  | { readonly status: 200; readonly topic?: string; readonly partition?: number; readonly offset?: number }
  | { readonly status: number; readonly error: ErrorCode; readonly message: string };

export const STATUS: Readonly<Record<ErrorCode, number>> = {
  'bad-request': 400,
  'bad-topic': 400,
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  'method-not-allowed': 405,
  unmapped: 404,
  'request-timeout': 408,
  'too-large': 413,
  'too-many-requests': 429,
  'kafka-refused': 502,
  'internal-error': 500,
  'kafka-unavailable': 503,
  overloaded: 503,
  'shutting-down': 503,
};

export function failure(error: ErrorCode, message: string): MessageAnswer {
  return { status: STATUS[error], error, message };
}

export function written(position: RecordPosition | undefined): MessageAnswer {
  if (position === undefined) return { status: 200 };
  return { status: 200, topic: position.topic, partition: position.partition, offset: Number(position.offset) };
}

/** The error a refusal from the pipeline is answered with. */
export function refusalError(cause: RefusalCause | undefined): ErrorCode {
  switch (cause) {
    case 'acl':
      return 'forbidden';
    case 'unmapped':
      return 'unmapped';
    case 'invalid-kafka-topic':
      return 'bad-topic';
    case 'record-too-large':
      return 'too-large';
    case 'shutting-down':
      return 'shutting-down';
    case 'timeout':
    case 'unavailable':
    case 'abandoned':
      return 'kafka-unavailable';
    default:
      // Kafka refused the record for the proxy's own reasons (its permissions, a missing topic).
      return 'kafka-refused';
  }
}

/** Whether an answer asks the client to try again later (429 / 503: Retry-After goes with it). */
export function retryLater(status: number): boolean {
  return status === 429 || status === 503;
}

/** The status of a batch answer: 200 when every message was written, else 207 (see each message). */
export function batchStatus(answers: readonly MessageAnswer[]): number {
  return answers.every((answer) => answer.status === 200) ? 200 : 207;
}
