// The delivery router: Kafka record -> MQTT topic, QoS, retain, publisher, MQTT 5 properties,
// expiry; mayServe; and round trips through the ingest side's record builder.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, type DeliveryRuleConfig } from '../../src/config/index.js';
import type { KafkaRecord } from '../../src/kafka/record.js';
import { compileDeliveryRouter, type DeliveryRouter } from '../../src/mapping/delivery-router.js';
import type { DeliveryInput, DeliveryProperties, DeliveryResult, DeliveryRoute } from '../../src/mapping/types.js';
import type { OutboundProperties } from '../../src/mqtt/publish-encoding.js';
import { topicMatches, topicNameProblem } from '../../src/mqtt/topics.js';
import type { InboundPublish, MqttSession, QoS } from '../../src/mqtt/types.js';
import { buildRecord } from '../../src/pipeline/record.js';
import { Prng } from '../fuzz/prng.js';

const TIMESTAMP = 1_717_171_717_000;

function rule(extra: Partial<DeliveryRuleConfig> = {}): DeliveryRuleConfig {
  return { name: 'commands', kafka: 'iot.commands', mqttTopic: 'devices/${key}/commands', qos: 2, ...extra };
}

type Header = readonly [Buffer | null, Buffer | null];
const h = (name: string | null, value: string | Buffer | null): Header => [
  name === null ? null : Buffer.from(name),
  value === null ? null : typeof value === 'string' ? Buffer.from(value) : value,
];

function input(extra: Partial<DeliveryInput> = {}): DeliveryInput {
  return { kafkaTopic: 'iot.commands', partition: 3, key: Buffer.from('dev-17'), headers: [], timestamp: TIMESTAMP, ...extra };
}

function routed(result: DeliveryResult): DeliveryRoute {
  assert.ok(result.ok, `expected a route, got ${JSON.stringify(result)}`);
  return result.route;
}

function refused(result: DeliveryResult, reason: 'no-rule' | 'no-topic' | 'bad-topic', detail?: RegExp): void {
  assert.ok(!result.ok, `expected ${reason}, got ${JSON.stringify(result)}`);
  assert.equal(result.reason, reason, result.detail);
  if (detail !== undefined) assert.match(result.detail, detail);
}

const router = (...rules: DeliveryRuleConfig[]): DeliveryRouter => compileDeliveryRouter(rules.length === 0 ? [rule()] : rules);

