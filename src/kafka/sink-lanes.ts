import type { Histogram } from 'prom-client';
import type { AcksSetting, KafkaConfig } from '../config/types.js';
import { ProduceLane } from './produce-lane.js';
import type { KafkaAcks, KafkaRecord } from './record.js';
import { sendUntil } from './send-until.js';

/** Which of the configured delivery settings a record travels with (`kafka.acks.qos0|qos1|qos2`). */
export type DeliveryClass = 'qos0' | 'qos1' | 'qos2';

/** Pauses between produce requests of a batch that failed retriably (the client retried each already). */
const RESEND_PAUSE_MS = 250;
const RESEND_MAX_PAUSE_MS = 2000;

export interface LaneSenders {
  /** One produce request with these acks. */
  send(records: readonly KafkaRecord[], acks: KafkaAcks): Promise<void>;
  /** Told after each attempt, so reachability follows what produce requests see. */
  succeeded(): void;
  failedRetriably(error: unknown): void;
  readonly stopped: () => boolean;
}

/**
 * One {@link ProduceLane} per distinct acks setting among `kafka.acks.qos0|qos1|qos2` (two
 * settings that are equal share a lane, so their records share batches). A batch that failed
 * retriably is sent again until its oldest record's delivery timeout.
 */
export class SinkLanes {
  readonly byClass: Readonly<Record<DeliveryClass, ProduceLane>>;
  private readonly bySetting = new Map<KafkaAcks, ProduceLane>();

  constructor(
    private readonly config: KafkaConfig,
    private readonly senders: LaneSenders,
    private readonly produceLatency: Histogram<'acks'> | undefined,
  ) {
    this.byClass = { qos0: this.laneFor(config.acks.qos0), qos1: this.laneFor(config.acks.qos1), qos2: this.laneFor(config.acks.qos2) };
  }

  get all(): Iterable<ProduceLane> {
    return this.bySetting.values();
  }

  private laneFor(acks: AcksSetting): ProduceLane {
    const kafkaAcks: KafkaAcks = acks === 'all' ? -1 : acks;
    const existing = this.bySetting.get(kafkaAcks);
    if (existing !== undefined) return existing;
    const latency = this.produceLatency?.labels({ acks: String(acks) });
    const { senders } = this;
    const attempt = (records: readonly KafkaRecord[]): Promise<void> => (latency === undefined ? senders.send(records, kafkaAcks) : timed(() => senders.send(records, kafkaAcks), latency));
    const send = async (records: readonly KafkaRecord[], deadline: number): Promise<void> => {
      await sendUntil(() => attempt(records), deadline, {
        pauseMs: RESEND_PAUSE_MS,
        maxPauseMs: RESEND_MAX_PAUSE_MS,
        onFailure: (error, retriable) => {
          if (retriable) senders.failedRetriably(error);
        },
        stopped: senders.stopped,
      });
      senders.succeeded();
    };
    const lane = new ProduceLane(send, {
      lingerMs: this.config.lingerMs,
      maxRecords: this.config.batchMaxRecords,
      maxBytes: this.config.batchMaxBytes,
      deliveryTimeoutMs: this.config.requestTimeoutMs,
    });
    this.bySetting.set(kafkaAcks, lane);
    return lane;
  }
}

/** Observes how long `request` takes, whether Kafka accepted it or not. */
function timed(request: () => Promise<void>, latency: Histogram.Internal<'acks'>): Promise<void> {
  const end = latency.startTimer();
  return request().finally(() => end());
}
