import net from 'node:net';
import mqtt from 'mqtt';

export interface ConnectOptions {
  readonly port: number;
  readonly version: 4 | 5;
  readonly clientId?: string;
  readonly username?: string;
  readonly password?: string | Buffer;
  /** Source address (any 127.0.0.x works on Linux), so per-address limits and delays can be tested. */
  readonly localAddress?: string;
  readonly keepalive?: number;
  readonly timeoutMs?: number;
}

export type ConnectOutcome =
  | { readonly connected: true; readonly client: mqtt.MqttClient; readonly connack: mqtt.IConnackPacket }
  /** `code`: the CONNACK return / reason code; undefined when the connection closed without one. */
  | { readonly connected: false; readonly code: number | undefined; readonly error: string };

/** Connects a real MQTT.js client (from `localAddress` when given) and reports how CONNECT was answered. */
export function tryConnect(options: ConnectOptions): Promise<ConnectOutcome> {
  const { port, version, localAddress, timeoutMs = 10000 } = options;
  return new Promise((resolve) => {
    const client = new mqtt.MqttClient(
      () => net.createConnection({ port, host: '127.0.0.1', ...(localAddress !== undefined && { localAddress }) }),
      {
        protocolVersion: version,
        clientId: options.clientId ?? `t-${Math.random().toString(16).slice(2, 10)}`,
        ...(options.username !== undefined && { username: options.username }),
        ...(options.password !== undefined && { password: typeof options.password === 'string' ? Buffer.from(options.password) : options.password }),
        keepalive: options.keepalive ?? 60,
        reconnectPeriod: 0,
        connectTimeout: timeoutMs,
      },
    );
    let settled = false;
    const settle = (outcome: ConnectOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!outcome.connected) client.end(true);
      resolve(outcome);
    };
    const timer = setTimeout(() => settle({ connected: false, code: undefined, error: 'timeout' }), timeoutMs + 1000);
    client.once('connect', (connack) => settle({ connected: true, client, connack }));
    client.once('error', (error) => settle({ connected: false, code: (error as { code?: number }).code, error: error.message }));
    client.once('close', () => settle({ connected: false, code: undefined, error: 'closed' }));
  });
}

export async function connectOrThrow(options: ConnectOptions): Promise<mqtt.MqttClient> {
  const outcome = await tryConnect(options);
  if (!outcome.connected) throw new Error(`connect refused: ${outcome.code} ${outcome.error}`);
  return outcome.client;
}

/** Resolves when the client's connection is gone, with the MQTT 5 DISCONNECT reason code if one came. */
export function closed(client: mqtt.MqttClient, timeoutMs = 10000): Promise<{ reasonCode: number | undefined; afterMs: number }> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    let reasonCode: number | undefined;
    const timer = setTimeout(() => reject(new Error('client still connected')), timeoutMs);
    client.on('disconnect', (packet) => {
      reasonCode = packet.reasonCode;
    });
    client.once('close', () => {
      clearTimeout(timer);
      resolve({ reasonCode, afterMs: Date.now() - start });
    });
  });
}

/** The value of one sample of a prom-client counter, 0 when absent. */
export async function counterValue(
  metric: { get(): Promise<{ values: Array<{ value: number; labels: Record<string, string | number> }> }> },
  labels: Record<string, string>,
): Promise<number> {
  const { values } = await metric.get();
  const sample = values.find((v) => Object.entries(labels).every(([k, l]) => String(v.labels[k]) === l));
  return sample?.value ?? 0;
}
