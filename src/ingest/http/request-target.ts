/**
 * What an HTTP ingest request asks for, from its method, path and `MQTT-Topic` header. Pure.
 *
 * `POST /publish/{topic}`: the path after `/publish/` is the MQTT topic, percent-decoded as UTF-8
 * (`%2F` and `/` both stand for a level separator). A topic that an HTTP client or proxy might
 * rewrite in a path (empty levels `a//b`, a trailing `/`, `.` or `..` levels, `?`, `#`, `%`) is
 * sent percent-encoded, or in the `MQTT-Topic` header (also percent-decoded) with `POST /publish`.
 * `POST /batch` and `POST /batch/{topic}`: a batch; the path or header topic is the default for
 * messages that name none. `GET /openapi.json`: the OpenAPI document.
 */
import { topicRefusal } from '../../mqtt/handlers/publish-rules.js';

export type Endpoint =
  | { readonly kind: 'publish'; readonly topic: string }
  | { readonly kind: 'batch'; readonly topic: string | undefined }
  | { readonly kind: 'openapi' };

/** Why a request is refused before its body is read. */
export interface TargetRefusal {
  readonly status: 400 | 404 | 405;
  readonly error: 'bad-topic' | 'not-found' | 'method-not-allowed';
  readonly message: string;
  /** 405: the methods the path takes. */
  readonly allow?: string;
}

export type TargetResult = { readonly ok: true; readonly endpoint: Endpoint } | ({ readonly ok: false } & TargetRefusal);

export const TOPIC_HEADER = 'mqtt-topic';

export function parseTarget(method: string | undefined, url: string | undefined, topicHeader: string | undefined): TargetResult {
  const path = pathOf(url ?? '/');
  if (path === '/openapi.json') {
    return method === 'GET' || method === 'HEAD' ? { ok: true, endpoint: { kind: 'openapi' } } : notAllowed('GET');
  }
  const kind = path === '/publish' || path.startsWith('/publish/') ? 'publish' : path === '/batch' || path.startsWith('/batch/') ? 'batch' : undefined;
  if (kind === undefined) return { ok: false, status: 404, error: 'not-found', message: 'no such endpoint: POST /publish/{topic}, POST /batch, GET /openapi.json' };
  if (method !== 'POST') return notAllowed('POST');
  const inPath = path.slice(kind.length + 2);
  const fromPath = path.length > kind.length + 1 ? inPath : undefined;
  if (fromPath !== undefined && fromPath !== '' && topicHeader !== undefined) {
    return badTopic(`the topic is given twice: in the path and in the ${TOPIC_HEADER} header`);
  }
  const raw = fromPath !== undefined && fromPath !== '' ? fromPath : topicHeader;
  if (raw === undefined) {
    if (kind === 'batch') return { ok: true, endpoint: { kind, topic: undefined } };
    return badTopic(`no topic: POST /publish/{topic} or the ${TOPIC_HEADER} header`);
  }
  const topic = decodeTopic(raw);
  if (typeof topic !== 'string') return topic;
  return { ok: true, endpoint: kind === 'publish' ? { kind, topic } : { kind, topic } };
}

/** Percent-decodes and checks a topic name as an MQTT PUBLISH topic is checked. */
export function decodeTopic(raw: string): string | ({ readonly ok: false } & TargetRefusal) {
  let topic: string;
  try {
    topic = decodeURIComponent(raw);
  } catch {
    return badTopic('the topic is not valid percent-encoded UTF-8');
  }
  const problem = checkTopic(topic);
  return problem === undefined ? topic : badTopic(problem);
}

/** The MQTT rules for a PUBLISH topic name; undefined when the topic may be published to. */
export function checkTopic(topic: string): string | undefined {
  const refusal = topicRefusal(topic);
  return refusal === undefined ? undefined : `invalid MQTT topic: ${refusal.reason}`;
}

function badTopic(message: string): { readonly ok: false } & TargetRefusal {
  return { ok: false, status: 400, error: 'bad-topic', message };
}

function notAllowed(allow: string): { readonly ok: false } & TargetRefusal {
  return { ok: false, status: 405, error: 'method-not-allowed', message: `use ${allow} here`, allow };
}

function pathOf(url: string): string {
  const end = url.search(/[?#]/);
  return end === -1 ? url : url.slice(0, end);
}
