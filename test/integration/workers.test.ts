// --workers N: N proxy processes sharing the listener through node:cluster; SIGTERM to the primary
// drains every worker and exits 0.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import mqtt from 'mqtt';
import { availableMemoryBytes, inflightDefaults } from '../../src/config/memory.js';
import { createTopics, readRecords, testBrokers, testKafkaClient, uniqueName } from '../helpers/kafka.js';

const BIN = join(import.meta.dirname, '../../../bin/mqtt-kafka-proxy');

function childrenOf(pid: number): number[] {
  const out = execFileSync('sh', ['-c', `pgrep -P ${pid} || true`]).toString().trim();
  return out === '' ? [] : out.split('\n').map(Number);
}

describe('--workers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mkp-workers-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('two workers share the listener, every publish is acknowledged and produced, SIGTERM exits 0', async () => {
    const topic = uniqueName('mkp-workers');
    await createTopics([topic]);
    const file = join(dir, 'workers.yaml');
    writeFileSync(
      file,
      `listeners: [{ protocol: tcp, host: 127.0.0.1, port: 0 }]\nauth: { anonymous: true }\nhttp: { port: 0 }\n` +
        `mappings: [{ name: all, match: '^w/(.+)$', topic: ${topic}, key: '$1' }]\n`,
    );
    const client = testKafkaClient().kafkaClient;
    const args = [BIN, '--config', file, '--workers', '2', '--kafka-brokers', testBrokers().join(','), ...(client ? ['--kafka-client', client] : [])];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: Array<Record<string, unknown>> = [];
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        lines.push(JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>);
        buffered = buffered.slice(nl + 1);
      }
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 20000;
    while (lines.filter((l) => l.msg === 'connected to Kafka').length < 2 || lines.filter((l) => l.msg === 'listening').length < 2) {
      assert.ok(Date.now() < deadline, `two workers did not start: ${JSON.stringify(lines)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const ports = new Set(lines.filter((l) => l.msg === 'listening').map((l) => l.port));
    assert.equal(ports.size, 1, 'the workers share one port');
    const workers = childrenOf(child.pid!);
    assert.equal(workers.length, 2);
    // The limits are not set in the file: each worker takes half the memory for its default bounds.
    const bounds = lines.filter((l) => l.msg === 'in-flight bounds');
    const half = inflightDefaults(availableMemoryBytes(), 2);
    assert.equal(bounds.length, 2);
    for (const line of bounds) {
      assert.deepEqual([line.maxInflightBytes, line.maxInflightMessages], [half.maxInflightBytes, half.maxInflightMessages]);
    }

    const clients = await Promise.all(Array.from({ length: 8 }, () => mqtt.connectAsync(`mqtt://127.0.0.1:${[...ports][0]}`, { protocolVersion: 5 })));
    await Promise.all(clients.flatMap((client, c) => Array.from({ length: 10 }, (_, i) => client.publishAsync(`w/${c}-${i}`, `m${c}-${i}`, { qos: 1 }))));
    await Promise.all(clients.map((client) => client.endAsync()));
    const records = await readRecords(topic, 80);
    assert.equal(records.length, 80);

    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    for (const pid of workers) assert.throws(() => process.kill(pid, 0), 'worker is gone');
  });

  test('--workers 0 is a usage error', () => {
    const result = spawnSyncCode([BIN, '--config', 'x.yaml', '--workers', '0']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--workers: expected a number of processes from 1 to 256, got "0"/);
  });
});

function spawnSyncCode(args: string[]): { code: number; stderr: string } {
  try {
    execFileSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    return { code: 0, stderr: '' };
  } catch (error) {
    const e = error as { status: number; stderr: Buffer };
    return { code: e.status, stderr: e.stderr.toString() };
  }
}