describe('delivery router: the MQTT topic', () => {
  test('a rule renders its template from the key; a record of a topic no rule reads is no-rule', () => {
    const r = router();
    assert.equal(routed(r.route(input())).mqttTopic, 'devices/dev-17/commands');
    assert.equal(routed(r.route(input())).rule, 'commands');
    refused(r.route(input({ kafkaTopic: 'iot.other' })), 'no-rule', /no delivery rule reads Kafka topic iot\.other/);
    assert.equal((r.route(input({ kafkaTopic: 'x' })) as { rule?: string }).rule, undefined);
  });

  test('${topic}, ${partition}, ${header.NAME} (the last one), fixed text and $$', () => {
    const r = router(rule({ mqttTopic: '$$share-not/${topic}/${partition}/${header.site}/${key}' }));
    const headers = [h('site', 'first'), h('other', 'x'), h('site', 'berlin')];
    assert.equal(routed(r.route(input({ headers }))).mqttTopic, '$share-not/iot.commands/3/berlin/dev-17');
    const noHeader = r.route(input({ headers: [h('other', 'x')] }));
    refused(noHeader, 'no-topic', /has no header site/);
    assert.equal((noHeader as { rule?: string }).rule, 'commands');
    refused(r.route(input({ headers: [h('site', null)] })), 'no-topic', /header site is null/);
    refused(r.route(input({ headers: [h('site', Buffer.from([0xff]))] })), 'bad-topic', /not valid UTF-8/);
    refused(r.route(input({ headers: [h('site', 'a/+')] })), 'bad-topic', /wildcard \+/);
  });

  test('a null key gives no topic for ${key}; a key of other bytes may', () => {
    const r = router();
    refused(r.route(input({ key: null })), 'no-topic', /key is null/);
    assert.equal(routed(r.route(input({ key: Buffer.alloc(0) }))).mqttTopic, 'devices//commands', 'an empty key is an empty level');
    assert.equal(routed(r.route(input({ key: Buffer.from('Gerät-é') }))).mqttTopic, 'devices/Gerät-é/commands');
    assert.equal(routed(router(rule({ mqttTopic: 'fixed/topic' })).route(input({ key: null }))).mqttTopic, 'fixed/topic', 'a template without ${key} needs no key');
  });

  test('a key with / in it makes more levels', () => {
    assert.equal(routed(router().route(input({ key: Buffer.from('site-1/dev-17') }))).mqttTopic, 'devices/site-1/dev-17/commands');
  });

  test('MQTT-3.3.2-2, MQTT-4.7.3-2: a key with +, # or U+0000, or not UTF-8, gives no topic (bad-topic)', () => {
    const r = router();
    for (const key of ['dev/+', '#', 'a+b', 'dev\u0000']) {
      refused(r.route(input({ key: Buffer.from(key) })), 'bad-topic', /key/);
    }
    refused(r.route(input({ key: Buffer.from([0x64, 0xc3]) })), 'bad-topic', /not valid UTF-8/);
    refused(r.route(input({ key: Buffer.from([0xed, 0xa0, 0x80]) })), 'bad-topic', /not valid UTF-8/); // an encoded surrogate
  });

  test('MQTT-4.7.3-1, MQTT-4.7.3-3: an empty topic, or one over 65,535 bytes, is bad-topic', () => {
    refused(router(rule({ mqttTopic: '${key}' })).route(input({ key: Buffer.alloc(0) })), 'bad-topic', /is empty/);
    refused(router().route(input({ key: Buffer.alloc(65_535, 0x61) })), 'bad-topic', /longer than 65,535/);
    const justFits = Buffer.alloc(65_535 - 'devices//commands'.length, 0x61);
    assert.equal(Buffer.byteLength(routed(router().route(input({ key: justFits }))).mqttTopic), 65_535);
  });

  test('the mqtt.topic header wins over the template; the last one counts', () => {
    const r = router();
    assert.equal(routed(r.route(input({ headers: [h('mqtt.topic', 'devices/dev-1/telemetry')] }))).mqttTopic, 'devices/dev-1/telemetry');
    const two = [h('mqtt.topic', 'from/a/user/property'), h('mqtt.topic', 'the/proxy/own')];
    assert.equal(routed(r.route(input({ headers: two }))).mqttTopic, 'the/proxy/own');
    assert.equal(routed(r.route(input({ key: null, headers: [h('mqtt.topic', 'x')] }))).mqttTopic, 'x', 'no key needed then');
  });

  test('an mqtt.topic header that is no topic name is bad-topic, never replaced by the template', () => {
    const r = router();
    for (const value of ['a/+', 'a/#', '', 'a\u0000', Buffer.from([0xff]), null]) {
      refused(r.route(input({ headers: [h('mqtt.topic', value)] })), 'bad-topic', /mqtt\.topic header/);
    }
  });

  test('a rule without a template delivers only records with an mqtt.topic header', () => {
    const r = router(rule({ name: 'mirror', kafka: 'iot.telemetry', mqttTopic: undefined }));
    const record = input({ kafkaTopic: 'iot.telemetry', headers: [h('mqtt.topic', 'devices/dev-1/telemetry')] });
    assert.equal(routed(r.route(record)).mqttTopic, 'devices/dev-1/telemetry');
    refused(r.route(input({ kafkaTopic: 'iot.telemetry' })), 'no-topic', /no mqttTopic template and the record no mqtt\.topic header/);
  });
});

