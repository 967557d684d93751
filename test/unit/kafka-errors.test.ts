import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import kafkajs from 'kafkajs';
import { ProduceError, classifyProduceError, type ProduceFailureReason } from '../../src/kafka/errors.js';

// kafkajs is CommonJS and spreads its error classes into module.exports, so Node cannot see them as
// named ESM exports: take them from the default export.
const {
  KafkaJSAggregateError,
  KafkaJSConnectionError,
  KafkaJSError,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
  KafkaJSRequestTimeoutError,
} = kafkajs;

// The real protocol error table, to build errors exactly as kafkajs does from a broker's error code.
const require = createRequire(import.meta.url);
const { createErrorFromCode } = require('kafkajs/src/protocol/error.js') as {
  createErrorFromCode(code: number): InstanceType<typeof KafkaJSProtocolError>;
};
// Classes exported by kafkajs but missing from (or typed differently in) its .d.ts.
const extraClasses = kafkajs as unknown as {
  KafkaJSTimeout: new (message: string) => Error;
  KafkaJSLockTimeout: new (message: string) => Error;
  KafkaJSConnectionClosedError: new (message: string, options?: { host?: string; port?: number }) => Error;
  KafkaJSNoBrokerAvailableError: new () => Error;
};

/** Wraps like kafkajs' retrier does when it gives up. */
function retriesExceeded(error: Error): Error {
  const cause = (error as { cause?: unknown }).cause ?? error;
  return new KafkaJSNumberOfRetriesExceeded(error, { retryCount: 5, retryTime: 1000, cause } as never);
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
  // [broker error code, kafkajs type, reason]
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

  for (const [code, type, reason] of table) {
    test(`${type} (kafkajs protocol error for code ${code}) -> ${reason}, not retriable`, () => {
      const thrown = createErrorFromCode(code);
      assert.equal(thrown.type, type, 'kafkajs maps this code to another type');
      assert.equal(thrown.name, 'KafkaJSProtocolError');
      const classified = expectClass(thrown, reason, type);
      assert.equal(classified.retriable, false);
      assert.equal(classified.message, thrown.message);
      assert.equal(classified.cause, thrown);
    });

    test(`${type} after kafkajs gave up retrying (KafkaJSNumberOfRetriesExceeded) -> ${reason}`, () => {
      const thrown = retriesExceeded(createErrorFromCode(code));
      assert.equal(thrown.name, 'KafkaJSNumberOfRetriesExceeded');
      const classified = expectClass(thrown, reason, type);
      assert.equal(classified.retriable, false);
      assert.equal(classified.cause, thrown);
    });
  }

  test('plain objects shaped like kafkajs errors are classified the same', () => {
    expectClass({ name: 'KafkaJSProtocolError', type: 'MESSAGE_TOO_LARGE', retriable: false, message: 'big' }, 'record-too-large', 'MESSAGE_TOO_LARGE');
  });

  test('the protocol code decides even when kafkajs marked the error retriable', () => {
    // kafkajs says UNKNOWN_TOPIC_OR_PARTITION is retriable (it may be created); the proxy does not create topics.
    const thrown = new KafkaJSProtocolError(
      Object.assign(new Error('This server does not host this topic-partition'), { type: 'UNKNOWN_TOPIC_OR_PARTITION', code: 3, retriable: true }),
    );
    assert.equal(thrown.retriable, true);
    expectClass(thrown, 'topic-missing', 'UNKNOWN_TOPIC_OR_PARTITION');
  });
});

