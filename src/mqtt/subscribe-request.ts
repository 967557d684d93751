// SUBSCRIBE and UNSUBSCRIBE, as mqtt-packet parsed them, checked against MQTT 3.1.1 / 5.0 and turned
// into typed requests. mqtt-packet 9.0.2 already closes on: reserved fixed-header flags
// [MQTT-3.8.1-1, MQTT-3.10.1-1], reserved subscription-option bits [MQTT-3.8.3-5 (5.0),
// MQTT-3.8.3-4 (3.1.1)], a requested QoS of 3 and a Retain Handling of 3, and a truncated filter.
// What it hands over is checked here; the few checks it already makes are repeated where cheap, so
// a packet built some other way gets the same answer.
import type { ISubscribePacket, IUnsubscribePacket } from 'mqtt-packet';
import type { ServerCapabilities } from './capabilities.js';
import { isTopicProblem, parseTopicFilter, type TopicFilter } from './topics.js';
import type { ProtocolVersion, QoS } from './types.js';

/** SUBACK reason codes (MQTT 5.0 table 3-8; 3.1.1 knows 0, 1, 2 and 0x80). */
export const SubackCode = {
  GrantedQoS0: 0x00,
  GrantedQoS1: 0x01,
  GrantedQoS2: 0x02,
  UnspecifiedError: 0x80,
  ImplementationSpecificError: 0x83,
  NotAuthorized: 0x87,
  TopicFilterInvalid: 0x8f,
  PacketIdentifierInUse: 0x91,
  QuotaExceeded: 0x97,
  SharedSubscriptionsNotSupported: 0x9e,
  SubscriptionIdentifiersNotSupported: 0xa1,
  WildcardSubscriptionsNotSupported: 0xa2,
} as const;

/** UNSUBACK reason codes (MQTT 5.0 table 3-9; a 3.1.1 UNSUBACK carries none). */
export const UnsubackCode = {
  Success: 0x00,
  NoSubscriptionExisted: 0x11,
  UnspecifiedError: 0x80,
  ImplementationSpecificError: 0x83,
  NotAuthorized: 0x87,
  TopicFilterInvalid: 0x8f,
  PacketIdentifierInUse: 0x91,
} as const;

/** DISCONNECT reason codes for a SUBSCRIBE / UNSUBSCRIBE that is wrong as a whole (MQTT 5.0 table 3-10). */
export const PacketErrorCode = {
  MalformedPacket: 0x81,
  ProtocolError: 0x82,
  SharedSubscriptionsNotSupported: 0x9e,
  SubscriptionIdentifiersNotSupported: 0xa1,
  WildcardSubscriptionsNotSupported: 0xa2,
} as const;

export type UserProperties = Readonly<Record<string, string | readonly string[]>>;

export interface SubscriptionRequest {
  /** For a refused filter (see `refused`): its raw text as `filter`, unshared, not a wildcard. */
  readonly topicFilter: TopicFilter;
  /** The requested maximum QoS; the server may grant less [MQTT-3.8.4-7, MQTT-3.2.2-10]. */
  readonly qos: QoS;
  /** MQTT 5 only (false on 3.1.1). */
  readonly noLocal: boolean;
  /** MQTT 5 only (false on 3.1.1). */
  readonly retainAsPublished: boolean;
  /** MQTT 5 only (0 on 3.1.1). */
  readonly retainHandling: 0 | 1 | 2;
}

export interface SubscribeRequest {
  readonly packetId: number;
  /** One per filter of the packet, in packet order: SUBACK codes go in the same order [MQTT-3.9.3-1]. */
  readonly subscriptions: readonly SubscriptionRequest[];
  /**
   * Index -> SUBACK code for each filter that alone is not acceptable: 0x8F Topic Filter invalid
   * (5.0), 0x80 Failure (3.1.1, also for a wildcard filter when wildcards are unavailable
   * [MQTT-3.8.3-2 (3.1.1)]). The rest of the packet stands [MQTT-3.8.4-5].
   */
  readonly refused: ReadonlyMap<number, number>;
  readonly subscriptionIdentifier: number | undefined;
  readonly userProperties: UserProperties | undefined;
}

export interface UnsubscribeRequest {
  readonly packetId: number;
  /** One per filter of the packet, in packet order [MQTT-3.11.3-1]; refused ones hold their raw text. */
  readonly topicFilters: readonly TopicFilter[];
  /** Index -> UNSUBACK code 0x8F for a filter that is not a valid filter (MQTT 5; 3.1.1 answers without codes). */
  readonly refused: ReadonlyMap<number, number>;
  readonly userProperties: UserProperties | undefined;
}

/**
 * `ok: false`: the whole packet is a protocol error. MQTT 5: DISCONNECT with `reasonCode` and close;
 * 3.1.1: close the network connection (`reasonCode` is then only for the log and metrics).
 */
