// The conformance suite's client: a raw TCP connection that writes bytes as given and records
// every packet the server sends back (its bytes and, where mqtt-packet can read it, the parsed
// packet) and when the server closed the connection. Plus the assertions the normative statements
// share: "closed, or DISCONNECT with one of these reason codes then closed".
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import mqttPacket from 'mqtt-packet';
import * as bytes from './mqtt-bytes.js';

export type Packet = mqttPacket.Packet;
export type Version = 4 | 5;
export const VERSIONS: readonly Version[] = [4, 5];
export const versionName = (version: Version): string => (version === 5 ? 'v5' : 'v3.1.1');

/** How long a server has to answer or close before a test calls it silent. */
export const ANSWER_MS = 3000;

export interface Received {
  /** The packet's bytes as they came off the wire. */
  readonly raw: Buffer;
  /** mqtt-packet's reading of them; undefined when it could not read them (see `error`). */
  readonly packet: Packet | undefined;
  readonly error: string | undefined;
  readonly at: number;
}

export class ConformanceClient {
  readonly received: Received[] = [];
  /** Set when the socket closed; the suite never closes first unless `destroy()` was called. */
  closedAt: number | undefined;
  readonly openedAt = Date.now();
  private buffer = Buffer.alloc(0);
  private readonly waiters = new Set<() => void>();
  private destroyedByUs = false;
  private readonly parser: ReturnType<typeof mqttPacket.parser>;
  private parsed: Packet | undefined;
  private parseError: string | undefined;

  private constructor(
    readonly socket: net.Socket,
    readonly version: Version,
  ) {
    this.parser = mqttPacket.parser({ protocolVersion: version });
    this.parser.on('packet', (p: Packet) => (this.parsed = p));
    this.parser.on('error', (e: Error) => (this.parseError = e.message));
    socket.on('data', (data: Buffer) => this.onData(data));
    socket.on('error', () => undefined); // a reset is a close for these tests
    socket.once('close', () => {
      this.closedAt = Date.now();
      this.notify();
    });
  }

  static async open(port: number, version: Version): Promise<ConformanceClient> {
    const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
    await once(socket, 'connect');
    return new ConformanceClient(socket, version);
  }

  /** Writes the buffers in one socket.write (one TCP segment as far as the loopback goes). */
  send(...buffers: Buffer[]): void {
    if (!this.socket.destroyed) this.socket.write(Buffer.concat(buffers));
  }

  get closed(): boolean {
    return this.closedAt !== undefined;
  }

  get packets(): Packet[] {
    return this.received.flatMap((r) => (r.packet === undefined ? [] : [r.packet]));
  }

  /** Parsed packets received from position `from` of `received` on. */
  packetsSince(from: number): Packet[] {
    return this.received.slice(from).flatMap((r) => (r.packet === undefined ? [] : [r.packet]));
  }

  of<C extends Packet['cmd']>(cmd: C): Extract<Packet, { cmd: C }>[] {
    return this.packets.filter((p): p is Extract<Packet, { cmd: C }> => p.cmd === cmd);
  }

  /** The first packet (already received or to come) that matches; rejects on close or timeout. */
  async waitFor(match: Packet['cmd'] | ((p: Packet) => boolean), what?: string, timeoutMs = ANSWER_MS): Promise<Packet> {
    const predicate = typeof match === 'string' ? (p: Packet) => p.cmd === match : match;
    const label = what ?? (typeof match === 'string' ? match.toUpperCase() : 'packet');
    await this.until(() => this.packets.some(predicate), label, timeoutMs, true);
    return this.packets.find(predicate)!;
  }

  async waitForCount(match: (p: Packet) => boolean, count: number, what: string, timeoutMs = ANSWER_MS): Promise<Packet[]> {
    await this.until(() => this.packets.filter(match).length >= count, what, timeoutMs, true);
    return this.packets.filter(match);
  }

  /** True when the server closed the connection within `timeoutMs`. */
  async waitClosed(timeoutMs = ANSWER_MS): Promise<boolean> {
    try {
      await this.until(() => this.closed, 'close', timeoutMs, false);
      return true;
    } catch {
      return false;
    }
  }

  /** Still connected and served: a PINGREQ gets its PINGRESP. */
  async answersPing(timeoutMs = ANSWER_MS): Promise<boolean> {
    if (this.closed) return false;
    const before = this.of('pingresp').length;
    this.send(bytes.PINGREQ);
    try {
      await this.until(() => this.of('pingresp').length > before, 'PINGRESP', timeoutMs, true);
      return true;
    } catch {
      return false;
    }
  }

  destroy(): void {
    this.destroyedByUs = true;
    this.socket.destroy();
  }

  get closedByServer(): boolean {
    return this.closed && !this.destroyedByUs;
  }

