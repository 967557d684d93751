import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLegalKafkaTopic, kafkaTopicProblem, MAX_KAFKA_TOPIC_LENGTH } from '../../src/common/kafka-topic.js';

describe('Kafka topic legality', () => {
  it('accepts letters, digits, dot, underscore and dash, 1 to 249 characters', () => {
    for (const name of ['a', 'iot.telemetry', 'A_b-C.9', '...', '_', '-', 'x'.repeat(249)]) {
      assert.equal(kafkaTopicProblem(name), null, name);
      assert.equal(isLegalKafkaTopic(name), true, name);
    }
  });
  it('refuses the empty name', () => {
    assert.equal(kafkaTopicProblem(''), 'a Kafka topic name cannot be empty');
    assert.equal(isLegalKafkaTopic(''), false);
  });
  it('refuses "." and ".."', () => {
    assert.equal(kafkaTopicProblem('.'), 'a Kafka topic name cannot be "."');
    assert.equal(kafkaTopicProblem('..'), 'a Kafka topic name cannot be ".."');
    assert.equal(isLegalKafkaTopic('.'), false);
    assert.equal(isLegalKafkaTopic('..'), false);
  });
  it('refuses 250 characters and says how many there are', () => {
    assert.equal(MAX_KAFKA_TOPIC_LENGTH, 249);
    assert.equal(kafkaTopicProblem('x'.repeat(250)), 'a Kafka topic name has at most 249 characters, this one has 250');
    assert.equal(isLegalKafkaTopic('x'.repeat(250)), false);
  });
  it('refuses any other character and names it and its position', () => {
    assert.equal(
      kafkaTopicProblem('devices/a'),
      `a Kafka topic name may only contain letters, digits, '.', '_' and '-', not "/" (at character 8)`,
    );
    assert.match(kafkaTopicProblem('a b') ?? '', /not U\+0020 \(at character 2\)/);
    assert.match(kafkaTopicProblem('a\u0000') ?? '', /not U\+0000/);
    for (const name of ['a b', 'a/b', 'a+b', 'a#', 'a$b', 'ä', 'a:b', 'a\u{1F600}', 'a,b']) {
      assert.notEqual(kafkaTopicProblem(name), null, name);
      assert.equal(isLegalKafkaTopic(name), false, name);
    }
  });
});
