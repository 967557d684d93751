// npm run bench [-- --quick] : Kafka, the proxy, the baselines and the load generators as separate
// processes; every figure is set beside a baseline measured in the same run. Writes
// bench/results/<date>.json and .md and refreshes the figures in bench/RESULTS.md.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Admin, ListOffsetTimestamps } from '@platformatic/kafka';
import { httpBench, httpMarkdown } from './http.mjs';
import { readerBench, readerMarkdown } from './reader.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BENCH = path.join(ROOT, 'bench');
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(`--${name}`);
const option = (name, fallback) => {
  const hit = argv.find((a) => a.startsWith(`--${name}=`));
  return hit === undefined ? fallback : hit.slice(name.length + 3);
};
const QUICK = flag('quick');
const ONLY = option('only', '') === '' ? null : new Set(option('only', '').split(','));
const wanted = (scenario) => ONLY === null || ONLY.has(scenario);
// --targets=proxy,engine,aedes,mosquitto,direct: the throughput rows to measure (default all).
const TARGETS = option('targets', '') === '' ? null : new Set(option('targets', '').split(','));
const targeted = (name) => TARGETS === null || TARGETS.has(name);

// --port-base=N moves every port (Kafka N, N+1; servers N+10...N+14; the client comparison's proxies N+20...).
const PORT_BASE = Number(option('port-base', 29300));
const PORTS = {
  kafka: PORT_BASE,
  kafkaController: PORT_BASE + 1,
  proxy: PORT_BASE + 10,
  proxyTls: PORT_BASE + 11,
  aedes: PORT_BASE + 12,
  aedesTls: PORT_BASE + 13,
  mosquitto: PORT_BASE + 14,
  engine: PORT_BASE + 15,
  http: PORT_BASE + 16,
  clientProxies: PORT_BASE + 20,
};
// --kafka-client=NAME: the proxy and the direct producer of every scenario run on that Kafka client
// library (kafka.client). --only=clients compares the libraries instead: each one's proxy and direct
// producer, QoS 0 and 1, 100 B, 10 and 1,000 connections, interleaved in one run (--clients=a,b).
const KAFKA_CLIENT = option('kafka-client', '');
const CLIENTS = option('clients', 'platformatic').split(',').filter(Boolean);
const ONLY_CLIENTS = ONLY !== null && ONLY.size === 1 && ONLY.has('clients');
const KAFKA_DATA_DIR = option('kafka-data-dir', '/tmp/mkp-bench-kafka');
const TOPIC = 'bench.telemetry';
const PARTITIONS = 3;

const PLAN = QUICK
  ? {
      qos: [0, 1],
      payloads: [100],
      connections: [10],
      extra: [{ qos: 1, payloadSize: 100, connections: 1000 }],
      warmupMs: 500,
      durationMs: Number(option('duration', 1.5)) * 1000,
      latencyConnections: 10,
      latencyMs: 1500,
      idleTcp: Number(option('idle', 5000)),
      idleTls: Number(option('idle-tls', 1000)),
      idleTlsReference: 1000,
      soakSeconds: Number(option('soak', 15)),
      mosquitto: true,
    }
  : {
      qos: [0, 1, 2],
      payloads: [100, 1024],
      connections: [10, 1000],
      // aedes and Mosquitto, the MQTT side's ceilings, at 100 B only: at 1 KiB they show the same
      // ordering, and leaving them out keeps the whole run, 10 minutes of soak included, near 15.
      baselinePayloads: [100],
      warmupMs: 500,
      durationMs: Number(option('duration', 1.5)) * 1000,
      latencyConnections: 100,
      latencyMs: 2000,
      idleTcp: Number(option('idle', 100_000)),
      idleTls: Number(option('idle-tls', 20_000)),
      idleTlsReference: 2000,
      soakSeconds: Number(option('soak', 600)),
      mosquitto: true,
    };
const WINDOW = (connections) => (connections >= 1000 ? 10 : 100);
/** Warm-up of the proxy's QoS 0 runs (see the throughput loop). */
const QOS0_PROXY_WARMUP_MS = Number(option('qos0-warmup', QUICK ? 3 : 4)) * 1000;

const BENCH_STARTED = performance.now();
const log = (...parts) => process.stderr.write(`bench +${Math.round((performance.now() - BENCH_STARTED) / 1000)}s: ${parts.join(' ')}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const children = new Set();

// ------------------------------------------------------------------ processes and /proc

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

function cpuSeconds(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
  } catch {
    return Number.NaN;
  }
}

function rssBytes(pid) {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) * 1024;
  } catch {
    return Number.NaN;
  }
}

/** Starts a process through a shell that first raises the fd limit; `exec` keeps the pid. */
function start(name, command, args, { env = {}, onStdout, onStderr } = {}) {
  const quoted = [command, ...args].map((a) => `'${String(a).replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn('sh', ['-c', `ulimit -n 1048576 2>/dev/null || ulimit -n 65536 2>/dev/null; exec ${quoted}`], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  const lines = (stream, handler, tag) => {
    let buffered = '';
    stream.on('data', (chunk) => {
      buffered += chunk;
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (handler) handler(line);
        else if (process.env.BENCH_VERBOSE) process.stderr.write(`[${name}${tag}] ${line}\n`);
      }
    });
  };
  lines(child.stdout, onStdout, '');
  lines(child.stderr, onStderr, '!');
  return child;
}

