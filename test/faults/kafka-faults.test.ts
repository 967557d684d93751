// Kafka fails under load: restarted, frozen. Every message a device saw acknowledged must be in
// Kafka afterwards; duplicates are allowed for QoS 1 (counted), not for QoS 2 within a connection.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { deliveryReport, formatReport } from '../helpers/delivery.js';
import { settle, startDevices, type Device } from '../helpers/device.js';
import { faultsConfig, faultsKafka, LOAD_SECONDS, sleep } from '../helpers/faults.js';
import { createTopics, uniqueName } from '../helpers/kafka.js';
import { freePort, ProxyProcess } from '../helpers/processes.js';

const kafka = faultsKafka();
const brokers = [kafka.bootstrap];
let proxy: ProxyProcess | undefined;
let devices: Device[] = [];

async function setUp(prefix: string): Promise<{ topic: string; port: number }> {
  await kafka.start(); // a no-op when it is running; a previous test may have left it stopped
  const topic = uniqueName(prefix);
  await createTopics([topic], brokers, 3);
  const port = await freePort();
  proxy = await ProxyProcess.start({ yaml: faultsConfig(topic), port, brokers: kafka.bootstrap });
  return { topic, port };
}

async function tearDown(): Promise<void> {
  for (const device of devices) device.close();
  devices = [];
  await proxy?.dispose();
  proxy = undefined;
}

before(() => kafka.start());

const total = (devices: readonly Device[], count: (d: Device) => number): number => devices.reduce((n, d) => n + count(d), 0);
/** First acknowledgements that came strictly between two instants. */
const acksBetween = (devices: readonly Device[], from: number, to: number): number =>
  total(devices, (d) => [...d.acked.values()].filter((t) => t > from && t < to).length);
after(async () => {
  await tearDown();
  try {
    kafka.thaw();
  } catch {
    // not running
  }
});

test('Kafka restarted mid-load: every acknowledged QoS 1 message is in Kafka', { timeout: 300_000 }, async () => {
  const { topic, port } = await setUp('faults-restart');
  try {
    devices = [
      ...startDevices(10, 'restart-v4', { target: () => ({ host: '127.0.0.1', port }), qos: 1, rate: 50, window: 20 }),
      ...startDevices(10, 'restart-v5', { target: () => ({ host: '127.0.0.1', port }), qos: 1, rate: 50, window: 20, protocolVersion: 5 }),
    ];
    await sleep(LOAD_SECONDS * 1000);
    const ackedBefore = total(devices, (d) => d.acked.size);
    // Stop and start run beside the devices (not blocking this process), so they publish, time out,
    // reconnect and retransmit through the whole outage, as real devices would.
    const stoppedAt = Date.now();
    await kafka.stop();
    const goneAt = Date.now(); // the broker process has exited: nothing can be acknowledged from here
    const publishesAtStop = total(devices, (d) => d.publishes);
    const connectsAtStop = total(devices, (d) => d.connects);
    await sleep(2000);
    const restartAt = Date.now();
    await kafka.start();
    const servingAt = Date.now();
    const downMs = servingAt - stoppedAt;
    const ackedWhileGone = acksBetween(devices, goneAt, restartAt);
    const publishedWhileDown = total(devices, (d) => d.publishes) - publishesAtStop;
    const reconnectsWhileDown = total(devices, (d) => d.connects) - connectsAtStop;
    const failedPublishes = proxy!.logs.filter((l) => l.outcome === 'failed').length;
    await sleep(LOAD_SECONDS * 1000);
    for (const d of devices) d.stopSending();
    const settled = await settle(devices, 90_000);
    const report = await deliveryReport(topic, devices, brokers);
    console.log(
      formatReport(
        'kafka restart',
        report,
        `kafkaDownMs=${downMs} (stop ${goneAt - stoppedAt} ms, gone ${restartAt - goneAt} ms, start ${servingAt - restartAt} ms) ackedBeforeFault=${ackedBefore} ` +
          `ackedWhileGone=${ackedWhileGone} publishesWhileDown=${publishedWhileDown} reconnectsWhileDown=${reconnectsWhileDown} failedPublishes=${failedPublishes} ` +
          `reconnects=${total(devices, (d) => d.connects - 1)}`,
      ),
    );
    assert.ok(settled, `every device got its messages acknowledged in the end (${total(devices, (d) => d.unacked)} still unacked)`);
    assert.ok(ackedBefore > 0 && report.acked > ackedBefore, 'load ran before and after the restart');
    // The outage was real and the devices lived through it.
    assert.equal(ackedWhileGone, 0, 'no acknowledgement while the broker process was gone');
    assert.ok(publishedWhileDown > 0, 'the devices kept publishing (and retransmitting) while Kafka was down');
    assert.ok(reconnectsWhileDown > 0, 'produce timeouts sent devices away during the outage and they reconnected');
    assert.ok(failedPublishes > 0, 'publishes failed while Kafka was down');
    assert.equal(report.missing, 0, `acknowledged but not in Kafka: ${report.missingExamples.join(', ')}`);
  } finally {
    await tearDown();
  }
});

