import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { ProduceError } from '../../src/kafka/errors.js';
import { ProduceLane, type BatchSender, type ProduceLaneOptions } from '../../src/kafka/produce-lane.js';
import type { HeaderValue, KafkaRecord } from '../../src/kafka/record.js';

/**
 * Unit tests of the lane's batching logic against a fake BatchSender whose requests the test settles
 * by hand. (The real producer is covered by integration tests against a real Kafka.)
 */

interface Request {
  readonly ids: string[];
  settled: boolean;
  resolve(): void;
  reject(error: unknown): void;
}

class FakeSender {
  readonly requests: Request[] = [];
  /** Set when the lane sent a request while an earlier one was still unsettled. */
  overlapped = false;

  readonly send: BatchSender = (records) =>
    new Promise<void>((resolve, reject) => {
      if (this.requests.some((r) => !r.settled)) this.overlapped = true;
      const request: Request = {
        ids: records.map((r) => r.topic),
        settled: false,
        resolve: () => {
          assert.equal(request.settled, false, 'request settled twice by the test');
          request.settled = true;
          resolve();
        },
        reject: (error) => {
          assert.equal(request.settled, false, 'request settled twice by the test');
          request.settled = true;
          reject(error);
        },
      };
      this.requests.push(request);
    });

  /** The record ids of every request so far. */
  get batches(): string[][] {
    return this.requests.map((r) => r.ids);
  }

  get last(): Request {
    const last = this.requests.at(-1);
    assert.ok(last !== undefined, 'no request was sent');
    return last;
  }
}

/** Every callback answer, by record id. */
class Answers {
  readonly byId = new Map<string, Array<ProduceError | null>>();
  readonly order: string[] = [];

  callback(id: string): (error: ProduceError | null) => void {
    return (error) => {
      const list = this.byId.get(id) ?? [];
      list.push(error);
      this.byId.set(id, list);
      this.order.push(id);
    };
  }

  /** The one answer of `id`; fails if it was answered zero or several times. */
  of(id: string): ProduceError | null {
    const list = this.byId.get(id) ?? [];
    assert.equal(list.length, 1, `record ${id} was answered ${list.length} times`);
    return list[0]!;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  get count(): number {
    return this.order.length;
  }
}

/**
 * A record named by its topic (the topic does not count toward the lane's size estimate). With no key
 * and no headers the estimate is `valueBytes + 64`.
 */
function record(
  id: string,
  valueBytes = 0,
  extra: { key?: string | Buffer | null; headers?: Record<string, HeaderValue> } = {},
): KafkaRecord {
  return { topic: id, key: extra.key ?? null, value: Buffer.alloc(valueBytes, 0x61), headers: extra.headers ?? {}, timestamp: 0 };
}

const OPTIONS: ProduceLaneOptions = { lingerMs: 50, maxRecords: 100, maxBytes: 1_000_000, deliveryTimeoutMs: 30_000 };

function setup(options: Partial<ProduceLaneOptions> = {}) {
  const sender = new FakeSender();
  const answers = new Answers();
  const lane = new ProduceLane(sender.send, { ...OPTIONS, ...options });
  const produce = (...ids: string[]) => {
    for (const id of ids) lane.produce(record(id), answers.callback(id));
  };
  return { sender, answers, lane, produce };
}

/** Lets promise reactions run (setImmediate is not mocked). */
function drain(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function useMockClock(t: TestContext): void {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 1_000_000 });
}

/**
 * Advances the mocked clock 1 ms at a time (node 20's mock clock reports the end time to every
 * timer fired within one tick), letting promise reactions run in between.
 */
async function advance(t: TestContext, ms: number): Promise<void> {
  for (let i = 0; i < ms; i++) {
    t.mock.timers.tick(1);
    await drain();
  }
}

function isIdle(lane: ProduceLane): { readonly done: boolean } {
  const state = { done: false };
  void lane.whenIdle().then(() => {
    state.done = true;
  });
  return state;
}

// Shaped as the Kafka client's errors: a broker's protocol error, and a refused connection.
const tooLarge = () => ({
  name: 'ProtocolError',
  code: 'PLT_KFK_PROTOCOL',
  apiId: 'MESSAGE_TOO_LARGE',
  message: 'The request included a message larger than the max message size the server will accept.',
});

