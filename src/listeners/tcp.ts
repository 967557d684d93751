import net from 'node:net';
import type { ListenerConfig } from '../config/types.js';
import type { ConnectionInfo } from '../mqtt/engine.js';

export type ConnectionHandler = (stream: net.Socket, info: ConnectionInfo) => void;

export interface Listener {
  /** e.g. `tcp:1883` (the configured port, also when it is 0 = ephemeral). */
  readonly name: string;
  listen(): Promise<net.AddressInfo>;
  /** Stops accepting; resolves at once, open connections are left to the engine. */
  close(): Promise<void>;
}

export function createTcpListener(config: ListenerConfig, onConnection: ConnectionHandler): Listener {
  const name = `${config.protocol}:${config.port}`;
  const server = net.createServer({ noDelay: true }, (socket) => {
    onConnection(socket, { remoteAddress: socket.remoteAddress ?? 'unknown', listener: name });
  });
  return {
    name,
    listen() {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          server.off('error', reject);
          resolve(server.address() as net.AddressInfo);
        });
      });
    },
    close() {
      // server.close() calls back only once every connection has ended; the engine ends them
      // after the drain, so waiting here would wait for clients that were never told to leave.
      if (server.listening) server.close();
      return Promise.resolve();
    },
  };
}
