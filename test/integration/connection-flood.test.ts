// A connection flood from one address: hundreds of connections at once against
// limits.maxConnectionsPerAddress and limits.maxConnections. The connections over the limit are
// closed before their CONNECT is read, the limit is counted and logged at a rate limit, the proxy
// stays up, and a device on another address keeps getting its PUBACKs all along.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import type mqtt from 'mqtt';
import { createTopics, readRecords, uniqueName } from '../helpers/kafka.js';
import { connectOrThrow, counterValue, tryConnect } from '../helpers/mqtt-connect.js';
import { catchAllConfig, startProxy, waitFor, type RunningProxy } from '../helpers/proxy.js';
import { connectPacket } from '../helpers/raw-mqtt.js';

/** Connection attempts per round; several rounds make the flood last while the steady device publishes. */
const FLOOD_SIZE = 600;
const ROUNDS = 3;
const PER_ADDRESS_LIMIT = 50;
const TOTAL_LIMIT = 50;
/** A PUBACK slower than this, while the flood goes on, fails the test. */
const MAX_PUBACK_MS = 3000;

const topic = uniqueName('flood');

const config = (limits: string): string => catchAllConfig(topic, `limits: ${limits}\n`);

interface FloodRound {
  /** Sockets that got a CONNACK and are still open (closed by the caller). */
  readonly accepted: net.Socket[];
  /** Sockets the proxy closed without answering. */
  readonly refused: number;
}

/**
 * Opens `count` TCP connections at once from `localAddress`, each sending an MQTT 3.1.1 CONNECT,
 * and waits until each one is either answered with a CONNACK or closed by the proxy.
 */
async function floodRound(port: number, localAddress: string, count: number, round: number): Promise<FloodRound> {
  const outcomes = await Promise.all(
    Array.from(
      { length: count },
      (_, i) =>
        new Promise<{ socket: net.Socket; accepted: boolean }>((resolve, reject) => {
          const socket = net.createConnection({ port, host: '127.0.0.1', localAddress });
          let answered = false;
          const timer = setTimeout(() => reject(new Error(`flood connection ${round}/${i}: neither answered nor closed in 20 s`)), 20_000);
          socket.on('connect', () => socket.write(connectPacket(`flood-${round}-${i}`)));
          socket.on('data', (data) => {
            if (answered) return;
            answered = true;
            clearTimeout(timer);
            // CONNACK, return code 0.
            if (data[0] === 0x20 && data[3] === 0) resolve({ socket, accepted: true });
            else reject(new Error(`flood connection ${round}/${i}: unexpected answer ${data.toString('hex')}`));
          });
          socket.on('error', () => undefined); // a reset from the proxy; 'close' follows
          socket.on('close', () => {
            clearTimeout(timer);
            if (!answered) resolve({ socket, accepted: false });
          });
        }),
    ),
  );
  return { accepted: outcomes.filter((o) => o.accepted).map((o) => o.socket), refused: outcomes.filter((o) => !o.accepted).length };
}

/** A device that publishes QoS 1 one message at a time, noting when each PUBACK came and how long it took. */
class SteadyDevice {
  readonly ackedAt: number[] = [];
  readonly errors: string[] = [];
  maxLatencyMs = 0;
  sent = 0;
  private running = true;
  private readonly done: Promise<void>;

  constructor(
    private readonly client: mqtt.MqttClient,
    private readonly name: string,
  ) {
    this.done = this.run();
  }

