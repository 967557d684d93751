// Regression tests for the security fixes carried in patches/aedes+2.0.0-beta.1.patch
// (backports of aedes 1.1.3 / 1.2.0) and for the proxy's reason-code change.
//
// Each test spawns test/fixtures/aedes-server.mjs as a child process, attacks it
// with raw bytes (each burst written in one segment), then checks that
//   (a) the child is still alive,
//   (b) a well-behaved MQTT.js client (v5 and v3.1.1) can still connect and get
//       a PUBACK for a QoS 1 publish, and
//   (c) the attacker got the expected answer (reason code or disconnect).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import mqtt from 'mqtt'
import type { IDisconnectPacket, IPublishPacket, ISubackPacket } from 'mqtt-packet'
import {
  type BrokerProcess,
  type Packet,
  type ProtocolVersion,
  RawClient,
  encode,
  connectPacket,
  publishPacket,
  pubrelPacket,
  rawConnect,
  sleep,
  startBroker
} from '../helpers/raw-mqtt.js'

const RECEIVE_MAXIMUM_EXCEEDED = 0x93
const TOPIC_NAME_INVALID = 0x90
const NOT_AUTHORIZED = 0x87
const RECEIVE_MAXIMUM = 100 // the fixture's receiveMaximum
// a failing test must fail, not hang (MQTT.js leaves a publish pending forever
// when the broker drops the connection)
const TEST_TIMEOUT = { timeout: 15000 }

type TestContext = { after (fn: () => unknown): void }

async function spawnBroker (t: TestContext, args: string[] = []): Promise<BrokerProcess> {
  const broker = await startBroker(args)
  t.after(() => broker.stop())
  return broker
}

function crashMessage (broker: BrokerProcess, code: number | null, signal: string | null): string {
  return `broker process died (code ${code}, signal ${signal}):\n${broker.stderr()}`
}

/**
 * Runs `promise`, but fails with the child's stderr if the broker dies first
 * (or dies right after `promise` failed, e.g. because the crash closed the socket).
 */
async function orCrash<T> (broker: BrokerProcess, promise: Promise<T>): Promise<T> {
  const crashed = (exit: { code: number | null, signal: string | null }): never => {
    throw new Error(crashMessage(broker, exit.code, exit.signal))
  }
  try {
    return await Promise.race([promise, broker.exited.then(crashed)])
  } catch (err) {
    const exit = await Promise.race([broker.exited, sleep(300).then(() => undefined)])
    if (exit) crashed(exit)
    throw err
  }
}

/** Rejects if `promise` does not settle within `ms`. */
async function within<T> (ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** (a) the child did not exit (gives a crash a moment to happen first). */
async function assertAlive (broker: BrokerProcess): Promise<void> {
  await sleep(200)
  assert.ok(broker.isAlive(), crashMessage(broker, broker.child.exitCode, broker.child.signalCode))
}

/** (b) a well-behaved MQTT.js client can connect and gets a PUBACK for QoS 1. */
async function assertHealthy (broker: BrokerProcess, protocolVersion: ProtocolVersion): Promise<void> {
  const client = await orCrash(broker, mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, {
    protocolVersion,
    clientId: `healthy-v${protocolVersion}-${process.hrtime.bigint()}`,
    reconnectPeriod: 0,
    connectTimeout: 2000
  }))
  try {
    const pubacks: Packet[] = []
    client.on('packetreceive', (packet) => { if (packet.cmd === 'puback') pubacks.push(packet) })
    await orCrash(broker, within(2000, `v${protocolVersion} QoS 1 publish`, client.publishAsync('healthy/ping', 'ok', { qos: 1 })))
    assert.equal(pubacks.length, 1, `v${protocolVersion} client gets a PUBACK`)
    assert.equal((pubacks[0] as { reasonCode?: number }).reasonCode ?? 0, 0, 'PUBACK is a success')
  } finally {
    await client.endAsync(true)
  }
}

async function assertAliveAndHealthy (broker: BrokerProcess): Promise<void> {
  await assertAlive(broker)
  await assertHealthy(broker, 5)
  await assertHealthy(broker, 4)
  assert.ok(broker.isAlive(), 'broker still alive after the health checks')
}

