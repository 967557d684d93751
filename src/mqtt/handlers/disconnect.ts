import type { IDisconnectPacket } from 'mqtt-packet';
import type { Connection } from '../connection.js';
import { ReasonCode } from '../reason-codes.js';
import { foreignProperty } from './property-rules.js';

/**
 * DISCONNECT from the client. Reason 0x00 (and any 3.1.1 DISCONNECT) discards the will; any other
 * reason, 0x04 among them, leaves it to be published [MQTT-3.14.4-3]. A Session Expiry Interval in it
 * may change a non-zero one from CONNECT, but after 0 in CONNECT it is a protocol error
 * [MQTT-3.14.2-2 (v5 3.14.2.2.2)].
 */
export function handleDisconnect(connection: Connection, packet: IDisconnectPacket): void {
  if (connection.protocolVersion === 5) {
    const foreign = foreignProperty(packet.properties, 'disconnect');
    if (foreign !== undefined) return connection.protocolError('foreign-property', ReasonCode.MalformedPacket, `property ${foreign} does not belong in DISCONNECT`);
    const expiry = packet.properties?.sessionExpiryInterval;
    if (expiry !== undefined && expiry !== 0 && connection.requestedSessionExpiry === 0) {
      connection.protocolError('session-expiry-on-disconnect', ReasonCode.ProtocolError, 'DISCONNECT sets a Session Expiry Interval after 0 in CONNECT');
      return;
    }
    if (expiry !== undefined) connection.grantedSessionExpiry = expiry;
    if ((packet.reasonCode ?? 0) === ReasonCode.Success) connection.willOnClose = false;
  } else {
    connection.willOnClose = false;
  }
  connection.closeReason ??= 'client';
  connection.closeGracefully();
}
