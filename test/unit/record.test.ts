import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Route } from '../../src/mapping/types.js';
import type { InboundPublish, MqttSession, PublishProperties } from '../../src/mqtt/types.js';
import { Header, buildRecord } from '../../src/pipeline/record.js';

const RECEIVED_AT = 1_717_171_717_171;

function session(extra: Partial<MqttSession> = {}): MqttSession {
  return { clientId: 'dev-1', username: 'alice', protocolVersion: 4, remoteAddress: '10.0.0.1', listener: 'tcp:1883', ...extra };
}

function publish(extra: Partial<InboundPublish> = {}): InboundPublish {
  return {
    topic: 'devices/dev-1/telemetry',
    payload: Buffer.from('{"t":21.5}'),
    qos: 1,
    retain: false,
    will: false,
    properties: undefined,
    receivedAt: RECEIVED_AT,
    ...extra,
  };
}

function route(extra: Partial<Route> = {}): Route {
  return { kind: 'mapped', rule: 'telemetry', kafkaTopic: 'iot.telemetry', key: 'dev-1', ...extra };
}

/** MQTT 5 user properties as mqtt-packet parses them: a null-prototype object. */
function userProps(entries: Record<string, string | string[]>): Record<string, string | string[]> {
  return Object.assign(Object.create(null) as Record<string, string | string[]>, entries);
}

function v5(properties: PublishProperties, extra: Partial<InboundPublish> = {}) {
  return buildRecord(publish({ properties, ...extra }), session({ protocolVersion: 5 }), route());
}

const BASE_HEADERS = {
  'mqtt.topic': 'devices/dev-1/telemetry',
  'mqtt.qos': '1',
  'mqtt.retain': 'false',
  'mqtt.client_id': 'dev-1',
};

describe('buildRecord: record fields', () => {
  test('topic and key come from the route, timestamp is receivedAt', () => {
    const r = buildRecord(publish(), session(), route({ kafkaTopic: 'iot.x', key: 'k-1' }));
    assert.equal(r.topic, 'iot.x');
    assert.equal(r.key, 'k-1');
    assert.equal(r.timestamp, RECEIVED_AT);
  });

  test('a null key passes through as null', () => {
    const r = buildRecord(publish(), session(), route({ key: null }));
    assert.equal(r.key, null);
  });

  test('an empty-string key stays an empty string (not null)', () => {
    assert.equal(buildRecord(publish(), session(), route({ key: '' })).key, '');
  });

  test('the value has exactly the payload bytes', () => {
    const bytes = Buffer.from([0x00, 0xff, 0x80, 0x7f, 0x0a, 0x0d, 0xc3, 0x28]); // not valid UTF-8
    const r = buildRecord(publish({ payload: bytes }), session(), route());
    assert.ok(Buffer.isBuffer(r.value));
    assert.ok(r.value.equals(Buffer.from([0x00, 0xff, 0x80, 0x7f, 0x0a, 0x0d, 0xc3, 0x28])));
    assert.equal(r.value.length, 8);
  });

  test('an empty payload stays an empty buffer', () => {
    const r = buildRecord(publish({ payload: Buffer.alloc(0) }), session(), route());
    assert.ok(Buffer.isBuffer(r.value));
    assert.equal(r.value.length, 0);
  });

  test('a large binary payload is unchanged', () => {
    const bytes = Buffer.alloc(256 * 1024);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + 7) & 0xff;
    const r = buildRecord(publish({ payload: bytes }), session(), route());
    assert.ok(r.value.equals(bytes));
  });

  test('the timestamp is receivedAt, not the time of the call', () => {
    const r = buildRecord(publish({ receivedAt: 12345 }), session(), route());
    assert.equal(r.timestamp, 12345);
  });
});

