import type { IConnectPacket } from 'mqtt-packet';
import type { ServerCapabilities } from '../capabilities.js';
import type { ConnectRefusal } from '../../observability/metrics.js';
import { ReasonCode, ReturnCode } from '../reason-codes.js';
import type { ProtocolVersion } from '../types.js';
import { foreignProperty } from './property-rules.js';
import { malformedPublishProperties, topicRefusal } from './publish-rules.js';

/**
 * Why a CONNECT is refused: the MQTT 5 reason code, the 3.1.1 return code (undefined: the
 * connection is closed without CONNACK, as 3.1.1 requires for a CONNECT that does not conform
 * [MQTT-3.1.4-1]), the metric's reason, and for protocol errors their kind.
 */
export interface ConnectRefusalSpec {
  readonly reasonCode: number;
  readonly returnCode: number | undefined;
  readonly refusal: ConnectRefusal;
  readonly protocolErrorKind?: string;
  readonly problem: string;
  /** The problem is for the log only (e.g. why credentials were refused): no Reason String to the client. */
  readonly withheld?: boolean;
}

const malformed = (problem: string, kind = 'malformed-connect'): ConnectRefusalSpec => ({
  reasonCode: ReasonCode.MalformedPacket,
  returnCode: undefined,
  refusal: 'malformed',
  protocolErrorKind: kind,
  problem,
});
const protocolError = (problem: string, kind: string): ConnectRefusalSpec => ({
  reasonCode: ReasonCode.ProtocolError,
  returnCode: undefined,
  refusal: 'protocol-error',
  protocolErrorKind: kind,
  problem,
});

export type ProtocolCheck =
  | { readonly kind: 'supported'; readonly version: ProtocolVersion }
  | { readonly kind: 'unsupported'; readonly level: number }
  | { readonly kind: 'not-mqtt' };

/**
 * The protocol name and level of a CONNECT frame, read before the packet parser (which refuses an
 * unknown level outright): MQTT with 4 or 5, MQIsdp with 3. An MQTT or MQIsdp CONNECT with another
 * level is answered CONNACK 0x01 / 0x84 [MQTT-3.1.2-2]; another protocol name is closed [MQTT-3.1.2-1].
 */
export function checkProtocol(frame: Buffer): ProtocolCheck | undefined {
  let at = 1;
  while (at < frame.length && (frame[at]! & 0x80) !== 0) at++;
  at++;
  if (at + 2 > frame.length) return undefined;
  const nameLength = frame.readUInt16BE(at);
  at += 2;
  if (at + nameLength + 1 > frame.length) return undefined;
  const name = frame.toString('latin1', at, at + nameLength);
  // Exactly the level: a level with the top bit set (some bridges') is not one of these.
  const level = frame[at + nameLength]!;
  if (name === 'MQTT' && (level === 4 || level === 5)) return { kind: 'supported', version: level };
  if (name === 'MQIsdp' && level === 3) return { kind: 'supported', version: 3 };
  if (name === 'MQTT' || name === 'MQIsdp') return { kind: 'unsupported', level };
  return { kind: 'not-mqtt' };
}

/**
 * Bytes after the last field the CONNECT's flags announce. mqtt-packet stops reading there, so a
 * CONNECT with something after its password was taken as if it ended there; the Remaining Length
 * says otherwise, which makes it malformed. Only for a frame mqtt-packet read without error (every
 * length below is then within the frame).
 */
export function connectTrailingBytes(frame: Buffer): number {
  let at = 1;
  while ((frame[at]! & 0x80) !== 0) at++;
  at++;
  const skipString = (): void => {
    at += 2 + frame.readUInt16BE(at);
  };
  const skipProperties = (): void => {
    let length = 0;
    let multiplier = 1;
    for (;;) {
      const byte = frame[at++]!;
      length += (byte & 0x7f) * multiplier;
      if ((byte & 0x80) === 0) break;
      multiplier *= 128;
    }
    at += length;
  };
  skipString();
  const v5 = frame[at] === 5;
  const flags = frame[at + 1]!;
  at += 4;
  if (v5) skipProperties();
  skipString();
  if ((flags & 0x04) !== 0) {
    if (v5) skipProperties();
    skipString();
    skipString();
  }
  if ((flags & 0x80) !== 0) skipString();
  if ((flags & 0x40) !== 0) skipString();
  return frame.length - at;
}

