// A will as the session record keeps it, and back (pure); and the record without it once published.
import type { WillMessage } from '../mqtt/types.js';
import type { KafkaSessionStore, StoredSession, StoredWill } from '../state/session-store.js';
import type { Logger } from '../observability/logger.js';

/** The will to keep with a session whose expiry is `expirySeconds`: its delay at most that [v5 3.1.3.2.2]. */
export function storedWill(will: WillMessage, expirySeconds: number): StoredWill {
  const p = will.properties;
  return {
    topic: will.topic,
    payload: will.payload.toString('base64'),
    qos: will.qos,
    retain: will.retain,
    delaySeconds: Math.min(Math.floor(will.delayMs / 1000), expirySeconds),
    ...(p?.contentType !== undefined && { contentType: p.contentType }),
    ...(p?.payloadFormatIndicator !== undefined && { payloadFormatIndicator: p.payloadFormatIndicator }),
    ...(p?.responseTopic !== undefined && { responseTopic: p.responseTopic }),
    ...(p?.correlationData !== undefined && { correlationData: p.correlationData.toString('base64') }),
    ...(p?.userProperties !== undefined && { userProperties: p.userProperties }),
    ...(p?.messageExpiryInterval !== undefined && { messageExpiryInterval: p.messageExpiryInterval }),
  };
}

export function willFromStored(stored: StoredWill): WillMessage {
  const properties = {
    ...(stored.contentType !== undefined && { contentType: stored.contentType }),
    ...(stored.payloadFormatIndicator !== undefined && { payloadFormatIndicator: stored.payloadFormatIndicator }),
    ...(stored.responseTopic !== undefined && { responseTopic: stored.responseTopic }),
    ...(stored.correlationData !== undefined && { correlationData: Buffer.from(stored.correlationData, 'base64') }),
    ...(stored.userProperties !== undefined && { userProperties: stored.userProperties }),
    ...(stored.messageExpiryInterval !== undefined && { messageExpiryInterval: stored.messageExpiryInterval }),
  };
  return {
    topic: stored.topic,
    payload: Buffer.from(stored.payload, 'base64'),
    qos: stored.qos,
    retain: stored.retain,
    properties: Object.keys(properties).length === 0 ? undefined : properties,
    delayMs: stored.delaySeconds * 1000,
  };
}

/** The will was published: the record no longer holds it, so no replica publishes it again. */
export function dropPublishedWill(store: Pick<KafkaSessionStore, 'set'>, clientId: string, session: StoredSession, logger: Logger): void {
  const { will: _will, willAt: _at, ...rest } = session;
  void store.set(clientId, rest).catch((error: unknown) => logger.warn({ err: error, clientId }, 'published will not removed from the session record'));
}