const isCmd = (cmd: Packet['cmd'], messageId?: number) => (p: Packet): boolean =>
  p.cmd === cmd && (messageId === undefined || (p as { messageId?: number }).messageId === messageId)

// aedes 1.1.3: the PUBREL handler's `.finally()` re-threw the rejection of the
// second incomingDelPacket as an unhandled rejection, which kills Node.
test('double PUBREL for one packet id in one segment does not crash the broker (aedes 1.1.3)', TEST_TIMEOUT, async (t) => {
  const broker = await spawnBroker(t)
  for (const version of [4, 5] as const) {
    const attacker = await rawConnect(broker.port, `double-pubrel-v${version}`, version)
    t.after(() => attacker.destroy())
    attacker.send(publishPacket('pubrel/race', 2, 42, version))
    await orCrash(broker, attacker.waitFor(isCmd('pubrec', 42), 'PUBREC 42'))

    attacker.send(pubrelPacket(42, version), pubrelPacket(42, version))

    // (c) both PUBRELs are answered with a PUBCOMP [MQTT-4.3.3-11]
    const pubcomps = await orCrash(broker, attacker.waitForCount(isCmd('pubcomp', 42), 2, 'two PUBCOMPs for 42'))
    assert.equal(pubcomps.length, 2)
    await assertAlive(broker)
  }
  await assertAliveAndHealthy(broker)
})

// GHSA-52qw-whmv-87c5: wire strings used as keys of plain objects
// (broker.clients, client.subscriptions, the SUBSCRIBE dedupe map,
// client.duplicates) hit Object.prototype members.
test('prototype-named client ids and topics neither crash nor misroute (GHSA-52qw-whmv-87c5)', TEST_TIMEOUT, async (t) => {
  const broker = await spawnBroker(t)
  const names = ['__proto__', 'constructor', 'hasOwnProperty', 'toString']

  for (const [i, name] of names.entries()) {
    const version: ProtocolVersion = i % 2 === 0 ? 4 : 5
    const other = names[(i + 1) % names.length]!
    // CONNECT with a prototype-named client id (registerClient looked it up in broker.clients)
    const attacker = await orCrash(broker, rawConnect(broker.port, name, version))
    t.after(() => attacker.destroy())

    // SUBSCRIBE to a prototype-named topic at QoS 1, alone and in a
    // multi-topic SUBSCRIBE (the dedupe map), then PUBLISH to it at QoS 1
    attacker.send(encode({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: name, qos: 1 }] }, version))
    const suback = await orCrash(broker, attacker.waitFor(isCmd('suback', 1), `SUBACK for ${name}`)) as ISubackPacket
    assert.deepEqual(suback.granted, [1], `SUBACK grants QoS 1 on "${name}"`)

    attacker.send(encode({
      cmd: 'subscribe',
      messageId: 2,
      subscriptions: [{ topic: other, qos: 1 }, { topic: 'plain/topic', qos: 0 }]
    }, version))
    const suback2 = await orCrash(broker, attacker.waitFor(isCmd('suback', 2), `SUBACK for ${other} + plain`)) as ISubackPacket
    assert.deepEqual(suback2.granted, [1, 0], `SUBACK grants both subscriptions of [${other}, plain/topic]`)

    attacker.send(publishPacket(name, 1, 3, version, 'hello'))
    await orCrash(broker, attacker.waitFor(isCmd('puback', 3), `PUBACK for the publish to ${name}`))
    const delivered = await orCrash(broker, attacker.waitFor((p) => p.cmd === 'publish' && p.topic === name, `delivery on ${name}`)) as IPublishPacket
    assert.equal(delivered.qos, 1, `delivery on "${name}" keeps the subscription QoS 1`)

    // UNSUBSCRIBE a prototype-named topic this client never subscribed to
    attacker.send(encode({ cmd: 'unsubscribe', messageId: 4, unsubscriptions: [names[(i + 2) % names.length]!] }, version))
    await orCrash(broker, attacker.waitFor(isCmd('unsuback', 4), 'UNSUBACK'))

    // a second CONNECT with the same prototype-named id takes the session over
    const successor = await orCrash(broker, rawConnect(broker.port, name, version))
    t.after(() => successor.destroy())
    assert.ok(await attacker.waitClosed(), `the first "${name}" connection is closed by the takeover`)
    successor.send(encode({ cmd: 'pingreq' }, version))
    await orCrash(broker, successor.waitFor(isCmd('pingresp'), 'PINGRESP'))
    successor.destroy()
  }
  await assertAliveAndHealthy(broker)
})