describe('delivery router: QoS, retain, publisher, expiry', () => {
  test('QoS is min(rule.qos, the mqtt.qos header); without a valid header the rule\'s', () => {
    const cases: Array<[ruleQos: QoS, header: string | undefined, expected: QoS]> = [
      [2, undefined, 2], [2, '0', 0], [2, '1', 1], [2, '2', 2], [1, '2', 1], [0, '2', 0], [1, '0', 0],
      [2, '3', 2], [1, 'x', 1], [2, '', 2], [2, '01', 2],
    ];
    for (const [ruleQos, header, expected] of cases) {
      const headers = header === undefined ? [] : [h('mqtt.qos', header)];
      assert.equal(routed(router(rule({ qos: ruleQos })).route(input({ headers }))).qos, expected, `rule ${ruleQos} header ${header}`);
    }
  });

  test('retain from mqtt.retain "true" only; originClientId from mqtt.client_id', () => {
    const r = router();
    const of = (...headers: Header[]) => routed(r.route(input({ headers })));
    assert.equal(of(h('mqtt.retain', 'true')).retain, true);
    for (const value of ['false', 'TRUE', '1', '', null]) assert.equal(of(h('mqtt.retain', value)).retain, false, String(value));
    assert.equal(of().retain, false);
    assert.equal(of(h('mqtt.client_id', 'dev-1')).originClientId, 'dev-1');
    assert.equal(of().originClientId, undefined);
    assert.equal(of(h('mqtt.client_id', Buffer.from([0xff]))).originClientId, undefined, 'not UTF-8: no client id to compare with');
  });

  test('MQTT-3.3.2-5: expiresAt = record timestamp + the original interval; the interval itself is kept', () => {
    const r = router();
    const route = routed(r.route(input({ headers: [h('mqtt.message_expiry_interval', '60')] })));
    assert.equal(route.expiresAt, TIMESTAMP + 60_000);
    assert.equal(route.properties?.messageExpiryInterval, 60);
    assert.equal(routed(r.route(input())).expiresAt, undefined);
    assert.equal(routed(r.route(input({ headers: [h('mqtt.message_expiry_interval', '4294967295')] }))).expiresAt, TIMESTAMP + 4_294_967_295_000);
    for (const bad of ['-1', '4294967296', '1.5', 'abc', '', ' 1']) {
      const other = routed(r.route(input({ headers: [h('mqtt.message_expiry_interval', bad)] })));
      assert.equal(other.expiresAt, undefined, bad);
      assert.equal(other.properties, undefined, bad);
    }
  });
});

describe('delivery router: MQTT 5 properties from headers', () => {
  const of = (...headers: Header[]) => routed(router().route(input({ headers }))).properties;

  test('no headers, or only the proxy\'s delivery facts: no properties object', () => {
    assert.equal(of(), undefined);
    assert.equal(of(h('mqtt.qos', '1'), h('mqtt.retain', 'true'), h('mqtt.client_id', 'c'), h('mqtt.topic', 't'), h('mqtt.will', 'true')), undefined);
  });

  test('each mqtt.* header to its property', () => {
    assert.deepEqual(of(
      h('mqtt.content_type', 'application/json'),
      h('mqtt.payload_format_indicator', '1'),
      h('mqtt.response_topic', 'replies/dev-17'),
      h('mqtt.correlation_data', Buffer.from([0, 1, 0xff])),
      h('mqtt.message_expiry_interval', '30'),
    ), {
      contentType: 'application/json',
      payloadFormatIndicator: true,
      responseTopic: 'replies/dev-17',
      correlationData: Buffer.from([0, 1, 0xff]),
      messageExpiryInterval: 30,
    });
    assert.deepEqual(of(h('mqtt.payload_format_indicator', '0')), { payloadFormatIndicator: false });
  });

  test('values that are not what the property allows are left out', () => {
    assert.equal(of(h('mqtt.payload_format_indicator', '2')), undefined);
    assert.equal(of(h('mqtt.content_type', Buffer.from([0xc3]))), undefined, 'not UTF-8');
    assert.equal(of(h('mqtt.content_type', 'a\u0000b')), undefined, 'U+0000 [MQTT-1.5.4-2]');
    assert.equal(of(h('mqtt.response_topic', 'replies/+')), undefined, 'MQTT-3.3.2-14: a Response Topic is a topic name, no wildcards');
    assert.equal(of(h('mqtt.response_topic', '')), undefined);
    assert.equal(of(h('mqtt.correlation_data', null)), undefined);
    assert.equal(of(h('mqtt.correlation_data', Buffer.alloc(65_536))), undefined, 'Binary Data is at most 65,535 bytes');
  });

  test('other headers are user properties in record order; a repeated name keeps every value', () => {
    const properties = of(h('region', 'eu'), h('tag', 'a'), h('tag', 'b'), h('tag', 'c'), h('empty', ''));
    assert.deepEqual({ ...properties?.userProperties }, { region: 'eu', tag: ['a', 'b', 'c'], empty: '' });
    assert.deepEqual(Object.keys(properties!.userProperties!), ['region', 'tag', 'empty']);
  });

  test('headers whose name or value is not an MQTT string, null values and null names are left out', () => {
    const properties = of(h('ok', 'yes'), h('bin', Buffer.from([0xff, 0xfe])), [Buffer.from([0xff]), Buffer.from('v')], h('nul', 'a\u0000'), h('none', null), h(null, 'v'));
    assert.deepEqual({ ...properties?.userProperties }, { ok: 'yes' });
  });

  test('no name starting mqtt. is ever a user property, known or not', () => {
    assert.equal(of(h('mqtt.will', 'true'), h('mqtt.future_thing', 'x'), h('mqtt.', 'y')), undefined);
    assert.deepEqual({ ...of(h('mqttx', 'a'), h('MQTT.topic', 'b'))?.userProperties }, { mqttx: 'a', 'MQTT.topic': 'b' }, 'only the exact prefix');
  });

  test('names such as __proto__ are plain user properties', () => {
    const properties = of(h('__proto__', 'x'), h('constructor', 'y'));
    assert.equal(Object.getPrototypeOf(properties!.userProperties), null);
    assert.deepEqual(Object.entries(properties!.userProperties!), [['__proto__', 'x'], ['constructor', 'y']]);
  });

  test('DeliveryProperties and the engine\'s OutboundProperties are the same shape', () => {
    const toEngine = (p: DeliveryProperties): OutboundProperties => p;
    const fromEngine = (p: OutboundProperties): DeliveryProperties => p;
    const sample: DeliveryProperties = { contentType: 'c', subscriptionIdentifiers: [1] };
    assert.deepEqual(fromEngine(toEngine(sample)), sample);
  });
});

