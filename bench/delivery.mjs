// Delivery bench (Kafka -> device), every figure beside baselines measured in the same run:
//   direct     one @platformatic/kafka consumer reading the delivery topic: the floor
//   proxy      the proxy delivering the topic's records to subscribed MQTT 3.1.1 connections
//   mosquitto  Debian's Mosquitto fanning one publisher's messages out to the same subscribers
// Rows: latency p50/p99 from send (Kafka produce, or PUBLISH to Mosquitto) to receive with 1,000 and
// 10,000 subscribed connections; delivered messages/s and CPU-s per 100k delivered; fan-out of one
// record to 1,000 subscribers; read amplification with 2 proxy replicas (bytes each reads against
// what the direct consumer reads for the same records); idle subscribed connections (as many as
// the file limit allows, up to 100,000): memory per connection.
//
//   npm run build && node bench/delivery.mjs [--quick] [--only=latency,throughput,fanout,amplification,idle]
//                                            [--targets=direct,proxy,mosquitto] [--port-base=24500] [--idle=N]
//
// Uses KAFKA_BROKERS when set, else starts a Kafka of its own (scripts/kafka-dev) on --port-base.
// Writes bench/results/<date>-delivery[-quick].json and .md. Subscriptions are QoS 0 everywhere.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Admin } from '@platformatic/kafka';
import {
  BENCH, PAYLOAD_BYTES, ROOT, bytesRead, children, cpuSeconds, fdLimit, kafkaSender, log, mqttSender, now,
  proxyConfig, rssBytes, sleep, startKafka, startMosquitto, startProxy, stop, subscribers,
} from './delivery-harness.mjs';

const argv = process.argv.slice(2);
const option = (name, fallback) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const QUICK = argv.includes('--quick');
const listed = (name) => (option(name, '') === '' ? null : new Set(option(name, '').split(',')));
const ONLY = listed('only');
const TARGETS = listed('targets');
const wanted = (row) => ONLY === null || ONLY.has(row);
const targeted = (target) => TARGETS === null || TARGETS.has(target);
const PORT_BASE = Number(option('port-base', 24500));
const PORTS = { kafka: PORT_BASE, proxy: PORT_BASE + 10, proxy2: PORT_BASE + 12, mosquitto: PORT_BASE + 14 };
const PARTITIONS = 3;
const PLAN = QUICK
  ? { latencyConnections: [1000, 10_000], rate: 200, latencyMs: 3000, burst: 20_000, burstConnections: 1000, fanoutSubscribers: 1000, fanoutRecords: 10, amplificationRecords: 20_000, idle: Number(option('idle', 10_000)) }
  : { latencyConnections: [1000, 10_000], rate: 500, latencyMs: 10_000, burst: 200_000, burstConnections: 1000, fanoutSubscribers: 1000, fanoutRecords: 30, amplificationRecords: 100_000, idle: Number(option('idle', 100_000)) };

const stamp = new Date().toISOString().replace(/:/g, '-').replace(/\..*$/, '');
const TOPICS = { commands: `bench.delivery-commands-${stamp}`, broadcast: `bench.delivery-broadcast-${stamp}`, retained: `bench.delivery-retained-${stamp}` };
const results = { date: new Date().toISOString(), command: `node bench/delivery.mjs ${argv.join(' ')}`.trim(), quick: QUICK, plan: PLAN, machine: machine(), latency: [], throughput: [], fanout: [], amplification: null, idle: [], notes: [] };

