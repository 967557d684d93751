// Topic names and filters, named after the normative statements of MQTT 3.1.1 (OASIS 2014) and
// MQTT 5.0 (OASIS 2019) they check. Where the two number a rule differently both are given.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isTopicProblem, parseTopicFilter, topicMatches, topicNameProblem, type TopicFilter } from '../../src/mqtt/topics.js';
import { Prng } from '../fuzz/prng.js';

function valid(raw: string, version: 3 | 4 | 5 = 5): TopicFilter {
  const parsed = parseTopicFilter(raw, version);
  assert.ok(!isTopicProblem(parsed), `${JSON.stringify(raw)} should be valid: ${isTopicProblem(parsed) ? parsed.reason : ''}`);
  return parsed;
}

function invalid(raw: string, version: 3 | 4 | 5 = 5): { reason: string; malformed: boolean } {
  const parsed = parseTopicFilter(raw, version);
  assert.ok(isTopicProblem(parsed), `${JSON.stringify(raw)} should be refused, got ${JSON.stringify(parsed)}`);
  assert.ok(parsed.reason.length > 0);
  return parsed;
}

describe('topic names (PUBLISH)', () => {
  test('MQTT-4.7.3-1: a topic name must be at least one character long', () => {
    assert.deepEqual(topicNameProblem(''), { reason: 'empty topic name', malformed: false });
    assert.equal(topicNameProblem('a'), undefined);
    assert.equal(topicNameProblem('/'), undefined, "a topic name of only '/' is valid");
  });

  test('MQTT-3.3.2-2, MQTT-4.7.0-1 (5.0) / MQTT-4.7.1-1 (3.1.1): no wildcard characters in a topic name', () => {
    for (const topic of ['+', '#', 'a/+', 'a/#', 'sport/tennis#', 'a+b', '#/a', 'x/+/y']) {
      const problem = topicNameProblem(topic);
      assert.ok(problem, topic);
      assert.equal(problem.malformed, false, `${topic}: refused, but the packet is not malformed`);
      assert.match(problem.reason, /wildcard/);
    }
  });

  test('MQTT-4.7.3-2, MQTT-1.5.4-2 (5.0) / MQTT-1.5.3-2 (3.1.1): no U+0000; the packet is malformed', () => {
    for (const topic of ['\u0000', 'a\u0000b', 'a/b\u0000', '\u0000+']) {
      assert.deepEqual(topicNameProblem(topic), { reason: 'contains U+0000', malformed: true }, JSON.stringify(topic));
    }
  });

  test('MQTT-1.5.4-1 (5.0) / MQTT-1.5.3-1 (3.1.1): no lone surrogates, pairs are fine', () => {
    assert.equal(topicNameProblem('a/\ud83d\ude00/b'), undefined, 'U+1F600 as a surrogate pair');
    assert.equal(topicNameProblem('\ud83d\ude00'), undefined);
    for (const topic of ['\ud83d', 'a\ude00', '\ude00\ud83d', 'a/\ud83d/b']) {
      assert.equal(topicNameProblem(topic)?.malformed, true, JSON.stringify(topic));
    }
    // A valid pair must not hide a wildcard after it.
    assert.ok(topicNameProblem('\ud83d\ude00/+'));
  });

  test('MQTT-4.7.3-3: at most 65,535 UTF-8 bytes, counted in bytes not characters', () => {
    assert.equal(topicNameProblem('a'.repeat(65_535)), undefined);
    assert.equal(topicNameProblem('a'.repeat(65_536))?.malformed, true);
    assert.equal(topicNameProblem('é'.repeat(32_767)), undefined, '65,534 bytes');
    assert.equal(topicNameProblem('é'.repeat(32_768))?.malformed, true, '65,536 bytes in 32,768 characters');
    assert.equal(topicNameProblem('€'.repeat(21_845)), undefined, '65,535 bytes');
    assert.equal(topicNameProblem('€'.repeat(21_846))?.malformed, true);
  });

  test('MQTT-4.7.3 (non-normative): spaces, case and leading or trailing slashes are allowed and significant', () => {
    for (const topic of ['Accounts payable', 'ACCOUNTS', '/finance', 'finance/', '//', '$SYS/broker/load']) {
      assert.equal(topicNameProblem(topic), undefined, topic);
    }
  });
});

