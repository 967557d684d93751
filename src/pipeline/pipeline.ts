import type { Logger } from 'pino';
import type { LimitsConfig } from '../config/types.js';
import type { ProduceError } from '../kafka/errors.js';
import type { DeliveryClass, RecordSink } from '../kafka/producer.js';
import type { Router } from '../mapping/router.js';
import { ReasonCode, type ReasonCodeValue } from '../mqtt/reason-codes.js';
import type { HotCount, ProxyMetrics } from '../observability/metrics.js';
import type { InboundPublish, MqttSession, PublishReply } from '../mqtt/types.js';
import type { KafkaRecord } from '../kafka/record.js';
import { AckSequencer } from './ack-sequencer.js';
import { InflightBudget, type ReadSwitch } from './inflight-budget.js';
import { buildRecord } from './record.js';

export interface PipelineOptions {
  /** The mapping rules in effect when the pipeline starts; {@link PublishPipeline.setRouter} swaps them. */
  readonly router: Router;
  readonly sink: RecordSink;
  readonly logger: Logger;
  readonly metrics: ProxyMetrics;
  /** Topic authorization, checked before mapping; absent = every publish is allowed. */
  readonly authorize?: PublishAuthorizer;
  /** In-flight bounds and what QoS 0 does at them. */
  readonly limits: Pick<
    LimitsConfig,
    | 'maxInflightMessages'
    | 'maxInflightBytes'
    | 'maxInflightPerConnection'
    | 'maxInflightBytesPerConnection'
    | 'inflightLowWater'
    | 'qos0Overload'
  >;
  /** Stops and restarts reading from a client's connection. */
  readonly reads: ReadSwitch<MqttSession>;
}

/** Accounted bytes per record on top of its payload, topic, key and headers: the objects around it. */
export const RECORD_OVERHEAD_BYTES = 1024;

/** At most one log line about dropped QoS 0 publishes per this many ms. */
const DROP_LOG_INTERVAL_MS = 10_000;

/** Bytes a record counts against `limits.maxInflightBytes`. */
export function accountedBytes(record: KafkaRecord, mqttTopic: string): number {
  let bytes = RECORD_OVERHEAD_BYTES + record.value.length + mqttTopic.length;
  if (record.key !== null) bytes += record.key.length;
  for (const name in record.headers) {
    const value = record.headers[name]!;
    bytes += name.length;
    if (Array.isArray(value)) for (const v of value) bytes += v.length;
    else bytes += (value as Buffer | string).length;
  }
  return bytes;
}

/**
 * Decides whether a session may publish to a topic. `allow`; `deny` (MQTT 5: PUBACK / PUBREC 0x87;
 * 3.1.1: disconnected); `drop` (3.1.1 only: acknowledged as if accepted, not produced).
 */
export type PublishAuthorizer = (session: MqttSession, message: InboundPublish) => 'allow' | 'deny' | 'drop';

/** Per connection: the PUBACK order, and a child logger made at its first line (most never log). */
class SessionState {
  readonly sequencer = new AckSequencer();
  private logger: Logger | undefined;

  constructor(
    private readonly parent: Logger,
    private readonly session: MqttSession,
  ) {}

  get log(): Logger {
    this.logger ??= this.parent.child({
      clientId: this.session.clientId,
      remoteAddress: this.session.remoteAddress,
      listener: this.session.listener,
      protocolVersion: this.session.protocolVersion,
    });
    return this.logger;
  }
}

const DELIVERY: readonly DeliveryClass[] = ['qos0', 'qos1', 'qos2'];

/** The MQTT 5 reason code for a record Kafka will never take as sent. */
function rejectionCode(error: ProduceError): ReasonCodeValue {
  return error.reason === 'not-authorized' ? ReasonCode.NotAuthorized : ReasonCode.ImplementationSpecificError;
}

/** `publishes_received_total{rule}` of a PUBLISH an ACL denied: it was never mapped. */
export const NOT_AUTHORIZED_RULE_LABEL = 'not-authorized';

/**
 * PUBLISH -> authorize -> route -> record -> Kafka -> acknowledgement, in arrival order per connection.
 * QoS 1 and 2 are accepted only when Kafka has the record; QoS 0 at once. Every record counts
 * against the in-flight bounds until Kafka answered it; at a bound, connections stop being read.
 */
export class PublishPipeline {
  private readonly sessions = new WeakMap<MqttSession, SessionState>();
  private readonly budget: InflightBudget<MqttSession>;
  private draining = false;
  private router: Router;
  /** Counts by label values, added to as plain numbers (see ProxyMetrics.hotCount). */
  private readonly received = new Map<string, HotCount>();
  private readonly outcomes = new Map<string, HotCount>();
  private readonly bytesReceived: HotCount;

