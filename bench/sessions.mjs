// Sessions bench, every figure beside a baseline measured in the same run:
//   resume       a persistent MQTT 5 session (QoS 1) comes back to 10,000 commands written while it
//                was away: CONNACK, first message, all of them (messages/s and CPU-s of the proxy),
//                beside a direct @platformatic/kafka consumer reading the same records and beside
//                Mosquitto resuming a persistent session with 10,000 queued messages;
//   bytes        the sessions topic's bytes per session (key + value of each session's latest record)
//                for 1,000 sessions with one subscription each;
//   startup      time to /readyz and RSS after it with 100,000 stored sessions, beside an empty
//                sessions topic.
//
//   npm run build && node bench/sessions.mjs [--queued=10000] [--sessions=100000] [--port-base=24700]
//
// Uses KAFKA_BROKERS when set, else starts a Kafka of its own (scripts/kafka-dev) on --port-base.
// Writes bench/results/<date>-sessions.json and .md.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Admin, Consumer, MessagesStreamModes, Producer } from '@platformatic/kafka';
import mqtt from 'mqtt';
import { BENCH, cpuSeconds, log, rssBytes, sleep, start, startKafka, startMosquitto, startReadyProxy, stop, waitForPort } from './delivery-harness.mjs';

const argv = process.argv.slice(2);
const option = (name, fallback) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const QUEUED = Number(option('queued', 10_000));
const STORED = Number(option('sessions', 100_000));
const PORT_BASE = Number(option('port-base', 24700));
const PORTS = { kafka: PORT_BASE, proxy: PORT_BASE + 10, admin: PORT_BASE + 11, mosquitto: PORT_BASE + 14 };
const stamp = new Date().toISOString().replace(/:/g, '-').replace(/\..*$/, '');
const PAYLOAD = Buffer.alloc(100, 0x61);
const results = { date: new Date().toISOString(), command: `node bench/sessions.mjs ${argv.join(' ')}`.trim(), machine: { nproc: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version }, resume: [], bytes: null, startup: [] };

const config = (brokers, commands, sessions) => `
listeners:
  - { protocol: tcp, host: 127.0.0.1, port: ${PORTS.proxy} }
kafka: { brokers: [${brokers}] }
mappings:
  - { name: none, match: '^never$', topic: ${commands} }
delivery:
  - { name: commands, kafka: ${commands}, mqttTopic: 'devices/\${key}/commands' }
retained: { enabled: false }
sessions: { topic: ${sessions} }
auth: { anonymous: true }
http: { host: 127.0.0.1, port: ${PORTS.admin} }
log: { level: warn }
`;

function proxy(brokers, commands, sessions) {
  return startReadyProxy('sessions', config(brokers, commands, sessions), PORTS.admin);
}

async function produce(brokers, topic, key, count) {
  const producer = new Producer({ clientId: 'mkp-bench-sessions', bootstrapBrokers: brokers.split(','), acks: 1 });
  for (let i = 0; i < count; i += 1000) {
    const messages = [];
    for (let j = i; j < Math.min(count, i + 1000); j++) messages.push({ topic, key: Buffer.from(key(j)), value: PAYLOAD });
    await producer.send({ messages, acks: 1 });
  }
  await producer.close();
}

/** A persistent session subscribed to its command topic, then away while `whileAway` writes. */
async function resumeRow(name, port, whileAway, pid) {
  const options = { protocolVersion: 5, clientId: `bench-resume-${name}-${stamp}`, clean: false, properties: { sessionExpiryInterval: 3600 }, reconnectPeriod: 0 };
  const first = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, options);
  await first.subscribeAsync(`devices/${options.clientId}/commands`, { qos: 1 });
  await sleep(1500);
  await first.endAsync();
  await whileAway(options.clientId);
  const cpuBefore = pid === undefined ? 0 : cpuSeconds(pid);
  const t0 = performance.now();
  let firstAt;
  let lastAt;
  let got = 0;
  const again = mqtt.connect(`mqtt://127.0.0.1:${port}`, options);
  const connackAt = await new Promise((resolve) => again.once('connect', () => resolve(performance.now())));
  // All of them, or whatever came until 10 s passed without a message (a server that dropped some).
  await new Promise((resolve) => {
    const idle = setTimeout(resolve, 10_000);
    again.on('message', () => {
      firstAt ??= performance.now();
      lastAt = performance.now();
      idle.refresh();
      if (++got === QUEUED) {
        clearTimeout(idle);
        resolve();
      }
    });
  });
  const cpu = pid === undefined ? undefined : cpuSeconds(pid) - cpuBefore;
  await again.endAsync();
  const row = { target: name, messages: got, connackMs: connackAt - t0, firstMs: firstAt - t0, allMs: lastAt - t0, perSecond: Math.round(got / ((lastAt - t0) / 1000)), cpuSeconds: cpu };
  log(`resume ${name}: ${JSON.stringify(row)}`);
  results.resume.push(row);
}