// GHSA-xxqp-5qx8-gj5q: qlobber throws synchronously past 100 topic levels; every
// path that hands a wire topic to mqemitter/persistence must refuse it first.
test('deeply nested topics on every path are refused without crashing (GHSA-xxqp-5qx8-gj5q)', TEST_TIMEOUT, async (t) => {
  const broker = await spawnBroker(t)
  const deep = 'a/'.repeat(5000) + 'b' // 5001 levels
  const deepFilter = '+/'.repeat(5000) + '#'

  const attacks: Array<{ name: string, version: ProtocolVersion, connect?: object, packets: Buffer[] }> = [
    { name: 'PUBLISH QoS 1', version: 4, packets: [publishPacket(deep, 1, 1, 4)] },
    { name: 'PUBLISH QoS 0 retained', version: 4, packets: [encode({ cmd: 'publish', topic: deep, payload: 'r', qos: 0, retain: true, dup: false })] },
    { name: 'PUBLISH QoS 2 v5', version: 5, packets: [publishPacket(deep, 2, 1, 5)] },
    {
      name: 'PUBLISH v5 registering a topic alias, then using it',
      version: 5,
      packets: [
        encode({ cmd: 'publish', topic: deep, payload: 'x', qos: 0, retain: false, dup: false, properties: { topicAlias: 1 } }, 5),
        encode({ cmd: 'publish', topic: '', payload: 'x', qos: 1, messageId: 2, retain: false, dup: false, properties: { topicAlias: 1 } }, 5)
      ]
    },
    { name: 'SUBSCRIBE', version: 4, packets: [encode({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: deep, qos: 1 }] })] },
    { name: 'SUBSCRIBE wildcard filter v5', version: 5, packets: [encode({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: deepFilter, qos: 0 }] }, 5)] },
    { name: 'UNSUBSCRIBE', version: 4, packets: [encode({ cmd: 'unsubscribe', messageId: 1, unsubscriptions: [deep] })] }
  ]

  for (const attack of attacks) {
    const attacker = await orCrash(broker, rawConnect(broker.port, `deep-${attack.name}`, attack.version))
    t.after(() => attacker.destroy())
    attacker.send(...attack.packets)
    // (c) refused: never a positive ack, and the connection is closed (or, for v5, a negative ack)
    const closed = await orCrash(broker, attacker.waitClosed())
    await assertAlive(broker)
    const acks = attacker.packets.filter((p) => ['puback', 'pubrec', 'suback', 'unsuback'].includes(p.cmd))
    const refused = (p: Packet): boolean => p.cmd === 'suback'
      ? ((p as ISubackPacket).granted as number[]).every((g) => g >= 0x80)
      : ((p as { reasonCode?: number }).reasonCode ?? 0) >= 0x80
    assert.ok((closed || acks.length > 0) && acks.every(refused),
      `${attack.name}: refused (closed=${closed}, acks=${JSON.stringify(acks)})`)
    if (!closed) attacker.destroy()
  }

  // will topic in CONNECT: stored at CONNECT, published when the socket drops
  for (const version of [4, 5] as const) {
    const attacker = await RawClient.connect(broker.port, version)
    t.after(() => attacker.destroy())
    attacker.send(connectPacket(`deep-will-v${version}`, version, {
      will: { topic: deep, payload: Buffer.from('bye'), qos: 1, retain: true }
    }))
    await orCrash(broker, attacker.waitFor((p) => p.cmd === 'connack' || p.cmd === 'disconnect', 'CONNACK')).catch(() => {})
    attacker.destroy() // ungraceful close: the broker publishes the will
    await assertAlive(broker)
  }

  // a retained-message lookup after all that still works: subscribe with a
  // wildcard and get the retained message of a normal topic
  const subscriber = await rawConnect(broker.port, 'deep-retained-check', 4)
  t.after(() => subscriber.destroy())
  subscriber.send(
    encode({ cmd: 'publish', topic: 'retained/ok', payload: 'kept', qos: 1, messageId: 1, retain: true, dup: false }),
    encode({ cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: '#', qos: 0 }] })
  )
  await orCrash(broker, subscriber.waitFor((p) => p.cmd === 'publish' && p.topic === 'retained/ok', 'retained message'))
  subscriber.destroy()

  await assertAliveAndHealthy(broker)
})