const connectionError = () => ({ name: 'NetworkError', code: 'PLT_KFK_NETWORK', message: 'Connection to 127.0.0.1:9092 failed.' });

describe('ProduceLane: linger', () => {
  test('a lone record waits lingerMs, then goes out alone', async (t) => {
    useMockClock(t);
    const { sender, produce } = setup({ lingerMs: 50 });
    produce('a');
    assert.equal(sender.requests.length, 0, 'sent before lingering');
    await advance(t, 49);
    assert.equal(sender.requests.length, 0, 'sent before lingerMs elapsed');
    await advance(t, 1);
    assert.deepEqual(sender.batches, [['a']]);
  });

  test('records arriving during the linger join the batch and do not extend the wait', async (t) => {
    useMockClock(t);
    const { sender, produce } = setup({ lingerMs: 50 });
    produce('a');
    await advance(t, 30);
    produce('b');
    await advance(t, 10);
    produce('c');
    await advance(t, 9);
    assert.equal(sender.requests.length, 0);
    await advance(t, 1); // 50 ms after the FIRST record
    assert.deepEqual(sender.batches, [['a', 'b', 'c']]);
  });

  test('after a linger flush, the next record starts a new linger', async (t) => {
    useMockClock(t);
    const { sender, produce } = setup({ lingerMs: 50 });
    produce('a');
    await advance(t, 50);
    sender.last.resolve();
    await drain();
    produce('b');
    await advance(t, 49);
    assert.equal(sender.requests.length, 1);
    await advance(t, 1);
    assert.deepEqual(sender.batches, [['a'], ['b']]);
  });

  test('with real timers a record goes out after about lingerMs', async () => {
    const sender = new FakeSender();
    const answers = new Answers();
    let sentAfter = -1;
    let markSent: () => void = () => undefined;
    const sent = new Promise<void>((resolve) => {
      markSent = resolve;
    });
    const started = performance.now();
    const lane = new ProduceLane(
      (records, deadline) => {
        sentAfter = performance.now() - started;
        markSent();
        return sender.send(records, deadline);
      },
      { ...OPTIONS, lingerMs: 20 },
    );
    lane.produce(record('a'), answers.callback('a'));
    await sent;
    assert.ok(sentAfter >= 15, `sent after ${sentAfter} ms, lingerMs is 20`);
    assert.ok(sentAfter < 1000, `sent after ${sentAfter} ms, lingerMs is 20`);
    sender.last.resolve();
    await lane.whenIdle();
    assert.equal(answers.of('a'), null);
  });
});

