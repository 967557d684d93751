// Persistent sessions when things break: subscribers with persistent QoS 1 and QoS 2 sessions
// receive a stream of commands through HAProxy while the replica most of them are on is SIGKILLed,
// or while Kafka restarts. Every command must reach its device at least once (QoS 1) or exactly
// once (QoS 2), in order per key (one partition per key).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import mqtt from 'mqtt';
import { CommandProducer } from '../helpers/commands.js';
import { faultsKafka, LOAD_SECONDS, sleep } from '../helpers/faults.js';
import { createTopics, uniqueName } from '../helpers/kafka.js';
import { freePort, HaProxy, ProxyProcess } from '../helpers/processes.js';

const kafka = faultsKafka();
const brokers = [kafka.bootstrap];
let proxies: ProxyProcess[] = [];
let haproxy: HaProxy | undefined;
let devices: SessionDevice[] = [];

interface SessionDevice {
  readonly id: string;
  readonly qos: 1 | 2;
  readonly client: mqtt.MqttClient;
  /** Sequence numbers in the order they arrived. */
  readonly got: number[];
  /** CONNACKs received: 1 for the first connection, one more per reconnect. */
  connects: number;
}

const yaml = (commands: string, sessions: string): string => `
mappings:
  - { name: none, match: '^never$', topic: ${commands} }
delivery:
  - { name: commands, kafka: ${commands}, mqttTopic: 'devices/\${key}/commands' }
retained: { enabled: false }
sessions: { topic: ${sessions}, leaseSeconds: 3 }
kafka: { requestTimeoutMs: 5000, connectionTimeoutMs: 1000 }
auth: { anonymous: true }
http: { port: 0 }
`;

async function device(port: number, id: string, qos: 1 | 2, protocolVersion: 4 | 5): Promise<SessionDevice> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
    clientId: id, protocolVersion, clean: false, reconnectPeriod: 300, connectTimeout: 5000,
    ...(protocolVersion === 5 && { properties: { sessionExpiryInterval: 600 } }),
  });
  const d: SessionDevice = { id, qos, client, got: [], connects: 1 };
  client.on('connect', () => d.connects++);
  client.on('error', () => undefined);
  client.on('message', (_topic, payload) => d.got.push(Number(payload.toString().split(':')[1])));
  await client.subscribeAsync(`devices/${id}/commands`, { qos });
  return d;
}

interface Report {
  sent: number;
  delivered: number;
  missing: number;
  duplicates: number;
  outOfOrder: number;
}

/** Per QoS: what each device was sent against what it got, in which order. */
function report(all: readonly SessionDevice[], sent: ReadonlyMap<string, number>, qos: 1 | 2): Report {
  const r: Report = { sent: 0, delivered: 0, missing: 0, duplicates: 0, outOfOrder: 0 };
  for (const d of all.filter((x) => x.qos === qos)) {
    const count = sent.get(d.id) ?? 0;
    const seen = new Set<number>();
    let last = -1;
    for (const n of d.got) {
      if (seen.has(n)) {
        r.duplicates++;
        continue;
      }
      seen.add(n);
      if (n < last) r.outOfOrder++;
      last = n;
    }
    r.sent += count;
    r.delivered += d.got.length;
    for (let n = 0; n < count; n++) if (!seen.has(n)) r.missing++;
  }
  return r;
}

const line = (name: string, qos: 1 | 2, r: Report, extra: string): string =>
  `[faults] ${name} qos${qos}: sent=${r.sent} delivered=${r.delivered} missing=${r.missing} duplicates=${r.duplicates} outOfOrder=${r.outOfOrder} ${extra}`;

/** Commands for every device in `counts`, `perSecond` each, numbered on from its count, until `stop` settles; returns the counts. */
async function stream(producer: CommandProducer, topic: string, counts: Map<string, number>, perSecond: number, stop: Promise<unknown>): Promise<Map<string, number>> {
  let stopped = false;
  void stop.then(() => (stopped = true));
  while (!stopped) {
    const batch = [...counts.keys()].map((id) => {
      const n = counts.get(id)!;
      counts.set(id, n + 1);
      return { key: id, value: `${id}:${n}` };
    });
    await producer.send(topic, batch);
    await sleep(1000 / perSecond);
  }
  return counts;
}

async function allDelivered(all: readonly SessionDevice[], sent: ReadonlyMap<string, number>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (all.every((d) => new Set(d.got).size >= (sent.get(d.id) ?? 0))) return true;
    await sleep(200);
  }
  return false;
}

