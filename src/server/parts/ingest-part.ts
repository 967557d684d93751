/**
 * Device -> Kafka: the MQTT engine hands each PUBLISH to the publish pipeline, which routes it,
 * produces it and answers it in arrival order, and which pauses reading from connections at the
 * in-flight bounds. The engine is the MQTT part's; this part brings the hooks and, once the engine
 * exists, is told how to pause and resume reading from it.
 */
import type { ProxyConfig } from '../../config/types.js';
import type { RecordSink } from '../../kafka/producer.js';
import { INGEST_ONLY_CAPABILITIES, type ServerCapabilities } from '../../mqtt/capabilities.js';
import type { MqttEngine } from '../../mqtt/engine.js';
import type { MqttHooks, MqttSession } from '../../mqtt/types.js';
import type { Logger } from '../../observability/logger.js';
import type { ProxyMetrics } from '../../observability/metrics.js';
import type { ReadSwitch } from '../../pipeline/inflight-budget.js';
import type { RetainedStore } from '../../state/retained-store.js';
import { PublishPipeline } from '../../pipeline/pipeline.js';
import { routerFor } from '../load-config.js';
import type { Part } from '../part.js';
import type { AccessPart } from './access-part.js';

export interface IngestPart extends Part {
  readonly pipeline: PublishPipeline;
  /** Authentication, PUBLISH and the connection events, for the engine. */
  readonly hooks: MqttHooks;
  /** The engine the hooks serve: the pipeline pauses and resumes reading through it. Once, before any connection. */
  attach(engine: Pick<MqttEngine, 'pauseReading' | 'resumeReading'>): void;
}

export interface IngestPartOptions {
  readonly config: ProxyConfig;
  readonly logger: Logger;
  readonly metrics: ProxyMetrics;
  readonly sink: RecordSink;
  readonly access: AccessPart;
  /** Where a PUBLISH with RETAIN 1 is also written; undefined: retained messages are off. */
  readonly retained: RetainedStore | undefined;
}

export function createIngestPart(options: IngestPartOptions): IngestPart {
  const { config, logger, metrics, sink, access, retained } = options;
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
    ...(retained !== undefined && { retained }),
  });

  return {
    name: 'ingest',
    pipeline,
    hooks: ingestHooks(pipeline, access, logger, retained !== undefined),
    attach(engine) {
      reads.connect({ pause: (session) => engine.pauseReading(session), resume: (session) => engine.resumeReading(session) });
    },
    start() {
      // Said once, so an operator sees what the memory-derived defaults came to in this process.
      const { maxInflightMessages, maxInflightBytes, maxInflightPerConnection, maxInflightBytesPerConnection } = config.limits;
      logger.info({ maxInflightMessages, maxInflightBytes, maxInflightPerConnection, maxInflightBytesPerConnection }, 'in-flight bounds');
      return Promise.resolve();
    },
    async stop({ drainTimeoutMs }) {
      // The MQTT part stops after this one: the acknowledgements of the drained records go out
      // before the clients are told goodbye.
      pipeline.beginDrain();
      await drainRecords(sink, drainTimeoutMs, logger);
    },
  };
}

function ingestHooks(pipeline: PublishPipeline, access: AccessPart, logger: Logger, retains: boolean): MqttHooks {
  // Retained PUBLISHes are stored whether or not this replica serves subscribers (another may):
  // MQTT 5 clients are told so, as 3.1.1 clients, who cannot be told, are served.
  const capabilities: ServerCapabilities = Object.freeze({ ...INGEST_ONLY_CAPABILITIES, retainAvailable: retains });
  return {
    capabilities: () => capabilities,
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