describe('buildRecord: MQTT 3.1.1 headers', () => {
  test('exactly topic, qos, retain and client id', () => {
    const r = buildRecord(publish(), session(), route());
    assert.deepEqual({ ...r.headers }, BASE_HEADERS);
  });

  for (const qos of [0, 1, 2] as const) {
    test(`qos ${qos} is the text "${qos}"`, () => {
      assert.equal(buildRecord(publish({ qos }), session(), route()).headers[Header.qos], String(qos));
    });
  }

  test('retain true is "true"', () => {
    assert.equal(buildRecord(publish({ retain: true }), session(), route()).headers[Header.retain], 'true');
  });

  test('a publish id (QoS 2 of a persistent session) becomes mqtt.publish_id; none, no header', () => {
    assert.equal(buildRecord(publish({ qos: 2, publishId: 'c0ffee:7' }), session(), route()).headers[Header.publishId], 'c0ffee:7');
    assert.equal(buildRecord(publish({ qos: 2 }), session(), route()).headers[Header.publishId], undefined);
  });

  test('the client id header is the session client id, whatever the username', () => {
    const r = buildRecord(publish(), session({ clientId: 'other', username: undefined }), route());
    assert.equal(r.headers[Header.clientId], 'other');
  });

  test('the topic header is the MQTT topic as written, not the Kafka topic', () => {
    const r = buildRecord(publish({ topic: 'a/b/c' }), session(), route({ kafkaTopic: 'k' }));
    assert.equal(r.headers[Header.topic], 'a/b/c');
  });

  test('a Last Will adds mqtt.will = "true"', () => {
    const r = buildRecord(publish({ will: true }), session(), route());
    assert.deepEqual({ ...r.headers }, { ...BASE_HEADERS, 'mqtt.will': 'true' });
  });

  test('no mqtt.will header for an ordinary PUBLISH', () => {
    assert.equal(Object.hasOwn(buildRecord(publish(), session(), route()).headers, Header.will), false);
  });

  test('header names are the documented ones', () => {
    assert.deepEqual(Header, {
      topic: 'mqtt.topic',
      qos: 'mqtt.qos',
      retain: 'mqtt.retain',
      clientId: 'mqtt.client_id',
      will: 'mqtt.will',
      publishId: 'mqtt.publish_id',
      contentType: 'mqtt.content_type',
      payloadFormatIndicator: 'mqtt.payload_format_indicator',
      responseTopic: 'mqtt.response_topic',
      correlationData: 'mqtt.correlation_data',
      messageExpiryInterval: 'mqtt.message_expiry_interval',
    });
  });
});

describe('buildRecord: MQTT 5 properties', () => {
  test('every property becomes its header', () => {
    const correlation = Buffer.from([1, 2, 3, 0, 255]);
    const r = v5({
      contentType: 'application/json',
      payloadFormatIndicator: true,
      responseTopic: 'replies/dev-1',
      correlationData: correlation,
      messageExpiryInterval: 3600,
    });
    assert.deepEqual(
      { ...r.headers },
      {
        ...BASE_HEADERS,
        'mqtt.content_type': 'application/json',
        'mqtt.payload_format_indicator': '1',
        'mqtt.response_topic': 'replies/dev-1',
        'mqtt.correlation_data': Buffer.from([1, 2, 3, 0, 255]),
        'mqtt.message_expiry_interval': '3600',
      },
    );
    const header = r.headers[Header.correlationData];
    assert.ok(Buffer.isBuffer(header), 'correlation data stays binary');
    assert.ok(header.equals(correlation));
  });

  test('payload format indicator false is "0"', () => {
    assert.equal(v5({ payloadFormatIndicator: false }).headers[Header.payloadFormatIndicator], '0');
  });

  test('message expiry interval 0 is kept as "0"', () => {
    assert.equal(v5({ messageExpiryInterval: 0 }).headers[Header.messageExpiryInterval], '0');
  });

  test('empty properties add nothing', () => {
    assert.deepEqual({ ...v5({}).headers }, BASE_HEADERS);
  });

  test('properties present but undefined add nothing', () => {
    const r = v5({
      contentType: undefined,
      payloadFormatIndicator: undefined,
      responseTopic: undefined,
      correlationData: undefined,
      userProperties: undefined,
      messageExpiryInterval: undefined,
    });
    assert.deepEqual({ ...r.headers }, BASE_HEADERS);
  });

  test('an empty content type is kept', () => {
    assert.equal(v5({ contentType: '' }).headers[Header.contentType], '');
  });

  test('MQTT 5 will with properties carries both', () => {
    const r = v5({ contentType: 'text/plain' }, { will: true });
    assert.equal(r.headers[Header.will], 'true');
    assert.equal(r.headers[Header.contentType], 'text/plain');
  });
});

