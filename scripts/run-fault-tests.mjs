#!/usr/bin/env node
// `npm run test:faults`: tests that break things for real (Kafka stopped, frozen and restarted,
// proxies killed, a load balancer failing over). They need a Kafka node of their own, started
// here with scripts/kafka-dev on FAULTS_KAFKA_PORT (default 29200, controller port + 1) and
// removed afterwards. The 3-broker test starts its own cluster on CLUSTER_KAFKA_PORT (default
// FAULTS_KAFKA_PORT + 100, six ports from there). Arguments: test files to run (default: all of
// dist/test/faults/).
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { runNodeTests, testFiles } from './test-files.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const kafkaDev = path.join(root, 'scripts', 'kafka-dev');
const port = Number(process.env.FAULTS_KAFKA_PORT ?? '29200');
const kafkaEnv = {
  ...process.env,
  KAFKA_PORT: String(port),
  KAFKA_CONTROLLER_PORT: String(port + 1),
  KAFKA_DATA_DIR: process.env.FAULTS_KAFKA_DATA_DIR ?? path.join(process.env.TMPDIR ?? '/tmp', `mkp-faults-kafka-${port}`),
};

// Start from empty storage so every run sees the same cluster.
spawnSync(kafkaDev, ['stop', '--clean'], { env: kafkaEnv, stdio: ['ignore', 'ignore', 'inherit'] });
execFileSync(kafkaDev, ['start'], { env: kafkaEnv, stdio: ['ignore', 'pipe', 'inherit'] });
process.on('exit', () => {
  // FAULTS_KEEP_KAFKA=1 leaves the broker and its data for a look after a failure.
  if (process.env.FAULTS_KEEP_KAFKA !== '1') spawnSync(kafkaDev, ['stop', '--clean'], { env: kafkaEnv, stdio: ['ignore', 'ignore', 'inherit'] });
});
console.log(`fault tests use their own Kafka at 127.0.0.1:${port} (data in ${kafkaEnv.KAFKA_DATA_DIR})`);

const targets = process.argv.slice(2);
const result = runNodeTests(testFiles(targets.length > 0 ? targets : ['dist/test/faults/'], root), {
  cwd: root,
  env: {
    ...process.env,
    FAULTS_KAFKA_PORT: String(port),
    FAULTS_KAFKA_DATA_DIR: kafkaEnv.KAFKA_DATA_DIR,
    CLUSTER_KAFKA_PORT: process.env.CLUSTER_KAFKA_PORT ?? String(port + 100),
    KAFKA_BROKERS: `127.0.0.1:${port}`,
    BACKPRESSURE_SECONDS: process.env.BACKPRESSURE_SECONDS ?? '60',
  },
});
process.exitCode = result.status ?? 1;
