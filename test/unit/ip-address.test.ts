import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CidrSet,
  formatIpv6,
  normalizeAddress,
  parseCidr,
  parseIp,
  parseIpv4,
  parseIpv6,
  unmapIpv4,
} from '../../src/common/ip-address.js';

const v6 = (text: string): string => {
  const bytes = parseIpv6(text);
  assert.ok(bytes, text);
  return formatIpv6(bytes);
};

describe('IPv4 parsing', () => {
  it('accepts dotted quads', () => {
    assert.deepEqual([...parseIpv4('0.0.0.0')!], [0, 0, 0, 0]);
    assert.deepEqual([...parseIpv4('255.255.255.255')!], [255, 255, 255, 255]);
    assert.deepEqual([...parseIpv4('10.1.20.3')!], [10, 1, 20, 3]);
  });
  it('refuses everything else', () => {
    for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1.2.3.-1', '01.2.3.4', '1.2.3.4 ', ' 1.2.3.4', '1..3.4', 'a.b.c.d', '1.2.3.1000', '0x1.2.3.4', '1.2.3.4/8']) {
      assert.equal(parseIpv4(bad), null, bad);
    }
  });
});

describe('IPv6 parsing and RFC 5952 formatting', () => {
  it('reads full, compressed and IPv4-tailed forms', () => {
    assert.equal(v6('2001:0db8:0000:0000:0000:0000:0000:0001'), '2001:db8::1');
    assert.equal(v6('::'), '::');
    assert.equal(v6('::1'), '::1');
    assert.equal(v6('1::'), '1::');
    assert.equal(v6('FE80::A:B'), 'fe80::a:b');
    assert.equal(v6('::ffff:10.0.0.1'), '::ffff:a00:1');
    assert.equal(v6('1:2:3:4:5:6:1.2.3.4'), '1:2:3:4:5:6:102:304');
    assert.equal(v6('1:0:0:2:0:0:0:3'), '1:0:0:2::3', 'the longest zero run is compressed');
    assert.equal(v6('1:0:0:2:0:0:3:4'), '1::2:0:0:3:4', 'the first of equal runs');
    assert.equal(v6('1:0:2:3:4:5:6:7'), '1:0:2:3:4:5:6:7', 'a single zero group is not compressed');
  });
  it('refuses malformed addresses', () => {
    for (const bad of ['', ':', ':::', '1::2::3', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '12345::', 'g::1', '1:2:3:4:5:6:7:8::', '::1.2.3', '1.2.3.4::', '::1.2.3.4:5', 'fe80::1%eth0', '1:2:3:4:5:6:7::8']) {
      assert.equal(parseIpv6(bad), null, bad);
    }
  });
  it('parseIp takes socket addresses, zone ids included', () => {
    assert.equal(parseIp('fe80::1%eth0')?.length, 16);
    assert.equal(parseIp('127.0.0.1')?.length, 4);
    assert.equal(parseIp('localhost'), null);
  });
  it('unmaps IPv4-mapped IPv6 only', () => {
    assert.deepEqual([...unmapIpv4(parseIpv6('::ffff:1.2.3.4')!)], [1, 2, 3, 4]);
    assert.equal(unmapIpv4(parseIpv6('::1.2.3.4')!).length, 16);
    assert.equal(unmapIpv4(parseIpv6('1::ffff:1.2.3.4')!).length, 16);
  });
  it('normalizes addresses for logs and limits', () => {
    assert.equal(normalizeAddress('::ffff:127.0.0.5'), '127.0.0.5');
    assert.equal(normalizeAddress('2001:DB8:0:0::1'), '2001:db8::1');
    assert.equal(normalizeAddress('unknown'), 'unknown');
  });
});

describe('CIDR ranges', () => {
  it('parses IPv4 and IPv6 ranges and single addresses', () => {
    const ok = (text: string): { family: number; prefixLength: number } => {
      const result = parseCidr(text);
      assert.ok(result.ok, `${text}: ${result.ok ? '' : result.problem}`);
      return { family: result.cidr.family, prefixLength: result.cidr.prefixLength };
    };
    assert.deepEqual(ok('10.0.0.0/8'), { family: 4, prefixLength: 8 });
    assert.deepEqual(ok('0.0.0.0/0'), { family: 4, prefixLength: 0 });
    assert.deepEqual(ok('192.168.1.7'), { family: 4, prefixLength: 32 });
    assert.deepEqual(ok('2001:db8::/32'), { family: 6, prefixLength: 32 });
    assert.deepEqual(ok('::/0'), { family: 6, prefixLength: 0 });
    assert.deepEqual(ok('::1'), { family: 6, prefixLength: 128 });
    assert.deepEqual(ok('10.1.2.128/25'), { family: 4, prefixLength: 25 });
  });
  it('refuses bad ranges with a reason', () => {
    const problem = (text: string): string => {
      const result = parseCidr(text);
      assert.ok(!result.ok, text);
      return result.problem;
    };
    assert.match(problem('10.1.2.3/8'), /host bits set: the range is 10\.0\.0\.0\/8/);
    assert.match(problem('2001:db8::1/32'), /the range is 2001:db8::\/32/);
    assert.match(problem('10.0.0.0/33'), /0 to 32 for IPv4/);
    assert.match(problem('::/129'), /0 to 128 for IPv6/);
    assert.match(problem('10.0.0.0/'), /prefix length/);
    assert.match(problem('10.0.0.0/08'), /prefix length/);
    assert.match(problem('10.0.0.0/-1'), /prefix length/);
    assert.match(problem('10.0.0.0/8/8'), /prefix length/);
    assert.match(problem('host.example/8'), /not an IPv4 or IPv6 address/);
    assert.match(problem('fe80::%eth0/64'), /zone/);
    assert.match(problem(' 10.0.0.0/8'), /whitespace/);
    assert.match(problem(''), /expected a CIDR range/);
  });
  it('matches addresses, IPv4-mapped IPv6 as IPv4 and IPv4 against mapped ranges', () => {
    const set = CidrSet.parse(['10.0.0.0/8', '192.168.1.0/24', '2001:db8::/32', '::ffff:172.16.0.0/108']);
    const inside = ['10.0.0.0', '10.255.255.255', '::ffff:10.1.2.3', '192.168.1.200', '2001:db8::1', '2001:db8:ffff::', '172.16.5.5', '::ffff:172.16.0.1'];
    const outside = ['11.0.0.0', '9.255.255.255', '192.168.2.1', '2001:db9::', '::1', '172.32.0.0', '::10.1.2.3', 'fe80::1%eth0', 'nonsense', undefined];
    for (const address of inside) assert.equal(set.contains(address), true, address);
    for (const address of outside) assert.equal(set.contains(address), false, String(address));
  });
  it('/0 contains its whole family and nothing of the other', () => {
    assert.equal(CidrSet.parse(['0.0.0.0/0']).contains('203.0.113.9'), true);
    assert.equal(CidrSet.parse(['0.0.0.0/0']).contains('2001:db8::1'), false);
    assert.equal(CidrSet.parse(['::/0']).contains('2001:db8::1'), true);
    assert.equal(CidrSet.parse(['::/0']).contains('203.0.113.9'), true, 'an IPv4 peer is ::ffff:a.b.c.d in IPv6');
    assert.equal(new CidrSet([]).contains('127.0.0.1'), false);
  });
  it('CidrSet.parse throws on an invalid entry', () => {
    assert.throws(() => CidrSet.parse(['10.0.0.1/8']), /host bits/);
  });
});
