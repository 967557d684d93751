import type { Packet } from 'mqtt-packet';
import type { Connection } from '../connection.js';
import { ReasonCode } from '../reason-codes.js';
import { handlePuback, handlePubcomp, handlePubrec } from './acks.js';
import { handleAuth } from './auth.js';
import { handleDisconnect } from './disconnect.js';
import { handlePingreq } from './ping.js';
import { handlePublish } from './publish.js';
import { foreignProperty } from './property-rules.js';
import { handlePubrel } from './pubrel.js';
import { handleSubscribe, handleUnsubscribe } from './subscribe.js';

/** Hands a packet that arrived after CONNACK to the handler for its kind. */
export function dispatch(connection: Connection, packet: Packet): void {
  if (packet.cmd === 'puback' || packet.cmd === 'pubrec' || packet.cmd === 'pubrel' || packet.cmd === 'pubcomp') {
    const foreign = foreignProperty(packet.properties, 'ack');
    if (foreign !== undefined) return connection.protocolError('foreign-property', ReasonCode.MalformedPacket, `property ${foreign} does not belong in ${packet.cmd.toUpperCase()}`);
  }
  switch (packet.cmd) {
    case 'publish':
      return handlePublish(connection, packet);
    case 'puback':
      return handlePuback(connection, packet);
    case 'pubrec':
      return handlePubrec(connection, packet);
    case 'pubrel':
      return handlePubrel(connection, packet);
    case 'pubcomp':
      return handlePubcomp(connection, packet);
    case 'subscribe':
      return handleSubscribe(connection, packet);
    case 'unsubscribe':
      return handleUnsubscribe(connection, packet);
    case 'pingreq':
      return handlePingreq(connection);
    case 'disconnect':
      return handleDisconnect(connection, packet);
    case 'auth':
      return handleAuth(connection);
    default:
      // CONNACK, SUBACK, UNSUBACK, PINGRESP: packets only a server sends.
      return connection.protocolError('unexpected-packet', ReasonCode.ProtocolError, `${packet.cmd.toUpperCase()} from a client`);
  }
}
