// The QoS 2 PUBLISHes a persistent session received, as its record keeps them so that whichever
// replica gets a retransmission writes it to Kafka exactly once. A message is written down
// (an intent, with the publish id its record will carry) before it is sent to Kafka; once its
// PUBREC went out the engine holds its packet identifier (awaiting PUBREL), and the intent is only
// forgotten when the PUBREL has been stored. What the engine does not hold is in doubt: it may or
// may not be in Kafka, and a retransmission of it is looked up there first.
import type { StoredInboundIntent } from '../state/session-store.js';

export class InboundIntents {
  private readonly byPacketId = new Map<number, StoredInboundIntent>();
  private sequence = 0;

  /** `connectionId`: unique per connection, so publish ids never repeat for the client id. */
  constructor(
    private readonly connectionId: string,
    restored: readonly StoredInboundIntent[] = [],
  ) {
    for (const intent of restored) this.byPacketId.set(intent.packetId, intent);
  }

  get size(): number {
    return this.byPacketId.size;
  }

  /**
   * The intent kept for `packetId`, if any. A PUBLISH reaches the hooks only when the engine holds
   * nothing for its identifier, so an intent found then is an earlier connection's: in doubt.
   */
  of(packetId: number): StoredInboundIntent | undefined {
    return this.byPacketId.get(packetId);
  }

  /** A new QoS 2 message: its intent replaces any earlier one for the identifier. */
  begin(packetId: number, at: number): StoredInboundIntent {
    const intent: StoredInboundIntent = { packetId, publishId: `${this.connectionId}:${++this.sequence}`, at };
    this.byPacketId.set(packetId, intent);
    return intent;
  }

  /** The message is released (PUBREL), or Kafka refused it: nothing is left to recognise. */
  forget(packetId: number): void {
    this.byPacketId.delete(packetId);
  }

  /** The intents whose identifier the engine does not hold as awaiting PUBREL (what a record keeps as in doubt). */
  inDoubt(awaitingPubrel: readonly number[]): StoredInboundIntent[] {
    if (this.byPacketId.size === 0) return [];
    const awaiting = new Set(awaitingPubrel);
    return [...this.byPacketId.values()].filter((intent) => !awaiting.has(intent.packetId));
  }
}
