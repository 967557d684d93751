import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { missingTopics, staticTopics } from '../../src/kafka/topic-check.js';

const rule = (name: string, topic: string) => ({ name, match: '.', topic, key: null });

describe('static target topics', () => {
  it('are the topic templates without placeholders, plus unmapped.topic', () => {
    const rules = [rule('a', 'iot.a'), rule('b', 'iot.$1'), rule('c', 'iot.${deviceId}'), rule('d', '${topic}'), rule('e', 'iot-e_x')];
    assert.deepEqual(staticTopics(rules, { action: 'topic', topic: 'iot.unmapped' }), [
      { rule: 'a', topic: 'iot.a' },
      { rule: 'e', topic: 'iot-e_x' },
      { rule: 'unmapped', topic: 'iot.unmapped' },
    ]);
    assert.deepEqual(staticTopics(rules, { action: 'reject' }).length, 2);
  });
  it('are missing when Kafka does not list them', () => {
    const targets = [
      { rule: 'a', topic: 'x' },
      { rule: 'b', topic: 'y' },
      { rule: 'c', topic: 'x' },
    ];
    assert.deepEqual(missingTopics(targets, ['x', 'z']), [{ rule: 'b', topic: 'y' }]);
    assert.deepEqual(missingTopics(targets, []), targets);
    assert.deepEqual(missingTopics(targets, new Set(['x', 'y'])), []);
  });
});