/** Rules of CONNECT beyond its encoding, checked before anything is spent on the client. */
export function connectProblem(packet: IConnectPacket, version: ProtocolVersion, capabilities: ServerCapabilities): ConnectRefusalSpec | undefined {
  const p = packet.properties;
  if (version === 5 && p !== undefined) {
    const foreign = foreignProperty(p, 'connect');
    if (foreign !== undefined) return malformed(`property ${foreign} does not belong in CONNECT`, 'foreign-property');
    if (p.receiveMaximum === 0) return protocolError('Receive Maximum 0', 'receive-maximum-zero');
    if (p.maximumPacketSize === 0) return protocolError('Maximum Packet Size 0', 'maximum-packet-size-zero');
    if (p.authenticationData !== undefined && p.authenticationMethod === undefined) return protocolError('Authentication Data without Authentication Method', 'authentication-data');
    if (p.authenticationMethod !== undefined) {
      return { reasonCode: ReasonCode.BadAuthenticationMethod, returnCode: undefined, refusal: 'bad-authentication-method', problem: `enhanced authentication (${p.authenticationMethod.slice(0, 64)}) is not supported` };
    }
  }
  // 3.1.1: a password needs a user name [MQTT-3.1.2-22].
  if (version !== 5 && packet.password !== undefined && packet.username === undefined) return malformed('password without user name');
  return packet.will === undefined ? undefined : willProblem(packet.will, version, capabilities);
}

function willProblem(will: NonNullable<IConnectPacket['will']>, version: ProtocolVersion, capabilities: ServerCapabilities): ConnectRefusalSpec | undefined {
  // Will QoS 3 [MQTT-3.1.2-14 (3.1.1), MQTT-3.1.2-12 (v5)]: mqtt-packet reads the two bits as they are.
  if ((will.qos ?? 0) > 2) return malformed('Will QoS 3');
  const topic = topicRefusal(will.topic);
  if (topic !== undefined) {
    if (topic.reasonCode === ReasonCode.MalformedPacket) return malformed(`will topic: ${topic.reason}`, topic.kind);
    return { reasonCode: ReasonCode.TopicNameInvalid, returnCode: undefined, refusal: 'topic-name-invalid', protocolErrorKind: topic.kind, problem: `will topic: ${topic.reason}` };
  }
  if (will.properties !== undefined) {
    const foreign = foreignProperty(will.properties, 'will');
    if (foreign !== undefined) return malformed(`property ${foreign} does not belong in the will`, 'foreign-property');
    const problem = malformedPublishProperties(will.properties);
    if (problem !== undefined) return malformed(`will properties: ${problem}`, 'malformed-properties');
  }
  // MQTT 5: a will to be retained by a server without retained messages [MQTT-3.2.2-13].
  if (version === 5 && will.retain === true && !capabilities.retainAvailable) {
    return { reasonCode: ReasonCode.RetainNotSupported, returnCode: undefined, refusal: 'retain-not-supported', problem: 'a retained will, and retained messages are not available' };
  }
  if (version === 5 && (will.qos ?? 0) > capabilities.maximumQoS) {
    return { reasonCode: ReasonCode.QoSNotSupported, returnCode: undefined, refusal: 'qos-not-supported', problem: `Will QoS ${will.qos} above the Maximum QoS ${capabilities.maximumQoS}` };
  }
  return undefined;
}

/** Client identifier rules: [MQTT-3.1.3-8] (3.1.1 empty id needs a clean session), the configured length. */
export function clientIdProblem(packet: IConnectPacket, version: ProtocolVersion, maxLength: number): ConnectRefusalSpec | undefined {
  const id = packet.clientId;
  if (id.length === 0 && (version === 3 || (version === 4 && packet.clean !== true))) {
    return { reasonCode: ReasonCode.ClientIdentifierNotValid, returnCode: ReturnCode.IdentifierRejected, refusal: 'client-id-invalid', problem: version === 3 ? 'empty client identifier (MQTT 3.1)' : 'empty client identifier without a clean session' };
  }
  if (id.length > maxLength) {
    return { reasonCode: ReasonCode.ClientIdentifierNotValid, returnCode: ReturnCode.IdentifierRejected, refusal: 'client-id-length', problem: `client identifier longer than ${maxLength}` };
  }
  return undefined;
}
