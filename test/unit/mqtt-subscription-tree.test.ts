// The topic-filter tree, named after the normative statements of MQTT 3.1.1 (OASIS 2014) and MQTT
// 5.0 (OASIS 2019) it serves, and checked against topicMatches (itself checked against a reference
// matcher in mqtt-topics.test.ts) on random filters and topics.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SubscriptionTree, type SubscriptionMatch, type SubscriptionOptions } from '../../src/mqtt/subscription-tree.js';
import { isTopicProblem, parseTopicFilter, topicMatches, topicNameProblem } from '../../src/mqtt/topics.js';
import { Prng } from '../fuzz/prng.js';

function options(overrides: Partial<SubscriptionOptions> = {}): SubscriptionOptions {
  return { qos: 1, noLocal: false, retainAsPublished: false, subscriptionIdentifier: undefined, shareGroup: undefined, ...overrides };
}

/** `subscriber filter` of every match, sorted: order is unspecified. */
function matched<S>(tree: SubscriptionTree<S>, topic: string): string[] {
  return tree
    .match(topic)
    .map((m: SubscriptionMatch<S>) => `${String(m.subscriber)} ${m.filter}${m.options.shareGroup === undefined ? '' : ` @${m.options.shareGroup}`}`)
    .sort();
}

function treeOf(filters: readonly string[]): SubscriptionTree<string> {
  const tree = new SubscriptionTree<string>();
  for (const filter of filters) tree.add(filter, filter, options());
  return tree;
}

/** Which of `filters` the tree says match `topic`. */
function matchingFilters(tree: SubscriptionTree<string>, topic: string): string[] {
  return tree.match(topic).map((m) => m.filter).sort();
}

