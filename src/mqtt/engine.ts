import type { Duplex } from 'node:stream';
import { Aedes, type Client, type PublishPacket } from 'aedes';
import type { Logger } from 'pino';
import type { LimitsConfig } from '../config/types.js';
import type { ProxyMetrics } from '../observability/metrics.js';
import { ReasonCode } from './reason-codes.js';
import type {
  InboundPublish,
  MqttHooks,
  MqttSession,
  ProtocolVersion,
  PublishProperties,
  PublishReply,
  QoS,
} from './types.js';

export interface ConnectionInfo {
  /** The client's address: the socket's peer, or the one a trusted PROXY header / X-Forwarded-For named. */
  readonly remoteAddress: string;
  readonly listener: string;
  /** mTLS: the verified client certificate's identity (subject CN, else the first SAN). */
  readonly certificateIdentity?: string;
}

export interface MqttEngineOptions {
  readonly limits: LimitsConfig;
  readonly logger: Logger;
  readonly metrics: ProxyMetrics;
  readonly hooks: MqttHooks;
}

export interface MqttEngine {
  /** Serves one client connection (a TCP socket or any duplex byte stream). */
  handle(stream: Duplex, info: ConnectionInfo): void;
  readonly connectedClients: number;
  /** Prepares aedes' persistence; call before the first connection. */
  start(): Promise<void>;
  /** Closes every connection: MQTT 5 clients get DISCONNECT with the reason code first. */
  disconnectAll(reasonCode: number): Promise<void>;
  close(): Promise<void>;
}

/** QoS 2 messages one client may have unreleased (no PUBREL yet), as aedes bounds them. */
const QOS2_RECEIVE_MAXIMUM = 65535;

/** MQTT-3.1.3-5 requires at least 23; real fleets use longer ids (serial numbers, UUIDs). */
const MAX_CLIENT_ID_LENGTH = 256;

interface ClientState {
  readonly info: ConnectionInfo;
  session: MqttSession | undefined;
  /** QoS 2 packet ids handed to the pipeline and not answered yet, with retransmissions waiting on them. */
  readonly pendingQoS2: Map<number, Array<(error?: Error | null) => void>>;
  /** Told to go away (DISCONNECT sent or socket destroyed): nothing more is written to it. */
  dropped: boolean;
}

type AedesCallback = (error?: Error | null) => void;

/**
 * The MQTT front end: aedes, configured as an ingest-only server. It authenticates clients, turns
 * each PUBLISH into an {@link InboundPublish} for the hooks and carries their answer back to the
 * client. It knows nothing of Kafka.
 */
