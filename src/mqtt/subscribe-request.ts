// Interim version of the module the `outbound` branch owns: the shapes the engine codes against,
// with the rules it needs. Replaced by that branch's file when merged.
import type { ISubscribePacket, IUnsubscribePacket } from 'mqtt-packet';
import type { ServerCapabilities } from './capabilities.js';
import { ReasonCode } from './reason-codes.js';
import { parseTopicFilter, type TopicFilter } from './topics.js';
import type { ProtocolVersion, QoS } from './types.js';

export interface SubscriptionRequest {
  readonly topicFilter: TopicFilter;
  readonly qos: QoS;
  readonly noLocal: boolean;
  readonly retainAsPublished: boolean;
  readonly retainHandling: 0 | 1 | 2;
}

export interface SubscribeRequest {
  readonly packetId: number;
  /** The valid filters, in packet order (those in `refused` are left out). */
  readonly subscriptions: readonly SubscriptionRequest[];
  /** Per packet position of a filter that alone is invalid: the SUBACK code to answer it with. */
  readonly refused: ReadonlyMap<number, number>;
  readonly subscriptionIdentifier: number | undefined;
  readonly userProperties: Readonly<Record<string, string | readonly string[]>> | undefined;
}

export interface UnsubscribeRequest {
  readonly packetId: number;
  readonly topicFilters: readonly string[];
  readonly userProperties: Readonly<Record<string, string | readonly string[]>> | undefined;
}

export type PacketVerdict<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reasonCode: number; readonly reason: string };

const protocolError = (reason: string) => ({ ok: false, reasonCode: ReasonCode.ProtocolError, reason }) as const;

export function validateSubscribe(packet: ISubscribePacket, protocolVersion: ProtocolVersion, capabilities: ServerCapabilities): PacketVerdict<SubscribeRequest> {
  if (!(packet.messageId! > 0)) return protocolError('SUBSCRIBE with packet identifier 0');
  if (packet.subscriptions.length === 0) return protocolError('SUBSCRIBE without a topic filter');
  const id = packet.properties?.subscriptionIdentifier as number | number[] | undefined;
  if (Array.isArray(id)) return protocolError('more than one subscription identifier');
  if (id === 0) return protocolError('subscription identifier 0');
  if (id !== undefined && !capabilities.subscriptionIdentifiersAvailable) {
    return { ok: false, reasonCode: 0xa1, reason: 'subscription identifiers are not supported' };
  }
  const refused = new Map<number, number>();
  const subscriptions: SubscriptionRequest[] = [];
  for (const [index, s] of packet.subscriptions.entries()) {
    const parsed = parseTopicFilter(s.topic, protocolVersion);
    if (!('filter' in parsed)) {
      refused.set(index, protocolVersion === 5 ? ReasonCode.TopicFilterInvalid : 0x80);
      continue;
    }
    if (parsed.shareGroup !== undefined && s.nl === true) return protocolError('No Local on a shared subscription');
    if (parsed.shareGroup !== undefined && !capabilities.sharedSubscriptionAvailable) {
      refused.set(index, protocolVersion === 5 ? 0x9e : 0x80);
      continue;
    }
    if (parsed.wildcard && !capabilities.wildcardSubscriptionAvailable) {
      refused.set(index, protocolVersion === 5 ? 0xa2 : 0x80);
      continue;
    }
    subscriptions.push({ topicFilter: parsed, qos: s.qos, noLocal: s.nl === true, retainAsPublished: s.rap === true, retainHandling: (s.rh ?? 0) as 0 | 1 | 2 });
  }
  return { ok: true, value: { packetId: packet.messageId!, subscriptions, refused, subscriptionIdentifier: id, userProperties: packet.properties?.userProperties } };
}

export function validateUnsubscribe(packet: IUnsubscribePacket, _protocolVersion: ProtocolVersion): PacketVerdict<UnsubscribeRequest> {
  if (!(packet.messageId! > 0)) return protocolError('UNSUBSCRIBE with packet identifier 0');
  if (packet.unsubscriptions.length === 0) return protocolError('UNSUBSCRIBE without a topic filter');
  return { ok: true, value: { packetId: packet.messageId!, topicFilters: packet.unsubscriptions, userProperties: packet.properties?.userProperties } };
}
