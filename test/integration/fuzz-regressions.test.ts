// Raw-bytes regression tests for crashes the fuzz harness (test/fuzz) found, each replayed against
// an in-process proxy writing to Kafka: the process must not see an uncaught exception, the
// attacker gets the documented answer, and a well-behaved client still gets its PUBACK.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import mqtt from 'mqtt';
import type { IDisconnectPacket } from 'mqtt-packet';
import { createTopics, readRecords, uniqueName } from '../helpers/kafka.js';
import { startProxy, waitFor, type RunningProxy } from '../helpers/proxy.js';
import { rawConnect, RawClient } from '../helpers/raw-mqtt.js';

const topic = uniqueName('fuzz-regressions');
let proxy: RunningProxy;
const uncaught: unknown[] = [];
const record = (error: unknown): void => {
  uncaught.push(error);
};

before(async () => {
  process.on('uncaughtException', record);
  process.on('unhandledRejection', record);
  await createTopics([topic]);
  proxy = await startProxy(`
mappings: [{ name: all, match: '^', topic: ${topic} }]
auth: { anonymous: true }
http: { port: 0 }
`);
  await waitFor(() => proxy.proxy.kafka.connected, 20000, 'Kafka connection');
});

after(async () => {
  await proxy?.stop();
  process.off('uncaughtException', record);
  process.off('unhandledRejection', record);
});

/** An MQTT 5 QoS 1 PUBLISH on fuzz/a, id 1, with these raw property bytes. */
function publishWithProperties(properties: number[]): Buffer {
  const body = Buffer.concat([Buffer.from([0, 6]), Buffer.from('fuzz/a'), Buffer.from([0, 1, properties.length]), Buffer.from(properties), Buffer.from('payload')]);
  return Buffer.concat([Buffer.from([0x32, body.length]), body]);
}

async function assertOthersStillServed(id: string): Promise<void> {
  const client = await mqtt.connectAsync(proxy.url, { protocolVersion: 5, clientId: `regression-good-${id}`, reconnectPeriod: 0 });
  await client.publishAsync(`good/${id}`, id, { qos: 1 });
  await client.endAsync();
  assert.deepEqual(uncaught, [], 'no uncaught exception or unhandled rejection');
}

/** The attacker's connection is closed with nothing acknowledged, and the parser's complaint is logged. */
async function assertRefusedAsMalformed(attacker: RawClient, clientId: string, problem: RegExp): Promise<void> {
  assert.ok(await attacker.waitClosed(), 'the connection is closed');
  assert.equal(attacker.received('puback').length, 0, 'nothing acknowledged');
  const disconnect = attacker.received('disconnect')[0] as IDisconnectPacket | undefined;
  if (disconnect !== undefined) assert.equal(disconnect.reasonCode, 0x81, 'malformed packet');
  await waitFor(() => proxy.logs.some((l) => l.clientId === clientId && problem.test(String(l.err ?? l.problem))), 2000, 'the log line');
}

test('a user property whose name runs past the property block: refused as malformed, no crash (fuzz seed 1940580930, connection 9809)', async () => {
  const attacker = await rawConnect(proxy.port, 'regression-user-property', 5);
  // User property (0x26) whose name claims 5 bytes where 1 is left: the parser read into the
  // payload and handed over the value as null, which crashed the record builder.
  attacker.send(publishWithProperties([0x26, 0x00, 0x05, 0x61]));
  await assertRefusedAsMalformed(attacker, 'regression-user-property', /Malformed property userProperties|user property/);
  await assertOthersStillServed('user-property');
  const records = await readRecords(topic, 1, { settleMs: 300 });
  assert.deepEqual(records.map((r) => r.value?.toString()), ['user-property'], 'only the good record reached Kafka');
});

test('a Response Topic whose length runs past the packet: refused as malformed, no crash (fuzz seed 3669009538)', async () => {
  const attacker = await rawConnect(proxy.port, 'regression-response-topic', 5);
  // Response Topic (0x08) claiming 9 bytes at the very end of the packet: the parser handed it
  // over as null, and the old engine's wildcard check on it threw.
  const body = Buffer.concat([Buffer.from([0, 6]), Buffer.from('fuzz/r'), Buffer.from([0, 1, 3, 0x08, 0x00, 0x09])]);
  attacker.send(Buffer.concat([Buffer.from([0x32, body.length]), body]));
  await assertRefusedAsMalformed(attacker, 'regression-response-topic', /Malformed property responseTopic/);
  await assertOthersStillServed('response-topic');
});

test('a repeated Content Type (allowed once): refused as malformed, no crash', async () => {
  const attacker = await rawConnect(proxy.port, 'regression-duplicate', 5);
  attacker.send(publishWithProperties([0x03, 0x00, 0x01, 0x61, 0x03, 0x00, 0x01, 0x62]));
  await assertRefusedAsMalformed(attacker, 'regression-duplicate', /Duplicate property contentType/);
  await assertOthersStillServed('duplicate');
});

test('a CONNECT whose will carries a malformed user property: the will is not produced, no crash', async () => {
  const attacker = await rawConnect(proxy.port, 'regression-will', 5);
  attacker.destroy();
  // The same property bytes in a will, sent by a client that then vanishes.
  const willProps = [0x26, 0x00, 0x05, 0x61];
  const clientId = Buffer.from('regression-will-2');
  const body = Buffer.concat([
    Buffer.from([0, 4]), Buffer.from('MQTT'), Buffer.from([5, 0x06, 0, 0]), Buffer.from([0]),
    Buffer.from([0, clientId.length]), clientId,
    Buffer.from([willProps.length]), Buffer.from(willProps),
    Buffer.from([0, 6]), Buffer.from('fuzz/w'), Buffer.from([0, 4]), Buffer.from('will'),
  ]);
  const vanishing = await RawClient.connect(proxy.port, 5);
  vanishing.send(Buffer.concat([Buffer.from([0x10, body.length]), body]));
  await vanishing.waitFor((p) => p.cmd === 'connack' || p.cmd === 'disconnect', 'an answer to CONNECT').catch(() => undefined);
  vanishing.destroy();
  await new Promise((resolve) => setTimeout(resolve, 500));
  await assertOthersStillServed('will');
});
