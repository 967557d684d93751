// Lean MQTT 3.1.1 load generator: raw sockets, packets pre-encoded once per connection, acks parsed
// by hand. One process, many connections. Talks to the harness on stdout:
//   READY          every connection has its CONNACK
//   MEASURE_START  the measured window begins (after warm-up)
//   MEASURE_END    it ends
//   RESULT {json}  the figures
// Usage: node bench/loadgen.mjs '<json options>' (see DEFAULTS).
import net from 'node:net';
import tls from 'node:tls';
import { performance } from 'node:perf_hooks';
import mqttPacket from 'mqtt-packet';

const DEFAULTS = {
  mode: 'throughput', // throughput | rate | idle
  host: '127.0.0.1',
  port: 1883,
  tls: false,
  connections: 10,
  qos: 1,
  payloadSize: 100,
  window: 100, // outstanding QoS 1/2 messages per connection (throughput mode)
  rate: 0, // total messages per second over all connections (rate mode)
  warmupMs: 1000,
  durationMs: 5000,
  clientPrefix: 'bench',
  sourceAddresses: 0, // spread connections over 127.0.0.2 .. 127.0.0.(1+N); 0 = let the kernel pick
  connectConcurrency: 200,
  keepalive: 60,
};

const opts = { ...DEFAULTS, ...JSON.parse(process.argv[2] ?? '{}') };
const say = (line) => process.stdout.write(`${line}\n`);

const PUBACK = 4;
const PUBREC = 5;
const PUBCOMP = 7;
const CONNACK = 2;

function connectPacket(clientId) {
  return mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId, keepalive: opts.keepalive });
}

/** One connection: pre-encoded PUBLISH, packet id patched per message, acks parsed by hand. */
class Connection {
  constructor(index) {
    this.index = index;
    this.clientId = `${opts.clientPrefix}-${index}`;
    const payload = Buffer.alloc(opts.payloadSize, 0x61);
    this.template = mqttPacket.generate({
      cmd: 'publish',
      topic: `devices/${this.clientId}/telemetry`,
      payload,
      qos: opts.qos,
      messageId: opts.qos > 0 ? 1 : undefined,
      retain: false,
      dup: false,
    });
    this.idOffset = this.template.length - payload.length - 2;
    this.nextId = 1;
    this.outstanding = 0;
    this.sent = 0;
    this.sendTimes = opts.mode === 'rate' ? new Float64Array(65536) : null;
    this.pending = Buffer.alloc(0);
    this.ready = false;
  }

  open() {
    return new Promise((resolve, reject) => {
      const localAddress = opts.sourceAddresses > 0 ? `127.0.0.${2 + (this.index % opts.sourceAddresses)}` : undefined;
      const base = { host: opts.host, port: opts.port, ...(localAddress && { localAddress }) };
      const socket = opts.tls ? tls.connect({ ...base, rejectUnauthorized: false }) : net.connect(base);
      this.socket = socket;
      socket.setNoDelay(true);
      socket.once(opts.tls ? 'secureConnect' : 'connect', () => socket.write(connectPacket(this.clientId)));
      socket.on('data', (chunk) => this.onData(chunk));
      socket.on('error', (error) => {
        if (!this.ready) reject(error);
        else stats.errors++;
      });
      socket.on('close', () => {
        if (this.ready) stats.closed++;
      });
      this.onConnack = (code) => {
        if (code === 0) {
          this.ready = true;
          resolve();
        } else reject(new Error(`CONNACK ${code}`));
      };
    });
  }

