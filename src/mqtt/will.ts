import type { PublishProperties, PublishReply, QoS } from './types.js';

/** A client's Last Will as its CONNECT stated it. */
export interface WillMessage {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly properties: PublishProperties | undefined;
  /** How long after the connection ends it is published (MQTT 5 Will Delay Interval, bounded by the session's expiry). */
  readonly delayMs: number;
}

/** The answer to a will: there is no client to tell (the pipeline logs what went wrong). */
export const WILL_REPLY: PublishReply = Object.freeze({
  accept: () => undefined,
  reject: () => undefined,
  fail: () => undefined,
  gone: true,
});

/**
 * Wills waiting out their delay, by client id. A new connection with the same client id within
 * the delay cancels its will [MQTT-3.1.3-9]; a will without delay is published at once.
 */
export class WillScheduler {
  private readonly waiting = new Map<string, { timer: NodeJS.Timeout; publish: () => void }>();

  schedule(clientId: string, delayMs: number, publish: () => void): void {
    // A will of the same id still waiting belongs to a connection that ended before: it goes first.
    this.take(clientId)?.();
    if (delayMs <= 0) {
      publish();
      return;
    }
    const timer = setTimeout(() => {
      this.waiting.delete(clientId);
      publish();
    }, delayMs);
    this.waiting.set(clientId, { timer, publish });
  }

  /** A client with this id connected again: its will is not published. True when one was waiting. */
  cancel(clientId: string): boolean {
    return this.take(clientId) !== undefined;
  }

  get pending(): number {
    return this.waiting.size;
  }

  /** Stops every timer; the wills still waiting are dropped. */
  close(): void {
    for (const { timer } of this.waiting.values()) clearTimeout(timer);
    this.waiting.clear();
  }

  private take(clientId: string): (() => void) | undefined {
    const entry = this.waiting.get(clientId);
    if (entry === undefined) return undefined;
    clearTimeout(entry.timer);
    this.waiting.delete(clientId);
    return entry.publish;
  }
}
