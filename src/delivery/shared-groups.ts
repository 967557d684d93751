// Shared subscriptions `$share/GROUP/FILTER`: one Kafka consumer group per shared subscription and
// delivery topic, joined by every replica with a local member. Kafka gives each partition to one
// replica of the group; that replica hands each record to one of its local members.
import { createHash } from 'node:crypto';
import type { KafkaConnectionOptions } from '../kafka/connection-options.js';
import { GroupConsumer } from '../kafka/group-consumer.js';
import type { ReaderRecord } from '../kafka/reader-types.js';
import type { Logger } from '../observability/logger.js';
import type { ShareGroup } from './local-subscriptions.js';

export interface SharedGroupsOptions {
  readonly connection: KafkaConnectionOptions;
  /** The prefix of every group id: `kafka.clientId`, the same on every replica. */
  readonly groupPrefix: string;
  readonly logger: Logger;
  readonly topicsFor: (filter: string) => readonly string[];
  readonly onRecord: (group: ShareGroup, topic: string, partition: number, record: ReaderRecord) => void;
}

/**
 * The consumer group id of a shared subscription on one delivery topic: readable, and the same on
 * every replica; the filter is hashed in as well, so that `$share/g/a` and `$share/g/b` (two
 * shared subscriptions [MQTT 5.0 4.8.2]) are two groups.
 */
export function shareGroupId(prefix: string, group: ShareGroup, topic: string): string {
  const digest = createHash('sha256').update(group.filter).digest('hex').slice(0, 16);
  return `${prefix}.share.${group.name}.${topic}.${digest}`;
}

export class SharedGroups {
  private readonly consumers = new Map<ShareGroup, GroupConsumer[]>();
  private held = false;

  constructor(private readonly options: SharedGroupsOptions) {}

  get groups(): number {
    return this.consumers.size;
  }

  /** The first local member joined: join the group's consumer groups. Resolves once they read. */
  joined(group: ShareGroup): Promise<void> {
    const { connection, groupPrefix, logger } = this.options;
    const consumers = this.options.topicsFor(group.filter).map((topic) => {
      const consumer = new GroupConsumer({
        connection,
        groupId: shareGroupId(groupPrefix, group, topic),
        topic,
        logger,
        maxWaitMs: 100,
        onRecord: (t, partition, record) => this.options.onRecord(group, t, partition, record),
      });
      consumer.hold(this.held);
      return consumer;
    });
    this.consumers.set(group, consumers);
    return Promise.all(consumers.map((consumer) => consumer.start())).then(() => undefined);
  }

  /** The last local member left: leave, so Kafka gives the partitions to the other replicas' members. */
  left(group: ShareGroup): void {
    const consumers = this.consumers.get(group);
    this.consumers.delete(group);
    for (const consumer of consumers ?? []) void consumer.close();
  }

  /** While held no records are handed on (the proxy-wide queue bound). */
  hold(held: boolean): void {
    if (this.held === held) return;
    this.held = held;
    for (const consumers of this.consumers.values()) for (const consumer of consumers) consumer.hold(held);
  }

  async close(): Promise<void> {
    const all = [...this.consumers.values()].flat();
    this.consumers.clear();
    await Promise.all(all.map((consumer) => consumer.close()));
  }
}
