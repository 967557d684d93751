// Fuzzing the MQTT listener of an in-process proxy writing to a real Kafka.
//
// Many short connections at once each write a script of packets (see cases.ts): well-formed ones,
// mutated ones and crafted attacks, in both protocol versions. Meanwhile a well-behaved MQTT.js
// client publishes QoS 1 and must keep getting PUBACKs, with its records in Kafka. The process
// must never see an uncaught exception or unhandled rejection, and its heap must come back to
// its baseline once the connections are gone.
//
// FUZZ_CASES (default 100000) sets how many packets to write, FUZZ_SEED the seed (default: random,
// printed), FUZZ_CONNECTIONS=i,j,... replays only those connections of the seed's run.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { setFlagsFromString, writeHeapSnapshot } from 'node:v8';
import { runInNewContext } from 'node:vm';
import mqtt from 'mqtt';
import { createTopics, readRecords, uniqueName } from '../helpers/kafka.js';
import { startProxy, waitFor, type RunningProxy } from '../helpers/proxy.js';
import { buildScript, caseClasses, type Script } from './cases.js';

const TARGET_CASES = Number(process.env.FUZZ_CASES ?? '100000');
const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
const ONLY = process.env.FUZZ_CONNECTIONS?.split(',').map(Number);
const CONCURRENCY = Number(process.env.FUZZ_CONCURRENCY ?? '64');
/** How much the heap may stay above its baseline after the run and a full GC. */
const HEAP_SLACK_BYTES = 24 * 1024 * 1024;

const gc: () => void = (() => {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed !== undefined) return exposed;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

const fuzzTopic = uniqueName('fuzz');
const goodTopic = uniqueName('fuzz-good');
let proxy: RunningProxy;
const crashes: Array<{ kind: string; error: unknown; open: number[] }> = [];
/** Connections with bytes written and not closed yet: the suspects when something crashes. */
const open = new Set<number>();
const onCrash = (kind: string) => (error: unknown) => {
  crashes.push({ kind, error, open: [...open].sort((a, b) => a - b) });
};
const onException = onCrash('uncaughtException');
const onRejection = onCrash('unhandledRejection');

before(async () => {
  console.log(`fuzz seed ${SEED} (replay: FUZZ_SEED=${SEED} FUZZ_CASES=${TARGET_CASES} npm run fuzz)`);
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  await createTopics([fuzzTopic, goodTopic]);
  proxy = await startProxy(
    `
mappings:
  - name: good
    match: '^good/'
    topic: ${goodTopic}
  - name: everything-else
    match: '^'
    topic: ${fuzzTopic}
auth: { anonymous: true }
http: { port: 0 }
limits: { maxPacketSize: 65536, connectTimeoutSeconds: 2 }
kafka: { requestTimeoutMs: 10000 }
`,
    { logLevel: 'warn', maxLogs: 200 },
  );
  await waitFor(() => proxy.proxy.kafka.connected, 20000, 'Kafka connection');
});

after(async () => {
  await proxy?.stop();
  process.off('uncaughtException', onException);
  process.off('unhandledRejection', onRejection);
});

interface Outcome {
  readonly closedByServer: boolean;
  readonly bytesBack: number;
  readonly timedOut: boolean;
}

/** Writes one script and waits for the connection to close (server side first, or after our FIN). */
function runConnection(port: number, index: number, script: Script = buildScript(SEED, index)): Promise<{ cases: number; labels: readonly string[]; outcome: Outcome }> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
    let bytesBack = 0;
    let ended = false;
    let timedOut = false;
    open.add(index);
    socket.on('data', (data: Buffer) => {
      bytesBack += data.length;
    });
    socket.on('error', () => undefined);
    socket.on('end', () => {
      if (!ended) ended = true;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      socket.destroy();
    }, 5000);
    socket.once('close', () => {
      clearTimeout(timer);
      open.delete(index);
      resolve({ cases: script.cases, labels: script.labels, outcome: { closedByServer: ended, bytesBack, timedOut } });
    });
    socket.once('connect', () => {
      let i = 0;
      const writeNext = (): void => {
        if (socket.destroyed) return;
        if (i < script.chunks.length) {
          socket.write(script.chunks[i++]!, () => setImmediate(writeNext));
        } else {
          socket.end();
        }
      };
      if (script.hello === undefined) {
        writeNext();
        return;
      }
      // CONNECT alone first; the rest once the proxy answered (CONNACK) or after 1 s of silence.
      let continued = false;
      const carryOn = (): void => {
        if (continued) return;
        continued = true;
        clearTimeout(silence);
        writeNext();
      };
      const silence = setTimeout(carryOn, 1000);
      socket.once('data', carryOn);
      socket.once('close', () => clearTimeout(silence));
      socket.write(script.hello);
    });
  });
}

