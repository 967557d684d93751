import type { Connection } from './connection.js';
import type { EngineContext } from './engine-context.js';
import type { InboundPublish, MqttSession } from './types.js';
import { WILL_REPLY, type WillMessage } from './will.js';

/**
 * Everything that follows the end of a connection, once: its counts, the hooks, and its will
 * (published unless a DISCONNECT discarded it [MQTT-3.1.2-8 (3.1.1), MQTT-3.1.2-8 (v5)]). Nothing
 * here is proportional to what the client left behind: its QoS 2 state goes with the object.
 */
export function connectionClosed(connection: Connection): void {
  const { ctx } = connection;
  ctx.live.delete(connection);
  if (connection.inbound !== undefined) ctx.qos2Pending -= connection.inbound.qos2Count;
  const session = connection.session;
  if (session === undefined) return;
  if (ctx.byClientId.get(connection.clientId) === connection) ctx.byClientId.delete(connection.clientId);
  const reason = connection.closeReason ?? 'connection-lost';
  if (connection.countedVersion !== undefined) {
    ctx.metrics.connections.dec({ listener: connection.info.listener, version: connection.countedVersion });
    ctx.metrics.disconnects.inc({ reason });
    connection.countedVersion = undefined;
    ctx.connected--;
  }
  callHook(ctx, 'onDisconnect', () => ctx.hooks.onDisconnect?.(session, reason));
  const will = connection.will;
  const willDelayMs = will !== undefined && connection.willOnClose ? will.delayMs : 0;
  if (connection.sessionOpened && ctx.hooks.onSessionEnd !== undefined) {
    const end = {
      expirySeconds: connection.grantedSessionExpiry,
      outbound: connection.outbound?.snapshot() ?? [],
      inboundQoS2: connection.inbound?.awaitingPubrel() ?? [],
      ...(willDelayMs > 0 && { willDelayMs }),
    };
    callHook(ctx, 'onSessionEnd', () => ctx.hooks.onSessionEnd!(session, end));
  }
  callHook(ctx, 'onClosed', () => ctx.hooks.onClosed?.(session));
  if (will !== undefined && connection.willOnClose) {
    ctx.wills.schedule(connection.clientId, will.delayMs, () => publishWill(ctx, session, will));
  }
}

function publishWill(ctx: EngineContext, session: MqttSession, will: WillMessage): void {
  const message: InboundPublish = {
    topic: will.topic,
    payload: will.payload,
    qos: will.qos,
    retain: will.retain,
    will: true,
    properties: will.properties,
    receivedAt: Date.now(),
  };
  callHook(ctx, 'onPublish', () => ctx.hooks.onPublish(session, message, WILL_REPLY));
}

/** A hook that throws must not keep the rest of the connection's ending from happening. */
export function callHook(ctx: EngineContext, name: string, call: () => void): void {
  try {
    call();
  } catch (error) {
    ctx.logger.error({ hook: name, err: (error as Error).message }, 'MQTT hook failed');
  }
}
