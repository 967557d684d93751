// The proxy itself fails under load: killed, failed over behind HAProxy, stopped with SIGTERM.
// Devices reconnect and retransmit what was not acknowledged; every acknowledged message must be
// in Kafka. A graceful stop must not cause duplicates.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { deliveryReport, formatReport } from '../helpers/delivery.js';
import { settle, startDevices, type Device } from '../helpers/device.js';
import { faultsConfig, faultsKafka, LOAD_SECONDS, sleep } from '../helpers/faults.js';
import { createTopics, uniqueName } from '../helpers/kafka.js';
import { freePort, HaProxy, ProxyProcess } from '../helpers/processes.js';
import { getText, parsePrometheusText, sampleSum } from '../helpers/prometheus.js';

const kafka = faultsKafka();
const brokers = [kafka.bootstrap];
let proxies: ProxyProcess[] = [];
let devices: Device[] = [];
let haproxy: HaProxy | undefined;

async function newTopic(prefix: string): Promise<string> {
  const topic = uniqueName(prefix);
  await createTopics([topic], brokers, 3);
  return topic;
}

/** A proxy process; with `adminPort`, its /metrics is served there (on loopback). */
async function startProxy(topic: string, port: number, adminPort?: number, lingerMs?: number): Promise<ProxyProcess> {
  let yaml = faultsConfig(topic);
  if (lingerMs !== undefined) yaml = yaml.replace('  requestTimeoutMs: 5000\n', `  requestTimeoutMs: 5000\n  lingerMs: ${lingerMs}\n`);
  if (adminPort !== undefined) yaml = yaml.replace('http: { port: 0 }', `http: { port: ${adminPort}, host: 127.0.0.1 }`);
  const proxy = await ProxyProcess.start({ yaml, port, brokers: kafka.bootstrap });
  proxies.push(proxy);
  return proxy;
}

/** A metric of a proxy's /metrics, summed over the samples with these labels. */
async function metric(adminPort: number, name: string, labels: Record<string, string> = {}): Promise<number> {
  const { body } = await getText(`http://127.0.0.1:${adminPort}`, '/metrics');
  return sampleSum(parsePrometheusText(body), name, labels);
}

async function tearDown(): Promise<void> {
  for (const device of devices) device.close();
  devices = [];
  await haproxy?.stop();
  haproxy = undefined;
  await Promise.all(proxies.map((p) => p.dispose()));
  proxies = [];
}

before(() => kafka.start());
after(tearDown);

/** lingerMs of the proxy the SIGKILL test kills (see there). */
const KILL_LINGER_MS = 200;

const reconnectsOf = (all: readonly Device[]) => all.reduce((n, d) => n + d.connects - 1, 0);

test('proxy killed with SIGKILL mid-load and started again: devices retransmit, nothing acknowledged is lost', { timeout: 300_000 }, async () => {
  const topic = await newTopic('faults-kill');
  const port = await freePort();
  try {
    // Records wait 200 ms for company, so at any moment some are on their way to Kafka: the kill
    // always catches messages the devices have sent and not seen acknowledged.
    const first = await startProxy(topic, port, undefined, KILL_LINGER_MS);
    devices = [
      ...startDevices(10, 'kill-v4', { target: () => ({ host: '127.0.0.1', port }), qos: 1, rate: 100, window: 50 }),
      ...startDevices(10, 'kill-v5', { target: () => ({ host: '127.0.0.1', port }), qos: 1, rate: 100, window: 50, protocolVersion: 5 }),
    ];
    await sleep(LOAD_SECONDS * 1000);
    const unackedAtKill = devices.reduce((n, d) => n + d.unacked, 0);
    first.kill('SIGKILL');
    await first.exited;
    const restartStarted = Date.now();
    await startProxy(topic, port);
    const restartMs = Date.now() - restartStarted;
    await sleep(LOAD_SECONDS * 1000);
    for (const d of devices) d.stopSending();
    const settled = await settle(devices, 60_000);
    const report = await deliveryReport(topic, devices, brokers);
    console.log(formatReport('proxy SIGKILL', report, `unackedAtKill=${unackedAtKill} restartMs=${restartMs} reconnects=${reconnectsOf(devices)}`));
    assert.ok(unackedAtKill > 0, 'messages were on their way when the proxy was killed, otherwise this proves little');
    assert.ok(settled, 'every device got its messages acknowledged by the new process');
    assert.ok(reconnectsOf(devices) >= devices.length, 'every device reconnected');
    assert.equal(report.missing, 0, `acknowledged but not in Kafka: ${report.missingExamples.join(', ')}`);
  } finally {
    await tearDown();
  }
});

