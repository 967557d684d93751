#!/usr/bin/env node
// `npm test`: unit and integration tests against a real Kafka. When KAFKA_BROKERS is unset, a
// single-node Kafka is started with scripts/kafka-dev on a port of its own and stopped afterwards.
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const kafkaDev = path.join(root, 'scripts', 'kafka-dev');
const env = { ...process.env };
let startedKafka = false;

if (!env.KAFKA_BROKERS) {
  const kafkaEnv = {
    ...env,
    KAFKA_PORT: env.TEST_KAFKA_PORT ?? '29092',
    KAFKA_DATA_DIR: env.TEST_KAFKA_DATA_DIR ?? path.join(env.TMPDIR ?? '/tmp', 'mqtt-kafka-proxy-test-kafka'),
  };
  // Start from empty storage so every run sees the same cluster.
  spawnSync(kafkaDev, ['stop', '--clean'], { env: kafkaEnv, stdio: ['ignore', 'ignore', 'inherit'] });
  const out = execFileSync(kafkaDev, ['start'], { env: kafkaEnv, stdio: ['ignore', 'pipe', 'inherit'] });
  env.KAFKA_BROKERS = out.toString().trim().split('\n').pop();
  startedKafka = true;
  process.on('exit', () => {
    spawnSync(kafkaDev, ['stop', '--clean'], { env: kafkaEnv, stdio: ['ignore', 'ignore', 'inherit'] });
  });
}
console.log(`tests use Kafka at ${env.KAFKA_BROKERS}${startedKafka ? ' (started for this run)' : ''}`);

const suites = process.argv.slice(2);
const targets = suites.length > 0 ? suites : ['dist/test/unit/', 'dist/test/integration/'];
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...targets], {
  cwd: root,
  env,
  stdio: 'inherit',
});
process.exitCode = result.status ?? 1;
