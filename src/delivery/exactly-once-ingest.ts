// Inbound QoS 2 exactly once across reconnects, replicas and crashes. A persistent session's QoS 2
// PUBLISH is written down in its record (an intent with a publish id) before it goes to Kafka,
// with the publish id as a header; a PUBLISH whose packet identifier an earlier connection left in
// doubt is looked up in Kafka by that id first, and acknowledged without being written again when
// it is there. The messages of one session keep their order: while one waits for its intent to be
// stored or its look-up, those after it wait too (their acknowledgements and records stay in line).
import type { InboundPublish, MqttSession, PublishReply } from '../mqtt/types.js';
import { ReasonCode, type ReasonCodeValue } from '../mqtt/reason-codes.js';
import type { Logger } from '../observability/logger.js';
import type { StoredInboundIntent } from '../state/session-store.js';
import type { InboundIntents } from './inbound-intents.js';
import type { PublishedQuery } from './published-lookup.js';

/** The ingest side: what writes a message to Kafka and answers it (the publish pipeline). */
export interface IngestSide {
  onPublish(session: MqttSession, message: InboundPublish, reply: PublishReply): void;
  /** Acknowledges a message that is in Kafka already, in line after the client's earlier ones. */
  acceptWritten(session: MqttSession, reply: PublishReply): void;
  kafkaTopicOf(session: MqttSession, topic: string): string | undefined;
}

export interface ExactlyOnceOptions {
  readonly sessions: {
    inboundOf(session: MqttSession): InboundIntents | undefined;
    persistSoon(session: MqttSession): Promise<void> | undefined;
  };
  readonly lookup: { find(query: PublishedQuery): Promise<boolean> };
  readonly ingest: IngestSide;
  readonly logger: Logger;
  /** A retransmission looked up in Kafka: found there (not written again), not (written), or not looked up after several tries (written). */
  readonly count?: (outcome: 'found' | 'not-found' | 'given-up') => void;
}

/** Look-ups of one message that may fail (each a disconnect) before it is written without one. */
const MAX_LOOKUP_TRIES = 3;

interface Intended {
  readonly message: InboundPublish;
  readonly stored: Promise<void>;
  readonly forget: () => void;
}

interface Line {
  tail: Promise<void>;
  waiting: number;
}

export class ExactlyOnceIngest {
  private readonly lines = new WeakMap<MqttSession, Line>();
  /** Publish ids whose look-up failed, with how many times (forgotten once one succeeds or is given up). */
  private readonly failedLookups = new Map<string, number>();

  constructor(private readonly options: ExactlyOnceOptions) {}

  readonly onPublish = (session: MqttSession, message: InboundPublish, reply: PublishReply): void => {
    const { ingest, sessions } = this.options;
    const intents = message.qos === 2 && !message.will && message.packetId !== undefined ? sessions.inboundOf(session) : undefined;
    const line = this.lines.get(session);
    if (intents === undefined) {
      if (line === undefined) ingest.onPublish(session, message, reply);
      else this.queue(session, () => ingest.onPublish(session, message, reply));
      return;
    }
    const packetId = message.packetId!;
    const doubt = intents.of(packetId);
    if (doubt !== undefined) {
      this.queue(session, () => this.resolve(session, message, reply, intents, doubt));
      return;
    }
    const written = this.intend(session, message, intents);
    this.queue(session, () => this.sendWhenStored(session, written, reply));
  };

  /** The intent goes into the session's next write (shared with the other asks of this tick). */
  private intend(session: MqttSession, message: InboundPublish, intents: InboundIntents): Intended {
    const intent = intents.begin(message.packetId!, message.receivedAt);
    const stored = this.options.sessions.persistSoon(session) ?? Promise.reject(new Error('the session is no longer kept here'));
    // Awaited in line, maybe after a rejection: handled from now on.
    stored.catch(() => undefined);
    return { message: { ...message, publishId: intent.publishId }, stored, forget: () => intents.forget(intent.packetId) };
  }

