// One MQTT 5 client floods the proxy with 65,536 QoS 2 PUBLISHes (every packet id, then the first
// again) pipelined, never sends a PUBREL, and is killed (socket destroyed). The proxy, a process of
// its own, must go on serving: new clients get their CONNACK within a second, all along, and its
// CPU comes back to idle instead of working through the dead client's backlog.
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import { ConformanceClient, clientIdFor, connectPacket, reasonCodeOf, type Version } from '../helpers/conformance.js';
import { createTopics, uniqueName } from '../helpers/kafka.js';
import * as bytes from '../helpers/mqtt-bytes.js';
import { startProxyProcess, type ProxyProcess } from '../helpers/proxy-process.js';

const FLOOD = 65_536;
const CONNACK_WITHIN_MS = 1000;
/** After the kill, some 2 s window within this long must see the proxy's CPU under IDLE_CPU. */
const IDLE_WITHIN_MS = 15_000;
const IDLE_CPU = 0.1;

const kafkaTopic = uniqueName('qos2-flood');
let proxy: ProxyProcess;

before(async () => {
  await createTopics([kafkaTopic]);
  proxy = await startProxyProcess(`
mappings: [{ name: all, match: '^', topic: ${kafkaTopic} }]
auth: { anonymous: true }
`);
});
after(() => proxy?.stop());

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Milliseconds from opening a connection to its CONNACK; fails after 5 s. */
async function connackLatency(label: string): Promise<number> {
  const started = performance.now();
  const client = await ConformanceClient.open(proxy.port, 5);
  try {
    client.send(connectPacket(clientIdFor(label), 5));
    const connack = await client.waitFor('connack', `CONNACK for ${label}`, 5000);
    assert.equal(reasonCodeOf(connack), 0);
    return performance.now() - started;
  } finally {
    client.destroy();
  }
}

// MQTT 5 as the issue found it; 3.1.1 too, which has no Receive Maximum to refuse the flood with.
for (const version of [5, 4] as const) test(`an MQTT ${version === 5 ? '5' : '3.1.1'} client sending ${FLOOD} QoS 2 PUBLISHes without PUBREL, then killed, does not stall the proxy`, { timeout: 120_000 }, () => flood(version));

async function flood(version: Version): Promise<void> {
  assert.ok((await connackLatency('before')) < CONNACK_WITHIN_MS, 'CONNACK before the flood');

  const flooder = net.connect({ port: proxy.port, host: '127.0.0.1' });
  flooder.on('error', () => undefined);
  await once(flooder, 'connect');
  flooder.write(connectPacket(clientIdFor('flooder'), version));
  await once(flooder, 'data'); // the CONNACK
  let answered = 0;
  let closedByProxy = false;
  flooder.on('data', (data: Buffer) => (answered += data.length));
  flooder.on('close', () => (closedByProxy = true));
  const publishes = Array.from({ length: FLOOD }, (_, i) => bytes.publish({ topic: `flood/${i % 100}`, qos: 2, packetId: (i % 65535) + 1, payload: 'payload' }, version));
  // Pipelined: everything at once, in big writes, no PUBREL ever.
  const chunk = 4096;
  let flushed = false;
  for (let i = 0; i < publishes.length; i += chunk) {
    const last = i + chunk >= publishes.length;
    flooder.write(Buffer.concat(publishes.slice(i, i + chunk)), last ? () => (flushed = true) : undefined);
  }
  // Let the proxy take what it will: until everything is written and its answers stopped coming
  // for a second (it may push back, or refuse the flood), at most 60 s. Then kill the client.
  const deadline = Date.now() + 60_000;
  for (let seen = -1; Date.now() < deadline && !flooder.destroyed && !(flushed && seen === answered); ) {
    seen = answered;
    await sleep(1000);
  }
  console.log(`flood: ${flushed ? 'all written' : 'not all written'}, ${answered} bytes of answers${closedByProxy ? ', closed by the proxy' : ''}`);
  const refused = closedByProxy;
  const cpuAtKill = proxy.cpuMs();
  flooder.destroy();
  const killedAt = Date.now();
  assert.ok(proxy.isAlive(), proxy.deathReport());
  assert.ok(answered > 0 || refused, 'the proxy answered the flood (PUBRECs, a DISCONNECT) or closed the connection');

  // New clients are served at once, and all along the next seconds.
  const latencies: number[] = [];
  for (const at of [0, 250, 500, 1000, 2000, 3000]) {
    const wait = killedAt + at - Date.now();
    if (wait > 0) await sleep(wait);
    latencies.push(Math.round(await connackLatency(`after${at}`)));
  }
  assert.ok(
    latencies.every((ms) => ms < CONNACK_WITHIN_MS),
    `CONNACK latencies after the kill (ms, at 0, 0.25, 0.5, 1, 2, 3 s): ${latencies.join(', ')}; each must be under ${CONNACK_WITHIN_MS}`,
  );

  // The proxy's CPU comes back to idle: it does not go on working for a client that is gone.
  const windows: number[] = [];
  for (let previous = proxy.cpuMs(); Date.now() - killedAt < IDLE_WITHIN_MS; ) {
    await sleep(2000);
    const now = proxy.cpuMs();
    windows.push((now - previous) / 2000);
    previous = now;
    if (windows.at(-1)! < IDLE_CPU) break;
  }
  assert.ok(
    windows.at(-1)! < IDLE_CPU,
    `CPU of the proxy in 2 s windows after the kill: ${windows.map((w) => `${Math.round(w * 100)}%`).join(', ')} (${Math.round(proxy.cpuMs() - cpuAtKill)} ms in all); ` +
      `it must fall under ${IDLE_CPU * 100}% within ${IDLE_WITHIN_MS / 1000} s`,
  );
  assert.ok(proxy.isAlive(), proxy.deathReport());
}
