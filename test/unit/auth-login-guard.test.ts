/**
 * The protections every login runs under (src/auth/login-guard.ts and its parts): the global
 * bound on password hashes and its queue, the per-address turns and delay, the known-good reserve,
 * and the Authenticator and access control answering `server-busy` from them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import { createAccessControl } from '../../src/auth/access-control.js';
import { Authenticator, type AuthResult, type Credentials } from '../../src/auth/authenticator.js';
import { FailureDelay } from '../../src/auth/failure-delay.js';
import { HashSlots, type ReleaseSlot, type SlotOutcome } from '../../src/auth/hash-slots.js';
import { JwtVerifier } from '../../src/auth/jwt.js';
import { KnownGood } from '../../src/auth/known-good.js';
import { LoginGuard, type GuardedAttempt, type HashGate, type LoginAnswers } from '../../src/auth/login-guard.js';
import { hashPassword } from '../../src/auth/password-hash.js';
import { parseUsersFile } from '../../src/auth/users-file.js';
import { parseConfig } from '../../src/server/load-config.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { counterValue } from '../helpers/mqtt-connect.js';
import { signJwt } from '../helpers/jwt.js';

const FAST = { N: 1024, r: 8, p: 1 };
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A promise the test settles by hand. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** The slot a wait ended with; fails the test when it was abandoned. */
async function slotOf(outcome: Promise<SlotOutcome> | undefined): Promise<ReleaseSlot> {
  assert.ok(outcome !== undefined, 'not refused');
  const release = await outcome;
  assert.ok(release !== 'abandoned');
  return release;
}

describe('HashSlots: the global bound on hashes at once', () => {
  it('runs maxConcurrent at once, queues maxQueued in order, refuses the rest at once', async () => {
    const slots = new HashSlots({ maxConcurrent: 2, reserve: 0, maxQueued: 2 });
    const started: string[] = [];
    const take = (name: string): Promise<ReleaseSlot> | undefined => {
      const outcome = slots.acquire('normal');
      return outcome === undefined
        ? undefined
        : slotOf(outcome).then((release) => {
            started.push(name);
            return release;
          });
    };
    const a = take('a');
    const b = take('b');
    const c = take('c');
    const d = take('d');
    assert.equal(take('e'), undefined, 'the fifth is refused synchronously');
    await tick();
    assert.deepEqual(started, ['a', 'b']);
    assert.deepEqual({ inFlight: slots.stats().inFlight, queued: slots.stats().queued, refused: slots.stats().refused }, { inFlight: 2, queued: 2, refused: 1 });
    (await b!)();
    await tick();
    assert.deepEqual(started, ['a', 'b', 'c'], 'a freed slot goes to the first in line');
    (await a!)();
    (await c!)();
    (await d!)();
    assert.deepEqual(started, ['a', 'b', 'c', 'd']);
    assert.equal(slots.stats().peakInFlight, 2);
    assert.equal(slots.stats().inFlight, 0);
  });

  it('the reserve is for known-good logins only, and they are served first', async () => {
    const slots = new HashSlots({ maxConcurrent: 1, reserve: 1, maxQueued: 1 });
    const first = await slotOf(slots.acquire('normal'));
    assert.ok(slots.acquire('normal') !== undefined, 'one ordinary login waits');
    assert.equal(slots.acquire('normal'), undefined, 'the next ordinary one is refused: the reserve is not for it');
    const releaseReserved = await slotOf(slots.acquire('known-good'));
    assert.equal(slots.stats().inFlight, 2);
    const order: string[] = [];
    void slotOf(slots.acquire('known-good')).then((release) => {
      order.push('known-good');
      release();
    });
    first();
    await tick();
    assert.deepEqual(order, ['known-good'], 'the waiting known-good login starts before the waiting ordinary one');
    releaseReserved();
    await tick();
    assert.equal(slots.stats().inFlight, 1, 'then the ordinary one');
    assert.equal(slots.stats().peakInFlight, 2);
  });

  it('a login whose client went away leaves the queue: its place is free and no hash is started for it', async () => {
    const slots = new HashSlots({ maxConcurrent: 1, reserve: 0, maxQueued: 1 });
    const first = await slotOf(slots.acquire('normal'));
    const gone = new AbortController();
    const waiting = slots.acquire('normal', gone.signal);
    assert.equal(slots.acquire('normal'), undefined, 'the queue is full');
    gone.abort();
    assert.equal(await waiting, 'abandoned');
    assert.equal(slots.stats().queued, 0);
    const next = slots.acquire('normal');
    assert.ok(next !== undefined, 'its place in the queue is free again');
    first();
    (await slotOf(next))();
    assert.equal(slots.stats().started, 2, 'the abandoned one never started');
  });
});

