// What one subscriber gets for one routed record: QoS, RETAIN and properties from the route and
// the subscriptions of that subscriber it matched. Pure.
import type { DeliveryRoute } from '../mapping/delivery-router.js';
import type { SubscriptionOptions } from '../mqtt/subscription-tree.js';
import type { OutboundMessage, OutboundProperties } from '../mqtt/outbound-window.js';
import type { QoS } from '../mqtt/types.js';

export type Skip = 'no-local' | 'expired';

/**
 * The message for one subscriber, or why it gets none. Overlapping subscriptions of one session
 * give one message [MQTT-3.3.4-2 allows either]: the highest of their QoS (each at most the
 * route's [MQTT-3.8.4-8]), every Subscription Identifier [MQTT-3.3.4-3], RETAIN as published
 * when one of them asks for it, else 0 [MQTT-3.3.1-12, MQTT-3.3.1-13]. A subscription with No
 * Local does not count for the subscriber's own messages [MQTT-3.8.3-3]. The Message Expiry
 * Interval is what remains of the original [MQTT-3.3.2-6]; an expired message is not sent [MQTT-3.3.2-5].
 */
export function messageFor(
  clientId: string,
  subscriptions: readonly SubscriptionOptions[],
  route: DeliveryRoute,
  payload: Buffer,
  now: number,
): OutboundMessage | Skip {
  let qos: QoS | -1 = -1;
  let retainAsPublished = false;
  let identifiers: number[] | undefined;
  const own = route.originClientId === clientId;
  for (const options of subscriptions) {
    if (own && options.noLocal) continue;
    const granted = Math.min(route.qos, options.qos) as QoS;
    if (granted > qos) qos = granted;
    if (options.retainAsPublished) retainAsPublished = true;
    if (options.subscriptionIdentifier !== undefined) (identifiers ??= []).push(options.subscriptionIdentifier);
  }
  if (qos === -1) return 'no-local';
  const properties = propertiesFor(route, identifiers, now);
  if (properties === 'expired') return 'expired';
  return {
    topic: route.mqttTopic,
    payload,
    qos,
    retain: retainAsPublished && route.retain,
    ...(properties !== undefined && { properties }),
  };
}

function propertiesFor(route: DeliveryRoute, identifiers: readonly number[] | undefined, now: number): OutboundProperties | undefined | 'expired' {
  let properties = route.properties;
  if (route.expiresAt !== undefined) {
    const left = route.expiresAt - now;
    if (left <= 0) return 'expired';
    properties = { ...properties, messageExpiryInterval: Math.ceil(left / 1000) };
  }
  if (identifiers !== undefined) properties = { ...properties, subscriptionIdentifiers: identifiers };
  return properties;
}
