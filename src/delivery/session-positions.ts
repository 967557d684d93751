// Where one persistent session is in each delivery partition: the next offset it is due, the
// offsets delivered at QoS 1 / 2 and not yet acknowledged, and whether the partition is still being
// caught up from the stored position (live records then wait for the catch-up). Pure.
import type { StoredInflight } from '../state/session-record.js';

/** Handed to the engine with a delivered message and back when the client acknowledged it. */
export interface DeliveryToken {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  readonly qos: 1 | 2;
}

/** A token this module made (the engine hands back whatever it was given). */
export function isDeliveryToken(value: unknown): value is DeliveryToken {
  return typeof value === 'object' && value !== null && typeof (value as DeliveryToken).offset === 'bigint' && typeof (value as DeliveryToken).topic === 'string';
}

interface Cursor {
  /** The next offset this session may be given. */
  next: bigint;
  catchingUp: boolean;
  readonly pending: Map<bigint, DeliveryToken>;
}

const key = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export class SessionPositions {
  private readonly cursors = new Map<string, Cursor & { readonly topic: string; readonly partition: number }>();

  /** Positions as stored: the partitions named start there, caught up from there. */
  constructor(stored: Readonly<Record<string, Readonly<Record<string, string>>>> = {}) {
    for (const [topic, partitions] of Object.entries(stored)) {
      for (const [partition, offset] of Object.entries(partitions)) this.cursorOf(topic, Number(partition), BigInt(offset)).catchingUp = true;
    }
  }

  /** Partitions being caught up, with where they start. */
  catchUps(): Array<{ topic: string; partition: number; from: bigint }> {
    return [...this.cursors.values()].filter((c) => c.catchingUp).map((c) => ({ topic: c.topic, partition: c.partition, from: c.next }));
  }

  /** A live record: true when this session is due it now (not caught up from storage, not seen before). */
  accepts(topic: string, partition: number, offset: bigint): boolean {
    const cursor = this.cursors.get(key(topic, partition));
    return cursor === undefined || (!cursor.catchingUp && offset >= cursor.next);
  }

  /** The partition is caught up to `next`: live records from there are the session's. */
  caughtUp(topic: string, partition: number, next: bigint): void {
    const cursor = this.cursorOf(topic, partition, next);
    cursor.catchingUp = false;
    if (next > cursor.next) cursor.next = next;
  }

  /** A record given to the session; QoS 1 / 2 returns the token its acknowledgement brings back. */
  delivered(topic: string, partition: number, offset: bigint, qos: 0 | 1 | 2): DeliveryToken | undefined {
    const cursor = this.cursorOf(topic, partition, offset);
    if (offset + 1n > cursor.next) cursor.next = offset + 1n;
    if (qos === 0) return undefined;
    const token: DeliveryToken = { topic, partition, offset, qos };
    cursor.pending.set(offset, token);
    return token;
  }

  /** A record passed over (not for this session, or a retained copy): the position may move past it. */
  passed(topic: string, partition: number, offset: bigint): void {
    const cursor = this.cursorOf(topic, partition, offset);
    if (offset + 1n > cursor.next) cursor.next = offset + 1n;
  }

  acknowledged(token: DeliveryToken): void {
    this.cursors.get(key(token.topic, token.partition))?.pending.delete(token.offset);
  }

  /** The token of an offset still pending (a stored in-flight message taken up again). */
  pending(topic: string, partition: number, offset: bigint): DeliveryToken | undefined {
    return this.cursors.get(key(topic, partition))?.pending.get(offset);
  }

  /**
   * Positions to store: per partition the lowest unacknowledged offset, else the next offset due,
   * or further when the live reader has passed it while the session was caught up (the records in
   * between did not match it).
   */
  stored(live: (topic: string, partition: number) => bigint | undefined, topics: Iterable<string>, partitionsOf: (topic: string) => readonly number[]): Record<string, Record<string, string>> {
    const out: Record<string, Record<string, string>> = {};
    const put = (topic: string, partition: number, offset: bigint): void => {
      (out[topic] ??= {})[String(partition)] = offset.toString();
    };
    for (const c of this.cursors.values()) {
      let position = c.next;
      if (c.pending.size > 0) for (const offset of c.pending.keys()) position = offset < position ? offset : position;
      else if (!c.catchingUp) {
        const at = live(c.topic, c.partition);
        if (at !== undefined && at > position) position = at;
      }
      put(c.topic, c.partition, position);
    }
    for (const topic of topics) {
      for (const partition of partitionsOf(topic)) {
        if (this.cursors.has(key(topic, partition))) continue;
        const at = live(topic, partition);
        if (at !== undefined) put(topic, partition, at);
      }
    }
    return out;
  }

  /** Every pending delivery as it is stored: its packet identifier and state from the engine's window when it has one. */
  inflight(window: ReadonlyMap<DeliveryToken, { packetId: number | undefined; state: 'queued' | 'sent' | 'released' }>): StoredInflight[] {
    const out: StoredInflight[] = [];
    for (const c of this.cursors.values()) {
      for (const token of c.pending.values()) {
        const at = window.get(token);
        out.push({ topic: token.topic, partition: token.partition, offset: token.offset.toString(), qos: token.qos, state: at?.state ?? 'queued', ...(at?.packetId !== undefined && { packetId: at.packetId }) });
      }
    }
    return out;
  }

  private cursorOf(topic: string, partition: number, start: bigint): Cursor & { readonly topic: string; readonly partition: number } {
    const k = key(topic, partition);
    let cursor = this.cursors.get(k);
    if (cursor === undefined) this.cursors.set(k, (cursor = { topic, partition, next: start, catchingUp: false, pending: new Map() }));
    return cursor;
  }
}
