// What the delivery bench (bench/delivery.mjs) is built from: processes, their CPU, memory and
// bytes read from /proc, the subscriber processes, the senders (Kafka producer, MQTT publisher),
// the servers (proxy, Mosquitto, Kafka).
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import mqttPacket from 'mqtt-packet';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const BENCH = path.join(ROOT, 'bench');
export const PAYLOAD_BYTES = 100;

const BENCH_STARTED = performance.now();
export const log = (...parts) => process.stderr.write(`delivery bench +${Math.round((performance.now() - BENCH_STARTED) / 1000)}s: ${parts.join(' ')}\n`);
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
export const now = () => performance.timeOrigin + performance.now();
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
export const children = new Set();

export function cpuSeconds(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
  } catch {
    return Number.NaN;
  }
}

export function rssBytes(pid) {
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;
  } catch {
    return Number.NaN;
  }
}

/** Bytes the process read through read()-like calls (sockets included): what it fetched from Kafka. */
export function bytesRead(pid) {
  try {
    return Number(/rchar:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/io`, 'utf8'))[1]);
  } catch {
    return Number.NaN;
  }
}

/** A process started through a shell that first raises its file limit; `exec` keeps the pid. */
export function start(name, command, args, { onLine } = {}) {
  const quoted = [command, ...args].map((a) => `'${String(a).replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn('sh', ['-c', `ulimit -n 1048576 2>/dev/null || ulimit -n 65536 2>/dev/null; exec ${quoted}`], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  readline.createInterface({ input: child.stdout }).on('line', (line) => (onLine ? onLine(line) : process.env.BENCH_VERBOSE && process.stderr.write(`[${name}] ${line}\n`)));
  readline.createInterface({ input: child.stderr }).on('line', (line) => process.env.BENCH_VERBOSE && process.stderr.write(`[${name}!] ${line}\n`));
  return child;
}

export function stop(child) {
  if (child === undefined || child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function waitForPort(port, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`nothing listens on port ${port} after ${timeoutMs} ms`);
}

export const fdLimit = Number(execFileSync('sh', ['-c', 'ulimit -n 1048576 2>/dev/null || ulimit -n 65536 2>/dev/null; ulimit -n']).toString().trim());
// One subscriber process holds at most this many connections (each is a descriptor in it).
export const PER_PROCESS = Math.max(1000, Math.min(50_000, fdLimit - 1000));

/**
 * Subscriber processes (bench/delivery-subscribers.mjs) holding `connections` subscriptions in
 * all, split so that none passes the file limit; resolves once every subscription is answered.
 */
export async function subscribers(options) {
  const total = options.mode === 'kafka' ? 1 : options.connections;
  const groups = [];
  for (let first = 0; first < total; first += PER_PROCESS) {
    const n = Math.min(PER_PROCESS, total - first);
    const waiting = [];
    let readyInfo;
    const child = start('subscribers', 'node', [path.join(BENCH, 'delivery-subscribers.mjs'), JSON.stringify({ ...options, connections: n, first: (options.first ?? 0) + first, sourceAddresses: 32 })], {
      onLine(line) {
        if (line.startsWith('READY ')) readyInfo = JSON.parse(line.slice(6));
        else if (waiting.length > 0 && (line === 'RESET_DONE' || line.startsWith('RESULT '))) waiting.shift()(line.startsWith('RESULT ') ? JSON.parse(line.slice(7)) : undefined);
      },
    });
    const ask = (command) => new Promise((resolve) => (waiting.push(resolve), child.stdin.write(`${command}\n`)));
    groups.push({ child, ask, ready: () => readyInfo });
  }
  const deadline = Date.now() + 300_000;
  while (groups.some((g) => g.ready() === undefined && g.child.exitCode === null) && Date.now() < deadline) await sleep(100);
  const ready = groups.map((g) => g.ready() ?? { connections: 0, failed: 1, granted: 0, refused: 0 });
  return {
    pids: groups.map((g) => g.child.pid),
    granted: ready.reduce((s, r) => s + r.granted, 0),
    refused: ready.reduce((s, r) => s + r.refused + r.failed, 0),
    reset: () => Promise.all(groups.map((g) => g.ask('RESET'))),
    report: async () => mergeReports(await Promise.all(groups.map((g) => g.ask('REPORT')))),
    close: () => Promise.all(groups.map((g) => stop(g.child))),
  };
}

/** Several processes' reports as one: counts added, percentiles of the slowest process (conservative). */
export function mergeReports(reports) {
  const max = (key) => Math.max(...reports.map((r) => r[key]).filter(Number.isFinite));
  const min = (key) => Math.min(...reports.map((r) => r[key]).filter(Number.isFinite));
  return { count: reports.reduce((s, r) => s + r.count, 0), p50: max('p50'), p99: max('p99'), max: max('max'), firstAt: min('firstAt'), lastAt: max('lastAt'), lastSubscriberP50: max('lastSubscriberP50'), lastSubscriberMax: max('lastSubscriberMax') };
}

function payload(seq) {
  const bytes = Buffer.alloc(PAYLOAD_BYTES, 0x61);
  bytes.writeDoubleLE(now(), 0);
  bytes.writeUInt32LE(seq, 8);
  return bytes;
}

// ------------------------------------------------------------------ senders: Kafka and MQTT

export async function kafkaSender(brokers) {
  const { Producer } = await import('@platformatic/kafka');
  const producer = new Producer({ clientId: 'mkp-bench-delivery', bootstrapBrokers: brokers.split(','), acks: 1, retries: 3 });
  return {
    /** One record per call (latency rows), not awaited: the send time is in the payload. */
    send: (topic, key, seq) => void producer.send({ messages: [{ topic, key: Buffer.from(key), value: payload(seq) }], acks: 1 }).catch((e) => log(`produce failed: ${e.message}`)),
    /** Many records per request, as fast as Kafka takes them (throughput rows). */
    burst: async (topic, keys, count) => {
      for (let i = 0; i < count; i += 1000) {
        const messages = [];
        for (let j = i; j < Math.min(count, i + 1000); j++) messages.push({ topic, key: Buffer.from(keys(j)), value: payload(j) });
        await producer.send({ messages, acks: 1 });
      }
    },
    close: () => producer.close(),
  };
}

export async function mqttSender(port) {
  const socket = net.connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  await new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.once('connect', resolve);
  });
  socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: `mkp-bench-pub-${Date.now()}`, keepalive: 300 }));
  await new Promise((resolve) => socket.once('data', resolve));
  const publish = (topic, seq) => mqttPacket.generate({ cmd: 'publish', topic, payload: payload(seq), qos: 0, retain: false, dup: false });
  return {
    send: (topic, seq) => socket.write(publish(topic, seq)),
    burst: async (topics, count) => {
      for (let i = 0; i < count; i++) if (!socket.write(publish(topics(i), i))) await new Promise((resolve) => socket.once('drain', resolve));
    },
    close: () => socket.destroy(),
  };
}

