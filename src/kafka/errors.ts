/**
 * Why a record did not make it into Kafka. `retriable` failures may succeed if the same record is
 * sent again later (the device should retransmit); the others never will as sent.
 */
export type ProduceFailureReason =
  | 'timeout'
  | 'unavailable'
  | 'shutting-down'
  | 'abandoned'
  | 'record-too-large'
  | 'topic-missing'
  | 'not-authorized'
  | 'invalid-record'
  | 'unknown';

const RETRIABLE_REASONS: ReadonlySet<ProduceFailureReason> = new Set(['timeout', 'unavailable', 'shutting-down', 'abandoned']);

export class ProduceError extends Error {
  override readonly name = 'ProduceError';
  readonly reason: ProduceFailureReason;
  /** The Kafka protocol error name (e.g. `MESSAGE_TOO_LARGE`) when Kafka gave one. */
  readonly kafkaCode: string | undefined;

  constructor(reason: ProduceFailureReason, message: string, kafkaCode?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
    this.kafkaCode = kafkaCode;
  }

  get retriable(): boolean {
    return RETRIABLE_REASONS.has(this.reason);
  }
}

/** Kafka protocol errors that sending the same record again cannot fix. */
const NON_RETRIABLE_CODES: Readonly<Record<string, ProduceFailureReason>> = {
  MESSAGE_TOO_LARGE: 'record-too-large',
  RECORD_LIST_TOO_LARGE: 'record-too-large',
  INVALID_RECORD: 'invalid-record',
  CORRUPT_MESSAGE: 'invalid-record',
  INVALID_TIMESTAMP: 'invalid-record',
  INVALID_TOPIC_EXCEPTION: 'topic-missing',
  UNKNOWN_TOPIC_OR_PARTITION: 'topic-missing',
  TOPIC_AUTHORIZATION_FAILED: 'not-authorized',
  CLUSTER_AUTHORIZATION_FAILED: 'not-authorized',
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: 'not-authorized',
};

export interface ErrorLike {
  readonly name?: unknown;
  /** @platformatic/kafka: the Kafka protocol error name of a ProtocolError. */
  readonly apiId?: unknown;
  /** @platformatic/kafka: `PLT_KFK_TIMEOUT`, `PLT_KFK_NETWORK`... */
  readonly code?: unknown;
  readonly message?: unknown;
  readonly cause?: unknown;
  /** The errors of an AggregateError (@platformatic/kafka's MultipleErrors: one per attempt). */
  readonly errors?: unknown;
}

/** Every error in a Kafka client's error chain (retry wrappers, aggregates, causes), outermost first. */
export function errorChain(error: unknown, seen = new Set<unknown>()): ErrorLike[] {
  if (error === null || typeof error !== 'object' || seen.has(error)) return [];
  seen.add(error);
  const e = error as ErrorLike;
  const chain: ErrorLike[] = [e];
  chain.push(...errorChain(e.cause, seen));
  if (Array.isArray(e.errors)) for (const inner of e.errors) chain.push(...errorChain(inner, seen));
  return chain;
}

/** The Kafka protocol error name an error carries (@platformatic/kafka's `apiId`). */
function protocolCode(e: ErrorLike): string | undefined {
  return typeof e.apiId === 'string' ? e.apiId : undefined;
}

/**
 * The client gave up waiting: @platformatic/kafka's TimeoutError, whose `code` says
 * PLT_KFK_NETWORK (2.12.1 as 1.35.0), so its class tells it apart.
 */
function isClientTimeout(e: ErrorLike): boolean {
  return typeof e.code === 'string' && e.code.startsWith('PLT_KFK_') && (e.code === 'PLT_KFK_TIMEOUT' || (e as object).constructor?.name === 'TimeoutError');
}

/**
 * Classifies whatever the Kafka client threw. A Kafka protocol code from the list above anywhere in
 * the chain decides; otherwise connection trouble, timeouts and exhausted retries are retriable,
 * because Kafka being away is the normal reason a produce fails.
 */
export function classifyProduceError(error: unknown): ProduceError {
  if (error instanceof ProduceError) return error;
  const chain = errorChain(error);
  const message = chain.length > 0 && typeof chain[0]!.message === 'string' ? chain[0]!.message : String(error);
  for (const e of chain) {
    const code = protocolCode(e);
    if (code !== undefined && code in NON_RETRIABLE_CODES) {
      return new ProduceError(NON_RETRIABLE_CODES[code]!, message, code, { cause: error });
    }
  }
  const timedOut = chain.some(isClientTimeout);
  const code = chain.map(protocolCode).find((c) => c !== undefined);
  return new ProduceError(timedOut ? 'timeout' : 'unavailable', message, code, { cause: error });
}