test('Kafka frozen (SIGSTOP 20 s, then SIGCONT): nothing acknowledged is lost, acks resume', { timeout: 300_000 }, async () => {
  const { topic, port } = await setUp('faults-freeze');
  try {
    devices = [
      ...startDevices(10, 'freeze-v4', { target: () => ({ host: '127.0.0.1', port }), qos: 1, rate: 50, window: 20 }),
      ...startDevices(10, 'freeze-v5', { target: () => ({ host: '127.0.0.1', port }), qos: 1, rate: 50, window: 20, protocolVersion: 5 }),
    ];
    await sleep(LOAD_SECONDS * 1000);
    const freezeSeconds = Number(process.env.FAULTS_FREEZE_SECONDS ?? '20');
    kafka.freeze();
    const frozenAt = Date.now();
    let thawed = false;
    try {
      await sleep(freezeSeconds * 1000);
    } finally {
      kafka.thaw();
      thawed = true;
    }
    const thawedAt = Date.now();
    // Acks during the freeze can only be for records Kafka had taken before it stopped.
    const ackedDuringFreeze = devices.reduce((n, d) => n + [...d.acked.values()].filter((t) => t > frozenAt + 1000 && t < thawedAt).length, 0);
    await sleep(LOAD_SECONDS * 1000);
    for (const d of devices) d.stopSending();
    const settled = await settle(devices, 120_000);
    const report = await deliveryReport(topic, devices, brokers);
    console.log(
      formatReport(
        'kafka frozen',
        report,
        `frozenSeconds=${freezeSeconds} ackedDuringFreeze=${ackedDuringFreeze} timeoutDisconnects=${proxy!.logs.filter((l) => l.outcome === 'failed').length} reconnects=${devices.reduce((n, d) => n + d.connects - 1, 0)}`,
      ),
    );
    assert.ok(thawed);
    assert.equal(ackedDuringFreeze, 0, 'no acknowledgement while Kafka is frozen');
    // What the report prints: the freeze outlasted the produce timeout, so records failed and
    // devices were sent away and came back.
    assert.ok(proxy!.logs.filter((l) => l.outcome === 'failed').length > 0, 'produce timeouts during the freeze');
    assert.ok(total(devices, (d) => d.connects - 1) > 0, 'devices were disconnected and reconnected');
    assert.ok(settled, `every device got its messages acknowledged after the thaw (${devices.reduce((n, d) => n + d.unacked, 0)} still unacked)`);
    assert.equal(report.missing, 0, `acknowledged but not in Kafka: ${report.missingExamples.join(', ')}`);
  } finally {
    await tearDown();
  }
});

test('QoS 2 within one connection: no duplicates in Kafka, also when Kafka is slow and the device retransmits with DUP', { timeout: 300_000 }, async () => {
  const { topic, port } = await setUp('faults-qos2');
  try {
    // A device that sends a PUBLISH again (DUP) after 500 ms without PUBREC, on the same connection.
    devices = startDevices(10, 'qos2', { target: () => ({ host: '127.0.0.1', port }), qos: 2, rate: 40, window: 20, retransmitMs: 500 });
    await sleep(LOAD_SECONDS * 1000);
    // Slow Kafka: frozen for less than the proxy's produce timeout, so connections survive.
    for (let i = 0; i < 2; i++) {
      kafka.freeze();
      await sleep(2500);
      kafka.thaw();
      await sleep(2000);
    }
    for (const d of devices) d.stopSending();
    const settled = await settle(devices, 60_000);
    const report = await deliveryReport(topic, devices, brokers);
    const retransmissions = report.publishes - report.sent;
    const reconnects = devices.reduce((n, d) => n + d.connects - 1, 0);
    console.log(formatReport('qos2 slow kafka', report, `dupRetransmissions=${retransmissions} reconnects=${reconnects}`));
    assert.ok(settled, 'every QoS 2 message got its PUBREC');
    assert.ok(retransmissions > 0, 'the devices did retransmit with DUP while Kafka was slow');
    assert.equal(reconnects, 0, 'the connections survived (the scenario is about one connection)');
    assert.equal(report.missing, 0, `acknowledged but not in Kafka: ${report.missingExamples.join(', ')}`);
    assert.equal(report.duplicates, 0, 'a DUP retransmission was not produced again');
  } finally {
    await tearDown();
  }
});
