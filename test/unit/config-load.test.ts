import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError, DEFAULTS, type ConfigOverrides, type ProxyConfig } from '../../src/config/index.js';
import { loadConfig, parseConfig } from '../../src/server/load-config.js';
import { availableMemoryBytes, inflightDefaults } from '../../src/config/memory.js';
import { compileRouter } from '../../src/mapping/router.js';

// Tests run from dist/test/unit; the fixtures stay in the source tree.
const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/configs/', import.meta.url));
const fixture = (name: string): string => join(FIXTURES, name);

/** The smallest valid text; tests add the part they are about. */
const RULES_ONLY = `
mappings:
  - name: all
    match: '^(.*)$'
    topic: iot.all
`;
const VALID_BASE = `${RULES_ONLY}auth:
  anonymous: true
`;

function parse(text: string, overrides?: ConfigOverrides): ProxyConfig {
  return parseConfig(text, 'test.yaml', overrides);
}

function errorOf(action: () => unknown): ConfigError {
  try {
    action();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a ConfigError');
}

/** The messages of every problem in `text`, one `FILE: PATH: PROBLEM` line each. */
function problemsOf(text: string, overrides?: ConfigOverrides): string[] {
  return errorOf(() => parse(text, overrides)).message.split('\n');
}

/** Asserts `text` is refused with exactly one problem at `path`, whose text matches `problem`. */
function assertOneProblem(text: string, path: string, problem: RegExp | string, overrides?: ConfigOverrides): void {
  const error = errorOf(() => parse(text, overrides));
  assert.deepEqual(
    error.problems.map((p) => p.path),
    [path],
    error.message,
  );
  if (typeof problem === 'string') assert.equal(error.problem, problem);
  else assert.match(error.problem, problem);
  assert.equal(error.file, 'test.yaml');
  assert.ok(error.message.startsWith(`test.yaml: ${path}: `), error.message);
}

describe('config: drain, reload and http.host', () => {
  it('reads them', () => {
    const config = parse(`${VALID_BASE}http: { port: 0, host: 127.0.0.1 }\ndrain: { delayMs: 0, timeoutMs: 1500 }\nreload: { watch: true }\n`);
    assert.deepEqual(config.http, { port: 0, host: '127.0.0.1' });
    assert.deepEqual(config.drain, { delayMs: 0, timeoutMs: 1500 });
    assert.deepEqual(config.reload, { watch: true });
  });
  it('names wrong values and unknown keys', () => {
    assertOneProblem(`${VALID_BASE}drain: { delayMs: -1 }\n`, 'drain.delayMs', /expected an integer from 0 to \d+, got the number -1$/);
    assertOneProblem(`${VALID_BASE}drain: { timeoutMs: '5s' }\n`, 'drain.timeoutMs', /got the string "5s"$/);
    assertOneProblem(`${VALID_BASE}drain: { delayMS: 5 }\n`, 'drain.delayMS', 'unknown key; did you mean "delayMs"?');
    assertOneProblem(`${VALID_BASE}reload: { watch: yes please }\n`, 'reload.watch', /expected true or false/);
    assertOneProblem(`${VALID_BASE}http: { host: 'a b' }\n`, 'http.host', /whitespace/);
  });
});

describe('config: valid files', () => {
  it('parses the DESIGN.md sample', () => {
    const config = loadConfig(fixture('design-sample.yaml'));
    assert.deepEqual(config, {
      source: fixture('design-sample.yaml'),
      listeners: [{ protocol: 'tcp', host: '0.0.0.0', port: 1883 }],
      kafka: {
        brokers: ['127.0.0.1:9092'],
        client: 'platformatic',
        clientId: 'mqtt-kafka-proxy',
        acks: { qos0: 1, qos1: 'all', qos2: 'all' },
        lingerMs: 5,
        batchMaxRecords: 1000,
        batchMaxBytes: 1048576,
        requestTimeoutMs: 30000,
        connectionTimeoutMs: 3000,
        ssl: null,
        sasl: null,
        requireTopics: false,
        compression: 'none',
      },
      mappings: [{ name: 'telemetry', match: '^devices/(?<deviceId>[^/]+)/telemetry$', topic: 'iot.telemetry', key: '${deviceId}' }],
      unmapped: { action: 'reject' },
      delivery: [],
      retained: { topic: 'mqtt.retained', enabled: true },
      sessions: { enabled: true, topic: 'mqtt.sessions', maxExpirySeconds: 86400, leaseSeconds: 15 },
      auth: {
        anonymous: true,
        certificate: 'ignore',
        deniedPublish311: 'disconnect',
        failureDelay: { initialMs: 250, maxMs: 10000, forgetAfterSeconds: 600, maxAddresses: 10000 },
        logins: {
          maxConcurrentHashes: DEFAULTS.auth.logins.maxConcurrentHashes,
          maxQueuedHashes: 32,
          maxPendingPerAddress: 8,
          knownGoodReserve: 1,
          knownGoodSeconds: 86400,
          maxKnownGood: 100000,
        },
        watchIntervalMs: 1000,
      },
      http: { port: 9090, host: '0.0.0.0' },
      drain: { delayMs: 5000, timeoutMs: 30000 },
      reload: { watch: false },
      limits: {
        ...DEFAULTS.limits,
        connectTimeoutSeconds: 10,
        maxConnections: 100000,
        maxConnectionsPerAddress: 0,
        maxConnectionsPerPublicAddress: 1000,
        maxClientIdLength: 256,
        minKeepAliveSeconds: 0,
        maxKeepAliveSeconds: 65535,
        publishRatePerSecond: 0,
        publishRateBurst: 0,
        maxQueuedDeliveries: 1000,
        maxQueuedDeliveriesTotal: 100000,
      },
      log: { level: 'info' },
    });
    const route = compileRouter(config).route({ topic: 'devices/d1/telemetry', clientId: 'c', username: undefined });
    assert.deepEqual(route, { kind: 'mapped', rule: 'telemetry', kafkaTopic: 'iot.telemetry', key: 'd1' });
  });

  it('applies every documented default', () => {
    const config = loadConfig(fixture('minimal.yaml'));
    assert.deepEqual(config.listeners, [{ protocol: 'tcp', host: '0.0.0.0', port: 1883 }]);
    assert.deepEqual(config.kafka, {
      brokers: ['127.0.0.1:9092'],
      client: 'platformatic',
      clientId: 'mqtt-kafka-proxy',
      acks: { qos0: 1, qos1: 'all', qos2: 'all' },
      lingerMs: 5,
      batchMaxRecords: 1000,
      batchMaxBytes: 1048576,
      requestTimeoutMs: 30000,
      connectionTimeoutMs: 3000,
      ssl: null,
      sasl: null,
      requireTopics: false,
      compression: 'none',
    });
    assert.deepEqual(config.mappings, [{ name: 'all', match: '^(.*)$', topic: 'iot.all', key: '${topic}' }]);
    assert.deepEqual(config.unmapped, { action: 'reject' });
    assert.deepEqual(config.http, { port: 9090, host: '0.0.0.0' });
    assert.deepEqual(config.limits, {
      maxPacketSize: 1048576,
      ...inflightDefaults(availableMemoryBytes()),
      maxInflightPerConnection: 1000,
      maxInflightBytesPerConnection: 8388608,
      inflightLowWater: 0.8,
      qos0Overload: 'block',
      connectTimeoutSeconds: 10,
      maxConnections: 100000,
      maxConnectionsPerAddress: 0,
      maxConnectionsPerPublicAddress: 1000,
      maxClientIdLength: 256,
      minKeepAliveSeconds: 0,
      maxKeepAliveSeconds: 65535,
      publishRatePerSecond: 0,
      publishRateBurst: 0,
      maxQueuedDeliveries: 1000,
      maxQueuedDeliveriesTotal: 100000,
    });
    assert.deepEqual(config.log, { level: 'info' });
  });

  it('exports the defaults it applies, frozen', () => {
    const config = loadConfig(fixture('minimal.yaml'));
    assert.deepEqual(config.kafka, DEFAULTS.kafka);
    assert.deepEqual(config.listeners, [DEFAULTS.listener]);
    assert.deepEqual(config.limits, DEFAULTS.limits);
    assert.deepEqual(config.http, DEFAULTS.http);
    assert.deepEqual(config.log, DEFAULTS.log);
    assert.deepEqual(config.unmapped, DEFAULTS.unmapped);
    assert.equal(DEFAULTS.mappingKey, '${topic}');
    assert.deepEqual(DEFAULTS.auth, {
      anonymous: false,
      certificate: 'ignore',
      deniedPublish311: 'disconnect',
      failureDelay: { initialMs: 250, maxMs: 10000, forgetAfterSeconds: 600, maxAddresses: 10000 },
      logins: {
        maxConcurrentHashes: DEFAULTS.auth.logins.maxConcurrentHashes,
        maxQueuedHashes: 32,
        maxPendingPerAddress: 8,
        knownGoodReserve: 1,
        knownGoodSeconds: 86400,
        maxKnownGood: 100000,
      },
      watchIntervalMs: 1000,
    });
    assert.ok(Object.isFrozen(DEFAULTS) && Object.isFrozen(DEFAULTS.kafka.acks) && Object.isFrozen(DEFAULTS.kafka.brokers));
  });

  it('returns a deeply frozen object', () => {
    const config = loadConfig(fixture('design-sample.yaml'));
    const parts = [
      config,
      config.listeners,
      config.listeners[0],
      config.kafka,
      config.kafka.brokers,
      config.kafka.acks,
      config.mappings,
      config.mappings[0],
      config.unmapped,
      config.auth,
      config.http,
      config.limits,
      config.log,
    ];
    for (const part of parts) assert.ok(Object.isFrozen(part));
    assert.throws(() => {
      (config.kafka.acks as { qos0: number }).qos0 = 0;
    }, TypeError);
    assert.throws(() => (config.kafka.brokers as string[]).push('x:1'), TypeError);
  });

  it('records the absolute path as source but names the file as given in messages', () => {
    const relativePath = relative(process.cwd(), fixture('bad-template.yaml'));
    const error = errorOf(() => loadConfig(relativePath));
    assert.equal(error.file, relativePath);
    const config = loadConfig(relative(process.cwd(), fixture('minimal.yaml')));
    assert.ok(isAbsolute(config.source));
    assert.equal(config.source, fixture('minimal.yaml'));
    assert.equal(parse(VALID_BASE).source, 'test.yaml');
  });

  it('appends topic.regex.list rules after mappings', () => {
    const config = loadConfig(fixture('confluent-regex-list.yaml'));
    assert.deepEqual(
      config.mappings.map((rule) => [rule.name, rule.topic, rule.match, rule.key]),
      [
        ['vip', 'cars.vip', '^car/vip/', '${topic}'],
        ['topic.regex.list[0]', 'temperature', '^(?:.*temperature)$', '${topic}'],
        ['topic.regex.list[1]', 'brightness', '^(?:.*brightness)$', '${topic}'],
        ['topic.regex.list[2]', 'speed', '^(?:car/[0-9]{1,3}/speed)$', '${topic}'],
      ],
    );
    const router = compileRouter(config);
    const route = (topic: string) => router.route({ topic, clientId: 'c', username: undefined });
    assert.deepEqual(route('car/vip/speed'), { kind: 'mapped', rule: 'vip', kafkaTopic: 'cars.vip', key: 'car/vip/speed' });
    assert.deepEqual(route('car/12/speed'), { kind: 'mapped', rule: 'topic.regex.list[2]', kafkaTopic: 'speed', key: 'car/12/speed' });
    assert.equal(route('car/1234/speed').kind, 'rejected');
  });

  it('accepts topic.regex.list alone', () => {
    const config = parse('topic.regex.list: "t:.*"\nauth: { anonymous: true }\n');
    assert.equal(config.mappings.length, 1);
  });

  it('accepts no rules when unmapped routes to a topic', () => {
    const config = parse('unmapped: { topic: iot.everything }\nauth: { anonymous: true }\n');
    assert.deepEqual(config.mappings, []);
    assert.deepEqual(config.unmapped, { action: 'topic', topic: 'iot.everything' });
  });

  it('reads mapping keys: absent is ${topic}, null is no key, a string is a template', () => {
    const config = parse(`
mappings:
  - { name: a, match: '^a/(.*)', topic: t.a }
  - { name: b, match: '^b/(.*)', topic: t.b, key: null }
  - { name: c, match: '^c/(.*)', topic: t.c, key: 'dev-$1' }
  - { name: d, match: '^d/(.*)', topic: t.d, key: '' }
auth: { anonymous: true }
`);
    assert.deepEqual(config.mappings.map((rule) => rule.key), ['${topic}', null, 'dev-$1', '']);
  });

  it('accepts every acks spelling, -1 meaning all', () => {
    const config = parse(`${VALID_BASE}kafka: { acks: { qos0: 0, qos1: -1, qos2: all } }\n`);
    assert.deepEqual(config.kafka.acks, { qos0: 0, qos1: 'all', qos2: 'all' });
    assert.deepEqual(parse(`${VALID_BASE}kafka: { acks: { qos0: all, qos1: 1 } }\n`).kafka.acks, { qos0: 'all', qos1: 1, qos2: 'all' });
  });

  it('accepts port 0 for listeners (ephemeral) and for http (disabled)', () => {
    const config = parse(`${VALID_BASE}listeners: [{ protocol: tcp, port: 0 }, { port: 0, host: 127.0.0.1 }]\nhttp: { port: 0 }\n`);
    assert.deepEqual(config.listeners, [
      { protocol: 'tcp', host: '0.0.0.0', port: 0 },
      { protocol: 'tcp', host: '127.0.0.1', port: 0 },
    ]);
    assert.equal(config.http.port, 0);
  });

  it('accepts brokers as host:port with names, IPv4 and bracketed IPv6', () => {
    const config = parse(`${VALID_BASE}kafka: { brokers: ['kafka-0.kafka.svc:9092', '10.0.0.1:19092', '[::1]:9092', 'localhost:1'] }\n`);
    assert.deepEqual(config.kafka.brokers, ['kafka-0.kafka.svc:9092', '10.0.0.1:19092', '[::1]:9092', 'localhost:1']);
  });

  it('treats a section with no value as absent', () => {
    const config = parse(`${VALID_BASE}kafka:\nlisteners:\nhttp:\nlimits:\nlog:\nunmapped:\n`);
    assert.deepEqual(config.kafka, DEFAULTS.kafka);
    assert.deepEqual(config.listeners, [DEFAULTS.listener]);
    assert.deepEqual(config.unmapped, { action: 'reject' });
  });

  it('reads every tunable', () => {
    const config = parse(`${VALID_BASE}
kafka: { clientId: edge, lingerMs: 0, batchMaxRecords: 10, batchMaxBytes: 2048, requestTimeoutMs: 100, connectionTimeoutMs: 200 }
limits:
  maxPacketSize: 4096
  maxInflightMessages: 7
  maxInflightBytes: 65536
  maxInflightPerConnection: 3
  maxInflightBytesPerConnection: 4096
  inflightLowWater: 0.5
  qos0Overload: drop
  connectTimeoutSeconds: 3
  maxConnections: 50
  maxConnectionsPerAddress: 5
  maxConnectionsPerPublicAddress: 4
  maxClientIdLength: 64
  minKeepAliveSeconds: 5
  maxKeepAliveSeconds: 300
  publishRatePerSecond: 100
  publishRateBurst: 500
log: { level: debug }
`);
    assert.equal(config.kafka.clientId, 'edge');
    assert.equal(config.kafka.lingerMs, 0);
    assert.equal(config.kafka.batchMaxRecords, 10);
    assert.equal(config.kafka.batchMaxBytes, 2048);
    assert.equal(config.kafka.requestTimeoutMs, 100);
    assert.equal(config.kafka.connectionTimeoutMs, 200);
    assert.deepEqual(config.limits, {
      maxPacketSize: 4096,
      maxInflightMessages: 7,
      maxInflightBytes: 65536,
      maxInflightPerConnection: 3,
      maxInflightBytesPerConnection: 4096,
      inflightLowWater: 0.5,
      qos0Overload: 'drop',
      connectTimeoutSeconds: 3,
      maxConnections: 50,
      maxConnectionsPerAddress: 5,
      maxConnectionsPerPublicAddress: 4,
      maxClientIdLength: 64,
      minKeepAliveSeconds: 5,
      maxKeepAliveSeconds: 300,
      publishRatePerSecond: 100,
      publishRateBurst: 500,
      maxQueuedDeliveries: 1000,
      maxQueuedDeliveriesTotal: 100000,
    });
    assert.equal(config.log.level, 'debug');
  });
});

describe('config: overrides', () => {
  it('replace brokers, the first listener port and the log level', () => {
    const text = `${VALID_BASE}listeners: [{ port: 1883 }, { port: 1884 }]\nkafka: { brokers: ['a:1'] }\nlog: { level: warn }\n`;
    const config = parse(text, { kafkaBrokers: ['b:2', 'c:3'], port: 0, logLevel: 'trace' });
    assert.deepEqual(config.kafka.brokers, ['b:2', 'c:3']);
    assert.deepEqual(config.listeners.map((l) => l.port), [0, 1884]);
    assert.equal(config.log.level, 'trace');
    assert.ok(Object.isFrozen(config.kafka.brokers));
  });
  it('apply to the default listener when the file has none', () => {
    assert.equal(parse(VALID_BASE, { port: 18830 }).listeners[0]?.port, 18830);
  });
  it('leave the file alone when empty', () => {
    assert.deepEqual(parse(VALID_BASE, {}), parse(VALID_BASE));
  });
  it('are validated like the file', () => {
    assert.deepEqual(problemsOf(VALID_BASE, { kafkaBrokers: ['nope'], port: 70000, logLevel: 'loud' as 'info' }), [
      'test.yaml: overrides.kafkaBrokers[0]: expected host:port (e.g. 127.0.0.1:9092, kafka-0.kafka:9092 or [::1]:9092), got "nope"',
      'test.yaml: overrides.port: expected an integer from 0 to 65535, got the number 70000',
      'test.yaml: overrides.logLevel: expected one of fatal, error, warn, info, debug, trace, silent, got the string "loud"',
    ]);
    assert.deepEqual(problemsOf(VALID_BASE, { kafkaBrokers: [] }), ['test.yaml: overrides.kafkaBrokers: needs at least one broker (host:port)']);
  });
});

describe('config: the file itself', () => {
  it('names a missing file', () => {
    const error = errorOf(() => loadConfig('/nonexistent/topic-mappings.yaml'));
    assert.equal(error.message, '/nonexistent/topic-mappings.yaml: cannot read the configuration file: no such file');
    assert.equal(error.path, '');
    assert.ok(error.cause instanceof Error);
  });
  it('names a directory given as the file', () => {
    const directory = mkdtempSync(join(tmpdir(), 'mkp-config-'));
    try {
      assert.equal(errorOf(() => loadConfig(directory)).message, `${directory}: cannot read the configuration file: it is a directory, not a file`);
    } finally {
      rmSync(directory, { recursive: true });
    }
  });
  it('reports a YAML syntax error with file, line and column', () => {
    const error = errorOf(() => loadConfig(fixture('yaml-syntax-error.yaml')));
    assert.equal(error.file, fixture('yaml-syntax-error.yaml'));
    assert.match(error.path, /^line 3, column 1$/);
    assert.match(error.problem, /^YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a \]$/);
    assert.match(error.message, /yaml-syntax-error\.yaml: line 3, column 1: YAML syntax error: /);
  });
  it('reports duplicate keys as YAML errors', () => {
    assert.deepEqual(problemsOf(`${VALID_BASE}http: { port: 1 }\nhttp: { port: 2 }\n`), [
      'test.yaml: line 9, column 1: YAML syntax error: Map keys must be unique',
    ]);
  });
  it('reports an alias to an undefined anchor', () => {
    assert.match(problemsOf(`${VALID_BASE}http: *nowhere\n`)[0] ?? '', /^test\.yaml: (line \d+, column \d+: YAML syntax error|YAML error): .*nowhere/);
  });
  it('refuses an empty file and one holding only comments', () => {
    for (const text of ['', '# nothing\n']) {
      assert.deepEqual(problemsOf(text), ['test.yaml: the file is empty: expected a YAML mapping with at least mappings and auth']);
    }
  });
  it('refuses a top level that is not a mapping', () => {
    assert.deepEqual(problemsOf('- a\n- b\n'), ['test.yaml: expected a YAML mapping at the top level, got a list']);
    assert.deepEqual(problemsOf('just text\n'), ['test.yaml: expected a YAML mapping at the top level, got the string "just text"']);
  });
});