function machine() {
  const sh = (cmd) => {
    try {
      return execFileSync('sh', ['-c', cmd], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    } catch {
      return 'unknown';
    }
  };
  return {
    nproc: os.cpus().length,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    node: process.version,
    kernel: os.release(),
    loadAverageAtStart: os.loadavg().map((x) => Math.round(x * 10) / 10),
    mosquitto: sh("mosquitto -h 2>/dev/null | head -1 | sed 's/^mosquitto version //'"),
    fdLimit,
  };
}

/** Waits until `report().count` reaches `expected` or stops growing for `quietMs`. */
async function settle(subs, expected, quietMs = 2000, limitMs = 60_000) {
  const deadline = Date.now() + limitMs;
  let last = -1;
  let since = Date.now();
  for (;;) {
    const r = await subs.report();
    if (r.count >= expected || Date.now() > deadline) return r;
    if (r.count !== last) {
      last = r.count;
      since = Date.now();
    } else if (Date.now() - since > quietMs) return r;
    await sleep(200);
  }
}

/** Sends `total` messages at `rate` per second, spread over `keys` subscribers. */
async function paced(send, total, rate, keys) {
  const started = performance.now();
  for (let sent = 0; sent < total; ) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate) + 1);
    for (; sent < due; sent++) send(Math.floor(Math.random() * keys), sent);
    await sleep(5);
  }
}

/** One target's way in: who subscribes where, how a message is sent to subscriber i, whose CPU counts. */
function targets(ctx) {
  const list = [];
  if (targeted('direct')) {
    list.push({
      name: 'direct',
      subscribe: (n, topic) => subscribers({ mode: 'kafka', brokers: ctx.brokers, kafkaTopic: topic === 'broadcast' ? TOPICS.broadcast : TOPICS.commands }),
      send: (i, seq) => ctx.kafka.send(TOPICS.commands, `sub-${i}`, seq),
      broadcast: (seq) => ctx.kafka.send(TOPICS.broadcast, 'all', seq),
      burst: (count, keys) => ctx.kafka.burst(TOPICS.commands, (j) => `sub-${j % keys}`, count),
      pid: (subs) => subs.pids[0],
      perSubscriber: false,
    });
  }
  if (targeted('proxy') && ctx.proxy !== undefined) {
    list.push({
      name: 'proxy',
      subscribe: (n, topic) => subscribers({ mode: 'mqtt', port: PORTS.proxy, connections: n, topic: topic === 'broadcast' ? 'broadcast/all' : 'devices/sub-${i}/commands', clientPrefix: 'psub' }),
      send: (i, seq) => ctx.kafka.send(TOPICS.commands, `sub-${i}`, seq),
      broadcast: (seq) => ctx.kafka.send(TOPICS.broadcast, 'all', seq),
      burst: (count, keys) => ctx.kafka.burst(TOPICS.commands, (j) => `sub-${j % keys}`, count),
      pid: () => ctx.proxy.pid,
      perSubscriber: true,
    });
  }
  if (targeted('mosquitto') && ctx.mosquitto !== undefined) {
    list.push({
      name: 'mosquitto',
      subscribe: (n, topic) => subscribers({ mode: 'mqtt', port: PORTS.mosquitto, connections: n, topic: topic === 'broadcast' ? 'broadcast/all' : 'devices/sub-${i}/commands', clientPrefix: 'msub' }),
      send: (i, seq) => ctx.mqtt.send(`devices/sub-${i}/commands`, seq),
      broadcast: (seq) => ctx.mqtt.send('broadcast/all', seq),
      burst: (count, keys) => ctx.mqtt.burst((j) => `devices/sub-${j % keys}/commands`, count),
      pid: () => ctx.mosquitto.pid,
      perSubscriber: true,
    });
  }
  return list;
}

/** Subscribes, checks every subscription was granted, warms the path up (the first records open readers and connections). */
async function prepared(target, n, topic = 'commands') {
  const subs = await target.subscribe(n, topic);
  if (subs.refused > 0 || subs.granted === 0) {
    results.notes.push(`${target.name}: ${subs.refused} of ${n} subscriptions refused or failed; its ${topic} rows are left out`);
    await subs.close();
    return undefined;
  }
  const warm = topic === 'broadcast' ? (seq) => target.broadcast(seq) : (seq) => target.send(seq % n, seq);
  for (let round = 0; round < 20; round++) {
    warm(round);
    await sleep(100);
    if ((await subs.report()).count > 0 && round >= 5) break;
  }
  await sleep(500);
  await subs.reset();
  return subs;
}

