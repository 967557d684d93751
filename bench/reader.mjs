// The reader row of the bench: records/s and CPU per 100k records read from the beginning of one
// topic by the proxy's group-less Kafka reader (src/kafka/reader.ts) and by Kafka's own
// kafka-consumer-perf-test (org.apache.kafka.tools.ConsumerPerformance), interleaved, in one run.
//
//   node bench/reader.mjs [--records=N] [--rounds=R] [--port=P]    (after npm run build)
//
// Alone it starts a Kafka of its own on --port (default 29400) unless KAFKA_BROKERS is set, and
// writes bench/results/<date>-reader.json and .md. bench/run.mjs calls readerBench() with its Kafka.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const KAFKA_DEV = path.join(ROOT, 'scripts', 'kafka-dev');
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
const RECORD_BYTES = 100;
const PARTITIONS = 3;

function cpuSeconds(pid) {
  try {
    const rest = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
  } catch {
    return Number.NaN;
  }
}

const timesSeconds = (text) => {
  const m = /^(\d+)m([\d.]+)s$/.exec(text);
  return m === null ? Number.NaN : Number(m[1]) * 60 + Number(m[2]);
};

/**
 * Runs a command to its end under bash, whose `times` then prints the CPU its children used: the
 * command's whole CPU (user + system), however it forks or exits. Resolves with stdout and that.
 */