/** A guard around checks the test finishes by hand, recording what ran when. */
function harness(options: { maxPendingPerAddress?: number; slots?: HashSlots; knownGood?: KnownGood } = {}) {
  const waits: Array<{ address: string; ms: number }> = [];
  const busy: string[] = [];
  const guard = new LoginGuard({
    failureDelay: new FailureDelay({ initialMs: 100, maxMs: 400, forgetAfterMs: 60_000, maxAddresses: 100 }),
    ...options,
    onBusy: (reason) => busy.push(reason),
    // The delay is recorded, not slept: the order of events is what is tested.
    sleep: async (ms) => {
      waits.push({ address: '?', ms });
    },
  });
  type Result = 'ok' | 'fail' | `busy ${string}`;
  const answers: LoginAnswers<Result> = { outcomeOf: (r) => (r === 'ok' ? 'success' : r === 'fail' ? 'failure' : 'unchecked'), busy: (reason) => `busy ${reason}` };
  const running = new Map<string, number>();
  let peakPerAddress = 0;
  const pending: Array<{ address: string; username: string; finish: (result: Result) => void }> = [];
  /** Starts an attempt whose check (one hash) ends when the test calls `finish`. */
  const attempt = (address: string, lane: GuardedAttempt['lane'] = 'password', username = 'bob'): Promise<Result> =>
    guard.run(
      { lane, address, username },
      async (hash: HashGate) => {
        running.set(address, (running.get(address) ?? 0) + 1);
        peakPerAddress = Math.max(peakPerAddress, running.get(address)!);
        const done = deferred<Result>();
        try {
          return await hash(() => {
            pending.push({ address, username, finish: done.resolve });
            return done.promise;
          });
        } finally {
          running.set(address, running.get(address)! - 1);
        }
      },
      answers,
    );
  /** Ends the oldest running check from `address` (and `username`, when given). */
  const finish = async (address: string, result: Result, username?: string): Promise<void> => {
    const index = pending.findIndex((p) => p.address === address && (username === undefined || p.username === username));
    assert.ok(index >= 0, `a check from ${address} is running`);
    pending.splice(index, 1)[0]!.finish(result);
    await tick();
  };
  return { guard, attempt, finish, waits, busy, pending, peak: () => peakPerAddress };
}