const SESSION: MqttSession = { clientId: 'dev-1', username: 'alice', protocolVersion: 5, remoteAddress: '10.0.0.1', listener: 'tcp:1883' };

/** A record as the proxy produces it, read back the way the Kafka reader hands it over. */
function asRead(record: KafkaRecord, partition = 0): DeliveryInput {
  const headers: Header[] = [];
  for (const name of Object.keys(record.headers)) {
    const value = record.headers[name]!;
    for (const item of Array.isArray(value) ? value : [value]) headers.push([Buffer.from(name), Buffer.from(item)]);
  }
  const key = record.key === null ? null : Buffer.from(record.key);
  return { kafkaTopic: record.topic, partition, key, headers, timestamp: record.timestamp };
}

function ingest(message: Partial<InboundPublish>, kafkaTopic = 'iot.telemetry'): DeliveryInput {
  const publish: InboundPublish = { topic: 'devices/dev-1/telemetry', payload: Buffer.from('21.5'), qos: 1, retain: false, will: false, properties: undefined, receivedAt: TIMESTAMP, ...message };
  return asRead(buildRecord(publish, SESSION, { kind: 'mapped', rule: 'telemetry', kafkaTopic, key: 'dev-1' }));
}

describe('round trips: PUBLISH -> ingest record -> delivery', () => {
  const mirror = router(rule({ name: 'mirror', kafka: 'iot.telemetry', mqttTopic: undefined }));

  test('every MQTT 5 property comes back as it was published, with topic, QoS, retain and publisher', () => {
    const userProperties = Object.assign(Object.create(null) as Record<string, string | string[]>, { unit: 'celsius', tag: ['a', 'b'], 'é': 'ü' });
    const properties = {
      contentType: 'text/plain; charset=utf-8',
      payloadFormatIndicator: true,
      responseTopic: 'devices/dev-1/replies',
      correlationData: Buffer.from([0xde, 0xad, 0xbe, 0xef]),
      messageExpiryInterval: 120,
      userProperties,
    };
    const route = routed(mirror.route(ingest({ topic: 'devices/dev-1/telemetry', qos: 2, retain: true, properties })));
    assert.equal(route.mqttTopic, 'devices/dev-1/telemetry');
    assert.equal(route.qos, 2);
    assert.equal(route.retain, true);
    assert.equal(route.originClientId, 'dev-1');
    assert.equal(route.expiresAt, TIMESTAMP + 120_000);
    assert.deepEqual({ ...route.properties, userProperties: { ...route.properties?.userProperties } }, { ...properties, userProperties: { unit: 'celsius', tag: ['a', 'b'], 'é': 'ü' } });
  });

  test('MQTT 3.1.1 (no properties): topic and QoS come back, no properties object', () => {
    const route = routed(mirror.route(ingest({ topic: 'a/b', qos: 0 })));
    assert.equal(route.mqttTopic, 'a/b');
    assert.equal(route.qos, 0);
    assert.equal(route.properties, undefined);
    assert.equal(route.expiresAt, undefined);
  });

  test('a device\'s message on a templated rule\'s topic keeps its own MQTT topic', () => {
    const commands = router();
    const route = routed(commands.route(ingest({ topic: 'controllers/c-1/broadcast' }, 'iot.commands')));
    assert.equal(route.mqttTopic, 'controllers/c-1/broadcast');
  });

  test('a user property named like a proxy header does not override it: the proxy\'s own value is last', () => {
    const userProperties = Object.assign(Object.create(null) as Record<string, string>, { 'mqtt.topic': 'spoofed/topic', 'mqtt.qos': '2' });
    const route = routed(mirror.route(ingest({ topic: 'real/topic', qos: 0, properties: { userProperties } })));
    assert.equal(route.mqttTopic, 'real/topic');
    assert.equal(route.qos, 0);
    assert.equal(route.properties, undefined, 'names starting mqtt. are not user properties on the way back');
  });

  test('random topics, QoS and properties survive the round trip (seeded)', () => {
    const seed = 0xde11;
    const levels = ['a', 'dev-1', 'é', '', '$x', 'x y'];
    for (let n = 0; n < 500; n++) {
      const rng = Prng.forItem(seed, n);
      const topic = Array.from({ length: rng.int(1, 4) }, () => rng.pick(levels)).join('/');
      if (topicNameProblem(topic) !== undefined) continue;
      const qos = rng.int(0, 2) as QoS;
      const names = ['k1', 'k2', 'ключ'];
      const userProperties = Object.create(null) as Record<string, string | string[]>;
      for (const name of names) if (rng.chance(0.5)) userProperties[name] = rng.chance(0.5) ? `v${rng.int(0, 9)}` : [`a${rng.int(0, 9)}`, `b${rng.int(0, 9)}`];
      const properties = {
        ...(rng.chance(0.5) && { contentType: `type/${rng.int(0, 99)}` }),
        ...(rng.chance(0.5) && { messageExpiryInterval: rng.int(0, 100_000) }),
        ...(rng.chance(0.5) && { correlationData: rng.bytes(rng.int(0, 8)) }),
        ...(Object.keys(userProperties).length > 0 && { userProperties }),
      };
      const route = routed(mirror.route(ingest({ topic, qos, properties })));
      assert.equal(route.mqttTopic, topic, `item ${n}`);
      assert.equal(route.qos, qos, `item ${n}`);
      const back = route.properties === undefined ? {} : { ...route.properties, ...(route.properties.userProperties && { userProperties: { ...route.properties.userProperties } }) };
      const sent = { ...properties, ...(properties.userProperties && { userProperties: { ...properties.userProperties } }) };
      assert.deepEqual(back, sent, `seed ${seed} item ${n}`);
    }
  });
});