export type PacketVerdict<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reasonCode: number; readonly reason: string };

function refuse(reasonCode: number, reason: string): { ok: false; reasonCode: number; reason: string } {
  return { ok: false, reasonCode, reason };
}

const SUBSCRIBE_PROPERTIES = new Set(['subscriptionIdentifier', 'userProperties']);
const UNSUBSCRIBE_PROPERTIES = new Set(['userProperties']);
const MAX_SUBSCRIPTION_IDENTIFIER = 268_435_455;

/** A property not defined for the packet type makes it malformed [MQTT 5.0 2.2.2.2]. */
function foreignProperty(properties: object | undefined, allowed: ReadonlySet<string>): string | undefined {
  if (properties === undefined) return undefined;
  for (const name of Object.keys(properties)) {
    if (!allowed.has(name) && (properties as Record<string, unknown>)[name] !== undefined) return name;
  }
  return undefined;
}

/** [MQTT-2.2.1-3 (5.0) / MQTT-2.3.1-1 (3.1.1)] */
function packetIdProblem(packetId: number | undefined): string | undefined {
  if (packetId === undefined || !Number.isInteger(packetId) || packetId < 1 || packetId > 65_535) {
    return `packet identifier ${packetId ?? 'absent'} (must be 1..65535)`;
  }
  return undefined;
}

type SubscribeProperties = ISubscribePacket['properties'];

/** The Subscription Identifier, or the verdict that refuses the packet for it [MQTT 5.0 3.8.2.1.2]. */
function subscriptionIdentifier(
  properties: SubscribeProperties,
  capabilities: ServerCapabilities,
): { ok: true; value: number | undefined } | { ok: false; reasonCode: number; reason: string } {
  const value: unknown = properties?.subscriptionIdentifier;
  if (value === undefined) return { ok: true, value: undefined };
  if (Array.isArray(value)) return refuse(PacketErrorCode.ProtocolError, 'Subscription Identifier included more than once');
  if (typeof value !== 'number' || !Number.isInteger(value) || value > MAX_SUBSCRIPTION_IDENTIFIER || value < 0) {
    return refuse(PacketErrorCode.MalformedPacket, `Subscription Identifier ${String(value)} is not a variable byte integer`);
  }
  if (value === 0) return refuse(PacketErrorCode.ProtocolError, 'Subscription Identifier 0');
  if (!capabilities.subscriptionIdentifiersAvailable) {
    return refuse(PacketErrorCode.SubscriptionIdentifiersNotSupported, 'Subscription Identifiers are not supported');
  }
  return { ok: true, value };
}

function retainHandling(value: number | undefined): 0 | 1 | 2 | undefined {
  return value === undefined || value === 0 ? 0 : value === 1 || value === 2 ? value : undefined;
}

/** One filter/options pair: the request, or the verdict that refuses the whole packet. */
function subscription(
  raw: ISubscribePacket['subscriptions'][number],
  protocolVersion: ProtocolVersion,
  capabilities: ServerCapabilities,
): { request: SubscriptionRequest; refusedWith: number | undefined } | { ok: false; reasonCode: number; reason: string } {
  const v5 = protocolVersion === 5;
  const qos = raw.qos as number;
  // QoS 3: Protocol Error on 5.0 [3.8.3.1], malformed on 3.1.1 [MQTT-3.8.3-4].
  if (qos !== 0 && qos !== 1 && qos !== 2) {
    return refuse(v5 ? PacketErrorCode.ProtocolError : PacketErrorCode.MalformedPacket, `requested QoS ${qos}`);
  }
  const handling = v5 ? retainHandling(raw.rh) : 0;
  if (handling === undefined) return refuse(PacketErrorCode.ProtocolError, `Retain Handling ${String(raw.rh)}`);
  const noLocal = v5 && raw.nl === true;
  const parsed = parseTopicFilter(raw.topic, protocolVersion);
  let topicFilter: TopicFilter;
  let refusedWith: number | undefined;
  if (isTopicProblem(parsed)) {
    if (parsed.malformed) return refuse(PacketErrorCode.MalformedPacket, `topic filter ${parsed.reason}`);
    topicFilter = { filter: raw.topic, shareGroup: undefined, wildcard: false };
    refusedWith = v5 ? SubackCode.TopicFilterInvalid : SubackCode.UnspecifiedError;
  } else {
    topicFilter = parsed;
    if (parsed.shareGroup !== undefined) {
      if (!capabilities.sharedSubscriptionAvailable) {
        return refuse(PacketErrorCode.SharedSubscriptionsNotSupported, 'Shared Subscriptions are not supported');
      }
      if (noLocal) return refuse(PacketErrorCode.ProtocolError, 'No Local on a Shared Subscription [MQTT-3.8.3-4]');
    }
    if (parsed.wildcard && !capabilities.wildcardSubscriptionAvailable) {
      // 5.0: the server said so in CONNACK, using one anyway is a Protocol Error [3.2.2.3.11].
      if (v5) return refuse(PacketErrorCode.WildcardSubscriptionsNotSupported, 'Wildcard Subscriptions are not supported');
      refusedWith = SubackCode.UnspecifiedError;
    }
  }
  const request: SubscriptionRequest = { topicFilter, qos, noLocal, retainAsPublished: v5 && raw.rap === true, retainHandling: handling };
  return { request, refusedWith };
}

