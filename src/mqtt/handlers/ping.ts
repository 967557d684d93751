import type { Connection } from '../connection.js';

/** PINGREQ: PINGRESP [MQTT-3.12.4-1]. That the packet arrived already counted for the keep alive. */
export function handlePingreq(connection: Connection): void {
  connection.writer.packet({ cmd: 'pingresp' });
}
