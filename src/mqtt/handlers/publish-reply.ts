import type { Connection } from '../connection.js';
import type { QoS2Pending } from '../inbound-flow.js';
import { ReasonCode, type ReasonCodeValue } from '../reason-codes.js';
import type { PublishReply } from '../types.js';

/**
 * The answer owed to one QoS 1 or 2 PUBLISH. The pipeline calls it in the order the PUBLISHes
 * arrived (its AckSequencer), so writing each answer as it comes keeps them in order [MQTT-4.6.0-2].
 * A class rather than an object literal with closures: one is made per message.
 */
export class InboundReply implements PublishReply {
  private answered = false;

  constructor(
    private readonly connection: Connection,
    private readonly packetId: number,
    /** Set for QoS 2. */
    private readonly qos2: QoS2Pending | undefined,
  ) {}

  get gone(): boolean {
    return this.connection.gone;
  }

  accept(): void {
    if (this.answered) return;
    this.answered = true;
    const { connection, packetId, qos2 } = this;
    if (connection.gone) return;
    const flow = connection.inbound!;
    if (qos2 === undefined) {
      flow.unacknowledged--;
      connection.writer.ack('puback', packetId);
      return;
    }
    // The original and every retransmission that came before this answer get a PUBREC.
    for (let i = 0; i <= qos2.duplicates; i++) connection.writer.ack('pubrec', packetId);
    if (!qos2.releasedEarly) {
      flow.awaitPubrel(packetId);
      return;
    }
    endQoS2(connection, packetId);
    sendPubcomp(connection, packetId, true);
  }

  reject(reasonCode: ReasonCodeValue, reason: string): void {
    if (this.answered) return;
    this.answered = true;
    const { connection, packetId, qos2 } = this;
    if (connection.gone) return;
    // 3.1.1 has no negative acknowledgement: the client is disconnected instead.
    if (connection.protocolVersion !== 5) {
      connection.drop(reasonCode, reason, 'rejected');
      return;
    }
    const properties = { reasonString: reason };
    if (qos2 === undefined) {
      connection.inbound!.unacknowledged--;
      connection.writer.packet({ cmd: 'puback', messageId: packetId, reasonCode, properties });
      return;
    }
    // A PUBREC with a failure ends the QoS 2 flow [MQTT-4.3.3-4 (v5)].
    for (let i = 0; i <= qos2.duplicates; i++) connection.writer.packet({ cmd: 'pubrec', messageId: packetId, reasonCode, properties });
    endQoS2(connection, packetId);
    if (qos2.releasedEarly) connection.writer.packet({ cmd: 'pubcomp', messageId: packetId, reasonCode: ReasonCode.PacketIdentifierNotFound });
  }

  fail(reasonCode: ReasonCodeValue, reason: string): void {
    if (this.answered) return;
    this.answered = true;
    // No acknowledgement at all: the client keeps the message and sends it again after reconnecting.
    this.connection.drop(reasonCode, reason);
  }
}

/**
 * The answer to every QoS 0 PUBLISH of one connection (made once: QoS 0 needs no state per
 * message). Accepting sends nothing; a refusal closes a 3.1.1 client, which has no other way to
 * hear it, and is dropped silently for MQTT 5, as QoS 0 has no acknowledgement to carry it.
 */
export class QoS0Reply implements PublishReply {
  constructor(private readonly connection: Connection) {}

  get gone(): boolean {
    return this.connection.gone;
  }

  accept(): void {}

  reject(reasonCode: ReasonCodeValue, reason: string): void {
    if (this.connection.protocolVersion !== 5) this.connection.drop(reasonCode, reason, 'rejected');
  }

  fail(reasonCode: ReasonCodeValue, reason: string): void {
    this.connection.drop(reasonCode, reason);
  }
}

/** A QoS 2 packet identifier is free again: it no longer counts against either bound. */
export function endQoS2(connection: Connection, packetId: number): boolean {
  const flow = connection.inbound;
  if (flow === undefined || !flow.endQoS2(packetId)) return false;
  flow.unacknowledged--;
  connection.ctx.qos2Pending--;
  return true;
}

/**
 * PUBCOMP for a released identifier, once the hooks have written down that it is free (the flow
 * has ended in the engine first, so what they write no longer holds it). If they cannot, the client
 * is disconnected without PUBCOMP and sends PUBREL again.
 */
export function sendPubcomp(connection: Connection, packetId: number, known: boolean): void {
  const send = (): void => {
    if (connection.gone) return;
    if (known || connection.protocolVersion !== 5) connection.writer.ack('pubcomp', packetId);
    else connection.writer.packet({ cmd: 'pubcomp', messageId: packetId, reasonCode: ReasonCode.PacketIdentifierNotFound });
  };
  const released = connection.ctx.hooks.onQoS2Released;
  const session = connection.session;
  let hold: Promise<void> | undefined;
  try {
    hold = released === undefined || session === undefined ? undefined : released(session, packetId);
  } catch (error) {
    hold = Promise.reject(error);
  }
  if (hold === undefined) return send();
  hold.then(send, () => connection.drop(ReasonCode.UnspecifiedError, 'the session could not be stored'));
}