describe('per-address turns: the delay is the address\'s, not the connection\'s', () => {
  it('parallel attempts from one address are checked one after another, each after a longer wait; another address is not held up', async () => {
    const h = harness();
    const results = Array.from({ length: 5 }, () => h.attempt('198.51.100.1'));
    const other = h.attempt('198.51.100.2');
    await tick();
    assert.deepEqual(h.pending.map((p) => p.address), ['198.51.100.1', '198.51.100.2'], 'one check per address at a time');
    await h.finish('198.51.100.2', 'ok');
    assert.equal(await other, 'ok');
    for (let i = 0; i < 5; i++) {
      assert.equal(h.pending.length, 1, `attempt ${i + 1}: only it runs`);
      await h.finish('198.51.100.1', 'fail');
    }
    assert.deepEqual(await Promise.all(results), ['fail', 'fail', 'fail', 'fail', 'fail']);
    assert.equal(h.peak(), 1);
    // No wait before the first; then 100, 200, 400, 400 ms: the failures of the parallel ones count.
    assert.deepEqual(h.waits.map((w) => w.ms), [100, 200, 400, 400]);
    assert.equal(h.guard.stats().addressesInLine, 0, 'nothing is kept once the line is empty');
  });

  it('more than maxPendingPerAddress attempts from one address are refused at once, unchecked, and do not lengthen the delay', async () => {
    const h = harness({ maxPendingPerAddress: 3 });
    const results = Array.from({ length: 5 }, () => h.attempt('198.51.100.3'));
    assert.deepEqual(await Promise.all(results.slice(3)), ['busy address-queue-full', 'busy address-queue-full']);
    assert.deepEqual(h.busy, ['address-queue-full', 'address-queue-full']);
    await tick();
    for (let i = 0; i < 3; i++) await h.finish('198.51.100.3', 'fail');
    await Promise.all(results.slice(0, 3));
    assert.deepEqual(h.waits.map((w) => w.ms), [100, 200]);
    assert.equal(h.guard.nextDelayFor('password', '198.51.100.3'), 400);
  });

  it('token attempts have their own line and delay: password failures do not hold them up', async () => {
    const h = harness();
    const guesses = [h.attempt('198.51.100.4'), h.attempt('198.51.100.4')];
    await tick();
    const token = h.attempt('198.51.100.4', 'token', 'device');
    await tick();
    assert.deepEqual(h.pending.map((p) => p.username), ['bob', 'device'], 'the token check runs beside the password check of the same address');
    await h.finish('198.51.100.4', 'ok', 'device');
    assert.equal(await token, 'ok');
    await h.finish('198.51.100.4', 'fail', 'bob');
    await h.finish('198.51.100.4', 'fail', 'bob');
    await Promise.all(guesses);
    assert.equal(h.guard.nextDelayFor('token', '198.51.100.4'), 0);
    assert.equal(h.guard.nextDelayFor('password', '198.51.100.4'), 200);
  });

  it('an attempt whose client went away while it waited for its turn is dropped unchecked, not counted as busy', async () => {
    const h = harness();
    const first = h.attempt('198.51.100.11');
    const gone = new AbortController();
    const abandoned = h.guard.run(
      { lane: 'password', address: '198.51.100.11', username: 'bob', signal: gone.signal },
      async () => assert.fail('no check for a client that is gone'),
      { outcomeOf: () => 'failure', busy: (reason) => `busy ${reason}` },
    );
    await tick();
    gone.abort();
    await h.finish('198.51.100.11', 'fail');
    assert.equal(await first, 'fail');
    assert.equal(await abandoned, 'busy abandoned');
    assert.deepEqual(h.busy, []);
    assert.equal(h.guard.nextDelayFor('password', '198.51.100.11'), 100, 'only the checked failure counts');
  });

  it('attempts without a secret have their own line and delay: a password check does not hold them up', async () => {
    const h = harness();
    void h.attempt('198.51.100.5');
    const anonymous = h.attempt('198.51.100.5', 'none', 'nobody');
    await tick();
    assert.equal(h.pending.length, 2);
    await h.finish('198.51.100.5', 'fail', 'bob');
    await h.finish('198.51.100.5', 'fail', 'nobody');
    assert.equal(await anonymous, 'fail');
    assert.equal(h.guard.nextDelayFor('none', '198.51.100.5'), 100, 'refused empty CONNECTs slow down the next ones');
    assert.equal(h.guard.nextDelayFor('token', '198.51.100.5'), 0);
  });
});

