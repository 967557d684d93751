// The size of an outbound PUBLISH as mqtt-packet will encode it, computed without encoding it, and
// the mqtt-packet properties object for it. Kept exact: the client's Maximum Packet Size is a MUST
// [MQTT-3.1.2-24], and a test compares every size here with mqtt-packet's own output.
import type { IPublishPacket, UserProperties as PacketUserProperties } from 'mqtt-packet';
import type { ProtocolVersion, PublishProperties, QoS } from './types.js';

/** What an outbound PUBLISH carries besides topic and payload (MQTT 5; dropped on 3.1.1). */
export interface OutboundProperties extends PublishProperties {
  /** The identifiers of the client's subscriptions this message matched [MQTT-3.3.4-3]. */
  readonly subscriptionIdentifiers?: readonly number[];
}

export type PacketPublishProperties = NonNullable<IPublishPacket['properties']>;

/** The largest Remaining Length a Variable Byte Integer can carry. */
export const MAX_REMAINING_LENGTH = 268_435_455;
/** The largest packet there can be: fixed header byte, 4 length bytes, the rest. */
export const MAX_PACKET_SIZE = 1 + 4 + MAX_REMAINING_LENGTH;
/** Identifier byte and Two Byte Integer. */
export const TOPIC_ALIAS_SIZE = 3;

export function varIntSize(n: number): number {
  return n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4;
}

function userPropertiesSize(userProperties: Readonly<Record<string, string | readonly string[]>>): number {
  let size = 0;
  for (const name of Object.getOwnPropertyNames(userProperties)) {
    const nameSize = 1 + 2 + Buffer.byteLength(name) + 2;
    const value = userProperties[name]!;
    if (typeof value === 'string') size += nameSize + Buffer.byteLength(value);
    else for (const item of value) size += nameSize + Buffer.byteLength(item);
  }
  return size;
}

/**
 * Bytes of the property list (without its length prefix and without a Topic Alias), as
 * packetProperties() hands it to mqtt-packet.
 */
export function propertiesSize(p: OutboundProperties | undefined): number {
  if (p === undefined) return 0;
  let size = 0;
  if (p.payloadFormatIndicator !== undefined) size += 2;
  if (p.messageExpiryInterval !== undefined) size += 5;
  if (p.contentType !== undefined) size += 3 + Buffer.byteLength(p.contentType);
  if (p.responseTopic !== undefined) size += 3 + Buffer.byteLength(p.responseTopic);
  if (p.correlationData !== undefined) size += 3 + p.correlationData.length;
  if (p.userProperties !== undefined) size += userPropertiesSize(p.userProperties);
  if (p.subscriptionIdentifiers !== undefined) for (const id of p.subscriptionIdentifiers) size += 1 + varIntSize(id);
  return size;
}

/** Size in bytes of the whole PUBLISH packet, fixed header included (Infinity past the protocol's limit). */
export function publishSize(topicBytes: number, payloadBytes: number, qos: QoS, protocolVersion: ProtocolVersion, propsSize: number): number {
  let remaining = 2 + topicBytes + payloadBytes + (qos > 0 ? 2 : 0);
  if (protocolVersion === 5) remaining += varIntSize(propsSize) + propsSize;
  return remaining > MAX_REMAINING_LENGTH ? Infinity : 1 + varIntSize(remaining) + remaining;
}

/**
 * The properties object for mqtt-packet, undefined when there are none. Empty User Properties and
 * an empty Subscription Identifier list are left out: mqtt-packet refuses a property of length 0.
 */
export function packetProperties(p: OutboundProperties | undefined, topicAlias: number | undefined): PacketPublishProperties | undefined {
  if (p === undefined) return topicAlias === undefined ? undefined : { topicAlias };
  const out: PacketPublishProperties = {};
  if (p.payloadFormatIndicator !== undefined) out.payloadFormatIndicator = p.payloadFormatIndicator;
  if (p.messageExpiryInterval !== undefined) out.messageExpiryInterval = p.messageExpiryInterval;
  if (p.contentType !== undefined) out.contentType = p.contentType;
  if (p.responseTopic !== undefined) out.responseTopic = p.responseTopic;
  if (p.correlationData !== undefined) out.correlationData = p.correlationData;
  if (p.userProperties !== undefined && userPropertiesSize(p.userProperties) > 0) {
    // mqtt-packet only reads the object; its type merely lacks `readonly`.
    out.userProperties = p.userProperties as PacketUserProperties;
  }
  const ids = p.subscriptionIdentifiers;
  if (ids !== undefined && ids.length > 0) out.subscriptionIdentifier = ids.length === 1 ? ids[0]! : [...ids];
  if (topicAlias !== undefined) out.topicAlias = topicAlias;
  return out;
}