async function latencyRows(ctx) {
  for (const n of PLAN.latencyConnections) {
    for (const target of targets(ctx)) {
      if (!target.perSubscriber && n !== PLAN.latencyConnections[0]) continue;
      log(`latency: ${target.name}, ${target.perSubscriber ? n : 1} subscriber(s), ${PLAN.rate} messages/s for ${PLAN.latencyMs} ms`);
      const subs = await prepared(target, n);
      if (subs === undefined) continue;
      const total = Math.round((PLAN.rate * PLAN.latencyMs) / 1000);
      await paced((i, seq) => target.send(i, seq), total, PLAN.rate, n);
      const r = await settle(subs, total);
      results.latency.push({ target: target.name, connections: target.perSubscriber ? n : 1, sent: total, received: r.count, p50: r.p50, p99: r.p99, max: r.max });
      await subs.close();
    }
  }
}

async function throughputRows(ctx) {
  const n = PLAN.burstConnections;
  for (const target of targets(ctx)) {
    log(`throughput: ${target.name}, ${PLAN.burst} messages to ${n} subscribers as fast as they go`);
    const subs = await prepared(target, n);
    if (subs === undefined) continue;
    const pid = target.pid(subs);
    const cpu0 = cpuSeconds(pid);
    const t0 = now();
    await target.burst(PLAN.burst, n);
    const r = await settle(subs, PLAN.burst, 3000, 120_000);
    const cpu = cpuSeconds(pid) - cpu0;
    results.throughput.push({ target: target.name, connections: target.perSubscriber ? n : 1, sent: PLAN.burst, delivered: r.count, rate: r.count / ((r.lastAt - t0) / 1000), cpuPer100k: (cpu / r.count) * 1e5, p50: r.p50, p99: r.p99 });
    await subs.close();
  }
}

async function fanoutRows(ctx) {
  const n = PLAN.fanoutSubscribers;
  for (const target of targets(ctx)) {
    if (!target.perSubscriber) continue;
    log(`fan-out: ${target.name}, ${PLAN.fanoutRecords} messages each to ${n} subscribers of one topic`);
    const subs = await prepared(target, n, 'broadcast');
    if (subs === undefined) continue;
    const pid = target.pid(subs);
    const cpu0 = cpuSeconds(pid);
    for (let seq = 0; seq < PLAN.fanoutRecords; seq++) {
      target.broadcast(1000 + seq);
      await sleep(200);
    }
    const r = await settle(subs, PLAN.fanoutRecords * n);
    const cpu = cpuSeconds(pid) - cpu0;
    results.fanout.push({ target: target.name, subscribers: n, records: PLAN.fanoutRecords, delivered: r.count, p50: r.p50, p99: r.p99, lastSubscriberP50: r.lastSubscriberP50, lastSubscriberMax: r.lastSubscriberMax, cpuPer100k: (cpu / r.count) * 1e5 });
    await subs.close();
  }
}

