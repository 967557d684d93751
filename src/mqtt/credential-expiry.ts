import type { Connection } from './connection.js';
import { ReasonCode } from './reason-codes.js';

/** Largest delay Node timers accept; longer credential lifetimes are waited for in steps. */
const MAX_TIMER_MS = 2_147_483_647;

/** Disconnects the client when its credentials expire (MQTT 5: DISCONNECT 0xA0 maximum connect time). */
export function armCredentialExpiry(connection: Connection, expiresAt: number): void {
  const remaining = expiresAt - Date.now();
  connection.expiryTimer = setTimeout(credentialsExpired, Math.max(0, Math.min(remaining, MAX_TIMER_MS)), connection, expiresAt);
}

function credentialsExpired(connection: Connection, expiresAt: number): void {
  if (expiresAt > Date.now()) {
    armCredentialExpiry(connection, expiresAt);
    return;
  }
  connection.expiryTimer = undefined;
  const session = connection.session;
  if (session === undefined || connection.gone) return;
  connection.ctx.logger.info(
    { clientId: session.clientId, username: session.username, remoteAddress: session.remoteAddress, listener: session.listener },
    'credentials expired: disconnecting',
  );
  connection.drop(ReasonCode.MaximumConnectTime, 'credentials expired');
}
