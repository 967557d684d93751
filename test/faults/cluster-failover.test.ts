// A 3-broker cluster under QoS 1 MQTT load through the proxy: every partition's leader moved
// (replicas reordered, preferred leaders elected), then one broker stopped and started again.
// Nothing acknowledged may be missing from Kafka, and the group-less reader, reading the topic all
// along, must deliver every record once, in order per partition, following the leaders.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Admin } from '@platformatic/kafka';
import { KafkaReader } from '../../src/kafka/reader.js';
import { KafkaCluster } from '../helpers/cluster.js';
import { deliveryReport, formatReport } from '../helpers/delivery.js';
import { settle, startDevices, type Device } from '../helpers/device.js';
import { faultsConfig, LOAD_SECONDS } from '../helpers/faults.js';
import { uniqueName } from '../helpers/kafka.js';
import { freePort, ProxyProcess } from '../helpers/processes.js';
import { Collector, createTopic, keptLogger, sleep, until } from '../helpers/reader.js';

const port = Number(process.env.CLUSTER_KAFKA_PORT ?? '29300');
const dataDir = process.env.CLUSTER_KAFKA_DATA_DIR ?? path.join(os.tmpdir(), `mkp-faults-cluster-${port}`);
const cluster = new KafkaCluster(port, dataDir);
const PARTITIONS = 6;
let proxy: ProxyProcess | undefined;
let devices: Device[] = [];

before(async () => {
  await cluster.clean();
  await cluster.start();
});

after(async () => {
  for (const device of devices) device.close();
  await proxy?.dispose();
  if (process.env.FAULTS_KEEP_KAFKA !== '1') await cluster.clean();
});

async function leaders(topic: string): Promise<Array<{ leader: number; replicas: number[] }>> {
  const admin = new Admin({ clientId: 'mkp-faults-admin', bootstrapBrokers: [...cluster.brokers] });
  try {
    const metadata = await admin.metadata({ topics: [topic], forceUpdate: true });
    return metadata.topics.get(topic)!.partitions.map((p) => ({ leader: p.leader, replicas: [...p.replicas] }));
  } finally {
    await admin.close();
  }
}

/** Every partition's replica list rotated by one, then preferred leaders elected: each leader moves. */
async function moveLeaders(topic: string): Promise<void> {
  const current = await leaders(topic);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mkp-reassign-'));
  const file = path.join(dir, 'reassignment.json');
  const partitions = current.map(({ replicas }, partition) => ({ topic, partition, replicas: [...replicas.slice(1), replicas[0]!] }));
  writeFileSync(file, JSON.stringify({ version: 1, partitions }));
  try {
    await cluster.tool('reassign-partitions', ['--reassignment-json-file', file, '--execute']);
    for (let i = 0; ; i++) {
      const out = await cluster.tool('reassign-partitions', ['--reassignment-json-file', file, '--verify']);
      if (!/still in progress/i.test(out)) break;
      if (i > 60) throw new Error(`reassignment not done: ${out}`);
      await sleep(500);
    }
    await cluster.tool('leader-election', ['--election-type', 'PREFERRED', '--all-topic-partitions']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('3 brokers: leaders moved, then one broker stopped and started, under QoS 1 load: nothing acknowledged missing, the reader follows', { timeout: 600_000 }, async () => {
  const topic = uniqueName('faults-cluster');
  await createTopic(cluster.brokers, topic, { partitions: PARTITIONS, replicas: 3 });
  const mqttPort = await freePort();
  proxy = await ProxyProcess.start({ yaml: faultsConfig(topic), port: mqttPort, brokers: cluster.bootstrap });

  const collector = new Collector();
  const { logger, lines } = keptLogger();
  const reader = new KafkaReader({
    connection: { clientId: 'mkp-faults-cluster-reader', brokers: cluster.brokers, requestTimeoutMs: 5000, connectTimeoutMs: 1000 },
    logger,
    maxWaitMs: 200,
    onBatch: collector.take,
  });
  try {
    reader.assign(topic, { start: 'earliest' });
    devices = startDevices(10, 'cluster', { target: () => ({ host: '127.0.0.1', port: mqttPort }), qos: 1, rate: 50, window: 20 });
    await sleep(LOAD_SECONDS * 1000);

    const before = await leaders(topic);
    const movedAt = Date.now();
    await moveLeaders(topic);
    const moved = await leaders(topic);
    const movedMs = Date.now() - movedAt;
    const leadersChanged = moved.filter((p, i) => p.leader !== before[i]!.leader).length;
    await sleep(LOAD_SECONDS * 1000);

    const stopped = 2;
    const ledByStopped = (await leaders(topic)).filter((p) => p.leader === stopped).length;
    const stopAt = Date.now();
    await cluster.stopNode(stopped);
    const stopMs = Date.now() - stopAt;
    await sleep(2 * LOAD_SECONDS * 1000);
    const restartAt = Date.now();
    await cluster.startNode(stopped);
    const downMs = Date.now() - stopAt;
    const startMs = Date.now() - restartAt;
    await sleep(LOAD_SECONDS * 1000);

    for (const d of devices) d.stopSending();
    const settled = await settle(devices, 120_000);
    const report = await deliveryReport(topic, devices, cluster.brokers);
    const ends = await reader.offsets(topic, 'latest');
    const inKafka = [...ends.values()].reduce((n, end) => n + Number(end), 0);
    await until(() => [...ends].every(([p, end]) => (reader.position(topic, p) ?? -1n) >= end), 60_000, 'the reader at the end of every partition');
    const warnings = lines.filter((l) => l.level === 40).map((l) => String(l.msg));
    console.log(
      formatReport(
        '3-broker cluster',
        report,
        `leadersChanged=${leadersChanged}/${PARTITIONS} (reassign+election ${movedMs} ms) brokerStopped=${stopped} ledByIt=${ledByStopped} ` +
          `stop=${stopMs}ms down=${downMs}ms start=${startMs}ms reconnects=${devices.reduce((n, d) => n + d.connects - 1, 0)}`,
      ),
    );
    console.log(
      `[faults] 3-broker cluster reader: inKafka=${inKafka} delivered=${collector.count} batches=${collector.batches.length} ` +
        `disorder=${collector.disorder} gaps=${collector.gaps} warnLines=${warnings.length}: ${warnings.join(' | ')}`,
    );
    assert.ok(settled, `every device got its messages acknowledged in the end (${devices.reduce((n, d) => n + d.unacked, 0)} still unacked)`);
    assert.equal(leadersChanged, PARTITIONS, 'every leader moved');
    assert.ok(ledByStopped > 0, 'the stopped broker led partitions');
    assert.equal(report.missing, 0, `acknowledged but not in Kafka: ${report.missingExamples.join(', ')}`);
    assert.ok(report.acked > 0);
    assert.equal(collector.count, inKafka, 'the reader delivered every record in Kafka once');
    assert.equal(collector.disorder + collector.gaps, 0, 'in offset order, none skipped');
    assert.ok(warnings.includes('Kafka reader: partition leaders moved'), 'leader moves are logged');
    assert.ok(warnings.length <= 20, `a line per change of state, not per retry (${warnings.length})`);
  } finally {
    await reader.close();
  }
});
