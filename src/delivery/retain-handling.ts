/**
 * Which retained messages a SUBSCRIBE is sent, and how any message carries the RETAIN flag to a
 * subscriber. Pure: the runtime asks, the store answers what is retained.
 */
import type { OutboundProperties } from '../mqtt/publish-encoding.js';
import type { QoS } from '../mqtt/types.js';
import type { RetainedMessage, RetainedStore } from '../state/retained-store.js';

/** The SUBSCRIBE option (MQTT 5 3.8.3.1); a 3.1.1 subscription behaves as 0. */
export type RetainHandling = 0 | 1 | 2;

/**
 * Whether the retained messages matching a filter are sent now, as the SUBSCRIBE is answered:
 * 0 always [MQTT-3.3.1-9], 1 only when the subscription did not exist before [MQTT-3.3.1-10],
 * 2 never [MQTT-3.3.1-11]. A shared subscription is never sent retained messages (MQTT 5 4.8.2:
 * they are sent only when a Non-shared Subscription is made). MQTT 3.1.1 sends them for every
 * SUBSCRIBE, a repeated one too [MQTT-3.8.4-3]: pass 0.
 */
export function retainedToSend(retainHandling: RetainHandling, subscriptionExisted: boolean, shared = false): boolean {
  if (shared) return false;
  switch (retainHandling) {
    case 0:
      return true;
    case 1:
      return !subscriptionExisted;
    case 2:
      return false;
  }
}

/**
 * The RETAIN flag of a message sent because it matched an established subscription: 0 unless the
 * subscription asked for Retain As Published [MQTT-3.3.1-12, -13]; 3.1.1 always 0 [MQTT-3.3.1-9 (3.1.1)].
 */
export function liveRetainFlag(retainAsPublished: boolean, publishedWithRetain: boolean): boolean {
  return retainAsPublished && publishedWithRetain;
}

/** A retained message as it is sent to a new subscription. */
export interface RetainedDelivery {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  /** Always true: sent because a subscription was made [MQTT-3.3.1-8 (3.1.1)] (MQTT 5 3.3.1.3). */
  readonly retain: true;
  /** The stored properties, Message Expiry lowered by the time the message has been stored [MQTT-3.3.2-6]. */
  readonly properties: OutboundProperties | undefined;
}

/**
 * What to send for a retained message matched by a subscription granted `grantedQos`: the lower
 * of the two QoS [MQTT-3.8.4-8], RETAIN 1, the remaining expiry. undefined when it has expired.
 */
export function retainedDelivery(message: RetainedMessage, grantedQos: QoS, now: number): RetainedDelivery | undefined {
  const qos = (message.qos < grantedQos ? message.qos : grantedQos) as QoS;
  let properties: OutboundProperties | undefined = message.properties;
  const interval = message.properties?.messageExpiryInterval;
  if (interval !== undefined) {
    const remainingMs = message.storedAt + interval * 1000 - now;
    if (remainingMs <= 0) return undefined;
    properties = { ...message.properties, messageExpiryInterval: Math.ceil(remainingMs / 1000) };
  }
  return { topic: message.topic, payload: message.payload, qos, retain: true, properties };
}

/** What a new or repeated subscription asks of the retained messages. */
export interface RetainedRequest {
  /** The topic filter, without any `$share/GROUP/` prefix. */
  readonly filter: string;
  readonly grantedQos: QoS;
  readonly retainHandling: RetainHandling;
  readonly subscriptionExisted: boolean;
  readonly shared: boolean;
}

/**
 * The retained messages to send for one SUBSCRIBE entry, in the order the store gives them (none
 * when Retain Handling or a shared subscription says so), each as retainedDelivery() makes it.
 */
export function retainedForSubscription(store: Pick<RetainedStore, 'matching'>, request: RetainedRequest, now: number): RetainedDelivery[] {
  if (!retainedToSend(request.retainHandling, request.subscriptionExisted, request.shared)) return [];
  const out: RetainedDelivery[] = [];
  for (const message of store.matching(request.filter, now)) {
    const delivery = retainedDelivery(message, request.grantedQos, now);
    if (delivery !== undefined) out.push(delivery);
  }
  return out;
}
