/**
 * A global bound on password hashes computed at once. scrypt is the one expensive step of a login
 * (tens of milliseconds of CPU and 32 MiB each with the default parameters), and it runs on libuv's
 * small thread pool, which file reads and DNS lookups share: without a bound, a burst of guesses
 * queues there and every other login, and the rest of the process, waits behind it.
 *
 * - `maxConcurrent` hashes run at once for anyone; `reserve` more only for known-good logins (an
 *   address and username whose last login succeeded), so guesses cannot take every slot.
 * - Up to `maxQueued` logins of each kind wait for a slot, in arrival order, known-good ones first;
 *   past that a login is refused at once (`acquire` returns undefined) rather than made to wait.
 */

export type HashPriority = 'known-good' | 'normal';

export interface HashSlotsOptions {
  readonly maxConcurrent: number;
  readonly reserve: number;
  readonly maxQueued: number;
}

export interface HashSlotsStats {
  /** Hashes running now. */
  readonly inFlight: number;
  /** Logins waiting for a slot now. */
  readonly queued: number;
  /** Most hashes that ever ran at once. */
  readonly peakInFlight: number;
  /** Hashes started so far. */
  readonly started: number;
  /** Logins refused so far because the queue was full. */
  readonly refused: number;
}

/** Told of every change, so gauges can follow without polling. */
export interface HashSlotsObserver {
  started?(): void;
  changed?(stats: HashSlotsStats): void;
}

/** Gives the slot back; calling it again does nothing. */
export type ReleaseSlot = () => void;

/** What a wait for a slot ends with: the slot, or `abandoned` when its signal aborted first. */
export type SlotOutcome = ReleaseSlot | 'abandoned';

const UNBOUNDED: HashSlotsOptions = { maxConcurrent: Number.POSITIVE_INFINITY, reserve: 0, maxQueued: Number.POSITIVE_INFINITY };

export class HashSlots {
  private inFlight = 0;
  private peakInFlight = 0;
  private started = 0;
  private refused = 0;
  private readonly waiting: Record<HashPriority, Array<() => void>> = { 'known-good': [], normal: [] };

  constructor(
    private readonly options: HashSlotsOptions = UNBOUNDED,
    private readonly observer: HashSlotsObserver = {},
  ) {}

  /**
   * Resolves with a slot when one is free for `priority`; undefined at once when none is and the
   * queue for `priority` is full. A login whose `signal` aborts while it waits (its client went
   * away) leaves the queue: no hash is computed for nobody.
   */
  acquire(priority: HashPriority, signal?: AbortSignal): Promise<SlotOutcome> | undefined {
    if (this.waiting[priority].length === 0 && this.hasRoomFor(priority)) return Promise.resolve(this.take());
    if (this.waiting[priority].length >= this.options.maxQueued) {
      this.refused++;
      this.notify();
      return undefined;
    }
    return new Promise((resolve) => {
      const queue = this.waiting[priority];
      const leave = (): void => {
        const index = queue.indexOf(start);
        if (index === -1) return;
        queue.splice(index, 1);
        this.notify();
        resolve('abandoned');
      };
      const start = (): void => {
        signal?.removeEventListener('abort', leave);
        resolve(this.take());
      };
      queue.push(start);
      signal?.addEventListener('abort', leave, { once: true });
      this.notify();
    });
  }

  stats(): HashSlotsStats {
    const queued = this.waiting['known-good'].length + this.waiting.normal.length;
    return { inFlight: this.inFlight, queued, peakInFlight: this.peakInFlight, started: this.started, refused: this.refused };
  }

  private hasRoomFor(priority: HashPriority): boolean {
    const limit = priority === 'known-good' ? this.options.maxConcurrent + this.options.reserve : this.options.maxConcurrent;
    return this.inFlight < limit;
  }

  private take(): ReleaseSlot {
    this.inFlight++;
    this.started++;
    this.peakInFlight = Math.max(this.peakInFlight, this.inFlight);
    this.observer.started?.();
    this.notify();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight--;
      this.dispatch();
      this.notify();
    };
  }

  /** Starts waiting logins while there is room: known-good first, each kind in arrival order. */
  private dispatch(): void {
    for (const priority of ['known-good', 'normal'] as const) {
      const queue = this.waiting[priority];
      while (queue.length > 0 && this.hasRoomFor(priority)) queue.shift()!();
    }
  }

  private notify(): void {
    this.observer.changed?.(this.stats());
  }
}