  /** What came back so far, for assertion messages. */
  describe(from = 0): string {
    const items = this.received.slice(from).map((r) => {
      if (r.packet === undefined) return `unreadable(${r.raw.subarray(0, 16).toString('hex')}: ${r.error})`;
      const p = r.packet as Packet & { reasonCode?: number; returnCode?: number; granted?: unknown; messageId?: number };
      const code = p.reasonCode ?? p.returnCode;
      const detail = [p.messageId !== undefined ? `id ${p.messageId}` : '', code !== undefined ? `code 0x${code.toString(16)}` : '', p.granted !== undefined ? `granted ${JSON.stringify(p.granted)}` : '']
        .filter((s) => s !== '')
        .join(' ');
      return `${p.cmd.toUpperCase()}${detail === '' ? '' : `(${detail})`}`;
    });
    return `${items.length === 0 ? 'nothing' : items.join(', ')}${this.closed ? (this.closedByServer ? ', then closed' : ', then closed by the test') : ', connection open'}`;
  }

  private onData(data: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, data]);
    for (;;) {
      const frame = frameLength(this.buffer);
      if (frame === undefined || frame > this.buffer.length) break;
      const raw = this.buffer.subarray(0, frame);
      this.buffer = this.buffer.subarray(frame);
      this.parsed = undefined;
      this.parseError = undefined;
      this.parser.parse(Buffer.from(raw));
      this.received.push({ raw: Buffer.from(raw), packet: this.parsed, error: this.parsed === undefined ? (this.parseError ?? 'not parsed') : undefined, at: Date.now() });
    }
    this.notify();
  }

  private until(done: () => boolean, what: string, timeoutMs: number, failOnClose: boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (done()) return finish();
        if (failOnClose && this.closed) finish(new Error(`connection closed while waiting for ${what}; received: ${this.describe()}`));
      };
      const timer = setTimeout(() => finish(new Error(`no ${what} within ${timeoutMs} ms; received: ${this.describe()}`)), timeoutMs);
      const finish = (error?: Error): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        if (error === undefined) resolve();
        else reject(error);
      };
      this.waiters.add(check);
      check();
    });
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

/** Length of the packet at the start of `buffer` (fixed header included), undefined until knowable. */
function frameLength(buffer: Buffer): number | undefined {
  let length = 0;
  let multiplier = 1;
  for (let i = 1; i < 5; i++) {
    if (i >= buffer.length) return undefined;
    const byte = buffer[i]!;
    length += (byte & 0x7f) * multiplier;
    multiplier *= 128;
    if ((byte & 0x80) === 0) return i + 1 + length;
  }
  // A remaining length of more than four bytes from the server: take the rest as one broken packet.
  return buffer.length;
}

export type ConnackPacket = mqttPacket.IConnackPacket;

/** The code of a CONNACK, whichever version it is: 3.1.1 return code or MQTT 5 reason code. */
export function connackCode(connack: ConnackPacket): number {
  return connack.reasonCode ?? connack.returnCode ?? -1;
}

export function reasonCodeOf(p: Packet): number {
  return (p as { reasonCode?: number }).reasonCode ?? 0;
}

/** Opens a connection, sends `connectBytes` and waits for a CONNACK accepting it. */
export async function connectWith(port: number, version: Version, connectBytes: Buffer): Promise<{ client: ConformanceClient; connack: ConnackPacket }> {
  const client = await ConformanceClient.open(port, version);
  client.send(connectBytes);
  const connack = (await client.waitFor('connack')) as ConnackPacket;
  if (connackCode(connack) !== 0) {
    client.destroy();
    throw new Error(`CONNACK refused the connection: code 0x${connackCode(connack).toString(16)}`);
  }
  return { client, connack };
}

/** A well-formed CONNECT (built by mqtt-packet), clean session, no keep alive. */
export function connectPacket(clientId: string, version: Version, extra: Partial<mqttPacket.IConnectPacket> = {}): Buffer {
  return mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clean: true, keepalive: 0, clientId, ...extra }, { protocolVersion: version });
}

export async function connected(port: number, version: Version, clientId: string, extra: Partial<mqttPacket.IConnectPacket> = {}) {
  return connectWith(port, version, connectPacket(clientId, version, extra));
}

export function encode(p: Packet, version: Version): Buffer {
  return mqttPacket.generate(p, { protocolVersion: version });
}

let clientCounter = 0;
/** A client id unique to this test run, made of the characters every server must accept (MQTT-3.1.3-5). */
export function clientIdFor(label: string): string {
  clientCounter++;
  const clean = label.replace(/[^0-9a-zA-Z]/g, '').slice(0, 12);
  return `c${clean}${process.pid.toString(36)}${clientCounter.toString(36)}`.slice(0, 23);
}

