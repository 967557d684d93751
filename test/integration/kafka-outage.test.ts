import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import mqtt from 'mqtt';
import { DRAIN_WATCHDOG_SLACK_MS, EXIT } from '../../src/cli.js';
import { exitWithin, findLog, freePort, spawnCli, waitUntil, type CliProcess } from '../helpers/cli.js';
import { createTopics, readRecords, uniqueName } from '../helpers/kafka.js';
import { getText, parsePrometheusText, sampleSum } from '../helpers/prometheus.js';
import { startProxy, waitFor, type RunningProxy } from '../helpers/proxy.js';

// This test stops and starts Kafka, so it runs a broker of its own rather than the shared one.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const kafkaDev = path.join(root, 'scripts', 'kafka-dev');
const port = process.env.OUTAGE_KAFKA_PORT ?? '29192';
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'mkp-outage-kafka-'));
const kafkaEnv = { ...process.env, KAFKA_PORT: port, KAFKA_DATA_DIR: dataDir };
const brokers = [`127.0.0.1:${port}`];
const topic = uniqueName('outage');

function kafka(command: 'start' | 'stop'): void {
  execFileSync(kafkaDev, [command], { env: kafkaEnv, stdio: ['ignore', 'ignore', 'inherit'], timeout: 120000 });
}

/** SIGSTOP / SIGCONT the broker: frozen, it keeps its sockets open and answers nothing. */
function freezeKafka(frozen: boolean): void {
  const pid = Number(execFileSync(kafkaDev, ['pid'], { env: kafkaEnv, stdio: ['ignore', 'pipe', 'inherit'] }).toString().trim());
  process.kill(pid, frozen ? 'SIGSTOP' : 'SIGCONT');
}

/**
 * Polls /readyz until it answers `status`. A failed request is tried again: kafka-dev runs
 * synchronously and stalls this process (and the proxy in it), after which a pooled keep-alive
 * connection the server has since closed fails once.
 */