  private droppedSinceLog = 0;
  private lastDropLog = 0;

  constructor(private readonly options: PipelineOptions) {
    this.router = options.router;
    const { limits, metrics } = options;
    this.bytesReceived = metrics.hotCount(metrics.bytesReceived, {});
    this.budget = new InflightBudget<MqttSession>(
      {
        maxMessages: limits.maxInflightMessages,
        maxBytes: limits.maxInflightBytes,
        maxPerConnection: limits.maxInflightPerConnection,
        maxBytesPerConnection: limits.maxInflightBytesPerConnection,
        lowWaterFraction: limits.inflightLowWater,
        globalPause: limits.qos0Overload === 'drop' ? 'offender' : 'all',
      },
      {
        pause: (session) => {
          options.reads.pause(session);
          metrics.pausedClients.set(this.budget.pausedConnections);
        },
        resume: (session) => {
          options.reads.resume(session);
          metrics.pausedClients.set(this.budget.pausedConnections);
        },
      },
    );
  }

  /**
   * Routes every PUBLISH from now on with `router`. Publishes already routed keep their route; a
   * connection keeps going across the swap.
   */
  setRouter(router: Router): void {
    this.router = router;
  }

  /** From now on new publishes are refused (the client is told the server is shutting down). */
  beginDrain(): void {
    this.draining = true;
  }

  /** A client connected: it is paused at once while the proxy is at its bound. */
  attach(session: MqttSession): void {
    this.budget.attach(session);
    this.options.metrics.pausedClients.set(this.budget.pausedConnections);
  }

  /** A client went away; its records still in flight keep counting until Kafka answers them. */
  detach(session: MqttSession): void {
    this.budget.detach(session);
    this.options.metrics.pausedClients.set(this.budget.pausedConnections);
  }

  /** Records and accounted bytes in flight, and connections not being read. */
  get inflight(): { readonly messages: number; readonly bytes: number; readonly pausedClients: number } {
    return { messages: this.budget.messages, bytes: this.budget.bytes, pausedClients: this.budget.pausedConnections };
  }

  onPublish(session: MqttSession, message: InboundPublish, reply: PublishReply): void {
    const state = this.stateOf(session);
    const { sink } = this.options;
    this.bytesReceived.inc(message.payload.length);
    const acked = message.qos > 0 && !message.will;
    const ticket = acked ? state.sequencer.reserve() : -1;
    const answer = (send: () => void): void => {
      if (ticket < 0) send();
      else state.sequencer.settle(ticket, send);
    };
    // Authorization before mapping: a denied publish never reaches the router, and is counted
    // under a fixed label instead of the rule it would have matched.
    const verdict = this.options.authorize?.(session, message) ?? 'allow';
    if (verdict !== 'allow') {
      this.countReceived(message.qos, NOT_AUTHORIZED_RULE_LABEL);
      // In line like any answer, so a denied QoS 1 PUBACK leaves in arrival order.
      this.countOutcome('rejected', 'not-authorized');
      if (verdict === 'drop') answer(() => reply.accept());
      else answer(() => reply.reject(ReasonCode.NotAuthorized, 'not authorized'));
      return;
    }

    const route = this.router.route({ topic: message.topic, clientId: session.clientId, username: session.username, certCN: session.certificateIdentity });
    this.countReceived(message.qos, route.rule ?? 'unmapped');
    if (this.draining) {
      // In line like any answer: the acks of records already on their way leave first.
      this.countOutcome('failed', 'shutting-down');
      answer(() => reply.fail(ReasonCode.ServerShuttingDown, 'server shutting down'));
      return;
    }

    if (route.kind === 'rejected') {
      this.countOutcome('rejected', route.reason);
      state.log.warn(
        { topic: message.topic, qos: message.qos, outcome: 'rejected', reason: route.reason, rule: route.rule },
        `publish rejected: ${route.detail}`,
      );
      answer(() => reply.reject(ReasonCode.TopicNameInvalid, route.detail));
      return;
    }

    const record = buildRecord(message, session, route);
    const fireAndForget = !acked && !message.will;
    if (fireAndForget && this.options.limits.qos0Overload === 'drop' && this.budget.isOverloaded) {
      this.dropQoS0(state.log, route.rule);
      reply.accept();
      return;
    }
    const bytes = accountedBytes(record, message.topic);
    this.budget.take(session, bytes);
    this.afterBudgetChange();
    // Fire and forget; reading stops at the bound (see the budget) rather than here.
    if (fireAndForget) reply.accept();

    // A QoS 1/2 record whose client is gone before it is sent is not sent: the client retransmits it.
    const wanted = acked ? () => !reply.gone : undefined;
    sink.produce(record, DELIVERY[message.qos]!, (error) => {
      this.budget.release(session, bytes);
      this.afterBudgetChange();
      this.countOutcome(error === null ? 'acked' : error.retriable ? 'failed' : 'rejected', error === null ? 'ok' : error.reason);
      // The success path runs per record: its log fields are built only when debug is on.
      const debug = this.options.logger.isLevelEnabled('debug');
      const fields = error === null && !debug ? undefined : { topic: message.topic, qos: message.qos, rule: route.rule, kafkaTopic: route.kafkaTopic };
      if (error === null) {
        if (debug) state.log.debug({ ...fields, outcome: 'produced' }, 'publish produced');
        if (acked || message.will) answer(() => reply.accept());
      } else if (error.retriable) {
        if (error.reason === 'abandoned') {
          if (debug) state.log.debug({ ...fields, outcome: 'failed', reason: error.reason }, 'publish not sent: the client went away first');
        } else state.log.warn({ ...fields, outcome: 'failed', reason: error.reason, err: error.message }, 'publish failed, client must retransmit');
        if (acked) answer(() => reply.fail(ReasonCode.ServerBusy, `Kafka unavailable: ${error.reason}`));
        else if (message.will) reply.reject(ReasonCode.ServerBusy, error.message);
      } else {
        state.log.warn(
          { ...fields, outcome: 'rejected', reason: error.reason, kafkaCode: error.kafkaCode, err: error.message },
          'publish rejected by Kafka',
        );
        if (acked || message.will) answer(() => reply.reject(rejectionCode(error), `Kafka refused the record: ${error.reason}`));
      }
    }, wanted);
  }

