import type { Logger } from 'pino';
import type { LimitsConfig } from '../config/types.js';
import type { ProduceError, ProduceFailureReason } from '../kafka/errors.js';
import type { DeliveryClass, RecordSink } from '../kafka/producer.js';
import type { Router } from '../mapping/router.js';
import type { Route, RouteResult } from '../mapping/types.js';
import { ReasonCode, type ReasonCodeValue } from '../mqtt/reason-codes.js';
import type { ProxyMetrics } from '../observability/metrics.js';
import type { InboundPublish, MqttSession, PublishReply } from '../mqtt/types.js';
import type { RetainedStore } from '../state/retained-store.js';
import type { WriteReceipt } from '../kafka/record.js';
import { PublisherState as SessionState } from './publisher-state.js';
import { InflightBudget, type ReadSwitch } from './inflight-budget.js';
import { OverloadLog, PublishCounters, type Transport } from './publish-counters.js';
import { accountedBytes, buildRecord } from './record.js';
import { alongsideRetained } from './retained-ingest.js';

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
  /** Where a PUBLISH with RETAIN 1 is also written; absent = retained messages are off (only produced, as any PUBLISH). */
  readonly retained?: RetainedStore;
}

export { accountedBytes, RECORD_OVERHEAD_BYTES } from './record.js';

/**
 * Decides whether a session may publish to a topic. `allow`; `deny` (MQTT 5: PUBACK / PUBREC 0x87;
 * 3.1.1: disconnected); `drop` (3.1.1 only: acknowledged as if accepted, not produced).
 */
export type PublishAuthorizer = (session: MqttSession, message: InboundPublish) => 'allow' | 'deny' | 'drop';

/**
 * A reply that may also be told where Kafka wrote the record (HTTP ingest answers with it; an MQTT
 * acknowledgement has no room for it and ignores the arguments).
 */
export interface IngestReply extends PublishReply {
  accept(receipt?: WriteReceipt, index?: number): void;
  /** `cause`: why, in the pipeline's terms (an HTTP answer's status depends on it). */
  reject(reasonCode: ReasonCodeValue, reason: string, cause?: RefusalCause): void;
  fail(reasonCode: ReasonCodeValue, reason: string, cause?: RefusalCause): void;
}

/** Why the pipeline refused a message: the ACL, the mapping, or Kafka's answer. */
export type RefusalCause = 'acl' | 'unmapped' | 'invalid-kafka-topic' | ProduceFailureReason;

const DELIVERY: readonly DeliveryClass[] = ['qos0', 'qos1', 'qos2'];

