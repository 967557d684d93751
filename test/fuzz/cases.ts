/**
 * Byte streams for the fuzz harness. Each connection gets a script: usually a CONNECT followed by
 * a run of packets, each either well formed (built with mqtt-packet) or hostile (a well-formed
 * packet mutated, or one of the crafted attacks below). Every packet written is one case.
 */
import mqttPacket from 'mqtt-packet';
import { Prng } from './prng.js';
import {
  HOSTILE_CONNECTS,
  SESSION_ATTACKS_ANY_VERSION,
  SESSION_ATTACKS_MQTT5,
  ackBurst,
  hostileConnect,
  sessionAttack,
  validAuth,
  validSubscribe,
  validUnsubscribe,
} from './session-cases.js';

export type Version = 3 | 4 | 5;

export interface Script {
  readonly version: Version;
  /**
   * The CONNECT (possibly mutated), written alone; the harness waits for the answer before the
   * rest, so the packets after it meet a connected session and not the CONNECT queue.
   */
  readonly hello: Buffer | undefined;
  /** Written in this order, each in its own socket.write (so parser boundaries vary too). */
  readonly chunks: readonly Buffer[];
  /** Packets (or random blobs) in the stream. */
  readonly cases: number;
  /** What each case was, for the summary and for a failing seed's report. */
  readonly labels: readonly string[];
}

/** Topics that route to the fuzz rule, plus the awkward ones a device could send. */
const TOPICS = [
  'fuzz/a',
  'fuzz/b/c',
  'fuzz/__proto__',
  'fuzz/constructor/prototype',
  '__proto__',
  'fuzz/é/ü/€',
  'fuzz/' + '/'.repeat(300),
  'fuzz/' + 'x'.repeat(2000),
  '$SYS/fuzz',
  'fuzz/ space',
];

function generate(packet: Record<string, unknown>, version: Version): Buffer | undefined {
  try {
    return mqttPacket.generate(packet as unknown as mqttPacket.Packet, { protocolVersion: version });
  } catch {
    return undefined; // mqtt-packet refuses some values; the raw builders cover those
  }
}

export function varint(value: number): Buffer {
  const out: number[] = [];
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    out.push(byte);
  } while (value > 0);
  return Buffer.from(out);
}

function utf8Field(text: string | Buffer): Buffer {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const length = Buffer.alloc(2);
  length.writeUInt16BE(bytes.length & 0xffff);
  return Buffer.concat([length, bytes]);
}

/** A packet from parts, with a correct remaining length unless `length` says otherwise. */
function rawPacket(firstByte: number, body: Buffer, length: Buffer = varint(body.length)): Buffer {
  return Buffer.concat([Buffer.from([firstByte]), length, body]);
}

/** PUBLISH with any flags, topic bytes and (v5) property bytes, as a device could write it. */
function rawPublish(options: { flags: number; topic: Buffer; messageId?: number; properties?: Buffer; payload?: Buffer }, version: Version): Buffer {
  const parts = [utf8Field(options.topic)];
  if (options.messageId !== undefined) {
    const id = Buffer.alloc(2);
    id.writeUInt16BE(options.messageId);
    parts.push(id);
  }
  if (version === 5) {
    const properties = options.properties ?? Buffer.alloc(0);
    parts.push(varint(properties.length), properties);
  }
  parts.push(options.payload ?? Buffer.from('p'));
  return rawPacket(0x30 | options.flags, Buffer.concat(parts));
}

function stringProperty(id: number, text: string): Buffer {
  return Buffer.concat([Buffer.from([id]), utf8Field(text)]);
}
function u16Property(id: number, value: number): Buffer {
  const out = Buffer.alloc(3);
  out[0] = id;
  out.writeUInt16BE(value & 0xffff, 1);
  return out;
}

function clientId(rng: Prng, index: number): string {
  return rng.pick([`fuzz-${index}`, `fuzz-${index}`, '', '__proto__', 'constructor', 'x'.repeat(rng.int(1, 300)), `fuzz-${index}-é`]);
}