async function directRow(brokers, topic) {
  const consumer = new Consumer({ clientId: 'mkp-bench-direct', groupId: `mkp-bench-direct-${stamp}`, bootstrapBrokers: brokers.split(','), autocommit: false, maxWaitTime: 100 });
  const t0 = performance.now();
  const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: false, maxWaitTime: 100 });
  let got = 0;
  let firstAt;
  for await (const _ of stream) {
    firstAt ??= performance.now();
    if (++got === QUEUED) break;
  }
  const allMs = performance.now() - t0;
  await stream.close();
  await consumer.close();
  const row = { target: 'direct consumer', messages: got, connackMs: undefined, firstMs: firstAt - t0, allMs, perSecond: Math.round(got / (allMs / 1000)) };
  log(`resume direct: ${JSON.stringify(row)}`);
  results.resume.push(row);
}

/** Bytes of the latest record per key of the sessions topic, over the sessions it holds. */
async function sessionBytes(brokers, topic) {
  const consumer = new Consumer({ clientId: 'mkp-bench-bytes', groupId: `mkp-bench-bytes-${stamp}`, bootstrapBrokers: brokers.split(','), autocommit: false, maxWaitTime: 200 });
  const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: false, maxWaitTime: 200 });
  const latest = new Map();
  const idle = setTimeout(() => void stream.close(), 3000);
  for await (const m of stream) {
    idle.refresh();
    const key = m.key?.toString() ?? '';
    if (key.startsWith('\u0000')) continue;
    if (m.value === null || m.value === undefined || m.value.length === 0) latest.delete(key);
    else latest.set(key, Buffer.byteLength(key) + m.value.length);
  }
  await consumer.close();
  const total = [...latest.values()].reduce((a, b) => a + b, 0);
  return { sessions: latest.size, bytesPerSession: Math.round(total / Math.max(1, latest.size)) };
}

