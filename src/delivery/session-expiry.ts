// The timers of the disconnected sessions this replica ended. Expiry: when it runs out and the
// session is still the one that ended here, disconnected, the session is deleted (a tombstone); the
// sweep catches the sessions whose timers were on a replica that is gone. A will waiting out its
// delay: once the engine has published it, the record no longer holds it (no one publishes it again).
import type { Logger } from '../observability/logger.js';
import { sessionExpiresAt, type KafkaSessionStore } from '../state/session-store.js';
import { dropPublishedWill } from './stored-will.js';

/** A Session Expiry Interval of 0xFFFFFFFF means the session does not expire (MQTT 5, 3.1.2.11.2). */
const NEVER = 0xffff_ffff;

/** Time the engine is given to publish a will once due, before the record drops it. */
const WILL_PUBLISH_MS = 1000;

export class ExpiryTimers {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly wills = new Map<string, NodeJS.Timeout>();

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

  /** After `willAt` (and a second for the engine to publish it), the record is written without the will. */
  dropWillAfter(clientId: string, connectionId: string, willAt: number): void {
    clearTimeout(this.wills.get(clientId));
    const timer = setTimeout(() => {
      this.wills.delete(clientId);
      const current = this.store.get(clientId);
      if (current?.connectionId !== connectionId || current.connected || current.will === undefined) return;
      dropPublishedWill(this.store, clientId, current, this.logger);
    }, Math.max(0, willAt - Date.now()) + WILL_PUBLISH_MS);
    timer.unref();
    this.wills.set(clientId, timer);
  }

  /** Deletes every stored session past its expiry but those `connectedHere`; how many. */
  sweep(now: number, connectedHere: (clientId: string) => boolean): number {
    let deleted = 0;
    for (const [clientId, record] of this.store.entries()) {
      const expiresAt = sessionExpiresAt(record);
      if (expiresAt === undefined || expiresAt > now || connectedHere(clientId)) continue;
      void this.store.delete(clientId).catch((error: unknown) => this.logger.warn({ err: error, clientId }, 'expired session not deleted; tried again at the next sweep'));
      this.expired();
      deleted++;
    }
    return deleted;
  }

  clear(clientId: string): void {
    clearTimeout(this.timers.get(clientId));
    this.timers.delete(clientId);
  }

  close(): void {
    for (const timer of [...this.timers.values(), ...this.wills.values()]) clearTimeout(timer);
    this.timers.clear();
    this.wills.clear();
  }
}