function connect(rng: Prng, version: Version, index: number): Buffer {
  const packet: Record<string, unknown> = {
    cmd: 'connect',
    protocolId: version === 3 ? 'MQIsdp' : 'MQTT',
    protocolVersion: version,
    clean: rng.chance(0.9),
    keepalive: rng.pick([0, 0, 10, 60, 65535]),
    clientId: clientId(rng, index),
  };
  if (rng.chance(0.2)) packet.username = rng.pick(['user', '', '__proto__']);
  if (packet.username !== undefined && rng.chance(0.5)) packet.password = rng.bytes(rng.int(0, 20));
  if (rng.chance(0.25)) {
    packet.will = {
      topic: rng.pick(TOPICS),
      payload: rng.bytes(rng.int(0, 30)),
      qos: rng.int(0, 2),
      retain: rng.chance(0.3),
      ...(version === 5 && rng.chance(0.5) ? { properties: { willDelayInterval: rng.int(0, 10), contentType: 'x' } } : {}),
    };
  }
  if (version === 5 && rng.chance(0.4)) {
    packet.properties = {
      sessionExpiryInterval: rng.pick([0, 10, 0xffffffff]),
      receiveMaximum: rng.pick([1, 10, 65535]),
      maximumPacketSize: rng.pick([100, 65535, 268435455]),
      topicAliasMaximum: rng.pick([0, 10, 65535]),
      requestResponseInformation: rng.chance(0.5),
      userProperties: { a: 'b', __proto__x: 'y' },
    };
  }
  return generate(packet, version) ?? generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: version === 3 ? 4 : version, clean: true, keepalive: 0, clientId: `fuzz-${index}` }, version === 3 ? 4 : version)!;
}

function publishProperties(rng: Prng): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  if (rng.chance(0.3)) properties.payloadFormatIndicator = rng.chance(0.5);
  if (rng.chance(0.3)) properties.messageExpiryInterval = rng.int(0, 1000);
  if (rng.chance(0.3)) properties.contentType = rng.pick(['application/json', '', 'x'.repeat(100)]);
  if (rng.chance(0.2)) properties.responseTopic = rng.pick(['fuzz/reply', '']);
  if (rng.chance(0.2)) properties.correlationData = rng.bytes(rng.int(0, 16));
  if (rng.chance(0.3)) properties.userProperties = { k: rng.pick(['v', '', '__proto__']), constructor: 'c', [`u${rng.int(0, 9)}`]: ['a', 'b'] };
  if (rng.chance(0.2)) properties.topicAlias = rng.int(1, 20);
  return properties;
}

/**
 * Packet types of the well-formed cases; PUBLISH three times, so it is drawn most often.
 * `ack-burst` is a run of acknowledgements for PUBLISHes of the server (which sent none).
 */
const VALID_DRAWS = ['publish', 'publish', 'publish', 'puback', 'pubrec', 'pubrel', 'pubcomp', 'ack-burst', 'subscribe', 'subscribe', 'unsubscribe', 'pingreq', 'connack', 'suback', 'pingresp', 'auth', 'disconnect'] as const;

