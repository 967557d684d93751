import type { IConnackPacket, IConnectPacket } from 'mqtt-packet';
import { connackProperties, type ServerCapabilities } from '../capabilities.js';
import { Pause, type Connection } from '../connection.js';
import { armCredentialExpiry } from '../credential-expiry.js';
import { armKeepAlive } from '../keep-alive.js';
import { ReasonCode, ReturnCode } from '../reason-codes.js';
import { callHook } from '../session-end.js';
import type { MqttSession, SessionOpened, SessionRequest } from '../types.js';
import type { WillMessage } from '../will.js';
import type { ConnectRefusalSpec } from './connect-rules.js';
import { publishPropertiesOf } from './publish-rules.js';

/** A session that ends with its connection: what the server grants without a session keeper. */
const NO_SESSION: SessionOpened = Object.freeze({ present: false, expirySeconds: 0 });

/** 3.1.1 Clean Session 0 asks for a session that never expires (the keeper bounds it). */
const NEVER_EXPIRES = 0xffff_ffff;

/** What the CONNECT handler settled before the client was accepted. */
export interface ConnectPlan {
  readonly packet: IConnectPacket;
  readonly clientId: string;
  /** The server made the client id up (the client sent none). */
  readonly assigned: boolean;
  readonly keepAlive: number;
  /** MQTT 5: the keep alive the client must use instead of its own. */
  readonly serverKeepAlive: number | undefined;
  readonly capabilities: ServerCapabilities;
}

/** Answers a refused CONNECT (MQTT 5 reason code, 3.1.1 return code or nothing) and closes. */
export function refuseConnect(connection: Connection, spec: ConnectRefusalSpec): void {
  const { ctx, info } = connection;
  ctx.metrics.connects.inc({ listener: info.listener, outcome: 'refused', reason: spec.refusal });
  if (spec.protocolErrorKind !== undefined) {
    ctx.metrics.protocolErrors.inc({ kind: spec.protocolErrorKind });
    connection.log.warn({ kind: spec.protocolErrorKind, problem: spec.problem, protocolVersion: connection.protocolVersion }, 'CONNECT refused: protocol error');
  } else if (ctx.logger.isLevelEnabled('debug')) {
    connection.log.debug({ reason: spec.refusal, problem: spec.problem }, 'CONNECT refused');
  }
  if (connection.protocolVersion === 5) {
    const properties = spec.withheld === true ? undefined : { reasonString: spec.problem };
    connection.writer.packet({ cmd: 'connack', sessionPresent: false, reasonCode: spec.reasonCode, ...(properties !== undefined && { properties }) });
  } else if (spec.returnCode !== undefined) {
    connection.writer.packet({ cmd: 'connack', sessionPresent: false, returnCode: spec.returnCode });
  }
  connection.closeGracefully();
}

/**
 * The client is authenticated: the takeover of a connection with the same client id on this
 * engine [MQTT-3.1.4-2 (3.1.1), MQTT-3.1.4-3 (v5)], then its session from the hooks (which may
 * have to wait for the one taken over to end), then CONNACK.
 */
export function openSession(connection: Connection, plan: ConnectPlan, username: string | undefined, expiresAt: number | undefined): void {
  const { ctx } = connection;
  const session = sessionOf(connection, plan.clientId, username);
  connection.session = session;
  ctx.bySession.set(session, connection);
  takeOver(connection, plan.clientId);
  const open = ctx.hooks.openSession;
  if (open === undefined) return acceptConnect(connection, plan, expiresAt, NO_SESSION);
  const failed = (error: unknown): void => {
    connection.log.error({ err: (error as Error).message }, 'the session could not be opened');
    if (connection.state !== 'connecting') return;
    refuseConnect(connection, { reasonCode: ReasonCode.ServerUnavailable, returnCode: ReturnCode.ServerUnavailable, refusal: 'server-unavailable', problem: 'session store unavailable' });
  };
  let opened: SessionOpened | Promise<SessionOpened>;
  // From here on its end is reported, even when the connection closes before CONNACK.
  connection.sessionOpened = true;
  try {
    opened = open(session, sessionRequestOf(connection, plan.packet));
  } catch (error) {
    return failed(error);
  }
  const accept = (result: SessionOpened): void => {
    if (connection.state === 'connecting') acceptConnect(connection, plan, expiresAt, result);
  };
  if (opened instanceof Promise) opened.then(accept, failed);
  else accept(opened);
}

function sessionRequestOf(connection: Connection, packet: IConnectPacket): SessionRequest {
  const clean = packet.clean !== false;
  const will = willOf(packet, NEVER_EXPIRES);
  if (connection.protocolVersion === 5) return { clean, expirySeconds: packet.properties?.sessionExpiryInterval ?? 0, will };
  return { clean, expirySeconds: clean ? 0 : NEVER_EXPIRES, will };
}

