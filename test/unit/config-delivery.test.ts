// The `delivery` and `retained` sections: shapes, defaults, and every problem named by file, rule
// path and what is wrong, templates included.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseMqttTopicTemplate } from '../../src/common/mqtt-topic-template.js';
import { ConfigError, DEFAULTS, type ProxyConfig } from '../../src/config/index.js';
import { parseConfig } from '../../src/server/load-config.js';

const BASE = `mappings: [{ name: a, match: '^a$', topic: iot.a }]\nauth: { anonymous: true }\n`;

function parse(extra: string): ProxyConfig {
  return parseConfig(`${BASE}${extra}`, 'delivery.yaml');
}

/** Every problem of `extra` as `PATH: PROBLEM` (the file is checked once here). */
function problems(extra: string): string[] {
  try {
    parse(extra);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    assert.ok(error.problems.every((p) => p.file === 'delivery.yaml'), 'every problem names the file');
    return error.problems.map((p) => `${p.path}: ${p.problem}`);
  }
  return assert.fail(`expected problems in ${extra}`);
}

function oneProblem(extra: string, path: string, problem: RegExp): void {
  const found = problems(extra);
  assert.equal(found.length, 1, found.join('\n'));
  assert.ok(found[0]!.startsWith(`${path}: `), `${found[0]} should be at ${path}`);
  assert.match(found[0]!.slice(path.length + 2), problem);
}

