/**
 * Fuzz cases for the packets around PUBLISH: SUBSCRIBE and UNSUBSCRIBE (every filter shape, the
 * subscription options and properties), AUTH, the acknowledgements a client sends for the
 * server's own PUBLISHes (PUBACK/PUBREC/PUBREL/PUBCOMP with any id and reason code), and hostile
 * CONNECTs. Well-formed ones are built with mqtt-packet, hostile ones byte by byte.
 */
import mqttPacket from 'mqtt-packet';
import * as bytes from '../helpers/mqtt-bytes.js';
import type { Prng } from './prng.js';

type Version = 3 | 4 | 5;
export interface FuzzCase {
  readonly label: string;
  readonly bytes: Buffer;
}

/** Filters valid and invalid, shared and not, $-topics, prototype names, deep and long ones. */
const FILTERS = [
  'fuzz/#',
  'fuzz/+/x',
  '+/+',
  '#',
  '+',
  '$share/g/fuzz/#',
  '$share/g/+',
  '$share//x',
  '$share/g',
  '$share/g/',
  '$share/g+/x',
  '$SYS/#',
  'fuzz/a#',
  'fuzz/#/x',
  'a+/b',
  '__proto__',
  'constructor/#',
  'fuzz/' + '+/'.repeat(200) + '#',
  'fuzz/' + 'x'.repeat(1000),
  'fuzz/é/€/𝄞',
];

/** MQTT 5 reason codes of the four acknowledgements, plus a few no table has. */
const ACK_REASON_CODES = [0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x92, 0x97, 0x99, 0x05, 0x7f, 0xff];

function generate(packet: Record<string, unknown>, version: Version): Buffer | undefined {
  try {
    return mqttPacket.generate(packet as unknown as mqttPacket.Packet, { protocolVersion: version === 3 ? 4 : version });
  } catch {
    return undefined; // mqtt-packet refuses some values; the raw attacks below cover those
  }
}

function userProperties(rng: Prng): Record<string, string | string[]> {
  return { k: rng.pick(['v', '', '__proto__']), constructor: 'c', [`u${rng.int(0, 9)}`]: ['a', 'b'] };
}

/** A SUBSCRIBE mqtt-packet can build: 1-6 filters, MQTT 5 options and properties. */
export function validSubscribe(rng: Prng, version: Version, messageId: number): Buffer | undefined {
  const v5 = version === 5;
  const subscriptions = Array.from({ length: rng.int(1, 6) }, () => ({
    topic: rng.pick(FILTERS),
    qos: rng.int(0, 2),
    ...(v5 && { nl: rng.chance(0.2), rap: rng.chance(0.3), rh: rng.int(0, 2) }),
  }));
  const packet: Record<string, unknown> = { cmd: 'subscribe', messageId, subscriptions };
  if (v5 && rng.chance(0.4)) {
    packet.properties = {
      ...(rng.chance(0.6) && { subscriptionIdentifier: rng.pick([1, 268_435_455, rng.int(1, 100_000)]) }),
      ...(rng.chance(0.5) && { userProperties: userProperties(rng) }),
    };
  }
  return generate(packet, version);
}

export function validUnsubscribe(rng: Prng, version: Version, messageId: number): Buffer | undefined {
  const packet: Record<string, unknown> = { cmd: 'unsubscribe', messageId, unsubscriptions: Array.from({ length: rng.int(1, 6) }, () => rng.pick(FILTERS)) };
  if (version === 5 && rng.chance(0.3)) packet.properties = { userProperties: userProperties(rng) };
  return generate(packet, version);
}

/** AUTH of every reason code, with and without an Authentication Method (the server knows none). */
export function validAuth(rng: Prng, version: Version): Buffer | undefined {
  const properties: Record<string, unknown> = {};
  if (rng.chance(0.7)) properties.authenticationMethod = rng.pick(['SCRAM-SHA-256', 'x', '']);
  if (rng.chance(0.6)) properties.authenticationData = rng.bytes(rng.int(0, 64));
  if (rng.chance(0.2)) properties.reasonString = 'fuzz';
  if (rng.chance(0.2)) properties.userProperties = userProperties(rng);
  return generate({ cmd: 'auth', reasonCode: rng.pick([0x00, 0x18, 0x19]), properties }, version);
}

/**
 * 2-30 acknowledgements a client could send for PUBLISHes of the server: any of the four, with ids
 * from the whole range (most of them for nothing the server sent), MQTT 5 reason codes and properties.
 */
