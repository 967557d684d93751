import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NetworkError, MultipleErrors, AuthenticationError, ProtocolError } from '@platformatic/kafka';
import pino from 'pino';
import { describeMoves, LeaderWatch } from '../../src/kafka/leader-watch.js';
import { Reachability } from '../../src/kafka/reachability.js';

interface Line {
  readonly level: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

function capture(): { logger: pino.Logger; lines: Line[] } {
  const lines: Line[] = [];
  const logger = pino({ level: 'debug' }, { write: (text: string) => void lines.push(JSON.parse(text) as Line) });
  return { logger, lines };
}

const brokers = ['127.0.0.1:9092', '127.0.0.1:9093'];
const refused = () => new MultipleErrors('metadata failed 1 times.', [new NetworkError('Connection to 127.0.0.1:9092 failed.')]);
const badPassword = () => new MultipleErrors('metadata failed 1 times.', [new AuthenticationError('SASL authentication failed.', { cause: new ProtocolError('SASL_AUTHENTICATION_FAILED') })]);

describe('Kafka reachability log: one line per change of state, never one per retry', () => {
  test('down at start: one warning for any number of failed attempts, then "connected" once', () => {
    let now = 1000;
    const { logger, lines } = capture();
    const reach = new Reachability(logger, { brokers, security: { tls: false, sasl: null }, now: () => now });
    for (let i = 0; i < 100; i++) {
      reach.failed(refused());
      now += 2000;
    }
    assert.equal(reach.state, 'unreachable');
    assert.deepEqual(lines.map((l) => l.msg), ['Kafka not reachable, retrying']);
    assert.deepEqual(lines[0]!.brokers, brokers, 'the line names the brokers');
    assert.match(String(lines[0]!.err), /Connection to 127\.0\.0\.1:9092 failed/, 'and the cause');
    assert.equal(lines[0]!.level, 40);
    reach.succeeded();
    reach.succeeded();
    assert.deepEqual(lines.map((l) => l.msg), ['Kafka not reachable, retrying', 'connected to Kafka']);
    assert.equal(lines[1]!.unreachableMs, 200_000, 'how long it was down');
    assert.equal(reach.state, 'reachable');
  });

  test('up at start: "connected", then one warning when it goes away and one when it is back', () => {
    const { logger, lines } = capture();
    const reach = new Reachability(logger, { brokers, security: { tls: true, sasl: 'plain' } });
    reach.succeeded();
    assert.equal(lines[0]!.msg, 'connected to Kafka');
    assert.equal(lines[0]!.level, 30);
    assert.equal(lines[0]!.tls, true);
    assert.equal(lines[0]!.sasl, 'plain');
    for (let i = 0; i < 10; i++) reach.failed(refused());
    for (let i = 0; i < 10; i++) reach.succeeded();
    reach.failed(refused());
    assert.deepEqual(lines.map((l) => [l.msg, l.level]), [
      ['connected to Kafka', 30],
      ['Kafka unreachable', 40],
      ['Kafka reachable again', 40],
      ['Kafka unreachable', 40],
    ]);
    for (const line of lines.slice(1)) assert.deepEqual(line.brokers, brokers);
  });

  test('a misconfiguration is an error line, said again only when the cause changes kind', () => {
    const { logger, lines } = capture();
    const reach = new Reachability(logger, { brokers, security: { tls: false, sasl: 'scram-sha-512' } });
    for (let i = 0; i < 5; i++) reach.failed(badPassword());
    for (let i = 0; i < 5; i++) reach.failed(refused());
    for (let i = 0; i < 5; i++) reach.failed(badPassword());
    assert.deepEqual(lines.map((l) => [l.msg, l.level]), [
      ['cannot connect to Kafka, retrying', 50],
      ['Kafka not reachable, retrying', 40],
      ['cannot connect to Kafka, retrying', 50],
    ]);
    assert.match(String(lines[0]!.err), /SASL credentials \(check kafka\.sasl\)/);
  });
});

describe('partition leader moves', () => {
  const view = (leaders: Record<string, number[]>) => ({
    brokers: new Map([
      [1, 'h:9092'],
      [2, 'h:9093'],
    ]),
    leaders: new Map(Object.entries(leaders)),
  });

  test('the first view is no move; a changed leader is, once, whichever client reports it', () => {
    const watch = new LeaderWatch();
    assert.deepEqual(watch.observe(view({ t: [1, 2] })), []);
    assert.deepEqual(watch.observe(view({ t: [1, 2] })), []);
    const moves = watch.observe(view({ t: [2, 2] }));
    assert.deepEqual(moves, [{ topic: 't', partition: 0, from: 'broker 1 (h:9092)', to: 'broker 2 (h:9093)' }]);
    assert.deepEqual(watch.observe(view({ t: [2, 2] })), [], 'a second client seeing the same leaders reports nothing');
    assert.equal(describeMoves(moves), 't-0: broker 1 (h:9092) -> broker 2 (h:9093)');
  });

  test('an election in progress (no leader) is not a move; the leader it ends with is compared with the one before', () => {
    const watch = new LeaderWatch();
    watch.observe(view({ t: [1] }));
    assert.deepEqual(watch.observe(view({ t: [-1] })), []);
    assert.deepEqual(watch.observe(view({ t: [1] })), [], 'back on the same broker: nothing moved');
    assert.deepEqual(watch.observe(view({ t: [-1] })), []);
    assert.equal(watch.observe(view({ t: [2] })).length, 1);
  });

  test('a long list is cut short', () => {
    const moves = Array.from({ length: 30 }, (_, partition) => ({ topic: 't', partition, from: 'broker 1', to: 'broker 2' }));
    assert.match(describeMoves(moves), /, and 10 more$/);
  });
});
