// The retained topics' tree: + and # matching, $-topics, removal, and a brute-force comparison
// with the filter rules applied topic by topic.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TopicIndex } from '../../src/state/retained-index.js';

function index(topics: readonly string[]): TopicIndex<string> {
  const built = new TopicIndex<string>();
  for (const topic of topics) built.set(topic, topic);
  return built;
}

const sorted = (values: readonly string[]): string[] => [...values].sort();

/** The filter rules of MQTT 4.7, one topic at a time. */
function matches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if ((f[0] === '+' || f[0] === '#') && topic.startsWith('$')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

const TOPICS = ['sport', 'sport/tennis', 'sport/tennis/player1', 'sport/tennis/player1/ranking', 'sport/chess', '/finance', 'a//b', '$SYS/broker/load', '$SYS', 'finance', ''];

describe('retained topic index', () => {
  it('MQTT-4.7.1-2: # matches the parent level and every level below it', () => {
    const i = index(TOPICS);
    assert.deepEqual(sorted(i.match('sport/#')), ['sport', 'sport/chess', 'sport/tennis', 'sport/tennis/player1', 'sport/tennis/player1/ranking']);
    assert.deepEqual(sorted(i.match('sport/tennis/player1/#')), ['sport/tennis/player1', 'sport/tennis/player1/ranking']);
  });

  it('MQTT-4.7.1-3: + matches exactly one level, an empty one too', () => {
    const i = index(TOPICS);
    assert.deepEqual(sorted(i.match('sport/+')), ['sport/chess', 'sport/tennis']);
    assert.deepEqual(sorted(i.match('+/+')), ['/finance', 'sport/chess', 'sport/tennis']);
    assert.deepEqual(sorted(i.match('a/+/b')), ['a//b']);
    assert.deepEqual(sorted(i.match('+')), ['', 'finance', 'sport']);
  });

  it('MQTT-4.7.2-1: a filter starting with a wildcard does not match $-topics', () => {
    const i = index(TOPICS);
    assert.ok(!i.match('#').some((t) => t.startsWith('$')));
    assert.ok(!i.match('+/broker/load').includes('$SYS/broker/load'));
    assert.deepEqual(sorted(i.match('$SYS/#')), ['$SYS', '$SYS/broker/load']);
    assert.deepEqual(i.match('$SYS/+/load'), ['$SYS/broker/load']);
  });

  it('a topic name without wildcards matches only itself', () => {
    const i = index(TOPICS);
    assert.deepEqual(i.match('sport/tennis'), ['sport/tennis']);
    assert.deepEqual(i.match('sport/tennis/player2'), []);
    assert.deepEqual(i.match(''), ['']);
  });

  it('set replaces, delete removes and prunes, size counts topics', () => {
    const i = new TopicIndex<number>();
    i.set('a/b/c', 1);
    i.set('a/b/c', 2);
    i.set('a/b', 3);
    assert.equal(i.size, 2);
    assert.deepEqual(i.match('a/b/c'), [2]);
    assert.equal(i.delete('a/b/c'), true);
    assert.equal(i.delete('a/b/c'), false);
    assert.equal(i.delete('a/x'), false);
    assert.deepEqual(i.match('#'), [3]);
    assert.equal(i.delete('a/b'), true);
    assert.equal(i.size, 0);
    assert.deepEqual(i.match('#'), []);
  });

  it('agrees with the filter rules on every filter of a generated set', () => {
    const levels = ['a', 'b', '', '$x'];
    const topics: string[] = [];
    for (const x of levels) for (const y of levels) for (const z of levels) topics.push(`${x}/${y}/${z}`, `${x}/${y}`, x);
    const unique = [...new Set(topics)];
    const i = index(unique);
    const filters = ['#', '+', '+/+', '+/#', 'a/#', 'a/+/#', '+/b/+', '$x/#', '$x/+', 'a/b', '/+/', '+//+', 'a//#', '$x/+/$x'];
    for (const filter of filters) {
      assert.deepEqual(sorted(i.match(filter)), sorted(unique.filter((t) => matches(filter, t))), filter);
    }
  });

  it('a filter without wildcards among 100,000 retained topics is answered without a scan', () => {
    const i = new TopicIndex<number>();
    for (let n = 0; n < 100_000; n++) i.set(`devices/dev-${n}/state`, n);
    const started = process.hrtime.bigint();
    for (let n = 0; n < 10_000; n++) assert.equal(i.match(`devices/dev-${n}/state`)[0], n);
    const perMatchUs = Number(process.hrtime.bigint() - started) / 1000 / 10_000;
    const wild = i.match('devices/+/state');
    assert.equal(wild.length, 100_000);
    // A scan of 100,000 topics per match takes milliseconds; a walk of 3 levels a few microseconds.
    assert.ok(perMatchUs < 200, `${perMatchUs.toFixed(1)} us per match`);
  });
});