export function ackBurst(rng: Prng, version: Version): Buffer {
  const packets: Buffer[] = [];
  for (let i = rng.int(2, 30); i > 0; i--) {
    const cmd = rng.pick(['puback', 'pubrec', 'pubrel', 'pubcomp'] as const);
    const packet: Record<string, unknown> = { cmd, messageId: rng.pick([1, 2, 65535, rng.int(1, 65535), rng.int(1, 16)]) };
    if (version === 5 && rng.chance(0.5)) packet.reasonCode = rng.pick(ACK_REASON_CODES.slice(0, 10));
    if (version === 5 && rng.chance(0.2)) packet.properties = { reasonString: 'fuzz', userProperties: userProperties(rng) };
    const built = generate(packet, version);
    if (built !== undefined) packets.push(built);
  }
  return Buffer.concat(packets);
}

/** Hostile SUBSCRIBE, UNSUBSCRIBE, AUTH and acknowledgement packets of every protocol version. */
export const SESSION_ATTACKS_ANY_VERSION = [
  'subscribe-many-filters',
  'subscribe-bad-options',
  'subscribe-invalid-utf8',
  'subscribe-id-0',
  'subscribe-truncated-filter',
  'unsubscribe-empty',
  'unsubscribe-bad-flags',
  'unsubscribe-nul',
  'unsubscribe-many',
  'ack-id-0',
  'ack-truncated',
  'ack-flood',
] as const;
/** The same, for what only MQTT 5 carries (subscription options and identifiers, AUTH, reason codes). */
export const SESSION_ATTACKS_MQTT5 = ['subscribe-share-no-local', 'subscribe-subid-bad', 'subscribe-retain-handling-3', 'auth-bad-flags', 'auth-no-method', 'auth-props-oversized', 'auth-bad-reason', 'ack-bad-reason', 'ack-props-garbage'] as const;

export function sessionAttack(rng: Prng, label: string, version: Version): Buffer {
  const level = version === 3 ? 4 : version;
  const id = rng.int(1, 65535);
  const entry = (filter: bytes.Bytes, options = rng.int(0, 2)): bytes.SubscriptionEntry => ({ filter, options });
  switch (label) {
    case 'subscribe-many-filters':
      return bytes.subscribe({ packetId: id, entries: Array.from({ length: rng.int(200, 2000) }, (_, i) => entry(i % 7 === 0 ? rng.pick(FILTERS) : `fuzz/many/${i}`)) }, level);
    case 'subscribe-bad-options':
      return bytes.subscribe({ packetId: id, entries: [entry('fuzz/#', rng.pick([0x03, 0x40, 0x80, 0xc0, 0xff, level === 5 ? 0x3b : 0x04]))] }, level);
    case 'subscribe-invalid-utf8':
      return bytes.subscribe({ packetId: id, entries: [entry(bytes.withBytes('fuzz/', rng.pick(bytes.ILL_FORMED_UTF8).bytes, '/#'))] }, level);
    case 'subscribe-id-0':
      return bytes.subscribe({ packetId: 0, entries: [entry('fuzz/#')] }, level);
    case 'subscribe-truncated-filter': {
      // The filter length says 65535 bytes; the packet ends long before.
      const body = Buffer.concat([bytes.u16(id), level === 5 ? Buffer.from([0]) : Buffer.alloc(0), Buffer.from([0xff, 0xff]), Buffer.from('fuzz/#')]);
      return bytes.packet(0x82, body);
    }
    case 'unsubscribe-empty':
      return bytes.unsubscribe({ packetId: id, filters: [] }, level);
    case 'unsubscribe-bad-flags':
      return bytes.unsubscribe({ packetId: id, filters: ['fuzz/#'], firstByte: rng.pick([0xa0, 0xa1, 0xa3, 0xaf]) }, level);
    case 'unsubscribe-nul':
      return bytes.unsubscribe({ packetId: id, filters: [rng.pick(['fuzz/\u0000', '\u0000', '#\u0000'])] }, level);
    case 'unsubscribe-many':
      return bytes.unsubscribe({ packetId: id, filters: Array.from({ length: rng.int(200, 3000) }, (_, i) => `fuzz/u/${i}`) }, level);
    case 'ack-id-0':
      return bytes.ack(rng.pick([0x40, 0x50, 0x62, 0x70]), 0);
    case 'ack-truncated':
      return bytes.packet(rng.pick([0x40, 0x50, 0x62, 0x70]), rng.bytes(rng.int(0, 1)));
    case 'ack-flood':
      return Buffer.concat(Array.from({ length: rng.int(500, 3000) }, () => bytes.ack(rng.pick([0x40, 0x50, 0x62, 0x70]), rng.int(1, 65535))));
    case 'subscribe-share-no-local':
      return bytes.subscribe({ packetId: id, entries: [entry('$share/g/fuzz/#', 0x04 | rng.int(0, 2))] }, 5);
    case 'subscribe-subid-bad': {
      const { prop, Property, properties } = bytes;
      const props = rng.pick([
        properties(prop.varint(Property.subscriptionIdentifier, 0)),
        properties(prop.varint(Property.subscriptionIdentifier, 1), prop.varint(Property.subscriptionIdentifier, 2)),
        // A Variable Byte Integer of five bytes.
        properties(Buffer.from([Property.subscriptionIdentifier, 0xff, 0xff, 0xff, 0xff, 0x7f])),
      ]);
      return bytes.subscribe({ packetId: id, entries: [entry('fuzz/#')], properties: props }, 5);
    }
    case 'subscribe-retain-handling-3':
      return bytes.subscribe({ packetId: id, entries: [entry('fuzz/#', 0x30 | rng.int(0, 2))] }, 5);
    case 'auth-bad-flags':
      return bytes.packet(0xf0 | rng.int(1, 15), Buffer.from([0x18, 0x00]));
    case 'auth-no-method':
      return bytes.packet(0xf0, Buffer.from([rng.pick([0x18, 0x19]), 0x00]));
    case 'auth-props-oversized':
      return bytes.packet(0xf0, Buffer.concat([Buffer.from([0x19]), rng.pick([bytes.varint(268_435_455), bytes.varint(rng.int(50, 100_000))]), Buffer.from([0x15, 0x00])]));
    case 'auth-bad-reason':
      return bytes.packet(0xf0, Buffer.concat([Buffer.from([rng.pick([0x01, 0x80, 0xff])]), bytes.properties()]));
    case 'ack-bad-reason':
      return bytes.ack(rng.pick([0x40, 0x50, 0x62, 0x70]), id, rng.pick([0x05, 0x7f, 0xff, 0x8e]));
    case 'ack-props-garbage':
      return bytes.packet(rng.pick([0x40, 0x50, 0x62, 0x70]), Buffer.concat([bytes.u16(id), Buffer.from([0x00]), rng.pick([bytes.varint(100_000), Buffer.from([0x05, 0x1f, 0xff, 0xff]), Buffer.from([0x03, 0x7f, 0x00, 0x00])])]));
    default:
      throw new Error(`unknown session attack ${label}`);
  }
}