/** Two replicas, each with half the subscribers; each reads the topic: its bytes against the direct consumer's for the same records. */
async function amplificationRow(ctx) {
  if (ctx.proxy === undefined) return;
  log(`read amplification: 2 replicas, ${PLAN.amplificationRecords} records`);
  const second = await startProxy(ctx.configFile2, PORTS.proxy2);
  try {
    const half = PLAN.burstConnections / 2;
    const a = await subscribers({ mode: 'mqtt', port: PORTS.proxy, connections: half, first: 0, clientPrefix: 'ra' });
    const b = await subscribers({ mode: 'mqtt', port: PORTS.proxy2, connections: half, first: half, clientPrefix: 'rb' });
    const direct = await subscribers({ mode: 'kafka', brokers: ctx.brokers, kafkaTopic: TOPICS.commands, first: 7 });
    if (a.refused + b.refused > 0) {
      results.notes.push('read amplification: subscriptions refused; row left out');
    } else {
      for (let i = 0; i < 20; i++) ctx.kafka.send(TOPICS.commands, `sub-${i * 50}`, i);
      await sleep(2000);
      await Promise.all([a.reset(), b.reset(), direct.reset()]);
      const pids = { a: ctx.proxy.pid, b: second.pid, direct: direct.pids[0] };
      const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, bytesRead(pid)]));
      await ctx.kafka.burst(TOPICS.commands, (j) => `sub-${j % PLAN.burstConnections}`, PLAN.amplificationRecords);
      const [ra, rb] = await Promise.all([settle(a, PLAN.amplificationRecords / 2), settle(b, PLAN.amplificationRecords / 2)]);
      await settle(direct, PLAN.amplificationRecords);
      await sleep(1000);
      const read = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, bytesRead(pid) - before[k]]));
      const keyBytes = 6;
      results.amplification = {
        records: PLAN.amplificationRecords,
        recordBytes: PAYLOAD_BYTES + keyBytes,
        topicPayloadBytes: PLAN.amplificationRecords * (PAYLOAD_BYTES + keyBytes),
        replicaA: read.a,
        replicaB: read.b,
        direct: read.direct,
        deliveredA: ra.count,
        deliveredB: rb.count,
      };
    }
    await Promise.all([a.close(), b.close(), direct.close()]);
  } finally {
    await stop(second);
  }
}

/** Idle subscribed connections on a fresh server: RSS per connection, over all and for the second half. */
async function idleRows(ctx) {
  const cap = Math.max(1000, fdLimit - 1000);
  const count = Math.min(PLAN.idle, cap);
  if (count < PLAN.idle) results.notes.push(`file descriptor limit ${fdLimit} (raising it needs CAP_SYS_RESOURCE): ${PLAN.idle} idle connections reduced to ${count}`);
  for (const name of ['proxy', 'mosquitto']) {
    if (!targeted(name) || ctx[name] === undefined) continue;
    ctx[name] = await ctx.restart(name);
    const pid = ctx[name].pid;
    log(`idle: ${name}, ${count} subscribed connections`);
    await sleep(1000);
    const before = rssBytes(pid);
    const port = name === 'proxy' ? PORTS.proxy : PORTS.mosquitto;
    const first = Math.floor(count / 2);
    const one = await subscribers({ mode: 'mqtt', port, connections: first, clientPrefix: `idle-${name}-a` });
    await sleep(1500);
    const middle = rssBytes(pid);
    const two = await subscribers({ mode: 'mqtt', port, connections: count - first, first, clientPrefix: `idle-${name}-b` });
    await sleep(1500);
    const after = rssBytes(pid);
    const granted = one.granted + two.granted;
    results.idle.push({ target: name, connections: count, subscribed: granted, rssBefore: before, rssAfter: after, perConnection: (after - before) / granted, secondHalfPerConnection: (after - middle) / Math.max(1, two.granted) });
    await Promise.all([one.close(), two.close()]);
  }
}

// ------------------------------------------------------------------ report

