// HTTP ingest under a proxy crash: 50 concurrent HTTP clients post with retries while the proxy is
// killed with SIGKILL and started again; every message answered 200 must be in Kafka.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { formatReport, readWholeTopic, type DeliveryReport } from '../helpers/delivery.js';
import { devicePayload, parseDevicePayload } from '../helpers/device.js';
import { faultsConfig, faultsKafka, LOAD_SECONDS, sleep } from '../helpers/faults.js';
import { createTopics, uniqueName } from '../helpers/kafka.js';
import { freePort, ProxyProcess } from '../helpers/processes.js';

const kafka = faultsKafka();
const brokers = [kafka.bootstrap];
const CLIENTS = 50;
let proxies: ProxyProcess[] = [];

/** One HTTP client: posts messages one after another, each until it is answered 200. */
class HttpPoster {
  sent = 0;
  publishes = 0;
  /** Sequence numbers answered 200. */
  readonly acked = new Set<number>();
  inFlight = false;
  private sending = true;
  readonly done: Promise<void>;

  constructor(
    readonly clientId: string,
    private readonly url: string,
  ) {
    this.done = this.run();
  }

  stopSending(): void {
    this.sending = false;
  }

  private async run(): Promise<void> {
    while (this.sending) {
      const seq = ++this.sent;
      const deadline = Date.now() + 60_000;
      // A message is retried until it is answered 200 (or the test gives up on it).
      while (!(await this.post(seq)) && Date.now() < deadline) await sleep(200);
    }
  }

  private async post(seq: number): Promise<boolean> {
    this.publishes++;
    this.inFlight = true;
    try {
      const response = await fetch(`${this.url}/publish/faults/${this.clientId}/data`, {
        method: 'POST',
        body: devicePayload(this.clientId, seq, 100),
        signal: AbortSignal.timeout(10_000),
      });
      await response.arrayBuffer();
      if (response.status !== 200) return false;
      this.acked.add(seq);
      return true;
    } catch {
      return false;
    } finally {
      this.inFlight = false;
    }
  }
}

async function startProxy(topic: string, mqttPort: number, httpPort: number): Promise<ProxyProcess> {
  // Records wait 200 ms for company, so the kill always catches requests waiting for Kafka.
  const yaml = `  - { protocol: http, host: 127.0.0.1, port: ${httpPort} }\n${faultsConfig(topic).replace('  requestTimeoutMs: 5000\n', '  requestTimeoutMs: 5000\n  lingerMs: 200\n')}`;
  const proxy = await ProxyProcess.start({ yaml, port: mqttPort, brokers: kafka.bootstrap });
  proxies.push(proxy);
  return proxy;
}

async function report(topic: string, clients: readonly HttpPoster[]): Promise<DeliveryReport> {
  const { records } = await readWholeTopic(topic, brokers);
  const seen = new Map<string, number>();
  for (const record of records) {
    const id = parseDevicePayload(record.value);
    if (id !== undefined) seen.set(`${id.clientId}:${id.seq}`, (seen.get(`${id.clientId}:${id.seq}`) ?? 0) + 1);
  }
  const missingExamples: string[] = [];
  let acked = 0;
  let missing = 0;
  for (const client of clients) {
    for (const seq of client.acked) {
      acked++;
      if (!seen.has(`${client.clientId}:${seq}`)) {
        missing++;
        if (missingExamples.length < 10) missingExamples.push(`${client.clientId}:${seq}`);
      }
    }
  }
  const duplicateExamples = [...seen].filter(([, count]) => count > 1).slice(0, 10).map(([key, count]) => `${key} x${count}`);
  return {
    sent: clients.reduce((n, c) => n + c.sent, 0),
    publishes: clients.reduce((n, c) => n + c.publishes, 0),
    acked,
    records: records.length,
    found: seen.size,
    missing,
    duplicates: [...seen.values()].reduce((n, count) => n + count - 1, 0),
    missingExamples,
    duplicateExamples,
  };
}

before(() => kafka.start());
after(async () => {
  await Promise.all(proxies.map((p) => p.dispose()));
  proxies = [];
});

test('50 HTTP clients posting with retries, the proxy killed with SIGKILL and started again: every 200 is in Kafka', { timeout: 300_000 }, async () => {
  const topic = uniqueName('faults-http-kill');
  await createTopics([topic], brokers, 3);
  const [mqttPort, httpPort] = [await freePort(), await freePort()];
  const first = await startProxy(topic, mqttPort, httpPort);
  const url = `http://127.0.0.1:${httpPort}`;
  const clients = Array.from({ length: CLIENTS }, (_, i) => new HttpPoster(`http-${i}`, url));
  await sleep(LOAD_SECONDS * 1000);
  const inFlightAtKill = clients.filter((c) => c.inFlight).length;
  const ackedBeforeKill = clients.reduce((n, c) => n + c.acked.size, 0);
  first.kill('SIGKILL');
  await first.exited;
  const restartStarted = Date.now();
  await startProxy(topic, mqttPort, httpPort);
  const restartMs = Date.now() - restartStarted;
  await sleep(LOAD_SECONDS * 1000);
  for (const client of clients) client.stopSending();
  await Promise.all(clients.map((c) => c.done));
  const result = await report(topic, clients);
  console.log(formatReport('http SIGKILL', result, `clients=${CLIENTS} inFlightAtKill=${inFlightAtKill} ackedBeforeKill=${ackedBeforeKill} restartMs=${restartMs}`));
  assert.ok(inFlightAtKill > 0, 'requests were waiting for Kafka when the proxy was killed, otherwise this proves little');
  assert.ok(result.acked > ackedBeforeKill, 'the restarted proxy answered too');
  assert.equal(result.acked, result.sent, 'every message was answered 200 in the end');
  assert.equal(result.missing, 0, `answered 200 but not in Kafka: ${result.missingExamples.join(', ')}`);
});