describe('delivery router: mayServe', () => {
  const r = router(
    rule(),
    rule({ name: 'mirror', kafka: 'iot.telemetry', mqttTopic: undefined }),
    rule({ name: 'parts', kafka: 'iot.parts', mqttTopic: 'p/${partition}/${header.site}' }),
    rule({ name: 'sys', kafka: 'iot.sys', mqttTopic: '$$SYS/${key}' }),
    rule({ name: 'fixed', kafka: 'iot.fixed', mqttTopic: 'status/${topic}' }),
  );
  const cases: Array<[kafka: string, filter: string, expected: boolean]> = [
    ['iot.commands', 'devices/dev-17/commands', true],
    ['iot.commands', 'devices/+/commands', true],
    ['iot.commands', 'devices/#', true],
    ['iot.commands', '#', true],
    ['iot.commands', '+/+/commands', true],
    ['iot.commands', 'devices/site/dev/commands', true],
    ['iot.commands', 'devices/+/+/commands', true],
    ['iot.commands', 'devices/commands', false],
    ['iot.commands', 'devices/+', false],
    ['iot.commands', 'devices', false],
    ['iot.commands', 'alerts/#', false],
    ['iot.commands', 'devices/x/commands/more', false],
    ['iot.commands', 'devices/x/commands/#', true],
    ['iot.commands', '+', false],
    ['iot.telemetry', 'anything/at/all', true],
    ['iot.telemetry', '#', true],
    ['iot.unknown', '#', false],
    ['iot.parts', 'p/7/berlin', true],
    ['iot.parts', 'p/+/berlin', true],
    ['iot.parts', 'p/x/berlin', false],
    ['iot.parts', 'p/7', false],
    ['iot.parts', 'p//berlin', false],
    ['iot.parts', 'p/12/a/b', true],
    ['iot.sys', '$SYS/x', true],
    ['iot.sys', '#', false],
    ['iot.sys', '+/x', false],
    ['iot.sys', '$SYS/#', true],
    ['iot.fixed', 'status/iot.fixed', true],
    ['iot.fixed', 'status/other', false],
    ['iot.fixed', 'status/+', true],
  ];
  for (const [kafka, filter, expected] of cases) {
    test(`${kafka} ${expected ? 'may' : 'cannot'} serve ${filter}`, () => assert.equal(r.mayServe(kafka, filter), expected));
  }

  test('never says no to a filter that matches a rendering (random templates, keys and filters, seeded)', () => {
    const seed = 0x5e1f;
    const levels = ['a', 'b', 'ab', '$x', ''];
    for (let n = 0; n < 2_000; n++) {
      const rng = Prng.forItem(seed, n);
      const templateLevels = Array.from({ length: rng.int(1, 4) }, () => rng.pick(['a', 'b', '${key}', 'x${key}', '${partition}', '$$x']));
      const template = templateLevels.join('/');
      const one = router(rule({ mqttTopic: template }));
      const filterLevels = Array.from({ length: rng.int(1, 4) }, () => rng.pick([...levels, '+']));
      if (rng.chance(0.3)) filterLevels.push('#');
      const filter = filterLevels.join('/');
      for (let k = 0; k < 20; k++) {
        const key = Array.from({ length: rng.int(0, 3) }, () => rng.pick(levels)).join('/');
        const result = one.route(input({ key: Buffer.from(key), partition: rng.int(0, 12) }));
        if (!result.ok) continue;
        if (topicMatches(filter, result.route.mqttTopic)) {
          assert.ok(one.mayServe('iot.commands', filter), `seed ${seed} item ${n}: ${template} renders ${result.route.mqttTopic}, which ${filter} matches`);
        }
      }
    }
  });
});

