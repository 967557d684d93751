import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configChanged, diffConfig, restartRequiredChanges } from '../../src/config/reload-diff.js';
import { parseConfig } from '../../src/server/load-config.js';

const BASE = `mappings: [{ name: a, match: '^a$', topic: iot.a }]\nauth: { anonymous: true }\n`;
const parse = (extra = '', source = 'one.yaml') => parseConfig(`${BASE}${extra}`, source);

describe('reload diff', () => {
  it('the same text from another file is unchanged', () => {
    assert.equal(configChanged(parse('', 'one.yaml'), parse('', 'two.yaml')), false);
    assert.deepEqual(restartRequiredChanges(parse(), parse()), []);
  });
  it('mappings, unmapped, auth, log and drain apply without a restart', () => {
    for (const extra of ['unmapped: { topic: iot.u }\n', 'log: { level: debug }\n', 'drain: { delayMs: 1 }\n']) {
      assert.equal(configChanged(parse(), parse(extra)), true, extra);
      assert.deepEqual(restartRequiredChanges(parse(), parse(extra)), [], extra);
    }
    const other = parseConfig(`mappings: [{ name: b, match: '^b$', topic: iot.b }]\nauth: { anonymous: true }\n`, 'one.yaml');
    assert.deepEqual(restartRequiredChanges(parse(), other), []);
    assert.equal(configChanged(parse(), other), true);
  });
  it('listeners, kafka, http, limits and reload need a restart, each named', () => {
    const cases: Array<[string, string]> = [
      ['listeners: [{ port: 1884 }]\n', 'listeners'],
      // The HTTP ingest settings live in their listener: its server is built with it.
      ['listeners: [{ protocol: http, port: 0, ingest: { maxBodyBytes: 10 } }]\n', 'listeners'],
      ['kafka: { brokers: [k:9092] }\n', 'kafka'],
      ['kafka: { acks: { qos0: 0 } }\n', 'kafka'],
      ['http: { port: 9091 }\n', 'http'],
      ['limits: { maxPacketSize: 10 }\n', 'limits'],
      ['reload: { watch: true }\n', 'reload'],
    ];
    for (const [extra, section] of cases) assert.deepEqual(restartRequiredChanges(parse(), parse(extra)), [section], extra);
    assert.deepEqual(restartRequiredChanges(parse(), parse('listeners: [{ port: 1884 }]\nkafka: { lingerMs: 1 }\n')), ['listeners', 'kafka']);
  });
  it('an HTTP ingest setting changed in place is a listeners change', () => {
    const http = (ingest: string) => parse(`listeners: [{ protocol: http, port: 0, ingest: { ${ingest} } }]\n`);
    assert.deepEqual(restartRequiredChanges(http('maxBodyBytes: 10'), http('maxBodyBytes: 11')), ['listeners']);
    assert.deepEqual(restartRequiredChanges(http('headers: [a]'), http('headers: [a]')), []);
  });
  it('delivery, retained and sessions need a restart, each named', () => {
    const rule = "delivery: [{ name: commands, kafka: iot.commands, mqttTopic: 'devices/${key}/commands' }]\n";
    assert.deepEqual(restartRequiredChanges(parse(), parse(rule)), ['delivery'], 'a rule added');
    assert.deepEqual(restartRequiredChanges(parse(rule), parse(rule.replace("/commands'", "/cmd'"))), ['delivery'], 'a template changed');
    assert.deepEqual(restartRequiredChanges(parse(rule), parse(rule)), []);
    assert.deepEqual(restartRequiredChanges(parse(), parse('retained: { enabled: false }\n')), ['retained']);
    assert.deepEqual(restartRequiredChanges(parse(), parse('retained: { topic: other.retained }\n')), ['retained']);
    assert.deepEqual(restartRequiredChanges(parse(), parse('sessions: { maxExpirySeconds: 60 }\n')), ['sessions']);
  });
  it('names every changed section in the file\'s order', () => {
    assert.deepEqual(diffConfig(parse(), parse('log: { level: debug }\nlisteners: [{ port: 1884 }]\ndrain: { delayMs: 1 }\n')), {
      changed: ['listeners', 'drain', 'log'],
      restartRequired: ['listeners'],
    });
    assert.deepEqual(diffConfig(parse(), parse()), { changed: [], restartRequired: [] });
  });
  it('sees a changed SASL password, which prints as [redacted] either way', () => {
    const sasl = (password: string) => `kafka: { sasl: { mechanism: plain, username: u, password: ${password} } }\n`;
    assert.deepEqual(restartRequiredChanges(parse(sasl('one')), parse(sasl('one'))), []);
    assert.deepEqual(restartRequiredChanges(parse(sasl('one')), parse(sasl('two'))), ['kafka']);
  });
});
