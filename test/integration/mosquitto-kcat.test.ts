// The acceptance check with tools that share no code with the proxy: mosquitto_pub (Eclipse
// Mosquitto's C client) publishes, kcat (librdkafka) reads Kafka back.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createTopics, testBrokers, uniqueName } from '../helpers/kafka.js';
import { startProxy, waitFor, type RunningProxy } from '../helpers/proxy.js';

const TOOLS = ['mosquitto_pub', 'kcat'] as const;
const INSTALL_HINT = 'run `apt-get install mosquitto-clients kcat` (the project\'s .ci/run installs them)';

function onPath(command: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

const missing = TOOLS.filter((tool) => !onPath(tool));
const missingText = `${missing.join(' and ')} not found on PATH`;
// Missing tools fail the suite, unless the environment says on purpose that they are not there.
const skip = missing.length > 0 && process.env.MKP_SKIP_EXTERNAL_CLIENTS === '1' ? `${missingText} (MKP_SKIP_EXTERNAL_CLIENTS=1)` : false;

interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command without a shell; never rejects (the caller judges the exit code). */
function run(command: string, args: readonly string[], timeoutMs = 15000): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(command, [...args], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ code, stdout, stderr });
    });
  });
}

/** One record as `kcat -J` prints it. */
interface KcatRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  readonly payload: string | null;
  /** Flat: name, value, name, value, ... (absent when the record has none). */
  readonly headers?: readonly string[];
}

/** `kcat -C -e -o beginning -J`: the whole topic as it is now. */
async function kcatRead(topic: string): Promise<KcatRecord[]> {
  const result = await run('kcat', ['-C', '-b', testBrokers().join(','), '-t', topic, '-o', 'beginning', '-e', '-q', '-J']);
  assert.equal(result.code, 0, `kcat failed: ${result.stderr}`);
  return result.stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as KcatRecord);
}

/** Reads until at least `count` records are there (or the deadline), then once more after a pause to catch extra ones. */
async function kcatReadAtLeast(topic: string, count: number, timeoutMs = 15000): Promise<KcatRecord[]> {
  const deadline = Date.now() + timeoutMs;
  let records = await kcatRead(topic);
  while (records.length < count && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    records = await kcatRead(topic);
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
  return kcatRead(topic);
}

/** Headers as sorted `name=value` strings, so repeats count and order does not. */
function headerList(record: KcatRecord): string[] {
  const flat = record.headers ?? [];
  const list: string[] = [];
  for (let i = 0; i < flat.length; i += 2) list.push(`${flat[i]}=${flat[i + 1]}`);
  return list.sort();
}

const VERSIONS = ['mqttv311', 'mqttv5'] as const;
const QOS_LEVELS = [0, 1, 2] as const;

test('mosquitto_pub and kcat are installed', { skip }, () => {
  assert.deepEqual(missing, [], `${missingText}: ${INSTALL_HINT}, or set MKP_SKIP_EXTERNAL_CLIENTS=1 to skip these tests`);
});

// Without the tools the test above fails (or is skipped on purpose); these cannot run either way.
const suiteSkip = missing.length > 0 ? `needs ${missing.join(' and ')}` : false;

describe('mosquitto_pub publishes through the proxy, kcat reads Kafka', { skip: suiteSkip }, () => {
  const kafkaTopic = uniqueName('mosq.kcat');
  let proxy: RunningProxy;

  before(async () => {
    await createTopics([kafkaTopic]);
    proxy = await startProxy(`
mappings:
  - name: mosquitto
    match: '^mosq/(?<device>[^/]+)/data$'
    topic: ${kafkaTopic}
    key: '\${device}'
unmapped: reject
auth: { anonymous: true }
http: { port: 0 }
`);
    await waitFor(() => proxy.logs.some((l) => l.msg === 'connected to Kafka'), 20000, 'Kafka connection');
  });

  after(async () => {
    await proxy?.stop();
  });

  test('MQTT 3.1.1 and 5 at QoS 0, 1 and 2: topic, key, value and headers; user properties as headers', async () => {
    const expected: Array<{ key: string; payload: string; headers: string[] }> = [];
    for (const version of VERSIONS) {
      for (const qos of QOS_LEVELS) {
        const device = `${version}-q${qos}`;
        const mqttTopic = `mosq/${device}/data`;
        const clientId = `mosquitto-${device}`;
        // Spaces, punctuation and multi-byte UTF-8 must arrive unchanged.
        const payload = `{"device":"${device}","t":21.5,"unit":"°C ✓"}`;
        const retain = qos === 1;
        const args = ['-h', '127.0.0.1', '-p', String(proxy.port), '-V', version, '-q', String(qos), '-i', clientId, '-t', mqttTopic, '-m', payload];
        if (retain) args.push('-r');
        // The retained store is on by default, so CONNACK says Retain Available 1 and RETAIN arrives.
        const headers = [`mqtt.topic=${mqttTopic}`, `mqtt.qos=${qos}`, `mqtt.retain=${retain}`, `mqtt.client_id=${clientId}`];
        if (version === 'mqttv5') {
          args.push(
            '-D', 'publish', 'user-property', 'site', 'plant-7',
            '-D', 'publish', 'user-property', 'tag', 'a',
            '-D', 'publish', 'user-property', 'tag', 'b',
            '-D', 'publish', 'content-type', 'application/json',
          );
          headers.push('site=plant-7', 'tag=a', 'tag=b', 'mqtt.content_type=application/json');
        }
        const result = await run('mosquitto_pub', args);
        assert.equal(result.code, 0, `mosquitto_pub ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
        expected.push({ key: device, payload, headers: headers.sort() });
      }
    }

    const records = await kcatReadAtLeast(kafkaTopic, expected.length);
    assert.equal(records.length, expected.length, `one record per publish, no more: ${JSON.stringify(records)}`);
    for (const want of expected) {
      const matching = records.filter((r) => r.key === want.key);
      assert.equal(matching.length, 1, `exactly one record with key ${want.key}`);
      const record = matching[0]!;
      assert.equal(record.topic, kafkaTopic);
      assert.equal(record.payload, want.payload, `value of ${want.key}`);
      assert.deepEqual(headerList(record), want.headers, `headers of ${want.key}`);
    }
  });

  test('an unmapped topic is refused, with a reason mosquitto_pub -V mqttv5 reports, and nothing reaches Kafka', async () => {
    const before = (await kcatRead(kafkaTopic)).length;
    const result = await run('mosquitto_pub', [
      '-h', '127.0.0.1', '-p', String(proxy.port), '-V', 'mqttv5', '-q', '1', '-i', 'mosquitto-unmapped', '-t', 'nobody/maps/this', '-m', 'x',
    ], 8000);
    assert.match(`${result.stdout}${result.stderr}`, /topic name invalid/i, `mosquitto_pub printed the reason: ${result.stderr}`);
    assert.ok(
      proxy.logs.some((l) => l.reason === 'unmapped' && l.topic === 'nobody/maps/this' && l.clientId === 'mosquitto-unmapped'),
      'the proxy logged the refusal',
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal((await kcatRead(kafkaTopic)).length, before, 'no record for the refused publish');
  });
});
