// Inbound QoS 2 exactly once when replicas die: persistent QoS 2 devices publish through HAProxy to
// two replicas while each replica in turn is SIGKILLed and started again. A device keeps its packet
// ids across reconnects (its session) and sends again what got no PUBREC, and PUBREL for what did.
// Every message acknowledged must be in Kafka, and none twice.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { deliveryReport, formatReport } from '../helpers/delivery.js';
import { startDevices, type Device } from '../helpers/device.js';
import { faultsConfig, faultsKafka, LOAD_SECONDS, sleep } from '../helpers/faults.js';
import { createTopics, uniqueName } from '../helpers/kafka.js';
import { freePort, HaProxy, ProxyProcess } from '../helpers/processes.js';

const kafka = faultsKafka();
const brokers = [kafka.bootstrap];

// Records wait 200 ms for company (lingerMs), so a kill always catches QoS 2 messages whose intent
// is stored and whose record is not in Kafka yet: retransmissions in doubt, written on resume.
const yaml = (topic: string, commands: string, sessions: string): string =>
  faultsConfig(topic, `delivery:
  - { name: commands, kafka: ${commands}, mqttTopic: 'devices/\${key}/commands' }
retained: { enabled: false }
sessions: { topic: ${sessions}, leaseSeconds: 3 }
`).replace('  requestTimeoutMs: 5000\n', '  requestTimeoutMs: 5000\n  lingerMs: 200\n');

before(() => kafka.start());

/** Log lines of the look-ups of retransmissions in doubt, over every process that ran. */
function lookups(all: readonly ProxyProcess[]): { found: number; written: number } {
  const lines = all.flatMap((p) => p.logs).filter((l) => typeof l.msg === 'string' && l.msg.startsWith('QoS 2 retransmission'));
  return { found: lines.filter((l) => l.found === true).length, written: lines.filter((l) => l.found === false).length };
}

test('inbound QoS 2 with persistent sessions through HAProxy, each replica SIGKILLed and started again under load: nothing acknowledged missing, no duplicate in Kafka', { timeout: 300_000 }, async () => {
  const topic = uniqueName('faults-qos2-in');
  const commands = uniqueName('faults-qos2-in-commands');
  const sessions = uniqueName('faults-qos2-in-sessions');
  await createTopics([topic, commands], brokers, 3);
  const ports = [await freePort(), await freePort()];
  const front = await freePort();
  const config = yaml(topic, commands, sessions);
  // Every process started, the killed ones too (their logs count), and what runs now.
  const all: ProxyProcess[] = [];
  const proxies: ProxyProcess[] = [];
  let devices: Device[] = [];
  const haproxy = new HaProxy(front, ports);
  try {
    for (const port of ports) all.push(await ProxyProcess.start({ yaml: config, port, brokers: kafka.bootstrap }));
    proxies.push(...all);
    await haproxy.ready();
    const target = () => ({ host: '127.0.0.1', port: front });
    devices = [
      ...startDevices(10, 'q2in-v4', { target, qos: 2, rate: 50, window: 20, persistent: true }),
      ...startDevices(10, 'q2in-v5', { target, qos: 2, rate: 50, window: 20, persistent: true, protocolVersion: 5 }),
    ];
    await sleep(LOAD_SECONDS * 1000);
    let unackedAtKills = 0;
    // The first kill while records wait for company; the second while Kafka is frozen, so produce
    // requests the replica sent are appended after it died: in Kafka, never acknowledged.
    for (const i of [0, 1]) {
      if (i === 1) {
        kafka.freeze();
        await sleep(1000);
      }
      unackedAtKills += devices.reduce((n, d) => n + d.unacked, 0);
      proxies[i]!.kill('SIGKILL');
      await proxies[i]!.exited;
      if (i === 1) {
        await sleep(300);
        kafka.thaw();
      }
      await sleep(1000);
      const restarted = await ProxyProcess.start({ yaml: config, port: ports[i]!, brokers: kafka.bootstrap });
      all.push(restarted);
      proxies[i] = restarted;
      await sleep(LOAD_SECONDS * 1000);
    }
    for (const d of devices) d.stopSending();
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline && !devices.every((d) => d.unacked === 0 && d.unreleased === 0)) await sleep(200);
    const report = await deliveryReport(topic, devices, brokers);
    const reconnects = devices.reduce((n, d) => n + d.connects - 1, 0);
    const looked = lookups(all);
    const errors = devices.flatMap((d) => d.errors);
    console.log(formatReport('inbound QoS 2, replicas SIGKILLed', report, `unackedAtKills=${unackedAtKills} reconnects=${reconnects} inDoubtFound=${looked.found} inDoubtWritten=${looked.written} unacked=${devices.reduce((n, d) => n + d.unacked, 0)} unreleased=${devices.reduce((n, d) => n + d.unreleased, 0)}`));
    assert.ok(reconnects >= 10, 'the devices of the killed replicas reconnected');
    assert.ok(devices.every((d) => d.unacked === 0 && d.unreleased === 0), 'every message acknowledged and released in the end');
    assert.deepEqual(errors.filter((e) => e.startsWith('session lost')), [], 'every reconnect found its session');
    assert.equal(report.missing, 0, `acknowledged and missing: ${report.missingExamples.join(' ')}`);
    assert.equal(report.duplicates, 0, `duplicates in Kafka: ${report.duplicateExamples.join(' ')}`);
    assert.equal(report.found, report.acked, 'everything in Kafka was acknowledged');
  } finally {
    for (const device of devices) device.close();
    await haproxy.stop();
    await Promise.all(all.map((p) => p.dispose()));
  }
});
