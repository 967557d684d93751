/** What the router needs to know about one PUBLISH. */
export interface RouteInput {
  /** The MQTT topic as the client wrote it. */
  readonly topic: string;
  readonly clientId: string;
  /** Absent when the client connected without a username. Renders as an empty string. */
  readonly username: string | undefined;
  /** Common name of the client certificate, once mTLS exists. Renders as an empty string when absent. */
  readonly certCN?: string;
}

/** The PUBLISH goes to `kafkaTopic` with `key` (null = no key). `rule` is the matching rule's name. */
export interface Route {
  readonly kind: 'mapped';
  readonly rule: string;
  readonly kafkaTopic: string;
  readonly key: string | null;
}

/**
 * The PUBLISH cannot be produced. `unmapped`: no rule matched and `unmapped` is `reject`.
 * `invalid-kafka-topic`: the rule named by `rule` rendered a topic Kafka would refuse. `detail` is a
 * human-readable sentence for logs (long topics are shortened).
 */
export interface RouteRejection {
  readonly kind: 'rejected';
  readonly reason: 'unmapped' | 'invalid-kafka-topic';
  readonly rule: string | null;
  readonly detail: string;
}

export type RouteResult = Route | RouteRejection;

/**
 * MQTT 5 properties of a delivered message, as the delivery router reads them from a record's
 * headers. The same shape, field for field, as the engine's OutboundProperties (mapping may not
 * import mqtt; a unit test keeps the two assignable to each other).
 */
export interface DeliveryProperties {
  readonly contentType?: string;
  readonly payloadFormatIndicator?: boolean;
  readonly responseTopic?: string;
  readonly correlationData?: Buffer;
  readonly userProperties?: Readonly<Record<string, string | readonly string[]>>;
  /** The interval the publisher set, in seconds; the sender subtracts the time the record waited. */
  readonly messageExpiryInterval?: number;
  readonly subscriptionIdentifiers?: readonly number[];
}

/** One Kafka record, as the delivery router needs it (the payload is not looked at). */
export interface DeliveryInput {
  readonly kafkaTopic: string;
  readonly partition: number;
  readonly key: Buffer | null;
  readonly headers: readonly (readonly [name: Buffer | null, value: Buffer | null])[];
  /** Record timestamp, ms since the epoch (for Message Expiry). */
  readonly timestamp: number;
}

export interface DeliveryRoute {
  readonly rule: string;
  /** A valid MQTT topic name (no wildcards, no U+0000, 1 to 65,535 UTF-8 bytes). */
  readonly mqttTopic: string;
  /** min(rule.qos, the record's mqtt.qos header if present, else rule.qos) */
  readonly qos: 0 | 1 | 2;
  /** The record's mqtt.retain header (for Retain As Published). */
  readonly retain: boolean;
  /** The mqtt.client_id header (for No Local). */
  readonly originClientId: string | undefined;
  /**
   * MQTT 5 properties from mqtt.* headers and the other headers as user properties (header names
   * starting `mqtt.` are never user properties). messageExpiryInterval is the ORIGINAL interval
   * from mqtt.message_expiry_interval; expiresAt = timestamp + interval * 1000.
   */
  readonly properties: DeliveryProperties | undefined;
  readonly expiresAt: number | undefined;
}

/**
 * Why a record is not delivered. `no-rule`: no rule reads its Kafka topic. `no-topic`: the rule
 * has nothing to make a topic from (a null key for ${key}, a missing header for ${header.NAME},
 * no template and no mqtt.topic header). `bad-topic`: what it has gives no valid topic name.
 */
export type DeliveryRejection = {
  readonly ok: false;
  readonly reason: 'no-rule' | 'no-topic' | 'bad-topic';
  readonly detail: string;
  /** The rule that read the record; undefined for `no-rule`. */
  readonly rule: string | undefined;
};
export type DeliveryResult = { readonly ok: true; readonly route: DeliveryRoute } | DeliveryRejection;
