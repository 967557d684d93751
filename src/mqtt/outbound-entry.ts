// One message in the outbound window and the states of its QoS flow (see outbound-window.ts).
import type { OutboundMessage } from './outbound-types.js';

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
