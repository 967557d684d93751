// The engine's parts that need no socket: framing, the shared parsers, CONNECT's raw checks, the
// packet writer and the will scheduler.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import mqttPacket from 'mqtt-packet';
import { FrameReader } from '../../src/mqtt/frame-reader.js';
import { checkProtocol, connectTrailingBytes } from '../../src/mqtt/handlers/connect-rules.js';
import { tooManyLevels } from '../../src/mqtt/handlers/publish-rules.js';
import { MalformedPacket, parseFrame } from '../../src/mqtt/packet-parser.js';
import { WillScheduler } from '../../src/mqtt/will.js';
import { PacketWriter, type WriterPeer } from '../../src/mqtt/writer.js';
import * as bytes from '../helpers/mqtt-bytes.js';

const publish = (id: number, version: 4 | 5 = 4): Buffer => mqttPacket.generate({ cmd: 'publish', topic: 't/x', payload: Buffer.from(`p${id}`), qos: 1, messageId: id, retain: false, dup: false }, { protocolVersion: version });

describe('FrameReader', () => {
  test('frames inside one chunk are views of it; a frame spread over chunks is joined', () => {
    const reader = new FrameReader(1024);
    const two = Buffer.concat([publish(1), publish(2)]);
    reader.push(two);
    const first = reader.next() as Buffer;
    assert.deepEqual(first, publish(1));
    assert.equal(first.buffer, two.buffer, 'a view, not a copy');
    assert.deepEqual(reader.next(), publish(2));
    assert.equal(reader.next(), undefined);
    for (const byte of publish(3)) {
      assert.equal(reader.next(), undefined);
      reader.push(Buffer.from([byte]));
    }
    assert.deepEqual(reader.next(), publish(3));
    assert.equal(reader.buffered, 0);
  });

  test('a packet over the limit is refused as soon as its Remaining Length is known, before its bytes', () => {
    const reader = new FrameReader(100);
    // PUBLISH with Remaining Length 16384 (two bytes), nothing of it sent yet.
    reader.push(Buffer.from([0x30, 0x80, 0x80, 0x01]));
    assert.deepEqual(reader.next(), { problem: 'too-large', size: 16388 });
  });

  test('a Remaining Length of more than four bytes is malformed [MQTT-1.5.5-1]', () => {
    const reader = new FrameReader(1 << 28);
    reader.push(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]));
    assert.deepEqual(reader.next(), { problem: 'malformed-length' });
  });

  test('a packet of exactly the limit passes', () => {
    const frame = publish(4);
    const reader = new FrameReader(frame.length);
    reader.push(frame);
    assert.deepEqual(reader.next(), frame);
  });
});

describe('shared packet parsers', () => {
  test('a malformed packet leaves the parser of its version clean for the next connection', () => {
    const body = Buffer.concat([Buffer.from([0, 6]), Buffer.from('fuzz/a'), Buffer.from([0, 1, 4, 0x26, 0, 5, 0x61]), Buffer.from('payload')]);
    const bad = parseFrame(Buffer.concat([Buffer.from([0x32, body.length]), body]), 5);
    assert.ok(bad instanceof MalformedPacket, 'the user property that runs past its block is refused');
    for (let i = 1; i <= 3; i++) {
      const good = parseFrame(publish(i, 5), 5);
      assert.ok(!(good instanceof MalformedPacket), `packet ${i} after the bad one: ${(good as MalformedPacket).problem}`);
      assert.equal((good as { messageId?: number }).messageId, i);
    }
  });

  test('UTF-8 strings must be well-formed and without U+0000; byte properties 0 or 1 (patched parser)', () => {
    const topic = (raw: Buffer): Buffer => bytes.publish({ topic: raw, qos: 0 }, 4);
    assert.ok(parseFrame(topic(Buffer.from([0x61, 0xc3, 0x28])), 4) instanceof MalformedPacket, 'a lead byte without its continuation');
    assert.ok(parseFrame(topic(Buffer.from('a\u0000b')), 4) instanceof MalformedPacket, 'U+0000');
    assert.ok(!(parseFrame(topic(Buffer.from('a/\ufffd/é/€/𝄞')), 4) instanceof MalformedPacket), 'U+FFFD itself and multi-byte characters are fine');
    const pfi = (value: number): Buffer => bytes.publish({ topic: 'a', properties: bytes.properties(Buffer.from([0x01, value])) }, 5);
    assert.ok(!(parseFrame(pfi(1), 5) instanceof MalformedPacket));
    assert.ok(parseFrame(pfi(2), 5) instanceof MalformedPacket, 'Payload Format Indicator 2');
  });
});

