// What the server supports, and the MQTT 5 CONNACK properties that say so (MQTT 5.0 section 3.2.2.3).
import type { IConnackPacket } from 'mqtt-packet';
import type { QoS } from './types.js';

export interface ServerCapabilities {
  /** Retained messages are stored and sent. */
  readonly retainAvailable: boolean;
  /** SUBSCRIBE filters may contain `+` and `#`. */
  readonly wildcardSubscriptionAvailable: boolean;
  /** SUBSCRIBE may carry a Subscription Identifier. */
  readonly subscriptionIdentifiersAvailable: boolean;
  /** SUBSCRIBE may use `$share/{ShareName}/{filter}`. */
  readonly sharedSubscriptionAvailable: boolean;
  /** The highest QoS of PUBLISH the server accepts from clients. */
  readonly maximumQoS: QoS;
}

/** What the proxy can do while it only ingests: no SUBSCRIBE is served yet. */
export const INGEST_ONLY_CAPABILITIES: ServerCapabilities = Object.freeze({
  retainAvailable: false,
  wildcardSubscriptionAvailable: false,
  subscriptionIdentifiersAvailable: false,
  sharedSubscriptionAvailable: false,
  maximumQoS: 2,
});

/** Connection-specific CONNACK properties, each sent only when given. */
export interface ConnackExtras {
  /** The server's Receive Maximum, 1..65535 (absent means 65535). */
  readonly receiveMaximum?: number;
  /** The largest packet the server accepts, 1..268,435,455 bytes (absent means no limit beyond the protocol's). */
  readonly maximumPacketSize?: number;
  /** The highest Topic Alias the client may send, 0..65535 (0 or absent: none). */
  readonly topicAliasMaximum?: number;
  /** Keep Alive the client must use instead of its own, 0..65535 seconds. */
  readonly serverKeepAlive?: number;
  /** The client identifier the server assigned to a client that connected with an empty one. */
  readonly assignedClientIdentifier?: string;
  /** The Session Expiry Interval the server uses when it differs from the client's, in seconds. */
  readonly sessionExpiryInterval?: number;
}

export type ConnackProperties = NonNullable<IConnackPacket['properties']>;

function checkRange(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`CONNACK ${name} must be an integer in ${min}..${max}, got ${value}`);
  }
  return value;
}

/**
 * The MQTT 5 CONNACK properties for these capabilities and extras. The four availability flags
 * are always stated, even where they equal the default (available), so that a client never has to
 * assume [MQTT 5.0 3.2.2.3.5, 3.2.2.3.11-13]. Maximum QoS is sent only when it is below 2: the
 * property may only be 0 or 1, and its absence means 2 [MQTT-3.2.2-9].
 * Throws RangeError for a value the protocol does not allow (a configuration error).
 */
export function connackProperties(capabilities: ServerCapabilities, extras: ConnackExtras = {}): ConnackProperties {
  const properties: ConnackProperties = {
    retainAvailable: capabilities.retainAvailable,
    wildcardSubscriptionAvailable: capabilities.wildcardSubscriptionAvailable,
    subscriptionIdentifiersAvailable: capabilities.subscriptionIdentifiersAvailable,
    sharedSubscriptionAvailable: capabilities.sharedSubscriptionAvailable,
  };
  if (capabilities.maximumQoS < 2) properties.maximumQoS = checkRange('Maximum QoS', capabilities.maximumQoS, 0, 1);
  // Receive Maximum 0 and Maximum Packet Size 0 are protocol errors [3.2.2.3.3, 3.2.2.3.6].
  if (extras.receiveMaximum !== undefined) properties.receiveMaximum = checkRange('Receive Maximum', extras.receiveMaximum, 1, 65_535);
  if (extras.maximumPacketSize !== undefined) {
    properties.maximumPacketSize = checkRange('Maximum Packet Size', extras.maximumPacketSize, 1, 268_435_455);
  }
  if (extras.topicAliasMaximum !== undefined && extras.topicAliasMaximum !== 0) {
    properties.topicAliasMaximum = checkRange('Topic Alias Maximum', extras.topicAliasMaximum, 0, 65_535);
  }
  if (extras.serverKeepAlive !== undefined) properties.serverKeepAlive = checkRange('Server Keep Alive', extras.serverKeepAlive, 0, 65_535);
  if (extras.sessionExpiryInterval !== undefined) {
    properties.sessionExpiryInterval = checkRange('Session Expiry Interval', extras.sessionExpiryInterval, 0, 0xffff_ffff);
  }
  if (extras.assignedClientIdentifier !== undefined) properties.assignedClientIdentifier = extras.assignedClientIdentifier;
  return properties;
}
