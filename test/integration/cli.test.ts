// The real command line: `node bin/mqtt-kafka-proxy ...` as a child process, as an operator runs it.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { createTopics, headerText, readRecords, testBrokers, uniqueName } from '../helpers/kafka.js';

// Compiled to dist/test/integration/, so the repository root is three levels up.
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'mqtt-kafka-proxy');

type Env = Record<string, string | undefined>;
type LogLine = Record<string, unknown>;

/**
 * The environment of the child: ours without any MKP_* variable (the CLI reads every MKP_* one, and
 * the suite may run with e.g. MKP_SKIP_EXTERNAL_CLIENTS set), plus what the test sets.
 */
function childEnv(extra: Env = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('MKP_')) env[name] = value;
  for (const [name, value] of Object.entries(extra)) if (value !== undefined) env[name] = value;
  return env;
}

interface CliRun {
  readonly child: ChildProcess;
  /** Parsed JSON log lines from stdout so far. */
  readonly logs: LogLine[];
  stdout(): string;
  stderr(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  isRunning(): boolean;
}

function spawnCli(args: readonly string[], env: Env = {}): CliRun {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let pending = '';
  const logs: LogLine[] = [];
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    stdout += chunk;
    pending += chunk;
    let newline: number;
    while ((newline = pending.indexOf('\n')) !== -1) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      if (line.trim() === '') continue;
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        logs.push({ unparsed: line });
      }
    }
  });
  child.stderr!.on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  // 'exit' can come before the pipes are drained; wait for 'close' too so stdout/stderr are complete.
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return {
    child,
    logs,
    stdout: () => stdout,
    stderr: () => stderr,
    exited: exited.then(async (result) => {
      await closed;
      return result;
    }),
    isRunning: () => child.exitCode === null && child.signalCode === null,
  };
}

/** Runs the CLI to completion (killing it after `timeoutMs`). */
async function runCli(args: readonly string[], env: Env = {}, timeoutMs = 10000) {
  const run = spawnCli(args, env);
  const timer = setTimeout(() => run.child.kill('SIGKILL'), timeoutMs);
  const { code, signal } = await run.exited;
  clearTimeout(timer);
  return { code, signal, stdout: run.stdout(), stderr: run.stderr() };
}

