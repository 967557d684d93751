/**
 * Batch bodies of HTTP ingest, pure: `application/x-ndjson` (one JSON message object per line) or
 * `application/json` (an array of them). Each message is answered on its own: one that cannot be
 * read is refused with its reason while the others go on; a body that is not a list at all is
 * refused as a whole.
 *
 * A message object: `{ "topic": "...", "payload": ..., "encoding": "utf8" | "base64",
 * "contentType": "...", "headers": { "name": "value" } }`. `topic` defaults to the request's topic;
 * a string payload is UTF-8 (or base64 with `"encoding": "base64"`); any other JSON value is
 * written as its JSON text, with content type `application/json` unless one is given; no payload
 * is an empty one.
 */
import { checkTopic } from './request-target.js';

export interface HttpMessage {
  readonly topic: string;
  readonly payload: Buffer;
  readonly contentType: string | undefined;
  /** Kafka headers the message brings, besides those the proxy adds. */
  readonly headers: Readonly<Record<string, string>>;
}

export type BatchEntry = { readonly ok: true; readonly message: HttpMessage } | { readonly ok: false; readonly message: string };

export type BatchResult =
  | { readonly ok: true; readonly entries: readonly BatchEntry[] }
  | { readonly ok: false; readonly message: string; readonly tooMany?: true };

export type BatchFormat = 'ndjson' | 'json';

const MESSAGE_KEYS = new Set(['topic', 'payload', 'encoding', 'contentType', 'headers']);
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The batch format a Content-Type names; undefined for any other. */
export function batchFormat(contentType: string | undefined): BatchFormat | undefined {
  const type = mediaType(contentType);
  if (type === 'application/x-ndjson' || type === 'application/jsonl' || type === 'application/ndjson') return 'ndjson';
  if (type === 'application/json') return 'json';
  return undefined;
}

/** `text/plain; charset=utf-8` -> `text/plain`. */
export function mediaType(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  const semicolon = contentType.indexOf(';');
  return (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
}

export function parseBatch(body: Buffer, format: BatchFormat, defaultTopic: string | undefined, maxMessages: number): BatchResult {
  const text = body.toString('utf8');
  let items: unknown[];
  if (format === 'json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      return { ok: false, message: `the body is not JSON: ${(error as Error).message}` };
    }
    if (!Array.isArray(parsed)) return { ok: false, message: 'a JSON batch is an array of message objects' };
    items = parsed;
  } else {
    items = [];
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      try {
        items.push(JSON.parse(line));
      } catch (error) {
        items.push(new LineError(`line is not JSON: ${(error as Error).message}`));
      }
    }
  }
  if (items.length === 0) return { ok: false, message: 'the batch has no messages' };
  if (items.length > maxMessages) return { ok: false, message: `the batch has ${items.length} messages; at most ${maxMessages} are taken`, tooMany: true };
  return { ok: true, entries: items.map((item) => (item instanceof LineError ? { ok: false, message: item.message } : readMessage(item, defaultTopic))) };
}

class LineError {
  constructor(readonly message: string) {}
}

function readMessage(item: unknown, defaultTopic: string | undefined): BatchEntry {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return refused('a message is a JSON object');
  const fields = item as Record<string, unknown>;
  const unknown = Object.keys(fields).find((key) => !MESSAGE_KEYS.has(key));
  if (unknown !== undefined) return refused(`unknown field ${JSON.stringify(unknown)} (fields: ${[...MESSAGE_KEYS].join(', ')})`);
  const topic = fields['topic'] ?? defaultTopic;
  if (typeof topic !== 'string') return refused(topic === undefined ? 'no topic: give "topic", or the request topic' : '"topic" must be a string');
  const topicProblem = checkTopic(topic);
  if (topicProblem !== undefined) return refused(topicProblem);
  const payload = payloadOf(fields['payload'], fields['encoding']);
  if (typeof payload === 'string') return refused(payload);
  const contentType = fields['contentType'] ?? payload.contentType;
  if (contentType !== undefined && typeof contentType !== 'string') return refused('"contentType" must be a string');
  const headers = headersOf(fields['headers']);
  if (typeof headers === 'string') return refused(headers);
  return { ok: true, message: { topic, payload: payload.bytes, contentType, headers } };
}

function payloadOf(value: unknown, encoding: unknown): { bytes: Buffer; contentType?: string } | string {
  if (encoding !== undefined && encoding !== 'utf8' && encoding !== 'base64') return '"encoding" is "utf8" or "base64"';
  if (value === undefined) return { bytes: Buffer.alloc(0) };
  if (typeof value === 'string') {
    if (encoding !== 'base64') return { bytes: Buffer.from(value, 'utf8') };
    return BASE64.test(value) ? { bytes: Buffer.from(value, 'base64') } : '"payload" is not base64';
  }
  if (encoding === 'base64') return 'a base64 payload is a string';
  return { bytes: Buffer.from(JSON.stringify(value), 'utf8'), contentType: 'application/json' };
}

function headersOf(value: unknown): Record<string, string> | string {
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  if (value === undefined) return headers;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return '"headers" is an object of strings';
  for (const [name, text] of Object.entries(value as Record<string, unknown>)) {
    if (typeof text !== 'string') return `header ${JSON.stringify(name)} must be a string`;
    headers[name] = text;
  }
  return headers;
}

function refused(message: string): BatchEntry {
  return { ok: false, message };
}
