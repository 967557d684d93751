// The public shapes of the outbound window (see outbound-window.ts) and the check of its options.
import type { Packet } from 'mqtt-packet';
import { MAX_PACKET_SIZE, type OutboundProperties } from './publish-encoding.js';
import type { ProtocolVersion, QoS } from './types.js';

export type { OutboundProperties } from './publish-encoding.js';

/** The most QoS 1 and 2 messages in flight the window allows, whatever the client's Receive Maximum. */
export const MAX_INFLIGHT = 32_767;

export interface OutboundMessage {
  /** A valid topic name (see topicNameProblem): the window does not check it again. */
  readonly topic: string;
  readonly payload: Buffer;
  /** Already the delivered QoS (the minimum of the record's, the subscription's and the rule's). */
  readonly qos: QoS;
  readonly retain: boolean;
  readonly properties?: OutboundProperties;
  /** Opaque here: handed back when the client acknowledged, so delivery can advance with it. */
  readonly token?: unknown;
}

/**
 * `sent`: in the packets returned. `queued`: waits for window room or a writable socket.
 * `too-large`: bigger than the client's Maximum Packet Size, skipped; the caller treats it as
 * delivered [MQTT-3.1.2-25]. `queue-full`: dropped, maxQueued messages already wait.
 */
export type OfferOutcome = 'sent' | 'queued' | 'too-large' | 'queue-full';

export interface OfferResult {
  readonly outcome: OfferOutcome;
  readonly packets: readonly Packet[];
}

export interface AckResult {
  /** The message whose QoS flow ended with this acknowledgement (QoS 1 PUBACK, QoS 2 PUBCOMP or a PUBREC >= 0x80). */
  readonly acknowledged: OutboundMessage | undefined;
  /** The client's reason code (0 when it sent none). */
  readonly reasonCode: number;
  /** PUBREL for a PUBREC, then what the freed window lets out, in order. */
  readonly packets: readonly Packet[];
  /** Set when the packet identifier was not in flight in the state this acknowledgement needs. */
  readonly error: string | undefined;
  /** PUBREC: the QoS 2 message now released (its PUBREL is in `packets`). */
  readonly released?: OutboundMessage;
}

export interface ResumeResult {
  /** PUBREL for released QoS 2 messages, DUP PUBLISH for the others, then queued messages, in order. */
  readonly packets: readonly Packet[];
  /** Too large for the new Maximum Packet Size: dropped, and to be treated as delivered [MQTT-3.1.2-25]. */
  readonly discarded: readonly OutboundMessage[];
}

export interface OutboundWindowOptions {
  /** The client's Receive Maximum (65535 when it sent none): QoS 1 and 2 in flight at most. */
  readonly receiveMaximum: number;
  /** The client's Maximum Packet Size; undefined when it sent none. */
  readonly maximumPacketSize: number | undefined;
  /** The client's Topic Alias Maximum (0: no aliases). */
  readonly topicAliasMaximum: number;
  readonly protocolVersion: ProtocolVersion;
  /** Messages that may wait for window room or a writable socket; past it offer() says 'queue-full'. */
  readonly maxQueued: number;
  /**
   * The server's own bound on QoS 1 and 2 in flight, below the client's Receive Maximum if lower
   * (allowed: MQTT-4.9.0-1). At most 32,767, which keeps packet identifier allocation O(1) amortised.
   */
  readonly maxInflight?: number;
}

export type OutboundState = 'queued' | 'sent' | 'released';

export interface OutboundSnapshotEntry {
  readonly packetId: number | undefined;
  readonly state: OutboundState;
  readonly message: OutboundMessage;
}

/** Throws RangeError for options the protocol (or the window) does not allow. */
export function checkWindowOptions(o: OutboundWindowOptions): void {
  const bad = (name: string, value: unknown): never => {
    throw new RangeError(`OutboundWindow ${name}: ${String(value)}`);
  };
  const int = (v: number, min: number, max: number): boolean => Number.isInteger(v) && v >= min && v <= max;
  if (!int(o.receiveMaximum, 1, 65_535)) bad('receiveMaximum', o.receiveMaximum);
  if (o.maximumPacketSize !== undefined && !int(o.maximumPacketSize, 1, MAX_PACKET_SIZE)) bad('maximumPacketSize', o.maximumPacketSize);
  if (!int(o.topicAliasMaximum, 0, 65_535)) bad('topicAliasMaximum', o.topicAliasMaximum);
  if (!int(o.maxQueued, 0, Number.MAX_SAFE_INTEGER)) bad('maxQueued', o.maxQueued);
  if (o.maxInflight !== undefined && !int(o.maxInflight, 1, MAX_INFLIGHT)) bad('maxInflight', o.maxInflight);
}
