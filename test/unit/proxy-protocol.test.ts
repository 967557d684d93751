import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  detectProxyHeader,
  encodeProxyV2,
  parseProxyHeader,
  PROXY_V1_MAX_LENGTH,
  PROXY_V2_MAX_LENGTH,
  PROXY_V2_SIGNATURE,
  type ProxyParseResult,
} from '../../src/listeners/proxy-protocol.js';

const MQTT_CONNECT = Buffer.from([0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x3c, 0x00, 0x00]);

function complete(result: ProxyParseResult): Extract<ProxyParseResult, { status: 'complete' }> {
  assert.equal(result.status, 'complete', JSON.stringify(result));
  return result as Extract<ProxyParseResult, { status: 'complete' }>;
}

function invalidReason(data: Uint8Array): string {
  const result = parseProxyHeader(data);
  assert.equal(result.status, 'invalid', JSON.stringify(result));
  return (result as { reason: string }).reason;
}

/** v2 header with a raw version/command, family/transport and body. */
function v2(versionCommand: number, familyTransport: number, body: Uint8Array, declaredLength = body.length): Buffer {
  const header = Buffer.from([versionCommand, familyTransport, declaredLength >> 8, declaredLength & 0xff]);
  return Buffer.concat([PROXY_V2_SIGNATURE, header, body]);
}

describe('PROXY header detection', () => {
  it('says yes, no or maybe from the first bytes', () => {
    assert.equal(detectProxyHeader(Buffer.alloc(0)), 'maybe');
    assert.equal(detectProxyHeader(Buffer.from('PRO')), 'maybe');
    assert.equal(detectProxyHeader(Buffer.from('PROXY ')), 'yes');
    assert.equal(detectProxyHeader(PROXY_V2_SIGNATURE.subarray(0, 5)), 'maybe');
    assert.equal(detectProxyHeader(PROXY_V2_SIGNATURE), 'yes');
    assert.equal(detectProxyHeader(MQTT_CONNECT), 'no');
    assert.equal(detectProxyHeader(Buffer.from('PROXZ')), 'no');
    assert.equal(detectProxyHeader(Buffer.from('\r\n\r\nX')), 'no');
    assert.equal(detectProxyHeader(Buffer.from([0x16, 0x03, 0x01])), 'no', 'a TLS ClientHello');
  });
});