describe('ProduceLane: batch limits', () => {
  test('reaching maxRecords sends at once, without waiting for the linger', (t) => {
    useMockClock(t);
    const { sender, produce } = setup({ lingerMs: 10_000, maxRecords: 3 });
    produce('a', 'b');
    assert.equal(sender.requests.length, 0);
    produce('c');
    assert.deepEqual(sender.batches, [['a', 'b', 'c']]);
  });

  test('records beyond maxRecords split into successive batches of at most maxRecords', async (t) => {
    useMockClock(t);
    const { sender, answers, lane, produce } = setup({ lingerMs: 10_000, maxRecords: 3 });
    const ids = Array.from({ length: 10 }, (_, i) => `r${i}`);
    produce(...ids);
    assert.deepEqual(sender.batches, [['r0', 'r1', 'r2']]);
    for (let i = 0; i < 3; i++) {
      sender.last.resolve();
      await drain();
    }
    sender.last.resolve();
    await lane.whenIdle();
    assert.deepEqual(sender.batches, [
      ['r0', 'r1', 'r2'],
      ['r3', 'r4', 'r5'],
      ['r6', 'r7', 'r8'],
      ['r9'],
    ]);
    for (const id of ids) assert.equal(answers.of(id), null);
  });

  test('reaching maxBytes sends at once, and a batch holds as many records as fit in maxBytes', async (t) => {
    useMockClock(t);
    // Each record is estimated at 100 + 64 = 164 bytes.
    const { sender, answers, lane } = setup({ lingerMs: 10_000, maxBytes: 500 });
    const add = (id: string) => lane.produce(record(id, 100), answers.callback(id));
    add('a');
    add('b');
    add('c'); // 492 bytes: below maxBytes, keeps lingering
    assert.equal(sender.requests.length, 0);
    add('d'); // 656 bytes: over maxBytes, flush what fits
    assert.deepEqual(sender.batches, [['a', 'b', 'c']]);
    sender.last.resolve();
    await drain();
    assert.deepEqual(sender.batches, [['a', 'b', 'c'], ['d']]);
    sender.last.resolve();
    await lane.whenIdle();
    for (const id of 'abcd') assert.equal(answers.of(id), null);
  });

  test('the record that crosses maxBytes waits for the next batch', async (t) => {
    useMockClock(t);
    const { sender, lane, answers } = setup({ lingerMs: 10_000, maxBytes: 300 });
    lane.produce(record('a', 100), answers.callback('a')); // 164
    assert.equal(sender.requests.length, 0);
    lane.produce(record('b', 100), answers.callback('b')); // 328 >= 300
    assert.deepEqual(sender.batches, [['a']]);
    sender.last.resolve();
    await drain();
    assert.deepEqual(sender.batches, [['a'], ['b']]);
  });

  test('a record larger than maxBytes on its own goes alone, at once', async (t) => {
    useMockClock(t);
    const { sender, lane, answers } = setup({ lingerMs: 10_000, maxBytes: 100 });
    lane.produce(record('small'), answers.callback('small')); // 64
    assert.equal(sender.requests.length, 0);
    lane.produce(record('big', 500), answers.callback('big'));
    assert.deepEqual(sender.batches, [['small']]);
    sender.last.resolve();
    await drain();
    assert.deepEqual(sender.batches, [['small'], ['big']]);
    sender.last.resolve();
    await lane.whenIdle();
    lane.produce(record('big2', 500), answers.callback('big2'));
    assert.deepEqual(sender.batches.at(-1), ['big2']);
  });

  test('key and header bytes count toward maxBytes', (t) => {
    useMockClock(t);
    const cases: Array<[string, { key?: string | Buffer; headers?: Record<string, HeaderValue> }]> = [
      ['string key', { key: 'k'.repeat(150) }],
      ['buffer key', { key: Buffer.alloc(150) }],
      ['header value', { headers: { h: 'v'.repeat(150) } }],
      ['header name', { headers: { ['n'.repeat(150)]: '' } }],
      ['buffer header', { headers: { h: Buffer.alloc(150) } }],
      ['repeated header', { headers: { h: ['x'.repeat(75), Buffer.alloc(75)] } }],
    ];
    for (const [name, extra] of cases) {
      const { sender, lane, answers } = setup({ lingerMs: 10_000, maxBytes: 200 });
      lane.produce(record('x', 0, extra), answers.callback('x'));
      assert.deepEqual(sender.batches, [['x']], `${name}: a 64 + 150 byte record should reach maxBytes 200`);
    }
    const { sender, lane, answers } = setup({ lingerMs: 10_000, maxBytes: 200 });
    lane.produce(record('x', 0, { key: 'k', headers: { h: ['1', '2'] } }), answers.callback('x'));
    assert.equal(sender.requests.length, 0, 'a small record should linger');
  });
});