describe('known-good logins', () => {
  const knownGoodHarness = () =>
    harness({ slots: new HashSlots({ maxConcurrent: 1, reserve: 1, maxQueued: 0 }), knownGood: new KnownGood({ forgetAfterMs: 60_000, maxEntries: 10 }) });

  it('skip their address\'s line and delay and use the reserved slot; the pass is the address and username together, one login at a time', async () => {
    const h = knownGoodHarness();
    const first = h.attempt('198.51.100.6', 'password', 'alice');
    await tick();
    await h.finish('198.51.100.6', 'ok');
    assert.equal(await first, 'ok');
    // A guesser on the same address (a shared NAT) takes the one ordinary slot and has a line behind it.
    const guesses = [h.attempt('198.51.100.6'), h.attempt('198.51.100.6')];
    await tick();
    const alice = h.attempt('198.51.100.6', 'password', 'alice');
    const aliceAgain = h.attempt('198.51.100.6', 'password', 'alice');
    const aliceElsewhere = h.attempt('198.51.100.7', 'password', 'alice');
    await tick();
    assert.equal(await aliceElsewhere, 'busy hash-queue-full', 'from another address she is an ordinary login');
    assert.deepEqual(h.pending.map((p) => p.username), ['bob', 'alice'], 'alice runs beside the guess; her parallel second login waits in line');
    await h.finish('198.51.100.6', 'fail', 'alice');
    assert.equal(await alice, 'fail');
    // The rest: the second guess, then her second login, each in turn.
    while (h.pending.length > 0 || h.guard.stats().addressesInLine > 0) {
      if (h.pending.length > 0) await h.finish('198.51.100.6', h.pending[0]!.username === 'alice' ? 'ok' : 'fail');
      else await tick();
    }
    assert.deepEqual(await Promise.all(guesses), ['fail', 'fail']);
    assert.equal(await aliceAgain, 'ok');
    // Alice's failure (100), the first guess's (200): the second guess waited 200; with its failure her second login 400.
    assert.deepEqual(h.waits.map((w) => w.ms), [200, 400], 'the known-good login waited for nothing, and its failure counts for the address');
  });

  it('a failed login for the pair ends the pass: the next one is ordinary, with no reserve', async () => {
    const h = knownGoodHarness();
    const first = h.attempt('198.51.100.9', 'password', 'alice');
    await tick();
    await h.finish('198.51.100.9', 'ok');
    await first;
    const wrong = h.attempt('198.51.100.9', 'password', 'alice');
    await tick();
    assert.equal(h.waits.length, 0, 'known-good: no delay');
    await h.finish('198.51.100.9', 'fail');
    assert.equal(await wrong, 'fail');
    const blocker = h.attempt('198.51.100.10');
    await tick();
    assert.equal(await h.attempt('198.51.100.9', 'password', 'alice'), 'busy hash-queue-full', 'no reserved slot for her any more');
    assert.deepEqual(h.waits.map((w) => w.ms), [100], 'and she waited her address\'s delay first');
    await h.finish('198.51.100.10', 'fail');
    await blocker;
  });

  it('are forgotten after forgetAfterMs, and at most maxEntries are kept', () => {
    const known = new KnownGood({ forgetAfterMs: 1000, maxEntries: 2 });
    known.settle('a', 'u', 'success', 0);
    known.settle('b', 'u', 'success', 0);
    known.settle('c', 'u', 'success', 0);
    assert.equal(known.size, 2);
    assert.equal(known.claim('a', 'u', 10), false, 'the oldest pair was forgotten for the newest');
    assert.equal(known.claim('b', 'u', 999), true);
    assert.equal(known.claim('b', 'u', 999), false, 'held by the first claim');
    known.settle('b', 'u', 'unchecked', 999);
    assert.equal(known.claim('b', 'u', 999), true, 'an unchecked attempt gives the pass back');
    assert.equal(known.claim('c', 'u', 1000), false, 'expired');
  });
});