const f = (x, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
const n0 = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}x` : 'n/a');

function toMarkdown(r) {
  const m = r.machine;
  const lines = [`## Delivery${r.quick ? ' (quick)' : ''}: ${r.date}`, '', `Command: \`${r.command}\`. Machine: ${m.nproc} cores (${m.cpu}), ${m.memory}, Linux ${m.kernel}, Node ${m.node}, Mosquitto ${m.mosquitto}, file limit ${m.fdLimit}, load average ${m.loadAverageAtStart.join(' / ')} at the start. Payload ${PAYLOAD_BYTES} B, QoS 0 subscriptions.`, ''];
  const floor = r.latency.find((x) => x.target === 'direct');
  if (r.latency.length > 0) lines.push(`### Latency, send -> receive (${r.plan.rate} messages/s for ${r.plan.latencyMs / 1000} s, each to one subscriber)`, '', '| target | subscribed connections | received / sent | p50 ms | p99 ms | max ms | p50 / direct | p99 / direct |', '|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const x of r.latency) lines.push(`| ${x.target} | ${n0(x.connections)} | ${n0(x.received)} / ${n0(x.sent)} | ${f(x.p50, 2)} | ${f(x.p99, 2)} | ${f(x.max, 1)} | ${ratio(x.p50, floor?.p50)} | ${ratio(x.p99, floor?.p99)} |`);
  const direct = r.throughput.find((x) => x.target === 'direct');
  if (r.throughput.length > 0) lines.push('', `### Delivered messages/s and CPU (${n0(r.plan.burst)} messages as fast as they go, over ${n0(r.plan.burstConnections)} subscribers)`, '', '| target | delivered | messages/s | CPU-s per 100k delivered | rate / direct | CPU / direct |', '|---|---:|---:|---:|---:|---:|');
  for (const x of r.throughput) lines.push(`| ${x.target} | ${n0(x.delivered)} / ${n0(x.sent)} | ${n0(x.rate)} | ${f(x.cpuPer100k, 2)} | ${ratio(x.rate, direct?.rate)} | ${ratio(x.cpuPer100k, direct?.cpuPer100k)} |`);
  const mosq = r.fanout.find((x) => x.target === 'mosquitto');
  if (r.fanout.length > 0) lines.push('', `### Fan-out: 1 message -> ${n0(r.plan.fanoutSubscribers)} subscribers of one topic (${r.plan.fanoutRecords} messages, 200 ms apart)`, '', '| target | delivered | p50 ms | p99 ms | to the last subscriber, median ms | worst ms | CPU-s per 100k delivered | last-subscriber / Mosquitto |', '|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const x of r.fanout) lines.push(`| ${x.target} | ${n0(x.delivered)} | ${f(x.p50, 2)} | ${f(x.p99, 2)} | ${f(x.lastSubscriberP50, 2)} | ${f(x.lastSubscriberMax, 1)} | ${f(x.cpuPer100k, 2)} | ${ratio(x.lastSubscriberP50, mosq?.lastSubscriberP50)} |`);
  if (r.amplification !== null) {
    const a = r.amplification;
    lines.push('', `### Read amplification: 2 replicas, ${n0(a.records)} records of ${a.recordBytes} B (payload + key)`, '', '| reader | bytes read | / direct consumer | messages delivered |', '|---|---:|---:|---:|');
    lines.push(`| direct consumer (reads the topic once) | ${n0(a.direct)} | 1.00x | ${n0(a.records)} |`);
    lines.push(`| replica 1 | ${n0(a.replicaA)} | ${ratio(a.replicaA, a.direct)} | ${n0(a.deliveredA)} |`);
    lines.push(`| replica 2 | ${n0(a.replicaB)} | ${ratio(a.replicaB, a.direct)} | ${n0(a.deliveredB)} |`);
    lines.push(`| both replicas | ${n0(a.replicaA + a.replicaB)} | ${ratio(a.replicaA + a.replicaB, a.direct)} | |`);
    lines.push('', `Bytes read: each process's rchar (/proc/PID/io) over the burst: fetch responses from Kafka (MQTT subscribers at QoS 0 send nothing back). The topic's payload and keys: ${n0(a.topicPayloadBytes)} B.`);
  }
  if (r.idle.length > 0) {
    lines.push('', '### Idle subscribed connections (fresh server, each connection subscribed to its own topic)', '', '| target | connections | RSS before -> after | KiB per connection | second half, KiB per connection |', '|---|---:|---:|---:|---:|');
    for (const x of r.idle) lines.push(`| ${x.target} | ${n0(x.subscribed)} | ${f(x.rssBefore / 2 ** 20, 0)} -> ${f(x.rssAfter / 2 ** 20, 0)} MiB | ${f(x.perConnection / 1024, 1)} | ${f(x.secondHalfPerConnection / 1024, 1)} |`);
  }
  if (r.notes.length > 0) lines.push('', 'Notes:', '', ...r.notes.map((x) => `- ${x}`));
  return `${lines.join('\n')}\n`;
}

// ------------------------------------------------------------------ main

async function main() {
  const kafkaInfo = await startKafka(PORTS.kafka);
  const brokers = kafkaInfo.brokers;
  const admin = new Admin({ clientId: 'mkp-bench-delivery', bootstrapBrokers: brokers.split(','), retries: 3 });
  await admin.createTopics({ topics: [TOPICS.commands, TOPICS.broadcast], partitions: PARTITIONS, replicas: 1 });
  await admin.createTopics({ topics: ['bench.delivery-ingest'], partitions: 1, replicas: 1 }).catch(() => undefined);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mkp-bench-delivery-'));
  const configFile = path.join(tmp, 'proxy.yaml');
  const configFile2 = path.join(tmp, 'proxy2.yaml');
  fs.writeFileSync(configFile, proxyConfig(brokers, PORTS.proxy, TOPICS));
  fs.writeFileSync(configFile2, proxyConfig(brokers, PORTS.proxy2, TOPICS));
  const ctx = { brokers, configFile2, kafka: await kafkaSender(brokers) };
  const launch = {
    proxy: async () => {
      try {
        return await startProxy(configFile, PORTS.proxy);
      } catch (error) {
        results.notes.push(`the proxy did not start (${error.message}): its rows are left out`);
        return undefined;
      }
    },
    mosquitto: async () => {
      const child = startMosquitto(tmp, PORTS.mosquitto);
      await (await import('./delivery-harness.mjs')).waitForPort(PORTS.mosquitto);
      return child;
    },
  };
  ctx.restart = async (name) => {
    await stop(ctx[name]);
    if (name === 'mosquitto') ctx.mqtt?.close();
    const child = await launch[name]();
    if (name === 'mosquitto') ctx.mqtt = await mqttSender(PORTS.mosquitto);
    return child;
  };
  if (targeted('proxy')) ctx.proxy = await launch.proxy();
  if (targeted('mosquitto')) ctx.mosquitto = await ctx.restart('mosquitto');
  try {
    if (wanted('latency')) await latencyRows(ctx);
    if (wanted('throughput')) await throughputRows(ctx);
    if (wanted('fanout')) await fanoutRows(ctx);
    if (wanted('amplification') && targeted('proxy')) await amplificationRow(ctx);
    if (wanted('idle')) await idleRows(ctx);
  } finally {
    ctx.mqtt?.close();
    await ctx.kafka.close();
    await Promise.all([...children].map((child) => stop(child)));
    await admin.deleteTopics({ topics: [TOPICS.commands, TOPICS.broadcast, TOPICS.retained] }).catch(() => admin.deleteTopics({ topics: [TOPICS.commands, TOPICS.broadcast] })).catch(() => undefined);
    await admin.close();
    if (kafkaInfo.own) execFileSync(path.join(ROOT, 'scripts/kafka-dev'), ['stop', '--clean'], { env: kafkaInfo.env, stdio: 'ignore' });
  }
  const markdown = toMarkdown(results);
  const file = path.join(BENCH, 'results', `${stamp}-delivery${QUICK ? '-quick' : ''}`);
  fs.writeFileSync(`${file}.json`, JSON.stringify(results, null, 2));
  fs.writeFileSync(`${file}.md`, markdown);
  process.stdout.write(markdown);
}

process.on('SIGINT', () => {
  for (const child of children) child.kill('SIGKILL');
  process.exit(130);
});
await main();
