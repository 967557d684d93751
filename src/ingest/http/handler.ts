/**
 * One HTTP ingest request, start to answer: limits, target, credentials, body, messages, the
 * pipeline, the JSON answer.
 */
import type http from 'node:http';
import type { AccessControl } from '../../auth/access-control.js';
import type { HttpIngestConfig } from '../../config/types.js';
import type { PublishPipeline } from '../../pipeline/pipeline.js';
import { batchStatus, type MessageAnswer } from './answers.js';
import { batchFormat, parseBatch, type HttpMessage } from './batch.js';
import { readBody } from './body.js';
import type { ConnectionCredentials } from './credentials.js';
import { openApiDocument } from './openapi.js';
import { publishAll, requestSession } from './publish.js';
import { TOPIC_HEADER, parseTarget, type Endpoint } from './request-target.js';
import { RequestLimits } from './request-limits.js';
import { sendError, sendJson, type AnswerContext, type RequestFacts } from './respond.js';

export interface HandlerContext extends AnswerContext {
  readonly config: HttpIngestConfig;
  readonly pipeline: PublishPipeline;
  readonly access: () => AccessControl;
  readonly limits: RequestLimits;
  /** True once the proxy is stopping: new requests are refused. */
  readonly draining: () => boolean;
}

export interface ConnectionFacts {
  readonly remoteAddress: string;
  readonly certificateIdentity: string | undefined;
  readonly credentials: ConnectionCredentials;
}

const WWW_AUTHENTICATE = 'Basic realm="mqtt-kafka-proxy", Bearer realm="mqtt-kafka-proxy"';

export async function handleRequest(context: HandlerContext, request: http.IncomingMessage, response: http.ServerResponse, connection: ConnectionFacts): Promise<void> {
  const facts: RequestFacts = { remoteAddress: connection.remoteAddress, method: request.method, url: request.url };
  const deadline = Date.now() + context.config.bodyTimeoutMs;
  const target = parseTarget(request.method, request.url, headerOf(request, TOPIC_HEADER));
  if (!target.ok) {
    sendError(context, response, target.error, target.message, facts, target.allow === undefined ? {} : { allow: target.allow });
    return;
  }
  if (target.endpoint.kind === 'openapi') {
    sendJson(context, response, 200, openApiDocument(), facts);
    return;
  }
  if (context.draining()) {
    sendError(context, response, 'shutting-down', 'the server is shutting down', facts, { connection: 'close' });
    return;
  }
  const admission = context.limits.admit(connection.remoteAddress);
  if (admission !== 'admitted') {
    context.metrics.limitsHit.inc({ limit: admission === 'address-full' ? 'http-requests-per-address' : 'http-requests' });
    if (admission === 'address-full') sendError(context, response, 'too-many-requests', 'too many requests in flight from this address', facts);
    else sendError(context, response, 'overloaded', 'too many requests in flight on this listener', facts);
    return;
  }
  context.metrics.httpRequestsInFlight.inc({ listener: context.listener });
  try {
    await serve(context, request, response, connection, target.endpoint, deadline, facts);
  } finally {
    context.limits.release(connection.remoteAddress);
    context.metrics.httpRequestsInFlight.dec({ listener: context.listener });
  }
}

