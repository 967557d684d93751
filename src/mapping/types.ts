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