/**
 * Checks a parsed SUBSCRIBE. Whole-packet errors: packet identifier 0 [MQTT-2.2.1-3 / MQTT-2.3.1-1];
 * no filter [MQTT-3.8.3-2 (5.0) / MQTT-3.8.3-3 (3.1.1)]; a property other than Subscription
 * Identifier and User Property (malformed); the Subscription Identifier twice or 0, or at all when
 * unsupported (0xA1); QoS or Retain Handling 3; a filter with U+0000 (malformed); No Local on a
 * shared subscription [MQTT-3.8.3-4]; on 5.0 a shared (0x9E) or wildcard (0xA2) filter when the
 * capabilities say unavailable [3.2.2.3.11, 3.2.2.3.13]. A filter that alone is invalid gets its
 * SUBACK code in `refused`.
 */
export function validateSubscribe(
  packet: ISubscribePacket,
  protocolVersion: ProtocolVersion,
  capabilities: ServerCapabilities,
): PacketVerdict<SubscribeRequest> {
  const idProblem = packetIdProblem(packet.messageId);
  if (idProblem !== undefined) return refuse(PacketErrorCode.ProtocolError, `SUBSCRIBE ${idProblem}`);
  if (packet.subscriptions.length === 0) {
    return refuse(PacketErrorCode.ProtocolError, 'SUBSCRIBE without a topic filter');
  }
  const v5 = protocolVersion === 5;
  const properties = v5 ? packet.properties : undefined;
  const foreign = foreignProperty(properties, SUBSCRIBE_PROPERTIES);
  if (foreign !== undefined) return refuse(PacketErrorCode.MalformedPacket, `property ${foreign} is not allowed in SUBSCRIBE`);
  const identifier = subscriptionIdentifier(properties, capabilities);
  if (!identifier.ok) return identifier;
  const subscriptions: SubscriptionRequest[] = [];
  const refused = new Map<number, number>();
  for (const raw of packet.subscriptions) {
    const checked = subscription(raw, protocolVersion, capabilities);
    if ('ok' in checked) return checked;
    if (checked.refusedWith !== undefined) refused.set(subscriptions.length, checked.refusedWith);
    subscriptions.push(checked.request);
  }
  return {
    ok: true,
    value: { packetId: packet.messageId!, subscriptions, refused, subscriptionIdentifier: identifier.value, userProperties: properties?.userProperties },
  };
}

/**
 * Checks a parsed UNSUBSCRIBE: packet identifier 0 [MQTT-2.2.1-3 / MQTT-2.3.1-1]; no filter
 * [MQTT-3.10.3-2]; a property other than User Property (malformed); a filter with U+0000
 * (malformed). A filter that is not a valid filter gets 0x8F in `refused`: no subscription can have it.
 */
export function validateUnsubscribe(packet: IUnsubscribePacket, protocolVersion: ProtocolVersion): PacketVerdict<UnsubscribeRequest> {
  const idProblem = packetIdProblem(packet.messageId);
  if (idProblem !== undefined) return refuse(PacketErrorCode.ProtocolError, `UNSUBSCRIBE ${idProblem}`);
  if (packet.unsubscriptions.length === 0) {
    return refuse(PacketErrorCode.ProtocolError, 'UNSUBSCRIBE without a topic filter');
  }
  const properties = protocolVersion === 5 ? packet.properties : undefined;
  const foreign = foreignProperty(properties, UNSUBSCRIBE_PROPERTIES);
  if (foreign !== undefined) return refuse(PacketErrorCode.MalformedPacket, `property ${foreign} is not allowed in UNSUBSCRIBE`);
  const topicFilters: TopicFilter[] = [];
  const refused = new Map<number, number>();
  for (const raw of packet.unsubscriptions) {
    const parsed = parseTopicFilter(raw, protocolVersion);
    if (isTopicProblem(parsed)) {
      if (parsed.malformed) return refuse(PacketErrorCode.MalformedPacket, `topic filter ${parsed.reason}`);
      refused.set(topicFilters.length, UnsubackCode.TopicFilterInvalid);
      topicFilters.push({ filter: raw, shareGroup: undefined, wildcard: false });
    } else {
      topicFilters.push(parsed);
    }
  }
  return { ok: true, value: { packetId: packet.messageId!, topicFilters, refused, userProperties: properties?.userProperties } };
}
