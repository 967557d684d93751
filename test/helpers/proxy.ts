import { Writable } from 'node:stream';
import pino from 'pino';
import { parseConfig } from '../../src/server/load-config.js';
import type { ProxyConfig } from '../../src/config/types.js';
import { createProxy, type BoundListener, type Proxy } from '../../src/server.js';
import { testBrokers, testKafkaClient } from './kafka.js';

export interface RunningProxy {
  readonly proxy: Proxy;
  readonly config: ProxyConfig;
  readonly port: number;
  readonly url: string;
  /** Every listener, in config order, with the port it got. */
  readonly listeners: readonly BoundListener[];
  /** The admin HTTP server (/metrics, /healthz, /readyz) on an ephemeral port. */
  readonly adminUrl: string;
  /** Every log line so far, parsed (the first `maxLogs` when that option is given). */
  readonly logs: Array<Record<string, unknown>>;
  /** Log lines written, by message, including those not kept in `logs`. */
  readonly logCounts: Map<string, number>;
  stop(): Promise<void>;
}

/**
 * Starts a proxy in this process on an ephemeral port against the test cluster. `yaml` is the
 * config file body; listeners and brokers are filled in unless it sets them.
 */
export async function startProxy(
  yaml: string,
  {
    brokers = testBrokers(),
    logLevel = 'debug',
    maxLogs = Number.POSITIVE_INFINITY,
    kafkaClient = testKafkaClient().kafkaClient,
  }: {
    brokers?: readonly string[];
    logLevel?: pino.Level;
    maxLogs?: number;
    /** Replaces kafka.client; default TEST_KAFKA_CLIENT when set (see testKafkaClient), else the yaml's. */
    kafkaClient?: string;
  } = {},
): Promise<RunningProxy> {
  const config = parseConfig(yaml, 'test.yaml', { kafkaBrokers: brokers, port: 0, ...(kafkaClient !== undefined && { kafkaClient }) });
  const logs: Array<Record<string, unknown>> = [];
  const logCounts = new Map<string, number>();
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) {
        if (line.trim() === '') continue;
        const entry = JSON.parse(line) as Record<string, unknown>;
        const msg = String(entry.msg);
        logCounts.set(msg, (logCounts.get(msg) ?? 0) + 1);
        if (logs.length < maxLogs) logs.push(entry);
      }
      done();
    },
  });
  const logger = pino({ level: logLevel }, sink);
  // Ephemeral admin port whatever http.port says, so proxies in one test process never clash.
  const proxy = createProxy(config, { logger, adminPort: 0 });
  const listeners = await proxy.start();
  const [listener] = listeners;
  if (listener === undefined) throw new Error('proxy has no listener');
  return {
    proxy,
    config,
    port: listener.port,
    url: `mqtt://127.0.0.1:${listener.port}`,
    listeners,
    adminUrl: `http://127.0.0.1:${proxy.adminAddress!.port}`,
    logs,
    logCounts,
    // No readiness delay: no load balancer watches a test proxy.
    stop: () => proxy.stop({ delayMs: 0, drainTimeoutMs: 5000 }),
  };
}

/** Waits until Kafka is connected as the proxy sees it (first publishes are not then spent on connecting). */
export async function waitFor(condition: () => boolean, timeoutMs = 15000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * A configuration (without listeners or Kafka, which startProxy fills in) that maps every MQTT
 * topic to `topic`, lets anyone in and has no admin server; `extra` adds top-level YAML.
 */
export function catchAllConfig(topic: string, extra = ''): string {
  return `
mappings:
  - name: all
    match: '^(.*)$'
    topic: ${topic}
auth: { anonymous: true }
http: { port: 0 }
${extra}`;
}