interface GoodClientReport {
  readonly sent: number;
  readonly acked: number;
  readonly maxLatencyMs: number;
  readonly errors: string[];
}

/** A well-behaved device: QoS 1, one message at a time, until told to stop. */
function runGoodClient(url: string, stop: () => boolean): Promise<GoodClientReport> {
  return (async () => {
    const client = await mqtt.connectAsync(url, { protocolVersion: 5, clientId: uniqueName('good'), reconnectPeriod: 0, keepalive: 30 });
    let sent = 0;
    let acked = 0;
    let maxLatencyMs = 0;
    const errors: string[] = [];
    client.on('error', (error) => errors.push(error.message));
    client.on('disconnect', (packet) => errors.push(`DISCONNECT ${packet.reasonCode}`));
    while (!stop()) {
      const started = Date.now();
      sent++;
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          client.publishAsync(`good/${sent}`, String(sent), { qos: 1 }),
          new Promise((_resolve, reject) => {
            timer = setTimeout(() => reject(new Error(`no PUBACK for ${sent} within 5 s`)), 5000);
          }),
        ]);
        clearTimeout(timer);
        acked++;
        maxLatencyMs = Math.max(maxLatencyMs, Date.now() - started);
      } catch (error) {
        clearTimeout(timer);
        errors.push((error as Error).message);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await client.endAsync();
    return { sent, acked, maxLatencyMs, errors };
  })();
}

function settle(): void {
  for (let i = 0; i < 4; i++) gc();
}

