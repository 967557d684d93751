// Baseline: the same records produced straight to Kafka by one Node process, with the proxy's own
// Kafka client, lanes and settings (linger, batch limits, acks, idempotence) read from the same
// config file. What the proxy adds on top of this is the MQTT side.
// Usage: node bench/direct-producer.mjs '<json options>'; same stdout protocol as loadgen.mjs.
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { loadConfig } from '../dist/src/server/load-config.js';
import { createKafkaSink } from '../dist/src/kafka/producer.js';
import { buildRecord } from '../dist/src/pipeline/record.js';

const opts = {
  mode: 'throughput', // throughput | rate
  config: 'bench.yaml',
  brokers: undefined,
  topic: 'bench.telemetry',
  qos: 1,
  payloadSize: 100,
  devices: 10, // distinct keys / client ids, like the MQTT connections
  outstanding: 1000, // records in flight (throughput mode): connections x window of the MQTT run
  rate: 0,
  warmupMs: 1000,
  durationMs: 5000,
  kafkaClient: undefined, // replaces the config's kafka.client (kafkajs | platformatic)
  ...JSON.parse(process.argv[2] ?? '{}'),
};
const say = (line) => process.stdout.write(`${line}\n`);

const config = loadConfig(opts.config, {
  ...(opts.brokers ? { kafkaBrokers: opts.brokers.split(',') } : {}),
  ...(opts.kafkaClient ? { kafkaClient: opts.kafkaClient } : {}),
});
const sink = createKafkaSink(config.kafka, pino({ level: 'warn' }));
await sink.start();
while (!sink.connected) await new Promise((r) => setTimeout(r, 100));

const delivery = ['qos0', 'qos1', 'qos2'][opts.qos];
const payload = Buffer.alloc(opts.payloadSize, 0x61);
const devices = Array.from({ length: opts.devices }, (_, i) => {
  const clientId = `direct-${i}`;
  return { session: { clientId, username: undefined, protocolVersion: 4, remoteAddress: '127.0.0.1', listener: 'direct' }, topic: `devices/${clientId}/telemetry`, key: clientId };
});

const stats = { sent: 0, acked: 0, errors: 0 };
const latencies = [];
const measure = { start: Infinity, end: Infinity };
let running = true;
let outstanding = 0;
let next = 0;

function produceOne() {
  const device = devices[next++ % devices.length];
  const message = { topic: device.topic, payload, qos: opts.qos, retain: false, will: false, properties: undefined, receivedAt: Date.now() };
  const record = buildRecord(message, device.session, { kind: 'mapped', rule: 'telemetry', kafkaTopic: opts.topic, key: device.key });
  const sentAt = performance.now();
  if (sentAt >= measure.start && sentAt < measure.end) stats.sent++;
  outstanding++;
  sink.produce(record, delivery, (error) => {
    outstanding--;
    const now = performance.now();
    if (error !== null) stats.errors++;
    else if (now >= measure.start && now < measure.end) {
      stats.acked++;
      if (opts.mode === 'rate') latencies.push(now - sentAt);
    }
    if (opts.mode === 'throughput' && running) refill();
  });
}

let refillScheduled = false;
function refill() {
  // Refill from a fresh tick, like socket reads would: never recurse inside a callback batch.
  if (refillScheduled) return;
  refillScheduled = true;
  setImmediate(() => {
    refillScheduled = false;
    while (running && outstanding < opts.outstanding) produceOne();
  });
}

const t0 = performance.now();
measure.start = t0 + opts.warmupMs;
measure.end = measure.start + opts.durationMs;
setTimeout(() => say('MEASURE_START'), opts.warmupMs);
say('READY');
if (opts.mode === 'throughput') refill();
else {
  let sent = 0;
  const tick = setInterval(() => {
    const due = Math.floor((opts.rate * (performance.now() - t0)) / 1000) - sent;
    for (let i = 0; i < due; i++) produceOne();
    sent += Math.max(0, due);
  }, 2);
  setTimeout(() => clearInterval(tick), opts.warmupMs + opts.durationMs);
}
await new Promise((r) => setTimeout(r, opts.warmupMs + opts.durationMs));
say('MEASURE_END');
running = false;
latencies.sort((a, b) => a - b);
const pct = (q) => (latencies.length === 0 ? null : latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]);
const seconds = opts.durationMs / 1000;
say(`RESULT ${JSON.stringify({
  mode: opts.mode,
  qos: opts.qos,
  payloadSize: opts.payloadSize,
  sent: stats.sent,
  acked: stats.acked,
  sentRate: stats.sent / seconds,
  ackedRate: stats.acked / seconds,
  errors: stats.errors,
  latencyMs: opts.mode === 'rate' ? { count: latencies.length, p50: pct(0.5), p99: pct(0.99), p999: pct(0.999), max: latencies.at(-1) ?? null } : undefined,
})}`);
await sink.drain(5000);
await sink.stop();
process.exit(0);