describe('config: unknown keys', () => {
  it('suggests the close key', () => {
    const error = errorOf(() => loadConfig(fixture('unknown-key.yaml')));
    assert.equal(error.message, `${fixture('unknown-key.yaml')}: kafka.clientid: unknown key; did you mean "clientId"?`);
  });
  it('suggests at every level', () => {
    assertOneProblem(`${VALID_BASE}mapings: []\n`, 'mapings', 'unknown key; did you mean "mappings"?');
    assertOneProblem(`${VALID_BASE}listeners: [{ protcol: tcp }]\n`, 'listeners[0].protcol', /did you mean "protocol"\?/);
    assertOneProblem(`${VALID_BASE}kafka: { acks: { qos_1: all } }\n`, 'kafka.acks.qos_1', /did you mean "qos1"\?/);
    assertOneProblem(`${VALID_BASE}kafka: { linger_ms: 1 }\n`, 'kafka.linger_ms', /did you mean "lingerMs"\?/);
    assertOneProblem(`${VALID_BASE}limits: { maxPacketsize: 1 }\n`, 'limits.maxPacketsize', /did you mean "maxPacketSize"\?/);
    assertOneProblem(`${RULES_ONLY}auth: { anonymus: true }\n`, 'auth.anonymus', /did you mean "anonymous"\?/);
    assertOneProblem(`${VALID_BASE}log: { levl: info }\n`, 'log.levl', /did you mean "level"\?/);
    // The misspelt key also leaves the required one missing: both are true, both are said.
    assert.deepEqual(problemsOf(`${VALID_BASE}unmapped: { topc: x }\n`), [
      'test.yaml: unmapped.topc: unknown key; did you mean "topic"?',
      'test.yaml: unmapped.topic: is required (the Kafka topic for topics no rule matches)',
    ]);
  });
  it('suggests the dotted topic.regex.list for a nested one', () => {
    assertOneProblem(`${VALID_BASE}topic:\n  regex:\n    list: 'a:b'\n`, 'topic', 'unknown key; did you mean "topic.regex.list"?');
  });
  it('suggests within a mapping rule, naming the rule', () => {
    assertOneProblem(
      `mappings:\n  - { name: r, match: x, topic: t, kee: y }\nauth: { anonymous: true }\n`,
      'mappings[0] "r".kee',
      'unknown key; did you mean "key"?',
    );
  });
  it('lists the known keys when nothing is close', () => {
    assertOneProblem(`${VALID_BASE}http: { zzzzzz: 1 }\n`, 'http.zzzzzz', 'unknown key (known keys here: port, host)');
  });
});