// ------------------------------------------------------------------ servers

export function proxyConfig(brokers, port, topics) {
  return `
listeners:
  - { protocol: tcp, host: 127.0.0.1, port: ${port} }
kafka:
  brokers: [${brokers}]
mappings:
  - { name: telemetry, match: '^devices/(?<id>[^/]+)/telemetry$', topic: bench.delivery-ingest, key: '\${id}' }
delivery:
  - { name: commands, kafka: ${topics.commands}, mqttTopic: 'devices/\${key}/commands' }
  - { name: broadcast, kafka: ${topics.broadcast}, mqttTopic: 'broadcast/all' }
retained: { topic: ${topics.retained} }
auth: { anonymous: true }
http: { port: 0 }
log: { level: warn }
`;
}

export async function startProxy(file, port) {
  const child = start('proxy', 'node', [path.join(ROOT, 'bin/mqtt-kafka-proxy'), '--config', file]);
  await waitForPort(port);
  await sleep(1500);
  return child;
}

/** The proxy on a config text, once its /readyz (on `adminPort`) says ready; with the time that took. */
export async function startReadyProxy(name, yaml, adminPort) {
  const file = path.join(os.tmpdir(), `mkp-bench-${name}-${process.pid}-${Math.random().toString(36).slice(2)}.yaml`);
  fs.writeFileSync(file, yaml);
  const startedAt = performance.now();
  const child = start('proxy', 'node', [path.join(ROOT, 'bin/mqtt-kafka-proxy'), '--config', file]);
  while (true) {
    try {
      if ((await fetch(`http://127.0.0.1:${adminPort}/readyz`)).status === 200) break;
    } catch {}
    await sleep(50);
  }
  return { child, readyMs: performance.now() - startedAt };
}

export function startMosquitto(dir, port) {
  const conf = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_connections -1\nmax_queued_messages 0\nlog_dest none\n`);
  return start('mosquitto', fs.existsSync('/usr/sbin/mosquitto') ? '/usr/sbin/mosquitto' : 'mosquitto', ['-c', conf]);
}

export async function startKafka(port) {
  if (process.env.KAFKA_BROKERS) return { brokers: process.env.KAFKA_BROKERS, own: false };
  const env = { ...process.env, KAFKA_PORT: String(port), KAFKA_CONTROLLER_PORT: String(port + 1), KAFKA_DATA_DIR: `/tmp/mkp-bench-delivery-kafka-${port}`, KAFKA_HEAP_OPTS: '-Xms512m -Xmx1g' };
  log(`starting Kafka on 127.0.0.1:${port}`);
  const out = execFileSync(path.join(ROOT, 'scripts/kafka-dev'), ['start'], { env, stdio: ['ignore', 'pipe', 'inherit'] }).toString().trim();
  return { brokers: out.split('\n').at(-1), own: true, env };
}

