/**
 * A record's headers read back into what an MQTT message carries: the `mqtt.*` headers the proxy
 * writes on ingest (src/pipeline/record.ts) become MQTT 5 properties and delivery facts again, and
 * every other header becomes a User Property. One pass over the headers; names are compared as
 * bytes before any text is made.
 *
 * What does not fit MQTT is left out rather than sent: a header name or value that is not an MQTT
 * string (not UTF-8, U+0000, too long), a null value, a Response Topic that is no topic name, a
 * QoS, indicator or interval that is not one of its values. Names starting `mqtt.` are never User
 * Properties: they are the proxy's own.
 */
import { mqttString, mqttTopicName } from './mqtt-text.js';
import type { DeliveryInput, DeliveryProperties } from './types.js';

/** The headers the proxy writes (the same names as src/pipeline/record.ts' Header). */
export const DeliveryHeader = {
  topic: 'mqtt.topic',
  qos: 'mqtt.qos',
  retain: 'mqtt.retain',
  clientId: 'mqtt.client_id',
  contentType: 'mqtt.content_type',
  payloadFormatIndicator: 'mqtt.payload_format_indicator',
  responseTopic: 'mqtt.response_topic',
  correlationData: 'mqtt.correlation_data',
  messageExpiryInterval: 'mqtt.message_expiry_interval',
} as const;

const MQTT_PREFIX = Buffer.from('mqtt.');
const MAX_EXPIRY_INTERVAL = 4_294_967_295;

export interface RecordMetadata {
  /** The last mqtt.topic header's value; undefined when there is none. */
  readonly mqttTopic: Buffer | null | undefined;
  readonly qos: 0 | 1 | 2 | undefined;
  readonly retain: boolean;
  readonly clientId: string | undefined;
  readonly properties: DeliveryProperties | undefined;
}

type UserProperties = Record<string, string | string[]>;

/** Mutable while the headers are read; handed out as RecordMetadata. */
interface Reading {
  mqttTopic: Buffer | null | undefined;
  qos: 0 | 1 | 2 | undefined;
  retain: boolean;
  clientId: string | undefined;
  contentType?: string;
  payloadFormatIndicator?: boolean;
  responseTopic?: string;
  correlationData?: Buffer;
  messageExpiryInterval?: number;
  userProperties?: UserProperties;
}

function isMqttName(name: Buffer): boolean {
  return name.length >= MQTT_PREFIX.length && name.subarray(0, MQTT_PREFIX.length).equals(MQTT_PREFIX);
}

/** A decimal integer of 0..MAX_EXPIRY_INTERVAL, as ingest writes it; undefined otherwise. */
function expiryInterval(value: Buffer): number | undefined {
  if (value.length === 0 || value.length > 10) return undefined;
  for (const byte of value) if (byte < 0x30 || byte > 0x39) return undefined;
  const seconds = Number(value.toString('latin1'));
  return seconds <= MAX_EXPIRY_INTERVAL ? seconds : undefined;
}

function qosOf(value: Buffer): 0 | 1 | 2 | undefined {
  if (value.length !== 1) return undefined;
  const digit = value[0]! - 0x30;
  return digit === 0 || digit === 1 || digit === 2 ? digit : undefined;
}

function flagOf(value: Buffer): boolean | undefined {
  if (value.length !== 1) return undefined;
  return value[0] === 0x31 ? true : value[0] === 0x30 ? false : undefined;
}

/** One `mqtt.*` header; unknown ones and values that are not what ingest writes are ignored. */
function readMqttHeader(reading: Reading, name: string, value: Buffer | null): void {
  if (name === DeliveryHeader.topic) {
    reading.mqttTopic = value;
    return;
  }
  if (value === null) return;
  switch (name) {
    case DeliveryHeader.qos:
      reading.qos = qosOf(value) ?? reading.qos;
      break;
    case DeliveryHeader.retain:
      reading.retain = value.length === 4 && value.toString('latin1') === 'true';
      break;
    case DeliveryHeader.clientId:
      reading.clientId = mqttString(value) ?? reading.clientId;
      break;
    case DeliveryHeader.contentType:
      setIfDefined(reading, 'contentType', mqttString(value));
      break;
    case DeliveryHeader.payloadFormatIndicator:
      setIfDefined(reading, 'payloadFormatIndicator', flagOf(value));
      break;
    case DeliveryHeader.responseTopic: {
      const topic = mqttTopicName(value);
      if ('topic' in topic) reading.responseTopic = topic.topic;
      break;
    }
    case DeliveryHeader.correlationData:
      if (value.length <= 65_535) reading.correlationData = value;
      break;
    case DeliveryHeader.messageExpiryInterval:
      setIfDefined(reading, 'messageExpiryInterval', expiryInterval(value));
      break;
  }
}

function setIfDefined<K extends 'contentType' | 'payloadFormatIndicator' | 'messageExpiryInterval'>(reading: Reading, key: K, value: Reading[K]): void {
  if (value !== undefined) reading[key] = value;
}

function addUserProperty(reading: Reading, name: string, value: string): void {
  // No prototype: header names come from any producer (`__proto__`, `constructor`...).
  const properties = (reading.userProperties ??= Object.create(null) as UserProperties);
  const existing = properties[name];
  if (existing === undefined) properties[name] = value;
  else if (typeof existing === 'string') properties[name] = [existing, value];
  else existing.push(value);
}

function propertiesOf(reading: Reading): DeliveryProperties | undefined {
  const properties: { -readonly [K in keyof DeliveryProperties]: DeliveryProperties[K] } = {};
  if (reading.payloadFormatIndicator !== undefined) properties.payloadFormatIndicator = reading.payloadFormatIndicator;
  if (reading.messageExpiryInterval !== undefined) properties.messageExpiryInterval = reading.messageExpiryInterval;
  if (reading.contentType !== undefined) properties.contentType = reading.contentType;
  if (reading.responseTopic !== undefined) properties.responseTopic = reading.responseTopic;
  if (reading.correlationData !== undefined) properties.correlationData = reading.correlationData;
  if (reading.userProperties !== undefined) properties.userProperties = reading.userProperties;
  // Records written from MQTT 3.1.1 have none: no object for them.
  return Object.keys(properties).length > 0 ? properties : undefined;
}

/** Reads every header of a record once. */
export function readRecordHeaders(headers: DeliveryInput['headers']): RecordMetadata {
  const reading: Reading = { mqttTopic: undefined, qos: undefined, retain: false, clientId: undefined };
  for (const [nameBytes, value] of headers) {
    if (nameBytes === null) continue;
    if (isMqttName(nameBytes)) {
      // The proxy's names are ASCII: latin1 is exact for them, and any other name matches none.
      readMqttHeader(reading, nameBytes.toString('latin1'), value);
      continue;
    }
    if (value === null) continue;
    const name = mqttString(nameBytes);
    const text = name === undefined ? undefined : mqttString(value);
    if (name !== undefined && text !== undefined) addUserProperty(reading, name, text);
  }
  const { mqttTopic, qos, retain, clientId } = reading;
  return { mqttTopic, qos, retain, clientId, properties: propertiesOf(reading) };
}

/** The value of the last header named `name` (undefined when none; null when its value is null). */
export function lastHeader(headers: DeliveryInput['headers'], name: Buffer): Buffer | null | undefined {
  for (let i = headers.length - 1; i >= 0; i--) {
    const header = headers[i]!;
    if (header[0] !== null && header[0].equals(name)) return header[1];
  }
  return undefined;
}
