import type { IPublishPacket } from 'mqtt-packet';
import type { Connection } from '../connection.js';
import { AWAITING_PUBREL } from '../inbound-flow.js';
import { ReasonCode } from '../reason-codes.js';
import { InboundTopicAliases } from '../inbound-topic-aliases.js';
import type { InboundPublish, PublishReply } from '../types.js';
import { InboundReply, QoS0Reply } from './publish-reply.js';
import { publishPropertiesOf, publishPropertyRefusal, topicRefusal } from './publish-rules.js';

/**
 * A PUBLISH from the client: its rules checked, its topic alias resolved, its QoS flow started,
 * then handed to the hooks with the reply they answer it through. A QoS 2 message already being
 * handled or already answered is not handed on again [MQTT-4.3.3-9 (v5)]: a retransmission gets the
 * same PUBREC.
 */
export function handlePublish(connection: Connection, packet: IPublishPacket): void {
  const { ctx } = connection;
  if (ctx.limits.publishRatePerSecond > 0 && !takePublishToken(connection)) {
    ctx.limitHit('publish-rate', { clientId: connection.clientId, remoteAddress: connection.info.remoteAddress, rate: ctx.limits.publishRatePerSecond }, 'publish rate exceeded: disconnected');
    connection.drop(ReasonCode.MessageRateTooHigh, 'message rate too high');
    return;
  }
  const { qos } = packet;
  const packetId = packet.messageId ?? 0;
  // [MQTT-2.3.1-1] a QoS 1 or 2 PUBLISH has a non-zero packet identifier; [MQTT-3.3.1-2] a QoS 0 one no DUP.
  if (qos > 0 && packetId === 0) return connection.protocolError('packet-id-zero', ReasonCode.ProtocolError, `QoS ${qos} PUBLISH with packet identifier 0`);
  if (qos === 0 && packet.dup) return connection.protocolError('qos0-dup', ReasonCode.MalformedPacket, 'QoS 0 PUBLISH with the DUP flag');
  // MQTT 5: RETAIN 1 after CONNACK said Retain Available 0 (v5 3.3.1.3), as Mosquitto does with retain_available false.
  if (packet.retain && connection.protocolVersion === 5 && !connection.capabilities.retainAvailable) {
    return connection.protocolError('retain-not-supported', ReasonCode.RetainNotSupported, 'PUBLISH with RETAIN 1, and retained messages are not available');
  }
  const topic = resolveTopic(connection, packet);
  if (topic === undefined) return;

  let reply: PublishReply;
  if (qos === 0) reply = (connection.qos0Reply ??= new QoS0Reply(connection));
  else {
    const started = startFlow(connection, packet, packetId);
    if (started === undefined) return;
    reply = started;
  }
  const message: InboundPublish = {
    topic,
    payload: packet.payload as Buffer,
    qos,
    retain: packet.retain,
    will: false,
    properties: publishPropertiesOf(packet.properties),
    receivedAt: connection.receivedAt,
    packetId,
  };
  try {
    ctx.hooks.onPublish(connection.session!, message, reply);
  } catch (error) {
    // A hook that throws must not take the process down from inside a socket's 'data' event.
    ctx.logger.error({ clientId: connection.clientId, err: (error as Error).message }, 'onPublish failed: disconnecting the client');
    connection.drop(ReasonCode.ImplementationSpecificError, 'the server could not take this message');
  }
}

/** The topic the message is for, or undefined when the PUBLISH was refused for it. */
function resolveTopic(connection: Connection, packet: IPublishPacket): string | undefined {
  const p = packet.properties;
  let topic = packet.topic;
  if (p !== undefined) {
    const refusal = publishPropertyRefusal(p as Record<string, unknown>);
    if (refusal !== undefined) {
      connection.protocolError(refusal.kind, refusal.reasonCode, refusal.reason);
      return undefined;
    }
  }
  // An empty topic is only a way of using an alias [MQTT-3.3.2-1 (v5)].
  if (topic.length > 0 || p?.topicAlias === undefined) {
    const refusal = topicRefusal(topic);
    if (refusal !== undefined) {
      connection.protocolError(refusal.kind, topic.length === 0 ? ReasonCode.ProtocolError : refusal.reasonCode, refusal.reason);
      return undefined;
    }
  }
  if (p?.topicAlias !== undefined) {
    const aliases = (connection.topicAliases ??= new InboundTopicAliases(connection.ctx.topicAliasMaximum));
    const resolved = aliases.resolve(p.topicAlias, topic);
    if (!('topic' in resolved)) {
      connection.protocolError('topic-alias-invalid', resolved.reasonCode, resolved.reason);
      return undefined;
    }
    topic = resolved.topic;
  }
  return topic;
}

/**
 * Counts the message against the server's Receive Maximum (MQTT 5: QoS 1 and 2 until acknowledged
 * [MQTT-3.3.4-9]; 3.1.1, which knows no such limit, only the QoS 2 messages awaiting PUBREL) and the
 * QoS 2 bound over all connections. Undefined when the message is a retransmission already taken
 * care of, or the connection was sent away for it.
 */
function startFlow(connection: Connection, packet: IPublishPacket, packetId: number): InboundReply | undefined {
  const { ctx } = connection;
  const flow = connection.inboundFlow();
  if (packet.qos === 2) {
    const state = flow.qos2State(packetId);
    if (state === AWAITING_PUBREL) {
      connection.writer.ack('pubrec', packetId);
      return undefined;
    }
    if (state !== undefined) {
      state.duplicates++;
      return undefined;
    }
  }
  const counted = connection.protocolVersion === 5 ? flow.unacknowledged : packet.qos === 2 ? flow.qos2Count : 0;
  if (counted >= ctx.receiveMaximum) {
    ctx.metrics.protocolErrors.inc({ kind: 'receive-maximum' });
    connection.log.warn({ receiveMaximum: ctx.receiveMaximum, qos: packet.qos }, 'more unacknowledged QoS 1 and 2 PUBLISHes than the Receive Maximum: disconnecting');
    connection.drop(ReasonCode.ReceiveMaximumExceeded, `more than ${ctx.receiveMaximum} unacknowledged QoS 1 and 2 PUBLISHes`);
    return undefined;
  }
  if (packet.qos === 1) {
    flow.unacknowledged++;
    return new InboundReply(connection, packetId, undefined);
  }
  if (ctx.qos2Pending >= ctx.maxQoS2Pending) {
    ctx.limitHit('qos2-pending', { clientId: connection.clientId, remoteAddress: connection.info.remoteAddress, maxQoS2Pending: ctx.maxQoS2Pending }, 'QoS 2 messages awaiting PUBREL over all connections at their bound: disconnected');
    connection.drop(ReasonCode.QuotaExceeded, 'too many QoS 2 messages awaiting PUBREL on this server');
    return undefined;
  }
  const pending = { duplicates: 0, releasedEarly: false };
  flow.startQoS2(packetId, pending);
  flow.unacknowledged++;
  ctx.qos2Pending++;
  return new InboundReply(connection, packetId, pending);
}

/** Token bucket: `rateBurst` publishes at once, refilled at `publishRatePerSecond`. */
function takePublishToken(connection: Connection): boolean {
  const { ctx } = connection;
  const now = connection.receivedAt;
  if (connection.tokensAt === 0) connection.tokens = ctx.rateBurst;
  else connection.tokens = Math.min(ctx.rateBurst, connection.tokens + ((now - connection.tokensAt) / 1000) * ctx.limits.publishRatePerSecond);
  connection.tokensAt = now;
  if (connection.tokens < 1) return false;
  connection.tokens -= 1;
  return true;
}
