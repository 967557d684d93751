import type { Duplex } from 'node:stream';
import { Aedes, type Client, type PublishPacket } from 'aedes';
import mqttPacket from 'mqtt-packet';
import type { Logger } from 'pino';
import type { LimitsConfig } from '../config/types.js';
import type { ConnectionInfo } from '../listeners/types.js';
import { createLimitReporter } from '../observability/limit-reporter.js';
import type { ConnectRefusal, ProxyMetrics } from '../observability/metrics.js';
import { gateReads, type ReadGate } from './read-gate.js';
import { ReasonCode, type ReasonCodeValue } from './reason-codes.js';
import type {
  ConnectDecision,
  ConnectRequest,
  InboundPublish,
  MqttHooks,
  MqttSession,
  ProtocolVersion,
  PublishProperties,
  PublishReply,
  QoS,
} from './types.js';

export type { ConnectionInfo };

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
  /**
   * Stops reading from the client's connection (what it already sent is still handled); TCP pushes
   * back once the buffers are full. For backpressure.
   */
  pauseReading(session: MqttSession): void;
  /** Reads from the client's connection again. */
  resumeReading(session: MqttSession): void;
  /** Closes every connection: MQTT 5 clients get DISCONNECT with the reason code first. */
  disconnectAll(reasonCode: number): Promise<void>;
  close(): Promise<void>;
}

/** QoS 2 messages one client may have unreleased (no PUBREL yet), as aedes bounds them. */
const QOS2_RECEIVE_MAXIMUM = 65535;

/** Largest delay Node timers accept; longer credential lifetimes are waited for in steps. */
const MAX_TIMER_MS = 2_147_483_647;

/** CONNACK return codes (3.1.1); aedes sends the matching MQTT 5 reason code (2 -> 0x85, 4 -> 0x86, 5 -> 0x87). */
const ReturnCode = { IdentifierRejected: 2, ServerUnavailable: 3, BadUsernameOrPassword: 4, NotAuthorized: 5 } as const;
const REFUSAL_RETURN_CODES = { 'bad-credentials': ReturnCode.BadUsernameOrPassword, 'not-authorized': ReturnCode.NotAuthorized, 'server-busy': ReturnCode.ServerUnavailable } as const;

/** Per stream, from `handle()` until the stream closes. */
interface Connection {
  readonly info: ConnectionInfo;
  readonly gate: ReadGate;
  /** Disconnects the client when its credentials expire. */
  expiryTimer: NodeJS.Timeout | undefined;
  /** Set by aedes' preConnect. */
  state: ClientState | undefined;
}

interface ClientState {
  readonly info: ConnectionInfo;
  readonly connection: Connection;
  /** From CONNECT, before aedes assigns an id to an empty one. */
  readonly requestedClientIdLength: number;
  readonly requestedKeepAlive: number;
  /** Set while reading is paused: keeps the keep-alive timer from firing (see pauseReading). */
  keepaliveHold: NodeJS.Timeout | undefined;
  readonly client: Client;
  session: MqttSession | undefined;
  /** Publish rate token bucket. */
  tokens: number;
  tokensAt: number;
  /**
   * QoS 2 packet ids handed to the pipeline and not answered yet, with retransmissions waiting on
   * them. Made at the first QoS 2 PUBLISH: most connections never send one.
   */
  pendingQoS2: Map<number, Array<(error?: Error | null) => void>> | undefined;
  /** Told to go away (DISCONNECT sent, or the socket is being closed): nothing more is written to it or produced from it. */
  dropped: boolean;
  /** Settles once a dropped client's socket is closed (see closeGracefully). */
  closing: Promise<void> | undefined;
  /** Why the proxy closed the connection, for the disconnects metric; unset when the client left. */
  closeReason: string | undefined;
  /** Counted in the connections gauge under this version label (set once CONNACK accepted it). */
  countedVersion: string | undefined;
  /**
   * This connection's logger (client id, remote address and listener on every line), made at its
   * first line: most connections never log one, and a child logger costs about 1 KiB to keep.
   */
  log: Logger | undefined;
}

type AedesCallback = (error?: Error | null) => void;

