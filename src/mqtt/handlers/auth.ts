import type { Connection } from '../connection.js';
import { ReasonCode } from '../reason-codes.js';

/**
 * AUTH: enhanced authentication is refused at CONNECT (0x8C), so no AUTH exchange was ever begun
 * and an AUTH packet is a protocol error (v5 section 4.12). On 3.1.1 the parser refuses
 * AUTH as malformed before it gets here.
 */
export function handleAuth(connection: Connection): void {
  connection.protocolError('auth-packet', ReasonCode.ProtocolError, 'AUTH without enhanced authentication');
}