/** Sends `count` QoS 2 PUBLISHes (ids first..first+count-1) in one segment and never a PUBREL. */
function qos2Flood (first: number, count: number, version: ProtocolVersion): Buffer[] {
  return Array.from({ length: count }, (_, i) => publishPacket(`flood/${first + i}`, 2, first + i, version, 'payload'))
}

// GHSA-p8r9-qf8w-p73r / GHSA-5jvp-3p2v-5qgf: inbound QoS 2 PUBLISHes awaiting
// PUBREL were stored without bound and survived a clean-session reconnect.
test('inbound QoS 2 awaiting PUBREL is bounded by Receive Maximum and dropped with a clean session (GHSA-5jvp-3p2v-5qgf, GHSA-p8r9-qf8w-p73r)', TEST_TIMEOUT, async (t) => {
  const broker = await spawnBroker(t)

  // v5: over the bound => DISCONNECT 0x93 Receive Maximum exceeded. The flood
  // follows the CONNACK at once, as an attacker's would (a few rounds: packets
  // handled before aedes marks the client connected used to lose the DISCONNECT)
  for (let round = 0; round < 5; round++) {
    const v5 = await rawConnect(broker.port, `flood-v5-${round}`, 5)
    t.after(() => v5.destroy())
    v5.send(...qos2Flood(1, RECEIVE_MAXIMUM + 50, 5))
    const disconnect = await orCrash(broker, v5.waitFor(isCmd('disconnect'), 'DISCONNECT 0x93', 3000)) as IDisconnectPacket
    assert.equal(disconnect.reasonCode, RECEIVE_MAXIMUM_EXCEEDED)
    assert.ok(await v5.waitClosed(), 'v5 flooder is disconnected')
    assert.ok(v5.received('pubrec').length <= RECEIVE_MAXIMUM, `at most ${RECEIVE_MAXIMUM} PUBRECs, got ${v5.received('pubrec').length}`)
  }

  // v3.1.1: over the bound => the connection is closed
  const v4 = await rawConnect(broker.port, 'flood-v4', 4)
  t.after(() => v4.destroy())
  v4.send(...qos2Flood(1, RECEIVE_MAXIMUM + 50, 4))
  assert.ok(await orCrash(broker, v4.waitClosed(3000)), `v3.1.1 flooder is disconnected (got ${v4.received('pubrec').length} PUBRECs)`)
  assert.ok(v4.received('pubrec').length <= RECEIVE_MAXIMUM, `at most ${RECEIVE_MAXIMUM} PUBRECs, got ${v4.received('pubrec').length}`)

  // a persistent session cannot reset the bound by reconnecting
  const persistent = await rawConnect(broker.port, 'flood-persistent', 4, { clean: false })
  persistent.send(...qos2Flood(1, 60, 4))
  await orCrash(broker, persistent.waitForCount(isCmd('pubrec'), 60, '60 PUBRECs'))
  persistent.destroy()
  await persistent.closed
  await sleep(100)
  const resumed = await rawConnect(broker.port, 'flood-persistent', 4, { clean: false })
  t.after(() => resumed.destroy())
  resumed.send(...qos2Flood(61, 60, 4))
  assert.ok(await orCrash(broker, resumed.waitClosed(3000)), `resumed persistent session is disconnected over the bound (got ${resumed.received('pubrec').length} more PUBRECs)`)

  // the QoS 2 state is dropped with the session: packet id 1 is fresh again
  // after a clean reconnect, so a new QoS 2 PUBLISH with that id is delivered
  // rather than taken for a duplicate [MQTT-3.1.2-6]. 'flood-v4' ended a clean
  // session; 'flood-persistent' left a persistent one and now connects with
  // Clean Start.
  const subscriber = await rawConnect(broker.port, 'flood-subscriber', 4)
  t.after(() => subscriber.destroy())
  subscriber.send(encode({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'fresh/#', qos: 0 }] }))
  await orCrash(broker, subscriber.waitFor(isCmd('suback', 1), 'SUBACK'))
  for (const clientId of ['flood-v4', 'flood-persistent']) {
    const topic = `fresh/${clientId}`
    const again = await rawConnect(broker.port, clientId, 4, { clean: true })
    t.after(() => again.destroy())
    again.send(publishPacket(topic, 2, 1, 4, 'new'))
    await orCrash(broker, again.waitFor(isCmd('pubrec', 1), `PUBREC 1 for ${clientId}`))
    await orCrash(broker, subscriber.waitFor((p) => p.cmd === 'publish' && p.topic === topic,
      `delivery of ${clientId}'s reused packet id 1 after a clean reconnect`))
    again.send(pubrelPacket(1, 4))
    await orCrash(broker, again.waitFor(isCmd('pubcomp', 1), 'PUBCOMP 1'))
    again.destroy()
  }

  await assertAliveAndHealthy(broker)

  // PUBREL frees the slot: a well-behaved v5 client can send more QoS 2
  // messages over one connection than the bound
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { protocolVersion: 5, clientId: 'qos2-sequential', reconnectPeriod: 0, connectTimeout: 2000 })
  try {
    for (let i = 0; i < RECEIVE_MAXIMUM + 20; i++) {
      await orCrash(broker, within(2000, `sequential QoS 2 publish #${i + 1}`, client.publishAsync('sequential/qos2', String(i), { qos: 2 })))
    }
  } finally {
    await client.endAsync(true)
  }
})