/**
 * The MQTT front end: aedes, configured as an ingest-only server. It authenticates clients, turns
 * each PUBLISH into an {@link InboundPublish} for the hooks and carries their answer back to the
 * client. It knows nothing of Kafka.
 */
export function createMqttEngine(options: MqttEngineOptions): MqttEngine {
  const { hooks, logger, limits, metrics } = options;
  const clients = new WeakMap<Client, ClientState>();
  const rejections = new WeakSet<Error>();
  const streams = new WeakMap<Duplex, Connection>();
  const rateBurst = limits.publishRateBurst > 0 ? limits.publishRateBurst : limits.publishRatePerSecond;
  const limitHit = createLimitReporter(logger, metrics);

  function connectionLog(state: ClientState): Logger {
    state.log ??= logger.child({ clientId: state.client.id, remoteAddress: state.info.remoteAddress, listener: state.info.listener });
    return state.log;
  }
  const sessions = new WeakMap<MqttSession, ClientState>();
  /** One listener for every stream (a closure and a once() wrapper each would cost about 300 B a connection). */
  function onStreamClose(this: Duplex): void {
    // As once() would: a second 'close' (which streams do not emit) finds nothing to do.
    this.removeListener('close', onStreamClose);
    const connection = streams.get(this);
    if (connection === undefined) return;
    clearTimeout(connection.expiryTimer);
    const state = connection.state;
    if (state === undefined) return;
    clearInterval(state.keepaliveHold);
    if (state.session !== undefined) hooks.onClosed?.(state.session);
  }

  const aedes = new Aedes({
    maximumPacketSize: limits.maxPacketSize,
    connectTimeout: limits.connectTimeoutSeconds * 1000,
    // Enforced for every protocol version in authenticate below; aedes itself checks only MQTT 3.1.
    maxClientsIdLength: limits.maxClientIdLength,
    preConnect(client, packet, done) {
      // No session outlives its connection: replicas are stateless, so CONNACK never claims one.
      // (An empty client id with clean session 0 stays as sent: 3.1.1 requires refusing it.)
      if (packet.clientId.length > 0) packet.clean = true;
      if (packet.properties?.sessionExpiryInterval !== undefined) {
        packet.properties.sessionExpiryInterval = 0;
      }
      const connection = streams.get(client.conn as Duplex);
      if (connection === undefined) {
        done(new Error('connection not registered with the engine'), false);
        return;
      }
      const { info } = connection;
      const state: ClientState = {
        info,
        connection,
        requestedClientIdLength: packet.clientId.length,
        requestedKeepAlive: packet.keepalive ?? 0,
        keepaliveHold: undefined,
        client,
        session: undefined,
        tokens: rateBurst,
        tokensAt: Date.now(),
        pendingQoS2: undefined,
        dropped: false,
        closing: undefined,
        closeReason: undefined,
        countedVersion: undefined,
        log: undefined,
      };
      clients.set(client, state);
      connection.state = state;
      done(null, true);
    },
    authenticate(client, username, password, done) {
      const state = clients.get(client);
      if (state === undefined) {
        done(connectError(ReturnCode.NotAuthorized, 'unknown connection'), false);
        return;
      }
      /** Every refused CONNECT is counted with its reason, then answered with `returnCode`. */
      const refuse = (reason: ConnectRefusal, returnCode: number, message: string): void => {
        metrics.connects.inc({ listener: state.info.listener, outcome: 'refused', reason });
        const error = connectError(returnCode, message);
        // Logged by auth at a bounded rate: a line each from aedes' clientError would be a log flood.
        if (reason === 'server-busy') rejections.add(error);
        done(error, false);
      };
      const protocolVersion = protocolVersionOf(client);
      const where = { clientId: client.id, remoteAddress: state.info.remoteAddress, listener: state.info.listener, protocolVersion };
      // Limits first: they are cheap, and a client refused by them spends no password hashing.
      if (state.requestedClientIdLength > limits.maxClientIdLength) {
        limitHit('client-id-length', { ...where, length: state.requestedClientIdLength }, `client id longer than ${limits.maxClientIdLength}: refused`);
        refuse('client-id-length', ReturnCode.IdentifierRejected, 'client identifier too long');
        return;
      }
      const keepAlive = boundedKeepAlive(state.requestedKeepAlive);
      if (keepAlive !== state.requestedKeepAlive) {
        if (protocolVersion !== 5) {
          // 3.1.1 cannot be told another keep alive: refused as Mosquitto does (identifier rejected).
          limitHit('keep-alive', { ...where, keepAlive: state.requestedKeepAlive }, 'keep alive out of bounds: refused');
          refuse('keep-alive', ReturnCode.IdentifierRejected, 'keep alive out of bounds');
          return;
        }
        limitHit('keep-alive', { ...where, keepAlive: state.requestedKeepAlive, serverKeepAlive: keepAlive }, 'keep alive out of bounds: Server Keep Alive sent');
        // Read by aedes when it arms the keep-alive timer and builds CONNACK (after this hook).
        (client as unknown as { _serverKeepAlive: number })._serverKeepAlive = keepAlive;
      }
      const request: ConnectRequest = {
        clientId: client.id,
        username: username ?? undefined,
        password: password ?? undefined,
        protocolVersion,
        remoteAddress: state.info.remoteAddress,
        listener: state.info.listener,
        certificateIdentity: state.info.certificateIdentity,
      };
      const decided = (decision: ConnectDecision): void => {
        if (!decision.accepted) {
          // server-busy: aedes turns return code 3 into MQTT 5 reason 0x88 (server unavailable), not 0x89.
          const code = REFUSAL_RETURN_CODES[decision.code];
          refuse(decision.code, code, decision.reason);
          return;
        }
        state.session = {
          clientId: client.id,
          username: decision.username,
          protocolVersion,
          remoteAddress: state.info.remoteAddress,
          listener: state.info.listener,
          ...(state.info.certificateIdentity !== undefined && { certificateIdentity: state.info.certificateIdentity }),
        };
        sessions.set(state.session, state);
        // A client gone while its credentials were checked needs no timer (aedes drops the answer).
        if (decision.expiresAt !== undefined && !client.closed) armExpiry(client, state, decision.expiresAt);
        done(null, true);
      };
      let decision: ConnectDecision | Promise<ConnectDecision>;
      try {
        decision = hooks.authenticate(request);
      } catch (error) {
        logger.error({ ...where, err: (error as Error).message }, 'authentication failed with an error');
        refuse('server-unavailable', ReturnCode.ServerUnavailable, 'authentication unavailable');
        return;
      }
      if (!(decision instanceof Promise)) {
        decided(decision);
        return;
      }
      decision.then(decided, (error: unknown) => {
        logger.error({ ...where, err: (error as Error).message }, 'authentication failed with an error');
        refuse('server-unavailable', ReturnCode.ServerUnavailable, 'authentication unavailable');
      });
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
      const state = clients.get(client);
      (state === undefined ? logger : connectionLog(state)).debug({ filter: subscription.topic }, 'subscribe refused');
      callback(null, null);
    },
  });

  skipLocalDelivery(aedes);

  aedes.on('client', (client: Client) => {
    const state = clients.get(client);
    if (state === undefined) return;
    const version = String(protocolVersionOf(client));
    state.countedVersion = version;
    metrics.connects.inc({ listener: state.info.listener, outcome: 'accepted' });
    metrics.connections.inc({ listener: state.info.listener, version });
    if (state.session !== undefined) hooks.onConnect?.(state.session);
  });
  aedes.on('clientDisconnect', (client: Client) => {
    const state = clients.get(client);
    if (state === undefined) return;
    const reason = disconnectReason(client, state);
    if (state.countedVersion !== undefined) {
      metrics.connections.dec({ listener: state.info.listener, version: state.countedVersion });
      state.countedVersion = undefined;
      metrics.disconnects.inc({ reason });
    }
    if (state.session !== undefined) hooks.onDisconnect?.(state.session, reason);
  });
  // Socket errors (ECONNRESET, EPIPE...) are how connections end; anything else is a client
  // breaking the protocol, which an operator wants to see.
  const logClientError = (client: Client, error: Error, msg: string): void => {
    // A publish the pipeline refused comes back here too; the pipeline has logged it already.
    if (rejections.has(error)) return;
    const state = clients.get(client);
    const info = state?.info ?? streams.get(client.conn as Duplex)?.info;
    // Made only for a line that is written: a socket error on every closing connection must not
    // build a child logger each time debug is off.
    const log = (): Logger => (state !== undefined ? connectionLog(state) : logger.child({ clientId: client.id ?? undefined, remoteAddress: info?.remoteAddress, listener: info?.listener }));
    const fields = { err: error.message };
    // Limits aedes enforces itself (messages from node_modules/aedes/lib/client.js).
    if (error.message === 'packet too large') {
      const { size } = error as Error & { size?: number };
      limitHit('packet-size', { clientId: client.id ?? undefined, remoteAddress: info?.remoteAddress, ...fields, size, maxPacketSize: limits.maxPacketSize }, 'packet larger than maxPacketSize: disconnected');
      return;
    }
    if (error.message === 'connect did not arrive in time') {
      limitHit('connect-timeout', { remoteAddress: info?.remoteAddress, ...fields }, `no CONNECT within ${limits.connectTimeoutSeconds} s: closed`);
      return;
    }
    if ((error as NodeJS.ErrnoException).code !== undefined) {
      if (logger.isLevelEnabled('debug')) log().debug(fields, msg);
    } else {
      log().warn(fields, msg);
    }
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
    // A client sent away is still read until it closes (see closeGracefully); what it keeps sending
    // is neither produced nor answered: it retransmits after reconnecting.
    if (state.dropped && !will) return;
    const qos = packet.qos as QoS;
    const messageId = packet.messageId;
    // Packets already read when the client was sent away: nobody will hear the answer.
    if (!will && state.dropped) return;

    if (!will && limits.publishRatePerSecond > 0 && !takePublishToken(state)) {
      limitHit(
        'publish-rate',
        { clientId: session.clientId, remoteAddress: session.remoteAddress, rate: limits.publishRatePerSecond },
        'publish rate exceeded: disconnected',
      );
      dropClient(client, state, session, ReasonCode.MessageRateTooHigh, 'message rate too high');
      return;
    }

    const malformed = malformedPublishProperties(packet);
    if (malformed !== undefined) {
      options.metrics.protocolErrors.inc({ kind: 'malformed-properties' });
      logger.warn(
        { clientId: session.clientId, remoteAddress: session.remoteAddress, listener: session.listener, will, problem: malformed },
        'malformed PUBLISH properties, dropping the client',
      );
      if (will) callback(new Error(malformed));
      else dropClient(client, state, session, ReasonCode.MalformedPacket, malformed);
      return;
    }

    if (qos === 2 && !will && messageId !== undefined) {
      const waiting = state.pendingQoS2?.get(messageId);
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
      if (awaitingRelease.size + (state.pendingQoS2?.size ?? 0) >= QOS2_RECEIVE_MAXIMUM) {
        dropClient(client, state, session, ReasonCode.ReceiveMaximumExceeded, 'too many QoS 2 messages awaiting PUBREL');
        return;
      }
      (state.pendingQoS2 ??= new Map()).set(messageId, []);
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

    hooks.onPublish(session, message, new PendingPublish(state, session, packet, qos, messageId, will, callback));
  }

  /**
   * The answer still owed to one PUBLISH. A class, not an object literal with a getter and
   * methods: that was a dictionary-mode object and five closures for every message.
   */
  class PendingPublish implements PublishReply {
    private answered = false;

    constructor(
      private readonly state: ClientState,
      private readonly session: MqttSession,
      private readonly packet: PublishPacket,
      private readonly qos: QoS,
      private readonly messageId: number | undefined,
      private readonly will: boolean,
      private readonly callback: AedesCallback,
    ) {}

    get gone(): boolean {
      return this.state.client.closed || this.state.dropped;
    }

    accept(): void {
      if (this.answered) return;
      this.answered = true;
      // Retained messages are Kafka's to keep: aedes must not build a retained store.
      this.packet.retain = false;
      this.answer(null);
    }

    reject(reasonCode: ReasonCodeValue, reason: string): void {
      if (this.answered) return;
      this.answered = true;
      // MQTT 5: aedes sends the negative PUBACK / PUBREC with this reason code. 3.1.1 has no
      // negative acknowledgement: the error makes aedes close the connection.
      const v5 = this.session.protocolVersion === 5;
      if (!v5) this.state.closeReason = 'rejected';
      const error = v5 ? Object.assign(new Error(reason), { reasonCode }) : new Error(reason);
      rejections.add(error);
      this.answer(error);
    }

    fail(reasonCode: ReasonCodeValue, reason: string): void {
      if (this.answered) return;
      this.answered = true;
      if (this.qos === 2 && this.messageId !== undefined) this.state.pendingQoS2?.delete(this.messageId);
      // No acknowledgement at all: the client keeps the message and retransmits it after reconnecting.
      dropClient(this.state.client, this.state, this.session, reasonCode, reason);
    }

    private answer(error: Error | null): void {
      const { state, messageId, will } = this;
      let followers: AedesCallback[] | undefined;
      if (this.qos === 2 && messageId !== undefined && !will) {
        followers = state.pendingQoS2?.get(messageId);
        state.pendingQoS2?.delete(messageId);
      }
      // The connection went away (or was sent away) while Kafka was answering: nobody to acknowledge.
      if (!will && (state.client.closed || state.dropped)) return;
      this.callback(error);
      if (followers !== undefined) for (const follower of followers) follower(error);
    }
  }

  /** Token bucket: `rateBurst` publishes at once, refilled at `publishRatePerSecond`. */
  function takePublishToken(state: ClientState): boolean {
    const now = Date.now();
    state.tokens = Math.min(rateBurst, state.tokens + ((now - state.tokensAt) / 1000) * limits.publishRatePerSecond);
    state.tokensAt = now;
    if (state.tokens < 1) return false;
    state.tokens -= 1;
    return true;
  }

  /** The keep alive the client must use: its own, or the nearest bound (0 = none counts as above a maximum below 65535). */
  function boundedKeepAlive(requested: number): number {
    const { minKeepAliveSeconds: min, maxKeepAliveSeconds: max } = limits;
    if (requested === 0) return max >= 65535 ? 0 : max;
    if (requested > max) return max;
    if (requested < min) return min;
    return requested;
  }

  /** Disconnects the client when its credentials expire (MQTT 5: 0xA0 maximum connect time). */
  function armExpiry(client: Client, state: ClientState, expiresAt: number): void {
    const remaining = expiresAt - Date.now();
    state.connection.expiryTimer = setTimeout(() => {
      if (expiresAt > Date.now()) {
        armExpiry(client, state, expiresAt);
        return;
      }
      state.connection.expiryTimer = undefined;
      const session = state.session;
      if (session === undefined || client.closed || state.dropped) return;
      logger.info(
        { clientId: session.clientId, username: session.username, remoteAddress: session.remoteAddress, listener: session.listener },
        'credentials expired: disconnecting',
      );
      dropClient(client, state, session, ReasonCode.MaximumConnectTime, 'credentials expired');
    }, Math.max(0, Math.min(remaining, MAX_TIMER_MS)));
  }

  function dropClient(client: Client, state: ClientState, session: MqttSession, reasonCode: number, reason: string): void {
    if (client.closed || state.dropped) return;
    state.dropped = true;
    state.closeReason = DROP_REASONS[reasonCode] ?? 'error';
    if (session.protocolVersion === 5) sendDisconnect(client, reasonCode, reason);
    state.closing = closeGracefully(client);
  }

  return {
    start: () => aedes.listen(),
    handle(stream, info) {
      // Gone before it got here (a listener handing over a socket that just closed): 'close' will not come again.
      if (stream.destroyed) return;
      // Connection limits were applied when the listener accepted the socket (connection-admission).
      const connection: Connection = { info, gate: gateReads(stream), expiryTimer: undefined, state: undefined };
      streams.set(stream, connection);
      // Exactly once per connection, however it ended (aedes' own events skip some endings). Not
      // once(): its wrapper would be kept by each connection; the listener removes itself.
      stream.on('close', onStreamClose);
      aedes.handle(stream);
    },
    pauseReading(session) {
      const state = sessions.get(session);
      if (state === undefined) return;
      state.connection.gate.pause();
      // The client's PINGREQs wait unread in the socket like everything else; without this the
      // keep-alive timeout would cut every connection paused for longer than 1.5 x its keep-alive.
      const keepalive = keepaliveOf(state.client);
      if (keepalive !== undefined && state.keepaliveHold === undefined) {
        state.keepaliveHold = setInterval(() => {
          if (state.client.closed) clearInterval(state.keepaliveHold);
          else keepalive.refresh();
        }, Math.max(500, Math.floor(keepalive.interval / 3)));
        state.keepaliveHold.unref();
      }
    },
    resumeReading(session) {
      const state = sessions.get(session);
      if (state === undefined) return;
      state.connection.gate.resume();
      if (state.keepaliveHold !== undefined) {
        clearInterval(state.keepaliveHold);
        state.keepaliveHold = undefined;
        keepaliveOf(state.client)?.refresh();
      }
    },
    get connectedClients() {
      return aedes.connectedClients;
    },
    async disconnectAll(reasonCode) {
      // Acknowledgements written in this tick are still corked by the packet writer; let them out
      // before the sockets are closed, or devices send again what Kafka already has.
      await new Promise((resolve) => setImmediate(resolve));
      const all = (aedes as unknown as { clients: Record<string, Client> }).clients;
      const closing: Array<Promise<void>> = [];
      for (const client of Object.values(all)) {
        const state = clients.get(client);
        if (state?.dropped === true) {
          // Already sent away (its DISCONNECT is out and its socket closing): one DISCONNECT is
          // enough, but its close is waited for too. Closing the engine under it would write to the
          // ended socket, fail, and reset the connection, and the reset can discard the
          // acknowledgements the client has not read yet.
          if (state.closing !== undefined) closing.push(state.closing);
          continue;
        }
        if (state !== undefined) {
          state.closeReason ??= 'shutdown';
          state.dropped = true;
        }
        if (client.version === 5) sendDisconnect(client, reasonCode);
        const closed = closeGracefully(client);
        if (state !== undefined) state.closing = closed;
        closing.push(closed);
      }
      await Promise.all(closing);
    },
    close() {
      return new Promise<void>((resolve) => aedes.close(() => resolve()));
    },
  };
}

/** How long a 3.1.1 client sent away has to close its side before its socket is destroyed. */
const GRACEFUL_CLOSE_MS = 1000;

/**
 * Closes a connection without an MQTT reason (3.1.1 has no server DISCONNECT) so that what was
 * written before, the acknowledgements above all, reaches the client: end() sends it and a FIN, and
 * the socket is still read until the client closes its side. Destroying it at once could discard
 * buffered acknowledgements, and closing with unread bytes makes the kernel answer with a RST, on
 * which the client may drop acknowledgements it has received but not read yet.
 */
/**
 * Writes an MQTT 5 DISCONNECT behind whatever is queued on the socket (the acknowledgements that
 * went out before it). aedes' own `disconnect()` destroys the socket right after: with unread
 * bytes from a still-publishing client, the kernel then resets the connection and the client can
 * lose the acknowledgements still on their way, and send again what Kafka already has.
 */
function sendDisconnect(client: Client, reasonCode: number, reason?: string): void {
  const conn = client.conn as Duplex;
  if (conn.destroyed || conn.writableEnded) return;
  const packet: mqttPacket.IDisconnectPacket = { cmd: 'disconnect', reasonCode };
  if (reason !== undefined) packet.properties = { reasonString: reason };
  try {
    mqttPacket.writeToStream(packet, conn, { protocolVersion: 5 });
  } catch {
    // Unencodable properties: close without the reason rather than not at all.
  }
}

function closeGracefully(client: Client): Promise<void> {
  let done: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => {
    done = resolve;
  });
  const conn = client.conn as Duplex;
  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    client.close(() => done());
  };
  const timer = setTimeout(finish, GRACEFUL_CLOSE_MS);
  conn.once('close', finish);
  if (conn.destroyed) {
    finish();
    return closed;
  }
  discardInput(conn);
  conn.end();
  return closed;
}

