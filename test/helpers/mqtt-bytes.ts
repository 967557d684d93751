// MQTT packets byte by byte, for the protocol tests that must send what mqtt-packet refuses to
// build (reserved flags, bad UTF-8, trailing bytes, impossible property values).

export type Bytes = string | Buffer | readonly number[];

function bytes(value: Bytes): Buffer {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  return Buffer.isBuffer(value) ? value : Buffer.from(value);
}

/** Variable Byte Integer (MQTT 5 section 1.5.5), always in the fewest bytes. */
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

export function u16(value: number): Buffer {
  const out = Buffer.alloc(2);
  out.writeUInt16BE(value);
  return out;
}

export function u32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
}

/** A UTF-8 Encoded String or Binary Data field: two-byte length, then the bytes as given (valid or not). */
export function field(value: Bytes): Buffer {
  const body = bytes(value);
  return Buffer.concat([u16(body.length), body]);
}

/** A whole packet: first byte, remaining length (computed unless given), body. */
export function packet(firstByte: number, body: Buffer, remainingLength: Buffer = varint(body.length)): Buffer {
  return Buffer.concat([Buffer.from([firstByte]), remainingLength, body]);
}

/** MQTT 5 property identifiers (section 2.2.2.2). */
export const Property = {
  payloadFormatIndicator: 0x01,
  messageExpiryInterval: 0x02,
  contentType: 0x03,
  responseTopic: 0x08,
  correlationData: 0x09,
  subscriptionIdentifier: 0x0b,
  sessionExpiryInterval: 0x11,
  assignedClientIdentifier: 0x12,
  serverKeepAlive: 0x13,
  authenticationMethod: 0x15,
  authenticationData: 0x16,
  requestProblemInformation: 0x17,
  willDelayInterval: 0x18,
  requestResponseInformation: 0x19,
  reasonString: 0x1f,
  receiveMaximum: 0x21,
  topicAliasMaximum: 0x22,
  topicAlias: 0x23,
  maximumQoS: 0x24,
  retainAvailable: 0x25,
  userProperty: 0x26,
  maximumPacketSize: 0x27,
  wildcardSubscriptionAvailable: 0x28,
  subscriptionIdentifierAvailable: 0x29,
  sharedSubscriptionAvailable: 0x2a,
} as const;

/** One property, encoded by its identifier's type. */
export const prop = {
  byte: (id: number, value: number): Buffer => Buffer.from([id, value]),
  u16: (id: number, value: number): Buffer => Buffer.concat([Buffer.from([id]), u16(value)]),
  u32: (id: number, value: number): Buffer => Buffer.concat([Buffer.from([id]), u32(value)]),
  varint: (id: number, value: number): Buffer => Buffer.concat([Buffer.from([id]), varint(value)]),
  string: (id: number, value: Bytes): Buffer => Buffer.concat([Buffer.from([id]), field(value)]),
  pair: (id: number, name: Bytes, value: Bytes): Buffer => Buffer.concat([Buffer.from([id]), field(name), field(value)]),
};

/** A property block: its length, then the properties. */
export function properties(...props: Buffer[]): Buffer {
  const body = Buffer.concat(props);
  return Buffer.concat([varint(body.length), body]);
}

export interface ConnectFields {
  readonly protocolName?: Bytes;
  readonly level: number;
  /** Connect Flags as sent; computed from the fields below when absent. */
  readonly flags?: number;
  readonly clean?: boolean;
  readonly keepAlive?: number;
  /** MQTT 5: the property block (see `properties`); an empty one when absent. Ignored below level 5. */
  readonly properties?: Buffer;
  readonly clientId: Bytes;
  readonly will?: { readonly properties?: Buffer; readonly topic: Bytes; readonly payload?: Bytes; readonly qos?: number; readonly retain?: boolean };
  readonly username?: Bytes;
  readonly password?: Bytes;
  /** Bytes after the last field, inside the remaining length. */
  readonly trailing?: Bytes;
  /** Default 0x10. */
  readonly firstByte?: number;
}

