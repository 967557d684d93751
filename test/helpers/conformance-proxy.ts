// The proxy the conformance tests talk to (in this process, against the test Kafka), and a probe
// that says what reached Kafka.
import { createTopics, readRecords, uniqueName, type ReadRecord } from './kafka.js';
import { clientIdFor, connected, type ConnackPacket } from './conformance.js';
import { publish } from './mqtt-bytes.js';
import { startProxy, waitFor, type RunningProxy } from './proxy.js';

/** limits.maxPacketSize of the conformance proxy: small, so "too large" costs little to send. */
export const MAX_PACKET_SIZE = 4096;
/** Kafka topics for KafkaProbe, made before the proxy starts (enough for one test file). */
const PROBE_POOL_SIZE = 40;
const probePool: string[] = [];

/** limits.maxClientIdLength of the conformance proxy. */
export const MAX_CLIENT_ID_LENGTH = 64;

/**
 * Topics under `count/<kafka topic>/` go to that Kafka topic (tests make one each, to count records);
 * topics under `unmapped/` match no rule and are refused (`unmapped: reject`); everything else goes
 * to one catch-all topic.
 */
export async function startConformanceProxy(extraYaml = ''): Promise<RunningProxy> {
  watchForCrashes();
  const catchAll = uniqueName('conformance');
  // Made before the proxy starts, so its first topic listing knows them (it lists at most every 2 s).
  const probes = Array.from({ length: PROBE_POOL_SIZE }, () => uniqueName('conf-probe'));
  probePool.push(...probes);
  await createTopics([catchAll, ...probes]);
  const proxy = await startProxy(
    `
mappings:
  - name: counted
    match: '^count/(?<kafka>[^/]+)/'
    topic: '\${kafka}'
  - name: all
    match: '^(?!unmapped/)'
    topic: ${catchAll}
unmapped: reject
auth: { anonymous: true }
http: { port: 0 }
limits: { maxPacketSize: ${MAX_PACKET_SIZE}, maxClientIdLength: ${MAX_CLIENT_ID_LENGTH}, connectTimeoutSeconds: 5 }
${extraYaml}`,
    { logLevel: 'info', maxLogs: 5000 },
  );
  await waitFor(() => proxy.proxy.kafka.connected, 20000, 'Kafka connection');
  return proxy;
}

/** What a fresh MQTT 5 connection is told in CONNACK (capabilities, limits). */
export async function serverConnack(port: number): Promise<ConnackPacket> {
  const { client, connack } = await connected(port, 5, clientIdFor('caps'));
  client.destroy();
  return connack;
}

/**
 * A Kafka topic of one test's own, and the MQTT topics that are mapped to it. `records(n)` says what
 * reached it: it first publishes a sentinel (QoS 1, from a new connection, after everything the test
 * sent), reads until the sentinel arrived and a little longer, and returns the records before it. A
 * record the proxy should not have produced would have been produced before the sentinel.
 */
export class KafkaProbe {
  private constructor(
    readonly kafkaTopic: string,
    private readonly port: number,
  ) {}

  /** `label` names a topic made when the pool made before the proxy started is used up. */
  static async create(port: number, label: string): Promise<KafkaProbe> {
    const pooled = probePool.shift();
    if (pooled !== undefined) return new KafkaProbe(pooled, port);
    const kafkaTopic = uniqueName(`conf-${label}`);
    await createTopics([kafkaTopic]);
    // The proxy refuses records for topics it has not listed yet; it lists again at most every 2 s.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    return new KafkaProbe(kafkaTopic, port);
  }

  /** An MQTT topic name the proxy maps to this probe's Kafka topic. */
  topic(suffix = 'm'): string {
    return `count/${this.kafkaTopic}/${suffix}`;
  }

  async records(expected: number): Promise<ReadRecord[]> {
    const sentinel = this.topic('sentinel');
    const { client } = await connected(this.port, 5, clientIdFor('sentinel'));
    client.send(publish({ topic: sentinel, qos: 1, packetId: 1, payload: 'sentinel' }, 5));
    const puback = await client.waitFor('puback', 'PUBACK of the sentinel', 10000);
    client.destroy();
    const code = (puback as { reasonCode?: number }).reasonCode ?? 0;
    if (code !== 0) throw new Error(`the sentinel PUBLISH to ${this.kafkaTopic} was refused with 0x${code.toString(16)}`);
    const all = await readRecords(this.kafkaTopic, expected + 1, { timeoutMs: 20000, settleMs: 500 });
    const index = all.findIndex((r) => r.headers['mqtt.topic']?.toString() === sentinel);
    if (index === -1) throw new Error(`the sentinel did not reach ${this.kafkaTopic} (read ${all.length} records)`);
    return all.filter((r) => r.headers['mqtt.topic']?.toString() !== sentinel);
  }
}

const crashes: string[] = [];
let watching = false;

/**
 * The proxy runs in this process: an exception it throws from a socket or timer callback would only
 * be a note in node:test's output. Recorded here, it fails the test that was running (see assertNoCrash).
 */
function watchForCrashes(): void {
  if (watching) return;
  watching = true;
  process.on('uncaughtException', (error) => crashes.push(`uncaught exception: ${error.stack ?? String(error)}`));
  process.on('unhandledRejection', (reason) => crashes.push(`unhandled rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`));
}

/** For afterEach: fails when the proxy threw an uncaught exception or left a rejection unhandled since the last call. */
export async function assertNoCrash(): Promise<void> {
  // Give an exception thrown by the test's last packets (a will published on close) time to surface.
  await new Promise((resolve) => setTimeout(resolve, 20));
  const found = crashes.splice(0);
  if (found.length > 0) throw new Error(`the proxy crashed (a real process would have died):\n${found.join('\n')}`);
}
