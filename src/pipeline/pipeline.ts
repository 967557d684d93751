import type { Logger } from 'pino';
import type { ProduceError } from '../kafka/errors.js';
import type { DeliveryClass, RecordSink } from '../kafka/producer.js';
import type { Router } from '../mapping/router.js';
import { ReasonCode, type ReasonCodeValue } from '../mqtt/reason-codes.js';
import type { ProxyMetrics } from '../observability/metrics.js';
import type { InboundPublish, MqttSession, PublishReply } from '../mqtt/types.js';
import { AckSequencer } from './ack-sequencer.js';
import { buildRecord } from './record.js';

export interface PipelineOptions {
  readonly router: Router;
  readonly sink: RecordSink;
  readonly logger: Logger;
  readonly metrics: ProxyMetrics;
  /** Above this many records in flight to Kafka, QoS 0 publishes are not taken (the socket is not read). */
  readonly maxInflightMessages: number;
}

interface SessionState {
  readonly sequencer: AckSequencer;
  readonly log: Logger;
}

const DELIVERY: readonly DeliveryClass[] = ['qos0', 'qos1', 'qos2'];

/** The MQTT 5 reason code for a record Kafka will never take as sent. */
function rejectionCode(error: ProduceError): ReasonCodeValue {
  return error.reason === 'not-authorized' ? ReasonCode.NotAuthorized : ReasonCode.ImplementationSpecificError;
}

/**
 * PUBLISH -> route -> record -> Kafka -> acknowledgement, in arrival order per connection.
 * QoS 1 and 2 are accepted only when Kafka has the record; QoS 0 is accepted at once unless too
 * much is in flight, which is what stops the engine reading more from the socket.
 */
export class PublishPipeline {
  private readonly sessions = new WeakMap<MqttSession, SessionState>();
  private readonly heldQoS0: Array<() => void> = [];
  private draining = false;

  constructor(private readonly options: PipelineOptions) {}

  /** From now on new publishes are refused (the client is told the server is shutting down). */
  beginDrain(): void {
    this.draining = true;
    this.releaseHeld();
  }

  onPublish(session: MqttSession, message: InboundPublish, reply: PublishReply): void {
    const state = this.stateOf(session);
    const { router, sink } = this.options;
    const acked = message.qos > 0 && !message.will;
    const ticket = acked ? state.sequencer.reserve() : -1;
    const answer = (send: () => void): void => {
      if (ticket < 0) send();
      else state.sequencer.settle(ticket, send);
    };
    if (this.draining) {
      // In line like any answer: the acks of records already on their way leave first.
      answer(() => reply.fail(ReasonCode.ServerShuttingDown, 'server shutting down'));
      return;
    }

    const route = router.route({ topic: message.topic, clientId: session.clientId, username: session.username });
    if (route.kind === 'rejected') {
      state.log.warn(
        { topic: message.topic, qos: message.qos, outcome: 'rejected', reason: route.reason, rule: route.rule },
        `publish rejected: ${route.detail}`,
      );
      answer(() => reply.reject(ReasonCode.TopicNameInvalid, route.detail));
      return;
    }

    const record = buildRecord(message, session, route);
    if (!acked && !message.will) this.acceptQoS0(reply);

    sink.produce(record, DELIVERY[message.qos]!, (error) => {
      const fields = { topic: message.topic, qos: message.qos, rule: route.rule, kafkaTopic: route.kafkaTopic };
      if (error === null) {
        state.log.debug({ ...fields, outcome: 'produced' }, 'publish produced');
        if (acked || message.will) answer(() => reply.accept());
      } else if (error.retriable) {
        state.log.warn({ ...fields, outcome: 'failed', reason: error.reason, err: error.message }, 'publish failed, client must retransmit');
        if (acked) answer(() => reply.fail(ReasonCode.ServerBusy, `Kafka unavailable: ${error.reason}`));
        else if (message.will) reply.reject(ReasonCode.ServerBusy, error.message);
      } else {
        state.log.warn(
          { ...fields, outcome: 'rejected', reason: error.reason, kafkaCode: error.kafkaCode, err: error.message },
          'publish rejected by Kafka',
        );
        if (acked || message.will) answer(() => reply.reject(rejectionCode(error), `Kafka refused the record: ${error.reason}`));
      }
      if (this.heldQoS0.length > 0) this.releaseHeld();
    });
  }

  /** Fire and forget, but only while Kafka keeps up; held publishes keep their sockets unread. */
  private acceptQoS0(reply: PublishReply): void {
    const { sink } = this.options;
    if (sink.inFlight < this.options.maxInflightMessages && !sink.backlogged) reply.accept();
    else this.heldQoS0.push(() => reply.accept());
  }

  private releaseHeld(): void {
    // Hysteresis: resume below 90% so sockets do not flap around the bound.
    const lowWater = this.options.maxInflightMessages * 0.9;
    while (this.heldQoS0.length > 0 && (this.draining || (this.options.sink.inFlight < lowWater && !this.options.sink.backlogged))) {
      this.heldQoS0.shift()!();
    }
  }

  private stateOf(session: MqttSession): SessionState {
    let state = this.sessions.get(session);
    if (state === undefined) {
      state = {
        sequencer: new AckSequencer(),
        log: this.options.logger.child({
          clientId: session.clientId,
          remoteAddress: session.remoteAddress,
          listener: session.listener,
          protocolVersion: session.protocolVersion,
        }),
      };
      this.sessions.set(session, state);
    }
    return state;
  }
}
