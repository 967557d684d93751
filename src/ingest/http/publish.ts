/**
 * HTTP messages into the publish pipeline, as QoS 1 PUBLISHes of an MQTT 5 client: the same ACL,
 * mapping, record building, in-flight accounting and Kafka acks (`kafka.acks.qos1`). Each message
 * is answered once Kafka answered it.
 */
import type { WriteReceipt } from '../../kafka/record.js';
import type { MqttSession, PublishProperties } from '../../mqtt/types.js';
import type { IngestReply, PublishPipeline, RefusalCause } from '../../pipeline/pipeline.js';
import { failure, refusalError, written, type MessageAnswer } from './answers.js';
import type { HttpMessage } from './batch.js';

/** The client of one request, as the pipeline, the ACL (`%u`, `%c`) and the mapping templates see it. */
export function requestSession(fields: {
  readonly username: string | undefined;
  readonly remoteAddress: string;
  readonly listener: string;
  readonly certificateIdentity: string | undefined;
}): MqttSession {
  return {
    // No client id travels in HTTP; one that names the client the way the records' mqtt.client_id can show it.
    clientId: `http-${fields.username ?? fields.remoteAddress}`,
    username: fields.username,
    // Answered like MQTT 5: a denied publish is refused (403), never silently dropped.
    protocolVersion: 5,
    remoteAddress: fields.remoteAddress,
    listener: fields.listener,
    ...(fields.certificateIdentity === undefined ? {} : { certificateIdentity: fields.certificateIdentity }),
  };
}

/** Hands every message to the pipeline at once; resolves with their answers, in order. */
export function publishAll(pipeline: PublishPipeline, session: MqttSession, messages: readonly HttpMessage[], gone: () => boolean): Promise<MessageAnswer[]> {
  return Promise.all(messages.map((message) => publishOne(pipeline, session, message, gone)));
}

function publishOne(pipeline: PublishPipeline, session: MqttSession, message: HttpMessage, gone: () => boolean): Promise<MessageAnswer> {
  return new Promise((resolve) => {
    const properties: PublishProperties = {
      ...(message.contentType === undefined ? {} : { contentType: message.contentType }),
      ...(Object.keys(message.headers).length === 0 ? {} : { userProperties: message.headers }),
    };
    const reply: IngestReply = {
      accept(receipt?: WriteReceipt, index?: number) {
        if (receipt === undefined || index === undefined) resolve(written(undefined));
        else void receipt.position(index).then((position) => resolve(written(position)));
      },
      reject(_code, reason, cause?: RefusalCause) {
        resolve(failure(refusalError(cause), reason));
      },
      fail(_code, reason, cause?: RefusalCause) {
        resolve(failure(refusalError(cause ?? 'unavailable'), reason));
      },
      get gone() {
        return gone();
      },
    };
    pipeline.onPublish(
      session,
      { topic: message.topic, payload: message.payload, qos: 1, retain: false, will: false, properties, receivedAt: Date.now() },
      reply,
      'http',
    );
  });
}

/** A failure answer for every message of a request refused as a whole. */
export function refuseAll(count: number, answer: MessageAnswer): MessageAnswer[] {
  return Array.from({ length: count }, () => answer);
}