describe('classifyProduceError: everything else is retriable', () => {
  test('a retriable protocol error (NOT_LEADER_FOR_PARTITION) -> unavailable, keeping the code', () => {
    const classified = expectClass(createErrorFromCode(6), 'unavailable', 'NOT_LEADER_FOR_PARTITION');
    assert.equal(classified.retriable, true);
  });

  test('REQUEST_TIMED_OUT from the broker -> retriable, keeping the code', () => {
    const classified = classifyProduceError(createErrorFromCode(7));
    assert.equal(classified.retriable, true);
    assert.equal(classified.kafkaCode, 'REQUEST_TIMED_OUT');
  });

  test('a protocol code outside the list falls back to unavailable and keeps the code', () => {
    const thrown = createErrorFromCode(21); // INVALID_REQUIRED_ACKS, kafkajs: not retriable
    assert.equal(thrown.type, 'INVALID_REQUIRED_ACKS');
    expectClass(thrown, 'unavailable', 'INVALID_REQUIRED_ACKS');
  });

  test('KafkaJSConnectionError -> unavailable, no code, message kept', () => {
    const thrown = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092', { broker: '127.0.0.1:9092' });
    const classified = expectClass(thrown, 'unavailable', undefined);
    assert.equal(classified.retriable, true);
    assert.equal(classified.message, 'Connection error: connect ECONNREFUSED 127.0.0.1:9092');
    assert.equal(classified.cause, thrown);
  });

  test('KafkaJSConnectionClosedError and KafkaJSNoBrokerAvailableError -> unavailable', () => {
    expectClass(new extraClasses.KafkaJSConnectionClosedError('Closed connection', { host: 'h', port: 9092 }), 'unavailable');
    expectClass(new extraClasses.KafkaJSNoBrokerAvailableError(), 'unavailable');
  });

  test('KafkaJSRequestTimeoutError -> timeout', () => {
    const classified = expectClass(new KafkaJSRequestTimeoutError('Request Produce(key: 0, version: 7) timed out'), 'timeout');
    assert.equal(classified.retriable, true);
  });

  test('KafkaJSTimeout -> timeout', () => {
    expectClass(new extraClasses.KafkaJSTimeout('Timeout'), 'timeout');
  });

  test('KafkaJSLockTimeout is retriable', () => {
    assert.equal(classifyProduceError(new extraClasses.KafkaJSLockTimeout('Timeout while acquiring lock')).retriable, true);
  });

  test('retries exhausted after connection errors -> unavailable, message of the outermost error', () => {
    const inner = new KafkaJSConnectionError('Connection error: ECONNREFUSED');
    const thrown = retriesExceeded(inner);
    const classified = expectClass(thrown, 'unavailable');
    assert.equal(classified.message, thrown.message);
    assert.equal(classified.cause, thrown);
  });

  test('retries exhausted after request timeouts -> timeout', () => {
    expectClass(retriesExceeded(new KafkaJSRequestTimeoutError('Request timed out')), 'timeout');
  });

  test('a non-retriable kafkajs error with no protocol code is still classified unavailable (retriable)', () => {
    expectClass(new KafkaJSNonRetriableError('something odd'), 'unavailable');
    expectClass(new KafkaJSError('generic'), 'unavailable');
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

  test('a non-string message or type is ignored', () => {
    const classified = expectClass({ name: 'X', message: 7, type: 10 }, 'unavailable', undefined);
    assert.equal(classified.message, '[object Object]');
  });

  test('a timeout error name only counts when it is exact', () => {
    expectClass({ name: 'KafkaJSRequestTimeoutErrorish', message: 'm' }, 'unavailable');
  });
});

describe('classifyProduceError: chains', () => {
  test('a ProduceError is returned as it is', () => {
    const error = new ProduceError('shutting-down', 'bye');
    assert.equal(classifyProduceError(error), error);
  });

  test('legacy originalError wrapping is followed', () => {
    const thrown = {
      name: 'KafkaJSNumberOfRetriesExceeded',
      message: 'outer',
      retriable: false,
      originalError: { name: 'KafkaJSProtocolError', type: 'TOPIC_AUTHORIZATION_FAILED', retriable: false, message: 'inner' },
    };
    const classified = expectClass(thrown, 'not-authorized', 'TOPIC_AUTHORIZATION_FAILED');
    assert.equal(classified.message, 'outer');
    expectClass({ name: 'W', message: 'w', originalError: new KafkaJSRequestTimeoutError('t') }, 'timeout');
  });

  test('standard Error cause chains are followed', () => {
    const thrown = new Error('send failed', { cause: new Error('batch', { cause: createErrorFromCode(10) }) });
    expectClass(thrown, 'record-too-large', 'MESSAGE_TOO_LARGE');
  });

  test('KafkaJSAggregateError: a listed code in any member decides', () => {
    const thrown = new KafkaJSAggregateError('Produce failed', [
      new KafkaJSConnectionError('Connection error'),
      createErrorFromCode(32), // INVALID_TIMESTAMP
    ]);
    const classified = expectClass(thrown, 'invalid-record', 'INVALID_TIMESTAMP');
    assert.equal(classified.message, 'Produce failed');
    assert.equal(classified.cause, thrown);
  });

  test('KafkaJSAggregateError of retriable members -> unavailable with the first code found', () => {
    const thrown = new KafkaJSAggregateError('Produce failed', [
      new KafkaJSConnectionError('Connection error'),
      createErrorFromCode(6), // NOT_LEADER_FOR_PARTITION
      createErrorFromCode(5), // LEADER_NOT_AVAILABLE
    ]);
    expectClass(thrown, 'unavailable', 'NOT_LEADER_FOR_PARTITION');
  });

  test('KafkaJSAggregateError with a request timeout member -> timeout', () => {
    expectClass(new KafkaJSAggregateError('x', [new KafkaJSConnectionError('c'), new KafkaJSRequestTimeoutError('t')]), 'timeout');
  });

  test('a listed code wins over a timeout elsewhere in the chain', () => {
    const thrown = retriesExceeded(new KafkaJSAggregateError('x', [new KafkaJSRequestTimeoutError('t'), createErrorFromCode(10)]));
    expectClass(thrown, 'record-too-large', 'MESSAGE_TOO_LARGE');
  });

  test('with two listed codes the outermost (then first) one decides', () => {
    expectClass(new KafkaJSAggregateError('x', [createErrorFromCode(29), createErrorFromCode(10)]), 'not-authorized', 'TOPIC_AUTHORIZATION_FAILED');
    const outer = Object.assign(new Error('outer'), { type: 'MESSAGE_TOO_LARGE', cause: createErrorFromCode(29) });
    expectClass(outer, 'record-too-large', 'MESSAGE_TOO_LARGE');
  });

  test('deep nesting: retries -> aggregate -> Error cause -> protocol error', () => {
    const thrown = retriesExceeded(
      new KafkaJSAggregateError('agg', [new KafkaJSConnectionError('c'), new Error('wrap', { cause: createErrorFromCode(87) })]),
    );
    expectClass(thrown, 'invalid-record', 'INVALID_RECORD');
  });

  test('non-error members of an aggregate (strings, null) are skipped', () => {
    expectClass(new KafkaJSAggregateError('agg', ['just a string', null as never, createErrorFromCode(3)]), 'topic-missing', 'UNKNOWN_TOPIC_OR_PARTITION');
  });

  test('cycles terminate: cause loops, self-reference, aggregate containing itself', () => {
    const a: { name: string; message: string; cause?: unknown; originalError?: unknown; errors?: unknown[] } = { name: 'A', message: 'a' };
    const b = { name: 'B', message: 'b', originalError: a };
    a.cause = b;
    a.errors = [a, b];
    expectClass(a, 'unavailable');

    const self = new Error('self') as Error & { cause?: unknown };
    self.cause = self;
    expectClass(self, 'unavailable');
  });

  test('cycles terminate and a listed code inside the cycle is still found', () => {
    const a: { name: string; message: string; cause?: unknown } = { name: 'A', message: 'a' };
    const b = { name: 'B', message: 'b', originalError: a, errors: [{ name: 'KafkaJSProtocolError', type: 'CORRUPT_MESSAGE', message: 'c' }] };
    a.cause = b;
    expectClass(a, 'invalid-record', 'CORRUPT_MESSAGE');
  });

  test('a shared (non-cyclic) inner error reachable twice is handled', () => {
    const shared = createErrorFromCode(10);
    expectClass({ name: 'X', message: 'x', cause: shared, errors: [shared, shared] }, 'record-too-large', 'MESSAGE_TOO_LARGE');
  });
});