async function serve(
  context: HandlerContext,
  request: http.IncomingMessage,
  response: http.ServerResponse,
  connection: ConnectionFacts,
  endpoint: Exclude<Endpoint, { kind: 'openapi' }>,
  deadline: number,
  facts: RequestFacts,
): Promise<void> {
  const aborted = new AbortController();
  const onClose = (): void => aborted.abort();
  response.on('close', onClose);
  try {
    const username = await authenticate(context, request, response, connection, aborted.signal, facts);
    if (username === false) return;
    if (context.pipeline.overloaded) {
      sendError(context, response, 'overloaded', 'the in-flight bound is reached: try again later', facts);
      return;
    }
    const body = await readBody(request, context.config.maxBodyBytes, deadline);
    if (!body.ok) {
      if (body.reason === 'aborted') return;
      if (body.reason === 'too-large') sendError(context, response, 'too-large', `the body is larger than ${context.config.maxBodyBytes} bytes`, facts, { connection: 'close' });
      else sendError(context, response, 'request-timeout', `the body did not arrive within ${context.config.bodyTimeoutMs} ms`, facts, { connection: 'close' });
      return;
    }
    const messages = messagesOf(context, request, endpoint, body.body);
    if ('error' in messages) {
      sendError(context, response, messages.error, messages.message, facts);
      return;
    }
    const session = requestSession({ username, remoteAddress: connection.remoteAddress, listener: context.listener, certificateIdentity: connection.certificateIdentity });
    const ready = messages.entries.filter((entry): entry is HttpMessage => !('refused' in entry));
    const answers = await publishAll(context.pipeline, session, ready, () => aborted.signal.aborted);
    let next = 0;
    const results: MessageAnswer[] = messages.entries.map((entry) => ('refused' in entry ? entry.refused : answers[next++]!));
    if (endpoint.kind === 'publish') sendJson(context, response, results[0]!.status, results[0], facts);
    else sendJson(context, response, batchStatus(results), { results }, facts);
  } finally {
    response.off('close', onClose);
  }
}

/** The authenticated username (undefined: anonymous), or false when the request was answered. */
async function authenticate(
  context: HandlerContext,
  request: http.IncomingMessage,
  response: http.ServerResponse,
  connection: ConnectionFacts,
  signal: AbortSignal,
  facts: RequestFacts,
): Promise<string | undefined | false> {
  const result = await connection.credentials.authenticate(context.access(), {
    authorization: request.headers.authorization,
    remoteAddress: connection.remoteAddress,
    listener: context.listener,
    certificateIdentity: connection.certificateIdentity,
    signal,
  });
  if (result.accepted) return result.username;
  if (result.code === 'server-busy') sendError(context, response, 'overloaded', 'too many logins at once: try again later', facts);
  else if (result.code === 'not-authorized' && result.reason !== 'anonymous-refused') sendError(context, response, 'forbidden', `not authorized: ${result.reason}`, facts);
  else sendError(context, response, 'unauthorized', result.code === 'malformed' ? result.detail : `bad credentials: ${result.reason}`, facts, { 'www-authenticate': WWW_AUTHENTICATE });
  return false;
}

type Entry = HttpMessage | { readonly refused: MessageAnswer };

function messagesOf(
  context: HandlerContext,
  request: http.IncomingMessage,
  endpoint: Exclude<Endpoint, { kind: 'openapi' }>,
  body: Buffer,
): { readonly entries: readonly Entry[] } | { readonly error: 'bad-request' | 'too-large'; readonly message: string } {
  const forwarded = forwardedHeaders(request, context.config.headers);
  const contentType = headerOf(request, 'content-type');
  if (endpoint.kind === 'publish') return { entries: [{ topic: endpoint.topic, payload: body, contentType, headers: forwarded }] };
  const format = batchFormat(contentType);
  if (format === undefined) return { error: 'bad-request', message: 'a batch is application/x-ndjson or a JSON array (application/json)' };
  const batch = parseBatch(body, format, endpoint.topic, context.config.maxBatchMessages);
  if (!batch.ok) return { error: batch.tooMany === true ? 'too-large' : 'bad-request', message: batch.message };
  return {
    entries: batch.entries.map((entry) =>
      entry.ok
        ? { ...entry.message, headers: { ...forwarded, ...entry.message.headers } }
        : { refused: { status: 400, error: 'bad-request', message: entry.message } },
    ),
  };
}

function forwardedHeaders(request: http.IncomingMessage, names: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const name of names) {
    const value = headerOf(request, name);
    if (value !== undefined) headers[name] = value;
  }
  return headers;
}

function headerOf(request: http.IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}