function stop(child, signal = 'SIGTERM') {
  if (child === undefined || child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

async function waitForPort(port, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`nothing listens on port ${port} after ${timeoutMs} ms`);
}

// ------------------------------------------------------------------ machine, Kafka, certificates

function machine() {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const model = /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? 'unknown';
  const sh = (cmd) => {
    try {
      return execFileSync('sh', ['-c', cmd], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    } catch {
      return 'unknown';
    }
  };
  return {
    nproc: Number(sh('nproc')),
    memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    cpu: model,
    node: process.version,
    kernel: os.release(),
    loadAverageAtStart: os.loadavg().map((x) => Math.round(x * 10) / 10),
    mosquitto: sh("mosquitto -h 2>/dev/null | head -1 | sed 's/^mosquitto version //'"),
  };
}

async function startKafka() {
  if (process.env.KAFKA_BROKERS) return { brokers: process.env.KAFKA_BROKERS, own: false, version: process.env.KAFKA_VERSION ?? 'external' };
  const env = {
    ...process.env,
    KAFKA_PORT: String(PORTS.kafka),
    KAFKA_CONTROLLER_PORT: String(PORTS.kafkaController),
    KAFKA_DATA_DIR,
    KAFKA_HEAP_OPTS: process.env.KAFKA_HEAP_OPTS ?? '-Xms512m -Xmx1g',
  };
  log(`starting Kafka on 127.0.0.1:${PORTS.kafka}`);
  const out = execFileSync(path.join(ROOT, 'scripts/kafka-dev'), ['start'], { env, stdio: ['ignore', 'pipe', 'inherit'] }).toString().trim();
  const pid = Number(execFileSync(path.join(ROOT, 'scripts/kafka-dev'), ['pid'], { env }).toString().trim());
  return { brokers: out.split('\n').at(-1), own: true, env, pid, version: process.env.KAFKA_VERSION ?? '4.1.2' };
}

function ensureMosquitto() {
  const has = () => {
    try {
      execFileSync('sh', ['-c', 'command -v mosquitto || test -x /usr/sbin/mosquitto'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  if (has()) return true;
  log('installing Debian mosquitto');
  try {
    execFileSync('sh', ['-c', 'apt-get install -y mosquitto >/dev/null 2>&1 || (apt-get update >/dev/null 2>&1 && apt-get install -y mosquitto >/dev/null 2>&1)'], { stdio: 'inherit' });
  } catch {
    /* reported below */
  }
  return has();
}

function makeCertificate(dir) {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
  return { cert, key };
}

// ------------------------------------------------------------------ runs

/** Offsets summed over the bench topic's partitions: records that landed in Kafka. */
async function topicEnd(admin) {
  const request = { topics: [{ name: TOPIC, partitions: Array.from({ length: PARTITIONS }, (_, partitionIndex) => ({ partitionIndex, timestamp: ListOffsetTimestamps.LATEST })) }] };
  const topics = await Promise.race([admin.listOffsets(request), sleep(10_000).then(() => Promise.reject(new Error('offsets: no answer within 10 s')))]);
  return topics.flatMap((t) => t.partitions).reduce((sum, p) => sum + Number(p.offset), 0);
}

/**
 * Runs one load process (loadgen or direct producer) to its end. CPU of `measured` processes and
 * the topic's end offset are read when the load process says MEASURE_START and MEASURE_END.
 */
function runLoad(script, options, measured, admin) {
  return new Promise((resolve, reject) => {
    const marks = {};
    let result;
    let loadPid;
    const snapshot = async (label) => {
      const cpu = {};
      for (const [name, pid] of Object.entries({ ...measured, load: loadPid })) cpu[name] = cpuSeconds(pid);
      const at = performance.now();
      const end = admin === undefined ? undefined : await topicEnd(admin).catch(() => Number.NaN);
      marks[label] = { cpu, at, end };
    };
    const pending = [];
    const child = start(script, 'node', [path.join(BENCH, script), JSON.stringify(options)], {
      onStdout(line) {
        if (line === 'MEASURE_START' || line === 'MEASURE_END') pending.push(snapshot(line));
        else if (line.startsWith('RESULT ')) result = JSON.parse(line.slice(7));
      },
      onStderr(line) {
        process.stderr.write(`[${script}] ${line}\n`);
      },
    });
    loadPid = child.pid;
    child.on('exit', async (code) => {
      await Promise.all(pending);
      if (result === undefined || marks.MEASURE_START === undefined || marks.MEASURE_END === undefined) {
        reject(new Error(`${script} exited with ${code} without a result`));
        return;
      }
      const seconds = (marks.MEASURE_END.at - marks.MEASURE_START.at) / 1000;
      const cpu = {};
      for (const name of Object.keys(marks.MEASURE_START.cpu)) cpu[name] = marks.MEASURE_END.cpu[name] - marks.MEASURE_START.cpu[name];
      const landed = admin === undefined ? undefined : marks.MEASURE_END.end - marks.MEASURE_START.end;
      resolve({ ...result, seconds, cpu, landed, landedRate: landed === undefined ? undefined : landed / seconds });
    });
  });
}

function perHundredK(cpu, messages) {
  return messages > 0 ? (cpu / messages) * 100_000 : null;
}

// ------------------------------------------------------------------ main

async function main() {
  const startedAt = new Date();
  const info = machine();
  log(`machine: ${info.nproc} cores, ${info.memory}, ${info.cpu}, node ${info.node}`);
  const kafka = await startKafka();
  info.kafka = kafka.version;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mkp-bench-'));
  const { cert, key } = makeCertificate(tmp);
  info.kafkaClient = KAFKA_CLIENT || 'config default (platformatic)';
  const hasMosquitto = PLAN.mosquitto && !ONLY_CLIENTS && ensureMosquitto();

  const admin = new Admin({ clientId: 'mkp-bench', bootstrapBrokers: kafka.brokers.split(','), retries: 3 });
  await admin.createTopics({ topics: [TOPIC], partitions: PARTITIONS, replicas: 1 }).catch(() => undefined);

  const configFile = path.join(tmp, 'bench.yaml');
  const proxyConfig = (extraListeners = '', { port = PORTS.proxy, client = KAFKA_CLIENT } = {}) => `
listeners:
  - { protocol: tcp, host: 127.0.0.1, port: ${port} }
${extraListeners}
kafka:
  brokers: [${kafka.brokers}]
${client ? `  client: ${client}` : ''}
${(process.env.BENCH_KAFKA_EXTRA ?? '').split(';').filter(Boolean).map((l) => `  ${l}`).join('\n')}
mappings:
  - name: telemetry
    match: '^devices/(?<deviceId>[^/]+)/telemetry$'
    topic: ${TOPIC}
    key: '\${deviceId}'
auth: { anonymous: true }
http: { port: 0 }
log: { level: warn }
`;
  // The HTTP ingest listener is on the proxy of every run, so the HTTP rows share the MQTT rows' config.
  fs.writeFileSync(configFile, proxyConfig(`  - { protocol: http, host: 127.0.0.1, port: ${PORTS.http} }`));

  const workers = option('workers', '');
  const stats = [];
  const startProxy = async (file = configFile, port = PORTS.proxy) => {
    const args = [path.join(ROOT, 'bin/mqtt-kafka-proxy'), '--config', file, ...(workers ? ['--workers', workers] : [])];
    const child = start('proxy', 'node', [...(process.env.BENCH_PROXY_NODE_ARGS ?? '').split(' ').filter(Boolean), ...args], {
      env: { MKP_BENCH_STATS: '500' },
      onStderr(line) {
        if (line.startsWith('{"mkpStats"')) stats.push(JSON.parse(line));
        else process.stderr.write(`[proxy] ${line}\n`);
      },
    });
    await waitForPort(port);
    await sleep(1500); // Kafka producers connected
    return child;
  };
  /** Stops the running proxy and starts a fresh one (no backlog, event-loop figures from zero). */
  const restartProxy = async (file = configFile, signal = 'SIGTERM') => {
    await stop(proxy, signal);
    proxy = await startProxy(file);
  };
  /** Waits until the proxy has nothing left to send (a QoS 0 backlog must not leak into the next run). */
  const proxyIdle = async () => {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const byPid = new Map();
      for (const line of stats.slice(-16)) byPid.set(line.pid, [...(byPid.get(line.pid) ?? []), line].slice(-2));
      const idle = [...byPid.values()].every(([a, b]) => a && b && a.kafkaSent.records === b.kafkaSent.records && Date.now() - b.t < 1000);
      if (byPid.size > 0 && idle) return;
      await sleep(250);
    }
  };
  const pidsOf = (child) => {
    // With --workers the load is served by the workers: count the whole process tree.
    try {
      const out = execFileSync('sh', ['-c', `pgrep -P ${child.pid} || true`]).toString().trim();
      const kids = out === '' ? [] : out.split('\n').map(Number);
      return [child.pid, ...kids];
    } catch {
      return [child.pid];
    }
  };

  const results = { date: startedAt.toISOString(), command: `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`, quick: QUICK, machine: info, plan: PLAN, throughput: [], latency: [], idle: [], soak: null, notes: [] };
  const kafkaPid = kafka.own ? { kafka: kafka.pid } : {};

  // ---- servers
  let proxy = ONLY_CLIENTS ? undefined : await startProxy();
  const aedes = start('aedes', 'node', [path.join(BENCH, 'aedes-alone.mjs'), PORTS.aedes, PORTS.aedesTls, cert, key]);
  const engineAlone = start('engine', 'node', [path.join(BENCH, 'engine-alone.mjs'), PORTS.engine]);
  let mosquitto;
  if (hasMosquitto) {
    const conf = path.join(tmp, 'mosquitto.conf');
    fs.writeFileSync(conf, `listener ${PORTS.mosquitto} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_connections -1\nmax_inflight_messages 0\nmax_queued_messages 0\nlog_dest none\n`);
    mosquitto = start('mosquitto', fs.existsSync('/usr/sbin/mosquitto') ? '/usr/sbin/mosquitto' : 'mosquitto', ['-c', conf]);
  } else if (!ONLY_CLIENTS) {
    results.notes.push('mosquitto not available: its baseline is missing');
  }
  await waitForPort(PORTS.aedes);
  await waitForPort(PORTS.engine);
  if (mosquitto) await waitForPort(PORTS.mosquitto);

  const measureProxy = (server = proxy) => Object.fromEntries(pidsOf(server).map((pid, i) => [i === 0 ? 'server' : `worker${i}`, pid]));
  const targets = [
    { name: 'proxy', port: PORTS.proxy, measured: () => ({ ...measureProxy(), ...kafkaPid }), kafka: true },
    { name: 'engine', port: PORTS.engine, measured: () => ({ server: engineAlone.pid }), kafka: false },
    { name: 'aedes', port: PORTS.aedes, measured: () => ({ server: aedes.pid }), kafka: false },
    ...(mosquitto ? [{ name: 'mosquitto', port: PORTS.mosquitto, measured: () => ({ server: mosquitto.pid }), kafka: false }] : []),
  ].filter((target) => targeted(target.name));
  const serverCpu = (cpu) => Object.entries(cpu).filter(([n]) => n === 'server' || n.startsWith('worker')).reduce((s, [, v]) => s + v, 0);

  try {
  // ---- 1. ingest throughput
  const combos = [];
  for (const qos of PLAN.qos) for (const payloadSize of PLAN.payloads) for (const connections of PLAN.connections) combos.push({ qos, payloadSize, connections });
  for (const extra of PLAN.extra ?? []) combos.push(extra);
  if (wanted('throughput') && !ONLY_CLIENTS) {
    let n = 0;
    for (const combo of combos) {
      n++;
      const window = WINDOW(combo.connections);
      const base = { ...combo, window, warmupMs: PLAN.warmupMs, durationMs: PLAN.durationMs };
      for (const target of targets) {
        if (!target.kafka && PLAN.baselinePayloads !== undefined && !PLAN.baselinePayloads.includes(combo.payloadSize)) continue;
        log(`throughput ${n}/${combos.length} ${target.name} qos${combo.qos} ${combo.payloadSize}B ${combo.connections} conns`);
        // A QoS 0 flood has no acknowledgement to pace it: the proxy first takes up to its in-flight
        // bound (seconds of work for Kafka) before the first records land. What lands per second is
        // measured once that initial backlog is being sent, not while it is read.
        const warmupMs = target.kafka && combo.qos === 0 ? Math.max(base.warmupMs, QOS0_PROXY_WARMUP_MS) : base.warmupMs;
        const r = await runLoad('loadgen.mjs', { ...base, warmupMs, mode: 'throughput', port: target.port, clientPrefix: `${target.name}-${n}`, sourceAddresses: combo.connections >= 1000 ? 8 : 0 }, target.measured(), target.kafka ? admin : undefined);
        // QoS 0 has no acknowledgement: through the proxy count what landed in Kafka; elsewhere what was sent.
        const messages = combo.qos > 0 ? r.acked : target.kafka ? r.landed : r.sent;
        if (target.kafka && combo.qos === 0) {
          // What a QoS 0 flood left in the proxy would take tens of seconds to send; a fresh proxy
          // is ready in two, and the next run starts from the same state either way.
          await restartProxy(configFile, 'SIGKILL');
        } else if (target.kafka) {
          await proxyIdle();
        }
        results.throughput.push({ target: target.name, ...combo, window, rate: messages / r.seconds, counted: combo.qos > 0 ? 'acked' : target.kafka ? 'landed in Kafka' : 'sent', cpuPer100k: perHundredK(serverCpu(r.cpu), messages), kafkaCpuPer100k: r.cpu.kafka === undefined ? undefined : perHundredK(r.cpu.kafka, messages), loadCpuPer100k: perHundredK(r.cpu.load, messages), raw: r });
      }
      if (!targeted('direct')) continue;
      log(`throughput ${n}/${combos.length} direct producer`);
      const d = await runLoad('direct-producer.mjs', { mode: 'throughput', config: configFile, qos: combo.qos, payloadSize: combo.payloadSize, devices: combo.connections, outstanding: combo.connections * window, warmupMs: PLAN.warmupMs, durationMs: PLAN.durationMs }, { ...kafkaPid }, admin);
      const dMessages = d.acked;
      results.throughput.push({ target: 'direct', ...combo, window, rate: dMessages / d.seconds, counted: 'acked by Kafka', cpuPer100k: perHundredK(d.cpu.load, dMessages), kafkaCpuPer100k: d.cpu.kafka === undefined ? undefined : perHundredK(d.cpu.kafka, dMessages), raw: d });
    }
  }

  // ---- 1b. Kafka client libraries: each one's proxy beside the direct producer on the same library
  if (ONLY_CLIENTS) {
    results.clients = [];
    const servers = [];
    for (const [i, client] of CLIENTS.entries()) {
      const port = PORTS.clientProxies + i;
      const file = path.join(tmp, `bench-${client}.yaml`);
      fs.writeFileSync(file, proxyConfig('', { port, client }));
      servers.push({ client, port, file });
    }
    // QoS 1 first, and a fresh proxy for each measurement: a QoS 0 flood leaves a backlog (see the
    // targets in RESULTS.md) that must not leak into the next measurement.
    const clientCombos = [];
    for (const qos of [1, 0]) for (const connections of [10, 1000]) clientCombos.push({ qos, payloadSize: 100, connections });
    let n = 0;
    for (const combo of clientCombos) {
      n++;
      const window = WINDOW(combo.connections);
      // The libraries take turns within each combination, so drift in the machine's load hits both.
      for (const server of servers) {
        log(`clients ${n}/${clientCombos.length} ${server.client} proxy qos${combo.qos} ${combo.payloadSize}B ${combo.connections} conns`);
        const serverProcess = await startProxy(server.file, server.port);
        const r = await runLoad('loadgen.mjs', { ...combo, window, warmupMs: PLAN.warmupMs, durationMs: PLAN.durationMs, mode: 'throughput', port: server.port, clientPrefix: `${server.client}-${n}`, sourceAddresses: combo.connections >= 1000 ? 8 : 0 }, { ...measureProxy(serverProcess), ...kafkaPid }, admin);
        const messages = combo.qos > 0 ? r.acked : r.landed;
        await stop(serverProcess, 'SIGKILL');
        results.clients.push({ client: server.client, target: 'proxy', ...combo, rate: messages / r.seconds, cpuPer100k: perHundredK(serverCpu(r.cpu), messages), kafkaCpuPer100k: r.cpu.kafka === undefined ? undefined : perHundredK(r.cpu.kafka, messages), errors: r.errors, raw: r });
        log(`clients ${n}/${clientCombos.length} ${server.client} direct producer`);
        const d = await runLoad('direct-producer.mjs', { mode: 'throughput', config: server.file, kafkaClient: server.client, qos: combo.qos, payloadSize: combo.payloadSize, devices: combo.connections, outstanding: combo.connections * window, warmupMs: PLAN.warmupMs, durationMs: PLAN.durationMs }, { ...kafkaPid }, admin);
        results.clients.push({ client: server.client, target: 'direct', ...combo, rate: d.acked / d.seconds, cpuPer100k: perHundredK(d.cpu.load, d.acked), kafkaCpuPer100k: d.cpu.kafka === undefined ? undefined : perHundredK(d.cpu.kafka, d.acked), errors: d.errors, landed: d.landed, raw: d });
      }
    }
  }

  // ---- 2. latency, QoS 1, 100 B, at fixed offered rates
  const maxOf = (target, connections) => results.throughput.find((t) => t.target === target && t.qos === 1 && t.payloadSize === 100 && t.connections === connections)?.rate;
  // The maximum is measured with the latency runs' own connection count: with fewer connections
  // each socket read carries more messages, and a maximum from 10 connections would put "50%" near
  // what 100 connections can carry at all.
  let maxRate = maxOf('proxy', PLAN.latencyConnections);
  if ((wanted('latency') || wanted('soak')) && !ONLY_CLIENTS) {
    if (maxRate === undefined) {
      log(`latency: measuring the QoS 1 maximum with ${PLAN.latencyConnections} connections first`);
      const r = await runLoad('loadgen.mjs', { mode: 'throughput', port: PORTS.proxy, qos: 1, payloadSize: 100, connections: PLAN.latencyConnections, window: WINDOW(PLAN.latencyConnections), warmupMs: PLAN.warmupMs, durationMs: PLAN.durationMs, clientPrefix: 'max' }, {}, undefined);
      maxRate = r.acked / r.seconds;
      results.latencyMaximum = { connections: PLAN.latencyConnections, rate: maxRate };
    }
  }
  if (wanted('latency') && !ONLY_CLIENTS) {
    for (const share of [0.25, 0.5, 0.9]) {
      const rate = Math.round(maxRate * share);
      log(`latency proxy ${share * 100}% = ${rate}/s`);
      const r = await runLoad('loadgen.mjs', { mode: 'rate', port: PORTS.proxy, qos: 1, payloadSize: 100, connections: PLAN.latencyConnections, rate, warmupMs: PLAN.warmupMs, durationMs: PLAN.latencyMs, clientPrefix: `lat-${share}` }, measureProxy(), undefined);
      results.latency.push({ target: 'proxy', share, offered: rate, achieved: r.ackedRate, ...r.latencyMs, cpuPer100k: perHundredK(serverCpu(r.cpu), r.acked) });
      log(`latency direct ${share * 100}% = ${rate}/s`);
      const d = await runLoad('direct-producer.mjs', { mode: 'rate', config: configFile, qos: 1, payloadSize: 100, devices: PLAN.latencyConnections, rate, warmupMs: PLAN.warmupMs, durationMs: PLAN.latencyMs }, {}, undefined);
      results.latency.push({ target: 'direct', share, offered: rate, achieved: d.ackedRate, ...d.latencyMs, cpuPer100k: perHundredK(d.cpu.load, d.acked) });
    }
  }

  // ---- 3. soak at 50% of the maximum: RSS and event-loop delay from the proxy's own stats lines
  if (wanted('soak') && PLAN.soakSeconds > 0 && maxRate !== undefined && !ONLY_CLIENTS) {
    const rate = Math.round(maxRate * 0.5);
    // A fresh proxy: its event-loop delay since start is then the soak's own, not the floods' before it.
    await restartProxy();
    log(`soak ${PLAN.soakSeconds} s at ${rate}/s`);
    const firstStat = stats.length;
    const r = await runLoad('loadgen.mjs', { mode: 'rate', port: PORTS.proxy, qos: 1, payloadSize: 100, connections: PLAN.latencyConnections, rate, warmupMs: 0, durationMs: PLAN.soakSeconds * 1000, clientPrefix: 'soak' }, measureProxy(), undefined);
    const series = stats.slice(firstStat).filter((s) => s.pid === proxy.pid || workers);
    const warm = Math.max(1, Math.floor(series.length * 0.2));
    const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const tail = Math.max(1, Math.floor(series.length * 0.1));
    const afterWarmup = median(series.slice(warm, warm + tail).map((s) => s.rss));
    const atEnd = median(series.slice(-tail).map((s) => s.rss));
    results.soak = {
      seconds: PLAN.soakSeconds,
      offered: rate,
      achieved: r.ackedRate,
      latencyMs: r.latencyMs,
      rssAfterWarmup: afterWarmup,
      rssAtEnd: atEnd,
      rssGrowth: atEnd / afterWarmup - 1,
      eventLoopP99: series.at(-1)?.eldP99SinceStart,
      eventLoopP99Worst: Math.max(...series.slice(warm).map((s) => s.eldP99)),
      eventLoopP99Median: median(series.slice(warm).map((s) => s.eldP99)),
      eventLoopMax: Math.max(...series.slice(warm).map((s) => s.eldMax)),
      series: series.map((s) => ({ t: s.t, rss: s.rss, heapUsed: s.heapUsed, eldP99: s.eldP99, eldMax: s.eldMax })),
    };
  }

  // ---- 4. idle connections: RSS per connection and CONNECT rate (fresh servers)
  // Each idle connection needs a descriptor in the server and one in the load process.
  const fdLimit = Number(execFileSync('sh', ['-c', 'ulimit -n 1048576 2>/dev/null || ulimit -n 65536 2>/dev/null; ulimit -n']).toString().trim());
  const idleCap = (n) => {
    const cap = Math.max(1000, fdLimit - 1000);
    if (n <= cap) return n;
    results.notes.push(`file descriptor limit ${fdLimit} on this machine (raising it needs CAP_SYS_RESOURCE): ${n} idle connections reduced to ${cap}`);
    return cap;
  };
  if (wanted('idle') && !ONLY_CLIENTS) {
    // In two halves: the average over all connections includes what the server grows once (its
    // young generation, pools), which 100,000 connections would share; the second half's growth is
    // what one more connection costs, the figure that scales.
    const idleRun = async (label, serverPid, port, count, useTls) => {
      await sleep(1000);
      const before = rssBytes(serverPid);
      const cpuBefore = cpuSeconds(serverPid);
      const holders = [];
      const openHalf = async (half, n) => {
        let connected;
        const holder = start('idle', 'node', [path.join(BENCH, 'loadgen.mjs'), JSON.stringify({ mode: 'idle', port, tls: useTls, connections: n, sourceAddresses: 32, connectConcurrency: 256, clientPrefix: `idle-${label}-${half}` })], {
          onStdout(line) {
            if (line.startsWith('RESULT ')) connected = JSON.parse(line.slice(7));
          },
          onStderr: (line) => process.stderr.write(`[idle] ${line}\n`),
        });
        holders.push(holder);
        const deadline = Date.now() + 600_000;
        while (connected === undefined && holder.exitCode === null && Date.now() < deadline) await sleep(200);
        await sleep(QUICK ? 1000 : 1500);
        return connected;
      };
      const first = await openHalf(1, Math.floor(count / 2));
      const middle = rssBytes(serverPid);
      const second = first === undefined ? undefined : await openHalf(2, count - Math.floor(count / 2));
      const after = rssBytes(serverPid);
      const cpu = cpuSeconds(serverPid) - cpuBefore;
      await Promise.all(holders.map((h) => stop(h)));
      if (first === undefined || second === undefined) {
        results.notes.push(`idle ${label}${useTls ? ' TLS' : ''}: the connections were not established`);
        return;
      }
      const connections = first.connections + second.connections;
      const connectMs = first.connectMs + second.connectMs;
      const row = {
        target: label,
        tls: useTls,
        requested: count,
        connections,
        connectErrors: first.connectErrors + second.connectErrors,
        connectRate: connections / (connectMs / 1000),
        rssBefore: before,
        rssMiddle: middle,
        rssAfter: after,
        bytesPerConnection: (after - before) / connections,
        marginalBytesPerConnection: (after - middle) / second.connections,
        cpuPerConnectMs: (cpu / connections) * 1000,
      };
      results.idle.push(row);
      log(`idle ${label}: ${row.connections} conns, ${(row.bytesPerConnection / 1024).toFixed(1)} KiB/conn (second half ${(row.marginalBytesPerConnection / 1024).toFixed(1)}), ${Math.round(row.connectRate)} CONNECT/s`);
    };
    // A fresh proxy for each: TCP only, then one with a TLS listener.
    await restartProxy();
    await idleRun('proxy', proxy.pid, PORTS.proxy, idleCap(PLAN.idleTcp), false);
    fs.writeFileSync(path.join(tmp, 'tls.yaml'), proxyConfig(`  - { protocol: tls, host: 127.0.0.1, port: ${PORTS.proxyTls}, tls: { cert: ${cert}, key: ${key} } }`));
    await restartProxy(path.join(tmp, 'tls.yaml'));
    await idleRun('proxy', proxy.pid, PORTS.proxyTls, idleCap(PLAN.idleTls), true);
    await stop(aedes);
    const aedesFresh = start('aedes', 'node', [path.join(BENCH, 'aedes-alone.mjs'), PORTS.aedes, PORTS.aedesTls, cert, key]);
    await waitForPort(PORTS.aedes);
    // The reference needs fewer connections: its cost per connection is flat well before 20,000.
    await idleRun('aedes', aedesFresh.pid, PORTS.aedesTls, idleCap(Math.min(PLAN.idleTls, PLAN.idleTlsReference)), true);
    await stop(aedesFresh);
  }

  // ---- HTTP ingest beside MQTT QoS 1 and the direct producer
  if (wanted('http') && !ONLY_CLIENTS && proxy !== undefined) {
    results.http = await httpBench({
      runLoad, log, admin, plan: PLAN, configFile, kafkaPid, perHundredK, serverCpu, proxyIdle,
      measured: () => ({ ...measureProxy(), ...kafkaPid }), mqttPort: PORTS.proxy, httpPort: PORTS.http,
    });
  }

  // ---- the group-less reader beside Kafka's own consumer perf test, on a topic of its own
  if (wanted('reader') && !ONLY_CLIENTS) {
    results.reader = await readerBench({ brokers: kafka.brokers, kafkaPid: kafka.own ? kafka.pid : undefined, records: QUICK ? 200_000 : 1_000_000, rounds: QUICK ? 1 : 3, log });
  }

  } catch (error) {
    // Whatever was measured is still written out.
    log(`stopped early: ${error.stack}`);
    results.notes.push(`the run stopped early: ${error.message}`);
  }
  await Promise.all([...children].map((c) => stop(c)));
  await admin.close();
  if (kafka.own && !flag('keep-kafka')) execFileSync(path.join(ROOT, 'scripts/kafka-dev'), ['stop', '--clean'], { env: kafka.env, stdio: 'ignore' });
  fs.rmSync(tmp, { recursive: true, force: true });

  results.elapsedSeconds = (Date.now() - startedAt.getTime()) / 1000;
  results.targets = targetsOf(results);
  const stamp = startedAt.toISOString().replace(/[:]/g, '-').replace(/\..*/, '');
  fs.mkdirSync(path.join(BENCH, 'results'), { recursive: true });
  const jsonFile = path.join(BENCH, 'results', `${stamp}${QUICK ? '-quick' : ''}${ONLY_CLIENTS ? '-clients' : ''}.json`);
  fs.writeFileSync(jsonFile, `${JSON.stringify(results, null, 2)}\n`);
  const markdown = toMarkdown(results);
  fs.writeFileSync(jsonFile.replace(/\.json$/, '.md'), markdown);
  // A client comparison is not a full or quick run: its table goes into RESULTS.md by hand.
  if (!flag('no-results-md') && !ONLY_CLIENTS) updateResultsFile(markdown, QUICK ? 'quick' : 'full');
  process.stdout.write(markdown);
  log(`done in ${Math.round(results.elapsedSeconds)} s: ${path.relative(ROOT, jsonFile)}`);
}

// ------------------------------------------------------------------ targets and report

function targetsOf(results) {
  const find = (target, qos, payloadSize, connections) => results.throughput.find((t) => t.target === target && t.qos === qos && t.payloadSize === payloadSize && t.connections === connections);
  const out = [];
  for (const qos of [0, 1]) {
    for (const row of results.throughput.filter((t) => t.target === 'proxy' && t.qos === qos)) {
      const direct = find('direct', qos, row.payloadSize, row.connections);
      if (!direct) continue;
      // Nothing counted (e.g. no QoS 0 record landed in the window) is a failure, not a zero cost.
      const ratio = row.cpuPer100k === null || direct.cpuPer100k === null ? Number.NaN : row.cpuPer100k / direct.cpuPer100k;
      out.push({ target: `CPU/msg QoS ${qos}, ${row.payloadSize} B, ${row.connections} conns: proxy ÷ direct producer`, limit: '≤ 1.5', ratio, met: ratio <= 1.5 });
    }
  }
  for (const row of results.throughput.filter((t) => t.target === 'proxy' && t.qos === 1 && t.connections >= 1000)) {
    const direct = find('direct', 1, row.payloadSize, row.connections);
    if (!direct) continue;
    const ratio = row.rate / direct.rate;
    out.push({ target: `QoS 1 ingest, ${row.payloadSize} B, ${row.connections} conns: proxy ÷ direct producer`, limit: '≥ 0.7', ratio, met: ratio >= 0.7 });
  }
  for (const row of results.throughput.filter((t) => t.target === 'engine')) {
    const aedes = find('aedes', row.qos, row.payloadSize, row.connections);
    if (!aedes) continue;
    const ratio = row.cpuPer100k === null || aedes.cpuPer100k === null ? Number.NaN : row.cpuPer100k / aedes.cpuPer100k;
    out.push({ target: `CPU/msg QoS ${row.qos}, ${row.payloadSize} B, ${row.connections} conns: engine alone ÷ aedes alone`, limit: '≤ 0.7', ratio, met: ratio <= 0.7 });
  }
  const p = results.latency.find((l) => l.target === 'proxy' && l.share === 0.5);
  const d = results.latency.find((l) => l.target === 'direct' && l.share === 0.5);
  if (p && d) out.push({ target: 'QoS 1 PUBACK p99 at 50% load − direct produce p99', limit: '≤ 5 ms', ratio: p.p99 - d.p99, unit: 'ms', met: p.p99 <= d.p99 + 5 });
  for (const row of results.idle.filter((r) => r.target === 'proxy')) {
    const kib = row.bytesPerConnection / 1024;
    out.push({ target: `${row.connections} idle ${row.tls ? 'TLS' : 'TCP'} connections: RSS per connection`, limit: '≤ 12 KiB', ratio: kib, unit: 'KiB', met: kib <= 12 && row.connections >= row.requested });
    if (row.marginalBytesPerConnection !== undefined) {
      const marginal = row.marginalBytesPerConnection / 1024;
      out.push({ target: `idle ${row.tls ? 'TLS' : 'TCP'}: RSS per connection added in the second half (what each of 100,000 would cost)`, limit: '≤ 12 KiB', ratio: marginal, unit: 'KiB', met: marginal <= 12 });
    }
  }
  if (results.soak) {
    out.push({ target: `soak ${results.soak.seconds} s: RSS growth after warm-up`, limit: '< 5%', ratio: results.soak.rssGrowth * 100, unit: '%', met: results.soak.rssGrowth < 0.05 });
    out.push({ target: `soak ${results.soak.seconds} s: event-loop delay p99 (the proxy's whole run)`, limit: '< 20 ms', ratio: results.soak.eventLoopP99, unit: 'ms', met: results.soak.eventLoopP99 < 20 });
    out.push({ target: `soak ${results.soak.seconds} s: event-loop delay p99 of the worst 0.5 s interval (stricter)`, limit: '< 20 ms', ratio: results.soak.eventLoopP99Worst, unit: 'ms', met: results.soak.eventLoopP99Worst < 20 });
  }
  return out;
}

const fmt = (n, digits = 0) => (n === null || n === undefined || Number.isNaN(n) ? '–' : Number(n).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));

function toMarkdown(r) {
  const m = r.machine;
  const lines = [];
  lines.push(`Run ${r.date} (${r.quick ? 'quick' : 'full'}), \`${r.command}\`, ${Math.round(r.elapsedSeconds)} s.`);
  lines.push(`Machine: ${m.nproc} cores (${m.cpu}), ${m.memory}, Linux ${m.kernel}, Node ${m.node}, Kafka ${m.kafka}, Mosquitto ${m.mosquitto}${m.loadAverageAtStart ? `, load average ${m.loadAverageAtStart.join(' / ')} at the start` : ''}${m.kafkaClient ? `, Kafka client ${m.kafkaClient}` : ''}. Shared with other workloads while it ran: read ratios, not absolute rates.`);
  lines.push('');
  lines.push('### Targets');
  lines.push('');
  lines.push('| target | limit | measured | met |');
  lines.push('|---|---|---|---|');
  for (const t of r.targets) lines.push(`| ${t.target} | ${t.limit} | ${Number.isNaN(t.ratio) ? 'nothing counted' : t.unit ? `${fmt(t.ratio, 1)} ${t.unit}` : `${fmt(t.ratio, 2)}×`} | ${t.met ? 'met' : '**not met**'} |`);
  if (r.throughput.length) {
    lines.push('');
    lines.push('### Ingest throughput');
    lines.push('');
    lines.push('Rate = messages/s acknowledged (QoS 1/2), landed in Kafka (proxy QoS 0, from topic offsets) or sent (engine/aedes/Mosquitto QoS 0). CPU = user+sys seconds per 100k messages of the server process (for the direct producer: its own process); Kafka = the broker\'s.');
    lines.push('');
    lines.push('| QoS | payload | conns | target | rate | ÷ direct | CPU s/100k | ÷ direct | Kafka CPU s/100k |');
    lines.push('|---|---|---|---|---|---|---|---|---|');
    for (const row of r.throughput) {
      const direct = r.throughput.find((t) => t.target === 'direct' && t.qos === row.qos && t.payloadSize === row.payloadSize && t.connections === row.connections);
      lines.push(`| ${row.qos} | ${row.payloadSize} B | ${row.connections} | ${row.target} | ${fmt(row.rate)} | ${direct ? fmt(row.rate / direct.rate, 2) : '–'} | ${fmt(row.cpuPer100k, 2)} | ${direct ? fmt(row.cpuPer100k / direct.cpuPer100k, 2) : '–'} | ${fmt(row.kafkaCpuPer100k, 2)} |`);
    }
  }
  if (r.clients?.length) {
    lines.push('');
    lines.push('### Kafka client libraries');
    lines.push('');
    lines.push('Each library\'s proxy beside the direct producer on the same library; ratios across libraries are platformatic ÷ kafkajs. Rate = messages/s acked (QoS 1) or landed in Kafka (proxy QoS 0; the direct producer counts acks from Kafka at acks=1). CPU = user+sys s per 100k messages of the proxy, or of the direct producer process.');
    lines.push('');
    lines.push('| QoS | conns | client | proxy rate | direct rate | proxy ÷ direct rate | proxy CPU s/100k | direct CPU s/100k | proxy ÷ direct CPU | errors |');
    lines.push('|---|---|---|---|---|---|---|---|---|---|');
    for (const row of r.clients.filter((c) => c.target === 'proxy')) {
      const d = r.clients.find((c) => c.target === 'direct' && c.client === row.client && c.qos === row.qos && c.connections === row.connections);
      lines.push(`| ${row.qos} | ${row.connections} | ${row.client} | ${fmt(row.rate)} | ${fmt(d?.rate)} | ${d ? fmt(row.rate / d.rate, 2) : '–'} | ${fmt(row.cpuPer100k, 2)} | ${fmt(d?.cpuPer100k, 2)} | ${d ? fmt(row.cpuPer100k / d.cpuPer100k, 2) : '–'} | ${(row.errors ?? 0) + (d?.errors ?? 0)} |`);
    }
    const [a, b] = CLIENTS.length === 2 ? CLIENTS : ['kafkajs', 'platformatic'];
    lines.push('');
    lines.push(`| QoS | conns | ${b} ÷ ${a}: proxy rate | proxy CPU/msg | direct rate | direct CPU/msg |`);
    lines.push('|---|---|---|---|---|---|');
    for (const row of r.clients.filter((c) => c.target === 'proxy' && c.client === a)) {
      const pick = (client, target) => r.clients.find((c) => c.client === client && c.target === target && c.qos === row.qos && c.connections === row.connections);
      const ratio = (target, field) => {
        const x = pick(b, target);
        const y = pick(a, target);
        return x && y ? fmt(x[field] / y[field], 2) : '–';
      };
      lines.push(`| ${row.qos} | ${row.connections} | ${ratio('proxy', 'rate')} | ${ratio('proxy', 'cpuPer100k')} | ${ratio('direct', 'rate')} | ${ratio('direct', 'cpuPer100k')} |`);
    }
  }
  if (r.latency.length) {
    lines.push('');
    lines.push(`### QoS 1 latency (PUBLISH → PUBACK; direct: produce → Kafka ack), 100 B, ${r.plan.latencyConnections} connections`);
    lines.push('');
    if (r.latencyMaximum) lines.push(`Load is a share of the proxy's QoS 1 maximum with ${r.latencyMaximum.connections} connections, measured first in this run: ${fmt(r.latencyMaximum.rate)} messages/s.`, '');
    lines.push('| load | target | offered/s | achieved/s | p50 ms | p99 ms | p99.9 ms | max ms |');
    lines.push('|---|---|---|---|---|---|---|---|');
    for (const l of r.latency) lines.push(`| ${l.share * 100}% | ${l.target} | ${fmt(l.offered)} | ${fmt(l.achieved)} | ${fmt(l.p50, 2)} | ${fmt(l.p99, 2)} | ${fmt(l.p999, 2)} | ${fmt(l.max, 1)} |`);
  }
  if (r.idle.length) {
    lines.push('');
    lines.push('### Idle connections (keepalive 60 s)');
    lines.push('');
    lines.push('RSS/conn: the server\'s RSS growth over all connections; second half: its growth while the second half connected, per connection (without what the server grows once).');
    lines.push('');
    lines.push('| server | transport | connections | RSS/conn KiB | second half KiB/conn | CONNECT/s | server CPU ms/CONNECT |');
    lines.push('|---|---|---|---|---|---|---|');
    for (const i of r.idle) lines.push(`| ${i.target} | ${i.tls ? 'TLS' : 'TCP'} | ${fmt(i.connections)}${i.connectErrors ? ` (${i.connectErrors} failed)` : ''} | ${fmt(i.bytesPerConnection / 1024, 1)} | ${i.marginalBytesPerConnection === undefined ? '–' : fmt(i.marginalBytesPerConnection / 1024, 1)} | ${fmt(i.connectRate)} | ${fmt(i.cpuPerConnectMs, 3)} |`);
  }
  if (r.soak) {
    const s = r.soak;
    lines.push('');
    lines.push(`### Soak: ${s.seconds} s of QoS 1 at ${fmt(s.offered)}/s (50% of max)`);
    lines.push('');
    lines.push(`Achieved ${fmt(s.achieved)}/s; PUBACK p99 ${fmt(s.latencyMs?.p99, 2)} ms. RSS after warm-up ${fmt(s.rssAfterWarmup / 2 ** 20, 1)} MiB, at the end ${fmt(s.rssAtEnd / 2 ** 20, 1)} MiB (${fmt(s.rssGrowth * 100, 1)}%). Event-loop delay (lateness beyond the 10 ms sampling period) p99 over the run ${fmt(s.eventLoopP99, 1)} ms; p99 per 0.5 s interval: median ${fmt(s.eventLoopP99Median, 1)} ms, worst ${fmt(s.eventLoopP99Worst, 1)} ms; max ${fmt(s.eventLoopMax, 1)} ms.`);
    const step = Math.max(1, Math.floor(s.series.length / 10));
    lines.push('');
    lines.push('| t (s) | RSS MiB | heap MiB | event-loop p99 ms |');
    lines.push('|---|---|---|---|');
    const t0 = s.series[0]?.t ?? 0;
    for (let i = 0; i < s.series.length; i += step) {
      const x = s.series[i];
      lines.push(`| ${Math.round((x.t - t0) / 1000)} | ${fmt(x.rss / 2 ** 20, 1)} | ${fmt(x.heapUsed / 2 ** 20, 1)} | ${fmt(x.eldP99, 1)} |`);
    }
  }
  if (r.http?.length) lines.push(httpMarkdown(r.http, fmt).trimEnd());
  if (r.reader) {
    lines.push('');
    lines.push(readerMarkdown(r.reader).trimEnd());
  }
  if (r.notes.length) {
    lines.push('');
    for (const n of r.notes) lines.push(`- ${n}`);
  }
  return `${lines.join('\n')}\n`;
}

export function updateResultsFile(markdown, mode) {
  const file = path.join(BENCH, 'RESULTS.md');
  const begin = `<!-- latest ${mode} run: written by npm run bench -->`;
  const end = `<!-- end of latest ${mode} run -->`;
  const block = `${begin}\n${markdown}${end}`;
  let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : `# Benchmark results\n\n${begin}\n${end}\n`;
  if (!text.includes(begin)) text += `\n${begin}\n${end}\n`;
  text = text.slice(0, text.indexOf(begin)) + block + text.slice(text.indexOf(end) + end.length);
  fs.writeFileSync(file, text);
}

const cleanup = () => {
  for (const c of children) c.kill('SIGKILL');
};
process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});
// --report=bench/results/X.json re-renders a saved run (targets, Markdown, RESULTS.md) without running it.
const reportFile = option('report', '');
if (reportFile !== '') {
  const saved = JSON.parse(fs.readFileSync(reportFile, 'utf8'));
  saved.targets = targetsOf(saved);
  const markdown = toMarkdown(saved);
  fs.writeFileSync(reportFile, `${JSON.stringify(saved, null, 2)}\n`);
  fs.writeFileSync(reportFile.replace(/\.json$/, '.md'), markdown);
  updateResultsFile(markdown, saved.quick ? 'quick' : 'full');
  process.stdout.write(markdown);
} else main().catch((error) => {
  process.stderr.write(`bench: ${error.stack}\n`);
  cleanup();
  process.exit(1);
});