describe('config: wrong types and values', () => {
  it('names the path and the expected type', () => {
    assertOneProblem(`${VALID_BASE}http: { port: '9090' }\n`, 'http.port', 'expected an integer from 0 to 65535, got the string "9090"');
    assertOneProblem(`${VALID_BASE}http: { port: 1.5 }\n`, 'http.port', /got the number 1\.5$/);
    assertOneProblem(`${VALID_BASE}http: { port: null }\n`, 'http.port', /got null$/);
    assertOneProblem(`${VALID_BASE}http: 9090\n`, 'http', 'expected a mapping (keys: port, host), got the number 9090');
    assertOneProblem(`${VALID_BASE}kafka: [a]\n`, 'kafka', /^expected a mapping .*got a list$/);
    assertOneProblem(`${VALID_BASE}kafka: { clientId: 7 }\n`, 'kafka.clientId', 'expected a non-empty string, got the number 7');
    assertOneProblem(`${VALID_BASE}kafka: { clientId: '' }\n`, 'kafka.clientId', /got the string ""$/);
    assertOneProblem(`${VALID_BASE}kafka: { lingerMs: -1 }\n`, 'kafka.lingerMs', /^expected an integer from 0 to 2147483647/);
    assertOneProblem(`${VALID_BASE}kafka: { batchMaxRecords: 0 }\n`, 'kafka.batchMaxRecords', /^expected an integer from 1 /);
    assertOneProblem(`${VALID_BASE}kafka: { requestTimeoutMs: 1e12 }\n`, 'kafka.requestTimeoutMs', /^expected an integer from 1 to 2147483647/);
    assertOneProblem(`${VALID_BASE}limits: { maxPacketSize: 0 }\n`, 'limits.maxPacketSize', /^expected an integer from 1 to 268435460/);
    assertOneProblem(`${VALID_BASE}limits: { maxInflightMessages: 0 }\n`, 'limits.maxInflightMessages', /^expected an integer from 1 /);
    assertOneProblem(`${VALID_BASE}limits: { maxInflightBytes: 100 }\n`, 'limits.maxInflightBytes', /^expected an integer from 1024 /);
    assertOneProblem(`${VALID_BASE}limits: { maxInflightPerConnection: 0 }\n`, 'limits.maxInflightPerConnection', /^expected an integer from 1 /);
    assertOneProblem(`${VALID_BASE}limits: { maxInflightBytesPerConnection: 100 }\n`, 'limits.maxInflightBytesPerConnection', /^expected an integer from 1024 /);
    assertOneProblem(`${VALID_BASE}limits: { inflightLowWater: 1 }\n`, 'limits.inflightLowWater', /^expected a number from 0 up to/);
    assertOneProblem(`${VALID_BASE}limits: { inflightLowWater: '0.5' }\n`, 'limits.inflightLowWater', /^expected a number from 0 up to/);
    assertOneProblem(`${VALID_BASE}limits: { qos0Overload: discard }\n`, 'limits.qos0Overload', /^expected one of block, drop/);
    assertOneProblem(`${VALID_BASE}limits: { connectTimeoutSeconds: 0 }\n`, 'limits.connectTimeoutSeconds', /^expected an integer from 1 /);
    assertOneProblem(`${VALID_BASE}log: { level: verbose }\n`, 'log.level', 'expected one of fatal, error, warn, info, debug, trace, silent, got the string "verbose"');
    assertOneProblem('mappings: {}\nauth: { anonymous: true }\n', 'mappings', /^expected a list of rules/);
  });

  it('checks ports: listeners 0..65535, http 0..65535', () => {
    assertOneProblem(`${VALID_BASE}listeners: [{ port: 65536 }]\n`, 'listeners[0].port', 'expected an integer from 0 to 65535, got the number 65536');
    assertOneProblem(`${VALID_BASE}listeners: [{ port: -1 }]\n`, 'listeners[0].port', /got the number -1$/);
    assertOneProblem(`${VALID_BASE}http: { port: 65536 }\n`, 'http.port', /got the number 65536$/);
    assert.equal(parse(`${VALID_BASE}listeners: [{ port: 65535 }]\nhttp: { port: 1 }\n`).listeners[0]?.port, 65535);
  });

  it('checks brokers are host:port', () => {
    assertOneProblem(`${VALID_BASE}kafka: { brokers: 127.0.0.1:9092 }\n`, 'kafka.brokers', /^expected a list of host:port strings .*got the string "127.0.0.1:9092"$/);
    assertOneProblem(`${VALID_BASE}kafka: { brokers: [] }\n`, 'kafka.brokers', 'needs at least one broker (host:port)');
    assertOneProblem(`${VALID_BASE}kafka: { brokers: [kafka] }\n`, 'kafka.brokers[0]', /^expected host:port .*got "kafka"$/);
    assertOneProblem(`${VALID_BASE}kafka: { brokers: ['kafka:0'] }\n`, 'kafka.brokers[0]', 'port 0 is not from 1 to 65535');
    assertOneProblem(`${VALID_BASE}kafka: { brokers: ['kafka:65536'] }\n`, 'kafka.brokers[0]', 'port 65536 is not from 1 to 65535');
    assertOneProblem(`${VALID_BASE}kafka: { brokers: ['PLAINTEXT://kafka:9092'] }\n`, 'kafka.brokers[0]', 'expected host:port without a scheme: write "kafka:9092"');
    assertOneProblem(`${VALID_BASE}kafka: { brokers: ['ok:1', 9092] }\n`, 'kafka.brokers[1]', 'expected a host:port string, got the number 9092');
    assertOneProblem(`${VALID_BASE}kafka: { brokers: ['::1:9092'] }\n`, 'kafka.brokers[0]', /^expected host:port/);
    assertOneProblem(`${VALID_BASE}kafka: { brokers: ['a b:9092'] }\n`, 'kafka.brokers[0]', /^expected host:port/);
  });

  it('checks acks', () => {
    assertOneProblem(`${VALID_BASE}kafka: { acks: { qos0: 2 } }\n`, 'kafka.acks.qos0', 'expected 0, 1 or all (-1 also means all), got the number 2');
    assertOneProblem(`${VALID_BASE}kafka: { acks: { qos1: '1' } }\n`, 'kafka.acks.qos1', /got the string "1"$/);
    assertOneProblem(`${VALID_BASE}kafka: { acks: { qos1: ALL } }\n`, 'kafka.acks.qos1', /got the string "ALL"$/);
    assertOneProblem(`${VALID_BASE}kafka: { acks: 1 }\n`, 'kafka.acks', /^expected a mapping \(keys: qos0, qos1, qos2\)/);
  });

  it('requires acks all for QoS 2 (idempotent producer)', () => {
    assertOneProblem(`${VALID_BASE}kafka: { acks: { qos2: 1 } }\n`, 'kafka.acks.qos2', /^QoS 2 needs acks all/);
  });

  it('checks listeners', () => {
    for (const protocol of ['tls', 'wss']) {
      assertOneProblem(`${VALID_BASE}listeners: [{ protocol: ${protocol} }]\n`, 'listeners[0].tls', new RegExp(`^is required for a ${protocol} listener`));
    }
    assertOneProblem(`${VALID_BASE}listeners: [{ protocol: mqtt }]\n`, 'listeners[0].protocol', 'expected one of tcp, tls, ws, wss, http, https, got the string "mqtt"');
    assertOneProblem(`${VALID_BASE}listeners: []\n`, 'listeners', /^needs at least one listener/);
    assertOneProblem(`${VALID_BASE}listeners: { port: 1 }\n`, 'listeners', /^expected a list of listeners/);
    assertOneProblem(`${VALID_BASE}listeners: [1883]\n`, 'listeners[0]', /^expected a mapping .*got the number 1883$/);
    assertOneProblem(`${VALID_BASE}listeners: [{ host: '' }]\n`, 'listeners[0].host', /^expected a host name or IP address/);
    assertOneProblem(`${VALID_BASE}listeners: [{ host: 'a b' }]\n`, 'listeners[0].host', /cannot contain whitespace/);
  });

  it('refuses two listeners or the admin server on the same port', () => {
    assertOneProblem(`${VALID_BASE}listeners: [{ port: 1883 }, { host: 127.0.0.1, port: 1883 }]\n`, 'listeners[1].port', 'port 1883 is already used by listeners[0]');
    assert.equal(parse(`${VALID_BASE}listeners: [{ host: 127.0.0.1, port: 1883 }, { host: 127.0.0.2, port: 1883 }]\n`).listeners.length, 2);
    assertOneProblem(`${VALID_BASE}listeners: [{ port: 9090 }]\n`, 'http.port', 'port 9090 is already used by listeners[0]');
  });

  it('checks unmapped', () => {
    assertOneProblem(
      `${VALID_BASE}unmapped: iot.unmapped\n`,
      'unmapped',
      'expected reject or { topic: NAME }, got the string "iot.unmapped"; to send them to Kafka topic iot.unmapped write unmapped: { topic: iot.unmapped }',
    );
    assertOneProblem(`${VALID_BASE}unmapped: {}\n`, 'unmapped.topic', /^is required/);
    assertOneProblem(`${VALID_BASE}unmapped: { topic: 'bad/topic' }\n`, 'unmapped.topic', /not "\/"/);
    assertOneProblem(`${VALID_BASE}unmapped: true\n`, 'unmapped', 'expected reject or { topic: NAME }, got true');
  });

  it('checks auth, refusing a config no client could connect to', () => {
    const noAuth = RULES_ONLY;
    assertOneProblem(
      noAuth,
      'auth.anonymous',
      /^no client could connect: anonymous access is off by default and no authentication method is configured; set auth\.usersFile, auth\.jwt or auth\.certificate, or auth\.anonymous: true$/,
    );
    assertOneProblem(`${noAuth}auth: { anonymous: false }\n`, 'auth.anonymous', /^no client could connect: anonymous access is off and/);
    assertOneProblem(`${noAuth}auth: { anonymous: 'yes' }\n`, 'auth.anonymous', 'expected true or false, got the string "yes"');
  });

  it('reads auth: users file (relative to the config file), JWT, certificate, denied publishes, failure delay, watch interval', () => {
    const config = parseConfig(
      `${RULES_ONLY}auth:
  usersFile: users.yaml
  jwt: { secretFile: /etc/secret, publicKeyFile: keys.pem, issuer: iss, audience: aud, usernameClaim: device, clockToleranceSeconds: 5, requireExpiry: false }
  certificate: optional
  deniedPublish311: drop
  failureDelay: { initialMs: 10, maxMs: 20, forgetAfterSeconds: 30, maxAddresses: 40 }
  watchIntervalMs: 0
`,
      '/srv/proxy/config.yaml',
    );
    assert.deepEqual(config.auth, {
      anonymous: false,
      usersFile: '/srv/proxy/users.yaml',
      jwt: {
        secretFile: '/etc/secret',
        publicKeyFile: '/srv/proxy/keys.pem',
        issuer: 'iss',
        audience: 'aud',
        usernameClaim: 'device',
        clockToleranceSeconds: 5,
        requireExpiry: false,
      },
      certificate: 'optional',
      deniedPublish311: 'drop',
      failureDelay: { initialMs: 10, maxMs: 20, forgetAfterSeconds: 30, maxAddresses: 40 },
      logins: DEFAULTS.auth.logins,
      watchIntervalMs: 0,
    });
    // Any one method is enough to let clients in.
    for (const method of ['usersFile: u.yaml', 'jwt: { publicKeyFile: k.pem }', 'certificate: required']) {
      assert.doesNotThrow(() => parse(`${RULES_ONLY}auth: { ${method} }\n`), method);
    }
  });

  it('refuses bad auth values, naming the key', () => {
    assertOneProblem(`${RULES_ONLY}auth: { jwt: { issuer: x } }\n`, 'auth.jwt', /needs secret or secretFile \(HS256\), or publicKeyFile/);
    assertOneProblem(`${RULES_ONLY}auth: { jwt: { secret: short } }\n`, 'auth.jwt.secret', /at least 32 bytes/);
    assertOneProblem(
      `${RULES_ONLY}auth: { jwt: { secret: '${'s'.repeat(32)}', secretFile: f } }\n`,
      'auth.jwt.secretFile',
      'give secret or secretFile, not both',
    );
    assertOneProblem(`${RULES_ONLY}auth: { jwt: { publicKeyFile: k, algorithm: none } }\n`, 'auth.jwt.algorithm', /unknown key/);
    assertOneProblem(`${RULES_ONLY}auth: { certificate: always }\n`, 'auth.certificate', 'expected one of ignore, optional, required, got the string "always"');
    assertOneProblem(`${VALID_BASE.replace('auth:', 'auth:\n  deniedPublish311: ignore')}`, 'auth.deniedPublish311', /expected one of disconnect, drop/);
    assertOneProblem(`${RULES_ONLY}auth: { usersFile: u, failureDelay: { initialMs: 100, maxMs: 50 } }\n`, 'auth.failureDelay.maxMs', /must not be below initialMs/);
  });

  it('refuses bad limits, naming the key', () => {
    assertOneProblem(`${VALID_BASE}limits: { maxClientIdLength: 22 }\n`, 'limits.maxClientIdLength', /^expected an integer from 23 to 65535/);
    assertOneProblem(`${VALID_BASE}limits: { maxKeepAliveSeconds: 0 }\n`, 'limits.maxKeepAliveSeconds', /^expected an integer from 1 to 65535/);
    assertOneProblem(`${VALID_BASE}limits: { minKeepAliveSeconds: 60, maxKeepAliveSeconds: 30 }\n`, 'limits.minKeepAliveSeconds', /must not exceed maxKeepAliveSeconds/);
    assertOneProblem(`${VALID_BASE}limits: { maxConnections: -1 }\n`, 'limits.maxConnections', /^expected an integer from 0 /);
    assertOneProblem(`${VALID_BASE}limits: { publishRateBurst: 10 }\n`, 'limits.publishRateBurst', /has no effect without limits\.publishRatePerSecond/);
  });
});

