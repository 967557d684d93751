import assert from 'node:assert/strict';
import type net from 'node:net';
import { after, before, describe, test } from 'node:test';
import mqtt from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { createTopics, headerText, readRecords, uniqueName } from '../helpers/kafka.js';
import { RawClient, connectPacket, encode } from '../helpers/raw-mqtt.js';
import { startProxy, waitFor, type RunningProxy } from '../helpers/proxy.js';

const telemetryTopic = uniqueName('e2e.telemetry');
const keylessTopic = uniqueName('e2e.keyless');
const orderTopic = uniqueName('e2e.order');
const lateTopic = uniqueName('e2e.late');
const smallTopic = uniqueName('e2e.small');

const config = `
mappings:
  - name: telemetry
    match: '^devices/(?<deviceId>[^/]+)/telemetry$'
    topic: ${telemetryTopic}
    key: '\${deviceId}'
  - name: keyless
    match: '^keyless/(.+)$'
    topic: ${keylessTopic}
    key: null
  - name: by-segment
    match: '^route/([^/]+)$'
    topic: 'e2e.$1'
unmapped: reject
# An ingest-only server: no delivery rules, and retained messages off (so MQTT 5 is told Retain Available 0).
retained: { enabled: false }
auth: { anonymous: true }
http: { port: 0 }
`;

let proxy: RunningProxy;

before(async () => {
  await createTopics([telemetryTopic, keylessTopic, orderTopic]);
  // A topic whose records may be at most 1000 bytes: Kafka refuses larger ones for good.
  await createTopics([smallTopic], undefined, 1, { 'max.message.bytes': '1000' });
  proxy = await startProxy(config);
  await waitFor(() => proxy.logs.some((l) => l.msg === 'connected to Kafka'), 20000, 'Kafka connection');
});

after(async () => {
  await proxy.stop();
});

async function connect(protocolVersion: 4 | 5, clientId: string): Promise<mqtt.MqttClient> {
  return mqtt.connectAsync(proxy.url, { protocolVersion, clientId, reconnectPeriod: 0, connectTimeout: 5000 });
}

describe('publishes land in the mapped Kafka topic', () => {
  test('QoS 0, 1 and 2 over MQTT 3.1.1 and 5: topic, key, value and headers', async () => {
    const sent: Array<{ deviceId: string; qos: 0 | 1 | 2; version: 4 | 5; payload: Buffer; retain: boolean }> = [];
    for (const version of [4, 5] as const) {
      const client = await connect(version, `e2e-v${version}`);
      for (const qos of [0, 1, 2] as const) {
        const deviceId = `dev-v${version}-q${qos}`;
        // Bytes that are not UTF-8 must arrive unchanged.
        const payload = Buffer.from([0x00, 0xff, 0x10, version, qos, 0xc3, 0x28]);
        // MQTT 5 CONNACK says Retain Available 0: a retained PUBLISH is refused there (below).
        const retain = qos === 1 && version === 4;
        await client.publishAsync(`devices/${deviceId}/telemetry`, payload, { qos, retain });
        sent.push({ deviceId, qos, version, payload, retain });
      }
      await client.endAsync();
    }

    const records = await readRecords(telemetryTopic, sent.length);
    assert.equal(records.length, sent.length, 'one record per publish, no more');
    for (const expected of sent) {
      const record = records.find((r) => r.key?.toString() === expected.deviceId);
      assert.ok(record, `record for ${expected.deviceId}`);
      assert.deepEqual(record.value, expected.payload);
      assert.equal(headerText(record.headers, 'mqtt.topic'), `devices/${expected.deviceId}/telemetry`);
      assert.equal(headerText(record.headers, 'mqtt.qos'), String(expected.qos));
      assert.equal(headerText(record.headers, 'mqtt.retain'), String(expected.retain));
      assert.equal(headerText(record.headers, 'mqtt.client_id'), `e2e-v${expected.version}`);
      const age = Date.now() - Number(record.timestamp);
      assert.ok(age >= 0 && age < 60000, `timestamp is the receive time (age ${age} ms)`);
    }
  });

  test('MQTT 5 properties travel as headers', async () => {
    const client = await connect(5, 'e2e-props');
    const correlationData = Buffer.from([1, 2, 3, 0xfe]);
    await client.publishAsync('devices/props-1/telemetry', '{"t":21.5}', {
      qos: 1,
      properties: {
        contentType: 'application/json',
        payloadFormatIndicator: true,
        responseTopic: 'replies/props-1',
        correlationData,
        userProperties: { site: 'plant-7', tag: ['a', 'b'] },
      },
    });
    await client.endAsync();
    const records = (await readRecords(telemetryTopic, 7)).filter((r) => r.key?.toString() === 'props-1');
    assert.equal(records.length, 1);
    const headers = records[0]!.headers;
    assert.equal(headerText(headers, 'mqtt.content_type'), 'application/json');
    assert.equal(headerText(headers, 'mqtt.payload_format_indicator'), '1');
    assert.equal(headerText(headers, 'mqtt.response_topic'), 'replies/props-1');
    assert.deepEqual(headers['mqtt.correlation_data'], correlationData);
    assert.equal(headerText(headers, 'site'), 'plant-7');
    assert.deepEqual(headerText(headers, 'tag'), ['a', 'b']);
    assert.equal(records[0]!.value?.toString(), '{"t":21.5}');
  });

  test('key: null produces records without a key', async () => {
    const client = await connect(4, 'e2e-keyless');
    await client.publishAsync('keyless/anything', 'x', { qos: 1 });
    await client.endAsync();
    const [record] = await readRecords(keylessTopic, 1);
    assert.ok(record);
    assert.equal(record.key, null);
    assert.equal(record.value?.toString(), 'x');
  });
});

