import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GenericError, MultipleErrors, NetworkError, ProtocolError, ResponseError, TimeoutError, UserError } from '@platformatic/kafka';
import { ProduceError, classifyProduceError, type ProduceFailureReason } from '../../src/kafka/errors.js';

/** A broker's error code as the client turns it into an error (its own protocol error table). */
function protocolError(code: number): ProtocolError {
  return new ProtocolError(code);
}

/** A Produce response carrying one broker error code, built as the client builds it. */
function responseError(code: number): ResponseError {
  return new ResponseError(0, 9, { '/responses/0/partitionResponses/0': [code, null] }, {});
}

/** The client's retry wrapper once it gives up: the errors of every attempt. */
function retriesExhausted(...errors: Error[]): MultipleErrors {
  return new MultipleErrors(`produce failed ${errors.length} times.`, errors);
}

function expectClass(error: unknown, reason: ProduceFailureReason, kafkaCode?: string): ProduceError {
  const classified = classifyProduceError(error);
  assert.ok(classified instanceof ProduceError);
  assert.equal(classified.reason, reason);
  assert.equal(classified.kafkaCode, kafkaCode);
  return classified;
}

describe('ProduceError', () => {
  const retriable: ProduceFailureReason[] = ['timeout', 'unavailable', 'shutting-down'];
  const fatal: ProduceFailureReason[] = ['record-too-large', 'topic-missing', 'not-authorized', 'invalid-record', 'unknown'];

  for (const reason of retriable) {
    test(`${reason} is retriable`, () => {
      assert.equal(new ProduceError(reason, 'm').retriable, true);
    });
  }
  for (const reason of fatal) {
    test(`${reason} is not retriable`, () => {
      assert.equal(new ProduceError(reason, 'm').retriable, false);
    });
  }

  test('carries name, message, reason, kafkaCode and cause, and is an Error', () => {
    const cause = new Error('inner');
    const error = new ProduceError('record-too-large', 'too big', 'MESSAGE_TOO_LARGE', { cause });
    assert.ok(error instanceof Error);
    assert.equal(error.name, 'ProduceError');
    assert.equal(error.message, 'too big');
    assert.equal(error.reason, 'record-too-large');
    assert.equal(error.kafkaCode, 'MESSAGE_TOO_LARGE');
    assert.equal(error.cause, cause);
    assert.equal(new ProduceError('timeout', 'm').kafkaCode, undefined);
  });
});

