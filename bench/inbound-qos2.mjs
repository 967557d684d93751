// Inbound QoS 2 with and without a persistent session, side by side on one proxy and one Kafka:
// what exactly once across crashes costs (a sessions-topic write before each record and before
// each PUBCOMP). Each MQTT 5 client keeps `--window` QoS 2 PUBLISHes in flight for `--seconds`;
// the rows are the same load with Clean Start 1 (the baseline) and with a Session Expiry of an hour.
//
//   npm run build && node bench/inbound-qos2.mjs [--clients=10] [--window=10] [--seconds=10] [--port-base=24800]
//
// Uses KAFKA_BROKERS when set, else starts a Kafka of its own (scripts/kafka-dev) on --port-base.
// Writes bench/results/<date>-inbound-qos2.json and .md.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Admin } from '@platformatic/kafka';
import mqtt from 'mqtt';
import { BENCH, cpuSeconds, log, sleep, start, startKafka, startReadyProxy, stop } from './delivery-harness.mjs';

const argv = process.argv.slice(2);
const option = (name, fallback) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const CLIENTS = Number(option('clients', 10));
const WINDOW = Number(option('window', 10));
const SECONDS = Number(option('seconds', 10));
const PORT_BASE = Number(option('port-base', 24800));
const PORTS = { kafka: PORT_BASE, proxy: PORT_BASE + 10, admin: PORT_BASE + 11 };
const stamp = new Date().toISOString().replace(/:/g, '-').replace(/\..*$/, '');
const PAYLOAD = Buffer.alloc(100, 0x61);
const results = { date: new Date().toISOString(), command: `node bench/inbound-qos2.mjs ${argv.join(' ')}`.trim(), machine: { nproc: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version }, rows: [] };

const config = (brokers, topic, commands, sessions) => `
listeners:
  - { protocol: tcp, host: 127.0.0.1, port: ${PORTS.proxy} }
kafka: { brokers: [${brokers}] }
mappings:
  - { name: telemetry, match: '^bench/.+$', topic: ${topic} }
delivery:
  - { name: commands, kafka: ${commands}, mqttTopic: 'devices/\${key}/commands' }
retained: { enabled: false }
sessions: { topic: ${sessions} }
auth: { anonymous: true }
http: { host: 127.0.0.1, port: ${PORTS.admin} }
log: { level: warn }
`;

/** `CLIENTS` MQTT 5 clients, each with `WINDOW` QoS 2 PUBLISHes in flight, for `SECONDS`. */
async function row(label, persistent, pid) {
  const session = persistent ? { clean: false, properties: { sessionExpiryInterval: 3600 } } : { clean: true };
  const clients = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => mqtt.connectAsync(`mqtt://127.0.0.1:${PORTS.proxy}`, { protocolVersion: 5, clientId: `bench-q2-${label}-${i}-${stamp}`, reconnectPeriod: 0, ...session })));
  const latencies = [];
  let done = 0;
  let running = true;
  const cpuBefore = cpuSeconds(pid);
  const t0 = performance.now();
  const lane = async (client, i) => {
    while (running) {
      const sentAt = performance.now();
      await client.publishAsync(`bench/${i}/data`, PAYLOAD, { qos: 2 });
      latencies.push(performance.now() - sentAt);
      done++;
    }
  };
  const lanes = clients.flatMap((client, i) => Array.from({ length: WINDOW }, () => lane(client, i)));
  await sleep(SECONDS * 1000);
  running = false;
  await Promise.all(lanes);
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(pid) - cpuBefore;
  await Promise.all(clients.map((c) => c.endAsync()));
  latencies.sort((a, b) => a - b);
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  const result = { label, persistent, messages: done, perSecond: Math.round(done / elapsed), cpuPer100k: (cpu / done) * 100_000, p50Ms: at(0.5), p99Ms: at(0.99) };
  log(`inbound qos2 ${label}: ${JSON.stringify(result)}`);
  results.rows.push(result);
}

async function main() {
  const kafka = await startKafka(PORTS.kafka);
  const { brokers } = kafka;
  const topic = `bench.inbound-qos2-${stamp}`;
  const commands = `bench.inbound-qos2-commands-${stamp}`;
  const admin = new Admin({ clientId: 'mkp-bench-admin', bootstrapBrokers: brokers.split(',') });
  await admin.createTopics({ topics: [topic, commands], partitions: 3, replicas: 1 });
  await admin.close();
  const { child } = await startReadyProxy('inbound-qos2', config(brokers, topic, commands, `bench.inbound-qos2-sessions-${stamp}`), PORTS.admin);
  // Alternated, twice, so that a warming JIT or a busy broker does not favour one of them.
  for (const round of [1, 2]) {
    await row(`clean-${round}`, false, child.pid);
    await row(`persistent-${round}`, true, child.pid);
  }
  await stop(child);
  if (kafka.own) start('kafka-stop', path.join(BENCH, '..', 'scripts/kafka-dev'), ['stop', '--clean'], {});
  write();
}

function write() {
  const dir = path.join(BENCH, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const base = path.join(dir, `${stamp}-inbound-qos2`);
  fs.writeFileSync(`${base}.json`, `${JSON.stringify(results, null, 2)}\n`);
  const sum = (persistent, key) => results.rows.filter((r) => r.persistent === persistent).reduce((n, r) => n + r[key], 0);
  const ratio = (key) => (sum(true, key) / sum(false, key)).toFixed(2);
  const lines = [
    `# Inbound QoS 2 bench, ${results.date}`, '', `\`${results.command}\``, '',
    `${CLIENTS} MQTT 5 clients, ${WINDOW} QoS 2 PUBLISHes of 100 B in flight each, ${SECONDS} s per row.`, '',
    '| row | session | messages/s | CPU-s per 100k | PUBLISH -> PUBCOMP p50 | p99 |', '|---|---|---|---|---|---|',
    ...results.rows.map((r) => `| ${r.label} | ${r.persistent ? 'persistent' : 'clean'} | ${r.perSecond} | ${r.cpuPer100k.toFixed(2)} | ${r.p50Ms.toFixed(1)} ms | ${r.p99Ms.toFixed(1)} ms |`),
    '', `persistent / clean: messages/s ${ratio('perSecond')}x, CPU per message ${ratio('cpuPer100k')}x, p50 ${ratio('p50Ms')}x, p99 ${ratio('p99Ms')}x`, '',
  ];
  fs.writeFileSync(`${base}.md`, lines.join('\n'));
  log(`wrote ${base}.md`);
}

main().then(() => process.exit(0), (error) => {
  log(`failed: ${error.stack ?? error}`);
  process.exit(1);
});