/** Sends an answer: in line, after the answers of earlier QoS 1 and 2 PUBLISHes, or at once for QoS 0. */
type Answer = (send: () => void) => void;

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
  private readonly counters: PublishCounters;
  private readonly overload: OverloadLog;
  private draining = false;
  private router: Router;

  constructor(private readonly options: PipelineOptions) {
    this.router = options.router;
    const { limits, metrics } = options;
    this.counters = new PublishCounters(metrics);
    this.overload = new OverloadLog(options.logger, limits);
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

  /** True from reaching a global in-flight bound until back at its low-water mark. */
  get overloaded(): boolean {
    return this.budget.isOverloaded;
  }

  /** Records and accounted bytes in flight, and connections not being read. */
  get inflight(): { readonly messages: number; readonly bytes: number; readonly pausedClients: number } {
    return { messages: this.budget.messages, bytes: this.budget.bytes, pausedClients: this.budget.pausedConnections };
  }

  /**
   * A PUBLISH already in Kafka (a retransmission found there): acknowledged in its turn, after the
   * messages the client sent before it, and not written again.
   */
  acceptWritten(session: MqttSession, reply: IngestReply): void {
    const state = this.stateOf(session);
    const ticket = state.sequencer.reserve();
    state.sequencer.settle(ticket, () => reply.accept());
  }

  /** The Kafka topic a PUBLISH to `topic` from `session` goes to under the rules in effect; undefined when it is refused. */
  kafkaTopicOf(session: MqttSession, topic: string): string | undefined {
    const route = this.routeOf(session, topic);
    return route.kind === 'mapped' ? route.kafkaTopic : undefined;
  }

  /**
   * `transport`: how the message came in, for the counters. A session that was never attached (an
   * HTTP request) counts against the bounds but is never paused: its caller refuses new requests
   * while {@link overloaded}.
   */
  onPublish(session: MqttSession, message: InboundPublish, reply: IngestReply, transport: Transport = 'mqtt'): void {
    const state = this.stateOf(session);
    this.counters.payload(message.payload.length, transport);
    const acked = message.qos > 0 && !message.will;
    const ticket = acked ? state.sequencer.reserve() : -1;
    const answer: Answer = (send) => {
      if (ticket < 0) send();
      else state.sequencer.settle(ticket, send);
    };
    const route = this.routeOrRefuse(session, state, message, reply, answer, transport);
    if (route === undefined) return;

    const record = buildRecord(message, session, route);
    const fireAndForget = !acked && !message.will;
    if (fireAndForget && this.options.limits.qos0Overload === 'drop' && this.budget.isOverloaded) {
      this.counters.outcome('dropped', 'overload', transport);
      this.overload.dropped(state.log, route.rule, this.budget);
      reply.accept();
      return;
    }
    const bytes = accountedBytes(record);
    this.budget.take(session, bytes);
    this.overload.update(this.budget.isOverloaded, this.budget);
    // Fire and forget; reading stops at the bound (see the budget) rather than here.
    if (fireAndForget) reply.accept();

    // A QoS 1/2 record whose client is gone before it is sent is not sent: the client retransmits it.
    const wanted = acked ? () => !reply.gone : undefined;
    const done = (error: ProduceError | null, receipt?: WriteReceipt, index?: number): void => {
      this.budget.release(session, bytes);
      this.overload.update(this.budget.isOverloaded, this.budget);
      this.counters.outcome(error === null ? 'acked' : error.retriable ? 'failed' : 'rejected', error === null ? 'ok' : error.reason, transport);
      // The success path runs per record: its log fields are built only when debug is on.
      const debug = this.options.logger.isLevelEnabled('debug');
      const fields = error === null && !debug ? undefined : { topic: message.topic, qos: message.qos, rule: route.rule, kafkaTopic: route.kafkaTopic };
      if (error === null) {
        if (debug) state.log.debug({ ...fields, outcome: 'produced' }, 'publish produced');
        if (acked || message.will) answer(() => reply.accept(receipt, index));
      } else if (error.retriable) {
        if (error.reason === 'abandoned') {
          if (debug) state.log.debug({ ...fields, outcome: 'failed', reason: error.reason }, 'publish not sent: the client went away first');
        } else state.log.warn({ ...fields, outcome: 'failed', reason: error.reason, err: error.message }, 'publish failed, client must retransmit');
        if (acked) answer(() => reply.fail(ReasonCode.ServerBusy, `Kafka unavailable: ${error.reason}`, error.reason));
        else if (message.will) reply.reject(ReasonCode.ServerBusy, error.message);
      } else {
        state.log.warn(
          { ...fields, outcome: 'rejected', reason: error.reason, kafkaCode: error.kafkaCode, err: error.message },
          'publish rejected by Kafka',
        );
        if (acked || message.will) answer(() => reply.reject(rejectionCode(error), `Kafka refused the record: ${error.reason}`, error.reason));
      }
    };
    const retained = this.options.retained;
    const settled = message.retain && retained !== undefined ? alongsideRetained(retained, message, done) : done;
    this.options.sink.produce(record, DELIVERY[message.qos]!, settled, wanted);
  }

  /**
   * Authorization, then mapping; a PUBLISH refused on the way (denied, the proxy draining, no rule)
   * is answered here, in line like any answer, and gets no route.
   */
  private routeOrRefuse(
    session: MqttSession,
    state: SessionState,
    message: InboundPublish,
    reply: IngestReply,
    answer: Answer,
    transport: Transport,
  ): Route | undefined {
    // Authorization before mapping: a denied publish never reaches the router, and is counted
    // under a fixed label instead of the rule it would have matched.
    const verdict = this.options.authorize?.(session, message) ?? 'allow';
    if (verdict !== 'allow') {
      this.counters.publish(message.qos, NOT_AUTHORIZED_RULE_LABEL, transport);
      // In line like any answer, so a denied QoS 1 PUBACK leaves in arrival order.
      this.counters.outcome('rejected', 'not-authorized', transport);
      if (verdict === 'drop') answer(() => reply.accept());
      else answer(() => reply.reject(ReasonCode.NotAuthorized, 'not authorized', 'acl'));
      return undefined;
    }

    const route = this.routeOf(session, message.topic);
    this.counters.publish(message.qos, route.rule ?? 'unmapped', transport);
    if (this.draining) {
      // In line like any answer: the acks of records already on their way leave first.
      this.counters.outcome('failed', 'shutting-down', transport);
      answer(() => reply.fail(ReasonCode.ServerShuttingDown, 'server shutting down', 'shutting-down'));
      return undefined;
    }

    if (route.kind === 'rejected') {
      this.counters.outcome('rejected', route.reason, transport);
      state.log.warn(
        { topic: message.topic, qos: message.qos, outcome: 'rejected', reason: route.reason, rule: route.rule },
        `publish rejected: ${route.detail}`,
      );
      answer(() => reply.reject(ReasonCode.TopicNameInvalid, route.detail, route.reason));
      return undefined;
    }
    return route;
  }

  private routeOf(session: MqttSession, topic: string): RouteResult {
    return this.router.route({ topic, clientId: session.clientId, username: session.username, certCN: session.certificateIdentity });
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
