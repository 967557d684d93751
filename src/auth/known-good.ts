/**
 * Address and username pairs whose last password login succeeded, recently: a device reconnecting
 * from where it last logged in. Such a login skips its address's line and delay and may use the
 * hash slots kept in reserve, so a flood of guesses does not lock out the devices that were
 * already connected.
 *
 * What keeps this from being a way around the limits:
 * - one login per pair at a time takes the pass (`claim`); a second one in parallel is an ordinary
 *   login;
 * - any failed login for the pair ends it: a guesser on the same address (a shared NAT, a load
 *   balancer without PROXY protocol) gets at most one fast guess after each real success, and a
 *   guesser elsewhere none;
 * - it lasts `forgetAfterMs` after the success; at most `maxEntries` pairs are kept (the least
 *   recently successful are forgotten first).
 */

export interface KnownGoodOptions {
  readonly forgetAfterMs: number;
  readonly maxEntries: number;
}

interface Entry {
  succeededAt: number;
  claimed: boolean;
}

export class KnownGood {
  /** Insertion order = least recently successful first (an entry is re-inserted on each success). */
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly options: KnownGoodOptions) {}

  /** True, and held until `settle`, when the pair is known-good and no other login holds it. */
  claim(address: string, username: string, now: number): boolean {
    const key = keyOf(address, username);
    const entry = this.entries.get(key);
    if (entry === undefined || entry.claimed) return false;
    if (now - entry.succeededAt >= this.options.forgetAfterMs) {
      this.entries.delete(key);
      return false;
    }
    entry.claimed = true;
    return true;
  }

  /**
   * The outcome of a checked login for the pair (claimed or not): a success makes it known-good
   * from now, a failure ends it; `unchecked` (refused before its password was checked) only
   * gives a claim back.
   */
  settle(address: string, username: string, outcome: 'success' | 'failure' | 'unchecked', now: number): void {
    const key = keyOf(address, username);
    if (outcome === 'unchecked') {
      const entry = this.entries.get(key);
      if (entry !== undefined) entry.claimed = false;
      return;
    }
    this.entries.delete(key);
    if (outcome === 'failure') return;
    this.entries.set(key, { succeededAt: now, claimed: false });
    while (this.entries.size > this.options.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
  }

  /** Pairs remembered (for tests and metrics). */
  get size(): number {
    return this.entries.size;
  }
}

function keyOf(address: string, username: string): string {
  // NUL cannot be part of an address, so no username can make two pairs collide.
  return `${address}\u0000${username}`;
}
