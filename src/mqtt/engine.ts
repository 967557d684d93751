import type { Duplex } from 'node:stream';
import { Connection, Pause } from './connection.js';
import { EngineContext, type MqttEngineOptions } from './engine-context.js';
import { OutboundWindow, type OfferOutcome } from './outbound-window.js';
import { ReasonCode } from './reason-codes.js';
import type { ConnectionInfo, MqttSession, OutboundMessage, OutboundSnapshotEntry } from './types.js';

export type { ConnectionInfo };
export type { MqttEngineOptions };

/** Messages one connection may have waiting for room in its outbound window before offers are refused (limits.maxQueuedDeliveries). */
export const DEFAULT_MAX_QUEUED_OUTBOUND = 1000;

export interface MqttEngine {
  /** Serves one client connection (a TCP socket or any duplex byte stream). */
  handle(stream: Duplex, info: ConnectionInfo): void;
  /** Clients past CONNACK and still connected. */
  readonly connectedClients: number;
  /** Nothing to prepare; kept so the server's start sequence does not depend on the engine's needs. */
  start(): Promise<void>;
  /**
   * Stops reading from the client's connection (what was already read from it is still handled);
   * TCP pushes back once the buffers are full. For backpressure.
   */
  pauseReading(session: MqttSession): void;
  /** Reads from the client's connection again. */
  resumeReading(session: MqttSession): void;
  /**
   * Sends a message to a connected client through its outbound window (QoS 1 and 2 within the
   * client's Receive Maximum, in order). `gone` when the session's connection has ended.
   */
  deliver(session: MqttSession, message: OutboundMessage): OfferOutcome | 'gone';
  /** Messages given to `deliver` for this session still waiting for window room or a writable socket. */
  queuedFor(session: MqttSession): number;
  /**
   * A resumed session's unacknowledged messages from its last connection (see OutboundWindow.restore),
   * sent before what `deliver` is given after. Messages too large for the client now are handed to
   * onDeliveryAcknowledged, as delivered [MQTT-3.1.2-25]. `gone` when the connection has ended.
   */
  restoreOutbound(session: MqttSession, entries: readonly OutboundSnapshotEntry[]): 'restored' | 'gone';
  /** What the session's outbound window holds now: unacknowledged and queued messages, in order. */
  outboundOf(session: MqttSession): readonly OutboundSnapshotEntry[];
  /** The session's QoS 2 packet identifiers awaiting PUBREL. */
  inboundQoS2Of(session: MqttSession): readonly number[];
  /** The client connected elsewhere: a will of its waiting out its delay here is not published. True when one was. */
  cancelWill(clientId: string): boolean;
  /** Sends one client away: MQTT 5 gets DISCONNECT with `reasonCode` and `reason` first; then the connection closes. */
  disconnect(session: MqttSession, reasonCode: number, reason: string): void;
  /** Closes every connection: MQTT 5 clients get DISCONNECT with the reason code first. */
  disconnectAll(reasonCode: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * The MQTT front end: the project's own engine on mqtt-packet. It authenticates clients through
 * the hooks, turns each PUBLISH into an InboundPublish for them and carries their answer back to
 * the client; it knows nothing of Kafka.
 */
export function createMqttEngine(options: MqttEngineOptions): MqttEngine {
  const ctx = new EngineContext(options);
  const connectionOf = (session: MqttSession): Connection | undefined => ctx.bySession.get(session);

  return {
    start: () => Promise.resolve(),
    handle(stream, info) {
      // Gone before it got here (a listener handing over a socket that just closed): 'close' will not come again.
      if (stream.destroyed) return;
      ctx.live.add(new Connection(stream, info, ctx));
    },
    get connectedClients() {
      return ctx.connected;
    },
    pauseReading(session) {
      connectionOf(session)?.pause(Pause.Budget);
    },
    resumeReading(session) {
      connectionOf(session)?.unpause(Pause.Budget);
    },
    deliver(session, message) {
      const connection = connectionOf(session);
      if (connection === undefined || connection.gone || connection.state !== 'connected') return 'gone';
      const { outcome, packets } = windowOf(ctx, connection).offer(message);
      connection.send(packets);
      return outcome;
    },
    restoreOutbound(session, entries) {
      const connection = connectionOf(session);
      if (connection === undefined || connection.gone || connection.state !== 'connected') return 'gone';
      const { packets, discarded } = windowOf(ctx, connection).restore(entries);
      connection.send(packets);
      const acknowledged = ctx.hooks.onDeliveryAcknowledged;
      if (acknowledged !== undefined) for (const message of discarded) acknowledged(session, message.token);
      return 'restored';
    },
    outboundOf(session) {
      return connectionOf(session)?.outbound?.snapshot() ?? [];
    },
    inboundQoS2Of(session) {
      return connectionOf(session)?.inbound?.awaitingPubrel() ?? [];
    },
    cancelWill(clientId) {
      return ctx.wills.cancel(clientId);
    },
    queuedFor(session) {
      const connection = connectionOf(session);
      // What a connection that ended had queued goes with it.
      return connection === undefined || connection.gone ? 0 : (connection.outbound?.queued ?? 0);
    },
    disconnect(session, reasonCode, reason) {
      connectionOf(session)?.drop(reasonCode, reason);
    },
    async disconnectAll(reasonCode) {
      // Acknowledgements written in this tick are gathered until its end; let them out before
      // the sockets are closed, or devices send again what Kafka already has.
      await new Promise((resolve) => setImmediate(resolve));
      const closing: Array<Promise<void>> = [];
      for (const connection of ctx.live) {
        // One sent away already (its DISCONNECT is out) is waited for, not told twice.
        if (!connection.gone) connection.drop(reasonCode, reasonCode === ReasonCode.ServerShuttingDown ? 'server shutting down' : 'disconnected by the server', 'shutdown');
        closing.push(connection.whenClosed());
      }
      await Promise.all(closing);
    },
    close() {
      for (const connection of ctx.live) connection.stream.destroy();
      ctx.wills.close();
      return Promise.resolve();
    },
  };
}

export { ReasonCode };

/** The connection's outbound window, made at its first delivery. */
function windowOf(ctx: EngineContext, connection: Connection): OutboundWindow {
  const window = (connection.outbound ??= new OutboundWindow({
    receiveMaximum: connection.clientReceiveMaximum,
    maximumPacketSize: connection.maximumPacketSize,
    topicAliasMaximum: connection.clientTopicAliasMaximum,
    protocolVersion: connection.protocolVersion,
    maxQueued: ctx.limits.maxQueuedDeliveries,
  }));
  if ((connection.pauses & Pause.Writes) !== 0 && window.writable) window.setWritable(false);
  return window;
}