  private async run(): Promise<void> {
    while (this.running) {
      const seq = ++this.sent;
      const started = Date.now();
      try {
        await this.client.publishAsync(`flood/steady/${this.name}`, `${this.name}:${seq}`, { qos: 1 });
        const now = Date.now();
        this.ackedAt.push(now);
        this.maxLatencyMs = Math.max(this.maxLatencyMs, now - started);
      } catch (error) {
        this.errors.push(`${seq}: ${(error as Error).message}`);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  acksBetween(from: number, to: number): number {
    return this.ackedAt.filter((t) => t >= from && t <= to).length;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
    await this.client.endAsync();
  }

  /** Every acknowledged message of this device is in Kafka. */
  async assertAllInKafka(): Promise<void> {
    const records = await readRecords(topic, 100_000, { timeoutMs: 5000, settleMs: 500 });
    const found = new Set(records.map((r) => r.value?.toString()).filter((v) => v?.startsWith(`${this.name}:`)));
    const missing = this.ackedAt.map((_, i) => `${this.name}:${i + 1}`).filter((v) => !found.has(v));
    assert.deepEqual(missing, [], `acknowledged messages of ${this.name} missing from Kafka`);
  }
}

const hits = (p: RunningProxy, limit: string): Promise<number> => counterValue(p.proxy.metrics.limitsHit, { limit });

/** The warn lines of one limit: few (at most one a second), with `notLogged` counting the rest. */
function limitLines(p: RunningProxy, limit: string): Array<Record<string, unknown>> {
  return p.logs.filter((l) => l.limit === limit && l.level === 40);
}

interface FloodOutcome {
  readonly accepted: number;
  readonly refused: number;
  readonly seconds: number;
}

/**
 * Floods `p` from `floodAddress` for ROUNDS rounds, keeping the accepted connections open, while
 * `steady` publishes; checks that the steady device was acknowledged during every round.
 */
async function floodWhileSteady(p: RunningProxy, floodAddress: string, steady: SteadyDevice): Promise<FloodOutcome & { kept: net.Socket[] }> {
  const kept: net.Socket[] = [];
  let refused = 0;
  const started = Date.now();
  for (let round = 1; round <= ROUNDS; round++) {
    const roundStart = Date.now();
    const outcome = await floodRound(p.port, floodAddress, FLOOD_SIZE, round);
    kept.push(...outcome.accepted);
    refused += outcome.refused;
    // The steady device must have had a PUBACK during this round (or within its latency bound of it).
    await waitFor(() => steady.acksBetween(roundStart, Date.now()) > 0, MAX_PUBACK_MS, `a PUBACK for the steady device during flood round ${round}`);
  }
  return { accepted: kept.length, refused, seconds: (Date.now() - started) / 1000, kept };
}

let perAddressProxy: RunningProxy;
let totalProxy: RunningProxy;

before(async () => {
  await createTopics([topic]);
  perAddressProxy = await startProxy(config(`{ maxConnectionsPerAddress: ${PER_ADDRESS_LIMIT} }`), { maxLogs: 20_000 });
  totalProxy = await startProxy(config(`{ maxConnections: ${TOTAL_LIMIT} }`), { maxLogs: 20_000 });
  await waitFor(() => [perAddressProxy, totalProxy].every((p) => p.logs.some((l) => l.msg === 'connected to Kafka')), 20000, 'Kafka connection');
});

after(async () => {
  await Promise.all([perAddressProxy.stop(), totalProxy.stop()]);
});

describe('connection flood from one address', () => {
  test(`${ROUNDS} x ${FLOOD_SIZE} connections against maxConnectionsPerAddress ${PER_ADDRESS_LIMIT}: the excess is closed, others are served`, { timeout: 120_000 }, async () => {
    const p = perAddressProxy;
    const steady = new SteadyDevice(await connectOrThrow({ port: p.port, version: 5, localAddress: '127.0.0.21', clientId: 'steady-per-address' }), 'per-address');
    let kept: net.Socket[] = [];
    try {
      await waitFor(() => steady.ackedAt.length >= 5, 5000, 'the steady device publishing');
      const flood = await floodWhileSteady(p, '127.0.0.20', steady);
      kept = flood.kept;
      const attempts = ROUNDS * FLOOD_SIZE;
      console.log(
        `[flood] per address: ${attempts} attempts in ${flood.seconds.toFixed(1)} s, ${flood.accepted} accepted, ${flood.refused} closed; ` +
          `steady device ${steady.ackedAt.length} acked, slowest PUBACK ${steady.maxLatencyMs} ms; ${limitLines(p, 'max-connections-per-address').length} log lines`,
      );
      assert.equal(flood.accepted, PER_ADDRESS_LIMIT, 'exactly the limit is served');
      assert.equal(flood.refused, attempts - PER_ADDRESS_LIMIT, 'every connection over the limit is closed');
      assert.equal(await hits(p, 'max-connections-per-address'), attempts - PER_ADDRESS_LIMIT);
      assert.equal(await hits(p, 'max-connections'), 0);

      // Logged at a rate limit: at most one line a second, the rest counted in notLogged.
      const lines = limitLines(p, 'max-connections-per-address');
      assert.ok(lines.length >= 1 && lines.length <= Math.ceil(flood.seconds) + 1, `${lines.length} log lines in ${flood.seconds} s`);
      assert.equal(lines[0]!.msg, 'too many connections from one address: closed');
      assert.equal(lines[0]!.remoteAddress, '127.0.0.20');
      const counted = lines.length + lines.reduce((n, l) => n + (typeof l.notLogged === 'number' ? l.notLogged : 0), 0);
      assert.ok(counted <= attempts - PER_ADDRESS_LIMIT && counted >= lines.length, `log lines and notLogged account for ${counted}`);

      // The steady device was never held up, and the proxy still takes new clients from anywhere.
      assert.deepEqual(steady.errors, []);
      assert.ok(steady.maxLatencyMs < MAX_PUBACK_MS, `slowest PUBACK ${steady.maxLatencyMs} ms`);
      const other = await connectOrThrow({ port: p.port, version: 4, localAddress: '127.0.0.22' });
      await other.publishAsync('flood/after', 'after', { qos: 1 });
      await other.endAsync();
      const health = await fetch(`${p.adminUrl}/healthz`);
      assert.equal(health.status, 200);

      // Closing the flood's connections frees the address's places.
      for (const socket of kept) socket.destroy();
      let again: net.Socket | undefined;
      const deadline = Date.now() + 5000;
      while (again === undefined && Date.now() < deadline) {
        const round = await floodRound(p.port, '127.0.0.20', 1, 99);
        again = round.accepted[0];
        if (again === undefined) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.ok(again !== undefined, 'the flooding address may connect again once its connections closed');
      again.destroy();
    } finally {
      for (const socket of kept) socket.destroy();
      await steady.stop();
    }
    await steady.assertAllInKafka();
  });

  test(`${ROUNDS} x ${FLOOD_SIZE} connections against maxConnections ${TOTAL_LIMIT}: the excess is closed, connected devices are served`, { timeout: 120_000 }, async () => {
    const p = totalProxy;
    // Connected before the flood: it holds one of the places.
    const steady = new SteadyDevice(await connectOrThrow({ port: p.port, version: 4, localAddress: '127.0.0.24', clientId: 'steady-total' }), 'total');
    let kept: net.Socket[] = [];
    try {
      await waitFor(() => steady.ackedAt.length >= 5, 5000, 'the steady device publishing');
      const flood = await floodWhileSteady(p, '127.0.0.23', steady);
      kept = flood.kept;
      const attempts = ROUNDS * FLOOD_SIZE;
      console.log(
        `[flood] total: ${attempts} attempts in ${flood.seconds.toFixed(1)} s, ${flood.accepted} accepted, ${flood.refused} closed; ` +
          `steady device ${steady.ackedAt.length} acked, slowest PUBACK ${steady.maxLatencyMs} ms; ${limitLines(p, 'max-connections').length} log lines`,
      );
      assert.equal(flood.accepted, TOTAL_LIMIT - 1, 'the places left beside the steady device are served');
      assert.equal(flood.refused, attempts - (TOTAL_LIMIT - 1));
      assert.equal(await hits(p, 'max-connections'), attempts - (TOTAL_LIMIT - 1));
      assert.equal(await hits(p, 'max-connections-per-address'), 0);
      const lines = limitLines(p, 'max-connections');
      assert.ok(lines.length >= 1 && lines.length <= Math.ceil(flood.seconds) + 1, `${lines.length} log lines in ${flood.seconds} s`);
      assert.equal(lines[0]!.msg, 'too many connections: closed');
      assert.deepEqual(steady.errors, []);
      assert.ok(steady.maxLatencyMs < MAX_PUBACK_MS, `slowest PUBACK ${steady.maxLatencyMs} ms`);

      // Full: a newcomer from another address is refused too, until the flood's connections close.
      const refused = await tryConnect({ port: p.port, version: 5, localAddress: '127.0.0.25' });
      assert.deepEqual([refused.connected, !refused.connected && refused.error], [false, 'closed']);
      for (const socket of kept) socket.destroy();
      kept = [];
      const health = await fetch(`${p.adminUrl}/healthz`);
      assert.equal(health.status, 200);
      let newcomer: mqtt.MqttClient | undefined;
      const deadline = Date.now() + 5000;
      while (newcomer === undefined && Date.now() < deadline) {
        newcomer = await connectOrThrow({ port: p.port, version: 5, localAddress: '127.0.0.25' }).catch(() => undefined);
        if (newcomer === undefined) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.ok(newcomer !== undefined, 'a place is free again once the flood closed');
      await newcomer.publishAsync('flood/after', 'after', { qos: 1 });
      await newcomer.endAsync();
    } finally {
      for (const socket of kept) socket.destroy();
      await steady.stop();
    }
    await steady.assertAllInKafka();
  });
});