export function connect(fields: ConnectFields): Buffer {
  const { level, will } = fields;
  const flags =
    fields.flags ??
    ((fields.clean ?? true ? 0x02 : 0) |
      (will !== undefined ? 0x04 | ((will.qos ?? 0) << 3) | (will.retain === true ? 0x20 : 0) : 0) |
      (fields.password !== undefined ? 0x40 : 0) |
      (fields.username !== undefined ? 0x80 : 0));
  const parts: Buffer[] = [field(fields.protocolName ?? 'MQTT'), Buffer.from([level, flags]), u16(fields.keepAlive ?? 0)];
  if (level === 5) parts.push(fields.properties ?? properties());
  parts.push(field(fields.clientId));
  if (will !== undefined) {
    if (level === 5) parts.push(will.properties ?? properties());
    parts.push(field(will.topic), field(will.payload ?? 'will'));
  }
  if (fields.username !== undefined) parts.push(field(fields.username));
  if (fields.password !== undefined) parts.push(field(fields.password));
  if (fields.trailing !== undefined) parts.push(bytes(fields.trailing));
  return packet(fields.firstByte ?? 0x10, Buffer.concat(parts));
}

export interface PublishFields {
  readonly topic: Bytes;
  readonly qos?: number;
  readonly dup?: boolean;
  readonly retain?: boolean;
  /** Present whenever given, whatever the QoS (so a QoS 1 packet can carry id 0). */
  readonly packetId?: number;
  /** MQTT 5: the property block; an empty one when absent. */
  readonly properties?: Buffer;
  readonly payload?: Bytes;
  /** Replaces the first byte computed from qos, dup and retain. */
  readonly firstByte?: number;
}

export function publish(fields: PublishFields, level: number): Buffer {
  const qos = fields.qos ?? 0;
  const firstByte = fields.firstByte ?? (0x30 | (fields.dup === true ? 0x08 : 0) | (qos << 1) | (fields.retain === true ? 1 : 0));
  const parts = [field(fields.topic)];
  const packetId = fields.packetId ?? (qos > 0 ? 1 : undefined);
  if (packetId !== undefined) parts.push(u16(packetId));
  if (level === 5) parts.push(fields.properties ?? properties());
  parts.push(bytes(fields.payload ?? 'x'));
  return packet(firstByte, Buffer.concat(parts));
}

export interface SubscriptionEntry {
  readonly filter: Bytes;
  /** The Subscription Options byte (3.1.1: the Requested QoS byte). */
  readonly options: number;
}

export function subscribe(fields: { packetId: number; entries: readonly SubscriptionEntry[]; properties?: Buffer; firstByte?: number }, level: number): Buffer {
  const parts = [u16(fields.packetId)];
  if (level === 5) parts.push(fields.properties ?? properties());
  for (const entry of fields.entries) parts.push(field(entry.filter), Buffer.from([entry.options]));
  return packet(fields.firstByte ?? 0x82, Buffer.concat(parts));
}

export function unsubscribe(fields: { packetId: number; filters: readonly Bytes[]; properties?: Buffer; firstByte?: number }, level: number): Buffer {
  const parts = [u16(fields.packetId)];
  if (level === 5) parts.push(fields.properties ?? properties());
  for (const filter of fields.filters) parts.push(field(filter));
  return packet(fields.firstByte ?? 0xa2, Buffer.concat(parts));
}

/** PUBACK, PUBREC, PUBREL or PUBCOMP with a packet id (and, when given, an MQTT 5 reason code). */
export function ack(firstByte: number, packetId: number, reasonCode?: number): Buffer {
  return packet(firstByte, reasonCode === undefined ? u16(packetId) : Buffer.concat([u16(packetId), Buffer.from([reasonCode])]));
}

export function disconnect(level: number, reasonCode?: number, props?: Buffer, firstByte = 0xe0): Buffer {
  if (level !== 5 || reasonCode === undefined) return packet(firstByte, Buffer.alloc(0));
  return packet(firstByte, Buffer.concat([Buffer.from([reasonCode]), props ?? properties()]));
}

export const PINGREQ = Buffer.from([0xc0, 0x00]);

/** Ill-formed UTF-8 (RFC 3629), each a way a decoder could be fooled into accepting it. */
export const ILL_FORMED_UTF8: readonly { readonly name: string; readonly bytes: readonly number[] }[] = [
  { name: 'a lead byte without its continuation', bytes: [0xc3, 0x28] },
  { name: 'the byte 0xFF', bytes: [0xff] },
  { name: 'an encoded surrogate U+D800', bytes: [0xed, 0xa0, 0x80] },
  { name: 'an overlong encoding of /', bytes: [0xc0, 0xaf] },
  { name: 'a five-byte sequence', bytes: [0xf8, 0x88, 0x80, 0x80, 0x80] },
];

/** `prefix` + the ill-formed bytes + `suffix`. */
export function withBytes(prefix: string, bad: readonly number[], suffix = ''): Buffer {
  return Buffer.concat([Buffer.from(prefix, 'utf8'), Buffer.from(bad), Buffer.from(suffix, 'utf8')]);
}