async function setUp(prefix: string): Promise<{ commands: string; front: number; ports: number[] }> {
  const commands = uniqueName(`${prefix}-commands`);
  const sessions = uniqueName(`${prefix}-sessions`);
  await createTopics([commands], brokers, 4);
  const ports = [await freePort(), await freePort()];
  const front = await freePort();
  for (const port of ports) proxies.push(await ProxyProcess.start({ yaml: yaml(commands, sessions), port, brokers: kafka.bootstrap }));
  haproxy = new HaProxy(front, ports);
  await haproxy.ready();
  await sleep(1500);
  return { commands, front, ports };
}

async function startDevices(front: number, prefix: string): Promise<SessionDevice[]> {
  const made: SessionDevice[] = [];
  for (let i = 0; i < 20; i++) made.push(await device(front, `${prefix}-${i}`, i % 2 === 0 ? 1 : 2, i % 4 < 2 ? 5 : 4));
  return made;
}

async function tearDown(): Promise<void> {
  await Promise.all(devices.map((d) => d.client.endAsync(true).catch(() => undefined)));
  devices = [];
  await haproxy?.stop();
  haproxy = undefined;
  await Promise.all(proxies.map((p) => p.dispose()));
  proxies = [];
}

before(() => kafka.start());
after(tearDown);

test('persistent QoS 1 and QoS 2 subscribers through HAProxy, a replica SIGKILLed mid-stream: QoS 1 at least once, QoS 2 exactly once, in order', { timeout: 300_000 }, async () => {
  const producer = new CommandProducer(brokers);
  try {
    const { commands, front } = await setUp('faults-sessions-kill');
    devices = await startDevices(front, 'sk');
    await sleep(1500); // every session stored
    let stopStream: () => void = () => undefined;
    const streaming = stream(producer, commands, new Map(devices.map((d) => [d.id, 0])), 20, new Promise<void>((resolve) => (stopStream = resolve)));
    await sleep(LOAD_SECONDS * 1000);
    proxies[0]!.kill('SIGKILL');
    await proxies[0]!.exited;
    await sleep(LOAD_SECONDS * 1000);
    stopStream();
    const sent = await streaming;
    const complete = await allDelivered(devices, sent, 60_000);
    const reconnects = devices.reduce((n, d) => n + d.connects - 1, 0);
    for (const qos of [1, 2] as const) console.log(line('sessions replica killed', qos, report(devices, sent, qos), `reconnects=${reconnects} survivorAlive=${proxies[1]!.alive}`));
    assert.ok(proxies[1]!.alive, 'the survivor kept running');
    assert.ok(complete, 'every command reached its device');
    assert.ok(reconnects > 0, 'devices of the killed replica reconnected');
    for (const qos of [1, 2] as const) {
      const r = report(devices, sent, qos);
      assert.equal(r.missing, 0, `QoS ${qos}: nothing skipped`);
      assert.equal(r.outOfOrder, 0, `QoS ${qos}: in order per key`);
    }
    assert.equal(report(devices, sent, 2).duplicates, 0, 'QoS 2: exactly once');
  } finally {
    await producer.close();
    await tearDown();
  }
});

test('persistent QoS 1 and QoS 2 subscribers while Kafka restarts mid-stream: QoS 1 at least once, QoS 2 exactly once, in order', { timeout: 300_000 }, async () => {
  const producer = new CommandProducer(brokers);
  try {
    const { commands, front } = await setUp('faults-sessions-kafka');
    devices = await startDevices(front, 'kr');
    await sleep(1500);
    const counts = await stream(producer, commands, new Map(devices.map((d) => [d.id, 0])), 20, sleep(LOAD_SECONDS * 1000));
    await kafka.stop();
    await sleep(2000);
    await kafka.start();
    // Commands written once Kafka is back continue each device's numbering.
    const more = await stream(producer, commands, counts, 20, sleep(LOAD_SECONDS * 1000));
    const complete = await allDelivered(devices, more, 90_000);
    const reconnects = devices.reduce((n, d) => n + d.connects - 1, 0);
    for (const qos of [1, 2] as const) console.log(line('sessions kafka restarted', qos, report(devices, more, qos), `reconnects=${reconnects}`));
    assert.ok(complete, 'every command reached its device');
    for (const qos of [1, 2] as const) {
      const r = report(devices, more, qos);
      assert.equal(r.missing, 0, `QoS ${qos}: nothing skipped`);
      assert.equal(r.outOfOrder, 0, `QoS ${qos}: in order per key`);
    }
    assert.equal(report(devices, more, 2).duplicates, 0, 'QoS 2: exactly once');
  } finally {
    await producer.close();
    await tearDown();
  }
});