export function createMqttEngine(options: MqttEngineOptions): MqttEngine {
  const { hooks, logger, limits } = options;
  const clients = new WeakMap<Client, ClientState>();
  const rejections = new WeakSet<Error>();
  const streams = new WeakMap<Duplex, ConnectionInfo>();

  const aedes = new Aedes({
    maximumPacketSize: limits.maxPacketSize,
    connectTimeout: limits.connectTimeoutSeconds * 1000,
    maxClientsIdLength: MAX_CLIENT_ID_LENGTH,
    preConnect(client, packet, done) {
      // No session outlives its connection: replicas are stateless, so CONNACK never claims one.
      // (An empty client id with clean session 0 stays as sent: 3.1.1 requires refusing it.)
      if (packet.clientId.length > 0) packet.clean = true;
      if (packet.properties?.sessionExpiryInterval !== undefined) {
        packet.properties.sessionExpiryInterval = 0;
      }
      const info = streams.get(client.conn as Duplex);
      if (info === undefined) {
        done(new Error('connection not registered with the engine'), false);
        return;
      }
      clients.set(client, { info, session: undefined, pendingQoS2: new Map(), dropped: false });
      done(null, true);
    },
    authenticate(client, username, password, done) {
      const state = clients.get(client);
      if (state === undefined) {
        done(authError('unknown connection'), false);
        return;
      }
      const session: MqttSession = {
        clientId: client.id,
        username: username ?? undefined,
        protocolVersion: protocolVersionOf(client),
        remoteAddress: state.info.remoteAddress,
        listener: state.info.listener,
      };
      state.session = session;
      if (hooks.authenticate(session, password ?? undefined)) {
        done(null, true);
      } else {
        done(authError('not authorized'), false);
      }
    },
    authorizePublish(client, packet, callback) {
      const state = client === null ? undefined : clients.get(client);
      if (client === null || state === undefined || state.session === undefined) {
        // A will left behind by another broker instance: this process never uses shared persistence.
        callback(new Error('publish from an unknown session'));
        return;
      }
      onPublish(client, state, state.session, packet, callback);
    },
    authorizeSubscribe(client, subscription, callback) {
      // An ingest proxy has nothing to deliver: refuse with SUBACK failure (0x80) and keep the client.
      logger.debug({ clientId: client.id, filter: subscription.topic }, 'subscribe refused');
      callback(null, null);
    },
  });

  skipLocalDelivery(aedes);

  aedes.on('client', (client: Client) => {
    const session = clients.get(client)?.session;
    if (session !== undefined) hooks.onConnect?.(session);
  });
  aedes.on('clientDisconnect', (client: Client) => {
    const session = clients.get(client)?.session;
    if (session !== undefined) hooks.onDisconnect?.(session, 'disconnect');
  });
  // Socket errors (ECONNRESET, EPIPE...) are how connections end; anything else is a client
  // breaking the protocol, which an operator wants to see.
  const logClientError = (client: Client, error: Error, msg: string): void => {
    // A publish the pipeline refused comes back here too; the pipeline has logged it already.
    if (rejections.has(error)) return;
    const fields = {
      clientId: client.id ?? undefined,
      remoteAddress: clients.get(client)?.info.remoteAddress ?? streams.get(client.conn as Duplex)?.remoteAddress,
      err: error.message,
    };
    if ((error as NodeJS.ErrnoException).code !== undefined) logger.debug(fields, msg);
    else logger.warn(fields, msg);
  };
  aedes.on('clientError', (client: Client, error: Error) => logClientError(client, error, 'client error'));
  aedes.on('connectionError', (client: Client, error: Error) => logClientError(client, error, 'connection error before CONNECT completed'));

  function onPublish(
    client: Client,
    state: ClientState,
    session: MqttSession,
    packet: PublishPacket,
    callback: AedesCallback,
  ): void {
    const will = packet === (client as unknown as { will: unknown }).will || client.closed;
    const qos = packet.qos as QoS;
    const messageId = packet.messageId;

    if (qos === 2 && !will && messageId !== undefined) {
      const waiting = state.pendingQoS2.get(messageId);
      if (waiting !== undefined) {
        // A retransmission of a message still on its way to Kafka: answer it with the original.
        waiting.push(callback);
        return;
      }
      const awaitingRelease = awaitingPubrel(client);
      if (awaitingRelease.has(messageId)) {
        // Already in Kafka and PUBREC sent; aedes answers the retransmission with PUBREC again.
        callback(null);
        return;
      }
      if (awaitingRelease.size + state.pendingQoS2.size >= QOS2_RECEIVE_MAXIMUM) {
        dropClient(client, state, session, ReasonCode.ReceiveMaximumExceeded, 'too many QoS 2 messages awaiting PUBREL');
        return;
      }
      state.pendingQoS2.set(messageId, []);
    }

    const message: InboundPublish = {
      topic: packet.topic,
      payload: typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload,
      qos,
      retain: packet.retain,
      will,
      properties: publishPropertiesOf(packet),
      receivedAt: Date.now(),
    };

    const answer = (error: Error | null): void => {
      let followers: AedesCallback[] | undefined;
      if (qos === 2 && messageId !== undefined && !will) {
        followers = state.pendingQoS2.get(messageId);
        state.pendingQoS2.delete(messageId);
      }
      // The connection went away (or was sent away) while Kafka was answering: nobody to acknowledge.
      if (!will && (client.closed || state.dropped)) return;
      callback(error);
      if (followers !== undefined) for (const follower of followers) follower(error);
    };

    let answered = false;
    const reply: PublishReply = {
      accept() {
        if (answered) return;
        answered = true;
        // Retained messages are Kafka's to keep: aedes must not build a retained store.
        packet.retain = false;
        answer(null);
      },
      reject(reasonCode, reason) {
        if (answered) return;
        answered = true;
        // MQTT 5: aedes sends the negative PUBACK / PUBREC with this reason code. 3.1.1 has no
        // negative acknowledgement: the error makes aedes close the connection.
        const error = session.protocolVersion === 5 ? Object.assign(new Error(reason), { reasonCode }) : new Error(reason);
        rejections.add(error);
        answer(error);
      },
      fail(reasonCode, reason) {
        if (answered) return;
        answered = true;
        if (qos === 2 && messageId !== undefined) state.pendingQoS2.delete(messageId);
        // No acknowledgement at all: the client keeps the message and retransmits it after reconnecting.
        dropClient(client, state, session, reasonCode, reason);
      },
    };

    hooks.onPublish(session, message, reply);
  }

  function dropClient(client: Client, state: ClientState, session: MqttSession, reasonCode: number, reason: string): void {
    if (client.closed || state.dropped) return;
    state.dropped = true;
    if (session.protocolVersion === 5) {
      client.disconnect({ reasonCode, properties: { reasonString: reason } }, () => undefined);
    } else {
      client.conn.destroy();
    }
  }

  return {
    start: () => aedes.listen(),
    handle(stream, info) {
      streams.set(stream, info);
      aedes.handle(stream);
    },
    get connectedClients() {
      return aedes.connectedClients;
    },
    async disconnectAll(reasonCode) {
      const all = (aedes as unknown as { clients: Record<string, Client> }).clients;
      const closing: Array<Promise<void>> = [];
      for (const client of Object.values(all)) {
        closing.push(
          new Promise<void>((resolve) => {
            if (client.version === 5) {
              client.disconnect({ reasonCode }, () => resolve());
            } else {
              client.close(() => resolve());
            }
          }),
        );
      }
      await Promise.all(closing);
    },
    close() {
      return new Promise<void>((resolve) => aedes.close(() => resolve()));
    },
  };
}