describe('topic filters (SUBSCRIBE / UNSUBSCRIBE)', () => {
  test('MQTT-4.7.3-1: a topic filter must be at least one character long', () => {
    assert.equal(invalid('', 4).malformed, false);
    assert.equal(invalid('', 5).malformed, false);
  });

  test('MQTT-4.7.3-2, MQTT-1.5.4-2: a filter with U+0000 makes the packet malformed', () => {
    assert.equal(invalid('a/\u0000', 4).malformed, true);
    assert.equal(invalid('\u0000/#', 5).malformed, true);
    assert.equal(invalid('$share/g\u0000/a', 5).malformed, true);
  });

  test('MQTT-1.5.4-1: a filter with a lone surrogate makes the packet malformed', () => {
    assert.equal(invalid('a/\ud800', 5).malformed, true);
    assert.equal(valid('a/\ud83d\ude00/#', 5).wildcard, true);
  });

  test('MQTT-4.7.1-2 (3.1.1) / MQTT-4.7.1-1 (5.0): # must be alone in its level and the last character', () => {
    for (const version of [4, 5] as const) {
      // The specification's own examples.
      assert.deepEqual(valid('sport/tennis/player1/#', version), { filter: 'sport/tennis/player1/#', shareGroup: undefined, wildcard: true });
      assert.equal(valid('#', version).wildcard, true);
      assert.equal(valid('sport/tennis/#', version).wildcard, true);
      assert.equal(invalid('sport/tennis#', version).malformed, false);
      assert.equal(invalid('sport/tennis/#/ranking', version).malformed, false);
      for (const raw of ['#/', '##', 'a/#/', '#a', 'a/b#', '/#/#', 'a/#/b/#']) invalid(raw, version);
      valid('/#', version);
      valid('+/#', version);
    }
  });

  test('MQTT-4.7.1-3 (3.1.1) / MQTT-4.7.1-2 (5.0): + must occupy an entire level', () => {
    for (const version of [4, 5] as const) {
      // The specification's own examples.
      valid('+', version);
      valid('+/tennis/#', version);
      invalid('sport+', version);
      valid('sport/+/player1', version);
      for (const raw of ['a/+b', 'a/b+', '++', '+a', 'a+/b', '+/+x']) invalid(raw, version);
      for (const raw of ['+/+', '/+', '+/', '+//+', 'a/+/+/b/#']) assert.equal(valid(raw, version).wildcard, true, raw);
    }
  });

  test('a filter without + or # is not a wildcard filter', () => {
    assert.deepEqual(valid('a/b/c', 4), { filter: 'a/b/c', shareGroup: undefined, wildcard: false });
    assert.equal(valid('/', 5).wildcard, false);
    assert.equal(valid('$SYS/broker', 5).wildcard, false);
  });

  test('MQTT-4.8.2-1: a shared subscription starts with $share/ and has a ShareName of at least one character (5.0)', () => {
    assert.deepEqual(valid('$share/consumer1/sport/tennis/+', 5), { filter: 'sport/tennis/+', shareGroup: 'consumer1', wildcard: true });
    assert.deepEqual(valid('$share/consumer2/sport/tennis/+', 5), { filter: 'sport/tennis/+', shareGroup: 'consumer2', wildcard: true });
    assert.equal(invalid('$share//a', 5).malformed, false);
    // Only the exact prefix is a shared subscription.
    assert.deepEqual(valid('$shared/g/a', 5), { filter: '$shared/g/a', shareGroup: undefined, wildcard: false });
    assert.deepEqual(valid('$share', 5), { filter: '$share', shareGroup: undefined, wildcard: false });
    assert.deepEqual(valid('$SHARE/g/a', 5), { filter: '$SHARE/g/a', shareGroup: undefined, wildcard: false });
  });

  test('MQTT-4.8.2-2: the ShareName has no / + #, and is followed by / and a topic filter (5.0)', () => {
    assert.deepEqual(valid('$share/consumer1//finance', 5), { filter: '/finance', shareGroup: 'consumer1', wildcard: false });
    assert.deepEqual(valid('$share/g/#', 5), { filter: '#', shareGroup: 'g', wildcard: true });
    assert.deepEqual(valid('$share/g//', 5), { filter: '/', shareGroup: 'g', wildcard: false });
    assert.deepEqual(valid('$share/g/$SYS/#', 5), { filter: '$SYS/#', shareGroup: 'g', wildcard: true });
    invalid('$share/', 5);
    invalid('$share/group', 5);
    invalid('$share/group/', 5);
    invalid('$share/g+/a', 5);
    invalid('$share/+/a', 5);
    invalid('$share/#/a', 5);
    invalid('$share/g#/a', 5);
    invalid('$share/g/a#', 5);
    invalid('$share/g/a/#/b', 5);
    invalid('$share/g/+x', 5);
  });

  test('3.1.1 has no shared subscriptions: $share/... is an ordinary filter', () => {
    assert.deepEqual(valid('$share/g/a/+', 4), { filter: '$share/g/a/+', shareGroup: undefined, wildcard: true });
    assert.deepEqual(valid('$share/', 4), { filter: '$share/', shareGroup: undefined, wildcard: false });
    assert.deepEqual(valid('$share//a', 3), { filter: '$share//a', shareGroup: undefined, wildcard: false });
  });
});

