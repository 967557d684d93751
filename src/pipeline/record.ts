import { recordBytes, type HeaderValue, type KafkaRecord } from '../kafka/record.js';
import type { Route } from '../mapping/types.js';
import type { InboundPublish, MqttSession } from '../mqtt/types.js';

/** Header names carried on every record; MQTT 5 user properties keep their own names. */
export const Header = {
  topic: 'mqtt.topic',
  qos: 'mqtt.qos',
  retain: 'mqtt.retain',
  clientId: 'mqtt.client_id',
  will: 'mqtt.will',
  /** QoS 2 from a persistent session: unique for the client id (how a retransmission is recognised). */
  publishId: 'mqtt.publish_id',
  contentType: 'mqtt.content_type',
  payloadFormatIndicator: 'mqtt.payload_format_indicator',
  responseTopic: 'mqtt.response_topic',
  correlationData: 'mqtt.correlation_data',
  messageExpiryInterval: 'mqtt.message_expiry_interval',
} as const;

/** Accounted bytes per record on top of its payload, topic, key and headers: the objects around it. */
export const RECORD_OVERHEAD_BYTES = 1024;

/** Bytes a record counts against `limits.maxInflightBytes`: its own (the MQTT topic is a header) and the objects around it. */
export function accountedBytes(record: KafkaRecord): number {
  return RECORD_OVERHEAD_BYTES + recordBytes(record);
}

const QOS_TEXT = ['0', '1', '2'] as const;

/** The Kafka record for one PUBLISH: payload bytes unchanged, key per rule, MQTT metadata as headers. */
export function buildRecord(message: InboundPublish, session: MqttSession, route: Route): KafkaRecord {
  // No prototype: user property names come from the wire (`__proto__`, `constructor`...).
  const headers: Record<string, HeaderValue> = Object.create(null) as Record<string, HeaderValue>;
  const p = message.properties;
  // User properties first, so that on a name clash the proxy's own header is the last value
  // (what Kafka consumers read with lastHeader) and the client's value is kept before it.
  if (p?.userProperties !== undefined) {
    for (const name of Object.keys(p.userProperties)) {
      const value = p.userProperties[name]!;
      headers[name] = typeof value === 'string' ? value : value.length === 1 ? value[0]! : [...value];
    }
  }
  addHeader(headers, Header.topic, message.topic);
  addHeader(headers, Header.qos, QOS_TEXT[message.qos]);
  addHeader(headers, Header.retain, message.retain ? 'true' : 'false');
  addHeader(headers, Header.clientId, session.clientId);
  if (message.will) addHeader(headers, Header.will, 'true');
  if (message.publishId !== undefined) addHeader(headers, Header.publishId, message.publishId);
  if (p !== undefined) {
    if (p.contentType !== undefined) addHeader(headers, Header.contentType, p.contentType);
    if (p.payloadFormatIndicator !== undefined) addHeader(headers, Header.payloadFormatIndicator, p.payloadFormatIndicator ? '1' : '0');
    if (p.responseTopic !== undefined) addHeader(headers, Header.responseTopic, p.responseTopic);
    if (p.correlationData !== undefined) addHeader(headers, Header.correlationData, p.correlationData);
    if (p.messageExpiryInterval !== undefined) addHeader(headers, Header.messageExpiryInterval, String(p.messageExpiryInterval));
  }
  return { topic: route.kafkaTopic, key: route.key, value: message.payload, headers, timestamp: message.receivedAt };
}

function addHeader(headers: Record<string, HeaderValue>, name: string, value: Buffer | string): void {
  const existing = headers[name];
  headers[name] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
}
