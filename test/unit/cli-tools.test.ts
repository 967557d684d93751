import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { describeDelivery, describeRoute, effectiveConfigText, effectiveConfigView, isSecretKey, MASK, maskSecrets } from '../../src/cli-tools.js';
import { parseConfig } from '../../src/server/load-config.js';

const CONFIG = `mappings:
  - name: t
    match: '^t/(.*)$'
    topic: iot.t
    key: null
topic.regex.list: 'iot.x:x/.*'
unmapped: { topic: iot.unmapped }
auth: { anonymous: true }
`;

describe('isSecretKey', () => {
  for (const name of ['password', 'Password', 'passwd', 'passphrase', 'secret', 'clientSecret', 'token', 'jwtToken', 'accessToken', 'credentials', 'privateKey', 'private_key', 'apiKey', 'signingKey']) {
    it(`masks ${name}`, () => assert.equal(isSecretKey(name), true));
  }
  for (const name of ['key', 'keyFile', 'privateKeyFile', 'tokenPath', 'secretDir', 'username', 'topic', 'port', 'brokers']) {
    it(`shows ${name}`, () => assert.equal(isSecretKey(name), false));
  }
});

describe('maskSecrets', () => {
  it('masks secret values at any depth, in lists too, and leaves the rest as it was', () => {
    const input = {
      auth: { users: [{ username: 'u', password: 'p1' }], jwt: { secret: 's', algorithms: ['HS256'] } },
      tls: { keyFile: '/k.pem', passphrase: 'pp' },
      mappings: [{ name: 'r', key: '${topic}' }],
      token: null,
      apiKey: false,
    };
    assert.deepEqual(maskSecrets(input), {
      auth: { users: [{ username: 'u', password: MASK }], jwt: { secret: MASK, algorithms: ['HS256'] } },
      tls: { keyFile: '/k.pem', passphrase: MASK },
      mappings: [{ name: 'r', key: '${topic}' }],
      token: null,
      apiKey: false,
    });
    assert.equal(input.auth.users[0]!.password, 'p1', 'the input is not changed');
  });
  it('masks numbers and whole objects under a secret name', () => {
    assert.deepEqual(maskSecrets({ secret: 12345, credentials: { user: 'a', password: 'b' } }), { secret: MASK, credentials: MASK });
  });
});

describe('effective config', () => {
  const config = parseConfig(CONFIG, 'test.yaml');

  it('has every section in file order, unmapped in the file shape, no source', () => {
    const view = effectiveConfigView(config);
    assert.deepEqual(Object.keys(view), ['listeners', 'kafka', 'mappings', 'unmapped', 'delivery', 'retained', 'sessions', 'auth', 'http', 'drain', 'reload', 'limits', 'log']);
    assert.deepEqual(view.unmapped, { topic: 'iot.unmapped' });
    assert.equal((view.mappings as unknown[]).length, 2);
    assert.equal('source' in view, false);
  });

  it('YAML output parses back to the same view; JSON too', () => {
    const view = effectiveConfigView(config);
    assert.deepEqual(parseYaml(effectiveConfigText(config, 'yaml')), view);
    assert.deepEqual(JSON.parse(effectiveConfigText(config, 'json')), view);
    assert.match(effectiveConfigText(config, 'yaml'), /^# test\.yaml: valid\./);
  });

  it('unmapped: reject reads as reject', () => {
    const reject = parseConfig(`mappings: [{ name: a, match: a, topic: a }]\nauth: { anonymous: true }\n`, 'x.yaml');
    assert.equal(effectiveConfigView(reject).unmapped, 'reject');
  });
});

describe('describeRoute', () => {
  it('a mapped topic: rule, Kafka topic and key; no key says (none)', () => {
    assert.equal(
      describeRoute('t/1', { kind: 'mapped', rule: 't', kafkaTopic: 'iot.t', key: 'k 1' }, 'text'),
      'MQTT topic:  t/1\nrule:        t\nKafka topic: iot.t\nkey:         "k 1"\n',
    );
    assert.match(describeRoute('t/1', { kind: 'mapped', rule: 't', kafkaTopic: 'iot.t', key: null }, 'text'), /key: +\(none\)/);
  });
  it('a rejected topic: reason, rule when there is one, and why', () => {
    const text = describeRoute('r/x', { kind: 'rejected', reason: 'invalid-kafka-topic', rule: 'r', detail: 'bad' }, 'text');
    assert.equal(text, 'MQTT topic:  r/x\nrejected:    invalid-kafka-topic (rule r)\nwhy:         bad\n');
    assert.match(describeRoute('q', { kind: 'rejected', reason: 'unmapped', rule: null, detail: 'none' }, 'text'), /rejected: +unmapped\n/);
  });
  it('JSON', () => {
    assert.deepEqual(JSON.parse(describeRoute('t', { kind: 'mapped', rule: 'a', kafkaTopic: 'b', key: null }, 'json')), {
      topic: 't',
      mapped: true,
      rule: 'a',
      kafkaTopic: 'b',
      key: null,
    });
    assert.deepEqual(JSON.parse(describeRoute('t', { kind: 'rejected', reason: 'unmapped', rule: null, detail: 'd' }, 'json')), {
      topic: 't',
      mapped: false,
      reason: 'unmapped',
      rule: null,
      detail: 'd',
    });
  });
});

describe('describeDelivery', () => {
  const input = { kafkaTopic: 'iot.c', partition: 2, key: Buffer.from('dev 1'), headers: [], timestamp: 0 };
  const route = {
    rule: 'c',
    mqttTopic: 'devices/dev 1/c',
    qos: 1 as const,
    retain: true,
    originClientId: 'pub-1',
    properties: { correlationData: Buffer.from([0xca, 0xfe]), userProperties: Object.assign(Object.create(null) as Record<string, string>, { a: 'b' }) },
    expiresAt: undefined,
  };

  it('text: every fact of the route, correlation data as hex', () => {
    const text = describeDelivery(input, { ok: true, route }, 'text');
    assert.equal(
      text,
      [
        'Kafka topic: iot.c (partition 2)',
        'key:         "dev 1"',
        'rule:        c',
        'MQTT topic:  devices/dev 1/c',
        'QoS:         at most 1 (lower when the subscription is)',
        'retain:      true',
        'publisher:   pub-1',
        'properties:  {"correlationData":"cafe","userProperties":{"a":"b"}}',
        '',
      ].join('\n'),
    );
  });

  it('json, delivered and not', () => {
    assert.deepEqual(JSON.parse(describeDelivery({ ...input, key: null }, { ok: true, route: { ...route, properties: undefined, originClientId: undefined } }, 'json')), {
      kafkaTopic: 'iot.c', partition: 2, key: null, delivered: true, rule: 'c', mqttTopic: 'devices/dev 1/c', qos: 1, retain: true, originClientId: null, properties: null,
    });
    assert.deepEqual(JSON.parse(describeDelivery(input, { ok: false, reason: 'no-rule', rule: undefined, detail: 'd' }, 'json')), {
      kafkaTopic: 'iot.c', partition: 2, key: 'dev 1', delivered: false, reason: 'no-rule', rule: null, detail: 'd',
    });
    assert.match(describeDelivery(input, { ok: false, reason: 'bad-topic', rule: 'c', detail: 'why' }, 'text'), /not delivered: bad-topic \(rule c\)\nwhy: +why\n$/);
  });
});