async function readyzBecomes(adminUrl: string, status: number, timeoutMs: number): Promise<{ status: number; body: string }> {
  const start = Date.now();
  let last = 'no answer';
  for (;;) {
    try {
      const answer = await getText(adminUrl, '/readyz');
      if (answer.status === status) return answer;
      last = `${answer.status} ${answer.body.trim()}`;
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() - start > timeoutMs) throw new Error(`/readyz not ${status} after ${timeoutMs} ms; last: ${last}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

// A 3 s produce timeout, so the tests see devices told to retransmit without waiting long.
const proxyConfig = `
mappings:
  - name: all
    match: '^outage/(?<id>.+)$'
    topic: ${topic}
    key: '\${id}'
kafka:
  requestTimeoutMs: 3000
  connectionTimeoutMs: 1000
auth: { anonymous: true }
http: { port: 0 }
`;

let proxy: RunningProxy;

before(async () => {
  kafka('start');
  await createTopics([topic], brokers);
  proxy = await startProxy(proxyConfig, { brokers });
  await waitFor(() => proxy.logs.some((l) => l.msg === 'connected to Kafka'), 20000, 'Kafka connection');
});

after(async () => {
  await proxy?.stop();
  execFileSync(kafkaDev, ['stop', '--clean'], { env: kafkaEnv, stdio: 'ignore' });
  rmSync(dataDir, { recursive: true, force: true });
});

test('QoS 1 is not acknowledged while Kafka is down, and lands once it is back and the client retried', { timeout: 180000 }, async () => {
  const options = { reconnectPeriod: 500, connectTimeout: 5000 };
  const v5 = await mqtt.connectAsync(proxy.url, { ...options, protocolVersion: 5, clientId: 'outage-v5' });
  const v4 = await mqtt.connectAsync(proxy.url, { ...options, protocolVersion: 4, clientId: 'outage-v4' });
  await v5.publishAsync('outage/before', 'before', { qos: 1 });

  const disconnectCodes: number[] = [];
  v5.on('disconnect', (packet) => disconnectCodes.push(packet.reasonCode ?? 0));
  let v4Closed = false;
  v4.on('close', () => {
    v4Closed = true;
  });

  kafka('stop');
  const stoppedAt = Date.now();
  const acked: Record<string, number> = {};
  for (const [client, id] of [
    [v5, 'during-v5'],
    [v4, 'during-v4'],
  ] as const) {
    client.publish(`outage/${id}`, id, { qos: 1 }, (error) => {
      if (!error) acked[id] = Date.now();
    });
  }

  // Well past the 3 s produce timeout: no acknowledgement, and both clients were told to go away.
  await new Promise((resolve) => setTimeout(resolve, 6000));
  assert.deepEqual(acked, {}, 'nothing is acknowledged while Kafka is down');
  assert.ok(disconnectCodes.includes(0x89), `MQTT 5 client got DISCONNECT 0x89 (got ${disconnectCodes.join(',')})`);
  assert.ok(v4Closed, 'MQTT 3.1.1 client was disconnected');
  assert.ok(
    proxy.logs.some((l) => l.outcome === 'failed' && l.clientId === 'outage-v5'),
    'the failure is in the log with the client id',
  );

  kafka('start');
  const restartedAt = Date.now();
  await waitFor(() => acked['during-v5'] !== undefined && acked['during-v4'] !== undefined, 90000, 'PUBACKs after Kafka came back');
  assert.ok(acked['during-v5']! > restartedAt && acked['during-v4']! > restartedAt, 'acknowledged only after Kafka returned');
  await Promise.all([v5.endAsync(), v4.endAsync()]);

  const records = await readRecords(topic, 3, { brokers });
  const keys = records.map((r) => r.key?.toString());
  for (const id of ['before', 'during-v5', 'during-v4']) {
    assert.ok(keys.includes(id), `${id} is in Kafka (keys: ${keys.join(',')})`);
  }
  assert.ok(stoppedAt < restartedAt);
});

test('a proxy started while Kafka is down accepts clients, acknowledges nothing, and delivers once Kafka is up', { timeout: 180000 }, async () => {
  kafka('stop');
  const early = await startProxy(proxyConfig, { brokers });
  try {
    assert.ok(early.logs.some((l) => l.msg === 'Kafka not reachable, retrying'), 'the proxy says Kafka is not reachable');
    const client = await mqtt.connectAsync(early.url, { protocolVersion: 5, clientId: 'early-v5', reconnectPeriod: 500 });
    let ackedAt: number | undefined;
    client.publish('outage/early', 'early', { qos: 1 }, (error) => {
      if (!error) ackedAt = Date.now();
    });
    await new Promise((resolve) => setTimeout(resolve, 4000));
    assert.equal(ackedAt, undefined, 'no PUBACK without Kafka');

    kafka('start');
    const startedAt = Date.now();
    await waitFor(() => ackedAt !== undefined, 90000, 'PUBACK once Kafka is up');
    assert.ok(ackedAt! > startedAt);
    await waitFor(() => early.logs.some((l) => l.msg === 'connected to Kafka'), 60000, 'the connection log line');
    await client.endAsync();
    const records = await readRecords(topic, 4, { brokers });
    assert.ok(records.some((r) => r.key?.toString() === 'early'), 'the message is in Kafka');
  } finally {
    await early.stop();
  }
});

/** Log lines of the proxy's Kafka side at warn level or above. */
const kafkaWarnings = (logs: ReadonlyArray<Record<string, unknown>>) => logs.filter((l) => l.component === 'kafka' && (l.level as number) >= 40);

test('Kafka down at start: the MQTT listener opens within 1 s of start()', { timeout: 60000 }, async () => {
  kafka('stop');
  const startedAt = Date.now();
  const early = await startProxy(proxyConfig, { brokers });
  try {
    const listening = early.logs.find((l) => l.msg === 'listening');
    assert.ok(listening, 'the listener is up');
    const after = (listening.time as number) - startedAt;
    assert.ok(after < 1000, `listening ${after} ms after start(), not waiting for Kafka`);
    const firstKafkaLine = early.logs.findIndex((l) => l.component === 'kafka');
    assert.ok(firstKafkaLine === -1 || firstKafkaLine > early.logs.indexOf(listening), 'the listener does not wait for the first attempt');
    const client = await mqtt.connectAsync(early.url, { protocolVersion: 5, clientId: 'early-listener', reconnectPeriod: 0, connectTimeout: 2000 });
    await client.endAsync();
  } finally {
    await early.stop();
  }
});

test('Kafka down at start (the CLI): listening at once, at most one Kafka warning per 10 s of outage, one line when it is back', { timeout: 180000 }, async () => {
  kafka('stop');
  const configDir = mkdtempSync(path.join(os.tmpdir(), 'mkp-outage-start-'));
  const file = path.join(configDir, 'down.yaml');
  writeFileSync(
    file,
    `listeners: [{ protocol: tcp, host: 127.0.0.1, port: 0 }]
kafka: { brokers: [${brokers.join(', ')}], requestTimeoutMs: 3000, connectionTimeoutMs: 1000 }
mappings: [{ name: all, match: '^outage/(?<id>.+)$', topic: ${topic}, key: '\${id}' }]
auth: { anonymous: true }
http: { port: 0 }
`,
  );
  const spawnedAt = Date.now();
  const run = spawnCli(['--config', file]);
  let client: mqtt.MqttClient | undefined;
  let publisher: NodeJS.Timeout | undefined;
  try {
    await waitUntil(() => findLog(run, 'listening') !== undefined, 'listening', 20000, run);
    const listening = findLog(run, 'listening')!;
    // From the spawn: Node.js itself starts and loads the proxy's modules in this time too.
    console.log(`[outage] Kafka down: CLI listening ${(listening.time as number) - spawnedAt} ms after spawn`);
    assert.ok(run.logs.indexOf(listening) < run.logs.findIndex((l) => l.component === 'kafka') || kafkaWarnings(run.logs).length === 0, 'listening comes before any Kafka line');

    // A device keeps publishing through the outage: its produce requests fail and are retried.
    const url = `mqtt://127.0.0.1:${listening.port as number}`;
    client = await mqtt.connectAsync(url, { protocolVersion: 5, clientId: 'outage-start', reconnectPeriod: 300, connectTimeout: 2000 });
    client.on('error', () => undefined);
    let n = 0;
    publisher = setInterval(() => client!.publish(`outage/start-${n++}`, 'x', { qos: 1 }, () => undefined), 250);
    const outageMs = 20000;
    await new Promise((resolve) => setTimeout(resolve, outageMs - (Date.now() - spawnedAt)));
    const during = kafkaWarnings(run.logs);
    assert.ok(during.length >= 1, 'the outage is said');
    assert.ok(during.length <= Math.ceil(outageMs / 10000), `${during.length} Kafka warnings in ${outageMs / 1000} s of outage:
${during.map((l) => JSON.stringify(l)).join('\n')}`);
    assert.equal(during[0]!.msg, 'Kafka not reachable, retrying');
    assert.deepEqual(during[0]!.brokers, brokers, 'naming the brokers');
    assert.match(String(during[0]!.err), /ECONNREFUSED|connect/i, 'and the cause');

    kafka('start');
    await waitUntil(() => findLog(run, 'connected to Kafka') !== undefined, 'connected to Kafka', 60000, run);
    assert.equal(run.logs.filter((l) => l.msg === 'connected to Kafka').length, 1);
    assert.deepEqual(kafkaWarnings(run.logs), during, 'no warning on the way back');
  } finally {
    clearInterval(publisher);
    client?.end(true);
    run.child.kill('SIGKILL');
    await run.exited;
    rmSync(configDir, { recursive: true, force: true });
  }
});

