// `mqtt-kafka-proxy topics`: every topic the config names, once, compacted where the proxy keeps state.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { topicCommandsText, topicNeeds } from '../../src/cli/topics.js';
import { parseConfig } from '../../src/server/load-config.js';

const CONFIG = `
kafka: { brokers: ['k1:9092', 'k2:9092'] }
mappings:
  - { name: telemetry, match: '^devices/(?<id>[^/]+)/telemetry$', topic: iot.telemetry, key: '\${id}' }
  - { name: per-site, match: '^sites/(?<site>[^/]+)/.*$', topic: 'iot.site-\${site}' }
unmapped: { topic: iot.unmapped }
delivery:
  - { name: commands, kafka: iot.commands, mqttTopic: 'devices/\${key}/commands' }
  - { name: mirror, kafka: iot.telemetry }
auth: { anonymous: true }
`;

describe('topics', () => {
  it('lists the static topics once in the file\'s order, the state topics compacted, templates apart', () => {
    const { needs, templated } = topicNeeds(parseConfig(CONFIG, 'topics.yaml'));
    assert.deepEqual(needs.map((n) => [n.topic, n.compacted, n.why]), [
      ['iot.telemetry', false, 'mappings[0] "telemetry"'],
      ['iot.unmapped', false, 'unmapped.topic'],
      ['iot.commands', false, 'delivery[0] "commands"'],
      ['mqtt.retained', true, 'retained.topic'],
      ['mqtt.sessions', true, 'sessions.topic'],
    ]);
    assert.deepEqual(templated, ['mappings[1] "per-site": iot.site-${site}']);
  });

  it('leaves out what is off: retained messages, sessions, and sessions without delivery rules', () => {
    const off = topicNeeds(parseConfig(`${CONFIG}retained: { enabled: false }\nsessions: { enabled: false }\n`, 'topics.yaml')).needs.map((n) => n.topic);
    assert.ok(!off.includes('mqtt.retained') && !off.includes('mqtt.sessions'));
    const ingestOnly = topicNeeds(parseConfig(`mappings: [{ name: a, match: '^a$', topic: iot.a }]\nauth: { anonymous: true }\n`, 'topics.yaml')).needs.map((n) => n.topic);
    assert.deepEqual(ingestOnly, ['iot.a', 'mqtt.retained']);
  });

  it('prints one kafka-topics command per topic against the configured brokers', () => {
    const text = topicCommandsText(parseConfig(CONFIG, 'topics.yaml'));
    assert.match(text, /^kafka-topics\.sh --bootstrap-server k1:9092,k2:9092 --create --if-not-exists --topic mqtt\.sessions --config cleanup\.policy=compact$/m);
    assert.match(text, /^kafka-topics\.sh --bootstrap-server k1:9092,k2:9092 --create --if-not-exists --topic iot\.commands$/m);
    assert.equal(text.split('\n').filter((l) => l.startsWith('kafka-topics.sh')).length, 5);
  });
});
