import type { IPubrelPacket } from 'mqtt-packet';
import type { Connection } from '../connection.js';
import { AWAITING_PUBREL } from '../inbound-flow.js';
import { endQoS2, sendPubcomp } from './publish-reply.js';

/**
 * PUBREL: the QoS 2 message is released, its packet identifier free again, PUBCOMP goes out
 * [MQTT-4.3.3-11 (v5)]. Also for an identifier the server does not know (a PUBREL sent again after a
 * lost PUBCOMP, or after a reconnect): PUBCOMP, with 0x92 on MQTT 5. A PUBREL before the PUBREC is
 * answered after it.
 */
export function handlePubrel(connection: Connection, packet: IPubrelPacket): void {
  const packetId = packet.messageId ?? 0;
  const state = connection.inbound?.qos2State(packetId);
  if (state === AWAITING_PUBREL) {
    endQoS2(connection, packetId);
    sendPubcomp(connection, packetId, true);
    return;
  }
  if (state !== undefined) {
    state.releasedEarly = true;
    return;
  }
  sendPubcomp(connection, packetId, false);
}
