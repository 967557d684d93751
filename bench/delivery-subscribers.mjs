// The receiving side of the delivery bench: many MQTT 3.1.1 subscribers on raw sockets (mode
// `mqtt`), or one Kafka consumer reading the delivery topic (mode `kafka`, the floor). Every
// message's payload starts with the time it was sent (float64, ms on the shared clock
// performance.timeOrigin + performance.now()) and a sequence number (uint32); latency is receive
// time minus that. Talks to the harness over stdio:
//   stdout READY {json}    every subscription answered (SUBACK codes counted)
//   stdin  RESET           forget what was received       -> stdout RESET_DONE
//   stdin  REPORT          -> stdout RESULT {json}: count, latency percentiles, first/last receive,
//                             the latest arrival of each sequence number (fan-out: time to the last subscriber)
// Usage: node bench/delivery-subscribers.mjs '<json options>' (see DEFAULTS).
import net from 'node:net';
import readline from 'node:readline';
import { performance } from 'node:perf_hooks';
import mqttPacket from 'mqtt-packet';

const DEFAULTS = {
  mode: 'mqtt', // mqtt | kafka
  host: '127.0.0.1',
  port: 1883,
  connections: 1000,
  // ${i} is the subscriber's index (plus `first`): each subscribes to its own topic, or all to one.
  topic: 'devices/sub-${i}/commands',
  first: 0,
  qos: 0,
  clientPrefix: 'dsub',
  sourceAddresses: 0,
  connectConcurrency: 200,
  keepalive: 300,
  // mode kafka
  brokers: '127.0.0.1:9092',
  kafkaTopic: 'bench.commands',
};

const opts = { ...DEFAULTS, ...JSON.parse(process.argv[2] ?? '{}') };
const say = (line) => process.stdout.write(`${line}\n`);
const now = () => performance.timeOrigin + performance.now();

let latencies = new Float64Array(1 << 16);
let count = 0;
let firstAt = Number.NaN;
let lastAt = Number.NaN;
let lastBySeq = new Map();

function received(payload) {
  if (payload.length < 12) return;
  const at = now();
  const latency = at - payload.readDoubleLE(0);
  const seq = payload.readUInt32LE(8);
  if (count === latencies.length) {
    const grown = new Float64Array(latencies.length * 2);
    grown.set(latencies);
    latencies = grown;
  }
  latencies[count++] = latency;
  if (Number.isNaN(firstAt)) firstAt = at;
  lastAt = at;
  const seen = lastBySeq.get(seq);
  if (seen === undefined || latency > seen) lastBySeq.set(seq, latency);
}

function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function report() {
  const sorted = latencies.slice(0, count).sort();
  const lastOfEach = [...lastBySeq.values()].sort((a, b) => a - b);
  return {
    count,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: count === 0 ? Number.NaN : sorted[count - 1],
    firstAt,
    lastAt,
    sequences: lastBySeq.size,
    lastSubscriberP50: percentile(lastOfEach, 50),
    lastSubscriberMax: lastOfEach.at(-1) ?? Number.NaN,
  };
}

function reset() {
  count = 0;
  firstAt = Number.NaN;
  lastAt = Number.NaN;
  lastBySeq = new Map();
}

// ------------------------------------------------------------------ MQTT subscribers

const suback = { granted: 0, refused: 0 };

function subscriber(index) {
  return new Promise((resolve) => {
    const n = opts.first + index;
    const socketOptions = { host: opts.host, port: opts.port };
    if (opts.sourceAddresses > 0) socketOptions.localAddress = `127.0.0.${2 + (n % opts.sourceAddresses)}`;
    const socket = net.connect(socketOptions);
    socket.setNoDelay(true);
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    let settled = false;
    const done = (ok) => {
      if (!settled) {
        settled = true;
        resolve(ok);
      }
    };
    parser.on('packet', (packet) => {
      if (packet.cmd === 'connack') {
        if (packet.returnCode !== 0) return done(false);
        const topic = opts.topic.replaceAll('${i}', String(n));
        socket.write(mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: opts.qos }] }));
      } else if (packet.cmd === 'suback') {
        if (packet.granted.every((code) => code < 0x80)) suback.granted++;
        else suback.refused++;
        done(true);
      } else if (packet.cmd === 'publish') {
        received(packet.payload);
        if (packet.qos === 1) socket.write(mqttPacket.generate({ cmd: 'puback', messageId: packet.messageId }));
      }
    });
    parser.on('error', () => socket.destroy());
    socket.on('data', (chunk) => parser.parse(chunk));
    socket.on('error', () => done(false));
    socket.on('close', () => done(false));
    socket.on('connect', () => {
      socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: `${opts.clientPrefix}-${n}`, keepalive: opts.keepalive }));
    });
  });
}

async function mqttSubscribers() {
  let next = 0;
  let failed = 0;
  const worker = async () => {
    while (next < opts.connections) {
      const index = next++;
      if (!(await subscriber(index))) failed++;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Math.min(opts.connectConcurrency, opts.connections) }, worker));
  return { connections: opts.connections, failed, granted: suback.granted, refused: suback.refused, connectMs: performance.now() - t0 };
}

// ------------------------------------------------------------------ the direct Kafka consumer

async function kafkaConsumer() {
  const { Consumer, MessagesStreamModes } = await import('@platformatic/kafka');
  const consumer = new Consumer({ clientId: 'mkp-bench-direct', bootstrapBrokers: opts.brokers.split(','), groupId: `mkp-bench-direct-${Date.now()}-${opts.first}`, autocommit: false, maxWaitTime: 500 });
  const stream = await consumer.consume({ topics: [opts.kafkaTopic], mode: MessagesStreamModes.LATEST, autocommit: false, maxWaitTime: 500 });
  stream.on('data', (message) => received(message.value));
  stream.on('error', (error) => process.stderr.write(`consumer: ${error.message}\n`));
  // The group's partitions are assigned once the stream gives its first fetch: wait for the join.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  return { connections: 1, failed: 0, granted: 1, refused: 0 };
}

const ready = opts.mode === 'kafka' ? await kafkaConsumer() : await mqttSubscribers();
say(`READY ${JSON.stringify(ready)}`);

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'RESET') {
    reset();
    say('RESET_DONE');
  } else if (line === 'REPORT') say(`RESULT ${JSON.stringify(report())}`);
  else if (line === 'EXIT') process.exit(0);
});
process.stdin.on('end', () => process.exit(0));