test('/readyz turns 503 when a connected Kafka becomes unreachable, and 200 again when it is back', { timeout: 180000 }, async () => {
  await waitFor(() => proxy.proxy.readiness().ready, 60000, 'ready after the previous tests');
  assert.equal((await getText(proxy.adminUrl, '/readyz')).status, 200);

  kafka('stop');
  // The cluster check runs every 5 s; with a refused connection it fails at once.
  const down = await readyzBecomes(proxy.adminUrl, 503, 20000);
  assert.match(down.body, /Kafka unreachable/, 'not "not connected yet": the proxy had been connected');
  assert.equal((await getText(proxy.adminUrl, '/healthz')).status, 200, 'alive all along');
  assert.equal(sampleSum(parsePrometheusText((await getText(proxy.adminUrl, '/metrics')).body), 'mqtt_kafka_proxy_ready'), 0);

  kafka('start');
  const up = await readyzBecomes(proxy.adminUrl, 200, 60000);
  assert.equal(up.body, 'ready\n');
  assert.equal(sampleSum(parsePrometheusText((await getText(proxy.adminUrl, '/metrics')).body), 'mqtt_kafka_proxy_ready'), 1);
  assert.ok(proxy.logs.some((l) => l.msg === 'Kafka reachable again'), 'the return is logged');
});

