/**
 * The MQTT 5 PUBLISH properties a retained message keeps, as the PUBLISH carried them. The same
 * shape as the engine's PublishProperties (state does not import the engine), so a stored message's
 * properties are what an outbound PUBLISH takes.
 */
export interface RetainedProperties {
  readonly contentType?: string;
  readonly payloadFormatIndicator?: boolean;
  readonly responseTopic?: string;
  readonly correlationData?: Buffer;
  readonly userProperties?: Readonly<Record<string, string | readonly string[]>>;
  /** Seconds from `storedAt` after which the message is no longer sent. */
  readonly messageExpiryInterval?: number;
}

export interface RetainedMessage {
  /** A topic name (no wildcards). */
  readonly topic: string;
  /** Empty: the topic's retained message is cleared [MQTT-3.3.1-10/11, MQTT-3.3.1-6/7 (v5)]. */
  readonly payload: Buffer;
  readonly qos: 0 | 1 | 2;
  /** As stored from the MQTT 5 PUBLISH; undefined from 3.1.1. */
  readonly properties: RetainedProperties | undefined;
  /** Milliseconds since the epoch when it was published; with messageExpiryInterval, its expiry. */
  readonly storedAt: number;
}

export interface RetainedStore {
  /** Resolves once the retained topic has been read to the end it had at start. */
  readonly ready: Promise<void>;
  /** Retained messages whose topic `filter` matches (expired ones left out), for SUBSCRIBE. */
  matching(filter: string, now: number): readonly RetainedMessage[];
  /**
   * Written to the retained topic; resolves once Kafka acknowledged it and this store read it back
   * (an empty payload clears). Rejects with a RetainedWriteError when it could not be written.
   */
  set(message: RetainedMessage): Promise<void>;
  close(): Promise<void>;
}

/** When a retained message with a Message Expiry Interval stops being sent; undefined: never. */
export function expiresAt(message: RetainedMessage): number | undefined {
  const interval = message.properties?.messageExpiryInterval;
  return interval === undefined ? undefined : message.storedAt + interval * 1000;
}

export function isExpired(message: RetainedMessage, now: number): boolean {
  const at = expiresAt(message);
  return at !== undefined && now >= at;
}

/**
 * Why a retained message was not written: `unavailable` (Kafka did not answer or refused for now;
 * the client may send it again), `timeout` (written or not, it was not read back in time),
 * `misconfigured` (the retained topic cannot hold retained messages; sending again will not help).
 */
export type RetainedWriteFailure = 'unavailable' | 'timeout' | 'misconfigured' | 'closed';

export class RetainedWriteError extends Error {
  override readonly name = 'RetainedWriteError';

  constructor(
    readonly reason: RetainedWriteFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get retriable(): boolean {
    return this.reason === 'unavailable' || this.reason === 'timeout';
  }
}