export interface RefusalExpectation {
  /**
   * MQTT 5: the reason codes a DISCONNECT (or, for CONNECT errors, a CONNACK) before the close may
   * carry. Empty or absent: nothing may be sent before the close. For 3.1.1 nothing may be sent
   * unless `connackCodes` names return codes (3.1.1 has no DISCONNECT from the server).
   */
  readonly disconnectCodes?: readonly number[];
  /** CONNECT errors: the CONNACK codes allowed before the close (3.1.1 return codes or MQTT 5 reason codes). */
  readonly connackCodes?: readonly number[];
  /** Other packets allowed before the close (e.g. acknowledgements of earlier PUBLISHes). */
  readonly allow?: readonly Packet['cmd'][];
  /** Received packets from this position on are judged (default: everything). */
  readonly from?: number;
  readonly timeoutMs?: number;
}

/**
 * The server closed the connection, sending before that at most what the statement allows: for
 * MQTT 5 a DISCONNECT with one of `disconnectCodes` as the last packet [MQTT-3.14.4-1, MQTT-4.13.1-1],
 * carrying no Session Expiry Interval [MQTT-3.14.2-2]; for a CONNECT error a CONNACK with one of
 * `connackCodes` and no DISCONNECT [MQTT-3.14.0-1].
 */
export async function assertClosedAfter(client: ConformanceClient, expected: RefusalExpectation, what: string): Promise<void> {
  const from = expected.from ?? 0;
  const closed = await client.waitClosed(expected.timeoutMs ?? ANSWER_MS);
  const context = `${what}: received ${client.describe(from)}`;
  assert.ok(closed, `${what}: the server must close the connection; ${context}`);
  const got = client.received.slice(from);
  const unreadable = got.find((r) => r.packet === undefined);
  assert.equal(unreadable, undefined, `${context}: the server sent bytes that are not a packet`);
  const packets = got.map((r) => r.packet!);
  const allowed = new Set(expected.allow ?? []);
  const disconnectCodes = client.version === 5 ? (expected.disconnectCodes ?? []) : [];
  const connackCodes = expected.connackCodes ?? [];
  packets.forEach((p, index) => {
    if (allowed.has(p.cmd)) return;
    if (p.cmd === 'connack' && connackCodes.length > 0) {
      assert.ok(connackCodes.includes(connackCode(p as ConnackPacket)), `${context}: CONNACK code must be one of ${hexList(connackCodes)}`);
      return;
    }
    if (p.cmd === 'disconnect' && disconnectCodes.length > 0 && connackCodes.length === 0) {
      assert.equal(index, packets.length - 1, `${context}: nothing may follow a DISCONNECT [MQTT-3.14.4-1]`);
      assert.ok(disconnectCodes.includes(reasonCodeOf(p)), `${context}: DISCONNECT reason code must be one of ${hexList(disconnectCodes)}`);
      assert.equal(p.properties?.sessionExpiryInterval, undefined, `${context}: a server DISCONNECT carries no Session Expiry Interval [MQTT-3.14.2-2]`);
      return;
    }
    assert.fail(`${context}: ${p.cmd.toUpperCase()} is not allowed here (allowed before the close: ${describeAllowed(expected, client.version)})`);
  });
}

function describeAllowed(expected: RefusalExpectation, version: Version): string {
  const parts: string[] = [];
  if ((expected.connackCodes ?? []).length > 0) parts.push(`CONNACK ${hexList(expected.connackCodes!)}`);
  else if (version === 5 && (expected.disconnectCodes ?? []).length > 0) parts.push(`DISCONNECT ${hexList(expected.disconnectCodes!)}`);
  for (const cmd of expected.allow ?? []) parts.push(cmd.toUpperCase());
  return parts.length === 0 ? 'nothing' : parts.join(', ');
}

export function hexList(codes: readonly number[]): string {
  return codes.map((c) => `0x${c.toString(16).padStart(2, '0')}`).join('/');
}

export const Code = {
  success: 0x00,
  noSubscriptionExisted: 0x11,
  unspecifiedError: 0x80,
  malformed: 0x81,
  protocolError: 0x82,
  implementationSpecific: 0x83,
  unsupportedProtocolVersion: 0x84,
  clientIdentifierNotValid: 0x85,
  badUserNameOrPassword: 0x86,
  notAuthorized: 0x87,
  badAuthenticationMethod: 0x8c,
  keepAliveTimeout: 0x8d,
  sessionTakenOver: 0x8e,
  topicFilterInvalid: 0x8f,
  topicNameInvalid: 0x90,
  packetIdentifierNotFound: 0x92,
  receiveMaximumExceeded: 0x93,
  topicAliasInvalid: 0x94,
  packetTooLarge: 0x95,
  retainNotSupported: 0x9a,
  sharedSubscriptionsNotSupported: 0x9e,
  subscriptionIdentifiersNotSupported: 0xa1,
  wildcardSubscriptionsNotSupported: 0xa2,
} as const;

/** 3.1.1 CONNACK return codes. */
export const ReturnCode = { accepted: 0, unacceptableProtocolVersion: 1, identifierRejected: 2 } as const;

/** Codes a malformed packet or protocol error may be answered with before the close (MQTT 5 section 4.13). */
export const MALFORMED_OR_PROTOCOL_ERROR: readonly number[] = [Code.malformed, Code.protocolError];
