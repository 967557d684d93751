/**
 * A real browser as a subscriber: headless Chromium loads a page that subscribes over wss with
 * MQTT.js's browser bundle and shows what arrives; a command written to Kafka appears on the page.
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
import { CommandProducer } from '../helpers/commands.js';
import { createTopics, testBrokers, uniqueName } from '../helpers/kafka.js';
import { startProxy, type RunningProxy } from '../helpers/proxy.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = !existsSync(CHROMIUM) && !process.env.CI ? `${CHROMIUM} is not installed (apt-get install chromium); CI installs it` : false;

const mqttBundle = readFileSync(createRequire(import.meta.url).resolve('mqtt/dist/mqtt.min'));
const commands = uniqueName('browser-commands');
// A sessions topic of this file's own: client ids are reused across the suite's files.
const sessionsTopic = uniqueName('browser-delivery-sessions');

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>commands</title>
<script src="/mqtt.min.js"></script>
<script>
  // Subscribes; resolves once the SUBACK is in; every message is shown in #commands.
  window.subscribe = (url, topic) => new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { clientId: 'chromium-panel', protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000 });
    client.on('error', (error) => reject(String(error)));
    client.on('message', (t, payload) => {
      const item = document.createElement('li');
      item.textContent = t + ': ' + payload.toString();
      document.getElementById('commands').appendChild(item);
    });
    client.on('connect', () => client.subscribe(topic, { qos: 1 }, (error, granted) => (error ? reject(String(error)) : resolve(granted[0].qos))));
  });
</script></head><body><ul id="commands"></ul></body></html>`;

describe('a browser subscribed over wss', { skip }, () => {
  const certs = new TestCertificates();
  const producer = new CommandProducer(testBrokers());
  let proxy: RunningProxy;
  let pages: http.Server;
  let pageUrl: string;
  let browser: Browser;

  before(async () => {
    const ca = certs.createCa('browser-delivery-ca');
    const server = certs.issueServer(ca, 'browser-delivery-server');
    const chainFile = join(certs.dir, 'chain.crt');
    writeFileSync(chainFile, Buffer.concat([server.cert, ca.cert]));
    await createTopics([commands]);
    proxy = await startProxy(`
listeners:
  - { protocol: wss, host: 127.0.0.1, port: 0, tls: { cert: ${chainFile}, key: ${server.keyFile} } }
mappings:
  - { name: panels, match: '^panels/.+$', topic: ${commands} }
delivery:
  - { name: panel, kafka: ${commands}, mqttTopic: 'panels/\${key}/commands', qos: 1 }
retained: { enabled: false }
sessions: { topic: ${sessionsTopic} }
auth: { anonymous: true }
http: { port: 0 }
`);
    pages = http.createServer((request, response) => {
      if (request.url === '/mqtt.min.js') response.writeHead(200, { 'content-type': 'text/javascript' }).end(mqttBundle);
      else response.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    });
    await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
    pageUrl = `http://127.0.0.1:${(pages.address() as net.AddressInfo).port}/`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-background-networking', `--ignore-certificate-errors-spki-list=${spkiSha256(ca.cert)}`],
    });
  });

  after(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (pages === undefined ? resolve() : pages.close(() => resolve())));
    await proxy?.stop();
    await producer.close();
    certs.remove();
  });

  test('the page shows a command written to Kafka', async () => {
    const page = await browser.newPage();
    await page.goto(pageUrl);
    const granted = await page.evaluate(
      ([url, topic]) => (globalThis as unknown as { subscribe(u: string, t: string): Promise<number> }).subscribe(url!, topic!),
      [`wss://localhost:${proxy.listeners[0]!.port}/mqtt`, 'panels/kitchen/commands'],
    );
    assert.equal(granted, 1);
    await producer.send(commands, [{ key: 'kitchen', value: 'lights on' }]);
    await page.waitForSelector('#commands li', { timeout: 15_000 });
    assert.equal(await page.textContent('#commands li'), 'panels/kitchen/commands: lights on');
    await page.close();
  });
});
