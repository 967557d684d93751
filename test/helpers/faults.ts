// What every fault test shares: the Kafka node the runner started, the proxy config, the load.
import { KafkaNode } from './processes.js';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The fault tests' own Kafka (scripts/run-fault-tests.mjs starts it). */
export function faultsKafka(): KafkaNode {
  const port = process.env.FAULTS_KAFKA_PORT;
  const dataDir = process.env.FAULTS_KAFKA_DATA_DIR;
  if (!port || !dataDir) throw new Error('FAULTS_KAFKA_PORT is not set: run the fault tests with `npm run test:faults`');
  return new KafkaNode(Number(port), dataDir);
}

/** Seconds of load before and after the fault in each scenario (env FAULTS_LOAD_SECONDS, default 5). */
export const LOAD_SECONDS = Number(process.env.FAULTS_LOAD_SECONDS ?? '5');

/**
 * The proxy config of the fault tests: one topic, keyed by device, and a 5 s produce timeout so a
 * Kafka outage turns into devices told to retransmit within the scenario.
 */
export function faultsConfig(topic: string, extra = ''): string {
  return `
mappings:
  - name: faults
    match: '^faults/(?<device>[^/]+)/data$'
    topic: ${topic}
    key: '\${device}'
kafka:
  requestTimeoutMs: 5000
  connectionTimeoutMs: 1000
auth: { anonymous: true }
http: { port: 0 }
${extra}`;
}