describe('compileDeliveryRouter', () => {
  test('kafkaTopics and ruleNames, each once, in rule order', () => {
    const r = router(rule(), rule({ name: 'mirror', kafka: 'iot.telemetry', mqttTopic: undefined }));
    assert.deepEqual(r.kafkaTopics, ['iot.commands', 'iot.telemetry']);
    assert.deepEqual(r.ruleNames, ['commands', 'mirror']);
    assert.deepEqual(compileDeliveryRouter([]).kafkaTopics, []);
    refused(compileDeliveryRouter([]).route(input()), 'no-rule');
  });

  test('rules built in code get the loader\'s checks: every problem in one ConfigError naming the rule', () => {
    assert.throws(
      () => compileDeliveryRouter([rule({ mqttTopic: 'devices/+/x' }), rule({ name: 'b', mqttTopic: '${nope}' }), rule({ name: 'c', kafka: 'bad topic' })], 'rules.yaml'),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.deepEqual(error.problems.map((p) => `${p.file}: ${p.path}`), [
          'rules.yaml: delivery[0] "commands".mqttTopic',
          'rules.yaml: delivery[1] "b".kafka',
          'rules.yaml: delivery[1] "b".mqttTopic',
          'rules.yaml: delivery[2] "c".kafka',
        ]);
        return true;
      },
    );
  });
});