// proxy change: a v5 negative PUBACK/PUBREC carries err.reasonCode when the
// authorizePublish error has a numeric one (0x87 otherwise, as before).
test('authorizePublish error reasonCode is sent in the v5 PUBACK/PUBREC', TEST_TIMEOUT, async (t) => {
  const broker = await spawnBroker(t, [`--deny-reason-code=${TOPIC_NAME_INVALID}`])

  const client = await orCrash(broker, mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { protocolVersion: 5, clientId: 'reason-code', reconnectPeriod: 0, connectTimeout: 2000 }))
  t.after(() => client.endAsync(true))
  for (const qos of [1, 2] as const) {
    await assert.rejects(orCrash(broker, within(2000, 'publish to deny/x', client.publishAsync('deny/x', 'no', { qos }))),
      (err: { code?: number }) => err.code === TOPIC_NAME_INVALID, `QoS ${qos}: negative ack carries 0x90`)
  }
  await assert.rejects(orCrash(broker, within(2000, 'publish to forbidden/x', client.publishAsync('forbidden/x', 'no', { qos: 1 }))),
    (err: { code?: number }) => err.code === NOT_AUTHORIZED, 'no reasonCode on the error: 0x87 as before')
  await orCrash(broker, within(2000, 'publish to allowed/x', client.publishAsync('allowed/x', 'yes', { qos: 1 })))

  // raw view of the same: the PUBACK byte on the wire
  const raw = await rawConnect(broker.port, 'reason-code-raw', 5)
  t.after(() => raw.destroy())
  raw.send(publishPacket('deny/raw', 1, 7, 5))
  const ack = await orCrash(broker, raw.waitFor(isCmd('puback', 7), 'PUBACK 7')) as Packet & { reasonCode?: number }
  assert.equal(ack.reasonCode, TOPIC_NAME_INVALID)

  await assertAliveAndHealthy(broker)
})
