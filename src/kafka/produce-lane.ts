import { ProduceError, classifyProduceError } from './errors.js';
import { recordBytes, type KafkaRecord, type WriteReceipt } from './record.js';

/**
 * Sends the batch (one produce request, or more when the sender retries); resolves when Kafka
 * acknowledged all of it. `deadline`: when the batch's oldest record times out for its device.
 */
export type BatchSender = (records: readonly KafkaRecord[], deadline: number) => Promise<WriteReceipt | void>;

/**
 * Kafka's answer for one record. On success `receipt` (when the client can tell) says where the
 * request's records were written and `index` is this record's place in it.
 */
export type ProduceCallback = (error: ProduceError | null, receipt?: WriteReceipt, index?: number) => void;

/**
 * Asked just before a queued record is put in a produce request: false when nobody waits for its
 * acknowledgement any more (its client went away). Such a record is answered `abandoned` and not
 * sent: the client sends it again after reconnecting, and sending this copy too would only spend
 * Kafka's time on a duplicate while the lane is behind.
 */
export type StillWanted = () => boolean;

export interface ProduceLaneOptions {
  /** How long the first record of a batch waits for company, in ms. */
  readonly lingerMs: number;
  readonly maxRecords: number;
  readonly maxBytes: number;
  /** A record not acknowledged this long after it was queued fails as retriable `timeout`. */
  readonly deliveryTimeoutMs: number;
}

interface Pending {
  readonly record: KafkaRecord;
  readonly bytes: number;
  readonly deadline: number;
  done: ProduceCallback | undefined;
  readonly wanted: StillWanted | undefined;
  /** Sent in a request of its own: its batch was refused and the culprit is not known yet. */
  solo: boolean;
}

/** What a record adds to a produce request besides its bytes (offsets, lengths, timestamp). */
const RECORD_FRAMING_BYTES = 64;

/** How often queued and in-flight records are checked against their deadline. */
const SWEEP_INTERVAL_MS = 250;

/**
 * Collects records from every connection into produce requests: one request in flight at a time
 * (which keeps records of one key in order and suits the idempotent producer), the next batch
 * filling meanwhile. Each record's callback runs exactly once: Kafka's answer, or a timeout.
 */
export class ProduceLane {
  private queue: Pending[] = [];
  private queuedBytes = 0;
  private inFlight: Pending[] | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private idleWaiters: Array<() => void> = [];
  private requestsSent = 0;
  private recordsSent = 0;

  constructor(
    private readonly send: BatchSender,
    private readonly options: ProduceLaneOptions,
  ) {}

  produce(record: KafkaRecord, done: ProduceCallback, wanted?: StillWanted): void {
    if (this.closed) {
      done(new ProduceError('shutting-down', 'the producer is shutting down'));
      return;
    }
    const bytes = recordBytes(record) + RECORD_FRAMING_BYTES;
    this.queue.push({ record, bytes, deadline: Date.now() + this.options.deliveryTimeoutMs, done, wanted, solo: false });
    this.queuedBytes += bytes;
    this.ensureSweeping();
    if (this.inFlight !== undefined) return;
    if (this.queue.length >= this.options.maxRecords || this.queuedBytes >= this.options.maxBytes) {
      this.flush();
    } else if (this.lingerTimer === undefined) {
      this.lingerTimer = setTimeout(() => this.flush(), this.options.lingerMs);
    }
  }

  /** Produce requests and the records in them since the lane was made (a retried record counts again). */
  get sent(): { readonly requests: number; readonly records: number } {
    return { requests: this.requestsSent, records: this.recordsSent };
  }

  /** Records queued or in flight. */
  get size(): number {
    return this.queue.length + (this.inFlight?.length ?? 0);
  }

  /** Resolves once every record given so far has been answered. */
  whenIdle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Refuses new records; those already queued still go out. */
  close(): void {
    this.closed = true;
  }