describe('config: mappings', () => {
  const rules = (yaml: string) => `mappings:\n${yaml}auth: { anonymous: true }\n`;

  it('reports template errors at load time with file and rule (the README example)', () => {
    const error = errorOf(() => loadConfig(relative(process.cwd(), fixture('bad-template.yaml'))));
    assert.equal(
      error.message,
      `${relative(process.cwd(), fixture('bad-template.yaml'))}: mappings[1] "telemetry".key: template names group "device" but the regex has groups deviceId`,
    );
  });
  it('reports regex errors at load time', () => {
    assertOneProblem(rules(`  - { name: r, match: '(x', topic: t }\n`), 'mappings[0] "r".match', 'invalid regular expression: Unterminated group');
  });
  it('reports an illegal static Kafka topic at load time', () => {
    assertOneProblem(rules(`  - { name: r, match: 'x', topic: 'iot/x' }\n`), 'mappings[0] "r".topic', /not "\/"/);
  });
  it('refuses duplicate rule names', () => {
    assertOneProblem(
      rules(`  - { name: r, match: x, topic: t }\n  - { name: r, match: y, topic: u }\n`),
      'mappings[1] "r".name',
      'duplicate rule name: mappings[0] is also named "r"',
    );
  });
  it('requires name, match and topic, as non-empty strings', () => {
    assertOneProblem(rules(`  - { match: x, topic: t }\n`), 'mappings[0].name', 'is required (a rule name for logs and metrics)');
    assertOneProblem(rules(`  - { name: r, topic: t }\n`), 'mappings[0] "r".match', 'is required (a JavaScript regular expression on the MQTT topic)');
    assertOneProblem(rules(`  - { name: r, match: x }\n`), 'mappings[0] "r".topic', 'is required (a Kafka topic template)');
    assertOneProblem(rules(`  - { name: 5, match: x, topic: t }\n`), 'mappings[0].name', /got the number 5$/);
    assertOneProblem(rules(`  - { name: r, match: [x], topic: t }\n`), 'mappings[0] "r".match', /got a list$/);
    assertOneProblem(rules(`  - { name: r, match: x, topic: t, key: 5 }\n`), 'mappings[0] "r".key', 'expected a key template string, or null for no key, got the number 5');
    assertOneProblem(rules(`  - just-a-string\n`), 'mappings[0]', /^expected a rule .*got the string "just-a-string"$/);
  });
  it('reserves rule names of topic.regex.list and unmapped', () => {
    assertOneProblem(rules(`  - { name: 'topic.regex.list[0]', match: x, topic: t }\n`), 'mappings[0] "topic.regex.list[0]".name', /reserved for rules from topic\.regex\.list/);
    // Dropped from the rules, so nothing else is reported about it under a misleading name.
    assertOneProblem(rules(`  - { name: 'topic.regex.list[0]', match: x, topic: 't/' }\n`), 'mappings[0] "topic.regex.list[0]".name', /reserved/);
    assertOneProblem(rules(`  - { name: unmapped, match: x, topic: t }\n`), 'mappings[0] "unmapped".name', /reserved/);
  });
  it('needs at least one rule unless unmapped routes to a topic or the proxy only delivers', () => {
    const message =
      'no mapping rules, so every PUBLISH would be rejected: add rules under mappings (or topic.regex.list), ' +
      'or send unmatched topics to Kafka with unmapped: { topic: NAME } (a proxy that only delivers from Kafka needs delivery rules instead)';
    assertOneProblem('auth: { anonymous: true }\n', 'mappings', message);
    assertOneProblem('mappings: []\nunmapped: reject\nauth: { anonymous: true }\n', 'mappings', message);
    assertOneProblem('delivery: []\nauth: { anonymous: true }\n', 'mappings', message);
    const deliveryOnly = parse("delivery: [{ name: c, kafka: iot.commands, mqttTopic: 'devices/${key}/commands' }]\nauth: { anonymous: true }\n");
    assert.deepEqual(deliveryOnly.mappings, []);
    assert.equal(deliveryOnly.delivery.length, 1);
  });
  it('reports topic.regex.list errors naming the entry', () => {
    assertOneProblem(`${VALID_BASE}topic.regex.list: 'ok:x, broken'\n`, 'topic.regex.list[1] "broken"', "missing ':' between the Kafka topic and the regex");
    assertOneProblem(`${VALID_BASE}topic.regex.list: 'a:(?<topic>x)'\n`, 'topic.regex.list[0].match', /reserved/);
    assertOneProblem(`${VALID_BASE}topic.regex.list: [a]\n`, 'topic.regex.list', /^expected a string of kafkaTopic:regex pairs/);
  });
  it('keeps rule names unique across mappings and topic.regex.list', () => {
    const config = parse(`${VALID_BASE}topic.regex.list: 'a:x,b:y'\n`);
    assert.equal(new Set(config.mappings.map((rule) => rule.name)).size, 3);
  });
});