describe('Authenticator and access control: server-busy from the bounds', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mkp-login-guard-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const SECRET = '0123456789abcdef0123456789abcdef';

  const creds = (c: Partial<Credentials>): Credentials => ({ username: undefined, password: undefined, remoteAddress: '10.0.0.1', certificateIdentity: undefined, ...c });

  it('past the queue bound a password login is refused server-busy at once; a JWT login never waits for a hash', async () => {
    const db = parseUsersFile(`users:\n  - { username: alice, password: '${await hashPassword('alice-pw', FAST)}' }\n`, 'u.yaml');
    const jwt = new JwtVerifier({ secret: Buffer.from(SECRET), usernameClaim: 'sub', clockToleranceSeconds: 0, requireExpiry: true });
    const slots = new HashSlots({ maxConcurrent: 1, reserve: 0, maxQueued: 1 });
    const authenticator = new Authenticator({ anonymous: false, certificate: 'ignore', users: () => db, jwt: () => jwt, guard: new LoginGuard({ slots }) });
    const wrong = (address: string): Promise<AuthResult> => authenticator.authenticate(creds({ username: 'alice', password: Buffer.from('guess'), remoteAddress: address }));
    const attempts = [wrong('10.0.0.1'), wrong('10.0.0.2'), wrong('10.0.0.3'), wrong('10.0.0.4')];
    const token = signJwt({ sub: 'device-1', exp: Math.floor(Date.now() / 1000) + 60 }, { hs256: SECRET });
    const started = Date.now();
    const byToken = await authenticator.authenticate(creds({ username: 'x', password: Buffer.from(token), remoteAddress: '10.0.0.9' }));
    assert.ok(byToken.accepted && byToken.method === 'jwt');
    assert.ok(slots.stats().inFlight === 1 && slots.stats().queued === 1, 'the JWT was checked while the hash slot was taken and the queue full');
    const results = await Promise.all(attempts);
    assert.deepEqual(
      results.map((r) => (r.accepted ? 'ok' : `${r.code} ${r.reason}`)),
      ['bad-credentials bad-password', 'bad-credentials bad-password', 'server-busy hash-queue-full', 'server-busy hash-queue-full'],
    );
    assert.ok(Date.now() - started < 5000);
    assert.deepEqual({ started: slots.stats().started, refused: slots.stats().refused, peak: slots.stats().peakInFlight }, { started: 2, refused: 2, peak: 1 });
  });

  it('one function for every protocol: an HTTP Basic auth attempt (no client id) goes through the same bounds, counted and logged once', async () => {
    const usersFile = join(dir, 'users.yaml');
    writeFileSync(usersFile, `users:\n  - { username: alice, password: '${await hashPassword('alice-pw', FAST)}' }\n`);
    const config = parseConfig(
      `mappings: [{ name: all, match: '^(.*)$', topic: t }]\nauth:\n  usersFile: ${usersFile}\n  logins: { maxConcurrentHashes: 1, maxQueuedHashes: 0, knownGoodReserve: 0 }\n`,
      'test.yaml',
    );
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
    const metrics = createMetrics({ collectDefault: false });
    const access = createAccessControl({ auth: config.auth, source: config.source, logger, metrics, watchIntervalMs: 0 });
    try {
      const http = (password: string, remoteAddress: string) => access.authenticate({ username: 'alice', password: Buffer.from(password), remoteAddress, listener: 'http:8080', certificateIdentity: undefined });
      const results = await Promise.all([http('alice-pw', '10.1.0.1'), http('guess', '10.1.0.2'), http('guess', '10.1.0.3'), http('guess', '10.1.0.4')]);
      assert.deepEqual(results.map((r) => (r.accepted ? 'ok' : r.code)), ['ok', 'server-busy', 'server-busy', 'server-busy']);
      assert.equal(await counterValue(metrics.limitsHit, { limit: 'login-hash-queue' }), 3);
      assert.equal((await metrics.loginHashes.get()).values[0]?.value, 1);
      assert.equal((await metrics.authFailures.get()).values.length, 0, 'a login refused unchecked is not an authentication failure');
      assert.equal(lines.filter((l) => l.limit === 'login-hash-queue').length, 1, 'one log line a second, however many are refused');
      assert.deepEqual(access.loginStats().hashes.peakInFlight, 1);
    } finally {
      access.close();
    }
  });
});
