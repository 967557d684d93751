import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/config/errors.js';
import { readConfigText } from '../../src/config/read.js';
import type { ProxyConfig } from '../../src/config/types.js';
import { parseConfig, routerFor } from '../../src/server/load-config.js';

const TEXT = `mappings: [{ name: t, match: '^devices/(?<id>[^/]+)/t$', topic: iot.t, key: '\${id}' }]\nauth: { anonymous: true }\n`;

describe('loading the proxy config', () => {
  it('compiles the rules once: the proxy, reloads and map take the router compiled while loading', () => {
    const config = parseConfig(TEXT, 'test.yaml');
    const router = routerFor(config);
    assert.equal(routerFor(config), router);
    const derived: ProxyConfig = { ...config, log: { level: 'debug' } };
    assert.equal(routerFor(derived), router, 'the same rules in a derived config');
    assert.deepEqual(router.route({ topic: 'devices/d1/t', clientId: 'c', username: undefined }), { kind: 'mapped', rule: 't', kafkaTopic: 'iot.t', key: 'd1' });
  });

  it('compiles rules built in code when asked, and refuses broken ones then', () => {
    const config = parseConfig(TEXT, 'test.yaml');
    const other = { ...config, mappings: [{ name: 'u', match: '^u$', topic: 'iot.u', key: null }] };
    assert.notEqual(routerFor(other), routerFor(config));
    assert.throws(() => routerFor({ ...config, mappings: [{ name: 'bad', match: '(', topic: 'iot.x', key: null }] }), ConfigError);
  });

  it('leaves regexes and templates to the router: src/config alone checks only the shape of the rules', () => {
    const broken = `mappings: [{ name: t, match: '(unclosed', topic: iot.t }]\nauth: { anonymous: true }\n`;
    assert.equal(readConfigText(broken, 'test.yaml').mappings[0]?.match, '(unclosed');
    assert.throws(() => parseConfig(broken, 'test.yaml'), /test\.yaml: mappings\[0\] "t"\.match: invalid regular expression/);
  });
});