describe('delivery rules', () => {
  it('absent: no rules, retained on at mqtt.retained', () => {
    const config = parse('');
    assert.deepEqual(config.delivery, []);
    assert.deepEqual(config.retained, { topic: 'mqtt.retained', enabled: true });
    assert.deepEqual(DEFAULTS.retained, config.retained);
    assert.equal(DEFAULTS.deliveryQos, 2);
    assert.deepEqual(parse('delivery:\n').delivery, [], 'a section with no value counts as absent');
  });

  it('reads rules with their defaults: name delivery[i], qos 2, no template', () => {
    const config = parse(`delivery:
  - name: commands
    kafka: iot.commands
    mqttTopic: 'devices/\${key}/commands'
    qos: 1
  - kafka: iot.telemetry
`);
    assert.deepEqual(config.delivery, [
      { name: 'commands', kafka: 'iot.commands', mqttTopic: 'devices/${key}/commands', qos: 1 },
      { name: 'delivery[1]', kafka: 'iot.telemetry', mqttTopic: undefined, qos: 2 },
    ]);
    assert.ok(Object.isFrozen(config.delivery[0]), 'frozen like the rest of the config');
  });

  it('accepts every placeholder and $$ for a literal $', () => {
    const config = parse("delivery: [{ kafka: t, mqttTopic: '$$aws/${topic}/${partition}/${key}/${header.device-id}' }]\n");
    assert.equal(config.delivery[0]!.mqttTopic, '$$aws/${topic}/${partition}/${key}/${header.device-id}');
  });

  it('refuses a list that is not one, and rules that are not mappings', () => {
    oneProblem('delivery: { kafka: t }\n', 'delivery', /expected a list of delivery rules .* got a mapping/);
    oneProblem('delivery: [iot.commands]\n', 'delivery[0]', /expected a delivery rule .* got the string "iot.commands"/);
  });

  it('requires kafka, a legal Kafka topic name', () => {
    oneProblem('delivery: [{ name: c }]\n', 'delivery[0] "c".kafka', /is required \(the Kafka topic this rule reads\)/);
    oneProblem("delivery: [{ name: c, kafka: 'iot/commands' }]\n", 'delivery[0] "c".kafka', /may only contain letters, digits.*"\/"/);
    oneProblem(`delivery: [{ name: c, kafka: ${'x'.repeat(250)} }]\n`, 'delivery[0] "c".kafka', /at most 249 characters/);
    oneProblem("delivery: [{ kafka: '..' }]\n", 'delivery[0].kafka', /cannot be "\.\."/);
  });

  it('refuses unknown keys, naming the closest one', () => {
    oneProblem('delivery: [{ name: c, kafka: t, mqtt_topic: x }]\n', 'delivery[0] "c".mqtt_topic', /did you mean "mqttTopic"/);
    oneProblem('delivery: [{ name: c, kafka: t, zzzzzz: x }]\n', 'delivery[0] "c".zzzzzz', /known keys here: name, kafka, mqttTopic, qos/);
  });

  it('refuses a QoS other than 0, 1, 2, and a name that is not a non-empty string', () => {
    oneProblem('delivery: [{ name: c, kafka: t, qos: 3 }]\n', 'delivery[0] "c".qos', /expected 0, 1 or 2.*the number 3/);
    oneProblem("delivery: [{ name: c, kafka: t, qos: '1' }]\n", 'delivery[0] "c".qos', /expected 0, 1 or 2/);
    oneProblem("delivery: [{ name: '', kafka: t }]\n", 'delivery[0].name', /expected a non-empty rule name/);
    oneProblem('delivery: [{ name: 7, kafka: t }]\n', 'delivery[0].name', /expected a non-empty rule name, got the number 7/);
  });

  it('refuses duplicate names and two rules on one Kafka topic', () => {
    oneProblem('delivery: [{ name: c, kafka: a }, { name: c, kafka: b }]\n', 'delivery[1] "c".name', /duplicate rule name: delivery\[0\] is also named "c"/);
    oneProblem('delivery: [{ name: c, kafka: a }, { name: d, kafka: a }]\n', 'delivery[1] "d".kafka', /delivery\[0\] "c" already reads Kafka topic a: one rule per Kafka topic/);
    oneProblem('delivery: [{ kafka: a }, { name: "delivery[0]", kafka: b }]\n', 'delivery[1] "delivery[0]".name', /duplicate rule name/);
  });

  it('refuses a rule reading the retained topic', () => {
    oneProblem('delivery: [{ name: c, kafka: mqtt.retained }]\n', 'delivery[0] "c".kafka', /mqtt\.retained is retained\.topic/);
    oneProblem('retained: { topic: r }\ndelivery: [{ name: c, kafka: r }]\n', 'delivery[0] "c".kafka', /r is retained\.topic/);
    assert.equal(parse('retained: { topic: r }\ndelivery: [{ name: c, kafka: mqtt.retained }]\n').delivery.length, 1);
  });

  describe('templates, checked at load', () => {
    const template = (text: string): string => `delivery: [{ name: c, kafka: t, mqttTopic: ${JSON.stringify(text)} }]\n`;
    const at = 'delivery[0] "c".mqttTopic';
    it('an unknown placeholder, with a hint', () => {
      oneProblem(template('devices/${id}/commands'), at, /unknown placeholder \$\{id\} \(known: \$\{key\}, \$\{topic\}, \$\{partition\}, \$\{header\.NAME\}\)/);
      oneProblem(template('devices/${Key}'), at, /did you mean \$\{key\}\?/);
      oneProblem(template('devices/${headers.x}'), at, /did you mean \$\{header\.x\}\?/);
      oneProblem(template('devices/${header.}'), at, /names no header/);
    });
    it('a wildcard in the fixed text: no record could ever be delivered', () => {
      oneProblem(template('devices/+/commands'), at, /contains '\+', a wildcard.*no record could be delivered/);
      oneProblem(template('devices/${key}/#'), at, /contains '#', a wildcard/);
    });
    it('U+0000, a lone $, an unterminated placeholder, an empty template', () => {
      oneProblem(template('a\u0000b'), at, /U\+0000/);
      oneProblem(template('$SYS/${key}'), at, /a lone '\$' at character 1: write \$\$ for a literal/);
      oneProblem(template('devices/${key'), at, /unterminated "\$\{" at character 9/);
      oneProblem(template(''), at, /an empty template gives no MQTT topic; leave mqttTopic out/);
      oneProblem('delivery: [{ name: c, kafka: t, mqttTopic: 5 }]\n', at, /expected an MQTT topic template .* got the number 5/);
    });
    it('fixed text longer than any MQTT topic', () => {
      oneProblem(template(`${'a'.repeat(65_536)}`), at, /longer than 65535 UTF-8 bytes/);
    });
    it('every problem of every rule in one round', () => {
      const found = problems("delivery: [{ name: a, kafka: 'x y', mqttTopic: '+' }, { name: b, kafka: t, qos: 5, mqttTopic: '${nope}' }]\n");
      assert.deepEqual(found.map((line) => line.split(': ')[0]), ['delivery[0] "a".kafka', 'delivery[0] "a".mqttTopic', 'delivery[1] "b".mqttTopic', 'delivery[1] "b".qos']);
    });
  });

  it('parseMqttTopicTemplate gives the parts the router renders', () => {
    assert.deepEqual(parseMqttTopicTemplate('$$x/${key}/${header.a.b}-${partition}${topic}'), {
      ok: true,
      parts: [
        { kind: 'literal', text: '$x/' },
        { kind: 'key' },
        { kind: 'literal', text: '/' },
        { kind: 'header', name: 'a.b' },
        { kind: 'literal', text: '-' },
        { kind: 'partition' },
        { kind: 'topic' },
      ],
    });
    assert.deepEqual(parseMqttTopicTemplate('\ud83d\ude00/${key}'), { ok: true, parts: [{ kind: 'literal', text: '\ud83d\ude00/' }, { kind: 'key' }] });
    assert.equal(parseMqttTopicTemplate('a\ud83d/${key}').ok, false, 'a lone surrogate');
  });
});

