/**
 * What stands between a login attempt and the check of its secret, so that guessing costs the
 * guesser and not the users: whatever the protocol (MQTT CONNECT, HTTP Basic auth), every attempt
 * goes through {@link LoginGuard.run}.
 *
 * - password attempts: one at a time per address ({@link AddressTurns}), each after the address's
 *   failure delay, and the hash itself under the global bound ({@link HashSlots}); past either
 *   bound the attempt is refused at once as busy, its password unchecked;
 * - known-good password attempts (the address and username's last login succeeded, see
 *   {@link KnownGood}) skip the address's line and delay and may use the reserved hash slots;
 * - token attempts (a JWT as the password): one at a time per address with their own failure
 *   delay, never behind a password hash: verifying a token costs microseconds and its key cannot
 *   be guessed, so a password guesser sharing the address does not slow them;
 * - attempts without a secret (a client certificate alone, anonymous): nothing to guess and
 *   nothing to hash, but refusals still cost a log line each, so they too take turns per address
 *   with a delay of their own (a flood of empty CONNECTs from one address is answered ever slower).
 */
import { AddressTurns, type Turn, type TurnOutcome } from './address-turns.js';
import type { FailureDelay } from './failure-delay.js';
import { HashSlots, type HashPriority, type HashSlotsStats } from './hash-slots.js';
import type { KnownGood } from './known-good.js';

/** Which protections an attempt needs, by what it presents. */
export type LoginLane = 'password' | 'token' | 'none';

/** Why an attempt was refused unchecked; `abandoned`: its client went away before its turn. */
export type LoginBusyReason = 'hash-queue-full' | 'address-queue-full' | 'abandoned';

export interface GuardedAttempt {
  readonly lane: LoginLane;
  /** The client's address (from PROXY protocol or X-Forwarded-For when a trusted proxy named it). */
  readonly address: string;
  /** The username presented (before any check); keys the known-good pass. */
  readonly username: string | undefined;
  /** Aborted when the client goes away: an attempt still waiting then is dropped, unchecked. */
  readonly signal?: AbortSignal | undefined;
}

/** Computes one password hash under the global bound; throws {@link LoginBusyError} when refused. */
export type HashGate = <T>(hash: () => Promise<T>) => Promise<T>;

/**
 * Thrown by a {@link HashGate} when no hash slot is free and the queue is full. One instance per
 * reason, made once: under a flood it is thrown thousands of times a second, and a new Error each
 * time would capture a stack trace each time.
 */
export class LoginBusyError extends Error {
  private static readonly instances = new Map<LoginBusyReason, LoginBusyError>();

  private constructor(readonly reason: LoginBusyReason) {
    super(`login refused unchecked: ${reason}`);
    this.name = 'LoginBusyError';
  }

  static of(reason: LoginBusyReason): LoginBusyError {
    let error = LoginBusyError.instances.get(reason);
    if (error === undefined) {
      error = new LoginBusyError(reason);
      LoginBusyError.instances.set(reason, error);
    }
    return error;
  }
}

/** How one protocol reads and answers attempts: what counts as a failure, what "busy" looks like. */
export interface LoginAnswers<R> {
  outcomeOf(result: R): TurnOutcome;
  busy(reason: LoginBusyReason): R;
}

export interface LoginGuardOptions {
  readonly slots?: HashSlots;
  readonly failureDelay?: FailureDelay;
  readonly knownGood?: KnownGood;
  /** Attempts of one address (per lane) waiting or running at once. Default: no bound. */
  readonly maxPendingPerAddress?: number;
  /** Told of each attempt refused busy (for the log and metrics); not of abandoned ones. */
  readonly onBusy?: (reason: LoginBusyReason, attempt: GuardedAttempt) => void;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

export interface LoginGuardStats {
  readonly hashes: HashSlotsStats;
  /** Addresses with attempts waiting or running now. */
  readonly addressesInLine: number;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class LoginGuard {
  private readonly slots: HashSlots;
  private readonly turns: AddressTurns;
  private readonly now: () => number;

  constructor(private readonly options: LoginGuardOptions = {}) {
    this.slots = options.slots ?? new HashSlots();
    this.now = options.now ?? Date.now;
    this.turns = new AddressTurns({
      failureDelay: options.failureDelay,
      maxPending: options.maxPendingPerAddress ?? Number.POSITIVE_INFINITY,
      sleep: options.sleep ?? defaultSleep,
      now: this.now,
    });
  }

  /** Runs `check` for `attempt` under the protections of its lane; `check` hashes through the gate it is given. */
  async run<R>(attempt: GuardedAttempt, check: (hash: HashGate) => Promise<R>, answers: LoginAnswers<R>): Promise<R> {
    const { address, username } = attempt;
    const { knownGood } = this.options;
    // Only password logins with a username can be known-good: the pass is an address and username.
    const pair = attempt.lane === 'password' && username !== undefined && knownGood !== undefined ? { knownGood, username } : undefined;
    const pass = pair?.knownGood.claim(address, pair.username, this.now()) === true;
    let turn: Turn | undefined;
    if (!pass) {
      turn = this.turns.enter(lineOf(attempt));
      if (turn === undefined) return this.refuse('address-queue-full', attempt, answers);
      await turn.ready;
    }
    let outcome: TurnOutcome = 'unchecked';
    try {
      if (attempt.signal?.aborted === true) throw LoginBusyError.of('abandoned');
      const result = await check(this.gate(pass ? 'known-good' : 'normal', attempt.signal));
      outcome = answers.outcomeOf(result);
      return result;
    } catch (error) {
      if (error instanceof LoginBusyError) return this.refuse(error.reason, attempt, answers);
      throw error;
    } finally {
      if (turn !== undefined) turn.done(outcome);
      else if (outcome === 'failure') this.turns.recordFailure(lineOf(attempt));
      // An unchecked attempt says nothing about the pair; it only gives back a pass it held.
      if (pair !== undefined && (pass || outcome !== 'unchecked')) pair.knownGood.settle(address, pair.username, outcome, this.now());
    }
  }

  /** The wait the next `lane` attempt from `address` has once its turn comes, in ms. */
  nextDelayFor(lane: LoginLane, address: string): number {
    return this.turns.delayFor(lineOf({ lane, address }));
  }

  stats(): LoginGuardStats {
    return { hashes: this.slots.stats(), addressesInLine: this.turns.size };
  }

  private gate(priority: HashPriority, signal?: AbortSignal): HashGate {
    return async (hash) => {
      const slot = this.slots.acquire(priority, signal);
      if (slot === undefined) throw LoginBusyError.of('hash-queue-full');
      const release = await slot;
      if (release === 'abandoned') throw LoginBusyError.of('abandoned');
      try {
        return await hash();
      } finally {
        release();
      }
    };
  }

  private refuse<R>(reason: LoginBusyReason, attempt: GuardedAttempt, answers: LoginAnswers<R>): R {
    if (reason !== 'abandoned') this.options.onBusy?.(reason, attempt);
    return answers.busy(reason);
  }
}

/** Each lane of one address waits in a line of its own, with a delay of its own. */
function lineOf({ lane, address }: { readonly lane: LoginLane; readonly address: string }): string {
  return lane === 'password' ? address : `${lane} ${address}`;
}
