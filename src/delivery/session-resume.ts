// A stored session comes back: first the messages it had in flight, rebuilt from their records
// and given back to the engine with their packet identifiers (DUP PUBLISH, or PUBREL) [MQTT-4.4.0-1],
// then everything its subscriptions match from its positions up to the live reader's, in order
// per partition, before the live reader's records reach it.
import type { KafkaConnectionOptions } from '../kafka/connection-options.js';
import type { ReaderRecord } from '../kafka/reader-types.js';
import type { MqttSession, OutboundSnapshotEntry } from '../mqtt/types.js';
import type { Logger } from '../observability/logger.js';
import type { StoredInflight, StoredSession } from '../state/session-store.js';
import type { FanOut } from './fan-out.js';
import { catchUp, type CatchUpPartition } from './session-catch-up.js';
import type { SessionPositions } from './session-positions.js';
import type { SessionEngine } from './types.js';

export interface SessionResumeOptions {
  readonly connection: KafkaConnectionOptions;
  readonly logger: Logger;
  readonly fanOut: () => FanOut | undefined;
  readonly engine: () => SessionEngine;
  readonly livePosition: (topic: string, partition: number) => bigint | undefined;
  /** Queued messages for one client above which its catch-up waits (below limits.maxQueuedDeliveries). */
  readonly queueHighWater: number;
}

const EMPTY = Buffer.alloc(0);
const WAIT_MS = 20;

const idOf = (topic: string, partition: number, offset: bigint | string): string => `${topic}\u0000${partition}\u0000${offset}`;

export class SessionResume {
  constructor(private readonly options: SessionResumeOptions) {}

  /** Starts resuming; the returned function stops it (the connection ended). */
  start(session: MqttSession, positions: SessionPositions, stored: StoredSession, changed: () => void): () => Promise<void> {
    let stopped = false;
    let current: { stop(): Promise<void> } | undefined;
    const run = async (): Promise<void> => {
      const restoring = await this.inflight(session, positions, stored.inflight, (c) => (current = c));
      if (stopped) return;
      this.options.engine().restoreOutbound(session, restoring);
      const main = this.catchUp(session, positions, positions.catchUps(), changed);
      current = main;
      await main.done;
      if (!stopped) this.options.logger.debug({ clientId: session.clientId, resent: restoring.length }, 'session resumed: caught up');
    };
    void run().catch((error: unknown) => this.options.logger.error({ err: error, clientId: session.clientId }, 'session resume failed'));
    return async () => {
      stopped = true;
      await current?.stop();
    };
  }

  /** The stored in-flight and queued messages, in their stored order, read back from their records. */
  private async inflight(session: MqttSession, positions: SessionPositions, inflight: readonly StoredInflight[], running: (c: { stop(): Promise<void> }) => void): Promise<OutboundSnapshotEntry[]> {
    const rebuilt = new Map<string, OutboundSnapshotEntry>();
    const toRead = new Map<string, { topic: string; partition: number; from: bigint; to: bigint }>();
    const wanted = new Map<string, StoredInflight>();
    for (const entry of inflight) {
      const offset = BigInt(entry.offset);
      const id = idOf(entry.topic, entry.partition, offset);
      if (entry.state === 'released') {
        const token = positions.delivered(entry.topic, entry.partition, offset, 2)!;
        rebuilt.set(id, { packetId: entry.packetId, state: 'released', message: { topic: '', payload: EMPTY, qos: 2, retain: false, token } });
        continue;
      }
      wanted.set(id, entry);
      const key = `${entry.topic}\u0000${entry.partition}`;
      const range = toRead.get(key);
      if (range === undefined) toRead.set(key, { topic: entry.topic, partition: entry.partition, from: offset, to: offset + 1n });
      else {
        if (offset < range.from) range.from = offset;
        if (offset + 1n > range.to) range.to = offset + 1n;
      }
    }
    if (wanted.size > 0) {
      const ends = new Map([...toRead.values()].map((r) => [`${r.topic}\u0000${r.partition}`, r.to]));
      const reading = catchUp({
        connection: this.options.connection,
        logger: this.options.logger,
        partitions: [...toRead.values()].map(({ topic, partition, from }) => ({ topic, partition, from })),
        until: (topic, partition) => ends.get(`${topic}\u0000${partition}`),
        onRecord: (topic, partition, record) => this.rebuild(session, positions, wanted, rebuilt, topic, partition, record),
        onDone: () => undefined,
      });
      running(reading);
      await reading.done;
    }
    const ordered: OutboundSnapshotEntry[] = [];
    for (const entry of inflight) {
      const found = rebuilt.get(idOf(entry.topic, entry.partition, entry.offset));
      if (found !== undefined) ordered.push(found);
    }
    return ordered;
  }

  private rebuild(session: MqttSession, positions: SessionPositions, wanted: Map<string, StoredInflight>, rebuilt: Map<string, OutboundSnapshotEntry>, topic: string, partition: number, record: ReaderRecord): void {
    const id = idOf(topic, partition, record.offset);
    const entry = wanted.get(id);
    // Not in flight: acknowledged before, or not this session's; the position moves past it.
    if (entry === undefined) return positions.passed(topic, partition, record.offset);
    const message = this.options.fanOut()?.rebuilt(session, topic, partition, record);
    if (message === undefined) return positions.passed(topic, partition, record.offset);
    const token = positions.delivered(topic, partition, record.offset, entry.qos)!;
    const state = entry.state === 'sent' && entry.packetId !== undefined ? 'sent' : 'queued';
    rebuilt.set(id, { packetId: state === 'sent' ? entry.packetId : undefined, state, message: { ...message, qos: entry.qos, token } });
  }

  private catchUp(session: MqttSession, positions: SessionPositions, partitions: readonly CatchUpPartition[], changed: () => void) {
    const { engine, queueHighWater } = this.options;
    return catchUp({
      connection: this.options.connection,
      logger: this.options.logger,
      partitions,
      until: this.options.livePosition,
      onRecord: async (topic, partition, record) => {
        this.options.fanOut()?.toSession(session, positions, topic, partition, record);
        // What the client cannot take yet waits in Kafka, not in memory.
        while (engine().queuedFor(session) > queueHighWater) await new Promise((resolve) => setTimeout(resolve, WAIT_MS));
      },
      onDone: (topic, partition, next) => {
        positions.caughtUp(topic, partition, next);
        changed();
      },
    });
  }
}
