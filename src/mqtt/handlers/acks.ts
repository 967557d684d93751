import type { IPubackPacket, IPubcompPacket, IPubrecPacket } from 'mqtt-packet';
import type { Connection } from '../connection.js';
import type { AckResult } from '../outbound-window.js';
import { ReasonCode } from '../reason-codes.js';
import { callHook } from '../session-end.js';

/** PUBACK from the client: a QoS 1 message the server delivered is done. */
export function handlePuback(connection: Connection, packet: IPubackPacket): void {
  settle(connection, 'puback', connection.outbound?.onPuback(packet.messageId ?? 0, packet.reasonCode ?? 0));
}

/**
 * PUBREC from the client: PUBREL follows, also for an identifier not in flight (with 0x92 on
 * MQTT 5, so the client's state ends too); one with a failure code ends the flow [MQTT-4.3.3-4 (v5)].
 */
export function handlePubrec(connection: Connection, packet: IPubrecPacket): void {
  const packetId = packet.messageId ?? 0;
  const reasonCode = packet.reasonCode ?? 0;
  if (connection.outbound === undefined && reasonCode < 0x80) {
    // Nothing was ever delivered on this connection: no window to ask.
    connection.writer.packet({ cmd: 'pubrel', messageId: packetId, ...(connection.protocolVersion === 5 && { reasonCode: ReasonCode.PacketIdentifierNotFound }) });
  }
  const result = connection.outbound?.onPubrec(packetId, reasonCode);
  const released = connection.ctx.hooks.onDeliveryReleased;
  const session = connection.session;
  const hold = result?.released !== undefined && released !== undefined && session !== undefined ? released(session, result.released.token) : undefined;
  if (hold === undefined) return settle(connection, 'pubrec', result);
  // Only the PUBREL is held; the connection goes on meanwhile.
  hold.then(
    () => settle(connection, 'pubrec', result),
    () => connection.drop(ReasonCode.UnspecifiedError, 'the session could not be stored'),
  );
}

/** PUBCOMP from the client: a QoS 2 message the server delivered is done. */
export function handlePubcomp(connection: Connection, packet: IPubcompPacket): void {
  settle(connection, 'pubcomp', connection.outbound?.onPubcomp(packet.messageId ?? 0, packet.reasonCode ?? 0));
}

/**
 * What the outbound window made of an acknowledgement: the message it completed goes to the hooks,
 * the packets it released are written. An identifier not in flight is counted and logged, and
 * otherwise ignored: the specification names no answer to it.
 */
function settle(connection: Connection, kind: string, result: AckResult | undefined): void {
  if (result !== undefined) connection.send(result.packets);
  if (result === undefined || result.error !== undefined) {
    connection.ctx.metrics.protocolErrors.inc({ kind: `unknown-${kind}` });
    if (connection.ctx.logger.isLevelEnabled('debug')) connection.log.debug({ kind, problem: result?.error ?? 'nothing was delivered' }, 'acknowledgement for a packet identifier not in flight');
    return;
  }
  const message = result.acknowledged;
  const session = connection.session;
  if (message === undefined || session === undefined) return;
  const { hooks } = connection.ctx;
  if (hooks.onDeliveryAcknowledged !== undefined) callHook(connection.ctx, 'onDeliveryAcknowledged', () => hooks.onDeliveryAcknowledged!(session, message.token));
}
