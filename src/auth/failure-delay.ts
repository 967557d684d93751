/**
 * Slows down password guessing: every failed authentication from an address doubles the wait the
 * next attempt from that address has before it is even checked (from `initialMs` up to `maxMs`).
 * An address is forgotten `forgetAfterMs` after its last failure; at most `maxAddresses` are
 * remembered (the least recently failing are forgotten first), so memory stays bounded.
 */

export interface FailureDelayOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly forgetAfterMs: number;
  readonly maxAddresses: number;
}

interface Entry {
  delayMs: number;
  lastFailureAt: number;
}

export class FailureDelay {
  /** Insertion order = least recently failing first (an entry is re-inserted on each failure). */
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly options: FailureDelayOptions) {}

  /** How long an attempt from `address` must wait now, in ms (0 when it has no recent failures). */
  delayFor(address: string, now: number = Date.now()): number {
    const entry = this.entries.get(address);
    if (entry === undefined) return 0;
    if (now - entry.lastFailureAt >= this.options.forgetAfterMs) {
      this.entries.delete(address);
      return 0;
    }
    return entry.delayMs;
  }

  /** Records a failure; returns the delay the next attempt from `address` will wait. */
  recordFailure(address: string, now: number = Date.now()): number {
    const { initialMs, maxMs, maxAddresses } = this.options;
    const previous = this.delayFor(address, now);
    const delayMs = previous === 0 ? initialMs : Math.min(previous * 2, maxMs);
    this.entries.delete(address);
    this.entries.set(address, { delayMs, lastFailureAt: now });
    while (this.entries.size > maxAddresses) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    return delayMs;
  }

  /** Addresses remembered (for tests and metrics). */
  get size(): number {
    return this.entries.size;
  }
}
