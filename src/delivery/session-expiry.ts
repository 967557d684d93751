// One timer per disconnected session this replica ended: when it runs out and the session is still
// the one that ended here, disconnected, the session is deleted (a tombstone). The sweep catches
// the sessions whose timers were on a replica that is gone.
import type { Logger } from '../observability/logger.js';
import type { KafkaSessionStore } from '../state/session-store.js';

/** A Session Expiry Interval of 0xFFFFFFFF means the session does not expire (MQTT 5, 3.1.2.11.2). */
const NEVER = 0xffff_ffff;

export class ExpiryTimers {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly store: KafkaSessionStore,
    private readonly logger: Logger,
    private readonly expired: () => void,
  ) {}

  arm(clientId: string, connectionId: string, seconds: number): void {
    this.clear(clientId);
    if (seconds >= NEVER) return;
    const timer = setTimeout(() => {
      this.timers.delete(clientId);
      const current = this.store.get(clientId);
      if (current?.connectionId !== connectionId || current.connected) return;
      this.logger.info({ clientId }, 'session expired: deleted');
      this.expired();
      void this.store.delete(clientId).catch(() => undefined);
    }, Math.min(seconds * 1000, 2 ** 31 - 1));
    timer.unref();
    this.timers.set(clientId, timer);
  }

  clear(clientId: string): void {
    clearTimeout(this.timers.get(clientId));
    this.timers.delete(clientId);
  }

  close(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
