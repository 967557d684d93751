// One message in the outbound window and the states of its QoS flow (see outbound-window.ts).
import type { Packet } from 'mqtt-packet';
import type { AckResult, OfferResult, OutboundMessage, OutboundSnapshotEntry } from './outbound-types.js';

export const EMPTY: readonly Packet[] = Object.freeze([]);
export const QUEUED: OfferResult = Object.freeze({ outcome: 'queued', packets: EMPTY });
export const TOO_LARGE: OfferResult = Object.freeze({ outcome: 'too-large', packets: EMPTY });
export const QUEUE_FULL: OfferResult = Object.freeze({ outcome: 'queue-full', packets: EMPTY });

/** An acknowledgement for an identifier not in flight in the state it needs. */
export function unexpectedAck(kind: string, packetId: number, reasonCode: number, packets: readonly Packet[]): AckResult {
  return { acknowledged: undefined, reasonCode, packets, error: `${kind} for packet identifier ${packetId}, which is not in flight for it` };
}

export const MAX_PACKET_ID = 65_535;
export const PACKET_ID_NOT_FOUND = 0x92;

export const enum State {
  Queued,
  Sent,
  /** PUBREC received, PUBREL sent, waiting for PUBCOMP. */
  Released,
  /** Sent on an earlier connection, not yet again on this one (the window was full at resume). */
  AwaitingResend,
  Done,
}

/** One message on its way: one allocation per queued or QoS 1/2 message, none for a QoS 0 sent at once. */
export class Entry {
  packetId = 0;
  state = State.Queued;
  constructor(
    readonly message: OutboundMessage,
    readonly seq: number,
    readonly topicBytes: number,
    public propsSize: number,
  ) {}
}

/** An entry of a stored session: queued (no identifier), released, or to be sent again (DUP). */
export function restoredEntry(snapshot: OutboundSnapshotEntry, seq: number): Entry {
  const entry = new Entry(snapshot.message, seq, Buffer.byteLength(snapshot.message.topic), 0);
  if (snapshot.packetId === undefined || snapshot.state === 'queued' || snapshot.message.qos === 0) return entry;
  entry.packetId = snapshot.packetId;
  entry.state = snapshot.state === 'released' ? State.Released : State.AwaitingResend;
  return entry;
}
