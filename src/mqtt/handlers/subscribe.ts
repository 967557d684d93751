import type { ISubscribePacket, IUnsubscribePacket } from 'mqtt-packet';
import type { Connection } from '../connection.js';
import { ReasonCode } from '../reason-codes.js';
import { validateSubscribe, validateUnsubscribe, type SubscribeRequest } from '../subscribe-request.js';

/** 3.1.1 SUBACK knows one failure code [MQTT-3.9.3-2 (3.1.1)]. */
const FAILURE_311 = 0x80;

/**
 * SUBSCRIBE: validated as a whole (a packet that breaks a rule is a protocol error) and per
 * filter (an invalid filter is refused in its SUBACK place); what is left goes to the hooks,
 * which grant or refuse each filter. Without a hook every filter is refused and the client stays.
 */
export function handleSubscribe(connection: Connection, packet: ISubscribePacket): void {
  const verdict = validateSubscribe(packet, connection.protocolVersion, connection.ctx.capabilities());
  if (!verdict.ok) return connection.protocolError('subscribe-invalid', verdict.reasonCode, verdict.reason);
  const request = verdict.value;
  const { hooks } = connection.ctx;
  const session = connection.session!;
  const answer = (codes: readonly number[]): void => {
    if (connection.gone) return;
    connection.writer.packet({ cmd: 'suback', messageId: request.packetId, granted: subackCodes(connection, request, codes) });
  };
  if (hooks.onSubscribe === undefined) {
    if (connection.ctx.logger.isLevelEnabled('debug')) connection.log.debug({ filters: packet.subscriptions.map((s) => s.topic) }, 'subscribe refused');
    return answer(request.subscriptions.map(() => ReasonCode.NotAuthorized));
  }
  let codes: readonly number[] | Promise<readonly number[]>;
  try {
    codes = hooks.onSubscribe(session, request);
  } catch (error) {
    connection.log.error({ err: (error as Error).message }, 'onSubscribe failed: every filter refused');
    return answer(request.subscriptions.map(() => ReasonCode.UnspecifiedError));
  }
  if (!(codes instanceof Promise)) return answer(codes);
  codes.then(answer, (error: unknown) => {
    connection.log.error({ err: (error as Error).message }, 'onSubscribe failed: every filter refused');
    answer(request.subscriptions.map(() => ReasonCode.UnspecifiedError));
  });
}

/** One code per filter of the packet, in its order: a refused filter's own, the hook's for the rest. */
function subackCodes(connection: Connection, request: SubscribeRequest, codes: readonly number[]): number[] {
  const v5 = connection.protocolVersion === 5;
  return request.subscriptions.map((_, index) => {
    let code = request.refused.get(index) ?? codes[index] ?? ReasonCode.UnspecifiedError;
    if (code > 2 && code < 0x80) code = ReasonCode.UnspecifiedError;
    return !v5 && code >= 0x80 ? FAILURE_311 : code;
  });
}

/** UNSUBSCRIBE: validated, handed to the hooks; without one nothing was subscribed (0x11). */
export function handleUnsubscribe(connection: Connection, packet: IUnsubscribePacket): void {
  const verdict = validateUnsubscribe(packet, connection.protocolVersion);
  if (!verdict.ok) return connection.protocolError('unsubscribe-invalid', verdict.reasonCode, verdict.reason);
  const request = verdict.value;
  const { hooks } = connection.ctx;
  const answer = (codes: readonly number[]): void => {
    if (connection.gone) return;
    // 3.1.1 UNSUBACK carries no codes.
    const granted = connection.protocolVersion === 5 ? request.topicFilters.map((_, i) => request.refused.get(i) ?? codes[i] ?? ReasonCode.UnspecifiedError) : [];
    connection.writer.packet({ cmd: 'unsuback', messageId: request.packetId, granted });
  };
  if (hooks.onUnsubscribe === undefined) return answer(request.topicFilters.map(() => ReasonCode.NoSubscriptionExisted));
  let codes: readonly number[] | Promise<readonly number[]>;
  try {
    codes = hooks.onUnsubscribe(connection.session!, request);
  } catch (error) {
    connection.log.error({ err: (error as Error).message }, 'onUnsubscribe failed');
    return answer([]);
  }
  if (!(codes instanceof Promise)) return answer(codes);
  codes.then(answer, (error: unknown) => {
    connection.log.error({ err: (error as Error).message }, 'onUnsubscribe failed');
    answer([]);
  });
}
