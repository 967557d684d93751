// The proxy-wide bound on messages from Kafka waiting in connections' outbound queues. Only the
// connections that have had to queue are looked at, so a count costs what the slow ones hold, not
// what is connected.
import type { MqttSession } from '../mqtt/types.js';
import type { DeliveryEngine } from './types.js';

const POLL_MS = 20;

export class QueueBound {
  private readonly queueing = new Set<MqttSession>();
  private waiting: Promise<void> | undefined;

  constructor(
    private readonly engine: DeliveryEngine,
    private readonly max: number,
    private readonly lowWater: number,
  ) {}

  /** A message for this session was queued. */
  noteQueued(session: MqttSession): void {
    this.queueing.add(session);
  }

  /** Messages waiting over all connections now. */
  get total(): number {
    let total = 0;
    for (const session of this.queueing) {
      const queued = this.engine.queuedFor(session);
      if (queued === 0) this.queueing.delete(session);
      total += queued;
    }
    return total;
  }

  /** Undefined while below the bound; else resolves once the total is back at the low-water mark. */
  whenRoom(): Promise<void> | undefined {
    if (this.waiting !== undefined) return this.waiting;
    if (this.queueing.size === 0 || this.total < this.max) return undefined;
    const resume = Math.floor(this.max * this.lowWater);
    this.waiting = new Promise<void>((resolve) => {
      const check = (): void => {
        if (this.total <= resume) {
          this.waiting = undefined;
          resolve();
        } else setTimeout(check, POLL_MS).unref();
      };
      setTimeout(check, POLL_MS).unref();
    });
    return this.waiting;
  }
}
