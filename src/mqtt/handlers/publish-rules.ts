import type { IPublishPacket } from 'mqtt-packet';
import { ReasonCode } from '../reason-codes.js';
import { foreignProperty } from './property-rules.js';
import { topicNameProblem } from '../topics.js';
import type { PublishProperties } from '../types.js';

type WireProperties = Readonly<Record<string, unknown>>;

/**
 * What is wrong with the MQTT 5 properties of a PUBLISH or will, if anything. The patched parser
 * (patches/mqtt-packet+9.0.2.patch) already refuses unreadable and repeated properties; this is
 * the second line, so a null value or an array where one value belongs can never reach the
 * record builder.
 */
export function malformedPublishProperties(p: WireProperties): string | undefined {
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

/**
 * Most levels a topic name or filter may have. MQTT sets no bound; this one keeps every topic a
 * client can make something a topic tree or a matcher walks in bounded time (aedes had one too).
 */
export const MAX_TOPIC_LEVELS = 128;

/** More levels than MAX_TOPIC_LEVELS; only a topic at least that long is counted. */
export function tooManyLevels(topic: string): boolean {
  if (topic.length < MAX_TOPIC_LEVELS) return false;
  let levels = 1;
  for (let at = topic.indexOf('/'); at !== -1; at = topic.indexOf('/', at + 1)) if (++levels > MAX_TOPIC_LEVELS) return true;
  return false;
}

/** A problem with a topic name, as the reason code MQTT 5 names for it. */
export interface TopicRefusal {
  readonly reasonCode: number;
  readonly kind: string;
  readonly reason: string;
}

/**
 * A PUBLISH or will topic name that must be refused: U+0000 makes the packet malformed
 * [MQTT-1.5.4-2]; wildcards [MQTT-3.3.2-2], an empty name [MQTT-4.7.3-1] and overlong ones are
 * an invalid topic name.
 */
export function topicRefusal(topic: string): TopicRefusal | undefined {
  const problem = topicNameProblem(topic);
  if (problem === undefined) {
    if (!tooManyLevels(topic)) return undefined;
    return { reasonCode: ReasonCode.TopicNameInvalid, kind: 'topic-too-deep', reason: `topic name with more than ${MAX_TOPIC_LEVELS} levels` };
  }
  if (topic.includes('\u0000')) return { reasonCode: ReasonCode.MalformedPacket, kind: 'topic-null-character', reason: problem.reason };
  return { reasonCode: ReasonCode.TopicNameInvalid, kind: 'topic-name-invalid', reason: problem.reason };
}

/** Rules for the properties of a PUBLISH from a client, beyond their encoding. */
export function publishPropertyRefusal(p: WireProperties): TopicRefusal | undefined {
  const foreign = foreignProperty(p, 'publish');
  if (foreign !== undefined) return { reasonCode: ReasonCode.MalformedPacket, kind: 'foreign-property', reason: `property ${foreign} does not belong in PUBLISH` };
  const malformed = malformedPublishProperties(p);
  if (malformed !== undefined) return { reasonCode: ReasonCode.MalformedPacket, kind: 'malformed-properties', reason: malformed };
  // A client never sends a Subscription Identifier [MQTT-3.3.4-6].
  if (p.subscriptionIdentifier !== undefined) return { reasonCode: ReasonCode.ProtocolError, kind: 'subscription-identifier', reason: 'PUBLISH from a client with a Subscription Identifier' };
  // The Response Topic is a topic name: no wildcards [MQTT-3.3.2-14].
  if (typeof p.responseTopic === 'string') {
    const problem = topicNameProblem(p.responseTopic);
    if (problem !== undefined) return { reasonCode: ReasonCode.ProtocolError, kind: 'response-topic-invalid', reason: `Response Topic: ${problem.reason}` };
  }
  return undefined;
}

/** The properties that travel on to Kafka. */
export function publishPropertiesOf(p: IPublishPacket['properties'] | undefined): PublishProperties | undefined {
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
