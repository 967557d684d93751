// A will as the session record keeps it, and back. Pure.
import type { WillMessage } from '../mqtt/types.js';
import type { StoredWill } from '../state/session-store.js';

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