/**
 * Packet ids whose PUBREC went out and whose PUBREL has not arrived: kept by aedes (see the patch
 * in patches/, GHSA-5jvp-3p2v-5qgf), read here so a retransmission is not produced twice.
 */
function awaitingPubrel(client: Client): ReadonlySet<number> {
  return (client as unknown as { _inboundInflight: ReadonlySet<number> })._inboundInflight;
}

/**
 * An ingest server delivers nothing locally: subscriptions are refused, retained messages are not
 * stored, so aedes' publish step (retained store, subscription matching, fan-out through its
 * emitter, $SYS announcements) is pure cost. Every PUBLISH and will has already been handed to the
 * hooks by `authorizePublish` when aedes calls this; answering at once skips the rest.
 */
function skipLocalDelivery(aedes: Aedes): void {
  type Done = (error?: Error | null) => void;
  (aedes as unknown as { publish: (packet: unknown, client: unknown, done?: Done) => void }).publish = (_packet, client, done) => {
    const callback = typeof client === 'function' ? (client as Done) : done;
    callback?.(null);
  };
}

function protocolVersionOf(client: Client): ProtocolVersion {
  const version = client.version;
  return version === 5 ? 5 : version === 3 ? 3 : 4;
}

function authError(message: string): Error & { returnCode: number } {
  // 5 = not authorized (3.1.1); aedes maps it to 0x87 for MQTT 5.
  return Object.assign(new Error(message), { returnCode: 5 });
}

function publishPropertiesOf(packet: PublishPacket): PublishProperties | undefined {
  const p = packet.properties;
  if (p === undefined) return undefined;
  return {
    contentType: p.contentType,
    payloadFormatIndicator: p.payloadFormatIndicator,
    responseTopic: p.responseTopic,
    correlationData: p.correlationData,
    userProperties: p.userProperties,
    messageExpiryInterval: p.messageExpiryInterval,
  };
}

export { ReasonCode };