describe('classifyProduceError: Kafka protocol codes that sending again cannot fix', () => {
  // [broker error code, protocol error name, reason]
  const table: Array<[number, string, ProduceFailureReason]> = [
    [10, 'MESSAGE_TOO_LARGE', 'record-too-large'],
    [18, 'RECORD_LIST_TOO_LARGE', 'record-too-large'],
    [87, 'INVALID_RECORD', 'invalid-record'],
    [2, 'CORRUPT_MESSAGE', 'invalid-record'],
    [32, 'INVALID_TIMESTAMP', 'invalid-record'],
    [17, 'INVALID_TOPIC_EXCEPTION', 'topic-missing'],
    [3, 'UNKNOWN_TOPIC_OR_PARTITION', 'topic-missing'],
    [29, 'TOPIC_AUTHORIZATION_FAILED', 'not-authorized'],
    [31, 'CLUSTER_AUTHORIZATION_FAILED', 'not-authorized'],
    [53, 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED', 'not-authorized'],
  ];

  for (const [code, name, reason] of table) {
    test(`${name} (protocol error for code ${code}) -> ${reason}, not retriable`, () => {
      const thrown = protocolError(code);
      assert.equal(thrown.apiId, name, 'the client maps this code to another name');
      const classified = expectClass(thrown, reason, name);
      assert.equal(classified.retriable, false);
      assert.equal(classified.message, thrown.message);
      assert.equal(classified.cause, thrown);
    });

    test(`${name} in a produce response, after the client gave up retrying -> ${reason}`, () => {
      const thrown = retriesExhausted(responseError(code));
      const classified = expectClass(thrown, reason, name);
      assert.equal(classified.retriable, false);
      assert.equal(classified.cause, thrown);
    });
  }

  test('plain objects shaped like the client\'s errors are classified the same', () => {
    expectClass({ name: 'ProtocolError', apiId: 'MESSAGE_TOO_LARGE', message: 'big' }, 'record-too-large', 'MESSAGE_TOO_LARGE');
  });

  test('the protocol code decides even when the client would retry it', () => {
    // UNKNOWN_TOPIC_OR_PARTITION is retriable for the client (the topic may be created); the proxy does not create topics.
    const thrown = protocolError(3);
    assert.equal(thrown.canRetry, true);
    expectClass(thrown, 'topic-missing', 'UNKNOWN_TOPIC_OR_PARTITION');
  });
});

describe('classifyProduceError: everything else is retriable', () => {
  test('a retriable protocol error (NOT_LEADER_OR_FOLLOWER) -> unavailable, keeping the code', () => {
    const classified = expectClass(protocolError(6), 'unavailable', 'NOT_LEADER_OR_FOLLOWER');
    assert.equal(classified.retriable, true);
  });

  test('REQUEST_TIMED_OUT from the broker -> retriable, keeping the code', () => {
    const classified = classifyProduceError(protocolError(7));
    assert.equal(classified.retriable, true);
    assert.equal(classified.kafkaCode, 'REQUEST_TIMED_OUT');
  });

  test('a protocol code outside the list falls back to unavailable and keeps the code', () => {
    const thrown = protocolError(21);
    assert.equal(thrown.apiId, 'INVALID_REQUIRED_ACKS');
    expectClass(thrown, 'unavailable', 'INVALID_REQUIRED_ACKS');
  });

  test('a refused connection -> unavailable, no code, message kept', () => {
    const thrown = new NetworkError('Connection to 127.0.0.1:9092 failed.', { cause: new Error('connect ECONNREFUSED 127.0.0.1:9092') });
    const classified = expectClass(thrown, 'unavailable', undefined);
    assert.equal(classified.retriable, true);
    assert.equal(classified.message, 'Connection to 127.0.0.1:9092 failed.');
    assert.equal(classified.cause, thrown);
  });

  test('the client\'s TimeoutError -> timeout, although its code says PLT_KFK_NETWORK', () => {
    const thrown = new TimeoutError('Request timed out after 30000 ms.');
    assert.equal(thrown.code, 'PLT_KFK_NETWORK', 'the client now codes its timeouts otherwise: see isClientTimeout');
    const classified = expectClass(thrown, 'timeout');
    assert.equal(classified.retriable, true);
  });

  test('an error coded PLT_KFK_TIMEOUT -> timeout', () => {
    expectClass(new GenericError('PLT_KFK_TIMEOUT', 'timed out'), 'timeout');
  });

  test('retries exhausted after connection errors -> unavailable, message of the outermost error', () => {
    const thrown = retriesExhausted(new NetworkError('Connection closed'), new NetworkError('Connection closed'));
    const classified = expectClass(thrown, 'unavailable');
    assert.equal(classified.message, thrown.message);
    assert.equal(classified.cause, thrown);
  });

  test('retries exhausted after request timeouts -> timeout', () => {
    expectClass(retriesExhausted(new NetworkError('Connection closed'), new TimeoutError('Request timed out')), 'timeout');
  });

  test('the client closing while it retried -> unavailable', () => {
    expectClass(retriesExhausted(new NetworkError('Connection closed'), new UserError('Client closed while retrying produce.')), 'unavailable');
  });

  test('plain Error -> unavailable', () => {
    const classified = expectClass(new Error('socket hang up'), 'unavailable');
    assert.equal(classified.message, 'socket hang up');
  });

  test('things that are not objects -> unavailable with their string form as message', () => {
    assert.equal(expectClass('boom', 'unavailable').message, 'boom');
    assert.equal(expectClass(undefined, 'unavailable').message, 'undefined');
    assert.equal(expectClass(null, 'unavailable').message, 'null');
    assert.equal(expectClass(42, 'unavailable').message, '42');
  });

  test('a non-string message or protocol name is ignored', () => {
    const classified = expectClass({ name: 'X', message: 7, apiId: 10 }, 'unavailable', undefined);
    assert.equal(classified.message, '[object Object]');
  });

  test('a timeout only counts from the client: another error named TimeoutError is not one', () => {
    expectClass({ name: 'TimeoutError', message: 'm' }, 'unavailable');
  });
});

describe('classifyProduceError: chains', () => {
  test('a ProduceError is returned as it is', () => {
    const error = new ProduceError('shutting-down', 'bye');
    assert.equal(classifyProduceError(error), error);
  });

  test('standard Error cause chains are followed', () => {
    const thrown = new Error('send failed', { cause: new Error('batch', { cause: protocolError(10) }) });
    expectClass(thrown, 'record-too-large', 'MESSAGE_TOO_LARGE');
  });

  test('an aggregate: a listed code in any member decides', () => {
    const thrown = retriesExhausted(new NetworkError('Connection closed'), protocolError(32));
    const classified = expectClass(thrown, 'invalid-record', 'INVALID_TIMESTAMP');
    assert.equal(classified.message, thrown.message);
    assert.equal(classified.cause, thrown);
  });

  test('an aggregate of retriable members -> unavailable with the first code found', () => {
    expectClass(retriesExhausted(new NetworkError('Connection closed'), protocolError(6), protocolError(5)), 'unavailable', 'NOT_LEADER_OR_FOLLOWER');
  });

  test('a listed code wins over a timeout elsewhere in the chain', () => {
    expectClass(retriesExhausted(new TimeoutError('t'), responseError(10)), 'record-too-large', 'MESSAGE_TOO_LARGE');
  });

  test('with two listed codes the outermost (then first) one decides', () => {
    expectClass(retriesExhausted(protocolError(29), protocolError(10)), 'not-authorized', 'TOPIC_AUTHORIZATION_FAILED');
    const outer = Object.assign(new Error('outer'), { apiId: 'MESSAGE_TOO_LARGE', cause: protocolError(29) });
    expectClass(outer, 'record-too-large', 'MESSAGE_TOO_LARGE');
  });

  test('deep nesting: retries -> aggregate -> Error cause -> protocol error', () => {
    const thrown = retriesExhausted(new MultipleErrors('agg', [new NetworkError('c'), new Error('wrap', { cause: protocolError(87) })]));
    expectClass(thrown, 'invalid-record', 'INVALID_RECORD');
  });

  test('non-error members of an aggregate (strings, null) are skipped', () => {
    expectClass(new AggregateError(['just a string', null, protocolError(3)], 'agg'), 'topic-missing', 'UNKNOWN_TOPIC_OR_PARTITION');
  });

  test('cycles terminate: cause loops, self-reference, aggregate containing itself', () => {
    const a: { name: string; message: string; cause?: unknown; errors?: unknown[] } = { name: 'A', message: 'a' };
    const b = { name: 'B', message: 'b', cause: a };
    a.cause = b;
    a.errors = [a, b];
    expectClass(a, 'unavailable');

    const self = new Error('self') as Error & { cause?: unknown };
    self.cause = self;
    expectClass(self, 'unavailable');
  });

  test('cycles terminate and a listed code inside the cycle is still found', () => {
    const a: { name: string; message: string; cause?: unknown } = { name: 'A', message: 'a' };
    const b = { name: 'B', message: 'b', cause: a, errors: [{ name: 'ProtocolError', apiId: 'CORRUPT_MESSAGE', message: 'c' }] };
    a.cause = b;
    expectClass(a, 'invalid-record', 'CORRUPT_MESSAGE');
  });

  test('a shared (non-cyclic) inner error reachable twice is handled', () => {
    const shared = protocolError(10);
    expectClass({ name: 'X', message: 'x', cause: shared, errors: [shared, shared] }, 'record-too-large', 'MESSAGE_TOO_LARGE');
  });
});