/**
 * Reads and drops whatever a client sent away still sends (nothing of it is handled any more).
 * Unread bytes are what make the kernel answer the close with a reset, on which the client's kernel
 * may discard acknowledgements its application has not read yet; and only a stream read to its end
 * sees the client's FIN, so the socket closes as soon as the client closes its side rather than when
 * the grace period runs out. MQTT.js, for one, keeps the connection open and publishing after a
 * server DISCONNECT.
 */
function discardInput(conn: Duplex): void {
  // aedes' reader, which stops pulling once a dropped client's PUBLISHes go unanswered.
  conn.removeAllListeners('readable');
  // The read gate's wrapper (an own property over the prototype's read): a paused gate must not stop this.
  delete (conn as { read?: unknown }).read;
  conn.on('data', () => undefined);
  conn.resume();
}

/** Disconnect metric reasons for the reason codes the engine sends clients away with. */
const DROP_REASONS: Readonly<Record<number, string>> = {
  [ReasonCode.ServerBusy]: 'kafka-unavailable',
  [ReasonCode.ServerShuttingDown]: 'shutdown',
  [ReasonCode.ReceiveMaximumExceeded]: 'receive-maximum',
  [ReasonCode.PacketTooLarge]: 'packet-too-large',
  [ReasonCode.NotAuthorized]: 'not-authorized',
  [ReasonCode.QuotaExceeded]: 'quota-exceeded',
  [ReasonCode.MaximumConnectTime]: 'credentials-expired',
};

