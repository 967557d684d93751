/** Writing JSON answers; each request is answered once, its status counted and every 5xx logged. */
import type http from 'node:http';
import type { Logger } from 'pino';
import type { ProxyMetrics } from '../../observability/metrics.js';
import { retryLater, type ErrorCode, failure } from './answers.js';

export interface AnswerContext {
  readonly listener: string;
  readonly logger: Logger;
  readonly metrics: ProxyMetrics;
  readonly retryAfterSeconds: number;
}

export interface RequestFacts {
  readonly remoteAddress: string;
  readonly method: string | undefined;
  readonly url: string | undefined;
}

export function sendJson(
  context: AnswerContext,
  response: http.ServerResponse,
  status: number,
  body: unknown,
  facts: RequestFacts,
  headers: Readonly<Record<string, string>> = {},
): void {
  if (response.headersSent || response.destroyed) return;
  const text = JSON.stringify(body);
  const extra: Record<string, string> = { ...headers };
  if (retryLater(status) || (status === 207 && hasRetryLater(body))) extra['retry-after'] = String(context.retryAfterSeconds);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...extra });
  response.end(text);
  context.metrics.httpRequests.inc({ listener: context.listener, status: String(status) });
  if (status >= 500) logServerError(context, status, body, facts);
}

export function sendError(
  context: AnswerContext,
  response: http.ServerResponse,
  error: ErrorCode,
  message: string,
  facts: RequestFacts,
  headers: Readonly<Record<string, string>> = {},
): void {
  const answer = failure(error, message);
  sendJson(context, response, answer.status, answer, facts, headers);
}

function hasRetryLater(body: unknown): boolean {
  const results = (body as { results?: ReadonlyArray<{ status: number }> }).results;
  return results?.some((result) => retryLater(result.status)) === true;
}

/** Every 5xx names its cause: Kafka unavailable, the in-flight bound, shutting down... */
function logServerError(context: AnswerContext, status: number, body: unknown, facts: RequestFacts): void {
  const { error, message } = body as { error?: string; message?: string };
  context.logger.warn({ status, error, cause: message, remoteAddress: facts.remoteAddress, method: facts.method, url: facts.url }, `HTTP ingest answered ${status}: ${message ?? error}`);
}