describe('the rest of an ingest-only server', () => {
  test("a client's Last Will is produced when it goes away without DISCONNECT", async () => {
    const client = await mqtt.connectAsync(proxy.url, {
      protocolVersion: 5,
      clientId: 'e2e-will',
      reconnectPeriod: 0,
      will: { topic: 'devices/will-1/telemetry', payload: Buffer.from('offline'), qos: 1, retain: false },
    });
    // Kill the socket: no DISCONNECT packet, so the server publishes the will.
    (client as unknown as { stream: net.Socket }).stream.destroy();
    client.end(true);
    const records = (await readRecords(telemetryTopic, 100, { timeoutMs: 3000 })).filter((r) => r.key?.toString() === 'will-1');
    assert.equal(records.length, 1);
    assert.equal(records[0]!.value?.toString(), 'offline');
    assert.equal(headerText(records[0]!.headers, 'mqtt.will'), 'true');
    assert.equal(headerText(records[0]!.headers, 'mqtt.client_id'), 'e2e-will');
  });

  test('SUBSCRIBE is refused (SUBACK 0x80, on MQTT 5 0xA2 for a wildcard filter) and the client stays connected', async () => {
    const v5 = await connect(5, 'e2e-subscribe-v5');
    // MQTT.js reports a SUBACK failure (0x80) as "Unspecified error".
    await assert.rejects(v5.subscribeAsync('devices/x/commands', { qos: 1 }), /Unspecified error/);
    // CONNACK said Wildcard Subscription Available 0: a filter with one is refused for that.
    await assert.rejects(v5.subscribeAsync('devices/#', { qos: 1 }), /Wildcard Subscriptions not supported/);
    await v5.publishAsync('devices/after-subscribe-v5/telemetry', 'still here', { qos: 1 });
    await v5.endAsync();
    const v4 = await connect(4, 'e2e-subscribe-v4');
    // MQTT.js reports a 3.1.1 SUBACK failure (0x80) as "Unspecified error".
    await assert.rejects(v4.subscribeAsync('devices/#', { qos: 1 }), /Unspecified error/);
    await v4.publishAsync('devices/after-subscribe-v4/telemetry', 'still here', { qos: 1 });
    await v4.endAsync();
  });

  test('MQTT 5: a retained PUBLISH after CONNACK said Retain Available 0 gets DISCONNECT 0x9A and is not produced', async () => {
    const client = await connect(5, 'e2e-retain-v5');
    assert.equal((client as unknown as { connackPacket?: { properties?: { retainAvailable?: boolean } } }).connackPacket?.properties?.retainAvailable, false);
    const disconnect = new Promise<number | undefined>((resolve) => client.once('disconnect', (packet) => resolve(packet.reasonCode)));
    client.publish('devices/retained-v5/telemetry', 'kept?', { qos: 1, retain: true });
    assert.equal(await disconnect, 0x9a);
    client.end(true);
    const records = await readRecords(telemetryTopic, 100, { timeoutMs: 2000 });
    assert.equal(records.filter((r) => r.key?.toString() === 'retained-v5').length, 0);
  });

  test('a clean-session-false client gets no session: CONNACK session present is 0', async () => {
    const first = await mqtt.connectAsync(proxy.url, { protocolVersion: 4, clientId: 'e2e-persistent', clean: false, reconnectPeriod: 0 });
    await first.endAsync();
    const second = await mqtt.connectAsync(proxy.url, { protocolVersion: 4, clientId: 'e2e-persistent', clean: false, reconnectPeriod: 0 });
    const connack = (second as unknown as { connackPacket?: { sessionPresent?: boolean } }).connackPacket;
    assert.ok(connack, 'CONNACK recorded');
    assert.equal(connack.sessionPresent, false);
    await second.endAsync();
  });
});