  private countReceived(qos: number, rule: string): void {
    const key = `${qos}\u0000${rule}`;
    let child = this.received.get(key);
    if (child === undefined) {
      const { metrics } = this.options;
      child = metrics.hotCount(metrics.publishesReceived, { qos: String(qos), rule });
      this.received.set(key, child);
    }
    child.inc();
  }

  private countOutcome(outcome: 'acked' | 'rejected' | 'failed' | 'dropped', reason: string): void {
    const key = `${outcome}\u0000${reason}`;
    let child = this.outcomes.get(key);
    if (child === undefined) {
      const { metrics } = this.options;
      child = metrics.hotCount(metrics.records, { outcome, reason });
      this.outcomes.set(key, child);
    }
    child.inc();
  }

  private wasOverloaded = false;

  /** Metrics, and one log line each time the global bound is reached and left. */
  private afterBudgetChange(): void {
    const { logger, limits } = this.options;
    // The in-flight gauges are read from `inflight` when /metrics is scraped, not set per record.
    const overloaded = this.budget.isOverloaded;
    if (overloaded === this.wasOverloaded) return;
    this.wasOverloaded = overloaded;
    const fields = {
      inflightMessages: this.budget.messages,
      inflightBytes: this.budget.bytes,
      pausedClients: this.budget.pausedConnections,
      maxInflightMessages: limits.maxInflightMessages,
      maxInflightBytes: limits.maxInflightBytes,
    };
    if (overloaded) {
      const what = limits.qos0Overload === 'drop' ? 'QoS 0 dropped, QoS 1 and 2 senders paused' : 'reading from clients paused';
      logger.warn(fields, `in-flight bound reached: ${what}`);
    } else {
      logger.info(fields, 'in-flight below the low-water mark: reading from clients resumed');
    }
  }

  /** Counted always; logged at most once per interval, with the count since the last line. */
  private dropQoS0(log: Logger, rule: string): void {
    this.countOutcome('dropped', 'overload');
    this.droppedSinceLog++;
    const now = Date.now();
    if (now - this.lastDropLog >= DROP_LOG_INTERVAL_MS) {
      log.warn(
        { outcome: 'dropped', reason: 'overload', rule, dropped: this.droppedSinceLog, inflightMessages: this.budget.messages, inflightBytes: this.budget.bytes },
        'QoS 0 publishes dropped: in-flight bound reached',
      );
      this.droppedSinceLog = 0;
      this.lastDropLog = now;
    }
  }

  private stateOf(session: MqttSession): SessionState {
    let state = this.sessions.get(session);
    if (state === undefined) {
      state = new SessionState(this.options.logger, session);
      this.sessions.set(session, state);
    }
    return state;
  }
}
