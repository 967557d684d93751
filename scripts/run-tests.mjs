#!/usr/bin/env node
// `npm test`: unit and integration tests against a real Kafka. When KAFKA_BROKERS is unset, a
// single-node Kafka is started with scripts/kafka-dev on a port of its own and stopped afterwards.
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { runNodeTests, testFiles } from './test-files.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const kafkaDev = path.join(root, 'scripts', 'kafka-dev');
const env = { ...process.env };
let startedKafka = false;

// --kafka-version=X: every broker of the run (this one and the outage test's) is Kafka X, on ports
// and in a data dir of its own, so a run against another version can go on next to a default run.
const args = process.argv.slice(2);
const versionArg = args.find((arg) => arg.startsWith('--kafka-version='));
const kafkaVersion = versionArg?.slice('--kafka-version='.length);
if (kafkaVersion !== undefined) {
  if (!/^[0-9][0-9A-Za-z.+-]*$/.test(kafkaVersion)) throw new Error(`--kafka-version: not a version: ${kafkaVersion}`);
  env.KAFKA_VERSION = kafkaVersion;
  env.TEST_KAFKA_PORT ??= '29094';
  env.TEST_KAFKA_DATA_DIR ??= path.join(env.TMPDIR ?? '/tmp', `mqtt-kafka-proxy-test-kafka-${kafkaVersion}`);
  env.OUTAGE_KAFKA_PORT ??= '29194';
  env.SASL_KAFKA_PORT ??= '29296';
}

if (!env.KAFKA_BROKERS) {
  const kafkaEnv = {
    ...env,
    KAFKA_PORT: env.TEST_KAFKA_PORT ?? '29092',
    KAFKA_CONTROLLER_PORT: String(Number(env.TEST_KAFKA_PORT ?? '29092') + 1),
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
console.log(
  `tests use Kafka${kafkaVersion === undefined ? '' : ` ${kafkaVersion}`} at ${env.KAFKA_BROKERS}${startedKafka ? ' (started for this run)' : ''}`,
);

const suites = args.filter((arg) => !arg.startsWith('--kafka-version='));
const targets = suites.length > 0 ? suites : ['dist/test/unit/', 'dist/test/integration/', 'dist/test/conformance/', 'dist/test/fuzz/'];
const result = runNodeTests(testFiles(targets, root), { cwd: root, env });
process.exitCode = result.status ?? 1;