describe('client identifiers', () => {
  test('an empty client id is assigned one (clean session) or refused with 0x02 (3.1.1, clean session 0)', async () => {
    const accepted = await rawClient(4, '');
    const connack = accepted.packets.find((p) => p.cmd === 'connack') as mqttPacket.IConnackPacket;
    assert.equal(connack.returnCode, 0);
    accepted.send(publishPacket('devices/empty-id/telemetry', 1, 1, 'x'));
    await waitFor(() => accepted.packets.some((p) => p.cmd === 'puback'), 10000, 'PUBACK');
    accepted.close();
    const [record] = (await readRecords(telemetryTopic, 100, { timeoutMs: 3000 })).filter((r) => r.key?.toString() === 'empty-id');
    // The engine's assigned client identifiers (ASSIGNED_CLIENT_ID_PREFIX).
    assert.match(String(headerText(record!.headers, 'mqtt.client_id')), /^mkp-[0-9a-f-]{36}$/);

    // mqtt-packet will not even encode this CONNECT: MQTT 3.1.1, clean session 0, empty client id.
    const refused = await rawClient(4, '', Buffer.from('100c00044d5154540400001e0000', 'hex'));
    const refusal = refused.packets.find((p) => p.cmd === 'connack') as mqttPacket.IConnackPacket;
    assert.equal(refusal.returnCode, 2);
    refused.close();
  });
});

describe('what cannot be produced is refused, never lost silently', () => {
  test('unmapped topic: MQTT 5 gets PUBACK 0x90 and stays connected', async () => {
    const client = await connect(5, 'e2e-unmapped-v5');
    await assert.rejects(client.publishAsync('nobody/maps/this', 'x', { qos: 1 }), (error: Error & { code?: number }) => {
      assert.equal(error.code, 0x90);
      return true;
    });
    assert.ok(client.connected, 'still connected after a negative PUBACK');
    await client.publishAsync('devices/after-unmapped/telemetry', 'ok', { qos: 1 });
    await client.endAsync();
    assert.ok(proxy.logs.some((l) => l.reason === 'unmapped' && l.topic === 'nobody/maps/this' && l.clientId === 'e2e-unmapped-v5'));
  });

  test('unmapped topic: MQTT 3.1.1 is disconnected without a PUBACK', async () => {
    const client = await connect(4, 'e2e-unmapped-v4');
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    let acked = false;
    client.publish('nobody/maps/this', 'x', { qos: 1 }, (error) => {
      if (!error) acked = true;
    });
    await closed;
    assert.equal(acked, false);
    client.end(true);
  });

  test('a rendered Kafka topic Kafka would refuse is rejected (0x90), not produced', async () => {
    const client = await connect(5, 'e2e-badtopic');
    await assert.rejects(client.publishAsync('route/has space', 'x', { qos: 1 }), (error: Error & { code?: number }) => error.code === 0x90);
    await client.endAsync();
    assert.ok(proxy.logs.some((l) => l.reason === 'invalid-kafka-topic' && l.rule === 'by-segment'));
  });

  test('a Kafka topic that does not exist: MQTT 5 gets a negative PUBACK (0x83)', async () => {
    const client = await connect(5, 'e2e-missing');
    await assert.rejects(client.publishAsync('route/doesnotexist', 'x', { qos: 1 }), (error: Error & { code?: number }) => error.code === 0x83);
    await client.endAsync();
    assert.ok(proxy.logs.some((l) => l.reason === 'topic-missing' && l.kafkaTopic === 'e2e.doesnotexist'));
  });
});

