import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TopicCatalog, type TopicLister, type TopicStatus } from '../../src/kafka/topic-catalog.js';

interface Listing {
  resolve(topics: readonly string[]): void;
  reject(error: unknown): void;
}

/** A lister whose listings the test answers by hand. */
class FakeLister {
  readonly listings: Listing[] = [];
  readonly list: TopicLister = () =>
    new Promise<readonly string[]>((resolve, reject) => {
      this.listings.push({ resolve, reject });
    });

  get calls(): number {
    return this.listings.length;
  }

  get last(): Listing {
    const last = this.listings.at(-1);
    assert.ok(last !== undefined, 'nothing was listed');
    return last;
  }
}

/** An injectable clock, starting far from 0 like Date.now(). */
class Clock {
  time = 1_700_000_000_000;
  readonly now = () => this.time;
}

function setup(refreshIntervalMs = 2000) {
  const lister = new FakeLister();
  const clock = new Clock();
  const catalog = new TopicCatalog(lister.list, refreshIntervalMs, clock.now);
  return { lister, clock, catalog };
}

function asPromise(answer: 'exists' | Promise<TopicStatus>): Promise<TopicStatus> {
  assert.ok(answer instanceof Promise, `expected a pending lookup, got ${String(answer)}`);
  return answer;
}

/** Lists once (answering `topics`) so the catalog knows them. */
async function primed(topics: readonly string[]) {
  const s = setup();
  const first = asPromise(s.catalog.check(topics[0] ?? 'x'));
  s.lister.last.resolve(topics);
  await first;
  return s;
}