function measured(command, args, env = process.env) {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', '"$@"; rc=$?; times >&2; exit $rc', 'measured', command, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (err += chunk));
    child.on('exit', (code) => {
      const [user, system] = (err.trim().split('\n').at(-1) ?? '').split(/\s+/);
      const cpu = timesSeconds(user) + timesSeconds(system);
      if (code === 0) resolve({ out, cpu });
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}: ${(err + out).slice(-1500)}`));
    });
  });
}

/** A Kafka tool through kafka-dev (set-up steps, CPU not compared). */
function tool(name, args, env) {
  return measured(KAFKA_DEV, ['tool', name, ...args], env);
}

/**
 * kafka-consumer-perf-test as Kafka's own script runs it (kafka-run-class.sh: G1, the full JIT,
 * the script's 512 MB heap), on the jars kafka-dev fetched.
 */
function consumerPerf(args) {
  const version = process.env.KAFKA_VERSION ?? '4.1.2';
  const cache = process.env.MKP_CACHE_DIR ?? path.join(process.env.HOME ?? '/tmp', '.cache', 'mqtt-kafka-proxy');
  const java = process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
  return measured(java, [
    '-Xmx512M', '-server', '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-XX:InitiatingHeapOccupancyPercent=35', '-XX:+ExplicitGCInvokesConcurrent',
    '-Djava.awt.headless=true', `-Dlog4j2.configurationFile=${path.join(ROOT, 'scripts', 'kafka', 'tools-log4j2.properties')}`,
    '-cp', path.join(cache, `kafka-${version}`, 'libs', '*'), 'org.apache.kafka.tools.ConsumerPerformance', ...args,
  ]);
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : sorted[Math.floor((sorted.length - 1) / 2)];
};

/** The reader in a process of its own (--child): CPU and time from assign() to the last record, startup excluded. */
async function readerChild({ brokers, topic, records }) {
  const { KafkaReader } = await import(path.join(ROOT, 'dist/src/kafka/reader.js'));
  const { default: pino } = await import('pino');
  let count = 0;
  let done;
  const finished = new Promise((resolve) => (done = resolve));
  const reader = new KafkaReader({
    connection: { clientId: 'mkp-bench-reader', brokers: brokers.split(',') },
    logger: pino({ level: 'warn' }),
    onBatch(batch) {
      count += batch.records.length;
      if (count >= records) done();
    },
  });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  reader.assign(topic, { start: 'earliest' });
  await finished;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await reader.close();
  process.stdout.write(`RESULT ${JSON.stringify({ count, seconds, cpu: (cpu.user + cpu.system) / 1e6 })}\n`);
}

/** ConsumerPerformance's CSV line: start, end, MB, MB/s, nMsg, nMsg/s, rebalance ms, fetch ms, fetch MB/s, fetch nMsg/s. */
function parsePerf(out) {
  const line = out.trim().split('\n').filter((l) => /^\d{4}-\d\d-\d\d/.test(l)).at(-1);
  if (line === undefined) throw new Error(`no result line from the consumer perf test: ${out.slice(-500)}`);
  const f = line.split(',').map((x) => x.trim());
  return { messages: Number(f[4]), rebalanceMs: Number(f[6]), fetchMs: Number(f[7]), fetchRate: Number(f[9]) };
}

/**
 * Writes `records` records of 100 B over 3 partitions with kafka-producer-perf-test, then reads them
 * all `rounds` times with each reader, interleaved. CPU per 100k: the reader's own process from
 * assign() to the last record; the perf test's whole JVM minus the same JVM reading one record
 * (start-up, JIT warm-up and the group join counted once, as a floor measured in the same run).
 */
export async function readerBench({ brokers, records = 1_000_000, rounds = 3, log = (...a) => console.error(...a), kafkaPid } = {}) {
  const topic = `bench.reader-${Date.now()}`;
  const bootstrap = brokers.split(',')[0];
  await tool('topics', ['--bootstrap-server', bootstrap, '--create', '--topic', topic, '--partitions', String(PARTITIONS), '--replication-factor', '1']);
  log(`reader bench: writing ${records} records of ${RECORD_BYTES} B to ${topic}`);
  await tool('producer-perf-test', [
    '--topic', topic, '--num-records', String(records), '--record-size', String(RECORD_BYTES), '--throughput', '-1',
    '--producer-props', `bootstrap.servers=${brokers}`, 'acks=1', 'linger.ms=5', 'batch.size=131072',
  ]);
  const perfArgs = (n) => ['--bootstrap-server', brokers, '--topic', topic, '--messages', String(n), '--timeout', '120000', '--group', `mkp-bench-perf-${Date.now()}-${n}`];
  const rows = { reader: [], perf: [] };
  for (let round = 1; round <= rounds; round++) {
    const k0 = kafkaPid === undefined ? Number.NaN : cpuSeconds(kafkaPid);
    const child = await measured(process.execPath, [fileURLToPath(import.meta.url), '--child', JSON.stringify({ brokers, topic, records })]);
    const k1 = kafkaPid === undefined ? Number.NaN : cpuSeconds(kafkaPid);
    const r = JSON.parse(child.out.split('\n').find((l) => l.startsWith('RESULT ')).slice(7));
    rows.reader.push({ rate: r.count / r.seconds, cpuPer100k: (r.cpu / r.count) * 1e5, processCpuPer100k: (child.cpu / r.count) * 1e5, kafkaCpuPer100k: ((k1 - k0) / r.count) * 1e5, seconds: r.seconds });
    log(`reader bench round ${round}: reader ${Math.round(r.count / r.seconds)} records/s, ${((r.cpu / r.count) * 1e5).toFixed(3)} CPU-s per 100k`);

    const floor = await consumerPerf(perfArgs(1));
    const k2 = kafkaPid === undefined ? Number.NaN : cpuSeconds(kafkaPid);
    const perf = await consumerPerf(perfArgs(records));
    const k3 = kafkaPid === undefined ? Number.NaN : cpuSeconds(kafkaPid);
    const p = parsePerf(perf.out);
    rows.perf.push({ rate: p.fetchRate, cpuPer100k: ((perf.cpu - floor.cpu) / p.messages) * 1e5, processCpuPer100k: (perf.cpu / p.messages) * 1e5, kafkaCpuPer100k: ((k3 - k2) / p.messages) * 1e5, seconds: p.fetchMs / 1000, rebalanceMs: p.rebalanceMs });
    log(`reader bench round ${round}: consumer-perf-test ${Math.round(p.fetchRate)} records/s, ${(((perf.cpu - floor.cpu) / p.messages) * 1e5).toFixed(3)} CPU-s per 100k (JVM ${perf.cpu.toFixed(1)} s, floor ${floor.cpu.toFixed(1)} s)`);
  }
  await tool('topics', ['--bootstrap-server', bootstrap, '--delete', '--topic', topic]).catch(() => undefined);
  const summary = (list) => ({
    rate: median(list.map((x) => x.rate)),
    cpuPer100k: median(list.map((x) => x.cpuPer100k)),
    processCpuPer100k: median(list.map((x) => x.processCpuPer100k)),
    kafkaCpuPer100k: median(list.map((x) => x.kafkaCpuPer100k)),
  });
  return { records, recordBytes: RECORD_BYTES, partitions: PARTITIONS, rounds, reader: summary(rows.reader), perf: summary(rows.perf), raw: rows };
}

export function readerMarkdown(r) {
  const f = (x, digits = 3) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
  const n = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');
  return [
    `### Reader: ${r.records.toLocaleString('en-US')} records of ${r.recordBytes} B, ${r.partitions} partitions, read from the beginning (median of ${r.rounds} interleaved rounds)`,
    '',
    '| reader | records/s | CPU-s per 100k records | whole process, CPU-s per 100k | Kafka broker CPU-s per 100k |',
    '|---|---:|---:|---:|---:|',
    `| proxy's reader (src/kafka/reader.ts, @platformatic/kafka fetch) | ${n(r.reader.rate)} | ${f(r.reader.cpuPer100k)} | ${f(r.reader.processCpuPer100k)} | ${f(r.reader.kafkaCpuPer100k)} |`,
    `| kafka-consumer-perf-test (Java client) | ${n(r.perf.rate)} | ${f(r.perf.cpuPer100k)} | ${f(r.perf.processCpuPer100k)} | ${f(r.perf.kafkaCpuPer100k)} |`,
    `| ratio reader / Java | ${f(r.reader.rate / r.perf.rate, 2)}x | ${f(r.reader.cpuPer100k / r.perf.cpuPer100k, 2)}x | | |`,
    '',
    "CPU per 100k: the reader's process from assign() to the last record (records decoded into offset, timestamp, key, value, headers); the Java tool's whole JVM minus the same tool reading one record (start-up, JIT, group join), measured in the same run. records/s: the reader's wall time from assign(); the Java tool's fetch time (its join excluded). The whole-process column counts start-up too.",
    '',
  ].join('\n');
}