  private flush(): void {
    if (this.lingerTimer !== undefined) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = undefined;
    }
    if (this.inFlight !== undefined || this.queue.length === 0) return;
    // Only the records this request takes are asked whether they are still wanted (see StillWanted):
    // the rest of the queue is asked when its turn comes, so a long queue is not walked per request.
    const batch: Pending[] = [];
    let abandoned: Pending[] | undefined;
    let scanned = 0;
    let bytes = 0;
    while (scanned < this.queue.length && batch.length < this.options.maxRecords) {
      const pending = this.queue[scanned]!;
      if (pending.wanted !== undefined && !pending.wanted()) {
        (abandoned ??= []).push(pending);
        this.queuedBytes -= pending.bytes;
        scanned++;
        continue;
      }
      if (batch.length > 0 && (pending.solo || bytes + pending.bytes > this.options.maxBytes)) break;
      batch.push(pending);
      bytes += pending.bytes;
      scanned++;
      if (pending.solo) break;
    }
    this.queue.splice(0, scanned);
    this.queuedBytes -= bytes;
    if (batch.length > 0) {
      this.inFlight = batch;
      this.requestsSent++;
      this.recordsSent += batch.length;
      const records = batch.map((p) => p.record);
      let deadline = Number.POSITIVE_INFINITY;
      for (const pending of batch) deadline = Math.min(deadline, pending.deadline);
      this.send(records, deadline).then(
        (receipt) => this.complete(batch, null, receipt ?? undefined),
        (error: unknown) => this.complete(batch, classifyProduceError(error)),
      );
    }
    // Answered once the lane is consistent (the request, if any, is in flight): an answer may lead
    // to more records being produced.
    if (abandoned !== undefined) {
      const error = new ProduceError('abandoned', 'the client went away before the record was sent');
      for (const pending of abandoned) answer(pending, error);
    }
    if (batch.length === 0) this.becameIdleMaybe();
  }

  private complete(batch: Pending[], error: ProduceError | null, receipt?: WriteReceipt): void {
    this.inFlight = undefined;
    if (error !== null && !error.retriable && batch.length > 1) {
      // Kafka refused the request for one record (too large, topic gone...): send each again on
      // its own so only the culprit is refused, not every device that shared the request.
      const unanswered = batch.filter((pending) => pending.done !== undefined);
      for (const pending of unanswered) {
        pending.solo = true;
        this.queuedBytes += pending.bytes;
      }
      this.queue.unshift(...unanswered);
      this.flush();
      this.becameIdleMaybe();
      return;
    }
    for (const [index, pending] of batch.entries()) answer(pending, error, receipt, index);
    if (this.queue.length > 0) {
      // What queued behind a request has already waited at least as long as any linger.
      this.flush();
    } else {
      this.becameIdleMaybe();
    }
  }

  private ensureSweeping(): void {
    if (this.sweepTimer !== undefined) return;
    this.sweepTimer = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
  }

  /** Fails records past their deadline; a stuck request keeps the lane but not the devices waiting. */
  private sweep(): void {
    const now = Date.now();
    if (this.inFlight !== undefined) {
      for (const pending of this.inFlight) {
        if (pending.deadline <= now) answer(pending, timeoutError(this.options.deliveryTimeoutMs));
      }
    }
    if (this.queue.length > 0 && this.queue[0]!.deadline <= now) {
      const kept: Pending[] = [];
      for (const pending of this.queue) {
        if (pending.deadline <= now) {
          this.queuedBytes -= pending.bytes;
          answer(pending, timeoutError(this.options.deliveryTimeoutMs));
        } else {
          kept.push(pending);
        }
      }
      this.queue = kept;
    }
    this.becameIdleMaybe();
  }

  private becameIdleMaybe(): void {
    if (this.size > 0) return;
    if (this.sweepTimer !== undefined) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = undefined;
    }
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

function answer(pending: Pending, error: ProduceError | null, receipt?: WriteReceipt, index?: number): void {
  const done = pending.done;
  if (done === undefined) return;
  pending.done = undefined;
  if (receipt === undefined) done(error);
  else done(error, receipt, index);
}

function timeoutError(ms: number): ProduceError {
  return new ProduceError('timeout', `Kafka did not acknowledge within ${ms} ms`);
}