describe('PROXY v1', () => {
  it('parses TCP4 and reports the header length so the client bytes follow', () => {
    const header = 'PROXY TCP4 198.51.100.22 203.0.113.7 35646 1883\r\n';
    const result = complete(parseProxyHeader(Buffer.concat([Buffer.from(header), MQTT_CONNECT])));
    assert.equal(result.length, header.length);
    assert.deepEqual(result.header, {
      version: 1,
      command: 'proxy',
      transport: 'tcp4',
      source: { address: '198.51.100.22', port: 35646 },
      destination: { address: '203.0.113.7', port: 1883 },
    });
  });
  it('parses TCP6 in canonical form, and UNKNOWN without addresses', () => {
    const result = complete(parseProxyHeader(Buffer.from('PROXY TCP6 2001:DB8:0:0::1 ::1 65535 0\r\n')));
    assert.deepEqual(result.header.source, { address: '2001:db8::1', port: 65535 });
    assert.deepEqual(result.header.destination, { address: '::1', port: 0 });
    const unknown = complete(parseProxyHeader(Buffer.from('PROXY UNKNOWN ffff:f...f:ffff 1.2.3.4 65535 65535\r\n')));
    assert.deepEqual(unknown.header, { version: 1, command: 'proxy', transport: 'unknown' });
    assert.equal(complete(parseProxyHeader(Buffer.from('PROXY UNKNOWN\r\n'))).length, 15);
  });
  it('accepts the longest legal header (107 bytes)', () => {
    const full = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff';
    const header = `PROXY UNKNOWN ${full} ${full} 65535 65535\r\n`;
    assert.equal(header.length, PROXY_V1_MAX_LENGTH);
    assert.equal(complete(parseProxyHeader(Buffer.from(header))).length, 107);
    const tcp6 = `PROXY TCP6 ${full} ${full} 65535 65535\r\n`;
    assert.equal(complete(parseProxyHeader(Buffer.from(tcp6))).header.source?.address, full);
  });
  it('waits for more bytes while the line is short and unterminated', () => {
    for (const partial of ['P', 'PROXY', 'PROXY ', 'PROXY TCP4 1.2.3.4', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r']) {
      assert.deepEqual(parseProxyHeader(Buffer.from(partial)), { status: 'incomplete' }, partial);
    }
  });
  it('refuses a line without CRLF within 107 bytes', () => {
    assert.match(invalidReason(Buffer.from(`PROXY TCP4 ${'1'.repeat(120)}`)), /longer than 107/);
  });
  it('refuses malformed lines', () => {
    const cases: Array<[string, RegExp]> = [
      ['PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n', /CRLF/],
      ['PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n', /TCP4, TCP6 or UNKNOWN/],
      ['PROXY \r\n', /TCP4, TCP6 or UNKNOWN/],
      ['PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n', /TCP4, TCP6 or UNKNOWN/],
      ['PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n', /6 space-separated fields/],
      ['PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n', /6 space-separated fields/],
      ['PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n', /6 space-separated fields/],
      ['PROXY TCP4 1.2.3.400 5.6.7.8 1 2\r\n', /source "1\.2\.3\.400" is not an IPv4/],
      ['PROXY TCP4 ::1 5.6.7.8 1 2\r\n', /source "::1" is not an IPv4/],
      ['PROXY TCP6 1.2.3.4 ::1 1 2\r\n', /source "1\.2\.3\.4" is not an IPv6/],
      ['PROXY TCP6 ::1 5.6.7.8 1 2\r\n', /destination "5\.6\.7\.8" is not an IPv6/],
      ['PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n', /source port "65536"/],
      ['PROXY TCP4 1.2.3.4 5.6.7.8 1 02\r\n', /destination port "02"/],
      ['PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n', /source port/],
      ['PROXY TCP4 1.2.3.4 5.6.7.8 1 2\x00\r\n', /non-printable/],
    ];
    for (const [line, reason] of cases) assert.match(invalidReason(Buffer.from(line, 'latin1')), reason, JSON.stringify(line));
  });
  it('refuses bytes that are not a PROXY header at all', () => {
    assert.match(invalidReason(MQTT_CONNECT), /no PROXY protocol signature/);
    assert.match(invalidReason(Buffer.from('GET / HTTP/1.1\r\n')), /no PROXY protocol signature/);
  });
});

describe('PROXY v2', () => {
  it('parses PROXY over TCP/IPv4 and leaves the client bytes after the header', () => {
    const header = encodeProxyV2('proxy', { source: { address: '127.0.0.5', port: 40001 }, destination: { address: '127.0.0.1', port: 1883 } });
    assert.equal(header.length, 28);
    const result = complete(parseProxyHeader(Buffer.concat([header, MQTT_CONNECT])));
    assert.equal(result.length, 28);
    assert.deepEqual(result.header, {
      version: 2,
      command: 'proxy',
      transport: 'tcp4',
      source: { address: '127.0.0.5', port: 40001 },
      destination: { address: '127.0.0.1', port: 1883 },
    });
  });
  it('parses TCP/IPv6 and skips TLVs', () => {
    const tlvs = Buffer.from([0x01, 0x00, 0x02, 0x68, 0x32, 0x04, 0x00, 0x00]); // ALPN "h2", NOOP
    const header = encodeProxyV2('proxy', { source: { address: '2001:db8::5', port: 1 }, destination: { address: '::1', port: 8883 } }, tlvs);
    const result = complete(parseProxyHeader(header));
    assert.equal(result.length, 16 + 36 + tlvs.length);
    assert.equal(result.header.transport, 'tcp6');
    assert.deepEqual(result.header.source, { address: '2001:db8::5', port: 1 });
    assert.deepEqual(result.header.destination, { address: '::1', port: 8883 });
  });
  it('parses UDP families as such', () => {
    const body = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2]);
    assert.equal(complete(parseProxyHeader(v2(0x21, 0x12, body))).header.transport, 'udp4');
    assert.equal(complete(parseProxyHeader(v2(0x21, 0x22, Buffer.alloc(36)))).header.transport, 'udp6');
  });
  it('LOCAL: no client address, whatever the address block says', () => {
    const local = complete(parseProxyHeader(encodeProxyV2('local')));
    assert.deepEqual(local, { status: 'complete', length: 16, header: { version: 2, command: 'local', transport: 'unknown' } });
    const withBlock = complete(parseProxyHeader(v2(0x20, 0x11, Buffer.alloc(12, 7))));
    assert.equal(withBlock.header.command, 'local');
    assert.equal(withBlock.header.source, undefined);
    assert.equal(withBlock.length, 28);
  });
  it('PROXY with an unspecified family or transport names no address', () => {
    assert.deepEqual(complete(parseProxyHeader(v2(0x21, 0x00, Buffer.alloc(0)))).header, { version: 2, command: 'proxy', transport: 'unknown' });
    assert.equal(complete(parseProxyHeader(v2(0x21, 0x10, Buffer.alloc(12)))).header.transport, 'unknown');
  });
  it('unix families: the source path when there is one, never an IP address', () => {
    const body = Buffer.alloc(216);
    body.write('/run/haproxy.sock', 0);
    const stream = complete(parseProxyHeader(v2(0x21, 0x31, body)));
    assert.deepEqual(stream.header, { version: 2, command: 'proxy', transport: 'unix-stream', sourcePath: '/run/haproxy.sock' });
    const dgram = complete(parseProxyHeader(v2(0x21, 0x32, Buffer.alloc(216))));
    assert.deepEqual(dgram.header, { version: 2, command: 'proxy', transport: 'unix-dgram' });
    const unterminated = Buffer.alloc(216, 0x61);
    assert.equal(complete(parseProxyHeader(v2(0x21, 0x31, unterminated))).header.sourcePath, 'a'.repeat(108));
  });
  it('waits for the whole header, byte by byte', () => {
    const header = encodeProxyV2('proxy', { source: { address: '10.0.0.1', port: 1 }, destination: { address: '10.0.0.2', port: 2 } });
    for (let n = 0; n < header.length; n++) assert.deepEqual(parseProxyHeader(header.subarray(0, n)), { status: 'incomplete' }, `${n} bytes`);
    complete(parseProxyHeader(header));
  });
  it('accepts up to 536 bytes and refuses a longer declared length at once', () => {
    const largest = v2(0x21, 0x11, Buffer.alloc(PROXY_V2_MAX_LENGTH - 16));
    assert.equal(complete(parseProxyHeader(largest)).length, PROXY_V2_MAX_LENGTH);
    // Only the 16-byte header is there: the length alone is enough to refuse.
    assert.match(invalidReason(v2(0x21, 0x11, Buffer.alloc(0), PROXY_V2_MAX_LENGTH - 15)), /537 bytes is longer than the 536/);
    assert.match(invalidReason(v2(0x21, 0x11, Buffer.alloc(0), 0xffff)), /longer than the 536/);
  });
  it('refuses bad versions, commands, families, transports and short address blocks', () => {
    const cases: Array<[Buffer, RegExp]> = [
      [v2(0x11, 0x11, Buffer.alloc(12)), /version nibble must be 2, got 1/],
      [v2(0x31, 0x11, Buffer.alloc(12)), /version nibble must be 2, got 3/],
      [v2(0x22, 0x11, Buffer.alloc(12)), /LOCAL \(0\) or PROXY \(1\), got 2/],
      [v2(0x2f, 0x11, Buffer.alloc(12)), /got 15/],
      [v2(0x21, 0x41, Buffer.alloc(12)), /family must be 0 to 3, got 4/],
      [v2(0x21, 0x13, Buffer.alloc(12)), /transport must be 0 to 2, got 3/],
      [v2(0x21, 0x11, Buffer.alloc(11)), /IPv4 address block needs 12 bytes, the header has 11/],
      [v2(0x21, 0x21, Buffer.alloc(12)), /IPv6 address block needs 36 bytes, the header has 12/],
      [v2(0x21, 0x31, Buffer.alloc(100)), /unix address block needs 216 bytes/],
    ];
    for (const [data, reason] of cases) assert.match(invalidReason(data), reason);
  });
  it('refuses garbage after a partial signature', () => {
    const garbage = Buffer.concat([PROXY_V2_SIGNATURE.subarray(0, 6), Buffer.from('garbage!!!!!')]);
    assert.match(invalidReason(garbage), /no PROXY protocol signature/);
  });
  it('never throws on random bytes behind either signature', () => {
    let seed = 42;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed & 0xff;
    };
    for (let i = 0; i < 2000; i++) {
      const length = random() + random();
      const tail = Buffer.from(Array.from({ length }, random));
      const prefix = i % 2 === 0 ? PROXY_V2_SIGNATURE : Buffer.from('PROXY ');
      const result = parseProxyHeader(Buffer.concat([prefix, tail]));
      assert.ok(['complete', 'incomplete', 'invalid'].includes(result.status));
      if (result.status === 'complete') assert.ok(result.length <= Math.max(PROXY_V2_MAX_LENGTH, PROXY_V1_MAX_LENGTH));
    }
  });
});

describe('encodeProxyV2', () => {
  it('refuses mixed or non-IP addresses', () => {
    assert.throws(() => encodeProxyV2('proxy', { source: { address: '1.2.3.4', port: 1 }, destination: { address: '::1', port: 2 } }));
    assert.throws(() => encodeProxyV2('proxy', { source: { address: 'host', port: 1 }, destination: { address: 'host', port: 2 } }));
  });
});
