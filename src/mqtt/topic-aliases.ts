/**
 * Topic aliases the server assigns towards one client connection: the first `maximum` distinct
 * topics get 1, 2, ... in the order first sent; never 0 and never above the client's Topic Alias
 * Maximum [MQTT-3.3.2-8, MQTT-3.3.2-11, MQTT-3.1.2-26 (5.0)]. A new connection starts empty
 * [MQTT-3.3.2-7]. Allocates nothing until the first alias.
 */
export class TopicAliases {
  private byTopic: Map<string, number> | undefined;
  private next = 1;

  constructor(private maximum: number) {}

  get enabled(): boolean {
    return this.maximum > 0;
  }

  known(topic: string): number | undefined {
    return this.byTopic?.get(topic);
  }

  /** True while an alias is left for a new topic. */
  get available(): boolean {
    return this.next <= this.maximum;
  }

  assign(topic: string): number {
    const alias = this.next++;
    (this.byTopic ??= new Map()).set(topic, alias);
    return alias;
  }

  /** Forgets every alias (a new connection) and takes the new maximum. */
  reset(maximum: number): void {
    this.byTopic = undefined;
    this.next = 1;
    this.maximum = maximum;
  }
}