describe('matching', () => {
  const cases: Array<[filter: string, topic: string, matches: boolean, why: string]> = [
    // 4.7.1.2, non-normative examples
    ['sport/tennis/player1/#', 'sport/tennis/player1', true, '# includes the parent level'],
    ['sport/tennis/player1/#', 'sport/tennis/player1/ranking', true, ''],
    ['sport/tennis/player1/#', 'sport/tennis/player1/score/wimbledon', true, ''],
    ['sport/#', 'sport', true, "'sport/#' also matches the singular 'sport'"],
    ['#', 'any/thing/at/all', true, "'#' receives every application message"],
    ['sport/#', 'sports', false, 'a level is not a prefix'],
    ['sport/#', 'sport/', true, 'an empty level below'],
    // 4.7.1.3, non-normative examples
    ['sport/tennis/+', 'sport/tennis/player1', true, ''],
    ['sport/tennis/+', 'sport/tennis/player2', true, ''],
    ['sport/tennis/+', 'sport/tennis/player1/ranking', false, '+ matches only one level'],
    ['sport/+', 'sport', false, "'sport/+' does not match 'sport'"],
    ['sport/+', 'sport/', true, "'sport/+' matches 'sport/'"],
    ['+/+', '/finance', true, "'/finance' matches '+/+'"],
    ['/+', '/finance', true, "'/finance' matches '/+'"],
    ['+', '/finance', false, "'/finance' does not match '+'"],
    ['sport/+/player1', 'sport/tennis/player1', true, ''],
    ['+/tennis/#', 'sport/tennis/player1/ranking', true, ''],
    ['+/tennis/#', 'sport/tennis', true, ''],
    ['+/#', 'a', true, '+ then # over the parent level'],
    ['+', '', true, 'no topic name is empty, but one would be a single empty level'],
    ['a/+/c', 'a//c', true, '+ matches an empty level'],
    ['+/+/+', '//', true, 'three empty levels'],
    ['+', 'a/b', false, ''],
    // 4.7.3, non-normative: no normalisation, case-sensitive, leading slash significant
    ['ACCOUNTS', 'Accounts', false, 'case-sensitive'],
    ['/finance', 'finance', false, "'/finance' is different from 'finance'"],
    ['finance', 'finance/', false, 'a trailing slash makes a distinct topic'],
    ['Accounts payable', 'Accounts payable', true, 'spaces are ordinary characters'],
    ['caf\u00e9', 'cafe\u0301', false, 'MQTT-4.7.3-4: no Unicode normalisation'],
    ['a/b', 'a/b', true, 'exact'],
    ['a/b', 'a/bc', false, ''],
    ['a/bc', 'a/b', false, ''],
  ];
  for (const [filter, topic, matches, why] of cases) {
    test(`${matches ? '' : 'not '}${JSON.stringify(filter)} ~ ${JSON.stringify(topic)}${why ? `: ${why}` : ''}`, () => {
      assert.equal(topicMatches(filter, topic), matches);
    });
  }

  test('MQTT-4.7.2-1: filters starting with # or + do not match topic names beginning with $', () => {
    assert.equal(topicMatches('#', '$SYS/monitor/Clients'), false, "'#' does not receive $ topics");
    assert.equal(topicMatches('+/monitor/Clients', '$SYS/monitor/Clients'), false);
    assert.equal(topicMatches('+', '$SYS'), false);
    assert.equal(topicMatches('+/#', '$SYS/x'), false);
    assert.equal(topicMatches('$SYS/#', '$SYS/monitor/Clients'), true, "'$SYS/#' receives topics beginning with $SYS/");
    assert.equal(topicMatches('$SYS/monitor/+', '$SYS/monitor/Clients'), true);
    assert.equal(topicMatches('$SYS/#', '$SYS'), true);
    assert.equal(topicMatches('a/#', 'a/$b'), true, 'the rule is about the first character only');
    assert.equal(topicMatches('+/$b', 'a/$b'), true);
  });
});

/** A reference matcher written the other way round (levels, recursion), to compare against. */
function referenceMatch(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  const walk = (i: number, j: number): boolean => {
    if (i === f.length) return j === t.length;
    if (f[i] === '#') return true;
    if (j === t.length) return false;
    if (f[i] === '+' || f[i] === t[j]) return walk(i + 1, j + 1);
    return false;
  };
  return walk(0, 0);
}

test('topicMatches agrees with a level-by-level reference on 20,000 random valid filters and topics (seeded)', () => {
  const seed = 0x70c1c5;
  const levels = ['a', 'b', 'ab', '', '$x', 'é'];
  for (let n = 0; n < 20_000; n++) {
    const rng = Prng.forItem(seed, n);
    const topic = Array.from({ length: rng.int(1, 4) }, () => rng.pick(levels)).join('/');
    const filterLevels = Array.from({ length: rng.int(1, 5) }, () => rng.pick([...levels, '+', '+']));
    if (rng.chance(0.3)) filterLevels.push('#');
    const filter = filterLevels.join('/');
    if (isTopicProblem(parseTopicFilter(filter, 4)) || topicNameProblem(topic)) continue;
    assert.equal(topicMatches(filter, topic), referenceMatch(filter, topic), `seed ${seed} item ${n}: ${filter} ~ ${topic}`);
  }
});
