import { Writable } from 'node:stream';
import pino from 'pino';
import { parseConfig } from '../../src/config/load.js';
import type { ProxyConfig } from '../../src/config/types.js';
import { createProxy, type BoundListener, type Proxy } from '../../src/server.js';
import { testBrokers } from './kafka.js';

export interface RunningProxy {
  readonly proxy: Proxy;
  readonly config: ProxyConfig;
  readonly port: number;
  readonly url: string;
  /** Every listener, in config order, with the port it got. */
  readonly listeners: readonly BoundListener[];
  /** The admin HTTP server (/metrics, /healthz, /readyz) on an ephemeral port. */
  readonly adminUrl: string;
  /** Every log line so far, parsed. */
  readonly logs: Array<Record<string, unknown>>;
  stop(): Promise<void>;
}

/**
 * Starts a proxy in this process on an ephemeral port against the test cluster. `yaml` is the
 * config file body; listeners and brokers are filled in unless it sets them.
 */
export async function startProxy(yaml: string, { brokers = testBrokers() }: { brokers?: readonly string[] } = {}): Promise<RunningProxy> {
  const config = parseConfig(yaml, 'test.yaml', { kafkaBrokers: brokers, port: 0 });
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = pino({ level: 'debug' }, sink);
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