describe('TopicCatalog', () => {
  test('an unknown topic is looked up by listing; a listed topic exists, another is missing', async () => {
    const { lister, catalog } = setup();
    const a = asPromise(catalog.check('a'));
    assert.equal(lister.calls, 1);
    lister.last.resolve(['a', 'b']);
    assert.equal(await a, 'exists');
  });

  test('a topic absent from the listing is missing', async () => {
    const { lister, catalog } = setup();
    const z = asPromise(catalog.check('z'));
    lister.last.resolve(['a']);
    assert.equal(await z, 'missing');
  });

  test('known topics answer synchronously, without listing', async () => {
    const { lister, catalog } = await primed(['a', 'b']);
    assert.equal(catalog.check('a'), 'exists');
    assert.equal(catalog.check('b'), 'exists');
    assert.equal(lister.calls, 1);
  });

  test('concurrent lookups of unknown topics share one listing', async () => {
    const { lister, catalog } = setup();
    const lookups = [catalog.check('a'), catalog.check('b'), catalog.check('c'), catalog.check('a')].map(asPromise);
    assert.equal(lister.calls, 1);
    lister.last.resolve(['a', 'c']);
    assert.deepEqual(await Promise.all(lookups), ['exists', 'missing', 'exists', 'exists']);
    assert.equal(lister.calls, 1);
  });

  test('a lookup that arrives while a listing is in flight joins it, even after the interval passed', async () => {
    const { lister, clock, catalog } = setup(2000);
    const first = asPromise(catalog.check('a'));
    clock.time += 10_000;
    const second = asPromise(catalog.check('b'));
    assert.equal(lister.calls, 1);
    lister.last.resolve(['b']);
    assert.equal(await first, 'missing');
    assert.equal(await second, 'exists');
  });

  test('at most one listing per refresh interval: within it, an unknown topic is missing without listing', async () => {
    const { lister, clock, catalog } = await primed(['a']);
    clock.time += 1999;
    assert.equal(await asPromise(catalog.check('new')), 'missing');
    assert.equal(lister.calls, 1);
    clock.time += 1; // a full interval since the listing finished
    const again = asPromise(catalog.check('new'));
    assert.equal(lister.calls, 2);
    lister.last.resolve(['a', 'new']);
    assert.equal(await again, 'exists');
  });

  test('the interval counts from when the listing finished, not when it started', async () => {
    const { lister, clock, catalog } = setup(2000);
    const first = asPromise(catalog.check('a'));
    clock.time += 1500; // a slow listing
    lister.last.resolve(['a']);
    await first;
    clock.time += 1000; // 2500 after the start, 1000 after the end
    assert.equal(await asPromise(catalog.check('b')), 'missing');
    assert.equal(lister.calls, 1);
    clock.time += 1000;
    asPromise(catalog.check('b'));
    assert.equal(lister.calls, 2);
  });

  test('a new listing replaces what was known: a topic absent from it is no longer known', async () => {
    const { lister, clock, catalog } = await primed(['a', 'b']);
    clock.time += 2000;
    const c = asPromise(catalog.check('c')); // any unknown topic triggers the refresh
    lister.last.resolve(['b', 'c']); // 'a' was deleted meanwhile
    assert.equal(await c, 'exists');
    assert.equal(catalog.check('b'), 'exists');
    const a = catalog.check('a');
    assert.ok(a instanceof Promise, "a topic missing from the latest listing still answered 'exists'");
    assert.equal(await a, 'missing'); // within the interval: no new listing
    assert.equal(lister.calls, 2);
  });

  test('forget() then a refresh that no longer lists the topic: missing', async () => {
    const { lister, clock, catalog } = await primed(['a', 'b']);
    clock.time += 2000;
    catalog.forget('a');
    const a = asPromise(catalog.check('a'));
    lister.last.resolve(['b']);
    assert.equal(await a, 'missing');
    assert.equal(catalog.check('b'), 'exists');
  });

  test('a failing listing answers unknown to every waiting lookup', async () => {
    const { lister, catalog } = setup();
    const lookups = [catalog.check('a'), catalog.check('b')].map(asPromise);
    lister.last.reject(new Error('metadata request failed'));
    assert.deepEqual(await Promise.all(lookups), ['unknown', 'unknown']);
  });

  test('a failure does not count as a listing: the next lookup lists again at once', async () => {
    const { lister, catalog } = setup();
    const first = asPromise(catalog.check('a'));
    lister.last.reject(new Error('down'));
    assert.equal(await first, 'unknown');
    const retry = asPromise(catalog.check('a'));
    assert.equal(lister.calls, 2);
    lister.last.resolve(['a']);
    assert.equal(await retry, 'exists');
  });

  test('a failed refresh keeps what the last good listing said', async () => {
    const { lister, clock, catalog } = await primed(['a']);
    clock.time += 2000;
    const b = asPromise(catalog.check('b'));
    lister.last.reject(new Error('down'));
    assert.equal(await b, 'unknown');
    assert.equal(catalog.check('a'), 'exists');
  });

  test('forget() makes the next lookup of that topic list again (once the interval allows)', async () => {
    const { lister, clock, catalog } = await primed(['a']);
    catalog.forget('a');
    clock.time += 2000;
    const a = catalog.check('a');
    assert.ok(a instanceof Promise, 'a forgotten topic must not answer synchronously');
    assert.equal(lister.calls, 2);
    lister.last.resolve(['a']); // it came back
    assert.equal(await a, 'exists');
    assert.equal(catalog.check('a'), 'exists');
  });

  test('forget() within the interval: the topic is missing at once, without listing', async () => {
    const { lister, catalog } = await primed(['a', 'b']);
    catalog.forget('a');
    assert.equal(await asPromise(catalog.check('a')), 'missing');
    assert.equal(lister.calls, 1);
    assert.equal(catalog.check('b'), 'exists', 'forget() touches only that topic');
  });

  test('forget() of a topic never known is harmless', async () => {
    const { catalog } = await primed(['a']);
    catalog.forget('nope');
    assert.equal(catalog.check('a'), 'exists');
  });

  test('the default clock and interval work (Date.now, first lookup lists)', async () => {
    const lister = new FakeLister();
    const catalog = new TopicCatalog(lister.list);
    const a = asPromise(catalog.check('a'));
    assert.equal(lister.calls, 1);
    lister.last.resolve(['a']);
    assert.equal(await a, 'exists');
    assert.equal(catalog.check('a'), 'exists');
  });

  test('the first lookup lists even when the injected clock starts near 0 (e.g. a monotonic clock)', async () => {
    const lister = new FakeLister();
    const catalog = new TopicCatalog(lister.list, 2000, () => 500);
    const a = catalog.check('a');
    assert.equal(lister.calls, 1, 'no listing happened: every topic would be reported missing');
    lister.last.resolve(['a']);
    assert.equal(await a, 'exists');
  });
});