describe('ProduceLane: one request in flight', () => {
  test('never sends a second request before the first settles; the next batch goes right after', async (t) => {
    useMockClock(t);
    const { sender, answers, lane, produce } = setup({ lingerMs: 50, maxRecords: 2 });
    produce('a', 'b');
    assert.deepEqual(sender.batches, [['a', 'b']]);
    produce('c', 'd', 'e');
    await advance(t, 200); // well past the linger
    assert.equal(sender.requests.length, 1, 'a second request went out while the first was in flight');
    sender.last.resolve();
    await drain();
    // No linger for records that already waited behind a request.
    assert.deepEqual(sender.batches, [['a', 'b'], ['c', 'd']]);
    sender.last.resolve();
    await drain();
    assert.deepEqual(sender.batches, [['a', 'b'], ['c', 'd'], ['e']]);
    sender.last.resolve();
    await lane.whenIdle();
    assert.equal(sender.overlapped, false);
    for (const id of 'abcde') assert.equal(answers.of(id), null);
  });

  test('a failed request also frees the lane for the next batch', async (t) => {
    useMockClock(t);
    const { sender, answers, lane, produce } = setup({ lingerMs: 10_000, maxRecords: 1 });
    produce('a', 'b');
    assert.deepEqual(sender.batches, [['a']]);
    sender.last.reject(connectionError());
    await drain();
    assert.deepEqual(sender.batches, [['a'], ['b']]);
    sender.last.resolve();
    await lane.whenIdle();
    assert.equal(answers.of('a')?.reason, 'unavailable');
    assert.equal(answers.of('b'), null);
    assert.equal(sender.overlapped, false);
  });

  test('300 records, requests settled as they appear: never two requests at once, every record answered once', async () => {
    const { sender, answers, lane, produce } = setup({ lingerMs: 1, maxRecords: 7 });
    const ids = Array.from({ length: 300 }, (_, i) => `r${i}`);
    for (let i = 0; i < ids.length; i += 13) {
      produce(...ids.slice(i, i + 13));
      const open = sender.requests.find((r) => !r.settled);
      if (open !== undefined) open.resolve();
      await drain();
    }
    while (lane.size > 0) {
      const open = sender.requests.find((r) => !r.settled);
      if (open !== undefined) open.resolve();
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    assert.equal(sender.overlapped, false);
    assert.deepEqual(sender.batches.flat(), ids, 'records went out in order, each once');
    assert.ok(sender.batches.every((b) => b.length <= 7));
    for (const id of ids) assert.equal(answers.of(id), null);
  });
});

describe('ProduceLane: answers', () => {
  test('success answers every record of the batch with null, once, in batch order', async (t) => {
    useMockClock(t);
    const { sender, answers, lane, produce } = setup({ maxRecords: 3 });
    produce('a', 'b', 'c');
    assert.equal(answers.count, 0, 'answered before Kafka did');
    sender.last.resolve();
    await lane.whenIdle();
    assert.deepEqual(answers.order, ['a', 'b', 'c']);
    for (const id of 'abc') assert.equal(answers.of(id), null);
  });

  test('a retriable failure answers every record with one retriable error, and nothing is re-sent', async (t) => {
    useMockClock(t);
    const { sender, answers, lane, produce } = setup({ maxRecords: 3 });
    produce('a', 'b', 'c');
    const thrown = connectionError();
    sender.last.reject(thrown);
    await lane.whenIdle();
    assert.equal(sender.requests.length, 1);
    for (const id of 'abc') {
      const error = answers.of(id);
      assert.ok(error instanceof ProduceError);
      assert.equal(error.reason, 'unavailable');
      assert.equal(error.retriable, true);
      assert.equal(error.cause, thrown);
    }
  });

  test('a callback that produces again (re-entrant) is queued and sent normally', async (t) => {
    useMockClock(t);
    const { sender, answers, lane, produce } = setup({ lingerMs: 10_000, maxRecords: 2 });
    lane.produce(record('a'), (error) => {
      answers.callback('a')(error);
      lane.produce(record('z'), answers.callback('z'));
    });
    produce('b');
    assert.deepEqual(sender.batches, [['a', 'b']]);
    sender.last.resolve();
    await drain();
    // z was queued while the lane was between requests; it goes out without waiting 10 s.
    assert.deepEqual(sender.batches, [['a', 'b'], ['z']]);
    sender.last.resolve();
    await lane.whenIdle();
    assert.equal(answers.of('a'), null);
    assert.equal(answers.of('b'), null);
    assert.equal(answers.of('z'), null);
    assert.equal(sender.overlapped, false);
  });
  test('a callback that produces while records wait behind the request: still one request at a time', async (t) => {
    useMockClock(t);
    const { sender, answers, lane, produce } = setup({ lingerMs: 10_000, maxRecords: 1 });
    lane.produce(record('a'), (error) => {
      answers.callback('a')(error);
      // Reaches maxRecords from inside the answer: this flush sends b, so z must wait its turn.
      lane.produce(record('z'), answers.callback('z'));
    });
    produce('b'); // queued behind a
    assert.deepEqual(sender.batches, [['a']]);
    sender.last.resolve();
    await drain();
    assert.deepEqual(sender.batches, [['a'], ['b']]);
    assert.equal(sender.overlapped, false, 'z went out while b was in flight');
    sender.last.resolve();
    await drain();
    assert.deepEqual(sender.batches, [['a'], ['b'], ['z']]);
    sender.last.resolve();
    await lane.whenIdle();
    for (const id of 'abz') assert.equal(answers.of(id), null);
  });
});

describe('ProduceLane: delivery timeout', () => {
  test("the sender is given the deadline of the batch's oldest record", async () => {
    const deadlines: number[] = [];
    const sender = new FakeSender();
    const lane = new ProduceLane(
      (records, deadline) => {
        deadlines.push(deadline);
        return sender.send(records, deadline);
      },
      { ...OPTIONS, lingerMs: 5, deliveryTimeoutMs: 1000 },
    );
    const before = Date.now();
    lane.produce(record('a'), () => undefined);
    await new Promise((resolve) => setTimeout(resolve, 2));
    lane.produce(record('b'), () => undefined);
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.deepEqual(sender.batches, [['a', 'b']]);
    assert.equal(deadlines.length, 1);
    assert.ok(deadlines[0]! >= before + 1000 && deadlines[0]! <= before + 1002, `deadline ${deadlines[0]! - before} ms after the first record`);
    sender.last.resolve();
    await lane.whenIdle();
  });

  test('in-flight and queued records fail as retriable timeout once their deadline passes; a late success changes nothing', async (t) => {
    useMockClock(t);
    const { sender, answers, lane, produce } = setup({ lingerMs: 5, maxRecords: 1, deliveryTimeoutMs: 1000 });
    produce('a'); // sent at once (maxRecords 1)
    produce('b'); // queued behind it
    assert.deepEqual(sender.batches, [['a']]);
    const idle = isIdle(lane);
    await advance(t, 999);
    assert.equal(answers.count, 0, 'timed out before the deadline');
    await advance(t, 251); // deadline + at most one sweep interval
    for (const id of 'ab') {
      const error = answers.of(id);
      assert.ok(error instanceof ProduceError);
      assert.equal(error.reason, 'timeout');
      assert.equal(error.retriable, true);
      assert.match(error.message, /1000 ms/);
    }
    assert.equal(idle.done, false, 'idle while a request is still in flight');
    sender.last.resolve(); // Kafka answers after all
    await drain();
    await advance(t, 10);
    assert.equal(answers.byId.get('a')!.length, 1, 'a late success answered again');
    assert.equal(answers.byId.get('b')!.length, 1);
    assert.deepEqual(sender.batches, [['a']], 'a timed-out queued record was still sent');
    assert.equal(idle.done, true);
    assert.equal(lane.size, 0);
  });

  test('a late non-retriable failure of a timed-out batch neither answers again nor re-sends', async (t) => {
    useMockClock(t);
    const { sender, answers, lane, produce } = setup({ lingerMs: 5, maxRecords: 2, deliveryTimeoutMs: 500 });
    produce('a', 'b');
    await advance(t, 750);
    assert.equal(answers.of('a')?.reason, 'timeout');
    assert.equal(answers.of('b')?.reason, 'timeout');
    const idle = isIdle(lane);
    sender.last.reject(tooLarge());
    await drain();
    await advance(t, 10);
    assert.equal(answers.byId.get('a')!.length, 1);
    assert.equal(answers.byId.get('b')!.length, 1);
    assert.equal(sender.requests.length, 1);
    assert.equal(idle.done, true);
  });

  test('only the records past their deadline time out; a refused batch re-sends only the others', async (t) => {
    useMockClock(t);
    const { sender, answers, lane, produce } = setup({ lingerMs: 600, deliveryTimeoutMs: 1000 });
    produce('a'); // t=0, deadline 1000
    await advance(t, 500);
    produce('b'); // t=500, deadline 1500
    await advance(t, 100);
    assert.deepEqual(sender.batches, [['a', 'b']]);
    await advance(t, 400); // t=1000: the sweep fails a, not b
    assert.equal(answers.of('a')?.reason, 'timeout');
    assert.equal(answers.has('b'), false);
    sender.last.reject(tooLarge());
    await drain();
    assert.deepEqual(sender.batches, [['a', 'b'], ['b']], 'the timed-out record was re-sent');
    sender.last.resolve();
    await lane.whenIdle();
    assert.equal(answers.of('b'), null);
    assert.equal(answers.byId.get('a')!.length, 1);
  });

  test('a record that times out while lingering is never sent, and the lane goes idle', async (t) => {
    useMockClock(t);
    const { sender, answers, lane, produce } = setup({ lingerMs: 5000, deliveryTimeoutMs: 1000 });
    produce('a');
    const idle = isIdle(lane); // waiting before the timeout: the sweep must wake it
    await advance(t, 999);
    assert.equal(idle.done, false);
    await advance(t, 251);
    assert.equal(answers.of('a')?.reason, 'timeout');
    assert.equal(lane.size, 0);
    assert.equal(idle.done, true);
    await advance(t, 4000); // the linger timer fires on an empty queue
    assert.equal(sender.requests.length, 0);
    // The sweep restarts for the next record.
    produce('b');
    await advance(t, 1250);
    assert.equal(answers.of('b')?.reason, 'timeout');
    assert.equal(sender.requests.length, 0);
  });
});

describe('ProduceLane: non-retriable failure of a batch', () => {
  test('each record is re-sent alone so only the culprit is refused; records queued behind wait for the solos', async (t) => {
    useMockClock(t);
    const { sender, answers, lane, produce } = setup({ lingerMs: 10_000, maxRecords: 3 });
    produce('a', 'b', 'c');
    produce('d', 'e'); // queued behind the request
    assert.deepEqual(sender.batches, [['a', 'b', 'c']]);
    sender.last.reject(tooLarge());
    await drain();
    assert.equal(answers.count, 0, 'a record was answered before its solo re-send');
    assert.deepEqual(sender.batches.at(-1), ['a']);
    sender.last.resolve();
    await drain();
    assert.deepEqual(sender.batches.at(-1), ['b']);
    sender.last.reject(tooLarge()); // b is the culprit
    await drain();
    assert.deepEqual(sender.batches.at(-1), ['c']);
    sender.last.resolve();
    await drain();
    assert.deepEqual(sender.batches.at(-1), ['d', 'e'], 'records that were not in the refused batch batch normally');
    sender.last.resolve();
    await lane.whenIdle();
    assert.deepEqual(sender.batches, [['a', 'b', 'c'], ['a'], ['b'], ['c'], ['d', 'e']]);
    assert.equal(answers.of('a'), null);
    assert.equal(answers.of('c'), null);
    assert.equal(answers.of('d'), null);
    assert.equal(answers.of('e'), null);
    const refused = answers.of('b');
    assert.ok(refused instanceof ProduceError);
    assert.equal(refused.reason, 'record-too-large');
    assert.equal(refused.retriable, false);
    assert.equal(refused.kafkaCode, 'MESSAGE_TOO_LARGE');
    assert.equal(sender.overlapped, false);
  });

  test('a refused single-record batch is answered at once, not re-sent', async (t) => {
    useMockClock(t);
    const { sender, answers, lane, produce } = setup({ lingerMs: 10_000, maxRecords: 1 });
    produce('a');
    sender.last.reject(tooLarge());
    await lane.whenIdle();
    assert.equal(sender.requests.length, 1);
    assert.equal(answers.of('a')?.reason, 'record-too-large');
  });

  test('a solo re-send that fails retriably is answered with that error, not split again', async (t) => {
    useMockClock(t);
    const { sender, answers, lane, produce } = setup({ lingerMs: 10_000, maxRecords: 2 });
    produce('a', 'b');
    sender.last.reject(tooLarge());
    await drain();
    sender.last.reject(connectionError()); // a, alone
    await drain();
    sender.last.resolve(); // b, alone
    await lane.whenIdle();
    assert.deepEqual(sender.batches, [['a', 'b'], ['a'], ['b']]);
    assert.equal(answers.of('a')?.reason, 'unavailable');
    assert.equal(answers.of('b'), null);
  });

  test('byte accounting survives a split: later batches still fill up to maxBytes, no more, no less', async (t) => {
    useMockClock(t);
    const { sender, lane, answers } = setup({ lingerMs: 50, maxRecords: 10, maxBytes: 400 });
    const add = (id: string) => lane.produce(record(id, 100), answers.callback(id)); // 164 each
    add('a');
    add('b');
    await advance(t, 50);
    assert.deepEqual(sender.batches, [['a', 'b']]);
    sender.last.reject(tooLarge());
    await drain();
    sender.last.resolve();
    await drain();
    sender.last.resolve();
    await lane.whenIdle();
    assert.equal(sender.requests.length, 3);
    add('c');
    add('d'); // 328 bytes: keeps lingering (a leak of the split's bytes upward would flush here)
    assert.equal(sender.requests.length, 3);
    add('e'); // 492 bytes: flushes what fits (a leak downward would keep lingering)
    assert.deepEqual(sender.batches.at(-1), ['c', 'd']);
  });
});

describe('ProduceLane: close', () => {
  test('close() refuses new records synchronously with retriable shutting-down', (t) => {
    useMockClock(t);
    const { sender, answers, lane, produce } = setup();
    lane.close();
    produce('a');
    const error = answers.of('a');
    assert.ok(error instanceof ProduceError);
    assert.equal(error.reason, 'shutting-down');
    assert.equal(error.retriable, true);
    assert.equal(lane.size, 0);
    assert.equal(sender.requests.length, 0);
  });

  test('records queued before close() still go out and are answered', async (t) => {
    useMockClock(t);
    const { sender, answers, lane, produce } = setup({ lingerMs: 50 });
    produce('a');
    lane.close();
    produce('b');
    assert.equal(answers.of('b')?.reason, 'shutting-down');
    await advance(t, 50);
    assert.deepEqual(sender.batches, [['a']]);
    sender.last.resolve();
    await lane.whenIdle();
    assert.equal(answers.of('a'), null);
  });
});

describe('ProduceLane: whenIdle and size', () => {
  test('whenIdle resolves at once when nothing was given', async (t) => {
    useMockClock(t);
    const { lane } = setup();
    const idle = isIdle(lane);
    await drain();
    assert.equal(idle.done, true);
  });

  test('size counts queued and in-flight records', async (t) => {
    useMockClock(t);
    const { sender, lane, produce } = setup({ lingerMs: 10_000, maxRecords: 2 });
    assert.equal(lane.size, 0);
    produce('a');
    assert.equal(lane.size, 1);
    produce('b', 'c');
    assert.equal(lane.size, 3); // 2 in flight + 1 queued
    sender.last.resolve();
    await drain();
    assert.equal(lane.size, 1);
    sender.last.resolve();
    await drain();
    assert.equal(lane.size, 0);
  });

  test('whenIdle resolves only after every record was answered and the in-flight request settled', async (t) => {
    useMockClock(t);
    const { sender, answers, lane, produce } = setup({ lingerMs: 10_000, maxRecords: 2 });
    produce('a', 'b', 'c');
    const events: string[] = [];
    const first = lane.whenIdle().then(() => events.push('idle-1'));
    const second = lane.whenIdle().then(() => events.push('idle-2'));
    await drain();
    assert.deepEqual(events, []);
    sender.last.resolve();
    await drain();
    assert.equal(answers.count, 2);
    assert.deepEqual(events, [], 'idle while c is still in flight');
    sender.last.resolve();
    await Promise.all([first, second]);
    assert.deepEqual(answers.order, ['a', 'b', 'c']);
    assert.deepEqual(events, ['idle-1', 'idle-2']);
    // A later burst needs a fresh wait.
    produce('d');
    const again = isIdle(lane);
    await drain();
    assert.equal(again.done, false);
  });

  test('whenIdle after a non-retriable split waits for every solo re-send', async (t) => {
    useMockClock(t);
    const { sender, lane, produce } = setup({ lingerMs: 10_000, maxRecords: 3 });
    produce('a', 'b', 'c');
    const idle = isIdle(lane);
    sender.last.reject(tooLarge());
    for (let i = 0; i < 3; i++) {
      await drain();
      assert.equal(idle.done, false, `idle before solo ${i} settled`);
      sender.last.resolve();
    }
    await drain();
    assert.equal(idle.done, true);
  });
});

describe('ProduceLane: records nobody waits for', () => {
  test('a record whose client went away while it was queued is answered abandoned and never sent', async (t) => {
    useMockClock(t);
    const { sender, answers, lane } = setup({ lingerMs: 10_000, maxRecords: 2 });
    const gone = new Set<string>();
    const produceFor = (id: string) => lane.produce(record(id), answers.callback(id), () => !gone.has(id));
    produceFor('a');
    produceFor('b'); // full batch: sent at once, both wanted then
    produceFor('c');
    produceFor('d');
    produceFor('e');
    gone.add('b'); // too late for b: its request is out
    gone.add('c');
    gone.add('e');
    sender.last.resolve();
    await drain();
    assert.deepEqual(sender.batches, [['a', 'b'], ['d']], 'c and e were not sent; d did not wait for the linger');
    const c = answers.of('c');
    assert.ok(c instanceof ProduceError);
    assert.equal(c.reason, 'abandoned');
    assert.equal(c.retriable, true, 'the client sends it again after reconnecting');
    assert.equal(answers.of('e')?.reason, 'abandoned');
    sender.last.resolve();
    await lane.whenIdle();
    assert.equal(answers.of('a'), null);
    assert.equal(answers.of('b'), null, 'a record already sent is answered by Kafka as usual');
    assert.equal(answers.of('d'), null);
    assert.equal(lane.size, 0);
  });

  test('records without a wanted check, and wanted ones, are always sent', async (t) => {
    useMockClock(t);
    const { sender, answers, lane } = setup({ lingerMs: 5, maxRecords: 10 });
    lane.produce(record('plain'), answers.callback('plain'));
    lane.produce(record('wanted'), answers.callback('wanted'), () => true);
    await advance(t, 5);
    assert.deepEqual(sender.batches, [['plain', 'wanted']]);
    sender.last.resolve();
    await lane.whenIdle();
    assert.equal(answers.of('plain'), null);
    assert.equal(answers.of('wanted'), null);
  });

  test('when every queued record is abandoned the lane goes idle without a request', async (t) => {
    useMockClock(t);
    const { sender, answers, lane } = setup({ lingerMs: 5 });
    lane.produce(record('x'), answers.callback('x'), () => false);
    lane.produce(record('y'), answers.callback('y'), () => false);
    const idle = isIdle(lane);
    await advance(t, 5);
    assert.equal(sender.requests.length, 0);
    assert.equal(answers.of('x')?.reason, 'abandoned');
    assert.equal(answers.of('y')?.reason, 'abandoned');
    assert.equal(idle.done, true);
  });

  test('an abandoned answer that produces again does not send a second request at the same time', async (t) => {
    useMockClock(t);
    const { sender, answers, lane } = setup({ lingerMs: 10_000, maxRecords: 1 });
    lane.produce(record('first'), answers.callback('first'));
    lane.produce(
      record('gone'),
      (error) => {
        answers.callback('gone')(error);
        // maxRecords 1: this produce flushes at once from inside the abandoned answer.
        lane.produce(record('new'), answers.callback('new'));
      },
      () => false,
    );
    lane.produce(record('next'), answers.callback('next'));
    sender.last.resolve();
    await drain();
    assert.equal(sender.overlapped, false);
    sender.last.resolve();
    await drain();
    sender.last.resolve();
    await lane.whenIdle();
    assert.deepEqual(sender.batches.flat().sort(), ['first', 'new', 'next']);
    assert.equal(answers.of('gone')?.reason, 'abandoned');
    for (const id of ['first', 'new', 'next']) assert.equal(answers.of(id), null);
  });
});
