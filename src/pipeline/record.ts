import type { HeaderValue, KafkaRecord } from '../kafka/record.js';
import type { Route } from '../mapping/types.js';
import type { InboundPublish, MqttSession } from '../mqtt/types.js';

/** Header names carried on every record; MQTT 5 user properties keep their own names. */
export const Header = {
  topic: 'mqtt.topic',
  qos: 'mqtt.qos',
  retain: 'mqtt.retain',
  clientId: 'mqtt.client_id',
  will: 'mqtt.will',
  contentType: 'mqtt.content_type',
  payloadFormatIndicator: 'mqtt.payload_format_indicator',
  responseTopic: 'mqtt.response_topic',
  correlationData: 'mqtt.correlation_data',
  messageExpiryInterval: 'mqtt.message_expiry_interval',
} as const;

const QOS_TEXT = ['0', '1', '2'] as const;

/** The Kafka record for one PUBLISH: payload bytes unchanged, key per rule, MQTT metadata as headers. */
export function buildRecord(message: InboundPublish, session: MqttSession, route: Route): KafkaRecord {
  const headers: Record<string, HeaderValue> = {
    [Header.topic]: message.topic,
    [Header.qos]: QOS_TEXT[message.qos],
    [Header.retain]: message.retain ? 'true' : 'false',
    [Header.clientId]: session.clientId,
  };
  if (message.will) headers[Header.will] = 'true';
  const p = message.properties;
  if (p !== undefined) {
    if (p.contentType !== undefined) headers[Header.contentType] = p.contentType;
    if (p.payloadFormatIndicator !== undefined) headers[Header.payloadFormatIndicator] = p.payloadFormatIndicator ? '1' : '0';
    if (p.responseTopic !== undefined) headers[Header.responseTopic] = p.responseTopic;
    if (p.correlationData !== undefined) headers[Header.correlationData] = p.correlationData;
    if (p.messageExpiryInterval !== undefined) headers[Header.messageExpiryInterval] = String(p.messageExpiryInterval);
    if (p.userProperties !== undefined) {
      for (const name of Object.keys(p.userProperties)) {
        const value = p.userProperties[name]!;
        const existing = headers[name];
        const values = typeof value === 'string' ? [value] : [...value];
        // A user property may repeat a name, even one of ours: Kafka headers allow repeats too.
        headers[name] = existing === undefined ? (values.length === 1 ? values[0]! : values) : [...[existing].flat(), ...values];
      }
    }
  }
  return { topic: route.kafkaTopic, key: route.key, value: message.payload, headers, timestamp: message.receivedAt };
}