async function bytesRow(brokers, commands, sessions) {
  const clients = [];
  for (let i = 0; i < 1000; i++) {
    const id = `bench-bytes-${i}`;
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${PORTS.proxy}`, { protocolVersion: 5, clientId: id, clean: false, properties: { sessionExpiryInterval: 3600 }, reconnectPeriod: 0 });
    await c.subscribeAsync(`devices/${id}/commands`, { qos: 1 });
    clients.push(c);
  }
  await sleep(2000);
  await Promise.all(clients.map((c) => c.endAsync()));
  await sleep(2000);
  results.bytes = await sessionBytes(brokers, sessions);
  log(`bytes: ${JSON.stringify(results.bytes)}`);
}

/** `count` stored sessions written straight to a sessions topic, each as the proxy writes one (1 subscription, 3 positions). */
async function storedSessions(brokers, topic, commands, count) {
  const record = (i) => JSON.stringify({ v: 1, connectionId: `c-${i}`, epoch: 1, owner: 'bench', connected: false, expirySeconds: 86400, disconnectedAt: Date.now(), subscriptions: [{ filter: `devices/dev-${i}/commands`, qos: 1, noLocal: false, retainAsPublished: false }], positions: { [commands]: { 0: '0', 1: '0', 2: '0' } }, inflight: [], inboundQoS2: [] });
  const admin = new Admin({ clientId: 'mkp-bench-admin', bootstrapBrokers: brokers.split(',') });
  await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1, configs: [{ name: 'cleanup.policy', value: 'compact' }] });
  await admin.close();
  const producer = new Producer({ clientId: 'mkp-bench-sessions', bootstrapBrokers: brokers.split(','), acks: 1 });
  for (let i = 0; i < count; i += 1000) {
    const messages = [];
    for (let j = i; j < Math.min(count, i + 1000); j++) messages.push({ topic, key: Buffer.from(`dev-${j}`), value: Buffer.from(record(j)) });
    await producer.send({ messages, acks: 1 });
  }
  await producer.close();
}

async function startupRow(brokers, commands, label, sessions) {
  const { child, readyMs } = await proxy(brokers, commands, sessions);
  await sleep(1000);
  const row = { stored: label, readyMs: Math.round(readyMs), rssMiB: Math.round(rssBytes(child.pid) / 2 ** 20) };
  log(`startup: ${JSON.stringify(row)}`);
  results.startup.push(row);
  await stop(child);
}

async function main() {
  const kafka = await startKafka(PORTS.kafka);
  const { brokers } = kafka;
  const admin = new Admin({ clientId: 'mkp-bench-admin', bootstrapBrokers: brokers.split(',') });
  const commands = `bench.sessions-commands-${stamp}`;
  const directTopic = `bench.sessions-direct-${stamp}`;
  await admin.createTopics({ topics: [commands, directTopic], partitions: 3, replicas: 1 });
  await admin.close();
  const sessionsTopic = `bench.sessions-${stamp}`;
  const running = await proxy(brokers, commands, sessionsTopic);
  await resumeRow('proxy', PORTS.proxy, (id) => produce(brokers, commands, () => id, QUEUED), running.child.pid);
  await bytesRow(brokers, commands, sessionsTopic);
  await stop(running.child);
  await produce(brokers, directTopic, (i) => `k${i % 3}`, QUEUED);
  await directRow(brokers, directTopic);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mkp-bench-mosquitto-'));
  fs.writeFileSync(path.join(dir, 'extra.conf'), '');
  const mosquitto = startMosquitto(dir, PORTS.mosquitto);
  await waitForPort(PORTS.mosquitto);
  await resumeRow('mosquitto', PORTS.mosquitto, async (id) => {
    const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${PORTS.mosquitto}`, { protocolVersion: 5, clientId: `bench-pub-${stamp}` });
    for (let i = 0; i < QUEUED; i++) await pub.publishAsync(`devices/${id}/commands`, PAYLOAD, { qos: 1 });
    await pub.endAsync();
  }, mosquitto.pid);
  await stop(mosquitto);
  await startupRow(brokers, commands, 0, `bench.sessions-empty-${stamp}`);
  const full = `bench.sessions-full-${stamp}`;
  await storedSessions(brokers, full, commands, STORED);
  await startupRow(brokers, commands, STORED, full);
  if (kafka.own) start('kafka-stop', path.join(BENCH, '..', 'scripts/kafka-dev'), ['stop', '--clean'], {});
  write();
}

function write() {
  const dir = path.join(BENCH, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const base = path.join(dir, `${stamp}-sessions`);
  fs.writeFileSync(`${base}.json`, `${JSON.stringify(results, null, 2)}\n`);
  const ms = (v) => (v === undefined ? '-' : `${Math.round(v)} ms`);
  const lines = [
    `# Sessions bench, ${results.date}`, '', `\`${results.command}\``, '',
    `## Resume with ${QUEUED} queued QoS 1 commands`, '', '| target | CONNACK | first message | all | messages/s | CPU-s |', '|---|---|---|---|---|---|',
    ...results.resume.map((r) => `| ${r.target} | ${ms(r.connackMs)} | ${ms(r.firstMs)} | ${ms(r.allMs)} | ${r.perSecond} | ${r.cpuSeconds === undefined ? '-' : r.cpuSeconds.toFixed(2)} |`),
    '', '## Sessions topic', '', `${results.bytes?.sessions} sessions with one subscription: ${results.bytes?.bytesPerSession} bytes per session (key + value of its latest record)`,
    '', '## Startup', '', '| stored sessions | /readyz after | RSS |', '|---|---|---|', ...results.startup.map((r) => `| ${r.stored} | ${r.readyMs} ms | ${r.rssMiB} MiB |`), '',
  ];
  fs.writeFileSync(`${base}.md`, lines.join('\n'));
  log(`wrote ${base}.md`);
}

main().then(() => process.exit(0), (error) => {
  log(`failed: ${error.stack ?? error}`);
  process.exit(1);
});