function sessionOf(connection: Connection, clientId: string, username: string | undefined): MqttSession {
  const { info } = connection;
  return {
    clientId,
    username,
    protocolVersion: connection.protocolVersion,
    remoteAddress: info.remoteAddress,
    listener: info.listener,
    ...(info.certificateIdentity !== undefined && { certificateIdentity: info.certificateIdentity }),
  };
}

/** The client is in: its will, CONNACK, keep alive, and reading resumes. */
function acceptConnect(connection: Connection, plan: ConnectPlan, expiresAt: number | undefined, opened: SessionOpened): void {
  const { ctx, info } = connection;
  const { packet, clientId } = plan;
  const session = connection.session!;
  connection.grantedSessionExpiry = Math.max(0, Math.min(opened.expirySeconds, sessionRequestOf(connection, packet).expirySeconds));
  if (opened.inboundQoS2 !== undefined && opened.inboundQoS2.length > 0) ctx.qos2Pending += connection.inboundFlow().restoreAwaitingPubrel(opened.inboundQoS2);
  if (ctx.wills.cancel(clientId) && ctx.logger.isLevelEnabled('debug')) connection.log.debug('a will waiting out its delay was cancelled by this connection');
  connection.capabilities = plan.capabilities;
  applyClientProperties(connection, packet);
  connection.will = willOf(packet, connection.grantedSessionExpiry);
  connection.writer.packet(connackOf(connection, plan, opened.present));
  connection.state = 'connected';
  const version = String(connection.protocolVersion);
  connection.countedVersion = version;
  ctx.connected++;
  ctx.metrics.connects.inc({ listener: info.listener, outcome: 'accepted' });
  ctx.metrics.connections.inc({ listener: info.listener, version });
  armKeepAlive(connection, plan.keepAlive);
  if (expiresAt !== undefined) armCredentialExpiry(connection, expiresAt);
  callHook(ctx, 'onConnect', () => ctx.hooks.onConnect?.(session));
  connection.unpause(Pause.Connecting);
}

function takeOver(connection: Connection, clientId: string): void {
  const { ctx } = connection;
  const previous = ctx.byClientId.get(clientId);
  ctx.byClientId.set(clientId, connection);
  if (previous === undefined || previous === connection || previous.gone) return;
  previous.log.info({ takenOverBy: connection.info.remoteAddress }, 'another connection with this client id: taken over');
  previous.drop(ReasonCode.SessionTakenOver, 'another connection uses this client identifier');
}

function connackOf(connection: Connection, plan: ConnectPlan, sessionPresent: boolean): IConnackPacket {
  if (connection.protocolVersion !== 5) return { cmd: 'connack', sessionPresent, returnCode: 0 };
  const { ctx } = connection;
  const properties = connackProperties(plan.capabilities, {
    ...(ctx.receiveMaximum < 65535 && { receiveMaximum: ctx.receiveMaximum }),
    maximumPacketSize: ctx.limits.maxPacketSize,
    topicAliasMaximum: ctx.topicAliasMaximum,
    ...(plan.serverKeepAlive !== undefined && { serverKeepAlive: plan.serverKeepAlive }),
    ...(plan.assigned && { assignedClientIdentifier: plan.clientId }),
  });
  if (connection.requestedSessionExpiry !== connection.grantedSessionExpiry) properties.sessionExpiryInterval = connection.grantedSessionExpiry;
  return { cmd: 'connack', sessionPresent, reasonCode: 0, properties };
}

/** The client's own limits, which bound what the server sends it. */
function applyClientProperties(connection: Connection, packet: IConnectPacket): void {
  const p = packet.properties;
  connection.requestedSessionExpiry = p?.sessionExpiryInterval ?? 0;
  if (connection.protocolVersion !== 5 || p === undefined) return;
  connection.maximumPacketSize = p.maximumPacketSize;
  connection.problemInformation = p.requestProblemInformation !== false;
  connection.clientReceiveMaximum = p.receiveMaximum ?? 65535;
  connection.clientTopicAliasMaximum = p.topicAliasMaximum ?? 0;
}

/**
 * The will as kept until the connection ends. Its delay is the Will Delay Interval, but no longer
 * than the session lasts: a will is published when the delay passes or the session ends, whichever
 * comes first (v5 3.1.3.2.2).
 */
function willOf(packet: IConnectPacket, sessionExpirySeconds: number): WillMessage | undefined {
  const will = packet.will;
  if (will === undefined) return undefined;
  const delaySeconds = Math.min(will.properties?.willDelayInterval ?? 0, sessionExpirySeconds);
  return {
    topic: will.topic,
    payload: typeof will.payload === 'string' ? Buffer.from(will.payload) : will.payload,
    qos: will.qos ?? 0,
    retain: will.retain === true,
    properties: publishPropertiesOf(will.properties),
    delayMs: delaySeconds * 1000,
  };
}
