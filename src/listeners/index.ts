import type { ListenerConfig } from '../config/types.js';
import { createTcpListener } from './tcp.js';
import type { Listener, ListenerDependencies } from './types.js';
import { createWebSocketListener } from './websocket.js';

export type { CertificateReloadResult, ConnectionHandler, ConnectionInfo, Listener, ListenerDependencies } from './types.js';

/** A listener for any configured protocol: tcp, tls, ws, wss, and http / https (their connections carry HTTP ingest requests). */
export function createListener(config: ListenerConfig, deps: ListenerDependencies): Listener {
  return config.protocol === 'ws' || config.protocol === 'wss' ? createWebSocketListener(config, deps) : createTcpListener(config, deps);
}