  onData(chunk) {
    let buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    let pos = 0;
    while (pos + 2 <= buf.length) {
      const type = buf[pos] >> 4;
      // Remaining length (variable length integer).
      let length = 0;
      let multiplier = 1;
      let p = pos + 1;
      let complete = false;
      while (p < buf.length) {
        const byte = buf[p++];
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        if ((byte & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete || p + length > buf.length) break;
      if (type === PUBACK || type === PUBCOMP) this.completed(buf.readUInt16BE(p));
      else if (type === PUBREC) this.socket.write(Buffer.from([0x62, 0x02, buf[p], buf[p + 1]]));
      else if (type === CONNACK) this.onConnack(buf[p + 1]);
      pos = p + length;
    }
    this.pending = pos < buf.length ? buf.subarray(pos) : Buffer.alloc(0);
  }

  completed(id) {
    this.outstanding--;
    const now = performance.now();
    if (now >= measure.start && now < measure.end) {
      stats.acked++;
      if (this.sendTimes !== null) latencies.push(now - this.sendTimes[id]);
    }
    if (opts.mode === 'throughput' && running) this.pump();
  }

  /** Writes `count` PUBLISHes in one buffer. */
  sendMany(count) {
    const tpl = this.template;
    const out = Buffer.allocUnsafe(tpl.length * count);
    const now = this.sendTimes !== null ? performance.now() : 0;
    for (let i = 0; i < count; i++) {
      const at = i * tpl.length;
      tpl.copy(out, at);
      if (opts.qos > 0) {
        const id = this.nextId;
        this.nextId = id === 65535 ? 1 : id + 1;
        out.writeUInt16BE(id, at + this.idOffset);
        if (this.sendTimes !== null) this.sendTimes[id] = now;
      }
    }
    if (opts.qos > 0) this.outstanding += count;
    this.sent += count;
    const t = performance.now();
    if (t >= measure.start && t < measure.end) stats.sent += count;
    return this.socket.write(out);
  }

  pump() {
    if (opts.qos === 0) return this.pumpQoS0();
    const free = opts.window - this.outstanding;
    // Refill in chunks, not one by one: fewer writes, like a device library flushing its queue.
    if (free >= Math.max(1, Math.floor(opts.window / 4))) this.sendMany(free);
  }

  pumpQoS0() {
    if (this.flowing) return;
    this.flowing = true;
    const loop = () => {
      if (!running) return;
      let ok = true;
      for (let i = 0; i < 4 && ok; i++) ok = this.sendMany(32);
      if (ok) setImmediate(loop);
      else this.socket.once('drain', loop);
    };
    loop();
  }
}

const stats = { sent: 0, acked: 0, errors: 0, closed: 0, connectErrors: 0 };
const latencies = [];
const measure = { start: Infinity, end: Infinity };
let running = false;

async function openAll(connections) {
  let next = 0;
  const startedAt = performance.now();
  const worker = async () => {
    while (next < connections.length) {
      const c = connections[next++];
      try {
        await c.open();
      } catch (error) {
        stats.connectErrors++;
        if (stats.connectErrors <= 3) process.stderr.write(`loadgen: connect ${c.clientId}: ${error.message}\n`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.connectConcurrency, connections.length) }, worker));
  return performance.now() - startedAt;
}

function percentile(sorted, q) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function main() {
  const connections = Array.from({ length: opts.connections }, (_, i) => new Connection(i));
  const connectMs = await openAll(connections);
  const open = connections.filter((c) => c.ready);
  say('READY');

  if (opts.mode === 'idle') {
    say(`RESULT ${JSON.stringify({ mode: 'idle', connections: open.length, connectErrors: stats.connectErrors, connectMs, connectRate: open.length / (connectMs / 1000) })}`);
    // Keep them alive (keepalive 60 s) until told to go.
    const ping = Buffer.from([0xc0, 0x00]);
    setInterval(() => {
      for (const c of open) if (!c.socket.destroyed) c.socket.write(ping);
    }, 30_000);
    process.on('SIGTERM', () => process.exit(0));
    return;
  }

  const t0 = performance.now();
  measure.start = t0 + opts.warmupMs;
  measure.end = measure.start + opts.durationMs;
  running = true;
  setTimeout(() => say('MEASURE_START'), opts.warmupMs);

  if (opts.mode === 'throughput') {
    for (const c of open) c.pump();
  } else {
    const perConn = opts.rate / open.length;
    const tick = setInterval(() => {
      const elapsed = (performance.now() - t0) / 1000;
      for (const c of open) {
        const due = Math.floor(perConn * elapsed) - c.sent;
        if (due > 0 && c.outstanding + due < 60000) c.sendMany(due);
      }
    }, 2);
    setTimeout(() => clearInterval(tick), opts.warmupMs + opts.durationMs);
  }

  await new Promise((resolve) => setTimeout(resolve, opts.warmupMs + opts.durationMs));
  say('MEASURE_END');
  running = false;
  const seconds = opts.durationMs / 1000;
  latencies.sort((a, b) => a - b);
  const result = {
    mode: opts.mode,
    connections: open.length,
    connectErrors: stats.connectErrors,
    qos: opts.qos,
    payloadSize: opts.payloadSize,
    sent: stats.sent,
    acked: stats.acked,
    sentRate: stats.sent / seconds,
    ackedRate: stats.acked / seconds,
    errors: stats.errors,
    closed: stats.closed,
    latencyMs: opts.mode === 'rate'
      ? { count: latencies.length, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), p999: percentile(latencies, 0.999), max: latencies.at(-1) ?? null }
      : undefined,
  };
  say(`RESULT ${JSON.stringify(result)}`);
  // Reset, not close: data still queued in the kernel (a QoS 0 flood) is dropped instead of being
  // delivered to the server after the run and leaking into the next one.
  for (const c of connections) {
    if (c.socket && typeof c.socket.resetAndDestroy === 'function' && !opts.tls) c.socket.resetAndDestroy();
    else c.socket?.destroy();
  }
  setTimeout(() => process.exit(0), 100);
}

main().catch((error) => {
  process.stderr.write(`loadgen: ${error.stack}\n`);
  process.exit(1);
});
