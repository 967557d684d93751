// The package as an embedder sees it: `import { createProxy } from 'mqtt-kafka-proxy'` from another
// project (a temporary one with the package linked into its node_modules), typed and runnable.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { ROOT } from '../helpers/cli.js';
import { createTopics, readRecords, testBrokers, uniqueName } from '../helpers/kafka.js';

let project: string;

before(() => {
  project = mkdtempSync(join(tmpdir(), 'mkp-embed-'));
  mkdirSync(join(project, 'node_modules'));
  symlinkSync(ROOT, join(project, 'node_modules', 'mqtt-kafka-proxy'), 'dir');
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'embedder', type: 'module', private: true }));
});
after(() => rmSync(project, { recursive: true, force: true }));

describe("import { createProxy } from 'mqtt-kafka-proxy'", () => {
  it('type-checks against the published types (config fields are typed, not any)', () => {
    writeFileSync(
      join(project, 'embed.ts'),
      `import { createProxy, parseConfig, ConfigError, type Proxy, type ProxyConfig, type ReloadResult } from 'mqtt-kafka-proxy';
const config: ProxyConfig = parseConfig('mappings: [{ name: a, match: a, topic: a }]\\nauth: { anonymous: true }\\n', 'inline.yaml');
const port: number = config.http.port;
const proxy: Proxy = createProxy(config, { adminPort: 0 });
export async function run(): Promise<ReloadResult> {
  await proxy.start();
  const result = await proxy.reload(config);
  await proxy.stop({ delayMs: 0, drainTimeoutMs: 1000 });
  return result;
}
export const isConfigError = (e: unknown): boolean => e instanceof ConfigError;
// @ts-expect-error http.port is a number
export const wrong: ProxyConfig['http'] = { port: 'x', host: 'h' };
// @ts-expect-error the config is read-only
config.http.port = port + 1;
`,
    );
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', noEmit: true, skipLibCheck: true, types: [] },
        files: ['embed.ts'],
      }),
    );
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = spawnSync(process.execPath, [tsc, '-p', join(project, 'tsconfig.json')], { encoding: 'utf8', cwd: project });
    assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
  });

  it('starts a proxy that takes MQTT publishes into Kafka, and stops it', { timeout: 60000 }, async () => {
    const topic = uniqueName('embed');
    await createTopics([topic]);
    writeFileSync(
      join(project, 'run.mjs'),
      `import { createProxy, parseConfig } from 'mqtt-kafka-proxy';
const config = parseConfig(process.env.CONFIG, 'embedded.yaml');
const proxy = createProxy(config, { adminPort: 0 });
const [listener] = await proxy.start();
while (!proxy.readiness().ready) await new Promise((r) => setTimeout(r, 50));
console.log(JSON.stringify({ port: listener.port, admin: proxy.adminAddress.port }));
process.stdin.once('data', async () => {
  process.stdin.destroy();
  await proxy.stop({ delayMs: 0 });
  console.log(JSON.stringify({ stopped: true }));
});
`,
    );
    const config = `listeners: [{ host: 127.0.0.1, port: 0 }]\nkafka: { brokers: [${testBrokers().join(', ')}] }\nmappings: [{ name: e, match: '^e/(.+)$', topic: ${topic}, key: '$1' }]\nauth: { anonymous: true }\nlog: { level: warn }\n`;
    const child = spawn(process.execPath, ['run.mjs'], { cwd: project, env: { ...process.env, CONFIG: config }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 20000;
      while (!out.includes('"port"')) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`embedded proxy did not start:\n${out}\n${err}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const { port, admin } = JSON.parse(out.split('\n')[0]!) as { port: number; admin: number };
      assert.equal((await fetch(`http://127.0.0.1:${admin}/readyz`)).status, 200);
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 'embedded', reconnectPeriod: 0 });
      await client.publishAsync('e/dev-1', 'from an embedding service', { qos: 1 });
      await client.endAsync();
      child.stdin.write('stop\n');
      // Exits by itself: stop() leaves no timer or socket behind.
      const code = await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve('still running 10 s after stop'), 10000))]);
      assert.equal(code, 0, `${err}\n${out}`);
      assert.match(out, /"stopped":true/);
      const records = await readRecords(topic, 1, { timeoutMs: 10000, settleMs: 200 });
      assert.deepEqual(
        records.map((r) => [r.key?.toString(), r.value?.toString()]),
        [['dev-1', 'from an embedding service']],
      );
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