async function waitUntil(condition: () => boolean, what: string, timeoutMs: number, run?: CliRun): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (run !== undefined && !run.isRunning()) {
      throw new Error(`the CLI exited while waiting for ${what}\nstdout:\n${run.stdout()}\nstderr:\n${run.stderr()}`);
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${run ? `\nstdout:\n${run.stdout()}\nstderr:\n${run.stderr()}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const findLog = (run: CliRun, msg: string): LogLine | undefined => run.logs.find((l) => l.msg === msg);

/** Waits for the `listening` and `connected to Kafka` log lines; returns the bound MQTT port. */
async function waitReady(run: CliRun, timeoutMs = 20000): Promise<number> {
  await waitUntil(() => findLog(run, 'listening') !== undefined, 'the "listening" log line', timeoutMs, run);
  await waitUntil(() => findLog(run, 'connected to Kafka') !== undefined, 'the "connected to Kafka" log line', timeoutMs, run);
  const port = findLog(run, 'listening')!.port;
  assert.equal(typeof port, 'number', `"listening" carries the port: ${JSON.stringify(findLog(run, 'listening'))}`);
  return port as number;
}

/** Stops a CLI the test started, whatever state the test left it in. */
async function ensureStopped(run: CliRun | undefined): Promise<void> {
  if (run === undefined || !run.isRunning()) return;
  run.child.kill('SIGKILL');
  await run.exited;
}

let dir: string;
const running: CliRun[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mkp-cli-test-'));
});

after(async () => {
  await Promise.all(running.map(ensureStopped));
  await rm(dir, { recursive: true, force: true });
});

async function writeConfig(name: string, text: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
}

function start(args: readonly string[], env: Env = {}): CliRun {
  const run = spawnCli(args, env);
  running.push(run);
  return run;
}

/** Collapses line wrapping and indentation, as a reader does. */
const flowed = (text: string): string => text.replace(/\s+/g, ' ');

describe('--help', () => {
  test('exits 0 and lists every option with its default and its MKP_* variable', async () => {
    const { code, stdout, stderr } = await runCli(['--help']);
    assert.equal(code, 0, stderr);
    // Wrapping may break lines anywhere; compare without whitespace so only content counts here
    // (the next test is about the wrapping itself).
    const squeezed = stdout.replace(/\s+/g, '');
    const expectations: Array<[option: string, variable: string, defaultText: string]> = [
      ['--config', 'MKP_CONFIG', '[default:"topic-mappings.yaml"]'],
      ['--kafka-brokers', 'MKP_KAFKA_BROKERS', '[default:fromtheconfigfile,else127.0.0.1:9092]'],
      ['--port', 'MKP_PORT', '[default:fromtheconfigfile,else1883]'],
      ['--log-level', 'MKP_LOG_LEVEL', '[default:fromtheconfigfile,elseinfo]'],
    ];
    for (const [option, variable, defaultText] of expectations) {
      const start = squeezed.indexOf(option);
      assert.notEqual(start, -1, `${option} is listed:\n${stdout}`);
      // The option's own entry: up to the next option.
      const next = squeezed.slice(start + option.length).search(/--[a-z]/);
      const entry = next === -1 ? squeezed.slice(start) : squeezed.slice(start, start + option.length + next);
      assert.ok(entry.includes(variable), `${option} names ${variable}:\n${stdout}`);
      assert.ok(entry.includes(defaultText), `${option} shows its default ${defaultText}:\n${stdout}`);
    }
    assert.match(flowed(stdout), /choices: "fatal", "error", "warn", "info", "debug", "trace", "silent"/);
  });

  test('wraps the help text between words, never inside one', async () => {
    const { code, stdout } = await runCli(['--help']);
    assert.equal(code, 0);
    const text = flowed(stdout);
    for (const phrase of [
      '[default: from the config file, else 127.0.0.1:9092]',
      '[default: from the config file, else 1883]',
      '[default: from the config file, else info]',
    ]) {
      assert.ok(text.includes(phrase), `help shows ${JSON.stringify(phrase)} readably; it printed:\n${stdout}`);
    }
  });
});

describe('a bad configuration exits non-zero naming the file, the place and the fault', () => {
  const RULE_TAIL = `auth: { anonymous: true }\nhttp: { port: 0 }\n`;

  async function expectRefused(file: string, patterns: readonly RegExp[]): Promise<void> {
    const started = Date.now();
    const { code, signal, stdout, stderr } = await runCli(['--config', file, '--kafka-brokers', testBrokers().join(',')]);
    assert.equal(signal, null, `exited by itself (took ${Date.now() - started} ms); stderr:\n${stderr}`);
    assert.notEqual(code, 0, 'non-zero exit code');
    assert.equal(code, 1);
    assert.ok(stderr.includes(file), `stderr names ${file}:\n${stderr}`);
    for (const pattern of patterns) assert.match(stderr, pattern);
    assert.doesNotMatch(stderr, /^\s+at .+:\d+:\d+\)?$/m, 'no stack trace for a configuration mistake');
    assert.equal(stdout, '', 'nothing was started, so nothing is logged');
  }

  test('invalid regular expression', async () => {
    const file = await writeConfig(
      'bad-regex.yaml',
      `mappings:\n  - name: broken-regex\n    match: '^devices/(unclosed$'\n    topic: iot.telemetry\n${RULE_TAIL}`,
    );
    await expectRefused(file, [/mappings\[0\] "broken-regex"\.match/, /invalid regular expression/i, /unterminated group/i]);
  });

  test('a template names a group the regex does not have', async () => {
    const file = await writeConfig(
      'bad-group.yaml',
      `mappings:\n  - name: by-device\n    match: '^devices/(?<deviceId>[^/]+)/telemetry$'\n    topic: iot.telemetry\n    key: '\${serial}'\n${RULE_TAIL}`,
    );
    await expectRefused(file, [/mappings\[0\] "by-device"\.key/, /"serial"/, /deviceId/]);
  });

  test('a static Kafka topic that Kafka would refuse', async () => {
    const file = await writeConfig(
      'bad-topic.yaml',
      `mappings:\n  - name: fine\n    match: '^a$'\n    topic: iot.a\n  - name: spaced\n    match: '^b$'\n    topic: 'bad topic!'\n${RULE_TAIL}`,
    );
    await expectRefused(file, [/mappings\[1\] "spaced"\.topic/, /Kafka topic/i, /U\+0020|space|' '/]);
  });

  test('YAML syntax error', async () => {
    const file = await writeConfig('bad-yaml.yaml', `mappings:\n  - name: x\n    match: [unclosed\n  topic: t\n${RULE_TAIL}`);
    await expectRefused(file, [/line \d+, column \d+/, /YAML syntax error/]);
  });

  test('missing file', async () => {
    const file = join(dir, 'does-not-exist.yaml');
    await expectRefused(file, [/no such file/i]);
  });
});

describe('flags and MKP_* variables override the file', () => {
  let fileConfig: string;
  let kafkaTopic: string;

  before(async () => {
    kafkaTopic = uniqueName('cli.overrides');
    await createTopics([kafkaTopic]);
    // Everything the overrides replace is wrong in the file: nobody on 127.0.0.1:1 speaks Kafka,
    // port 1 is not the one we ask for, and info hides the debug lines we look for.
    fileConfig = await writeConfig(
      'overrides.yaml',
      `listeners:
  - protocol: tcp
    host: 127.0.0.1
    port: 1
kafka:
  brokers: [127.0.0.1:1]
mappings:
  - name: cli
    match: '^cli/(?<id>[^/]+)$'
    topic: ${kafkaTopic}
    key: '\${id}'
auth: { anonymous: true }
http: { port: 0 }
log: { level: info }
`,
    );
  });

  /** Publishes QoS 1 through the CLI's proxy and checks the record arrived, once, and the debug log. */
  async function publishThrough(run: CliRun, id: string): Promise<void> {
    const port = await waitReady(run);
    assert.notEqual(port, 1, 'the port override replaced the file');
    assert.ok(port > 0, 'port 0 means an ephemeral port, and the log says which');
    assert.deepEqual(findLog(run, 'connected to Kafka')!.brokers, testBrokers(), 'connected to the overriding brokers');

    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: `cli-${id}`, reconnectPeriod: 0, connectTimeout: 5000 });
    await client.publishAsync(`cli/${id}`, `payload ${id}`, { qos: 1 });
    await client.endAsync();

    const records = (await readRecords(kafkaTopic, 100, { timeoutMs: 4000 })).filter((r) => r.key?.toString() === id);
    assert.equal(records.length, 1, 'exactly one record for the publish');
    assert.equal(records[0]!.value?.toString(), `payload ${id}`);
    assert.equal(headerText(records[0]!.headers, 'mqtt.topic'), `cli/${id}`);
    assert.equal(headerText(records[0]!.headers, 'mqtt.client_id'), `cli-${id}`);
    // The level override: `publish produced` is a debug line, hidden at the file's info.
    await waitUntil(() => run.logs.some((l) => l.msg === 'publish produced' && l.topic === `cli/${id}`), 'debug line', 5000, run);

    run.child.kill('SIGTERM');
    const { code } = await run.exited;
    assert.equal(code, 0, run.stderr());
  }

  test('through flags', async () => {
    const run = start(['--config', fileConfig, '--kafka-brokers', testBrokers().join(','), '--port', '0', '--log-level', 'debug']);
    await publishThrough(run, 'flags');
  });

  test('through MKP_CONFIG, MKP_KAFKA_BROKERS, MKP_PORT and MKP_LOG_LEVEL', async () => {
    const run = start([], {
      MKP_CONFIG: fileConfig,
      MKP_KAFKA_BROKERS: testBrokers().join(','),
      MKP_PORT: '0',
      MKP_LOG_LEVEL: 'debug',
    });
    await publishThrough(run, 'env');
  });

  test('flags win over MKP_* variables', async () => {
    const run = start(['--config', fileConfig, '--kafka-brokers', testBrokers().join(','), '--port', '0', '--log-level', 'debug'], {
      MKP_KAFKA_BROKERS: '127.0.0.1:1',
      MKP_PORT: '1',
      MKP_LOG_LEVEL: 'fatal',
    });
    await publishThrough(run, 'flags-over-env');
  });

  test('an MKP_* variable that is not an option (MKP_CACHE_DIR of scripts/kafka-dev) does not stop the CLI', async () => {
    const run = start(['--config', fileConfig, '--kafka-brokers', testBrokers().join(','), '--port', '0', '--log-level', 'debug'], {
      MKP_CACHE_DIR: join(dir, 'cache'),
    });
    await publishThrough(run, 'foreign-env');
  });
});

describe('signals', () => {
  let kafkaTopic: string;
  let config: string;

  before(async () => {
    kafkaTopic = uniqueName('cli.drain');
    await createTopics([kafkaTopic]);
    // lingerMs holds records in the proxy for a while, so a signal finds some in flight.
    config = await writeConfig(
      'drain.yaml',
      `listeners:
  - protocol: tcp
    host: 127.0.0.1
    port: 0
kafka:
  brokers: [${testBrokers().join(', ')}]
  lingerMs: 150
mappings:
  - name: drain
    match: '^drain/(?<id>[^/]+)$'
    topic: ${kafkaTopic}
    key: '\${id}'
auth: { anonymous: true }
http: { port: 0 }
`,
    );
  });

  test('SIGTERM with QoS 1 publishes in flight: every PUBACKed publish is in Kafka, exit 0, drain logged', async () => {
    const run = start(['--config', config]);
    const port = await waitReady(run);
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
      protocolVersion: 5,
      clientId: 'cli-drain',
      reconnectPeriod: 0,
      connectTimeout: 5000,
    });
    client.on('error', () => undefined); // the server's DISCONNECT (shutting down) surfaces here

    const sent: string[] = [];
    const acked = new Set<string>();
    const failed: string[] = [];
    let closed = false;
    client.on('close', () => {
      closed = true;
    });
    // A device that keeps publishing: one QoS 1 PUBLISH every 2 ms, not waiting for acks.
    const publisher = setInterval(() => {
      if (closed) return;
      const payload = `m-${sent.length}`;
      sent.push(payload);
      client.publish(`drain/${payload}`, payload, { qos: 1 }, (error) => {
        if (error) failed.push(payload);
        else acked.add(payload);
      });
    }, 2);

    let exit: { code: number | null; signal: NodeJS.Signals | null };
    let stopMs: number;
    try {
      await waitUntil(() => acked.size >= 100, '100 PUBACKs', 15000, run);
      const signalledAt = Date.now();
      run.child.kill('SIGTERM');
      const timeout = new Promise<null>((resolve) => setTimeout(() => resolve(null), 10000));
      const result = await Promise.race([run.exited, timeout]);
      stopMs = Date.now() - signalledAt;
      assert.ok(result !== null, `the proxy still runs 10 s after SIGTERM\n${run.stdout()}`);
      exit = result;
    } finally {
      clearInterval(publisher);
      client.end(true);
    }

    assert.equal(exit.signal, null);
    assert.equal(exit.code, 0, run.stderr());
    assert.ok(stopMs < 5000, `exited ${stopMs} ms after SIGTERM`);

    // The log tells the story: signal, stop taking publishes (with records still in flight), stopped.
    const order = ['signal received, draining', 'stopping: no new connections or publishes', 'stopped'];
    const indexes = order.map((msg) => run.logs.findIndex((l) => l.msg === msg));
    assert.ok(indexes.every((i) => i >= 0), `drain logged: ${order.join(' / ')}\n${run.stdout()}`);
    assert.deepEqual([...indexes].sort((a, b) => a - b), indexes, 'in that order');
    assert.equal(run.logs[indexes[0]!]!.signal, 'SIGTERM');
    const inFlight = run.logs[indexes[1]!]!.inFlight;
    assert.ok(typeof inFlight === 'number' && inFlight > 0, `records were in flight at SIGTERM (inFlight ${inFlight}), otherwise this test proves nothing`);

    // Every publish the device saw acknowledged is in Kafka, exactly once.
    const records = await readRecords(kafkaTopic, acked.size, { timeoutMs: 10000, settleMs: 1000 });
    const counts = new Map<string, number>();
    for (const record of records) {
      const payload = record.value?.toString() ?? '';
      counts.set(payload, (counts.get(payload) ?? 0) + 1);
      assert.equal(record.key?.toString(), payload, 'key from the rule');
    }
    const lost = [...acked].filter((payload) => !counts.has(payload));
    assert.deepEqual(lost, [], `PUBACKed but not in Kafka (${acked.size} acked, ${records.length} records)`);
    const duplicated = [...counts].filter(([, n]) => n > 1).map(([payload]) => payload);
    assert.deepEqual(duplicated, [], 'no record twice');
    const unknown = [...counts.keys()].filter((payload) => !sent.includes(payload));
    assert.deepEqual(unknown, [], 'no record that was not sent');
  });

  test('SIGTERM drain: records produced for a device that keeps publishing are PUBACKed before it is disconnected', async () => {
    // Server.stop() promises that records already on their way to Kafka finish "and their
    // acknowledgements go out". A publish arriving during the drain must not cut that short.
    const run = start(['--config', config]);
    const port = await waitReady(run);
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
      protocolVersion: 5,
      clientId: 'cli-drain-acks',
      reconnectPeriod: 0,
      connectTimeout: 5000,
    });
    client.on('error', () => undefined);
    const prefix = 'acks';
    const sent: string[] = [];
    const acked = new Set<string>();
    let closed = false;
    client.on('close', () => {
      closed = true;
    });
    const publisher = setInterval(() => {
      if (closed) return;
      const payload = `${prefix}-${sent.length}`;
      sent.push(payload);
      client.publish(`drain/${payload}`, payload, { qos: 1 }, (error) => {
        if (!error) acked.add(payload);
      });
    }, 2);
    try {
      await waitUntil(() => acked.size >= 100, '100 PUBACKs', 15000, run);
      run.child.kill('SIGTERM');
      const { code } = await run.exited;
      assert.equal(code, 0, run.stderr());
    } finally {
      clearInterval(publisher);
      client.end(true);
    }
    const records = (await readRecords(kafkaTopic, 100_000, { timeoutMs: 3000, settleMs: 500 })).filter((r) =>
      r.value?.toString().startsWith(`${prefix}-`),
    );
    const unacked = records.map((r) => r.value!.toString()).filter((payload) => !acked.has(payload));
    assert.deepEqual(
      unacked,
      [],
      `${unacked.length} of ${records.length} records in Kafka were never PUBACKed (the device will send them again: duplicates)`,
    );
  });

  test('SIGINT exits 0', async () => {
    const run = start(['--config', config]);
    await waitReady(run);
    run.child.kill('SIGINT');
    const timeout = new Promise<null>((resolve) => setTimeout(() => resolve(null), 10000));
    const result = await Promise.race([run.exited, timeout]);
    assert.ok(result !== null, 'exited within 10 s of SIGINT');
    assert.deepEqual(result, { code: 0, signal: null }, run.stderr());
    const received = findLog(run, 'signal received, draining');
    assert.equal(received?.signal, 'SIGINT');
    assert.ok(findLog(run, 'stopped'), 'logged "stopped"');
  });
});