test(`fuzz: ${TARGET_CASES} hostile and valid packets over many connections`, { timeout: 20 * 60 * 1000 }, async () => {
  const port = proxy.port;

  // Warm-up, so the baseline includes what the first connections allocate once (JIT, pools).
  for (let i = 0; i < 200; i += CONCURRENCY) {
    await Promise.all(Array.from({ length: CONCURRENCY }, (_, j) => runConnection(port, 10_000_000 + i + j)));
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
  settle();
  const baseline = process.memoryUsage();
  // FUZZ_HEAP_SNAPSHOTS=DIR: heap snapshots before and after, to find what a growing heap holds.
  const snapshots = process.env.FUZZ_HEAP_SNAPSHOTS;
  if (snapshots !== undefined) writeHeapSnapshot(`${snapshots}/fuzz-before.heapsnapshot`);

  let fuzzing = true;
  const good = runGoodClient(proxy.url, () => !fuzzing);

  const started = Date.now();
  let cases = 0;
  let connections = 0;
  let next = 0;
  const byLabel = new Map<string, number>();
  let closedByServer = 0;
  let timedOut = 0;
  let answered = 0;
  const take = (): { index: number; script: Script } | undefined => {
    const index = ONLY !== undefined ? ONLY[next++] : cases < TARGET_CASES ? next++ : undefined;
    if (index === undefined) return undefined;
    const script = buildScript(SEED, index);
    cases += script.cases; // counted in index order, so a seed always means the same run
    return { index, script };
  };
  const worker = async (): Promise<void> => {
    for (let item = take(); item !== undefined; item = take()) {
      const result = await runConnection(port, item.index, item.script);
      connections++;
      for (const label of result.labels) byLabel.set(label, (byLabel.get(label) ?? 0) + 1);
      if (result.outcome.closedByServer) closedByServer++;
      if (result.outcome.timedOut) timedOut++;
      if (result.outcome.bytesBack > 0) answered++;
      if (crashes.length > 0) return;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const fuzzSeconds = (Date.now() - started) / 1000;
  fuzzing = false;
  const goodReport = await good;

  console.log(
    `fuzz: seed ${SEED}: ${cases} cases over ${connections} connections in ${fuzzSeconds.toFixed(1)} s ` +
      `(${Math.round(cases / fuzzSeconds)} cases/s); ${answered} connections got an answer, ${closedByServer} were closed by the proxy, ${timedOut} timed out`,
  );
  const top = [...byLabel].sort((a, b) => b[1] - a[1]);
  console.log(`fuzz: case kinds (${top.length}): ${top.map(([label, n]) => `${label}=${n}`).join(' ')}`);
  console.log(`fuzz: proxy log lines by message: ${[...proxy.logCounts].map(([m, n]) => `${JSON.stringify(m)}=${n}`).join(' ')}`);
  console.log(`fuzz: well-behaved client: ${goodReport.sent} sent, ${goodReport.acked} acked, slowest PUBACK ${goodReport.maxLatencyMs} ms`);

  if (crashes.length > 0) {
    const first = crashes[0]!;
    const suspects = first.open.slice(0, 50).join(',');
    assert.fail(
      `${first.kind} during fuzzing: ${(first.error as Error)?.stack ?? String(first.error)}\n` +
        `replay with: FUZZ_SEED=${SEED} FUZZ_CONNECTIONS=${suspects} npm run fuzz`,
    );
  }

  // The run was as large as asked and every kind of case was in it (a replay of some connections is
  // not). Below 10,000 cases a rare class (about 1 case in 200) may be absent by chance alone.
  if (ONLY === undefined) {
    assert.ok(cases >= TARGET_CASES, `${cases} cases written, ${TARGET_CASES} asked for (seed ${SEED})`);
  }
  if (ONLY === undefined && TARGET_CASES >= 10_000) {
    const labels = new Set(byLabel.keys());
    const absent = caseClasses().filter((c) => !c.seen(labels)).map((c) => c.name);
    assert.deepEqual(absent, [], `case classes that never occurred (seed ${SEED})`);
  }

  // The proxy still works for the device that behaves.
  assert.deepEqual(goodReport.errors, [], `the well-behaved client had trouble (seed ${SEED})`);
  assert.equal(goodReport.acked, goodReport.sent);
  assert.ok(goodReport.acked >= 10, `the well-behaved client published throughout (${goodReport.acked} acked)`);
  const records = await readRecords(goodTopic, goodReport.acked, { timeoutMs: 30000, settleMs: 200 });
  const inKafka = new Set(records.map((r) => r.value?.toString()));
  const missing = Array.from({ length: goodReport.acked }, (_, i) => String(i + 1)).filter((seq) => !inKafka.has(seq));
  assert.deepEqual(missing, [], 'every acknowledged message of the well-behaved client is in Kafka');
  console.log(`fuzz: well-behaved client: ${inKafka.size} of ${goodReport.acked} acknowledged messages found in Kafka`);
  assert.equal(timedOut, 0, 'every fuzz connection was closed within 5 s of its last byte');

  // Memory comes back: nothing of the closed connections is kept.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  settle();
  const end = process.memoryUsage();
  if (snapshots !== undefined) writeHeapSnapshot(`${snapshots}/fuzz-after.heapsnapshot`);
  const mb = (n: number): string => `${(n / 1048576).toFixed(1)} MiB`;
  console.log(
    `fuzz: heap used ${mb(baseline.heapUsed)} before, ${mb(end.heapUsed)} after (+${mb(end.heapUsed - baseline.heapUsed)}); ` +
      `RSS ${mb(baseline.rss)} before, ${mb(end.rss)} after`,
  );
  assert.ok(
    end.heapUsed - baseline.heapUsed < HEAP_SLACK_BYTES,
    `heap grew by ${mb(end.heapUsed - baseline.heapUsed)} over its baseline after ${connections} connections (seed ${SEED})`,
  );
});
