import type { Connection } from './connection.js';
import { ReasonCode } from './reason-codes.js';

/**
 * Closes a connection that sent no packet for one and a half times its keep alive
 * [MQTT-3.1.2-24 (3.1.1), MQTT-3.1.2-22 (v5)]. One timer per connection that fires at most once per
 * period: each packet only notes the time (Connection.lastPacketAt), and the timer, when it
 * fires, looks at how long ago that was. While the server itself has stopped reading (its
 * bounds), the client's PINGREQs wait unread in the socket, so silence is not held against it.
 */
export function armKeepAlive(connection: Connection, keepAliveSeconds: number): void {
  if (keepAliveSeconds === 0) return;
  connection.keepAliveMs = keepAliveSeconds * 1500;
  connection.lastPacketAt = Date.now();
  connection.keepAliveTimer = setTimeout(checkKeepAlive, connection.keepAliveMs, connection);
}

function checkKeepAlive(connection: Connection): void {
  connection.keepAliveTimer = undefined;
  if (connection.gone) return;
  const now = Date.now();
  if (connection.pausedByServer) connection.lastPacketAt = now;
  const silentFor = now - connection.lastPacketAt;
  if (silentFor < connection.keepAliveMs) {
    connection.keepAliveTimer = setTimeout(checkKeepAlive, connection.keepAliveMs - silentFor, connection);
    return;
  }
  // Counted in disconnects_total{reason="keep-alive-timeout"}; a dead network is routine, so debug.
  if (connection.ctx.logger.isLevelEnabled('debug')) connection.log.debug({ keepAliveSeconds: connection.keepAliveMs / 1500, silentMs: silentFor }, 'keep alive timed out: disconnecting');
  connection.drop(ReasonCode.KeepAliveTimeout, 'keep alive timed out');
}