/** A raw MQTT connection: the exact bytes a device sends, and every packet the server answers. */
async function rawClient(protocolVersion: 4 | 5, clientId: string, connectBytes?: Buffer) {
  const client = await RawClient.connect(proxy.port, protocolVersion);
  client.send(connectBytes ?? connectPacket(clientId, protocolVersion, { keepalive: 30 }));
  await client.waitFor((p) => p.cmd === 'connack', 'CONNACK', 5000);
  return {
    packets: client.packets,
    send: (...list: mqttPacket.Packet[]) => client.send(...list.map((packet) => encode(packet, protocolVersion))),
    close: () => client.destroy(),
  };
}

function publishPacket(topic: string, messageId: number, qos: 1 | 2, payload: string, dup = false): mqttPacket.IPublishPacket {
  return { cmd: 'publish', topic, payload: Buffer.from(payload), qos, dup, retain: false, messageId };
}

describe('hostile bytes reach the proxy, not just its MQTT engine', () => {
  test('a prototype-named client id and a double PUBREL in one segment leave the proxy serving', async () => {
    const proto = await rawClient(5, '__proto__');
    proto.send(publishPacket('devices/proto-id/telemetry', 1, 1, 'p'));
    await waitFor(() => proto.packets.some((p) => p.cmd === 'puback'), 10000, 'PUBACK for __proto__');
    proto.close();

    const doubled = await rawClient(4, 'e2e-double-pubrel');
    doubled.send(publishPacket('devices/double-pubrel/telemetry', 9, 2, 'q'));
    await waitFor(() => doubled.packets.some((p) => p.cmd === 'pubrec'), 10000, 'PUBREC');
    const pubrel = { cmd: 'pubrel', messageId: 9 } as mqttPacket.IPubrelPacket;
    doubled.send(pubrel, pubrel);
    await waitFor(() => doubled.packets.some((p) => p.cmd === 'pubcomp'), 10000, 'PUBCOMP');
    doubled.close();

    // This process hosts the proxy: had either crashed it, the test runner would have died with it.
    const client = await connect(5, 'e2e-after-hostile');
    await client.publishAsync('devices/after-hostile/telemetry', 'fine', { qos: 1 });
    await client.endAsync();
    const keys = (await readRecords(telemetryTopic, 100, { timeoutMs: 3000 })).map((r) => r.key?.toString());
    for (const key of ['proto-id', 'double-pubrel', 'after-hostile']) assert.ok(keys.includes(key), `${key} landed`);
  });
});