/**
 * One bounded word for why a connection ended: the proxy's own reason when it closed it, else
 * `client` (DISCONNECT received), `error` (protocol error, keepalive timeout) or `connection-lost`.
 */
function disconnectReason(client: Client, state: ClientState): string {
  if (state.closeReason !== undefined) return state.closeReason;
  const internals = client as unknown as { disconnectReasonCode?: number | null; _disconnected?: boolean; errored?: boolean };
  if (typeof internals.disconnectReasonCode === 'number') return DROP_REASONS[internals.disconnectReasonCode] ?? 'server-disconnect';
  if (internals._disconnected === true) return 'client';
  if (internals.errored === true) return 'error';
  return 'connection-lost';
}

/**
 * Packet ids whose PUBREC went out and whose PUBREL has not arrived: kept by aedes (see the patch
 * in patches/, GHSA-5jvp-3p2v-5qgf), read here so a retransmission is not produced twice.
 */
function awaitingPubrel(client: Client): ReadonlySet<number> {
  return (client as unknown as { _inboundInflight: ReadonlySet<number> })._inboundInflight;
}

/** aedes' keep-alive timer of a client (refreshed on each packet), when the client asked for one. */
function keepaliveOf(client: Client): { refresh(): void; interval: number } | undefined {
  const c = client as unknown as { _keepaliveTimer: NodeJS.Timeout | null; _keepaliveInterval: number };
  const timer = c._keepaliveTimer;
  if (timer === null || c._keepaliveInterval <= 0) return undefined;
  return { refresh: () => timer.refresh(), interval: c._keepaliveInterval };
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

/** An authenticate error: aedes answers CONNACK with this return code (MQTT 5: the matching reason code). */
function connectError(returnCode: number, message: string): Error & { returnCode: number } {
  return Object.assign(new Error(message), { returnCode });
}

/**
 * What is wrong with the properties the packet parser handed over, if anything. The patched parser
 * (patches/mqtt-packet+9.0.2.patch) already refuses unreadable and repeated properties; this is the
 * second line of defence, so a null value or an array where one value belongs (what the unpatched
 * parser produced) can never reach the record builder.
 */
function malformedPublishProperties(packet: PublishPacket): string | undefined {
  // A Will QoS of 3 passes aedes' CONNECT checks and arrives here as the will's QoS.
  if ((packet.qos as number) > 2) return 'QoS 3 is not a QoS';
  const p = packet.properties as Record<string, unknown> | undefined;
  if (p === undefined) return undefined;
  const userProperties = p.userProperties;
  if (userProperties !== undefined) {
    if (typeof userProperties !== 'object' || userProperties === null) return 'user properties are not name/value pairs';
    for (const [name, value] of Object.entries(userProperties)) {
      const values: unknown[] = Array.isArray(value) ? value : [value];
      if (values.length === 0 || values.some((v) => typeof v !== 'string')) return `user property ${JSON.stringify(name.slice(0, 64))} has no valid value`;
    }
  }
  for (const key of ['contentType', 'responseTopic'] as const) {
    if (p[key] !== undefined && typeof p[key] !== 'string') return `${key} is not a string`;
  }
  if (p.correlationData !== undefined && !Buffer.isBuffer(p.correlationData)) return 'correlation data is not binary data';
  return undefined;
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
