/** Requests to an HTTP ingest listener with Node's fetch and with curl. */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import http from 'node:http';
import { join } from 'node:path';
import type { RunningProxy } from './proxy.js';

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Record<string, unknown>;
}

/** The base URL of the proxy's first http / https listener. */
export function ingestUrl(proxy: RunningProxy, protocol: 'http' | 'https' = 'http'): string {
  const listener = proxy.listeners.find((l) => l.protocol === protocol);
  if (listener === undefined) throw new Error(`no ${protocol} listener`);
  return `${protocol}://127.0.0.1:${listener.port}`;
}

export async function post(url: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  const response = await fetch(url, { method: 'POST', body, headers });
  const text = await response.text();
  return { status: response.status, headers: Object.fromEntries(response.headers), body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

/**
 * curl with these arguments; the answer is its body and status (`-w` adds the status and the
 * headers it was asked for on the last lines).
 */
export function curl(args: readonly string[]): Promise<HttpAnswer> {
  const dir = mkdtempSync(join(tmpdir(), 'mkp-curl-'));
  const headerFile = join(dir, 'headers');
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sS', '-D', headerFile, '-w', '\n%{http_code}', ...args], { timeout: 20000 }, (error, stdout, stderrText) => {
      const stderr = readFileSync(headerFile, 'utf8');
      rmSync(dir, { recursive: true, force: true });
      if (error !== null) {
        reject(new Error(`curl failed: ${error.message} ${stderrText}`));
        return;
      }
      const lines = stdout.split('\n');
      const status = Number(lines.pop());
      const text = lines.join('\n');
      const headers: Record<string, string> = {};
      for (const line of stderr.split('\r\n')) {
        const colon = line.indexOf(':');
        if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status, headers, body: text.trim() === '' ? {} : (JSON.parse(text) as Record<string, unknown>) });
    });
  });
}

export const basic = (username: string, password: string): string => `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;

/** POST over `agent` (node:http), e.g. one keep-alive connection for several requests. */
export function postVia(agent: http.Agent, url: string, body: string, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'POST', agent, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        const answerHeaders = Object.fromEntries(Object.entries(response.headers).map(([name, value]) => [name, String(value)]));
        resolve({ status: response.statusCode ?? 0, headers: answerHeaders, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) });
      });
    });
    request.on('error', reject);
    request.end(body);
  });
}
