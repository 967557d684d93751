import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/config/errors.js';
import type { MappingRuleConfig, UnmappedConfig } from '../../src/config/types.js';
import { compileRouter, type Router, type RouterConfig } from '../../src/mapping/router.js';
import type { RouteInput, RouteResult } from '../../src/mapping/types.js';

function rule(name: string, match: string, topic: string, key: string | null = '${topic}'): MappingRuleConfig {
  return { name, match, topic, key };
}

function router(mappings: MappingRuleConfig[], unmapped: UnmappedConfig = { action: 'reject' }): Router {
  return compileRouter({ source: 'topic-mappings.yaml', mappings, unmapped });
}

function publish(topic: string, extra: Partial<RouteInput> = {}): RouteInput {
  return { topic, clientId: 'client-1', username: undefined, ...extra };
}

function configError(config: RouterConfig): ConfigError {
  try {
    compileRouter(config);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the rules not to compile');
}

function errorOf(mappings: MappingRuleConfig[], unmapped: UnmappedConfig = { action: 'reject' }): ConfigError {
  return configError({ source: 'topic-mappings.yaml', mappings, unmapped });
}

const TELEMETRY = rule('telemetry', '^devices/(?<deviceId>[^/]+)/telemetry$', 'iot.telemetry', '${deviceId}');

describe('router: matching', () => {
  it('maps the DESIGN.md sample rule', () => {
    assert.deepEqual(router([TELEMETRY]).route(publish('devices/d1/telemetry')), {
      kind: 'mapped',
      rule: 'telemetry',
      kafkaTopic: 'iot.telemetry',
      key: 'd1',
    });
  });
  it('uses the first matching rule', () => {
    const routes = router([
      rule('specific', '^devices/vip/', 'iot.vip'),
      rule('general', '^devices/', 'iot.devices'),
      rule('never', '^devices/vip/x$', 'iot.never'),
    ]);
    assert.equal((routes.route(publish('devices/vip/x')) as { rule: string }).rule, 'specific');
    assert.equal((routes.route(publish('devices/other/x')) as { rule: string }).rule, 'general');
  });
  it('applies the regex to the topic as written: unanchored matches anywhere, no flags', () => {
    const routes = router([rule('sub', 'telemetry', 'iot.any')]);
    assert.equal(routes.route(publish('a/telemetry/b')).kind, 'mapped');
    assert.equal(routes.route(publish('a/TELEMETRY/b')).kind, 'rejected');
  });
  it('renders topic and key from numbered groups and built-ins', () => {
    const routes = router([rule('n', '^site/([a-z]+)/(\\d+)$', 'site.$1', '${clientId}:${username}:$2:${certCN}')]);
    assert.deepEqual(routes.route(publish('site/north/42', { username: 'bob', certCN: 'cn-1' })), {
      kind: 'mapped',
      rule: 'n',
      kafkaTopic: 'site.north',
      key: 'client-1:bob:42:cn-1',
    });
  });
  it('defaults the key through the ${topic} template and supports no key', () => {
    const routes = router([rule('keyed', '^k/', 'iot.k'), rule('unkeyed', '^u/', 'iot.u', null)]);
    assert.equal((routes.route(publish('k/1')) as { key: string | null }).key, 'k/1');
    assert.equal((routes.route(publish('u/1')) as { key: string | null }).key, null);
  });
  it('renders unmatched optional groups as empty strings', () => {
    const routes = router([rule('opt', '^m/(?<a>[a-z]+)(?:/(?<b>[a-z]+))?$', 'iot.${a}${b}', '[${b}]')]);
    assert.deepEqual(routes.route(publish('m/x')), { kind: 'mapped', rule: 'opt', kafkaTopic: 'iot.x', key: '[]' });
    assert.deepEqual(routes.route(publish('m/x/y')), { kind: 'mapped', rule: 'opt', kafkaTopic: 'iot.xy', key: '[y]' });
  });
  it('matches MQTT topics with characters that are special in regexes or in Kafka', () => {
    const routes = router([rule('all', '^(.*)$', 'iot.all', '$1')]);
    for (const topic of ['', '/', 'a b/ü/😀', 'x'.repeat(70_000)]) {
      assert.deepEqual(routes.route(publish(topic)), { kind: 'mapped', rule: 'all', kafkaTopic: 'iot.all', key: topic });
    }
  });
  it('lists its rule names for metrics, with unmapped last only when it routes', () => {
    assert.deepEqual(router([TELEMETRY]).ruleNames, ['telemetry']);
    assert.deepEqual(router([TELEMETRY], { action: 'topic', topic: 'iot.unmapped' }).ruleNames, ['telemetry', 'unmapped']);
  });
  it('gives the same answer on repeated calls (no state kept between messages)', () => {
    const routes = router([TELEMETRY, rule('dyn', '^d/([^/]+)$', 'iot.$1')]);
    for (let i = 0; i < 3; i++) {
      assert.equal(routes.route(publish('d/ok')).kind, 'mapped');
      assert.equal(routes.route(publish('d/not ok')).kind, 'rejected');
      assert.equal((routes.route(publish('devices/d1/telemetry')) as { key: string }).key, 'd1');
    }
  });
});

describe('router: unmapped topics', () => {
  it('rejects them with reason unmapped when unmapped is reject', () => {
    const result = router([TELEMETRY]).route(publish('other/topic'));
    assert.deepEqual(result, {
      kind: 'rejected',
      reason: 'unmapped',
      rule: null,
      detail: 'no mapping rule matches MQTT topic "other/topic"',
    });
  });
  it('routes them to the unmapped topic with rule unmapped and the MQTT topic as key', () => {
    const result = router([TELEMETRY], { action: 'topic', topic: 'iot.unmapped' }).route(publish('other/topic'));
    assert.deepEqual(result, { kind: 'mapped', rule: 'unmapped', kafkaTopic: 'iot.unmapped', key: 'other/topic' });
  });
  it('works with no rules at all', () => {
    assert.equal(router([], { action: 'topic', topic: 'iot.all' }).route(publish('x')).kind, 'mapped');
    assert.equal(router([]).route(publish('x')).kind, 'rejected');
  });
  it('shortens a huge MQTT topic in the detail', () => {
    const result = router([]).route(publish('x'.repeat(5000)));
    assert.equal(result.kind, 'rejected');
    assert.ok(result.detail.length < 300, result.detail);
    assert.match(result.detail, /\(5000 characters\)$/);
  });
});

describe('router: rendered Kafka topics Kafka would refuse', () => {
  const routes = router([
    rule('per-device', '^devices/([^/]+)/telemetry$', 'iot.$1'),
    rule('whole', '^whole/(.*)$', '$1'),
    rule('by-topic', '^raw/', '${topic}'),
    rule('by-user', '^user/', 'u.${username}'),
  ]);
  const rejected = (result: RouteResult) => {
    assert.equal(result.kind, 'rejected');
    return result;
  };

  it('rejects an illegal character from a captured segment, naming the rule', () => {
    const result = rejected(routes.route(publish('devices/a b/telemetry')));
    assert.equal(result.reason, 'invalid-kafka-topic');
    assert.equal(result.rule, 'per-device');
    assert.match(result.detail, /^rule "per-device" rendered Kafka topic "iot.a b" from MQTT topic "devices\/a b\/telemetry": /);
    assert.match(result.detail, /not U\+0020/);
  });
  it('rejects a result longer than 249 characters', () => {
    assert.equal(routes.route(publish(`devices/${'x'.repeat(245)}/telemetry`)).kind, 'mapped'); // iot. + 245 = 249
    const result = rejected(routes.route(publish(`devices/${'x'.repeat(246)}/telemetry`)));
    assert.equal(result.reason, 'invalid-kafka-topic');
    assert.match(result.detail, /at most 249 characters, this one has 250/);
  });
  it('rejects an empty result, "." and ".."', () => {
    for (const topic of ['whole/', 'whole/.', 'whole/..']) {
      const result = rejected(routes.route(publish(topic)));
      assert.equal(result.reason, 'invalid-kafka-topic', topic);
      assert.equal(result.rule, 'whole');
    }
    assert.deepEqual(routes.route(publish('whole/...')), { kind: 'mapped', rule: 'whole', kafkaTopic: '...', key: 'whole/...' });
  });
  it('rejects ${topic} containing "/" and an absent username', () => {
    assert.equal(rejected(routes.route(publish('raw/x'))).rule, 'by-topic');
    assert.equal(routes.route(publish('user/x', { username: 'ann' })).kind, 'mapped');
    assert.equal(rejected(routes.route(publish('user/x', { username: 'a/b' }))).rule, 'by-user');
  });
  it('rejects non-ASCII characters', () => {
    assert.equal(rejected(routes.route(publish('devices/gerät/telemetry'))).reason, 'invalid-kafka-topic');
    assert.equal(rejected(routes.route(publish('devices/😀/telemetry'))).reason, 'invalid-kafka-topic');
  });
});

describe('router: configuration errors', () => {
  it('names file, rule and field, and the problem', () => {
    const error = errorOf([TELEMETRY, rule('telemetry2', '^devices/(?<deviceId>[^/]+)/t$', 'iot.t', '${device}')]);
    assert.equal(
      error.message,
      'topic-mappings.yaml: mappings[1] "telemetry2".key: template names group "device" but the regex has groups deviceId',
    );
    assert.equal(error.file, 'topic-mappings.yaml');
    assert.equal(error.path, 'mappings[1] "telemetry2".key');
    assert.equal(error.problem, 'template names group "device" but the regex has groups deviceId');
  });
  it('reports an invalid regex', () => {
    assert.equal(errorOf([rule('bad', '^(x', 'iot.x')]).message, 'topic-mappings.yaml: mappings[0] "bad".match: invalid regular expression: Unterminated group');
  });
  it('refuses regex groups named like a built-in', () => {
    for (const name of ['topic', 'clientId', 'username', 'certCN']) {
      const error = errorOf([rule('r', `^(?<${name}>x)$`, 'iot.x')]);
      assert.equal(error.path, 'mappings[0] "r".match');
      assert.match(error.problem, new RegExp(`names a group "${name}", which is reserved`));
    }
  });
  it('refuses a static topic Kafka would refuse', () => {
    assert.equal(errorOf([rule('r', '^x$', 'iot/x')]).path, 'mappings[0] "r".topic');
    assert.match(errorOf([rule('r', '^x$', 'iot/x')]).problem, /not "\/"/);
    assert.match(errorOf([rule('r', '^x$', '')]).problem, /cannot be empty/);
    assert.match(errorOf([rule('r', '^x$', '..')]).problem, /cannot be "\.\."/);
    assert.match(errorOf([rule('r', '^x$', 'x'.repeat(250))]).problem, /at most 249/);
    assert.match(errorOf([rule('r', '^x$', 'a$$b')]).problem, /not "\$"/);
  });
  it('refuses a topic template whose literal text Kafka would refuse', () => {
    const error = errorOf([rule('r', '^devices/([^/]+)$', 'iot/$1')]);
    assert.equal(error.path, 'mappings[0] "r".topic');
    assert.match(error.problem, /the text "iot\/" contains "\/", which Kafka refuses in a topic name/);
    assert.match(errorOf([rule('r', '^(x)$', `${'a'.repeat(250)}$1`)]).problem, /fixed text alone has 250 characters/);
  });
  it('refuses template errors in topic and key', () => {
    assert.equal(errorOf([rule('r', '^(x)$', 'iot.$2')]).path, 'mappings[0] "r".topic');
    assert.equal(errorOf([rule('r', '^(x)$', 'iot.x', '${oops')]).path, 'mappings[0] "r".key');
  });
  it('refuses duplicate rule names, the name unmapped and the empty name', () => {
    const duplicate = errorOf([rule('a', 'x', 't'), rule('a', 'y', 't')]);
    assert.equal(duplicate.message, 'topic-mappings.yaml: mappings[1] "a".name: duplicate rule name: mappings[0] is also named "a"');
    assert.match(errorOf([rule('unmapped', 'x', 't')]).problem, /reserved for topics no rule matches/);
    assert.match(errorOf([rule('', 'x', 't')]).problem, /cannot be empty/);
  });
  it('refuses an unmapped topic Kafka would refuse', () => {
    const error = errorOf([], { action: 'topic', topic: 'bad topic' });
    assert.equal(error.path, 'unmapped.topic');
  });
  it('reports every broken rule at once', () => {
    const error = errorOf([rule('a', '(', 't'), TELEMETRY, rule('b', 'x', 't/'), rule('c', '(x)', 't', '$2')]);
    assert.deepEqual(
      error.problems.map((problem) => problem.path),
      ['mappings[0] "a".match', 'mappings[2] "b".topic', 'mappings[3] "c".key'],
    );
    assert.equal(error.message.split('\n').length, 3);
  });
  it('names rules from topic.regex.list by their own name', () => {
    const error = errorOf([TELEMETRY, rule('topic.regex.list[0]', '^(?:(?<topic>x))$', 'iot.x')]);
    assert.equal(error.path, 'topic.regex.list[0].match');
  });
});
