import type { ValueCodec } from '../kafka/compacted-store.js';
import type { RetainedMessage, RetainedProperties } from './retained-types.js';

/**
 * A retained message as the value of its record in the retained topic (the key is its MQTT topic):
 *
 *   4 bytes  00 6d 72 01   ("\0mr" and format version 1; no text value starts with NUL)
 *   4 bytes  length N of the metadata, big-endian
 *   N bytes  metadata, JSON: {"qos":1,"storedAt":1733540000000,"properties":{...}}
 *            (correlationData as base64)
 *   rest     the payload, unchanged
 *
 * A value without that prefix (written by another tool, e.g. `kcat -K:`) is a retained payload of
 * its own, at QoS 1, with no properties and no expiry: a backend can retain a message by writing
 * the bytes it wants sent.
 */
const MAGIC = Buffer.from([0x00, 0x6d, 0x72, 0x01]);
const HEADER_BYTES = MAGIC.length + 4;
const FOREIGN_QOS = 1;

interface Metadata {
  readonly qos: 0 | 1 | 2;
  readonly storedAt: number;
  readonly properties?: StoredProperties;
}

type StoredProperties = Omit<RetainedProperties, 'correlationData'> & { readonly correlationData?: string };

export function encodeRetained(message: RetainedMessage): Buffer {
  const metadata: Metadata = { qos: message.qos, storedAt: message.storedAt, ...(message.properties !== undefined && { properties: storedProperties(message.properties) }) };
  const json = Buffer.from(JSON.stringify(metadata));
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  MAGIC.copy(header, 0);
  header.writeUInt32BE(json.length, MAGIC.length);
  return Buffer.concat([header, json, message.payload]);
}

/** Throws when the value carries the prefix but not a readable message after it. */
export function decodeRetained(bytes: Buffer, topic: string): RetainedMessage {
  if (bytes.length < MAGIC.length || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) {
    return { topic, payload: bytes, qos: FOREIGN_QOS, properties: undefined, storedAt: 0 };
  }
  if (bytes.length < HEADER_BYTES) throw new Error('retained value: truncated header');
  const length = bytes.readUInt32BE(MAGIC.length);
  if (HEADER_BYTES + length > bytes.length) throw new Error('retained value: metadata longer than the value');
  const metadata = JSON.parse(bytes.subarray(HEADER_BYTES, HEADER_BYTES + length).toString('utf8')) as Partial<Metadata>;
  if (metadata.qos !== 0 && metadata.qos !== 1 && metadata.qos !== 2) throw new Error('retained value: no QoS');
  if (typeof metadata.storedAt !== 'number' || !Number.isFinite(metadata.storedAt)) throw new Error('retained value: no storedAt');
  return {
    topic,
    // A copy: the fetched buffer holds a whole batch, which a retained message would keep alive.
    payload: Buffer.from(bytes.subarray(HEADER_BYTES + length)),
    qos: metadata.qos,
    properties: metadata.properties === undefined ? undefined : readProperties(metadata.properties),
    storedAt: metadata.storedAt,
  };
}

export const retainedCodec: ValueCodec<RetainedMessage> = { encode: encodeRetained, decode: decodeRetained };

function storedProperties(p: RetainedProperties): StoredProperties {
  const { correlationData, ...rest } = p;
  return correlationData === undefined ? rest : { ...rest, correlationData: correlationData.toString('base64') };
}

function readProperties(stored: StoredProperties): RetainedProperties {
  if (typeof stored !== 'object' || stored === null) throw new Error('retained value: properties not an object');
  const { correlationData, messageExpiryInterval, ...rest } = stored;
  if (messageExpiryInterval !== undefined && (typeof messageExpiryInterval !== 'number' || !(messageExpiryInterval >= 0))) {
    throw new Error('retained value: bad messageExpiryInterval');
  }
  return {
    ...rest,
    ...(messageExpiryInterval !== undefined && { messageExpiryInterval }),
    ...(typeof correlationData === 'string' && { correlationData: Buffer.from(correlationData, 'base64') }),
  };
}