/** One well-formed packet a client may send (and some only a server may send). */
function validPacket(rng: Prng, version: Version): { label: string; bytes: Buffer } {
  const kind = rng.pick(VALID_DRAWS);
  const messageId = rng.int(1, 65535);
  const v = version === 3 ? 4 : version;
  let packet: Record<string, unknown>;
  switch (kind) {
    case 'publish': {
      const qos = rng.int(0, 2);
      packet = { cmd: 'publish', topic: rng.pick(TOPICS), payload: rng.bytes(rng.int(0, 64)), qos, retain: rng.chance(0.2), dup: rng.chance(0.1) };
      if (qos > 0) packet.messageId = rng.chance(0.3) ? rng.int(1, 4) : messageId;
      if (v === 5 && rng.chance(0.5)) packet.properties = publishProperties(rng);
      break;
    }
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      packet = { cmd: kind, messageId: rng.chance(0.5) ? rng.int(1, 4) : messageId };
      if (v === 5 && rng.chance(0.3)) packet.reasonCode = rng.pick([0, 0x10, 0x80, 0x92]);
      break;
    case 'subscribe':
    case 'unsubscribe': {
      const built = kind === 'subscribe' ? validSubscribe(rng, v, messageId) : validUnsubscribe(rng, v, messageId);
      return { label: `valid-${kind}`, bytes: built ?? generate({ cmd: 'pingreq' }, v)! };
    }
    case 'ack-burst':
      return { label: 'valid-ack-burst', bytes: ackBurst(rng, v) };
    case 'connack':
      packet = { cmd: 'connack', sessionPresent: false, returnCode: 0, reasonCode: 0 };
      break;
    case 'suback':
      packet = { cmd: 'suback', messageId, granted: [0], reasonCodes: [0] };
      break;
    case 'auth':
      return { label: 'valid-auth', bytes: validAuth(rng, v) ?? generate({ cmd: 'pingreq' }, v)! };
    case 'disconnect':
      packet = { cmd: 'disconnect' };
      if (v === 5 && rng.chance(0.5)) packet.reasonCode = rng.pick([0, 4, 0x80]);
      break;
    default:
      packet = { cmd: kind };
  }
  const bytes = generate(packet, v) ?? generate({ cmd: 'pingreq' }, v)!;
  return { label: `valid-${kind}`, bytes };
}

export const MUTATIONS = ['bit-flip', 'truncate', 'splice', 'length-max', 'length-overflow', 'length-random', 'flags', 'type', 'insert', 'zero-fill'] as const;

function mutate(rng: Prng, bytes: Buffer, other: Buffer): { label: string; bytes: Buffer } {
  const mutation = rng.pick(MUTATIONS);
  const out = Buffer.from(bytes);
  switch (mutation) {
    case 'bit-flip': {
      const flips = rng.int(1, 4);
      for (let i = 0; i < flips; i++) out[rng.int(0, out.length - 1)]! ^= 1 << rng.int(0, 7);
      return { label: mutation, bytes: out };
    }
    case 'truncate':
      return { label: mutation, bytes: out.subarray(0, rng.int(0, Math.max(0, out.length - 1))) };
    case 'splice':
      return { label: mutation, bytes: Buffer.concat([out.subarray(0, rng.int(0, out.length)), other.subarray(rng.int(0, other.length))]) };
    case 'length-max':
    case 'length-overflow':
    case 'length-random': {
      // Replace the remaining length: 268435455 (the largest MQTT allows), a 5-byte varint (never
      // valid), or any value; the body stays as it was.
      let headerEnd = 1;
      while (headerEnd < out.length && headerEnd < 5 && (out[headerEnd]! & 0x80) !== 0) headerEnd++;
      const length =
        mutation === 'length-max'
          ? Buffer.from([0xff, 0xff, 0xff, 0x7f])
          : mutation === 'length-overflow'
            ? Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7f])
            : varint(rng.int(0, 300_000_000) % 268_435_456);
      return { label: mutation, bytes: Buffer.concat([out.subarray(0, 1), length, out.subarray(headerEnd + 1)]) };
    }
    case 'flags':
      out[0] = (out[0]! & 0xf0) | rng.int(0, 15);
      return { label: mutation, bytes: out };
    case 'type':
      out[0] = (rng.int(0, 15) << 4) | (out[0]! & 0x0f);
      return { label: mutation, bytes: out };
    case 'insert': {
      const at = rng.int(0, out.length);
      return { label: mutation, bytes: Buffer.concat([out.subarray(0, at), rng.bytes(rng.int(1, 8)), out.subarray(at)]) };
    }
    case 'zero-fill': {
      const at = rng.int(0, out.length - 1);
      out.fill(rng.pick([0x00, 0xff]), at, Math.min(out.length, at + rng.int(1, 6)));
      return { label: mutation, bytes: out };
    }
  }
}

