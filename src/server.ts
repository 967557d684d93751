import type { ProxyConfig } from './config/types.js';
import { ConfigError } from './config/errors.js';
import { compressionProblem } from './kafka/compression.js';
import { createKafkaSink, type RecordSink } from './kafka/producer.js';
import { createTcpListener, type Listener } from './listeners/tcp.js';
import { compileRouter } from './mapping/router.js';
import { createMqttEngine, type MqttEngine } from './mqtt/engine.js';
import { ReasonCode } from './mqtt/reason-codes.js';
import { createLogger, type Logger } from './observability/logger.js';
import { createMetrics, type ProxyMetrics } from './observability/metrics.js';
import { PublishPipeline } from './pipeline/pipeline.js';

export interface BoundListener {
  readonly name: string;
  readonly protocol: string;
  readonly host: string;
  readonly port: number;
}

export interface Proxy {
  /** Connects to Kafka (in the background if it is not reachable yet) and binds every listener. */
  start(): Promise<readonly BoundListener[]>;
  /**
   * Stops accepting connections and publishes, lets records already on their way to Kafka finish
   * and their acknowledgements go out (at most `drainTimeoutMs`), then closes every client.
   */
  stop(options?: { drainTimeoutMs?: number }): Promise<void>;
  readonly logger: Logger;
  /** This proxy's Prometheus registry and metrics. */
  readonly metrics: ProxyMetrics;
  /** Produce requests sent to Kafka and the records they carried. */
  readonly kafkaSent: { readonly requests: number; readonly records: number };
}

export interface ProxyOptions {
  readonly logger?: Logger;
  /** Defaults to a new registry with Node's process metrics. */
  readonly metrics?: ProxyMetrics;
}

/** Composes the parts from a validated config. Nothing is bound or connected until `start()`. */
export function createProxy(config: ProxyConfig, options: ProxyOptions = {}): Proxy {
  const logger = options.logger ?? createLogger(config.log.level);
  const metrics = options.metrics ?? createMetrics();
  const router = compileRouter(config);
  const codec = compressionProblem(config.kafka.compression);
  if (codec !== null) throw new ConfigError([{ file: config.source, path: 'kafka.compression', problem: codec }]);
  const sink: RecordSink = createKafkaSink(config.kafka, logger.child({ component: 'kafka' }));
  const pipeline = new PublishPipeline({
    router,
    sink,
    logger,
    metrics,
    maxInflightMessages: config.limits.maxInflightMessages,
  });
  const engine: MqttEngine = createMqttEngine({
    limits: config.limits,
    logger: logger.child({ component: 'mqtt' }),
    metrics,
    hooks: {
      authenticate: () => config.auth.anonymous,
      onPublish: (session, message, reply) => pipeline.onPublish(session, message, reply),
      onConnect: (session) =>
        logger.debug({ clientId: session.clientId, remoteAddress: session.remoteAddress, listener: session.listener }, 'client connected'),
      onDisconnect: (session, reason) => logger.debug({ clientId: session.clientId, reason }, 'client disconnected'),
    },
  });
  const listeners: Listener[] = config.listeners.map((listener) =>
    createTcpListener(listener, (socket, info) => engine.handle(socket, info)),
  );

  let state: 'new' | 'started' | 'stopping' | 'stopped' = 'new';

  return {
    logger,
    metrics,
    get kafkaSent() {
      return sink.sent;
    },
    async start() {
      if (state !== 'new') throw new Error(`proxy cannot start: it is ${state}`);
      state = 'started';
      await Promise.all([sink.start(), engine.start()]);
      const bound: BoundListener[] = [];
      try {
        for (const [index, listener] of listeners.entries()) {
          const address = await listener.listen();
          const { protocol } = config.listeners[index]!;
          bound.push({ name: listener.name, protocol, host: address.address, port: address.port });
          logger.info({ listener: listener.name, host: address.address, port: address.port }, 'listening');
        }
      } catch (error) {
        await Promise.all(listeners.map((l) => l.close()));
        await sink.stop();
        throw error;
      }
      return bound;
    },
    async stop({ drainTimeoutMs = config.kafka.requestTimeoutMs + 1000 } = {}) {
      if (state === 'stopping' || state === 'stopped') return;
      state = 'stopping';
      logger.info({ inFlight: sink.inFlight }, 'stopping: no new connections or publishes');
      await Promise.all(listeners.map((l) => l.close()));
      pipeline.beginDrain();
      await sink.drain(drainTimeoutMs);
      // Acks of the drained records were written above; now say goodbye.
      await engine.disconnectAll(ReasonCode.ServerShuttingDown);
      await engine.close();
      await sink.stop();
      state = 'stopped';
      logger.info('stopped');
    },
  };
}