describe('buildRecord: MQTT 5 user properties', () => {
  test('a single user property becomes a header of its own name', () => {
    const r = v5({ userProperties: userProps({ site: 'plant-7' }) });
    assert.deepEqual({ ...r.headers }, { ...BASE_HEADERS, site: 'plant-7' });
  });

  test('several user properties each become a header', () => {
    const r = v5({ userProperties: userProps({ site: 'plant-7', line: '3', 'x-trace': 'abc' }) });
    assert.equal(r.headers.site, 'plant-7');
    assert.equal(r.headers.line, '3');
    assert.equal(r.headers['x-trace'], 'abc');
  });

  test('a repeated user property becomes a repeated header, values in order', () => {
    const r = v5({ userProperties: userProps({ tag: ['a', 'b', 'c'] }) });
    assert.deepEqual(r.headers.tag, ['a', 'b', 'c']);
  });

  test('a one-element array is a plain value', () => {
    assert.equal(v5({ userProperties: userProps({ tag: ['only'] }) }).headers.tag, 'only');
  });

  test('the header array is a copy, not the packet array', () => {
    const values = ['a', 'b'];
    const r = v5({ userProperties: userProps({ tag: values }) });
    assert.notEqual(r.headers.tag, values);
    values.push('c');
    assert.deepEqual(r.headers.tag, ['a', 'b']);
  });

  // Ours last: Kafka consumers that read one value (lastHeader) get the proxy's, not the client's.
  test('a user property named like one of our headers repeats it; ours comes last', () => {
    const r = v5({ userProperties: userProps({ 'mqtt.topic': 'spoofed' }) });
    assert.deepEqual(r.headers[Header.topic], ['spoofed', 'devices/dev-1/telemetry']);
  });

  test('a repeated user property named like one of our headers: all theirs in order, then ours', () => {
    const r = v5({ userProperties: userProps({ 'mqtt.client_id': ['x', 'y'] }) });
    assert.deepEqual(r.headers[Header.clientId], ['x', 'y', 'dev-1']);
  });

  test('a user property named like an MQTT 5 property header repeats it too', () => {
    const r = v5({ contentType: 'application/json', userProperties: userProps({ 'mqtt.content_type': 'text/plain' }) });
    assert.deepEqual(r.headers[Header.contentType], ['text/plain', 'application/json']);
  });

  test('a user property named like a header that is absent is a plain header', () => {
    const r = v5({ userProperties: userProps({ 'mqtt.will': 'maybe' }) });
    assert.equal(r.headers[Header.will], 'maybe');
  });

  test('empty name and empty value are kept', () => {
    const r = v5({ userProperties: userProps({ '': '' }) });
    assert.equal(r.headers[''], '');
  });

  test('user properties do not change the base headers of other records', () => {
    v5({ userProperties: userProps({ 'mqtt.topic': 'spoofed' }) });
    assert.deepEqual({ ...buildRecord(publish(), session(), route()).headers }, BASE_HEADERS);
  });

  // mqtt-packet parses user properties into an Object.create(null) object, so any name a client
  // sends arrives as an own key, including names that exist on Object.prototype.
  for (const name of ['constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
    test(`a user property named "${name}" becomes exactly that header`, () => {
      const r = v5({ userProperties: userProps({ [name]: 'v' }) });
      assert.equal(r.headers[name], 'v');
    });
  }

  test('a user property named "__proto__" becomes an own header and leaves the headers object sane', () => {
    const props = Object.create(null) as Record<string, string>;
    props['__proto__'] = 'v'; // own key on a null-prototype object, as mqtt-packet builds it
    assert.deepEqual(Object.keys(props), ['__proto__']);
    const r = v5({ userProperties: props });
    assert.deepEqual(Object.keys(r.headers).sort(), [...Object.keys(BASE_HEADERS), '__proto__'].sort());
    assert.equal(Object.getOwnPropertyDescriptor(r.headers, '__proto__')?.value, 'v');
    // Nothing inherited shows up when the headers are enumerated (a client may use Object.keys, the lane uses for...in).
    const enumerated: string[] = [];
    for (const key in r.headers) enumerated.push(key);
    assert.deepEqual(enumerated.sort(), Object.keys(r.headers).sort());
  });
});