/** Hand-made hostile packets of every protocol version: each names a rule a device may break. */
const ATTACKS_ANY_VERSION = [
  'qos3',
  'wildcard-topic',
  'nul-topic',
  'invalid-utf8-topic',
  'empty-topic',
  'pubrel-unknown',
  'pubrel-bad-flags',
  'double-pubrel',
  'ack-unknown',
  'subscribe-bad-flags',
  'subscribe-empty',
  'subscribe-qos3',
  'second-connect',
  'reserved-type',
  'pingreq-flags',
  'huge-topic-length',
  'many-qos2-same-id',
] as const;
/** Hostile packets only MQTT 5 can carry (topic aliases, properties). */
const ATTACKS_MQTT5 = ['alias-0', 'alias-too-big', 'alias-unknown', 'props-oversized', 'props-duplicate', 'props-unknown', 'props-many-user', 'props-wrong-type'] as const;

/**
 * Every label a run should produce at least once: each well-formed packet type, each mutation (of
 * a packet or of the CONNECT), each attack, random bytes. A class missing from a run of the
 * default size means a generator stopped producing it.
 */
export function caseClasses(): { readonly name: string; readonly seen: (labels: ReadonlySet<string>) => boolean }[] {
  const kinds = [...new Set(VALID_DRAWS)];
  return [
    ...kinds.map((kind) => ({ name: `valid-${kind}`, seen: (labels: ReadonlySet<string>) => labels.has(`valid-${kind}`) })),
    { name: 'valid-connect', seen: (labels) => labels.has('valid-connect') },
    // A mutated packet is labelled KIND-MUTATION (KIND a valid packet type or connect).
    ...MUTATIONS.map((mutation) => ({
      name: `mutation ${mutation}`,
      seen: (labels: ReadonlySet<string>) => [...kinds, 'connect'].some((kind) => labels.has(`${kind}-${mutation}`)),
    })),
    ...[...ATTACKS_ANY_VERSION, ...ATTACKS_MQTT5, ...SESSION_ATTACKS_ANY_VERSION, ...SESSION_ATTACKS_MQTT5].map((attack) => ({
      name: `attack ${attack}`,
      seen: (labels: ReadonlySet<string>) => labels.has(attack),
    })),
    ...HOSTILE_CONNECTS.map((kind) => ({ name: `hostile CONNECT ${kind}`, seen: (labels: ReadonlySet<string>) => labels.has(`hostile-connect-${kind}`) })),
    { name: 'random-bytes', seen: (labels) => labels.has('random-bytes') },
  ];
}