describe('SubscriptionTree matching', () => {
  test('MQTT-4.7.1-2 (3.1.1) / MQTT-4.7.1-1 (5.0), 4.7.1.2: # matches the parent level and any number of child levels', () => {
    const tree = treeOf(['sport/tennis/player1/#', 'sport/#', '#', 'sport/tennis/#']);
    assert.deepEqual(matchingFilters(tree, 'sport/tennis/player1'), ['#', 'sport/#', 'sport/tennis/#', 'sport/tennis/player1/#']);
    assert.deepEqual(matchingFilters(tree, 'sport/tennis/player1/ranking'), ['#', 'sport/#', 'sport/tennis/#', 'sport/tennis/player1/#']);
    assert.deepEqual(matchingFilters(tree, 'sport/tennis/player1/score/wimbledon'), ['#', 'sport/#', 'sport/tennis/#', 'sport/tennis/player1/#']);
    assert.deepEqual(matchingFilters(tree, 'sport'), ['#', 'sport/#'], "'sport/#' also matches the singular 'sport'");
    assert.deepEqual(matchingFilters(tree, 'sport/'), ['#', 'sport/#'], 'an empty level below the parent');
    assert.deepEqual(matchingFilters(tree, 'sports'), ['#'], 'a level is not a prefix');
    assert.deepEqual(matchingFilters(tree, 'any/thing/at/all'), ['#'], "'#' receives every message");
  });

  test('MQTT-4.7.1-3 (3.1.1) / MQTT-4.7.1-2 (5.0), 4.7.1.3: + matches exactly one level, possibly empty', () => {
    const tree = treeOf(['sport/tennis/+', 'sport/+', '+/+', '/+', '+', 'sport/+/player1', '+/tennis/#', 'a/+/c', '+/+/+']);
    assert.deepEqual(matchingFilters(tree, 'sport/tennis/player1'), ['+/+/+', '+/tennis/#', 'sport/+/player1', 'sport/tennis/+']);
    assert.deepEqual(matchingFilters(tree, 'sport/tennis/player1/ranking'), ['+/tennis/#'], '+ matches only one level');
    assert.deepEqual(matchingFilters(tree, 'sport'), ['+'], "'sport/+' does not match 'sport'");
    assert.deepEqual(matchingFilters(tree, 'sport/'), ['+/+', 'sport/+'], "'sport/+' matches 'sport/'");
    assert.deepEqual(matchingFilters(tree, '/finance'), ['+/+', '/+'], "'/finance' matches '+/+' and '/+', not '+'");
    assert.deepEqual(matchingFilters(tree, 'sport/tennis'), ['+/+', '+/tennis/#', 'sport/+']);
    assert.deepEqual(matchingFilters(tree, 'a//c'), ['+/+/+', 'a/+/c'], '+ matches an empty level');
    assert.deepEqual(matchingFilters(tree, '//'), ['+/+/+']);
  });

  test('MQTT-4.7.2-1: a filter starting with # or + does not match a topic name starting with $', () => {
    const tree = treeOf(['#', '+/monitor/Clients', '+', '+/#', '$SYS/#', '$SYS/monitor/+', 'a/#', '+/$b', '$SYS']);
    assert.deepEqual(matchingFilters(tree, '$SYS/monitor/Clients'), ['$SYS/#', '$SYS/monitor/+']);
    assert.deepEqual(matchingFilters(tree, '$SYS'), ['$SYS', '$SYS/#']);
    assert.deepEqual(matchingFilters(tree, '$SYS/x'), ['$SYS/#']);
    assert.deepEqual(matchingFilters(tree, 'a/$b'), ['#', '+/#', '+/$b', 'a/#'], 'the rule is about the first character only');
    assert.deepEqual(matchingFilters(tree, 'SYS'), ['#', '+', '+/#']);
  });

  test('MQTT-4.7.3-4: filters and names are compared code unit by code unit, without normalisation', () => {
    const tree = treeOf(['caf\u00e9', 'ACCOUNTS', '/finance', 'finance', 'Accounts payable']);
    assert.deepEqual(matchingFilters(tree, 'cafe\u0301'), []);
    assert.deepEqual(matchingFilters(tree, 'caf\u00e9'), ['caf\u00e9']);
    assert.deepEqual(matchingFilters(tree, 'Accounts'), [], 'case-sensitive');
    assert.deepEqual(matchingFilters(tree, 'finance'), ['finance'], "'/finance' is a different topic from 'finance'");
    assert.deepEqual(matchingFilters(tree, 'finance/'), [], 'a trailing slash makes a distinct topic');
    assert.deepEqual(matchingFilters(tree, 'Accounts payable'), ['Accounts payable']);
  });

  test('a topic that no filter matches, and an empty tree, give nothing', () => {
    assert.deepEqual(new SubscriptionTree<string>().match('a'), []);
    assert.equal(new SubscriptionTree<string>().hasMatch('a'), false);
    const tree = treeOf(['a/b', 'a/+/c']);
    assert.deepEqual(tree.match('a'), []);
    assert.deepEqual(tree.match('a/b/c/d'), []);
    assert.deepEqual(tree.match('b'), []);
  });

  test('MQTT-3.3.4-2 (5.0) / MQTT-3.3.5-1 (3.1.1): overlapping filters of one subscriber are each reported, for the caller to merge', () => {
    const tree = new SubscriptionTree<string>();
    tree.add('a/#', 'c1', options({ qos: 0, subscriptionIdentifier: 1 }));
    tree.add('a/+', 'c1', options({ qos: 2, subscriptionIdentifier: 2 }));
    tree.add('a/b', 'c2', options());
    const found = tree.match('a/b');
    assert.equal(found.length, 3);
    const c1 = found.filter((m) => m.subscriber === 'c1').map((m) => [m.filter, m.options.qos, m.options.subscriptionIdentifier]);
    assert.deepEqual(c1.sort(), [['a/#', 0, 1], ['a/+', 2, 2]]);
  });

  test('many subscribers per filter are all reported', () => {
    const tree = new SubscriptionTree<number>();
    for (let i = 0; i < 50; i++) tree.add('devices/+/status', i, options());
    const found = tree.match('devices/7/status');
    assert.equal(found.length, 50);
    assert.deepEqual(new Set(found.map((m) => m.subscriber)).size, 50);
    assert.ok(found.every((m) => m.filter === 'devices/+/status'));
  });

  test('subscribers are told apart by identity: two equal-looking objects are two subscribers', () => {
    const tree = new SubscriptionTree<{ id: string }>();
    const a = { id: 'x' };
    const b = { id: 'x' };
    assert.equal(tree.add('t', a, options()), true);
    assert.equal(tree.add('t', b, options()), true);
    assert.equal(tree.size, 2);
    assert.deepEqual(tree.match('t').map((m) => m.subscriber).filter((s) => s === a || s === b).length, 2);
  });

  test('hasMatch agrees with match', () => {
    const tree = treeOf(['a/+/c', 'x/#', '$SYS/+']);
    for (const topic of ['a/b/c', 'a/b', 'x', 'x/y/z', 'y', '$SYS/a', '$SYS', '$SYS/a/b']) {
      assert.equal(tree.hasMatch(topic), tree.match(topic).length > 0, topic);
    }
  });
});