describe('SIGTERM while Kafka does not answer and records are in flight', () => {
  const delayMs = 1000;
  const timeoutMs = 2000;
  const bound = delayMs + timeoutMs + DRAIN_WATCHDOG_SLACK_MS;
  const configDir = mkdtempSync(path.join(os.tmpdir(), 'mkp-outage-cli-'));
  const runs: CliProcess[] = [];
  const clients: mqtt.MqttClient[] = [];

  /** The CLI against this test's broker, connected, a first message acknowledged (so its topic is known). */
  async function startCli(name: string): Promise<{ run: CliProcess; client: mqtt.MqttClient; admin: string }> {
    const adminPort = await freePort();
    const file = path.join(configDir, `${name}.yaml`);
    // A long request timeout: frozen Kafka keeps the records in flight past the drain timeout.
    writeFileSync(
      file,
      `listeners: [{ protocol: tcp, host: 127.0.0.1, port: 0 }]
kafka: { brokers: [${brokers.join(', ')}], requestTimeoutMs: 60000 }
mappings: [{ name: all, match: '^outage/(?<id>.+)$', topic: ${topic}, key: '\${id}' }]
auth: { anonymous: true }
http: { port: ${adminPort}, host: 127.0.0.1 }
drain: { delayMs: ${delayMs}, timeoutMs: ${timeoutMs} }
`,
    );
    const run = spawnCli(['--config', file]);
    runs.push(run);
    await waitUntil(() => findLog(run, 'listening') !== undefined && findLog(run, 'connected to Kafka') !== undefined, `${name} ready`, 60000, run);
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${findLog(run, 'listening')!.port as number}`, {
      protocolVersion: 5,
      clientId: name,
      reconnectPeriod: 0,
    });
    client.on('error', () => undefined);
    clients.push(client);
    await client.publishAsync(`outage/${name}-warm`, 'warm', { qos: 1 });
    return { run, client, admin: `http://127.0.0.1:${adminPort}` };
  }

  /** Publishes that Kafka will not answer, until the proxy counts them in flight. */
  async function leaveInFlight(client: mqtt.MqttClient, admin: string, name: string): Promise<number> {
    for (let i = 0; i < 5; i++) client.publish(`outage/${name}-${i}`, 'stuck', { qos: 1 }, () => undefined);
    let inFlight = 0;
    const deadline = Date.now() + 10000;
    while (inFlight < 5 && Date.now() < deadline) {
      inFlight = sampleSum(parsePrometheusText((await getText(admin, '/metrics')).body), 'mqtt_kafka_proxy_inflight_messages');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(inFlight, 5, `${name}: the records are in flight`);
    return inFlight;
  }

  let first: Awaited<ReturnType<typeof startCli>>;
  let second: Awaited<ReturnType<typeof startCli>>;
  before(async () => {
    await waitFor(() => proxy.proxy.readiness().ready, 60000, 'Kafka back after the previous tests');
    first = await startCli('drain-overrun');
    second = await startCli('second-signal');
    freezeKafka(true);
  });
  after(() => {
    freezeKafka(false);
    for (const client of clients) client.end(true);
    for (const run of runs) if (run.isRunning()) run.child.kill('SIGKILL');
    rmSync(configDir, { recursive: true, force: true });
  });

  test(`exits at drain.delayMs + drain.timeoutMs, before the watchdog's ${DRAIN_WATCHDOG_SLACK_MS} ms of slack, saying what went unanswered`, { timeout: 60000 }, async () => {
    const { run, client, admin } = first;
    await leaveInFlight(client, admin, 'drain-overrun');
    const signalledAt = Date.now();
    run.child.kill('SIGTERM');
    const exit = await exitWithin(run, bound + 3000);
    const afterMs = Date.now() - signalledAt;
    assert.ok(exit !== null, `still running ${bound + 3000} ms after SIGTERM:\n${run.stdoutTail()}`);
    // Process start-up of the signal handler and exit take a few ms; a busy machine, a bit more.
    assert.ok(afterMs >= delayMs + timeoutMs - 100 && afterMs < bound, `exited ${afterMs} ms after SIGTERM; the drain ends at ${delayMs + timeoutMs} ms, the watchdog at ${bound} ms`);
    const timedOut = findLog(run, 'drain timed out: records still unanswered by Kafka are not acknowledged; their clients will retransmit');
    assert.ok(timedOut, `the drain timeout is logged:\n${run.stdoutTail()}`);
    assert.equal(timedOut.unanswered, 5);
    assert.equal(timedOut.timeoutMs, timeoutMs);
    assert.ok((timedOut.time as number) - (findLog(run, 'signal received, draining')!.time as number) >= delayMs + timeoutMs - 50, 'after the delay and the drain timeout');
    // The Kafka client closes without waiting for the requests Kafka does not answer, so the stop
    // finishes at the drain timeout and the watchdog (a backstop for a stop that hangs) stays quiet.
    assert.equal(findLog(run, 'drain did not finish in time, exiting'), undefined, run.stdoutTail());
    assert.ok(findLog(run, 'stopped'), `the stop finished:\n${run.stdoutTail()}`);
    assert.deepEqual(exit, { code: EXIT.ok, signal: null }, run.stderr());
  });

  test('a second signal during the drain exits at once with code 1', { timeout: 60000 }, async () => {
    const { run, client, admin } = second;
    await leaveInFlight(client, admin, 'second-signal');
    run.child.kill('SIGTERM');
    await waitUntil(() => findLog(run, 'signal received, draining') !== undefined, 'draining', 5000, run);
    const secondAt = Date.now();
    run.child.kill('SIGINT');
    const exit = await exitWithin(run, 2000);
    assert.ok(exit !== null, `still running 2 s after the second signal:\n${run.stdoutTail()}`);
    assert.ok(Date.now() - secondAt < delayMs, 'before the drain delay was even over');
    assert.deepEqual(exit, { code: EXIT.failure, signal: null }, run.stderr());
    assert.equal(findLog(run, 'second signal: exiting without waiting for Kafka')?.signal, 'SIGINT');
  });
});
