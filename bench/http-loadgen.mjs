// HTTP ingest load generator: keep-alive connections, each with one request outstanding at a time
// (HTTP/1.1 has no pipelining here), single messages or NDJSON batches. Talks to the harness on
// stdout like loadgen.mjs: MEASURE_START, MEASURE_END, RESULT {json}. Messages count as acked when
// answered 200 (a batch: per message) inside the measured window.
// Usage: node bench/http-loadgen.mjs '<json options>' (see DEFAULTS).
import http from 'node:http';
import { performance } from 'node:perf_hooks';

const DEFAULTS = { host: '127.0.0.1', port: 8080, connections: 10, batch: 1, payloadSize: 100, warmupMs: 1000, durationMs: 5000, clientPrefix: 'http' };
const opts = { ...DEFAULTS, ...JSON.parse(process.argv[2] ?? '{}') };
const say = (line) => process.stdout.write(`${line}\n`);
const agent = new http.Agent({ keepAlive: true, maxSockets: opts.connections });
const stats = { sent: 0, acked: 0, errors: 0, requests: 0 };
const measure = { start: 0, end: 0 };
let running = true;

function bodyFor(device) {
  const payload = 'x'.repeat(opts.payloadSize);
  if (opts.batch <= 1) return { path: `/publish/devices/${device}/telemetry`, body: Buffer.from(payload), type: 'application/octet-stream' };
  const line = `${JSON.stringify({ topic: `devices/${device}/telemetry`, payload })}\n`;
  return { path: '/batch', body: Buffer.from(line.repeat(opts.batch)), type: 'application/x-ndjson' };
}

function post({ path, body, type }) {
  return new Promise((resolve) => {
    const request = http.request({ host: opts.host, port: opts.port, path, method: 'POST', agent, headers: { 'content-type': type, 'content-length': body.length } }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode, text: Buffer.concat(chunks).toString() }));
    });
    request.on('error', () => resolve({ status: 0, text: '' }));
    request.end(body);
  });
}

function writtenIn(answer) {
  if (answer.status === 200) return opts.batch;
  if (answer.status !== 207) return 0;
  return JSON.parse(answer.text).results.filter((r) => r.status === 200).length;
}

async function connection(index) {
  const request = bodyFor(`${opts.clientPrefix}-${index}`);
  while (running) {
    stats.sent += opts.batch;
    stats.requests++;
    const answer = await post(request);
    const written = writtenIn(answer);
    if (written < opts.batch) stats.errors++;
    const now = performance.now();
    if (now >= measure.start && now <= measure.end) stats.acked += written;
  }
}

const t0 = performance.now();
measure.start = t0 + opts.warmupMs;
measure.end = measure.start + opts.durationMs;
setTimeout(() => say('MEASURE_START'), opts.warmupMs);
const loops = Array.from({ length: opts.connections }, (_, i) => connection(i));
await new Promise((resolve) => setTimeout(resolve, opts.warmupMs + opts.durationMs));
say('MEASURE_END');
running = false;
await Promise.all(loops);
const seconds = opts.durationMs / 1000;
say(`RESULT ${JSON.stringify({ mode: 'http', connections: opts.connections, batch: opts.batch, payloadSize: opts.payloadSize, sent: stats.sent, requests: stats.requests, acked: stats.acked, ackedRate: stats.acked / seconds, errors: stats.errors })}`);
agent.destroy();