describe('SubscriptionTree add, replace, remove', () => {
  test('MQTT-3.8.4-3: a SUBSCRIBE with an identical filter replaces the subscription (add returns false, new options win)', () => {
    const tree = new SubscriptionTree<string>();
    assert.equal(tree.add('a/+', 'c1', options({ qos: 0 })), true);
    assert.equal(tree.add('a/+', 'c1', options({ qos: 2, noLocal: true })), false);
    assert.equal(tree.size, 1);
    const [only] = tree.match('a/b');
    assert.equal(only?.options.qos, 2);
    assert.equal(only?.options.noLocal, true);
    assert.equal(tree.match('a/b').length, 1);
  });

  test('MQTT-3.10.4-1: UNSUBSCRIBE compares filters character by character: a filter that only overlaps removes nothing', () => {
    const tree = new SubscriptionTree<string>();
    tree.add('a/+', 'c1', options());
    tree.add('a/#', 'c1', options());
    assert.equal(tree.remove('a/b', 'c1'), false, 'a/b is matched by a/+ but is not the same filter');
    assert.equal(tree.remove('a/#', 'c2'), false, 'another subscriber');
    assert.equal(tree.remove('a/#', 'c1'), true);
    assert.equal(tree.remove('a/#', 'c1'), false, 'already removed');
    assert.deepEqual(matched(tree, 'a/b'), ['c1 a/+']);
    assert.deepEqual(matched(tree, 'a'), [], 'a/# was removed: nothing matches the parent level now');
    assert.equal(tree.size, 1);
  });

  test('MQTT-4.8.2: a shared subscription is distinct from the unshared one and from other groups on the same filter', () => {
    const tree = new SubscriptionTree<string>();
    assert.equal(tree.add('cmd/+', 'c1', options()), true);
    assert.equal(tree.add('cmd/+', 'c1', options({ shareGroup: 'g1' })), true);
    assert.equal(tree.add('cmd/+', 'c1', options({ shareGroup: 'g2' })), true);
    assert.equal(tree.add('cmd/+', 'c2', options({ shareGroup: 'g1' })), true);
    assert.equal(tree.add('cmd/+', 'c1', options({ shareGroup: 'g1', qos: 0 })), false, 'replaced within its group');
    assert.equal(tree.size, 4);
    assert.deepEqual(matched(tree, 'cmd/x'), ['c1 cmd/+', 'c1 cmd/+ @g1', 'c1 cmd/+ @g2', 'c2 cmd/+ @g1']);
    assert.deepEqual([...tree.filters()], ['cmd/+'], 'one filter, however many subscriptions');
    assert.equal(tree.remove('cmd/+', 'c1', 'g1'), true);
    assert.equal(tree.remove('cmd/+', 'c1', 'g3'), false);
    assert.deepEqual(matched(tree, 'cmd/x'), ['c1 cmd/+', 'c1 cmd/+ @g2', 'c2 cmd/+ @g1']);
    assert.equal(tree.remove('cmd/+', 'c1'), true, 'the unshared one');
    assert.deepEqual(matched(tree, 'cmd/x'), ['c1 cmd/+ @g2', 'c2 cmd/+ @g1']);
  });

  test('size and filters() follow adds and removes; emptied branches are pruned', () => {
    const tree = new SubscriptionTree<string>();
    tree.add('a/b/c', 's1', options());
    tree.add('a/b/c', 's2', options());
    tree.add('a/+/#', 's1', options());
    tree.add('x', 's3', options());
    assert.equal(tree.size, 4);
    assert.deepEqual([...tree.filters()].sort(), ['a/+/#', 'a/b/c', 'x']);
    tree.remove('a/b/c', 's1');
    assert.deepEqual([...tree.filters()].sort(), ['a/+/#', 'a/b/c', 'x'], 's2 still holds a/b/c');
    tree.remove('a/b/c', 's2');
    tree.remove('a/+/#', 's1');
    tree.remove('x', 's3');
    assert.equal(tree.size, 0);
    assert.deepEqual([...tree.filters()], []);
    assert.deepEqual(tree.match('a/b/c'), []);
    // The same filters again, after the branches were pruned.
    tree.add('a/b/c', 's1', options());
    assert.deepEqual(matched(tree, 'a/b/c'), ['s1 a/b/c']);
  });

  test('removing a deep filter keeps a shorter one on the same path, and the other way round', () => {
    const tree = new SubscriptionTree<string>();
    tree.add('a', 's', options());
    tree.add('a/b/c', 's', options());
    tree.remove('a/b/c', 's');
    assert.deepEqual(matched(tree, 'a'), ['s a']);
    tree.add('a/b/c', 's', options());
    tree.remove('a', 's');
    assert.deepEqual(matched(tree, 'a/b/c'), ['s a/b/c']);
    assert.deepEqual(matched(tree, 'a'), []);
  });

  test('filters that are literally + or # levels stay distinct from literal text around them', () => {
    const tree = treeOf(['+/b', 'a/b', '#', 'a/#']);
    tree.remove('+/b', '+/b');
    assert.deepEqual(matchingFilters(tree, 'a/b'), ['#', 'a/#', 'a/b']);
    tree.remove('#', '#');
    assert.deepEqual(matchingFilters(tree, 'z'), []);
    assert.deepEqual(matchingFilters(tree, 'a'), ['a/#']);
  });
});

