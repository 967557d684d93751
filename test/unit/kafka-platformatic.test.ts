import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AuthenticationError,
  MultipleErrors,
  NetworkError,
  ProtocolError,
  ResponseError,
  TimeoutError,
  UserError,
  murmur2 as libraryMurmur2,
} from '@platformatic/kafka';
import { Secret } from '../../src/config/types.js';
import { classifyProduceError, type ProduceFailureReason } from '../../src/kafka/errors.js';
import { javaPartition, murmur2 } from '../../src/kafka/murmur2.js';
import { saslOptions } from '../../src/kafka/platformatic-client.js';
import { describeConnectFailure } from '../../src/kafka/security.js';

const PRODUCE_API = 0;

/** A Produce response carrying one broker error code, built as @platformatic/kafka builds it. */
function responseError(code: number): ResponseError {
  return new ResponseError(PRODUCE_API, 9, { '/responses/0/partitionResponses/0': [code, null] }, {});
}

/** The library's retry wrapper around the errors of each attempt. */
function retried(...errors: Error[]): MultipleErrors {
  return new MultipleErrors(`produce failed ${errors.length} times.`, errors);
}

describe('@platformatic/kafka errors map to ProduceError reasons', () => {
  const cases: Array<[string, unknown, ProduceFailureReason, boolean, string | undefined]> = [
    ['MESSAGE_TOO_LARGE in a produce response', responseError(10), 'record-too-large', false, 'MESSAGE_TOO_LARGE'],
    ['RECORD_LIST_TOO_LARGE', responseError(18), 'record-too-large', false, 'RECORD_LIST_TOO_LARGE'],
    ['UNKNOWN_TOPIC_OR_PARTITION after the retries', retried(responseError(3), responseError(3)), 'topic-missing', false, 'UNKNOWN_TOPIC_OR_PARTITION'],
    ['TOPIC_AUTHORIZATION_FAILED', responseError(29), 'not-authorized', false, 'TOPIC_AUTHORIZATION_FAILED'],
    ['CLUSTER_AUTHORIZATION_FAILED (idempotent producer id)', new ProtocolError('CLUSTER_AUTHORIZATION_FAILED'), 'not-authorized', false, 'CLUSTER_AUTHORIZATION_FAILED'],
    ['CORRUPT_MESSAGE', responseError(2), 'invalid-record', false, 'CORRUPT_MESSAGE'],
    ['a request timeout', new TimeoutError('Request timed out after 30000 ms.'), 'timeout', true, undefined],
    ['a timeout after retries', retried(new NetworkError('Connection closed'), new TimeoutError('Request timed out.')), 'timeout', true, undefined],
    ['a refused connection', new NetworkError('Connection to 127.0.0.1:1 failed.', { cause: new Error('ECONNREFUSED') }), 'unavailable', true, undefined],
    ['a dropped connection after retries', retried(new NetworkError('Connection closed'), new NetworkError('Connection closed')), 'unavailable', true, undefined],
    ['NOT_LEADER_OR_FOLLOWER (a leader moving)', responseError(6), 'unavailable', true, 'NOT_LEADER_OR_FOLLOWER'],
    ['NOT_ENOUGH_REPLICAS', responseError(19), 'unavailable', true, 'NOT_ENOUGH_REPLICAS'],
    ['the client closing while retrying', retried(new NetworkError('Connection closed'), new UserError('Client closed while retrying produce.')), 'unavailable', true, undefined],
  ];
  for (const [name, error, reason, retriable, code] of cases) {
    test(name, () => {
      const classified = classifyProduceError(error);
      assert.equal(classified.reason, reason);
      assert.equal(classified.retriable, retriable);
      assert.equal(classified.kafkaCode, code);
      assert.equal(classified.cause, error);
    });
  }
});

describe('@platformatic/kafka connect failures', () => {
  test('bad SASL credentials are a misconfiguration, quoting the inner error', () => {
    const error = retried(new AuthenticationError('SASL authentication failed.', { cause: new ProtocolError('SASL_AUTHENTICATION_FAILED') }));
    const failure = describeConnectFailure(error);
    assert.equal(failure.misconfigured, true);
    assert.match(failure.reason, /^Kafka refused the proxy's SASL credentials \(check kafka\.sasl\): produce failed 1 times\.: SASL authentication failed\.$/);
  });
  test('a broker answering SASL_AUTHENTICATION_FAILED is a misconfiguration', () => {
    assert.equal(describeConnectFailure(responseError(58)).misconfigured, true);
  });
  test('a TLS failure inside the retry wrapper is a misconfiguration', () => {
    const failure = describeConnectFailure(retried(new NetworkError('Connection failed.', { cause: new Error('self-signed certificate in certificate chain') })));
    assert.equal(failure.misconfigured, true);
    assert.match(failure.reason, /check kafka\.ssl.*self-signed certificate/);
  });
  test('an unreachable cluster is not, and the reason says what the last attempt met', () => {
    const failure = describeConnectFailure(retried(new NetworkError('Connection to 127.0.0.1:1 failed.'), new NetworkError('Connection to 127.0.0.1:2 failed.')));
    assert.deepEqual(failure, { reason: 'produce failed 2 times.: Connection to 127.0.0.1:2 failed.', misconfigured: false });
  });
});

describe('murmur2 partitioning', () => {
  const keys = ['', 'a', 'ab', 'abc', 'abcd', 'devices/dev-1/telemetry', 'ключ', '21', 'the quick brown fox jumps over the lazy dog'];
  for (let i = 0; i < 200; i++) keys.push(`device-${i * 7919}`);
  test("equals @platformatic/kafka's port of the Java hash", () => {
    for (const key of keys) assert.equal(murmur2(Buffer.from(key)), libraryMurmur2(Buffer.from(key)), key);
  });
  test("gives the Java client's hashes (Kafka's UtilsTest.testMurmur2 vectors)", () => {
    const vectors: Array<[string, number]> = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [key, hash] of vectors) assert.equal(murmur2(Buffer.from(key)), hash, key);
  });
  test("puts every key on the Java client's partition: positive hash modulo the partition count", () => {
    for (const partitions of [1, 3, 7, 12]) {
      for (const key of keys) {
        const expected = (murmur2(Buffer.from(key)) & 0x7fffffff) % partitions;
        assert.equal(javaPartition(Buffer.from(key), partitions), expected, `${key} over ${partitions}`);
      }
    }
  });
  test('has keys with a negative hash, where unsigned partitioning would differ', () => {
    assert.ok(keys.some((key) => murmur2(Buffer.from(key)) < 0 && (murmur2(Buffer.from(key)) >>> 0) % 3 !== javaPartition(Buffer.from(key), 3)));
  });
});

describe('@platformatic/kafka SASL option', () => {
  test('names the mechanisms as the library does', () => {
    const password = new Secret('pw');
    assert.equal(saslOptions(null), undefined);
    assert.deepEqual(saslOptions({ mechanism: 'plain', username: 'u', password }), { mechanism: 'PLAIN', username: 'u', password: 'pw' });
    assert.deepEqual(saslOptions({ mechanism: 'scram-sha-256', username: 'u', password }), { mechanism: 'SCRAM-SHA-256', username: 'u', password: 'pw' });
    assert.deepEqual(saslOptions({ mechanism: 'scram-sha-512', username: 'u', password }), { mechanism: 'SCRAM-SHA-512', username: 'u', password: 'pw' });
  });
});
