/**
 * Login attempts from one address take turns: the next one starts only when the one before it has
 * been answered, and then waits the address's failure delay. So the growing delay is the
 * address's, whatever number of connections it opens in parallel: 200 parallel guesses from one
 * address are checked one after another, each later than the last, not all at once.
 *
 * At most `maxPending` attempts of one address wait or run at a time; more are refused at once
 * (`enter` returns undefined), so one address cannot hold an unbounded line of sockets and timers.
 * An address is kept only while it has attempts; its failures are kept by the {@link FailureDelay}.
 */
import type { FailureDelay } from './failure-delay.js';

export type TurnOutcome = 'success' | 'failure' | 'unchecked';

export interface Turn {
  /** Resolves when it is this attempt's turn: the attempts before it are answered and the delay is over. */
  readonly ready: Promise<void>;
  /** Ends the turn (exactly once; later calls do nothing). A failure lengthens the address's delay. */
  done(outcome: TurnOutcome): void;
}

export interface AddressTurnsOptions {
  readonly failureDelay: FailureDelay | undefined;
  readonly maxPending: number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => number;
}

interface Line {
  /** Settles when the last attempt in line has been answered. */
  tail: Promise<void>;
  pending: number;
}

export class AddressTurns {
  private readonly lines = new Map<string, Line>();

  constructor(private readonly options: AddressTurnsOptions) {}

  /** Joins `address`'s line; undefined when it already has `maxPending` attempts. */
  enter(address: string): Turn | undefined {
    const line = this.lines.get(address) ?? { tail: Promise.resolve(), pending: 0 };
    if (line.pending >= this.options.maxPending) return undefined;
    line.pending++;
    this.lines.set(address, line);
    const before = line.tail;
    let answered!: () => void;
    line.tail = new Promise((resolve) => (answered = resolve));
    const ready = before.then(() => this.waitDelay(address));
    let ended = false;
    return {
      ready,
      done: (outcome) => {
        if (ended) return;
        ended = true;
        if (outcome === 'failure') this.options.failureDelay?.recordFailure(address, this.options.now());
        line.pending--;
        if (line.pending === 0) this.lines.delete(address);
        answered();
      },
    };
  }

  /** A failure of an attempt that took no turn (a known-good login): it lengthens the delay all the same. */
  recordFailure(address: string): void {
    this.options.failureDelay?.recordFailure(address, this.options.now());
  }

  /** The wait the next attempt from `address` will have once its turn comes, in ms. */
  delayFor(address: string): number {
    return this.options.failureDelay?.delayFor(address, this.options.now()) ?? 0;
  }

  /** Addresses with attempts waiting or running. */
  get size(): number {
    return this.lines.size;
  }

  private async waitDelay(address: string): Promise<void> {
    const wait = this.delayFor(address);
    if (wait > 0) await this.options.sleep(wait);
  }
}
