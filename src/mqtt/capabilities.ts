// Interim version of the module the `outbound` branch owns: the shapes the engine codes against.
// Replaced by that branch's file when merged.
import type { IConnackPacket } from 'mqtt-packet';
import type { QoS } from './types.js';

export interface ServerCapabilities {
  readonly retainAvailable: boolean;
  readonly wildcardSubscriptionAvailable: boolean;
  readonly subscriptionIdentifiersAvailable: boolean;
  readonly sharedSubscriptionAvailable: boolean;
  readonly maximumQoS: QoS;
}

export interface ConnackExtras {
  readonly receiveMaximum?: number;
  readonly maximumPacketSize?: number;
  readonly topicAliasMaximum?: number;
  readonly serverKeepAlive?: number;
  readonly assignedClientIdentifier?: string;
}

/** What the proxy has until delivery lands: nothing for subscribers, QoS 2 ingest. */
export const INGEST_ONLY_CAPABILITIES: ServerCapabilities = Object.freeze({
  retainAvailable: false,
  wildcardSubscriptionAvailable: false,
  subscriptionIdentifiersAvailable: false,
  sharedSubscriptionAvailable: false,
  maximumQoS: 2,
});

/** The CONNACK properties that advertise `c` (all four availabilities stated) plus the extras given. */
export function connackProperties(c: ServerCapabilities, extra: ConnackExtras): NonNullable<IConnackPacket['properties']> {
  const properties: NonNullable<IConnackPacket['properties']> = {
    retainAvailable: c.retainAvailable,
    wildcardSubscriptionAvailable: c.wildcardSubscriptionAvailable,
    subscriptionIdentifiersAvailable: c.subscriptionIdentifiersAvailable,
    sharedSubscriptionAvailable: c.sharedSubscriptionAvailable,
  };
  if (c.maximumQoS < 2) properties.maximumQoS = c.maximumQoS;
  if (extra.receiveMaximum !== undefined && extra.receiveMaximum < 65535) properties.receiveMaximum = extra.receiveMaximum;
  if (extra.maximumPacketSize !== undefined) properties.maximumPacketSize = extra.maximumPacketSize;
  if (extra.topicAliasMaximum !== undefined && extra.topicAliasMaximum > 0) properties.topicAliasMaximum = extra.topicAliasMaximum;
  if (extra.serverKeepAlive !== undefined) properties.serverKeepAlive = extra.serverKeepAlive;
  if (extra.assignedClientIdentifier !== undefined) properties.assignedClientIdentifier = extra.assignedClientIdentifier;
  return properties;
}