test('two replicas behind HAProxy, one killed mid-load: devices reconnect through HAProxy to the survivor', { timeout: 300_000 }, async () => {
  const topic = await newTopic('faults-haproxy');
  const [portA, portB, front, adminA, adminB] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
  try {
    const a = await startProxy(topic, portA, adminA);
    const b = await startProxy(topic, portB, adminB);
    haproxy = new HaProxy(front, [portA, portB]);
    await haproxy.ready();
    await sleep(1500); // both servers seen healthy (rise 2 x 500 ms)
    devices = [
      ...startDevices(10, 'ha-v4', { target: () => ({ host: '127.0.0.1', port: front }), qos: 1, rate: 100, window: 50 }),
      ...startDevices(10, 'ha-v5', { target: () => ({ host: '127.0.0.1', port: front }), qos: 1, rate: 100, window: 50, protocolVersion: 5 }),
    ];
    await sleep(LOAD_SECONDS * 1000);
    // Who is where when A dies: A's open MQTT connections, and the CONNECTs B accepted so far.
    const onA = await metric(adminA, 'mqtt_kafka_proxy_connections');
    const acceptedByBBefore = await metric(adminB, 'mqtt_kafka_proxy_connects_total', { outcome: 'accepted' });
    const reconnectsBefore = reconnectsOf(devices);
    a.kill('SIGKILL');
    await a.exited;
    await sleep(LOAD_SECONDS * 1000);
    for (const d of devices) d.stopSending();
    const settled = await settle(devices, 60_000);
    const report = await deliveryReport(topic, devices, brokers);
    const movedToB = (await metric(adminB, 'mqtt_kafka_proxy_connects_total', { outcome: 'accepted' })) - acceptedByBBefore;
    const reconnectsAfterKill = reconnectsOf(devices) - reconnectsBefore;
    console.log(
      formatReport(
        'haproxy failover',
        report,
        `onKilledReplica=${onA} movedToSurvivor=${movedToB} reconnectsAfterKill=${reconnectsAfterKill} reconnects=${reconnectsOf(devices)} survivorAlive=${b.alive}`,
      ),
    );
    assert.ok(b.alive, 'the survivor kept running');
    assert.ok(settled, 'every device got its messages acknowledged by the survivor');
    assert.ok(onA > 0 && onA < devices.length, `HAProxy spread the devices over both replicas (${onA} of ${devices.length} on the killed one)`);
    assert.ok(reconnectsAfterKill >= onA, `the ${onA} devices of the killed replica reconnected (${reconnectsAfterKill} reconnects)`);
    assert.ok(movedToB >= onA, `the survivor accepted the ${onA} devices of the killed replica (${movedToB} CONNECTs)`);
    assert.equal(report.missing, 0, `acknowledged but not in Kafka: ${report.missingExamples.join(', ')}`);
  } finally {
    await tearDown();
  }
});

test('SIGTERM mid-load: the drain loses nothing and causes no duplicates', { timeout: 300_000 }, async () => {
  const topic = await newTopic('faults-sigterm');
  const port = await freePort();
  try {
    const first = await startProxy(topic, port);
    devices = [
      ...startDevices(10, 'term-v4', { target: () => ({ host: '127.0.0.1', port }), qos: 1, rate: 100, window: 50 }),
      ...startDevices(10, 'term-v5', { target: () => ({ host: '127.0.0.1', port }), qos: 1, rate: 100, window: 50, protocolVersion: 5 }),
    ];
    await sleep(LOAD_SECONDS * 1000);
    const termAt = Date.now();
    first.kill('SIGTERM');
    const exit = await first.exited;
    if (process.env.FAULTS_DEBUG) {
      for (const l of first.logs.filter((x) => (x.time as number) >= termAt - 50)) console.log(JSON.stringify(l));
    }
    await startProxy(topic, port);
    await sleep(LOAD_SECONDS * 1000);
    for (const d of devices) d.stopSending();
    const settled = await settle(devices, 60_000);
    const report = await deliveryReport(topic, devices, brokers);
    const shutdownCodes = devices.reduce((n, d) => n + d.disconnectCodes.filter((c) => c === 0x8b).length, 0);
    console.log(formatReport('proxy SIGTERM', report, `exitCode=${exit.code} v5ToldShuttingDown=${shutdownCodes} reconnects=${reconnectsOf(devices)}`));
    assert.equal(exit.code, 0, 'the drain finished and the process exited cleanly');
    assert.ok(settled, 'every device got its messages acknowledged');
    assert.equal(report.missing, 0, `acknowledged but not in Kafka: ${report.missingExamples.join(', ')}`);
    assert.equal(
      report.duplicates,
      0,
      `the drain acknowledged every record it produced before closing connections (duplicated: ${report.duplicateExamples.join(', ')})`,
    );
  } finally {
    await tearDown();
  }
});