describe('CONNECT raw checks', () => {
  const full = (level: 4 | 5, trailing?: number[]): Buffer =>
    bytes.connect({ level, clientId: 'c', will: { topic: 'w', payload: 'bye', ...(level === 5 && { properties: bytes.properties(bytes.prop.u32(bytes.Property.willDelayInterval, 5)) }) }, username: 'u', password: 'p', ...(level === 5 && { properties: bytes.properties(bytes.prop.u32(bytes.Property.sessionExpiryInterval, 10)) }), ...(trailing !== undefined && { trailing }) });

  test('MQTT-3.1.4-1: bytes after the last field the flags announce are counted', () => {
    for (const level of [4, 5] as const) {
      assert.equal(connectTrailingBytes(full(level)), 0, `level ${level}`);
      assert.equal(connectTrailingBytes(full(level, [0x00, 0x01])), 2, `level ${level} with two more bytes`);
    }
  });

  test('MQTT-3.1.2-1/-2: protocol name and level', () => {
    assert.deepEqual(checkProtocol(bytes.connect({ level: 4, clientId: 'c' })), { kind: 'supported', version: 4 });
    assert.deepEqual(checkProtocol(bytes.connect({ level: 5, clientId: 'c' })), { kind: 'supported', version: 5 });
    assert.deepEqual(checkProtocol(bytes.connect({ level: 3, protocolName: 'MQIsdp', clientId: 'c' })), { kind: 'supported', version: 3 });
    assert.deepEqual(checkProtocol(bytes.connect({ level: 3, clientId: 'c' })), { kind: 'unsupported', level: 3 });
    assert.deepEqual(checkProtocol(bytes.connect({ level: 0x85, clientId: 'c' })), { kind: 'unsupported', level: 0x85 });
    assert.deepEqual(checkProtocol(bytes.connect({ level: 4, protocolName: 'HTTP', clientId: 'c' })), { kind: 'not-mqtt' });
    assert.equal(checkProtocol(Buffer.from([0x10, 0x02, 0x00, 0x04])), undefined, 'too short for its name');
  });

  test('topics of more than 128 levels', () => {
    assert.equal(tooManyLevels('a/'.repeat(127) + 'b'), false);
    assert.equal(tooManyLevels('a/'.repeat(128) + 'b'), true);
    assert.equal(tooManyLevels('x'.repeat(1000)), false);
  });
});

describe('PacketWriter', () => {
  const peer = (overrides: Partial<WriterPeer> = {}): WriterPeer & { blocked: number } => {
    const p = { protocolVersion: 5 as const, maximumPacketSize: undefined, problemInformation: true, blocked: 0, writeBlocked: () => p.blocked++, ...overrides };
    return p;
  };
  const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

  test('what is written in one tick reaches the stream in one write, in order', async () => {
    const stream = new PassThrough();
    const writes: Buffer[] = [];
    const write = stream.write.bind(stream);
    stream.write = ((chunk: Buffer) => {
      writes.push(Buffer.from(chunk));
      return write(chunk);
    }) as typeof stream.write;
    const writer = new PacketWriter(stream, peer());
    writer.ack('puback', 1);
    writer.ack('puback', 2);
    writer.packet({ cmd: 'pingresp' });
    writer.ack('pubrec', 258);
    assert.equal(writes.length, 0, 'nothing before the end of the tick');
    await tick();
    assert.equal(writes.length, 1);
    assert.equal(writes[0]!.toString('hex'), '40020001' + '40020002' + 'd000' + '50020102');
  });

  test('MQTT-3.1.2-29: no Reason String on an acknowledgement to a client that asked for none; DISCONNECT keeps it', () => {
    const stream = new PassThrough();
    const writer = new PacketWriter(stream, peer({ problemInformation: false }));
    writer.packet({ cmd: 'puback', messageId: 1, reasonCode: 0x90, properties: { reasonString: 'no rule maps this topic' } });
    writer.packet({ cmd: 'disconnect', reasonCode: 0x8b, properties: { reasonString: 'server shutting down' } });
    writer.flush();
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    const packets: mqttPacket.Packet[] = [];
    parser.on('packet', (p: mqttPacket.Packet) => packets.push(p));
    parser.parse(stream.read() as Buffer);
    assert.equal((packets[0] as mqttPacket.IPubackPacket).properties?.reasonString, undefined);
    assert.equal((packets[0] as mqttPacket.IPubackPacket).reasonCode, 0x90);
    assert.equal((packets[1] as mqttPacket.IDisconnectPacket).properties?.reasonString, 'server shutting down');
  });

  test("MQTT-3.1.2-24/-25: a packet over the client's Maximum Packet Size loses its Reason String, or is not sent", () => {
    const stream = new PassThrough();
    const writer = new PacketWriter(stream, peer({ maximumPacketSize: 8 }));
    assert.equal(writer.packet({ cmd: 'puback', messageId: 1, reasonCode: 0x90, properties: { reasonString: 'a reason that does not fit' } }), true);
    assert.equal(writer.packet({ cmd: 'publish', topic: 'a/long/topic', payload: Buffer.alloc(20), qos: 0, retain: false, dup: false }), false);
    writer.flush();
    const written = stream.read() as Buffer;
    assert.ok(written.length <= 8, `${written.length} bytes`);
  });

  test('a write the stream does not take tells the peer', () => {
    const stream = new PassThrough({ highWaterMark: 4 });
    const p = peer();
    const writer = new PacketWriter(stream, p);
    writer.packet({ cmd: 'publish', topic: 't', payload: Buffer.alloc(64), qos: 0, retain: false, dup: false });
    writer.flush();
    assert.equal(p.blocked, 1);
  });
});

describe('WillScheduler (MQTT-3.1.3-9: a reconnect within the Will Delay cancels the will)', () => {
  test('no delay: published at once', () => {
    const wills = new WillScheduler();
    let published = 0;
    wills.schedule('a', 0, () => published++);
    assert.equal(published, 1);
    assert.equal(wills.pending, 0);
  });

  test('published after its delay; cancelled by a connection with the same client id within it', async () => {
    const wills = new WillScheduler();
    const published: string[] = [];
    wills.schedule('late', 50, () => published.push('late'));
    wills.schedule('cancelled', 50, () => published.push('cancelled'));
    assert.equal(wills.cancel('cancelled'), true);
    assert.equal(wills.cancel('unknown'), false);
    assert.deepEqual(published, []);
    await new Promise((resolve) => setTimeout(resolve, 120));
    assert.deepEqual(published, ['late']);
    wills.close();
  });

  test('a second will for the same id while the first waits: the first goes at once', () => {
    const wills = new WillScheduler();
    const published: string[] = [];
    wills.schedule('id', 10_000, () => published.push('first'));
    wills.schedule('id', 10_000, () => published.push('second'));
    assert.deepEqual(published, ['first']);
    wills.close();
    assert.equal(wills.pending, 0);
  });
});