describe('retained', () => {
  it('reads topic and enabled', () => {
    assert.deepEqual(parse('retained: { topic: iot.retained, enabled: false }\n').retained, { topic: 'iot.retained', enabled: false });
    assert.deepEqual(parse('retained:\n').retained, { topic: 'mqtt.retained', enabled: true });
  });
  it('refuses an illegal topic, a non-boolean, unknown keys', () => {
    oneProblem("retained: { topic: 'a b' }\n", 'retained.topic', /may only contain letters/);
    oneProblem('retained: { topic: 5 }\n', 'retained.topic', /expected a Kafka topic name, got the number 5/);
    oneProblem("retained: { enabled: 'yes' }\n", 'retained.enabled', /expected true or false/);
    oneProblem('retained: { topc: x }\n', 'retained.topc', /did you mean "topic"/);
    oneProblem('retained: [x]\n', 'retained', /expected a mapping \(keys: topic, enabled\)/);
  });
});

describe('sessions', () => {
  it('absent: on, at mqtt.sessions, for at most a day', () => {
    assert.deepEqual(parse('').sessions, { enabled: true, topic: 'mqtt.sessions', maxExpirySeconds: 86400, leaseSeconds: 15 });
    assert.deepEqual(DEFAULTS.sessions, parse('').sessions);
  });

  it('takes its topic, its bound and enabled: false', () => {
    assert.deepEqual(parse('sessions: { topic: iot.sessions, maxExpirySeconds: 3600, enabled: false, leaseSeconds: 5 }\n').sessions, { topic: 'iot.sessions', maxExpirySeconds: 3600, enabled: false, leaseSeconds: 5 });
    assert.equal(parse('sessions: { maxExpirySeconds: 4294967295 }\n').sessions.maxExpirySeconds, 0xffffffff);
  });

  it('names what is wrong', () => {
    oneProblem('sessions: { topic: "bad topic" }\n', 'sessions.topic', /./);
    oneProblem('sessions: { topic: 7 }\n', 'sessions.topic', /Kafka topic name/);
    oneProblem('sessions: { maxExpirySeconds: 0 }\n', 'sessions.maxExpirySeconds', /integer from 1 to 4294967295/);
    oneProblem('sessions: { maxExpirySeconds: 4294967296 }\n', 'sessions.maxExpirySeconds', /integer from 1/);
    oneProblem('sessions: { enabled: yes please }\n', 'sessions.enabled', /./);
    oneProblem('sessions: { expiry: 5 }\n', 'sessions.expiry', /./);
    oneProblem('sessions: { leaseSeconds: 0 }\n', 'sessions.leaseSeconds', /integer from 1 to 3600/);
  });

  it('needs a topic of its own: not the retained topic, not a delivery rule\'s', () => {
    oneProblem('sessions: { topic: mqtt.retained }\n', 'sessions.topic', /also retained\.topic/);
    oneProblem('delivery: [{ name: c, kafka: mqtt.sessions }]\n', 'delivery[0] "c".kafka', /mqtt\.sessions is sessions\.topic/);
  });
});
