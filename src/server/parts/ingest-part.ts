/**
 * Device -> Kafka: the MQTT engine hands each PUBLISH to the publish pipeline, which routes it,
 * produces it and answers it in arrival order, and which pauses reading from connections at the
 * in-flight bounds.
 */
import type { ProxyConfig } from '../../config/types.js';
import type { RecordSink } from '../../kafka/producer.js';
import type { ConnectionHandler } from '../../listeners/index.js';
import { createMqttEngine } from '../../mqtt/engine.js';
import { ReasonCode } from '../../mqtt/reason-codes.js';
import type { MqttHooks, MqttSession } from '../../mqtt/types.js';
import type { Logger } from '../../observability/logger.js';
import type { ProxyMetrics } from '../../observability/metrics.js';
import type { ReadSwitch } from '../../pipeline/inflight-budget.js';
import { PublishPipeline } from '../../pipeline/pipeline.js';
import { routerFor } from '../load-config.js';
import type { Part } from '../part.js';
import type { AccessPart } from './access-part.js';

export interface IngestPart extends Part {
  readonly pipeline: PublishPipeline;
  /** Serves one client connection: what the listeners hand each accepted stream to. */
  readonly onConnection: ConnectionHandler;
}

export interface IngestPartOptions {
  readonly config: ProxyConfig;
  readonly logger: Logger;
  readonly metrics: ProxyMetrics;
  readonly sink: RecordSink;
  readonly access: AccessPart;
}

export function createIngestPart(options: IngestPartOptions): IngestPart {
  const { config, logger, metrics, sink, access } = options;
  // The engine hands publishes to the pipeline and the pipeline tells the engine when to stop
  // reading a connection: the pipeline is made first, with a switch that is connected to the
  // engine as soon as that exists, before any connection can be served.
  const reads = new ReadSwitchRelay<MqttSession>();
  const pipeline = new PublishPipeline({
    router: routerFor(config),
    sink,
    logger,
    metrics,
    limits: config.limits,
    reads,
    // Through the part: a reload may replace the access control.
    authorize: (session, message) => access.current.authorizePublish(session, message.topic),
  });
  const engine = createMqttEngine({
    limits: config.limits,
    logger: logger.child({ component: 'mqtt' }),
    metrics,
    hooks: ingestHooks(pipeline, access, logger),
  });
  reads.connect({ pause: (session) => engine.pauseReading(session), resume: (session) => engine.resumeReading(session) });
  let started = false;

  return {
    name: 'ingest',
    pipeline,
    onConnection: (stream, info) => engine.handle(stream, info),
    async start() {
      await engine.start();
      started = true;
      // Said once, so an operator sees what the memory-derived defaults came to in this process.
      const { maxInflightMessages, maxInflightBytes, maxInflightPerConnection, maxInflightBytesPerConnection } = config.limits;
      logger.info({ maxInflightMessages, maxInflightBytes, maxInflightPerConnection, maxInflightBytesPerConnection }, 'in-flight bounds');
    },
    async stop({ drainTimeoutMs }) {
      pipeline.beginDrain();
      await drainRecords(sink, drainTimeoutMs, logger);
      if (!started) return;
      // The acknowledgements of the drained records went out above; now say goodbye.
      await engine.disconnectAll(ReasonCode.ServerShuttingDown);
      await engine.close();
    },
  };
}

function ingestHooks(pipeline: PublishPipeline, access: AccessPart, logger: Logger): MqttHooks {
  return {
    authenticate: async (request) => {
      const result = await access.current.authenticate(request);
      return result.accepted
        ? { accepted: true, username: result.username, ...(result.expiresAt !== undefined && { expiresAt: result.expiresAt }) }
        : { accepted: false, code: result.code, reason: result.reason };
    },
    onPublish: (session, message, reply) => pipeline.onPublish(session, message, reply),
    onConnect: (session) => {
      pipeline.attach(session);
      logger.debug({ clientId: session.clientId, remoteAddress: session.remoteAddress, listener: session.listener }, 'client connected');
    },
    onDisconnect: (session, reason) =>
      logger.debug({ clientId: session.clientId, remoteAddress: session.remoteAddress, listener: session.listener, reason }, 'client disconnected'),
    onClosed: (session) => pipeline.detach(session),
  };
}

/** Waits (at most `timeoutMs`) for the records on their way to Kafka, so their acknowledgements go out. */
async function drainRecords(sink: RecordSink, timeoutMs: number, logger: Logger): Promise<void> {
  await sink.drain(timeoutMs);
  const unanswered = sink.inFlight;
  if (unanswered > 0) {
    // Not a loss: none of these was acknowledged, so their clients send them again elsewhere.
    logger.warn({ unanswered, timeoutMs }, 'drain timed out: records still unanswered by Kafka are not acknowledged; their clients will retransmit');
  }
}

/** A ReadSwitch whose target is connected once, after the switch was handed out. */
class ReadSwitchRelay<C> implements ReadSwitch<C> {
  private target: ReadSwitch<C> | undefined;

  connect(target: ReadSwitch<C>): void {
    if (this.target !== undefined) throw new Error('the read switch is connected already');
    this.target = target;
  }

  pause(connection: C): void {
    this.connected().pause(connection);
  }

  resume(connection: C): void {
    this.connected().resume(connection);
  }

  private connected(): ReadSwitch<C> {
    if (this.target === undefined) throw new Error('the read switch is not connected yet');
    return this.target;
  }
}
