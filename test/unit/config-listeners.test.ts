import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, type ProxyConfig } from '../../src/config/index.js';
import { loadConfig, parseConfig } from '../../src/server/load-config.js';
import { DEFAULT_TLS_CIPHERS } from '../../src/config/listener-tls.js';
import { chooseSubprotocol, parseSubprotocols } from '../../src/listeners/websocket.js';

const BASE = `
mappings: [{ name: all, match: '^(.*)$', topic: iot.all }]
auth: { anonymous: true }
`;

let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'mkp-config-listeners-'));
  // A throwaway key pair so the loader can check that cert and key belong together.
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'server.key', '-out', 'server.crt', '-days', '1', '-subj', '/CN=localhost'], { cwd: dir, stdio: 'ignore' });
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'other.key', '-out', 'other.crt', '-days', '1', '-subj', '/CN=other'], { cwd: dir, stdio: 'ignore' });
  writeFileSync(join(dir, 'broken.crt'), '-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n');
});

after(() => rmSync(dir, { recursive: true, force: true }));

/** Loads `text` from a file in the temporary directory, so relative paths resolve against it. */
function load(text: string): ProxyConfig {
  const file = join(dir, 'proxy.yaml');
  writeFileSync(file, `${BASE}${text}`);
  return loadConfig(file);
}

function problems(text: string): string[] {
  try {
    load(text);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.problems.map((p) => `${p.path}: ${p.problem}`);
  }
  assert.fail('expected a ConfigError');
}

