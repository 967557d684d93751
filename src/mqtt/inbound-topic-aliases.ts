import { ReasonCode } from './reason-codes.js';

/** Most bytes of topic names one connection may keep behind its aliases. */
export const MAX_ALIASED_TOPIC_BYTES = 65536;

export type AliasResult = { readonly topic: string } | { readonly reasonCode: number; readonly reason: string };

/**
 * The topic aliases a client set on this connection (client to server, MQTT 5): a PUBLISH with
 * a topic and an alias sets it, one with an empty topic and an alias uses it [MQTT-3.3.2-12].
 * Aliases belong to the connection and end with it.
 */
export class InboundTopicAliases {
  private readonly topics = new Map<number, string>();
  private bytes = 0;

  constructor(private readonly maximum: number) {}

  /** `topic` as sent (empty when only the alias is), with the alias the PUBLISH carried. */
  resolve(alias: number, topic: string): AliasResult {
    // 0 or above the server's Topic Alias Maximum [MQTT-3.3.2-9, MQTT-3.3.2-10].
    if (!Number.isInteger(alias) || alias < 1 || alias > this.maximum) {
      return { reasonCode: ReasonCode.TopicAliasInvalid, reason: `topic alias ${alias} outside 1..${this.maximum}` };
    }
    if (topic.length === 0) {
      const known = this.topics.get(alias);
      if (known === undefined) return { reasonCode: ReasonCode.ProtocolError, reason: `topic alias ${alias} used before it was set` };
      return { topic: known };
    }
    const previous = this.topics.get(alias);
    const bytes = this.bytes - (previous?.length ?? 0) + topic.length;
    if (bytes > MAX_ALIASED_TOPIC_BYTES) {
      return { reasonCode: ReasonCode.QuotaExceeded, reason: `topic aliases would hold more than ${MAX_ALIASED_TOPIC_BYTES} characters of topic names` };
    }
    this.bytes = bytes;
    this.topics.set(alias, topic);
    return { topic };
  }
}
