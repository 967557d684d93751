import { randomUUID } from 'node:crypto';
import type { IConnectPacket } from 'mqtt-packet';
import { Pause, type Connection } from '../connection.js';
import { MalformedPacket, parseConnectFrame } from '../packet-parser.js';
import { ReasonCode, ReturnCode } from '../reason-codes.js';
import type { ConnectDecision, ConnectRequest } from '../types.js';
import { openSession, refuseConnect, type ConnectPlan } from './connack.js';
import { checkProtocol, clientIdProblem, connectProblem, connectTrailingBytes, type ConnectRefusalSpec } from './connect-rules.js';

/** Prefix of the client identifiers the server assigns to clients that sent none. */
export const ASSIGNED_CLIENT_ID_PREFIX = 'mkp-';

const malformed = (problem: string): ConnectRefusalSpec => ({ reasonCode: ReasonCode.MalformedPacket, returnCode: undefined, refusal: 'malformed', protocolErrorKind: 'malformed-connect', problem });

/**
 * The first packet of a connection. It must be CONNECT [MQTT-3.1.0-1]; its protocol level, its
 * encoding, its rules, the client id and keep alive limits are checked in that order, cheapest
 * first, so a client refused by them costs no password check. Reading stops until the hooks have
 * decided: nothing the client sends after CONNECT is handled before CONNACK [MQTT-3.1.4-5 (v5)].
 */
export function handleConnectFrame(connection: Connection, frame: Buffer): void {
  clearTimeout(connection.connectTimer);
  connection.connectTimer = undefined;
  if (frame[0]! >> 4 !== 1) {
    connection.ctx.metrics.protocolErrors.inc({ kind: 'first-packet-not-connect' });
    connection.log.warn({ firstByte: frame[0] }, 'first packet is not CONNECT: closed');
    connection.closeGracefully();
    return;
  }
  connection.state = 'connecting';
  connection.pause(Pause.Connecting);
  const protocol = checkProtocol(frame);
  if (protocol === undefined) return refuseConnect(connection, malformed('CONNECT too short for its protocol name and level'));
  if (protocol.kind === 'not-mqtt') {
    connection.ctx.metrics.connects.inc({ listener: connection.info.listener, outcome: 'refused', reason: 'unsupported-protocol-version' });
    connection.ctx.metrics.protocolErrors.inc({ kind: 'protocol-name' });
    connection.log.warn('CONNECT with another protocol name: closed');
    connection.closeGracefully();
    return;
  }
  if (protocol.kind === 'unsupported') {
    // A level above 5 speaks at least MQTT 5's CONNACK; older ones get 3.1.1's.
    connection.protocolVersion = protocol.level > 5 ? 5 : 4;
    return refuseConnect(connection, {
      reasonCode: ReasonCode.UnsupportedProtocolVersion,
      returnCode: ReturnCode.UnacceptableProtocolVersion,
      refusal: 'unsupported-protocol-version',
      problem: `protocol level ${protocol.level} is not supported`,
    });
  }
  connection.protocolVersion = protocol.version;
  const packet = parseConnectFrame(frame);
  if (packet instanceof MalformedPacket) return refuseConnect(connection, malformed(packet.problem));
  if (packet.cmd !== 'connect') return refuseConnect(connection, malformed('not a CONNECT'));
  const trailing = connectTrailingBytes(frame);
  if (trailing !== 0) return refuseConnect(connection, malformed(`${trailing} bytes after the last field of CONNECT`));
  const plan = planConnect(connection, packet);
  if (plan !== undefined) authenticate(connection, plan);
}