describe('a record Kafka refuses does not take others down with it', () => {
  test('too large: MQTT 5 gets 0x83, MQTT 3.1.1 is disconnected, records sharing its request still land', async () => {
    const route = `route/${smallTopic.slice('e2e.'.length)}`;
    const small = await Promise.all([0, 1, 2, 3].map((i) => connect(5, `e2e-small-${i}`)));
    const bigV5 = await connect(5, 'e2e-big-v5');
    const bigV4 = await connect(4, 'e2e-big-v4');
    const v4Closed = new Promise<void>((resolve) => bigV4.once('close', () => resolve()));
    let v4Acked = false;
    const big = Buffer.alloc(4000, 7);
    const [smallResults, bigV5Result] = await Promise.all([
      Promise.allSettled(small.map((client, i) => client.publishAsync(route, `small-${i}`, { qos: 1 }))),
      bigV5.publishAsync(route, big, { qos: 2 }).then(
        () => 'acked',
        (error: Error & { code?: number }) => error.code,
      ),
      bigV4.publish(route, big, { qos: 1 }, (error) => {
        if (!error) v4Acked = true;
      }),
    ]);
    await v4Closed;
    assert.deepEqual(smallResults.map((r) => r.status), ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
    assert.equal(bigV5Result, 0x83);
    assert.equal(v4Acked, false);
    await Promise.all([...small, bigV5].map((c) => c.endAsync()));
    bigV4.end(true);

    const records = await readRecords(smallTopic, 4, { timeoutMs: 5000 });
    assert.deepEqual(records.map((r) => r.value?.toString()).sort(), ['small-0', 'small-1', 'small-2', 'small-3']);
    assert.ok(proxy.logs.some((l) => l.reason === 'record-too-large' && l.clientId === 'e2e-big-v5'));
  });
});

describe('QoS 2 exactly once within a connection', () => {
  test('a DUP retransmission before PUBREL is not produced again', async () => {
    const client = await rawClient(5, 'e2e-qos2-dup');
    // Original and DUP in one segment (the DUP arrives while the original is still on its way to Kafka)...
    client.send(publishPacket('devices/qos2-same-segment/telemetry', 7, 2, 'once'), publishPacket('devices/qos2-same-segment/telemetry', 7, 2, 'once', true));
    await waitFor(() => client.packets.filter((p) => p.cmd === 'pubrec').length === 2, 10000, 'two PUBRECs');
    // ...and a DUP after the PUBREC, before the PUBREL.
    client.send(publishPacket('devices/qos2-after-pubrec/telemetry', 8, 2, 'once'));
    await waitFor(() => client.packets.filter((p) => p.cmd === 'pubrec').length === 3, 10000, 'third PUBREC');
    client.send(publishPacket('devices/qos2-after-pubrec/telemetry', 8, 2, 'once', true));
    await waitFor(() => client.packets.filter((p) => p.cmd === 'pubrec').length === 4, 10000, 'PUBREC for the DUP');
    client.send({ cmd: 'pubrel', messageId: 7 } as mqttPacket.IPubrelPacket, { cmd: 'pubrel', messageId: 8 } as mqttPacket.IPubrelPacket);
    await waitFor(() => client.packets.filter((p) => p.cmd === 'pubcomp').length === 2, 10000, 'PUBCOMPs');
    for (const p of client.packets.filter((p) => p.cmd === 'pubrec')) {
      assert.equal((p as mqttPacket.IPubrecPacket).reasonCode ?? 0, 0);
    }
    client.close();

    const records = await readRecords(telemetryTopic, 100, { timeoutMs: 3000 });
    assert.equal(records.filter((r) => r.key?.toString() === 'qos2-same-segment').length, 1);
    assert.equal(records.filter((r) => r.key?.toString() === 'qos2-after-pubrec').length, 1);
  });
});

describe('batching across connections', () => {
  test('publishes from many connections share produce requests', async () => {
    const connections = 50;
    const perConnection = 20;
    const clients = await Promise.all(Array.from({ length: connections }, (_, i) => connect(i % 2 === 0 ? 5 : 4, `e2e-batch-${i}`)));
    const before = proxy.proxy.kafkaSent;
    await Promise.all(
      clients.map((client, i) =>
        Promise.all(Array.from({ length: perConnection }, (_, n) => client.publishAsync(`devices/batch-${i}/telemetry`, `m${n}`, { qos: 1 }))),
      ),
    );
    const after = proxy.proxy.kafkaSent;
    await Promise.all(clients.map((c) => c.endAsync()));
    const records = after.records - before.records;
    const requests = after.requests - before.requests;
    assert.equal(records, connections * perConnection);
    assert.ok(requests * 10 <= records, `${records} records went out in ${requests} produce requests`);
  });
});

describe('acknowledgements leave in arrival order', () => {
  test('PUBACKs follow PUBLISH order when Kafka completes them out of order', async () => {
    // The first PUBLISH targets a topic the proxy has not seen yet: it waits for a metadata
    // lookup, so the second (a known topic) reaches Kafka and is acknowledged by Kafka first.
    const warm = await connect(5, 'e2e-order-warm');
    await warm.publishAsync(`route/${orderTopic.slice('e2e.'.length)}`, 'warm', { qos: 1 });
    await warm.endAsync();
    // Created after the proxy listed topics; waiting out the listing interval lets it be found.
    await createTopics([lateTopic]);
    await new Promise((resolve) => setTimeout(resolve, 2100));

    const client = await rawClient(4, 'e2e-order');
    const firstLog = proxy.logs.length;
    client.send(
      publishPacket(`route/${lateTopic.slice('e2e.'.length)}`, 1, 1, 'first'),
      publishPacket(`route/${orderTopic.slice('e2e.'.length)}`, 2, 1, 'second'),
    );
    await waitFor(() => client.packets.filter((p) => p.cmd === 'puback').length === 2, 10000, 'two PUBACKs');
    client.close();

    const produced = proxy.logs.slice(firstLog).filter((l) => l.msg === 'publish produced' && l.clientId === 'e2e-order');
    assert.deepEqual(
      produced.map((l) => l.kafkaTopic),
      [orderTopic, lateTopic],
      'Kafka acknowledged the second PUBLISH first (otherwise this test proves nothing)',
    );
    assert.deepEqual(
      client.packets.filter((p) => p.cmd === 'puback').map((p) => (p as mqttPacket.IPubackPacket).messageId),
      [1, 2],
    );
  });
});