  private async sendWhenStored(session: MqttSession, written: Intended, reply: PublishReply): Promise<void> {
    try {
      await written.stored;
    } catch {
      fail(reply, ReasonCode.ServerBusy, 'the session could not be stored');
      return;
    }
    this.options.ingest.onPublish(session, written.message, new ForgetOnRejection(reply, written.forget));
  }

  private async resolve(session: MqttSession, message: InboundPublish, reply: PublishReply, intents: InboundIntents, doubt: StoredInboundIntent): Promise<void> {
    const kafkaTopic = this.options.ingest.kafkaTopicOf(session, message.topic);
    const found = kafkaTopic === undefined ? false : await this.lookUp(session, doubt, kafkaTopic, reply);
    if (found === undefined) return;
    if (found) {
      if (!reply.gone) this.options.ingest.acceptWritten(session, reply);
      return;
    }
    await this.sendWhenStored(session, this.intend(session, message, intents), reply);
  }

  /**
   * Whether the message is in Kafka (false also when the look-up failed several times: it is then
   * written, so that a client is never held off for good); undefined when it failed and the client
   * was sent away to send it again.
   */
  private async lookUp(session: MqttSession, doubt: StoredInboundIntent, kafkaTopic: string, reply: PublishReply): Promise<boolean | undefined> {
    const { logger, count } = this.options;
    const fields = { clientId: session.clientId, packetId: doubt.packetId, publishId: doubt.publishId, kafkaTopic };
    try {
      const found = await this.options.lookup.find({ kafkaTopic, publishId: doubt.publishId, at: doubt.at });
      this.failedLookups.delete(doubt.publishId);
      count?.(found ? 'found' : 'not-found');
      logger.info({ ...fields, found }, found ? 'QoS 2 retransmission found in Kafka: acknowledged, not written again' : 'QoS 2 retransmission not in Kafka: written');
      return found;
    } catch (error) {
      const tries = (this.failedLookups.get(doubt.publishId) ?? 0) + 1;
      if (tries < MAX_LOOKUP_TRIES) {
        this.failedLookups.set(doubt.publishId, tries);
        logger.warn({ ...fields, tries, err: error }, 'QoS 2 retransmission not looked up in Kafka: the client is disconnected and sends it again');
        fail(reply, ReasonCode.ServerBusy, 'could not tell whether the message is in Kafka already');
        return undefined;
      }
      this.failedLookups.delete(doubt.publishId);
      count?.('given-up');
      logger.warn({ ...fields, tries, err: error }, 'QoS 2 retransmission not looked up in Kafka after several tries: written, it may be there twice');
      return false;
    }
  }

  private queue(session: MqttSession, step: () => void | Promise<void>): void {
    let line = this.lines.get(session);
    if (line === undefined) this.lines.set(session, (line = { tail: Promise.resolve(), waiting: 0 }));
    const current = line;
    current.waiting++;
    current.tail = current.tail
      .then(step)
      .catch((error: unknown) => this.options.logger.error({ clientId: session.clientId, err: error }, 'inbound message not handled'))
      .finally(() => {
        if (--current.waiting === 0 && this.lines.get(session) === current) this.lines.delete(session);
      });
  }
}

function fail(reply: PublishReply, code: ReasonCodeValue, reason: string): void {
  if (!reply.gone) reply.fail(code, reason);
}

/** Kafka refused the message (a negative PUBREC ends its flow): it is not there, there is nothing to recognise. */
class ForgetOnRejection implements PublishReply {
  constructor(
    private readonly reply: PublishReply,
    private readonly forget: () => void,
  ) {}

  get gone(): boolean {
    return this.reply.gone;
  }

  accept(): void {
    this.reply.accept();
  }

  reject(reasonCode: ReasonCodeValue, reason: string): void {
    this.forget();
    this.reply.reject(reasonCode, reason);
  }

  fail(reasonCode: ReasonCodeValue, reason: string): void {
    this.reply.fail(reasonCode, reason);
  }
}
