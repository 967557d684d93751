// The MQTT engine alone on a TCP port of its own, with hooks the test writes (no Kafka: the engine
// knows nothing of it), and the log lines it wrote.
import net from 'node:net';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import pino from 'pino';
import { DEFAULTS } from '../../src/config/defaults.js';
import type { LimitsConfig } from '../../src/config/types.js';
import { createMqttEngine, type MqttEngine, type MqttEngineOptions } from '../../src/mqtt/engine.js';
import type { InboundPublish, MqttHooks, MqttSession, PublishReply } from '../../src/mqtt/types.js';
import { createMetrics, type ProxyMetrics } from '../../src/observability/metrics.js';

export interface Published {
  readonly session: MqttSession;
  readonly message: InboundPublish;
  readonly reply: PublishReply;
}

export interface EngineUnderTest {
  readonly engine: MqttEngine;
  readonly port: number;
  readonly metrics: ProxyMetrics;
  /** Every PUBLISH (and will) handed to onPublish, in order. */
  readonly published: Published[];
  /** Sessions as onConnect saw them, in order. */
  readonly sessions: MqttSession[];
  readonly logs: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

export interface EngineSetup {
  /** Replace or add hooks; onPublish defaults to recording the message and accepting it at once. */
  readonly hooks?: Partial<MqttHooks>;
  /** Leave every PUBLISH unanswered (the test answers through `published[i].reply`). */
  readonly holdReplies?: boolean;
  readonly limits?: Partial<LimitsConfig>;
  readonly options?: Partial<Omit<MqttEngineOptions, 'hooks' | 'limits' | 'logger' | 'metrics'>>;
}

export async function startEngine(setup: EngineSetup = {}): Promise<EngineUnderTest> {
  const published: Published[] = [];
  const sessions: MqttSession[] = [];
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const metrics = createMetrics({ collectDefault: false });
  const hooks: MqttHooks = {
    authenticate: () => ({ accepted: true, username: undefined }),
    onPublish: (session, message, reply) => {
      published.push({ session, message, reply });
      if (setup.holdReplies !== true) reply.accept();
    },
    onConnect: (session) => sessions.push(session),
    ...setup.hooks,
  };
  const engine = createMqttEngine({
    limits: { ...DEFAULTS.limits, ...setup.limits },
    logger: pino({ level: 'debug' }, sink),
    metrics,
    hooks,
    ...setup.options,
  });
  await engine.start();
  const server = net.createServer({ noDelay: true }, (socket) => engine.handle(socket, { remoteAddress: socket.remoteAddress ?? '?', listener: 'test:0' }));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  return {
    engine,
    port,
    metrics,
    published,
    sessions,
    logs,
    async close() {
      await engine.disconnectAll(0x8b);
      await engine.close();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Resolves once `condition` holds (checked every 10 ms); fails after `timeoutMs`. */
export async function until(condition: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
