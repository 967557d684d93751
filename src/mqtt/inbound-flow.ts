/**
 * A QoS 2 message whose PUBREC went out and whose PUBREL has not come: its packet identifier is
 * kept so a retransmission is answered without being handed on again.
 */
export const AWAITING_PUBREL = 0;

/** A QoS 2 message still being decided (the hooks have not answered yet). */
export interface QoS2Pending {
  /** Retransmissions that arrived meanwhile: each gets the answer too. */
  duplicates: number;
  /** The client sent PUBREL before the PUBREC: PUBCOMP follows the answer. */
  releasedEarly: boolean;
}

/**
 * Per connection, made at its first QoS 1 or 2 PUBLISH: the messages the server has not finished
 * acknowledging (what the server's Receive Maximum counts: QoS 1 until PUBACK, QoS 2 until
 * PUBCOMP [MQTT-3.3.4-9 (v5)]) and the QoS 2 packet identifiers in use.
 */
export class InboundFlow {
  unacknowledged = 0;
  private qos2: Map<number, QoS2Pending | typeof AWAITING_PUBREL> | undefined;

  get qos2Count(): number {
    return this.qos2?.size ?? 0;
  }

  qos2State(packetId: number): QoS2Pending | typeof AWAITING_PUBREL | undefined {
    return this.qos2?.get(packetId);
  }

  startQoS2(packetId: number, pending: QoS2Pending): void {
    (this.qos2 ??= new Map()).set(packetId, pending);
  }

  awaitPubrel(packetId: number): void {
    this.qos2?.set(packetId, AWAITING_PUBREL);
  }

  /** The identifiers whose PUBREC went out and whose PUBREL has not come (what a session keeps). */
  awaitingPubrel(): number[] {
    const ids: number[] = [];
    for (const [id, state] of this.qos2 ?? []) if (state === AWAITING_PUBREL) ids.push(id);
    return ids;
  }

  /** A resumed session's identifiers awaiting PUBREL: a retransmission of one is answered, not handed on. */
  restoreAwaitingPubrel(ids: readonly number[]): number {
    let added = 0;
    for (const id of ids) {
      if (this.qos2?.has(id) === true) continue;
      (this.qos2 ??= new Map()).set(id, AWAITING_PUBREL);
      added++;
    }
    return added;
  }

  /** The QoS 2 flow of `packetId` is over (PUBCOMP sent, or refused). False when it was not known. */
  endQoS2(packetId: number): boolean {
    return this.qos2?.delete(packetId) ?? false;
  }
}
