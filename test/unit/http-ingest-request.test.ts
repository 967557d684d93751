/** HTTP ingest, the pure parts: request targets, batch bodies, Authorization headers, answers, request limits. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { batchStatus, failure, refusalError, retryLater, STATUS, written } from '../../src/ingest/http/answers.js';
import { batchFormat, parseBatch } from '../../src/ingest/http/batch.js';
import { parseAuthorization } from '../../src/ingest/http/credentials.js';
import { parseTarget } from '../../src/ingest/http/request-target.js';
import { RequestLimits } from '../../src/ingest/http/request-limits.js';

describe('parseTarget', () => {
  it('POST /publish/{topic}: the path percent-decoded, slashes and %2F both level separators', () => {
    assert.deepEqual(parseTarget('POST', '/publish/devices/d1/telemetry?x=1', undefined), { ok: true, endpoint: { kind: 'publish', topic: 'devices/d1/telemetry' } });
    assert.deepEqual(parseTarget('POST', '/publish/a%2Fb/caf%C3%A9', undefined), { ok: true, endpoint: { kind: 'publish', topic: 'a/b/café' } });
    assert.deepEqual(parseTarget('POST', '/publish/%3F%23x', undefined).ok, false, '# is a wildcard: refused');
    assert.deepEqual(parseTarget('POST', '/publish/%3Fx%25', undefined), { ok: true, endpoint: { kind: 'publish', topic: '?x%' } });
  });

  it('the MQTT-Topic header for POST /publish; not both', () => {
    assert.deepEqual(parseTarget('POST', '/publish', 'a//b%2F'), { ok: true, endpoint: { kind: 'publish', topic: 'a//b/' } });
    assert.deepEqual(parseTarget('POST', '/publish/', 'x'), { ok: true, endpoint: { kind: 'publish', topic: 'x' } });
    const both = parseTarget('POST', '/publish/a', 'b');
    assert.equal(both.ok, false);
    assert.equal(!both.ok && both.status, 400);
    const none = parseTarget('POST', '/publish', undefined);
    assert.equal(!none.ok && none.error, 'bad-topic');
  });

  it('MQTT topic rules: wildcards, U+0000, bad UTF-8 and empty topics are 400 (MQTT-3.3.2-2, MQTT-4.7.3-1, MQTT-1.5.4-2)', () => {
    for (const path of ['/publish/a/%2B', '/publish/a/%23', '/publish/a%00b', '/publish/%FF', '/publish/%E2%82', '/publish/%']) {
      const result = parseTarget('POST', path, undefined);
      assert.equal(result.ok, false, path);
      assert.equal(!result.ok && result.status, 400, path);
    }
  });

  it('batches: /batch with an optional default topic', () => {
    assert.deepEqual(parseTarget('POST', '/batch', undefined), { ok: true, endpoint: { kind: 'batch', topic: undefined } });
    assert.deepEqual(parseTarget('POST', '/batch/d%2Fx', undefined), { ok: true, endpoint: { kind: 'batch', topic: 'd/x' } });
    assert.deepEqual(parseTarget('POST', '/batch', 'h'), { ok: true, endpoint: { kind: 'batch', topic: 'h' } });
  });

  it('other paths 404, other methods 405 with Allow', () => {
    assert.equal(parseTarget('POST', '/publishx', undefined).ok, false);
    const notFound = parseTarget('POST', '/', undefined);
    assert.equal(!notFound.ok && notFound.status, 404);
    const get = parseTarget('GET', '/publish/a', undefined);
    assert.deepEqual(!get.ok && [get.status, get.allow], [405, 'POST']);
    assert.deepEqual(parseTarget('GET', '/openapi.json', undefined), { ok: true, endpoint: { kind: 'openapi' } });
    const post = parseTarget('POST', '/openapi.json', undefined);
    assert.deepEqual(!post.ok && [post.status, post.allow], [405, 'GET']);
  });
});

describe('parseBatch', () => {
  it('ndjson: one message per line, blank lines skipped, a bad line refused alone', () => {
    const body = Buffer.from('{"topic":"a","payload":"x"}\n\n{bad\n{"payload":{"n":1},"headers":{"h":"v"}}\r\n');
    const result = parseBatch(body, 'ndjson', 'default/t', 10);
    assert.ok(result.ok);
    assert.equal(result.entries.length, 3);
    const [first, bad, third] = result.entries;
    assert.deepEqual(first, { ok: true, message: { topic: 'a', payload: Buffer.from('x'), contentType: undefined, headers: Object.assign(Object.create(null), {}) } });
    assert.equal(bad!.ok, false);
    assert.ok(third!.ok);
    assert.equal(third.message.topic, 'default/t');
    assert.equal(third.message.payload.toString(), '{"n":1}');
    assert.equal(third.message.contentType, 'application/json');
    assert.equal(third.message.headers['h'], 'v');
  });

  it('JSON array; base64 payloads; each bad message refused with its reason', () => {
    const items = [
      { topic: 'a', payload: 'AP8=', encoding: 'base64' },
      { payload: 'no topic' },
      { topic: 'a/#', payload: 'x' },
      { topic: 'a', payload: 'x', extra: 1 },
      { topic: 'a', payload: '***', encoding: 'base64' },
      { topic: 'a', headers: { h: 1 } },
      'not an object',
      { topic: 'a', contentType: 'text/plain' },
    ];
    const result = parseBatch(Buffer.from(JSON.stringify(items)), 'json', undefined, 10);
    assert.ok(result.ok);
    assert.deepEqual(result.entries.map((e) => e.ok), [true, false, false, false, false, false, false, true]);
    assert.ok(result.entries[0]!.ok && result.entries[0].message.payload.equals(Buffer.from([0x00, 0xff])));
    assert.ok(result.entries[7]!.ok && result.entries[7].message.payload.length === 0 && result.entries[7].message.contentType === 'text/plain');
    assert.match(!result.entries[3]!.ok ? result.entries[3].message : '', /unknown field "extra"/);
  });

  it('refused as a whole: not JSON, not an array, empty, over maxMessages', () => {
    assert.equal(parseBatch(Buffer.from('{'), 'json', 't', 10).ok, false);
    assert.equal(parseBatch(Buffer.from('{"topic":"a"}'), 'json', 't', 10).ok, false);
    assert.equal(parseBatch(Buffer.from('\n\n'), 'ndjson', 't', 10).ok, false);
    const over = parseBatch(Buffer.from('{}\n{}\n{}'), 'ndjson', 't', 2);
    assert.ok(!over.ok && over.tooMany === true);
  });

  it('batchFormat by media type, parameters ignored', () => {
    assert.equal(batchFormat('application/x-ndjson; charset=utf-8'), 'ndjson');
    assert.equal(batchFormat('Application/JSON'), 'json');
    assert.equal(batchFormat('text/plain'), undefined);
    assert.equal(batchFormat(undefined), undefined);
  });
});

describe('parseAuthorization', () => {
  it('Basic, Bearer, none; malformed is undefined', () => {
    assert.deepEqual(parseAuthorization(`Basic ${Buffer.from('alice:pa:ss').toString('base64')}`), { username: 'alice', password: Buffer.from('pa:ss') });
    assert.deepEqual(parseAuthorization('Bearer abc.def.ghi'), { username: undefined, password: Buffer.from('abc.def.ghi') });
    assert.deepEqual(parseAuthorization(undefined), { username: undefined, password: undefined });
    for (const bad of ['Basic', 'Basic !!!', `Basic ${Buffer.from('nocolon').toString('base64')}`, 'Bearer ', 'Digest x=1']) assert.equal(parseAuthorization(bad), undefined, bad);
  });
});

describe('answers', () => {
  it('the pipeline refusals map to the MQTT side reasons', () => {
    assert.equal(STATUS[refusalError('acl')], 403);
    assert.equal(STATUS[refusalError('unmapped')], 404);
    assert.equal(STATUS[refusalError('invalid-kafka-topic')], 400);
    assert.equal(STATUS[refusalError('record-too-large')], 413);
    for (const cause of ['timeout', 'unavailable', 'abandoned', 'shutting-down'] as const) assert.equal(STATUS[refusalError(cause)], 503, cause);
    for (const cause of ['not-authorized', 'topic-missing', 'invalid-record', 'unknown'] as const) assert.equal(STATUS[refusalError(cause)], 502, cause);
  });

  it('written answers carry the position; batches are 200 only when all were written; Retry-After for 429 and 503', () => {
    assert.deepEqual(written({ topic: 't', partition: 2, offset: '41' }), { status: 200, topic: 't', partition: 2, offset: 41 });
    assert.deepEqual(written(undefined), { status: 200 });
    assert.equal(batchStatus([written(undefined), written(undefined)]), 200);
    assert.equal(batchStatus([written(undefined), failure('forbidden', 'no')]), 207);
    assert.deepEqual([429, 503, 500, 200].map(retryLater), [true, true, false, false]);
  });
});

describe('RequestLimits', () => {
  it('per address and in total, released once each', () => {
    const limits = new RequestLimits(3, 2);
    assert.equal(limits.admit('a'), 'admitted');
    assert.equal(limits.admit('a'), 'admitted');
    assert.equal(limits.admit('a'), 'address-full');
    assert.equal(limits.admit('b'), 'admitted');
    assert.equal(limits.admit('c'), 'listener-full');
    limits.release('a');
    assert.equal(limits.admit('c'), 'admitted');
    assert.equal(limits.inFlight, 3);
  });
});
