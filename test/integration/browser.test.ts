/**
 * A real browser: headless Chromium (Debian's, driven by playwright-core) loads a page that uses
 * MQTT.js's browser bundle to publish over ws and over wss; the records are read back from Kafka.
 *
 * The wss certificate is signed by a CA this test generates. Chromium is told to trust that CA's
 * public key (--ignore-certificate-errors-spki-list with the CA's SPKI hash, the server sending the
 * chain leaf + CA) rather than to ignore certificate errors altogether.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { spkiSha256, TestCertificates } from '../helpers/certs.js';
import { createTopics, headerText, readRecords, uniqueName } from '../helpers/kafka.js';
import { startProxy, waitFor, type RunningProxy } from '../helpers/proxy.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = !existsSync(CHROMIUM) && !process.env.CI ? `${CHROMIUM} is not installed (apt-get install chromium); CI installs it` : false;

const mqttBundle = readFileSync(createRequire(import.meta.url).resolve('mqtt/dist/mqtt.min'));
const kafkaTopic = uniqueName('browser');

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>mqtt-kafka-proxy browser test</title>
<script src="/mqtt.min.js"></script>
<script>
  // Connects, publishes one QoS 1 message, waits for its PUBACK, disconnects.
  window.publishOnce = (url, clientId, topic, payload) => new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { clientId, protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000 });
    client.on('error', (error) => { client.end(true); reject(String(error)); });
    // A WebSocket that fails to open (e.g. an untrusted certificate) only closes.
    let acknowledged = false;
    client.on('close', () => { if (!acknowledged) reject('connection closed before the publish was acknowledged'); });
    client.on('connect', () => {
      client.publish(topic, payload, { qos: 1 }, (error) => {
        acknowledged = !error;
        client.end(false, {}, () => (error ? reject(String(error)) : resolve('published')));
      });
    });
  });
</script></head><body>browser test</body></html>`;

describe('MQTT over WebSocket from headless Chromium', { skip }, () => {
  const certs = new TestCertificates();
  let proxy: RunningProxy;
  let pages: http.Server;
  let pageUrl: string;
  let browser: Browser;

  before(async () => {
    const ca = certs.createCa('browser-ca');
    const server = certs.issueServer(ca, 'browser-server');
    // Leaf and CA: the browser builds the chain up to the CA it was told to trust.
    const chainFile = join(certs.dir, 'browser-chain.crt');
    writeFileSync(chainFile, Buffer.concat([server.cert, ca.cert]));
    await createTopics([kafkaTopic]);
    proxy = await startProxy(`
listeners:
  - { protocol: ws, host: 127.0.0.1, port: 0 }
  - { protocol: wss, host: 127.0.0.1, port: 0, tls: { cert: ${chainFile}, key: ${server.keyFile} } }
mappings:
  - { name: browser, match: '^browser/(?<id>[^/]+)$', topic: ${kafkaTopic}, key: '\${id}' }
auth: { anonymous: true }
http: { port: 0 }
`);
    pages = http.createServer((request, response) => {
      if (request.url === '/mqtt.min.js') {
        response.writeHead(200, { 'content-type': 'text/javascript' }).end(mqttBundle);
      } else {
        response.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
      }
    });
    await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
    pageUrl = `http://127.0.0.1:${(pages.address() as net.AddressInfo).port}/`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-background-networking', `--ignore-certificate-errors-spki-list=${spkiSha256(ca.cert)}`],
    });
    await waitFor(() => proxy.logs.some((l) => l.msg === 'connected to Kafka'), 20000, 'Kafka connection');
  });

  after(async () => {
    await browser?.close();
    await new Promise((resolve) => pages?.close(resolve));
    await proxy?.stop();
    certs.remove();
  });

  async function publishFromBrowser(url: string, clientId: string, id: string): Promise<string> {
    const page = await browser.newPage();
    try {
      await page.goto(pageUrl);
      return await page.evaluate(
        ([brokerUrl, client, topic]) =>
          (globalThis as unknown as { publishOnce(u: string, c: string, t: string, p: string): Promise<string> }).publishOnce(brokerUrl!, client!, topic!, `hello from ${client}`),
        [url, clientId, `browser/${id}`],
      );
    } finally {
      await page.close();
    }
  }

  test('ws and wss: the browser publishes, Kafka has the records', async () => {
    const ws = proxy.listeners[0]!;
    const wss = proxy.listeners[1]!;
    assert.equal(await publishFromBrowser(`ws://127.0.0.1:${ws.port}/mqtt`, 'chromium-ws', 'over-ws'), 'published');
    assert.equal(await publishFromBrowser(`wss://localhost:${wss.port}/mqtt`, 'chromium-wss', 'over-wss'), 'published');
    const records = await readRecords(kafkaTopic, 2);
    assert.deepEqual(
      records.map((r) => [r.key?.toString(), r.value?.toString(), headerText(r.headers, 'mqtt.client_id')]).sort(),
      [
        ['over-ws', 'hello from chromium-ws', 'chromium-ws'],
        ['over-wss', 'hello from chromium-wss', 'chromium-wss'],
      ],
    );
    const listenerOf = (clientId: string): unknown => proxy.logs.find((l) => l.msg === 'client connected' && l.clientId === clientId)?.listener;
    assert.equal(listenerOf('chromium-ws'), ws.name);
    assert.equal(listenerOf('chromium-wss'), wss.name);
  });

  test('without trusting the CA the browser cannot connect over wss', async () => {
    const strict = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-background-networking'] });
    try {
      const page = await strict.newPage();
      await page.goto(pageUrl);
      const outcome = await page.evaluate(
        (url) =>
          (globalThis as unknown as { publishOnce(u: string, c: string, t: string, p: string): Promise<string> })
            .publishOnce(url, 'chromium-untrusting', 'browser/never', 'x')
            .catch((error: unknown) => `refused: ${String(error)}`),
        `wss://localhost:${proxy.listeners[1]!.port}/mqtt`,
      );
      assert.match(outcome, /^refused/);
    } finally {
      await strict.close();
    }
  });
});
