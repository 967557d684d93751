// Reads a few partitions from given offsets up to a bound that may move (the live reader's
// position), for one resuming session: what it missed while it was away, then it is handed to the
// live reader. One group-less reader per catch-up, closed when every partition is done.
import { KafkaReader } from '../kafka/reader.js';
import type { ReaderBatch, ReaderRecord } from '../kafka/reader-types.js';
import type { KafkaConnectionOptions } from '../kafka/connection-options.js';
import type { Logger } from '../observability/logger.js';

export interface CatchUpPartition {
  readonly topic: string;
  readonly partition: number;
  readonly from: bigint;
}

export interface CatchUpOptions {
  readonly connection: KafkaConnectionOptions;
  readonly logger: Logger;
  readonly partitions: readonly CatchUpPartition[];
  /** Where a partition is done (exclusive); undefined while not known yet. Asked after each batch. */
  readonly until: (topic: string, partition: number) => bigint | undefined;
  /** A record from the start on (a batch that crosses the bound is handed over whole); a promise holds that partition until it settles. */
  readonly onRecord: (topic: string, partition: number, record: ReaderRecord) => void | Promise<void>;
  /** The partition is done: everything from `from` up to `next` (at or past the bound) was handed to onRecord. */
  readonly onDone: (topic: string, partition: number, next: bigint) => void;
  /** How long a bound may stay unknown before the partition is given up at its position [10000]. */
  readonly unknownBoundMs?: number;
}

const POLL_MS = 50;

/** Resolves once every partition is done (or the catch-up was stopped). */
export function catchUp(options: CatchUpOptions): { readonly done: Promise<void>; stop(): Promise<void> } {
  const open = new Map<string, CatchUpPartition>();
  const k = (topic: string, partition: number): string => `${topic}\u0000${partition}`;
  let reader: KafkaReader | undefined;
  let stopped = false;
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const close = (): Promise<void> => reader?.close() ?? Promise.resolve();

  const complete = (topic: string, partition: number, next: bigint): void => {
    if (!open.delete(k(topic, partition))) return;
    reader?.unassign(topic, [partition]);
    options.onDone(topic, partition, next);
    if (open.size === 0) {
      finish();
      void close();
    }
  };
  /** Partitions whose batch is being handed over: not done before it is. */
  const busy = new Set<string>();
  const onBatch = async (batch: ReaderBatch): Promise<void> => {
    const id = k(batch.topic, batch.partition);
    busy.add(id);
    try {
      // The whole batch, also past the bound: the live reader takes over after its last record.
      for (const record of batch.records) {
        if (stopped || !open.has(id)) return;
        await options.onRecord(batch.topic, batch.partition, record);
      }
    } finally {
      busy.delete(id);
    }
    const after = options.until(batch.topic, batch.partition);
    if (after !== undefined && batch.nextOffset >= after) complete(batch.topic, batch.partition, batch.nextOffset);
  };

  const start = async (): Promise<void> => {
    for (const p of options.partitions) open.set(k(p.topic, p.partition), p);
    const toRead = await withBounds(options, () => stopped, complete);
    if (stopped || toRead.length === 0) return;
    reader = new KafkaReader({ connection: options.connection, logger: options.logger, onBatch, outOfRange: 'earliest', maxWaitMs: 100 });
    const byTopic = new Map<string, Map<number, { offset: bigint }>>();
    for (const p of toRead) {
      let positions = byTopic.get(p.topic);
      if (positions === undefined) byTopic.set(p.topic, (positions = new Map()));
      positions.set(p.partition, { offset: p.from });
    }
    for (const [topic, positions] of byTopic) reader.assign(topic, { partitions: [...positions.keys()], positions });
    // The bound moves with the live reader: a partition read to it is done even when no batch comes.
    while (open.size > 0 && !stopped) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      for (const p of [...open.values()]) {
        if (busy.has(k(p.topic, p.partition))) continue;
        const at = reader.position(p.topic, p.partition);
        const bound = options.until(p.topic, p.partition);
        if (at !== undefined && bound !== undefined && at >= bound) complete(p.topic, p.partition, at);
      }
    }
  };
  void start().catch((error: unknown) => {
    options.logger.error({ err: error }, 'session catch-up failed');
    for (const p of [...open.values()]) complete(p.topic, p.partition, p.from);
  });
  return {
    done,
    async stop() {
      stopped = true;
      open.clear();
      finish();
      await close();
    },
  };
}

/**
 * Waits until each partition's bound is known (at most unknownBoundMs): one with nothing between
 * its start and its bound is done at once; the others are returned, to be read.
 */
async function withBounds(options: CatchUpOptions, stopped: () => boolean, complete: (topic: string, partition: number, next: bigint) => void): Promise<CatchUpPartition[]> {
  const waitingSince = Date.now();
  const toRead: CatchUpPartition[] = [];
  for (let pending = [...options.partitions]; pending.length > 0 && !stopped(); ) {
    pending = pending.filter((p) => {
      const bound = options.until(p.topic, p.partition);
      if (bound === undefined && Date.now() - waitingSince < (options.unknownBoundMs ?? 10_000)) return true;
      if (bound === undefined || bound <= p.from) complete(p.topic, p.partition, bound === undefined || bound < p.from ? p.from : bound);
      else toRead.push(p);
      return false;
    });
    if (pending.length > 0) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return toRead;
}