/** Hand-made hostile packets: each names a rule of the protocol a device may break. */
function attack(rng: Prng, version: Version): { label: string; bytes: Buffer } {
  const v5 = version === 5;
  const id = rng.int(1, 65535);
  const choices: readonly string[] = [...ATTACKS_ANY_VERSION, ...(v5 ? ATTACKS_MQTT5 : []), ...SESSION_ATTACKS_ANY_VERSION, ...(v5 ? SESSION_ATTACKS_MQTT5 : [])];
  const label = rng.pick(choices);
  if ((SESSION_ATTACKS_ANY_VERSION as readonly string[]).includes(label) || (SESSION_ATTACKS_MQTT5 as readonly string[]).includes(label)) {
    return { label, bytes: sessionAttack(rng, label, version) };
  }
  const qos = rng.int(1, 2);
  const flagsFor = (q: number): number => q << 1;
  switch (label) {
    case 'qos3':
      return { label, bytes: rawPublish({ flags: 0b0110, topic: Buffer.from('fuzz/q3'), messageId: id }, version) };
    case 'wildcard-topic':
      return { label, bytes: rawPublish({ flags: flagsFor(qos), topic: Buffer.from(rng.pick(['fuzz/+/x', 'fuzz/#', '#', '+', 'fuzz/a#'])), messageId: id }, version) };
    case 'nul-topic':
      return { label, bytes: rawPublish({ flags: flagsFor(qos), topic: Buffer.from(rng.pick(['fuzz/\u0000', '\u0000', 'fuzz/a\u0000b'])), messageId: id }, version) };
    case 'invalid-utf8-topic':
      return {
        label,
        bytes: rawPublish(
          { flags: flagsFor(qos), topic: Buffer.concat([Buffer.from('fuzz/'), Buffer.from(rng.pick([[0xc3, 0x28], [0xff], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xc0, 0xaf]]))]), messageId: id },
          version,
        ),
      };
    case 'empty-topic':
      return { label, bytes: rawPublish({ flags: flagsFor(qos), topic: Buffer.alloc(0), messageId: id }, version) };
    case 'pubrel-unknown':
      return { label, bytes: generate({ cmd: 'pubrel', messageId: id }, version === 3 ? 4 : version)! };
    case 'pubrel-bad-flags':
      return { label, bytes: rawPacket(0x60, Buffer.from([id >> 8, id & 0xff])) };
    case 'double-pubrel': {
      const publish = rawPublish({ flags: flagsFor(2), topic: Buffer.from('fuzz/q2'), messageId: id }, version);
      const pubrel = rawPacket(0x62, Buffer.from([id >> 8, id & 0xff]));
      return { label, bytes: Buffer.concat([publish, pubrel, pubrel]) };
    }
    case 'ack-unknown':
      return { label, bytes: rawPacket(rng.pick([0x40, 0x50, 0x70]), Buffer.from([id >> 8, id & 0xff])) };
    case 'subscribe-bad-flags':
      return { label, bytes: rawPacket(0x80, Buffer.concat([Buffer.from([id >> 8, id & 0xff]), v5 ? Buffer.from([0]) : Buffer.alloc(0), utf8Field('fuzz/#'), Buffer.from([0])])) };
    case 'subscribe-empty':
      return { label, bytes: rawPacket(0x82, Buffer.concat([Buffer.from([id >> 8, id & 0xff]), v5 ? Buffer.from([0]) : Buffer.alloc(0)])) };
    case 'subscribe-qos3':
      return { label, bytes: rawPacket(0x82, Buffer.concat([Buffer.from([id >> 8, id & 0xff]), v5 ? Buffer.from([0]) : Buffer.alloc(0), utf8Field('fuzz/#'), Buffer.from([0x03 | (v5 ? 0xc0 : 0)])])) };
    case 'second-connect':
      return { label, bytes: connect(rng, version, id) };
    case 'reserved-type':
      return { label, bytes: rawPacket(rng.pick([0x00, 0xf0, 0xf1]), rng.bytes(rng.int(0, 6))) };
    case 'pingreq-flags':
      return { label, bytes: rawPacket(0xc0 | rng.int(1, 15), Buffer.alloc(0)) };
    case 'huge-topic-length': {
      // The topic length says 65535 bytes but the packet ends much earlier.
      const body = Buffer.concat([Buffer.from([0xff, 0xff]), Buffer.from('fuzz/x')]);
      return { label, bytes: rawPacket(0x30, body) };
    }
    case 'many-qos2-same-id': {
      const publish = rawPublish({ flags: flagsFor(2), topic: Buffer.from('fuzz/same'), messageId: id }, version);
      return { label, bytes: Buffer.concat(Array.from({ length: rng.int(2, 20) }, () => publish)) };
    }
    case 'alias-0':
      return { label, bytes: rawPublish({ flags: flagsFor(qos), topic: Buffer.from('fuzz/alias'), messageId: id, properties: u16Property(0x23, 0) }, version) };
    case 'alias-too-big':
      return { label, bytes: rawPublish({ flags: flagsFor(qos), topic: Buffer.from('fuzz/alias'), messageId: id, properties: u16Property(0x23, rng.pick([11, 1000, 65535])) }, version) };
    case 'alias-unknown':
      return { label, bytes: rawPublish({ flags: flagsFor(qos), topic: Buffer.alloc(0), messageId: id, properties: u16Property(0x23, rng.int(1, 10)) }, version) };
    case 'props-oversized': {
      // Property length far beyond the packet (or the 268435455 maximum itself).
      const body = Buffer.concat([utf8Field('fuzz/props'), Buffer.from([id >> 8, id & 0xff]), rng.pick([varint(268_435_455), varint(rng.int(100, 100_000))]), Buffer.from([0x01, 0x01])]);
      return { label, bytes: rawPacket(0x30 | flagsFor(1), body) };
    }
    case 'props-duplicate': {
      const one = rng.pick([Buffer.from([0x01, 0x01]), stringProperty(0x03, 'text/plain'), u16Property(0x23, 1), stringProperty(0x08, 'fuzz/r'), Buffer.from([0x02, 0, 0, 0, 5])]);
      return { label, bytes: rawPublish({ flags: flagsFor(qos), topic: Buffer.from('fuzz/dup'), messageId: id, properties: Buffer.concat([one, one]) }, version) };
    }
    case 'props-unknown':
      return { label, bytes: rawPublish({ flags: flagsFor(qos), topic: Buffer.from('fuzz/unk'), messageId: id, properties: Buffer.from([rng.pick([0x00, 0x7f, 0x27, 0x11, 0xff]), 0x01, 0x02, 0x03, 0x04]) }, version) };
    case 'props-many-user': {
      const user = Buffer.concat([Buffer.from([0x26]), utf8Field('k'), utf8Field('v')]);
      return { label, bytes: rawPublish({ flags: flagsFor(qos), topic: Buffer.from('fuzz/users'), messageId: id, properties: Buffer.concat(Array.from({ length: rng.int(100, 3000) }, () => user)) }, version) };
    }
    case 'props-wrong-type':
      // Payload format indicator 7 (only 0 and 1 exist) and a content type that is not UTF-8.
      return { label, bytes: rawPublish({ flags: flagsFor(qos), topic: Buffer.from('fuzz/pfi'), messageId: id, properties: Buffer.concat([Buffer.from([0x01, 0x07]), Buffer.from([0x03, 0x00, 0x02, 0xff, 0xfe])]) }, version) };
    default:
      throw new Error(`unknown attack ${label}`);
  }
}