/** Random valid filters and topics over a small alphabet, so that matches are frequent. */
function randomFilter(rng: Prng, levels: readonly string[]): string {
  const filterLevels = Array.from({ length: rng.int(1, 4) }, () => rng.pick([...levels, '+', '+']));
  if (rng.chance(0.25)) filterLevels.push('#');
  return filterLevels.join('/');
}

test('matches exactly what topicMatches says, on 300 random trees of random filters and 100 topics each, with removals (seeded)', () => {
  const seed = 0x5eb7ee;
  const levels = ['a', 'b', '', '$x', 'é'];
  const groups = [undefined, undefined, 'g1', 'g2'] as const;
  for (let n = 0; n < 300; n++) {
    const rng = Prng.forItem(seed, n);
    const tree = new SubscriptionTree<number>();
    /** `subscriber filter[ @group]` -> [filter, subscriber, group], the reference's own bookkeeping. */
    const held = new Map<string, readonly [string, number, string | undefined]>();
    const describe = (filter: string, subscriber: number, group: string | undefined): string =>
      `${subscriber} ${filter}${group === undefined ? '' : ` @${group}`}`;
    for (let i = 0; i < rng.int(1, 30); i++) {
      const filter = randomFilter(rng, levels);
      if (isTopicProblem(parseTopicFilter(filter, 4))) continue;
      const subscriber = rng.int(0, 3);
      const shareGroup = rng.pick(groups);
      const name = describe(filter, subscriber, shareGroup);
      assert.equal(tree.add(filter, subscriber, options({ shareGroup })), !held.has(name), `add ${name}`);
      held.set(name, [filter, subscriber, shareGroup]);
    }
    for (const [name, [filter, subscriber, shareGroup]] of held) {
      if (!rng.chance(0.3)) continue;
      assert.equal(tree.remove(filter, subscriber, shareGroup), true, `remove ${name}`);
      held.delete(name);
    }
    const where = `seed ${seed} item ${n}`;
    assert.equal(tree.size, held.size, where);
    assert.deepEqual([...tree.filters()].sort(), [...new Set([...held.values()].map(([filter]) => filter))].sort(), where);
    for (let t = 0; t < 100; t++) {
      const topic = Array.from({ length: rng.int(1, 5) }, () => rng.pick(levels)).join('/');
      if (topicNameProblem(topic) !== undefined) continue;
      const expected = [...held].filter(([, [filter]]) => topicMatches(filter, topic)).map(([name]) => name).sort();
      assert.deepEqual(matched(tree, topic), expected, `${where}: ${topic}`);
      assert.equal(tree.hasMatch(topic), expected.length > 0, `${where}: hasMatch ${topic}`);
    }
  }
});

test('match cost does not grow with unrelated filters: 100,000 command topics, 20,000 matches well under a linear scan', (t) => {
  const tree = new SubscriptionTree<number>();
  for (let i = 0; i < 100_000; i++) tree.add(`devices/dev-${i}/commands`, i, options());
  tree.add('devices/+/commands', -1, options());
  tree.add('#', -2, options());
  assert.equal(tree.size, 100_002);
  const started = process.hrtime.bigint();
  let total = 0;
  for (let n = 0; n < 20_000; n++) total += tree.match(`devices/dev-${(n * 7919) % 100_000}/commands`).length;
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  t.diagnostic(`20,000 matches among 100,002 filters: ${elapsedMs.toFixed(1)} ms`);
  assert.equal(total, 20_000 * 3, 'its own filter, the + filter and #');
  // A linear scan would make 2 * 10^9 topicMatches calls (minutes); the tree needs a few Map
  // lookups per match (milliseconds). The bound leaves room for a loaded machine.
  assert.ok(elapsedMs < 1_000, `20,000 matches took ${elapsedMs.toFixed(1)} ms`);
  assert.deepEqual(tree.match('devices/unknown/commands').map((m) => m.subscriber).sort((a, b) => a - b), [-2, -1]);
});
