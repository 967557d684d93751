import type { IPubrelPacket } from 'mqtt-packet';
import type { Connection } from '../connection.js';
import { AWAITING_PUBREL } from '../inbound-flow.js';
import { ReasonCode } from '../reason-codes.js';
import { endQoS2 } from './publish-reply.js';

/**
 * PUBREL: the QoS 2 message is released, its packet identifier free again, PUBCOMP goes out
 * [MQTT-4.3.3-11 (v5)]. Also for an identifier the server does not know (a PUBREL sent again after a
 * lost PUBCOMP): PUBCOMP, with 0x92 on MQTT 5. A PUBREL before the PUBREC is answered after it.
 */
export function handlePubrel(connection: Connection, packet: IPubrelPacket): void {
  const packetId = packet.messageId ?? 0;
  const state = connection.inbound?.qos2State(packetId);
  if (state === AWAITING_PUBREL) {
    endQoS2(connection, packetId);
    connection.writer.ack('pubcomp', packetId);
    return;
  }
  if (state !== undefined) {
    state.releasedEarly = true;
    return;
  }
  if (connection.protocolVersion === 5) connection.writer.packet({ cmd: 'pubcomp', messageId: packetId, reasonCode: ReasonCode.PacketIdentifierNotFound });
  else connection.writer.ack('pubcomp', packetId);
}