describe('config: listeners of every protocol', () => {
  it('fills defaults per protocol and resolves certificate paths against the config file', () => {
    const config = load(`listeners:
  - { protocol: tcp }
  - { protocol: tls, tls: { cert: server.crt, key: server.key } }
  - { protocol: ws }
  - { protocol: wss, port: 443, path: /ws/mqtt, tls: { cert: ./server.crt, key: ${join(dir, 'server.key')}, ca: server.crt, requestCert: true, minVersion: TLSv1.3, watchIntervalMs: 0 }, trustedProxies: [10.0.0.0/8] }
  - { protocol: tcp, port: 1884, proxyProtocol: { trustedCidrs: [10.0.0.0/8, 'fd00::/8'] } }
http: { port: 0 }
`);
    assert.deepEqual(config.listeners[0], { protocol: 'tcp', host: '0.0.0.0', port: 1883 });
    assert.deepEqual(config.listeners[1], {
      protocol: 'tls',
      host: '0.0.0.0',
      port: 8883,
      tls: { cert: join(dir, 'server.crt'), key: join(dir, 'server.key'), requestCert: false, minVersion: 'TLSv1.2', ciphers: DEFAULT_TLS_CIPHERS, watchIntervalMs: 2000 },
    });
    assert.deepEqual(config.listeners[2], { protocol: 'ws', host: '0.0.0.0', port: 8083, path: '/mqtt' });
    assert.deepEqual(config.listeners[3], {
      protocol: 'wss',
      host: '0.0.0.0',
      port: 443,
      path: '/ws/mqtt',
      tls: { cert: join(dir, 'server.crt'), key: join(dir, 'server.key'), ca: join(dir, 'server.crt'), requestCert: true, minVersion: 'TLSv1.3', ciphers: DEFAULT_TLS_CIPHERS, watchIntervalMs: 0 },
      trustedProxies: ['10.0.0.0/8'],
    });
    assert.deepEqual(config.listeners[4], {
      protocol: 'tcp',
      host: '0.0.0.0',
      port: 1884,
      proxyProtocol: { trustedCidrs: ['10.0.0.0/8', 'fd00::/8'], headerTimeoutMs: 5000 },
    });
    assert.ok(Object.isFrozen(config.listeners[3]?.tls));
  });

  it('names file, path and problem for missing or unusable certificate files', () => {
    assert.deepEqual(problems(`listeners: [{ protocol: tls, tls: { cert: missing.crt, key: server.key } }]\n`), [
      `listeners[0].tls.cert: cannot read ${join(dir, 'missing.crt')}: no such file`,
    ]);
    assert.deepEqual(problems(`listeners: [{ protocol: wss, tls: { key: server.key } }]\n`), [
      `listeners[0].tls.cert: is required (the server's PEM certificate chain file)`,
    ]);
    assert.deepEqual(problems(`listeners: [{ protocol: tls, tls: { cert: ${dir}, key: server.key } }]\n`), [
      `listeners[0].tls.cert: cannot read ${dir}: it is a directory, not a file`,
    ]);
    const [mismatch] = problems(`listeners: [{ protocol: tls, tls: { cert: server.crt, key: other.key } }]\n`);
    assert.match(mismatch ?? '', /^listeners\[0\]\.tls: cannot use .*server\.crt and .*other\.key: .*key values mismatch/);
    const [broken] = problems(`listeners: [{ protocol: tls, tls: { cert: broken.crt, key: server.key } }]\n`);
    assert.match(broken ?? '', /^listeners\[0\]\.tls: cannot use .*broken\.crt/);
  });

  it('checks each option where it applies', () => {
    const cases: Array<[string, string]> = [
      ['{ protocol: tls }', 'listeners[0].tls: is required for a tls listener ({ cert, key } files, and ca for client certificates)'],
      ['{ protocol: tcp, tls: { cert: server.crt, key: server.key } }', 'listeners[0].tls: only tls, wss and https listeners use certificates; use protocol: tls'],
      ['{ protocol: ws, tls: { cert: server.crt, key: server.key } }', 'listeners[0].tls: only tls, wss and https listeners use certificates; use protocol: wss'],
      ['{ protocol: tcp, path: /mqtt }', 'listeners[0].path: only ws and wss listeners have a path; this one is tcp'],
      ['{ protocol: ws, path: mqtt }', 'listeners[0].path: expected a URL path starting with "/" without spaces, query or fragment, got "mqtt"'],
      ['{ protocol: ws, path: "/a?b" }', 'listeners[0].path: expected a URL path starting with "/" without spaces, query or fragment, got "/a?b"'],
      ['{ protocol: tls, tls: { cert: server.crt, key: server.key, requestCert: true } }', 'listeners[0].tls.ca: is required with requestCert: true (the CA client certificates must be signed by)'],
      ['{ protocol: tls, tls: { cert: server.crt, key: server.key, minVersion: TLSv1.1 } }', 'listeners[0].tls.minVersion: expected one of TLSv1.2, TLSv1.3, got the string "TLSv1.1"'],
      ['{ protocol: tls, tls: { cert: server.crt, key: server.key, requestCert: yes } }', 'listeners[0].tls.requestCert: expected true or false, got the string "yes"'],
      ['{ protocol: tls, tls: { cert: server.crt, key: server.key, watchIntervalMs: -1 } }', 'listeners[0].tls.watchIntervalMs: expected an integer from 0 to 2147483647, got the number -1'],
      ['{ protocol: tls, tls: { cert: server.crt, key: server.key, cafile: x } }', 'listeners[0].tls.cafile: unknown key (known keys here: cert, key, ca, requestCert, minVersion, ciphers, watchIntervalMs)'],
      ['{ protocol: tls, tls: server.crt }', 'listeners[0].tls: expected a mapping (keys: cert, key, ca, requestCert, minVersion, ciphers, watchIntervalMs), got the string "server.crt"'],
      ['{ protocol: ws, proxyProtocol: { trustedCidrs: [10.0.0.0/8] } }', 'listeners[0].proxyProtocol: PROXY protocol is for tcp, tls, http and https listeners; ws listeners behind a proxy use trustedProxies (X-Forwarded-For)'],
      ['{ protocol: tcp, trustedProxies: [10.0.0.0/8] }', 'listeners[0].trustedProxies: X-Forwarded-For applies to ws, wss, http and https listeners; tcp listeners behind a load balancer use proxyProtocol'],
      ['{ protocol: tcp, proxyProtocol: {} }', 'listeners[0].proxyProtocol.trustedCidrs: is required (the CIDR ranges of the load balancers that send PROXY headers)'],
      ['{ protocol: tcp, proxyProtocol: { trustedCidrs: [] } }', 'listeners[0].proxyProtocol.trustedCidrs: needs at least one CIDR range'],
      ['{ protocol: tcp, proxyProtocol: { trustedCidrs: 10.0.0.0/8 } }', `listeners[0].proxyProtocol.trustedCidrs: expected a list of CIDR ranges (e.g. [10.0.0.0/8, 'fd00::/8']), got the string "10.0.0.0/8"`],
      ['{ protocol: tcp, proxyProtocol: { trustedCidrs: [10.0.0.1/8] } }', 'listeners[0].proxyProtocol.trustedCidrs[0]: 10.0.0.1/8 has host bits set: the range is 10.0.0.0/8'],
      ['{ protocol: tcp, proxyProtocol: { trustedCidrs: [10.0.0.0/8], headerTimeoutMs: 0 } }', 'listeners[0].proxyProtocol.headerTimeoutMs: expected an integer from 1 to 2147483647, got the number 0'],
      ['{ protocol: tcp, proxyProtocol: { trustedCidrs: [10.0.0.0/8], v2: true } }', 'listeners[0].proxyProtocol.v2: unknown key (known keys here: trustedCidrs, headerTimeoutMs)'],
      ['{ protocol: ws, trustedProxies: [10.0.0.0/8, 1] }', 'listeners[0].trustedProxies[1]: expected a CIDR range string, got the number 1'],
      ['{ protocol: ws, trustedProxies: ["2001:db8::/129"] }', 'listeners[0].trustedProxies[0]: prefix length must be a whole number from 0 to 128 for IPv6, got "129"'],
    ];
    for (const [listener, expected] of cases) assert.deepEqual(problems(`listeners: [${listener}]\n`), [expected], listener);
  });

  it('parseConfig (no file) resolves relative certificate paths against the working directory', () => {
    assert.throws(() => parseConfig(`${BASE}listeners: [{ protocol: tls, tls: { cert: nowhere/server.crt, key: nowhere/server.key } }]\n`, '<inline>'), /cannot read .*nowhere\/server\.crt: no such file/);
  });
});

describe('WebSocket subprotocol choice', () => {
  it('prefers mqtt, accepts mqttv3.1, accepts no offer, refuses others', () => {
    assert.equal(chooseSubprotocol(parseSubprotocols('mqtt')), 'mqtt');
    assert.equal(chooseSubprotocol(parseSubprotocols('mqttv3.1, mqtt')), 'mqtt');
    assert.equal(chooseSubprotocol(parseSubprotocols('mqttv3.1')), 'mqttv3.1');
    assert.equal(chooseSubprotocol(parseSubprotocols(undefined)), false);
    assert.equal(chooseSubprotocol(parseSubprotocols(' , ')), false);
    assert.equal(chooseSubprotocol(parseSubprotocols('chat, superchat')), null);
    assert.equal(chooseSubprotocol(parseSubprotocols('MQTT')), null, 'subprotocol names are case-sensitive');
  });
});
