/**
 * HTTP ingest over TLS with client certificates (mTLS), made in the test: the certificate's identity
 * is the username for the ACL (%u) and the mapping; a client without a certificate never gets an
 * HTTP byte read. With curl and with Node's https.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import https from 'node:https';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { TestCertificates, type CertificateAuthority, type CertificateFiles } from '../helpers/certs.js';
import { curl, ingestUrl } from '../helpers/http-ingest.js';
import { createTopics, readRecords, uniqueName } from '../helpers/kafka.js';
import { startProxy, waitFor, type RunningProxy } from '../helpers/proxy.js';

const certs = new TestCertificates();
const dir = mkdtempSync(join(tmpdir(), 'mkp-http-tls-'));
const usersFile = join(dir, 'users.yaml');
const topic = uniqueName('http.mtls');
let ca: CertificateAuthority;
let device: CertificateFiles;
let proxy: RunningProxy;
let url: string;

before(async () => {
  ca = certs.createCa('http-ca');
  const server = certs.issueServer(ca, 'http-server');
  device = certs.issueClient(ca, 'dev-cert-7');
  writeFileSync(usersFile, `users: []\nacl:\n  authenticated: [{ allow: 'certs/%u/#' }]\n`);
  await createTopics([topic]);
  proxy = await startProxy(`
listeners:
  - { protocol: tcp, host: 127.0.0.1, port: 0 }
  - protocol: https
    host: 127.0.0.1
    port: 0
    tls: { cert: ${server.certFile}, key: ${server.keyFile}, ca: ${ca.certFile}, requestCert: true }
mappings: [{ name: certs, match: '^certs/.+$', topic: ${topic}, key: '\${username}' }]
unmapped: reject
auth: { certificate: required, usersFile: ${usersFile} }
http: { port: 0 }
`);
  url = ingestUrl(proxy, 'https');
  await waitFor(() => proxy.logs.some((l) => l.msg === 'connected to Kafka'), 20000, 'Kafka connection');
});

after(async () => {
  await proxy?.stop();
  certs.remove();
  rmSync(dir, { recursive: true, force: true });
});

function httpsPost(path: string, body: string, client: CertificateFiles): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const request = https.request(`${url}${path}`, { method: 'POST', ca: ca.cert, cert: client.cert, key: client.key }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown> }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

test('curl with a client certificate: 200, the record keyed by the certificate identity', async () => {
  const answer = await curl(['--cacert', ca.certFile, '--cert', device.certFile, '--key', device.keyFile, '-X', 'POST', '--data-binary', 'over mTLS', `${url}/publish/certs/dev-cert-7/t`]);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  assert.equal(answer.body.topic, topic);
  const [record] = await readRecords(topic, 1);
  assert.equal(record!.key?.toString(), 'dev-cert-7');
  assert.equal(record!.value?.toString(), 'over mTLS');
});

test('Node https: the ACL applies to the certificate identity (%u)', async () => {
  const allowed = await httpsPost('/publish/certs/dev-cert-7/u', 'x', device);
  assert.equal(allowed.status, 200);
  const denied = await httpsPost('/publish/certs/dev-cert-8/u', 'x', device);
  assert.equal(denied.status, 403);
});

test('a client without a certificate is refused in the TLS handshake', async () => {
  const outcome = await new Promise<string>((resolve) => {
    execFile('curl', ['-sS', '--cacert', ca.certFile, '-X', 'POST', '--data-binary', 'x', `${url}/publish/certs/dev-cert-7/t`], { timeout: 20000 }, (error, _stdout, stderr) =>
      resolve(error === null ? 'answered' : stderr),
    );
  });
  assert.notEqual(outcome, 'answered');
});
