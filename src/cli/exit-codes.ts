/** Exit codes, as README.md documents them. */
export const EXIT = {
  ok: 0,
  /** Invalid configuration, or the proxy could not start (or stop cleanly). */
  failure: 1,
  usage: 2,
  /**
   * `map`: the topic is rejected (no rule matches, or the rule renders a topic Kafka would refuse);
   * `map --kafka`: the record would not be delivered (no rule reads the topic, or no valid MQTT topic).
   */
  rejected: 3,
} as const;