/** CONNECTs no server may accept; each closes the connection before anything else is read. */
export const HOSTILE_CONNECTS = ['will-qos-3', 'will-flags-without-will', 'reserved-flag', 'password-without-user', 'trailing-bytes', 'client-id-invalid-utf8', 'properties-invalid', 'auth-method'] as const;

export function hostileConnect(rng: Prng, version: Version, index: number): FuzzCase {
  const level = version === 3 ? 4 : version;
  const kind = rng.pick(HOSTILE_CONNECTS);
  const clientId = `fuzz-${index}`;
  const { prop, Property, properties } = bytes;
  let packet: Buffer;
  switch (kind) {
    case 'will-qos-3':
      packet = bytes.connect({ level, flags: 0x02 | 0x04 | 0x18 | (rng.chance(0.5) ? 0x20 : 0), clientId, will: { topic: 'fuzz/will', payload: rng.bytes(8) } });
      break;
    case 'will-flags-without-will':
      packet = bytes.connect({ level, flags: 0x02 | rng.pick([0x08, 0x10, 0x20, 0x38]), clientId });
      break;
    case 'reserved-flag':
      packet = bytes.connect({ level, flags: 0x03, clientId });
      break;
    case 'password-without-user':
      packet = bytes.connect({ level, flags: 0x02 | 0x40, clientId, password: rng.bytes(6) });
      break;
    case 'trailing-bytes':
      packet = bytes.connect({ level, clientId, trailing: rng.bytes(rng.int(1, 8)) });
      break;
    case 'client-id-invalid-utf8':
      packet = bytes.connect({ level, clientId: bytes.withBytes('fuzz-', rng.pick(bytes.ILL_FORMED_UTF8).bytes) });
      break;
    case 'properties-invalid':
      packet = bytes.connect({
        level: 5,
        clientId,
        properties: rng.pick([properties(prop.u16(Property.receiveMaximum, 0)), properties(prop.u32(Property.maximumPacketSize, 0)), properties(prop.u16(Property.topicAlias, 1)), Buffer.from([0x40, 0x11])]),
      });
      break;
    case 'auth-method':
      packet = bytes.connect({ level: 5, clientId, properties: properties(prop.string(Property.authenticationMethod, 'SCRAM-SHA-256'), prop.string(Property.authenticationData, rng.bytes(8))) });
      break;
  }
  return { label: `hostile-connect-${kind}`, bytes: packet };
}