async function main() {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') return readerChild(JSON.parse(argv[1]));
  const option = (name, fallback) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
  const port = Number(option('port', 29400));
  let brokers = process.env.KAFKA_BROKERS;
  let kafkaPid;
  const env = { ...process.env, KAFKA_PORT: String(port), KAFKA_CONTROLLER_PORT: String(port + 1), KAFKA_DATA_DIR: `/tmp/mkp-bench-reader-kafka-${port}`, KAFKA_HEAP_OPTS: '-Xms512m -Xmx1g' };
  if (brokers === undefined) {
    execFileSync(KAFKA_DEV, ['stop', '--clean'], { env, stdio: 'ignore' });
    brokers = execFileSync(KAFKA_DEV, ['start'], { env, stdio: ['ignore', 'pipe', 'inherit'] }).toString().trim().split('\n').at(-1);
    kafkaPid = Number(execFileSync(KAFKA_DEV, ['pid'], { env }).toString().trim());
  }
  try {
    const result = await readerBench({ brokers, kafkaPid, records: Number(option('records', 1_000_000)), rounds: Number(option('rounds', 3)) });
    const markdown = readerMarkdown(result);
    const stamp = new Date().toISOString().replace(/:/g, '-').replace(/\..*$/, '');
    const file = path.join(ROOT, 'bench', 'results', `${stamp}-reader`);
    fs.writeFileSync(`${file}.json`, JSON.stringify({ date: new Date().toISOString(), node: process.version, result }, null, 2));
    fs.writeFileSync(`${file}.md`, markdown);
    process.stdout.write(markdown);
  } finally {
    if (kafkaPid !== undefined) execFileSync(KAFKA_DEV, ['stop', '--clean'], { env, stdio: 'ignore' });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
