// The MQTT engine on its own (hooks written here, no Kafka), over real TCP with MQTT.js clients and
// raw bytes: what the conformance suite cannot reach through the proxy's own hooks.
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import mqtt from 'mqtt';
import type { IConnackPacket, IDisconnectPacket } from 'mqtt-packet';
import { ConformanceClient, connected, encode } from '../helpers/conformance.js';
import { startEngine, until, type EngineUnderTest } from '../helpers/engine.js';
import * as bytes from '../helpers/mqtt-bytes.js';
import { counterValue } from '../helpers/mqtt-connect.js';
import type { MqttSession } from '../../src/mqtt/types.js';

describe('engine.deliver (server -> client) with a subscribed MQTT.js client', () => {
  let under: EngineUnderTest;
  const acknowledged: unknown[] = [];
  before(async () => {
    under = await startEngine({
      hooks: {
        // Grants what was asked: the engine alone, so something can be delivered.
        onSubscribe: (_session, request) => request.subscriptions.map((s) => s.qos),
        onDeliveryAcknowledged: (_session, token) => acknowledged.push(token),
      },
    });
  });
  after(() => under.close());

  const sessionOf = (clientId: string): MqttSession => {
    const session = under.sessions.find((s) => s.clientId === clientId);
    assert.ok(session, `session of ${clientId}`);
    return session;
  };

  for (const version of [4, 5] as const) {
    test(`MQTT ${version === 5 ? '5' : '3.1.1'}: QoS 0, 1 and 2 arrive; PUBACK and PUBCOMP hand each token back once`, async () => {
      const clientId = `deliver-v${version}`;
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${under.port}`, { protocolVersion: version, clientId, reconnectPeriod: 0 });
      try {
        const granted = await client.subscribeAsync('commands/x', { qos: 2 });
        assert.equal(granted[0]?.qos, 2);
        const received: Array<{ payload: string; qos: number }> = [];
        client.on('message', (_topic, payload, packet) => received.push({ payload: payload.toString(), qos: packet.qos }));
        acknowledged.length = 0;
        const session = sessionOf(clientId);
        for (const qos of [0, 1, 2] as const) {
          assert.equal(under.engine.deliver(session, { topic: 'commands/x', payload: Buffer.from(`q${qos}`), qos, retain: false, token: `token-${qos}` }), 'sent');
        }
        await until(() => received.length === 3 && acknowledged.length === 2, 'three messages and two acknowledgements');
        assert.deepEqual(received, [{ payload: 'q0', qos: 0 }, { payload: 'q1', qos: 1 }, { payload: 'q2', qos: 2 }]);
        assert.deepEqual(acknowledged, ['token-1', 'token-2']);
      } finally {
        await client.endAsync();
      }
      assert.equal(under.engine.deliver(sessionOf(clientId), { topic: 'commands/x', payload: Buffer.from('late'), qos: 1, retain: false }), 'gone');
    });
  }

  test("the client's Receive Maximum is the window: the rest waits and follows each PUBACK, in order", async () => {
    const clientId = 'deliver-window';
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${under.port}`, { protocolVersion: 5, clientId, reconnectPeriod: 0, properties: { receiveMaximum: 2 } });
    try {
      await client.subscribeAsync('window/x', { qos: 1 });
      const received: string[] = [];
      client.on('message', (_topic, payload) => received.push(payload.toString()));
      acknowledged.length = 0;
      const outcomes = Array.from({ length: 6 }, (_, i) =>
        under.engine.deliver(sessionOf(clientId), { topic: 'window/x', payload: Buffer.from(String(i)), qos: 1, retain: false, token: i }),
      );
      assert.deepEqual(outcomes, ['sent', 'sent', 'queued', 'queued', 'queued', 'queued']);
      await until(() => acknowledged.length === 6, 'six acknowledgements');
      assert.deepEqual(received, ['0', '1', '2', '3', '4', '5']);
      assert.deepEqual(acknowledged, [0, 1, 2, 3, 4, 5]);
    } finally {
      await client.endAsync();
    }
  });

  test('socket backpressure: once the stream takes no more, offers wait in the window until it drains', async () => {
    const socket = net.connect({ port: under.port, host: '127.0.0.1' });
    await once(socket, 'connect');
    socket.write(encode({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, clientId: 'deliver-stalled' }, 4));
    await once(socket, 'data');
    socket.pause(); // never read: the kernel's buffers fill, then the proxy's stream
    const session = sessionOf('deliver-stalled');
    const payload = Buffer.alloc(65536, 0x61);
    let offered = 0;
    let firstQueued = -1;
    while (firstQueued === -1 && offered < 2000) {
      const outcome = under.engine.deliver(session, { topic: 'bulk', payload, qos: 0, retain: false });
      if (outcome === 'queued') firstQueued = offered;
      offered++;
      if (offered % 16 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    assert.ok(firstQueued > 0, `the window queued once the socket was full (${offered} offered)`);
    for (let i = 0; i < 10; i++) assert.equal(under.engine.deliver(session, { topic: 'bulk', payload, qos: 0, retain: false }), 'queued');
    offered += 10;
    let receivedBytes = 0;
    socket.on('data', (chunk: Buffer) => (receivedBytes += chunk.length));
    socket.resume();
    // At least every payload's bytes (each PUBLISH adds its header and topic).
    await until(() => receivedBytes >= offered * payload.length, 'every message once the client reads again', 20000);
    socket.destroy();
  });
});

describe('CONNECT refusals the hooks decide', () => {
  let under: EngineUnderTest;
  before(async () => {
    under = await startEngine({ hooks: { authenticate: () => ({ accepted: false, code: 'server-busy', reason: 'too many logins being checked' }) } });
  });
  after(() => under.close());

  test("'server-busy': CONNACK 0x89 (MQTT 5) / 3 server unavailable (3.1.1), counted, no reason string to the client", async () => {
    for (const version of [4, 5] as const) {
      const client = await ConformanceClient.open(under.port, version);
      client.send(encode({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clean: true, keepalive: 0, clientId: `busy-${version}` }, version));
      const connack = (await client.waitFor('connack')) as IConnackPacket;
      assert.equal(version === 5 ? connack.reasonCode : connack.returnCode, version === 5 ? 0x89 : 3);
      assert.equal(connack.properties?.reasonString, undefined, 'why credentials were refused is for the log only');
      assert.ok(await client.waitClosed(), 'closed after the refusal');
    }
    assert.equal(await counterValue(under.metrics.connects, { outcome: 'refused', reason: 'server-busy' }), 2);
  });
});

describe('inbound flow control', () => {
  let under: EngineUnderTest;
  before(async () => {
    under = await startEngine({ holdReplies: true, options: { receiveMaximum: 2, maxQoS2Pending: 3 } });
  });
  after(() => under.close());

  test('MQTT-3.3.4-9 v5: a QoS 1 PUBLISH beyond the Receive Maximum CONNACK stated gets DISCONNECT 0x93; 3.1.1 QoS 1 is not bounded by it', async () => {
    const { client, connack } = await connected(under.port, 5, 'rm-v5');
    assert.equal(connack.properties?.receiveMaximum, 2);
    client.send(...[1, 2, 3].map((id) => bytes.publish({ topic: 'rm/v5', qos: 1, packetId: id }, 5)));
    const disconnect = (await client.waitFor('disconnect')) as IDisconnectPacket;
    assert.equal(disconnect.reasonCode, 0x93);
    assert.equal(under.published.filter((p) => p.message.topic === 'rm/v5').length, 2, 'the third was not handed on');
    const v4 = (await connected(under.port, 4, 'rm-v4')).client;
    v4.send(...[1, 2, 3, 4, 5].map((id) => bytes.publish({ topic: 'rm/v4', qos: 1, packetId: id }, 4)));
    await until(() => under.published.filter((p) => p.message.topic === 'rm/v4').length === 5, 'five QoS 1 from 3.1.1');
    for (const p of under.published.filter((p) => p.message.topic === 'rm/v4')) p.reply.accept();
    await v4.waitForCount((p) => p.cmd === 'puback', 5, 'five PUBACKs, in order');
    assert.deepEqual(v4.of('puback').map((p) => p.messageId), [1, 2, 3, 4, 5]);
    v4.destroy();
  });

  test('QoS 2 messages awaiting PUBREL are bounded over all connections: over maxQoS2Pending DISCONNECT 0x97, freed when a connection ends', async () => {
    const a = (await connected(under.port, 5, 'q2-a')).client;
    a.send(bytes.publish({ topic: 'q2/a', qos: 2, packetId: 1 }, 5), bytes.publish({ topic: 'q2/a', qos: 2, packetId: 2 }, 5));
    await until(() => under.published.filter((p) => p.message.topic === 'q2/a').length === 2, 'two QoS 2 from a');
    const b = (await connected(under.port, 5, 'q2-b')).client;
    b.send(bytes.publish({ topic: 'q2/b', qos: 2, packetId: 1 }, 5), bytes.publish({ topic: 'q2/b', qos: 2, packetId: 2 }, 5));
    const disconnect = (await b.waitFor('disconnect')) as IDisconnectPacket;
    assert.equal(disconnect.reasonCode, 0x97);
    assert.equal(under.published.filter((p) => p.message.topic === 'q2/b').length, 1);
    a.destroy();
    await b.waitClosed();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const c = (await connected(under.port, 5, 'q2-c')).client;
    c.send(bytes.publish({ topic: 'q2/c', qos: 2, packetId: 1 }, 5), bytes.publish({ topic: 'q2/c', qos: 2, packetId: 2 }, 5));
    await until(() => under.published.filter((p) => p.message.topic === 'q2/c').length === 2, 'the bound is free again');
    assert.ok(await c.answersPing());
    c.destroy();
  });

  test('MQTT-4.3.3-10 v5: a retransmission while the first is undecided is not handed on; both get PUBREC, and an early PUBREL its PUBCOMP after them', async () => {
    const { client } = await connected(under.port, 5, 'q2-dup');
    client.send(
      bytes.publish({ topic: 'q2/dup', qos: 2, packetId: 7 }, 5),
      bytes.publish({ topic: 'q2/dup', qos: 2, packetId: 7, dup: true }, 5),
      bytes.ack(0x62, 7),
    );
    await until(() => under.published.some((p) => p.message.topic === 'q2/dup'), 'the first handed on');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const handed = under.published.filter((p) => p.message.topic === 'q2/dup');
    assert.equal(handed.length, 1);
    assert.equal(client.packets.length, 1, 'nothing answered before the hooks decided (only CONNACK)');
    handed[0]!.reply.accept();
    await client.waitFor('pubcomp');
    assert.deepEqual(client.packets.slice(1).map((p) => p.cmd), ['pubrec', 'pubrec', 'pubcomp']);
    client.destroy();
  });
});

describe('reading paused by the hooks (pauseReading / resumeReading)', () => {
  let under: EngineUnderTest;
  before(async () => {
    under = await startEngine();
  });
  after(() => under.close());

  test('nothing more is handed on while paused, the keep alive does not run out meanwhile, and what waited comes after resumeReading', async () => {
    const { client } = await connected(under.port, 5, 'paused', { keepalive: 1 });
    const session = under.sessions.find((s) => s.clientId === 'paused')!;
    under.engine.pauseReading(session);
    client.send(bytes.publish({ topic: 'paused/x', qos: 1, packetId: 1 }, 5));
    // Three keep-alive periods of 1 s: 1.5 s of silence would have closed it.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    assert.equal(client.closed, false, 'still connected while the server does not read');
    assert.equal(under.published.filter((p) => p.message.topic === 'paused/x').length, 0);
    under.engine.resumeReading(session);
    await client.waitFor('puback');
    // Now silent for good: DISCONNECT 0x8D within about 1.5 s.
    const started = Date.now();
    const disconnect = (await client.waitFor('disconnect', 'DISCONNECT', 4000)) as IDisconnectPacket;
    assert.equal(disconnect.reasonCode, 0x8d);
    assert.ok(Date.now() - started < 2600, `closed ${Date.now() - started} ms after the last packet`);
    // Counted when the connection is gone: the server closes it a moment after its DISCONNECT.
    assert.ok(await client.waitClosed(3000), 'closed by the server');
    let counted = 0;
    for (let i = 0; i < 100 && counted === 0; i++) {
      counted = await counterValue(under.metrics.disconnects, { reason: 'keep-alive-timeout' });
      if (counted === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(counted, 1, 'disconnects_total{reason="keep-alive-timeout"}');
  });
});

describe('hooks that throw', () => {
  let under: EngineUnderTest;
  before(async () => {
    under = await startEngine({
      hooks: {
        onConnect: () => {
          throw new Error('onConnect broke');
        },
        onPublish: (_session, message) => {
          if (message.topic === 'boom') throw new Error('onPublish broke');
        },
      },
    });
  });
  after(() => under.close());

  test('are logged; a throwing onPublish sends its client away (0x83), other clients are served', async () => {
    const { client } = await connected(under.port, 5, 'thrower');
    client.send(bytes.publish({ topic: 'boom', qos: 1, packetId: 1 }, 5));
    const disconnect = (await client.waitFor('disconnect')) as IDisconnectPacket;
    assert.equal(disconnect.reasonCode, 0x83);
    const other = (await connected(under.port, 4, 'bystander')).client;
    assert.ok(await other.answersPing());
    other.destroy();
    assert.ok(under.logs.some((l) => l.msg === 'MQTT hook failed' && l.hook === 'onConnect'));
    assert.ok(under.logs.some((l) => l.msg === 'onPublish failed: disconnecting the client'));
  });
});

describe('publishes handed on', () => {
  let under: EngineUnderTest;
  before(async () => {
    under = await startEngine();
  });
  after(() => under.close());

  test('an MQTT 5 topic alias is resolved before the hooks see the PUBLISH; properties travel, the alias does not', async () => {
    const { client, connack } = await connected(under.port, 5, 'alias');
    assert.ok((connack.properties?.topicAliasMaximum ?? 0) >= 1);
    const alias = bytes.properties(bytes.prop.u16(bytes.Property.topicAlias, 1));
    client.send(bytes.publish({ topic: 'alias/long/topic', qos: 1, packetId: 1, properties: alias, payload: 'one' }, 5), bytes.publish({ topic: '', qos: 1, packetId: 2, properties: alias, payload: 'two' }, 5));
    await client.waitForCount((p) => p.cmd === 'puback', 2, 'two PUBACKs');
    const handed = under.published.filter((p) => p.session.clientId === 'alias');
    assert.deepEqual(handed.map((p) => [p.message.topic, p.message.payload.toString()]), [['alias/long/topic', 'one'], ['alias/long/topic', 'two']]);
    client.destroy();
  });

  test('the will goes to the hooks with will=true when the connection drops, with its MQTT 5 properties', async () => {
    const will = { topic: 'wills/dev', payload: Buffer.from('gone'), qos: 1 as const, retain: false, properties: { contentType: 'text/plain', userProperties: { a: 'b' } } };
    const { client } = await connected(under.port, 5, 'willing', { will });
    client.destroy();
    await until(() => under.published.some((p) => p.message.will), 'the will');
    const { message } = under.published.find((p) => p.message.will)!;
    assert.deepEqual([message.topic, message.payload.toString(), message.qos, message.properties?.contentType, { ...message.properties?.userProperties }], ['wills/dev', 'gone', 1, 'text/plain', { a: 'b' }]);
  });

  test('receivedAt is when the bytes arrived', async () => {
    const { client } = await connected(under.port, 4, 'clock');
    const sent = Date.now();
    client.send(bytes.publish({ topic: 'clock', qos: 1, packetId: 1 }, 4));
    await client.waitFor('puback');
    const { message } = under.published.find((p) => p.message.topic === 'clock')!;
    assert.ok(message.receivedAt >= sent - 5 && message.receivedAt <= Date.now(), `${message.receivedAt - sent} ms`);
    client.destroy();
  });
});

describe('PUBCOMP waits for onQoS2Released', () => {
  let under: EngineUnderTest;
  const released: Array<{ packetId: number; done: () => void; fail: () => void }> = [];
  before(async () => {
    under = await startEngine({
      hooks: {
        onQoS2Released: (_session, packetId) =>
          new Promise<void>((resolve, reject) => released.push({ packetId, done: resolve, fail: () => reject(new Error('not stored')) })),
      },
    });
  });
  after(() => under.close());

  for (const version of [4, 5] as const) {
    test(`MQTT-4.3.3-11 v${version}: PUBCOMP leaves once the hook's promise resolves, for a known packet id and an unknown one; a rejection closes without PUBCOMP`, async () => {
      released.length = 0;
      const { client } = await connected(under.port, version, `pubcomp-hold-${version}`);
      client.send(bytes.publish({ topic: 'hold/q2', qos: 2, packetId: 5 }, version));
      await client.waitFor('pubrec');
      client.send(bytes.ack(0x62, 5), bytes.ack(0x62, 9));
      await until(() => released.length === 2, 'the hook asked for both PUBRELs');
      assert.deepEqual(released.map((r) => r.packetId), [5, 9]);
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(client.of('pubcomp').length, 0, 'no PUBCOMP before the session is stored');
      released[0]!.done();
      released[1]!.done();
      await client.waitForCount((p) => p.cmd === 'pubcomp', 2, 'both PUBCOMPs');
      assert.deepEqual(client.of('pubcomp').map((p) => p.messageId), [5, 9]);
      if (version === 5) assert.deepEqual(client.of('pubcomp').map((p) => (p as { reasonCode?: number }).reasonCode ?? 0), [0, 0x92]);
      client.send(bytes.ack(0x62, 11));
      await until(() => released.length === 3, 'the third PUBREL asked');
      released[2]!.fail();
      assert.ok(await client.waitClosed(), 'closed when the release could not be stored');
      assert.equal(client.of('pubcomp').length, 2, 'no PUBCOMP for the PUBREL whose release was not stored');
    });
  }
});