/** The script of connection `index` of a run with `seed`; the same pair always gives the same bytes. */
export function buildScript(seed: number, index: number): Script {
  const rng = Prng.forItem(seed, index);
  const version: Version = rng.chance(0.05) ? 3 : rng.chance(0.5) ? 4 : 5;
  const labels: string[] = [];
  const packets: Buffer[] = [];
  let hello: Buffer | undefined;
  const roll = rng.next();
  if (roll < 0.04) {
    packets.push(rng.bytes(rng.int(1, 400)));
    labels.push('random-bytes');
  } else {
    hello = connect(rng, version, index);
    if (roll < 0.14) {
      const mutated = mutate(rng, hello, validPacket(rng, version).bytes);
      hello = mutated.bytes;
      labels.push(`connect-${mutated.label}`);
    } else if (roll < 0.18) {
      const hostile = hostileConnect(rng, version, index);
      hello = hostile.bytes;
      labels.push(hostile.label);
    } else {
      labels.push('valid-connect');
    }
    const count = rng.int(1, 14);
    for (let i = 0; i < count; i++) {
      const r = rng.next();
      let packet: { label: string; bytes: Buffer };
      if (r < 0.5) packet = validPacket(rng, version);
      else if (r < 0.75) {
        const base = validPacket(rng, version);
        packet = mutate(rng, base.bytes, validPacket(rng, version).bytes);
        packet.label = `${base.label.slice('valid-'.length)}-${packet.label}`;
      } else packet = attack(rng, version);
      packets.push(packet.bytes);
      labels.push(packet.label);
    }
  }
  // Split the stream at random points: the parser must cope with packets across reads.
  const stream = Buffer.concat(packets);
  const chunks: Buffer[] = [];
  let at = 0;
  const pieces = rng.int(1, 4);
  for (let i = 1; i < pieces && at < stream.length; i++) {
    const next = rng.int(at, stream.length);
    chunks.push(stream.subarray(at, next));
    at = next;
  }
  chunks.push(stream.subarray(at));
  return { version, hello, chunks: chunks.filter((c) => c.length > 0), cases: packets.length + (hello === undefined ? 0 : 1), labels };
}