describe('config: several problems at once', () => {
  it('reports every problem, each as FILE: PATH: PROBLEM', () => {
    const file = relative(process.cwd(), fixture('many-problems.yaml'));
    const error = errorOf(() => loadConfig(file));
    assert.deepEqual(
      error.problems.map((problem) => problem.path),
      [
        'listeners[0].protocol',
        'listeners[0].port',
        'kafka.brokers',
        'kafka.acks.qos0',
        'mappings[0] "a".match',
        'mappings[1] "a".name',
        'mappings[1] "a".topic',
        'auth.anonymous',
        'log.levle',
      ],
    );
    for (const line of error.message.split('\n')) assert.ok(line.startsWith(`${file}: `), line);
    assert.equal(error.problems.length, error.message.split('\n').length);
    assert.equal(error.path, 'listeners[0].protocol');
  });
});

describe('config: kafka.client', () => {
  const hasZstd = typeof (zlib as unknown as Record<string, unknown>)['zstdCompressSync'] === 'function';
  it('is platformatic by default, and takes it named', () => {
    assert.equal(parse(VALID_BASE).kafka.client, 'platformatic');
    assert.equal(parse(`${VALID_BASE}kafka: { client: platformatic }\n`).kafka.client, 'platformatic');
  });
  it('refuses kafkajs, the former default, saying what to change', () => {
    assert.deepEqual(problemsOf(`${VALID_BASE}kafka: { client: kafkajs }\n`), [
      'test.yaml: kafka.client: kafkajs is no longer supported: the proxy produces and reads with @platformatic/kafka only; remove the setting or set it to platformatic',
    ]);
    assert.deepEqual(problemsOf(VALID_BASE, { kafkaClient: 'kafkajs' }), [
      'test.yaml: overrides.kafkaClient: kafkajs is no longer supported: the proxy produces and reads with @platformatic/kafka only; remove the setting or set it to platformatic',
    ]);
  });
  it('refuses other names, naming the file and the path', () => {
    assert.deepEqual(problemsOf(`${VALID_BASE}kafka: { client: rdkafka }\n`), [
      'test.yaml: kafka.client: expected one of platformatic, got the string "rdkafka"',
    ]);
  });
  it('is replaced by the kafkaClient override, validated the same way', () => {
    assert.equal(parse(`${VALID_BASE}kafka: { client: platformatic }\n`, { kafkaClient: 'platformatic' }).kafka.client, 'platformatic');
    assert.deepEqual(problemsOf(VALID_BASE, { kafkaClient: 'librdkafka' }), [
      'test.yaml: overrides.kafkaClient: expected one of platformatic, got the string "librdkafka"',
    ]);
  });
  it('takes every codec the client implements', () => {
    for (const compression of ['none', 'gzip', 'snappy', 'lz4', ...(hasZstd ? ['zstd'] : [])]) {
      assert.equal(parse(`${VALID_BASE}kafka: { compression: ${compression} }\n`).kafka.compression, compression);
    }
  });
  it('refuses zstd where node:zlib has no zstd', { skip: hasZstd && 'this Node.js has zstd in node:zlib' }, () => {
    assert.deepEqual(problemsOf(`${VALID_BASE}kafka: { compression: zstd }\n`), [
      `test.yaml: kafka.compression: zstd is not available on Node.js ${process.versions.node}: it needs node:zlib's zstd (Node.js 22.15 or later); use gzip, snappy or lz4`,
    ]);
  });
});