/** The rules and limits; undefined when the CONNECT was refused by one. */
function planConnect(connection: Connection, packet: IConnectPacket): ConnectPlan | undefined {
  const { ctx } = connection;
  const version = connection.protocolVersion;
  const capabilities = ctx.capabilities();
  const problem = connectProblem(packet, version, capabilities);
  if (problem !== undefined) {
    refuseConnect(connection, problem);
    return undefined;
  }
  const where = { clientId: packet.clientId, remoteAddress: connection.info.remoteAddress, listener: connection.info.listener, protocolVersion: version };
  const idProblem = clientIdProblem(packet, version, ctx.limits.maxClientIdLength);
  if (idProblem !== undefined) {
    if (idProblem.refusal === 'client-id-length') ctx.limitHit('client-id-length', { ...where, length: packet.clientId.length }, `client id longer than ${ctx.limits.maxClientIdLength}: refused`);
    refuseConnect(connection, idProblem);
    return undefined;
  }
  const requested = packet.keepalive ?? 0;
  const keepAlive = boundedKeepAlive(connection, requested);
  if (keepAlive !== requested && version !== 5) {
    // 3.1.1 cannot be told another keep alive: refused as Mosquitto does (identifier rejected).
    ctx.limitHit('keep-alive', { ...where, keepAlive: requested }, 'keep alive out of bounds: refused');
    refuseConnect(connection, { reasonCode: ReasonCode.ClientIdentifierNotValid, returnCode: ReturnCode.IdentifierRejected, refusal: 'keep-alive', problem: 'keep alive out of bounds' });
    return undefined;
  }
  if (keepAlive !== requested) ctx.limitHit('keep-alive', { ...where, keepAlive: requested, serverKeepAlive: keepAlive }, 'keep alive out of bounds: Server Keep Alive sent');
  const assigned = packet.clientId.length === 0;
  const clientId = assigned ? `${ASSIGNED_CLIENT_ID_PREFIX}${randomUUID()}` : packet.clientId;
  connection.clientId = clientId;
  return { packet, clientId, assigned, keepAlive, serverKeepAlive: keepAlive !== requested ? keepAlive : undefined, capabilities };
}

/** The keep alive the client must use: its own, or the nearest bound (0 = none counts as above a maximum below 65535). */
function boundedKeepAlive(connection: Connection, requested: number): number {
  const { minKeepAliveSeconds: min, maxKeepAliveSeconds: max } = connection.ctx.limits;
  if (requested === 0) return max >= 65535 ? 0 : max;
  if (requested > max) return max;
  if (requested < min) return min;
  return requested;
}

function authenticate(connection: Connection, plan: ConnectPlan): void {
  const { ctx, info } = connection;
  const { packet } = plan;
  const request: ConnectRequest = {
    clientId: plan.clientId,
    username: packet.username,
    password: packet.password,
    protocolVersion: connection.protocolVersion,
    remoteAddress: info.remoteAddress,
    listener: info.listener,
    certificateIdentity: info.certificateIdentity,
  };
  const failed = (error: unknown): void => {
    ctx.logger.error({ clientId: plan.clientId, remoteAddress: info.remoteAddress, listener: info.listener, err: (error as Error).message }, 'authentication failed with an error');
    if (connection.state !== 'connecting') return;
    refuseConnect(connection, { reasonCode: ReasonCode.ServerUnavailable, returnCode: ReturnCode.ServerUnavailable, refusal: 'server-unavailable', problem: 'authentication unavailable' });
  };
  let decision: ConnectDecision | Promise<ConnectDecision>;
  try {
    decision = ctx.hooks.authenticate(request);
  } catch (error) {
    failed(error);
    return;
  }
  if (decision instanceof Promise) decision.then((d) => decided(connection, plan, d), failed);
  else decided(connection, plan, decision);
}

const REFUSED: Record<Extract<ConnectDecision, { accepted: false }>['code'], readonly [number, number]> = {
  'bad-credentials': [ReasonCode.BadUserNameOrPassword, ReturnCode.BadUsernameOrPassword],
  'not-authorized': [ReasonCode.NotAuthorized, ReturnCode.NotAuthorized],
  'server-busy': [ReasonCode.ServerBusy, ReturnCode.ServerUnavailable],
};

function decided(connection: Connection, plan: ConnectPlan, decision: ConnectDecision): void {
  // Gone while its credentials were checked: nobody to answer.
  if (connection.state !== 'connecting') return;
  if (decision.accepted) {
    openSession(connection, plan, decision.username, decision.expiresAt);
    return;
  }
  const [reasonCode, returnCode] = REFUSED[decision.code];
  refuseConnect(connection, { reasonCode, returnCode, refusal: decision.code, problem: decision.reason, withheld: true });
}
