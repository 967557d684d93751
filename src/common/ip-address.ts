/**
 * IP addresses and CIDR ranges, parsed and compared as bytes (no DNS, no I/O).
 *
 * Used for the trusted sources of PROXY protocol headers and X-Forwarded-For: the config checks the
 * ranges with it, the listeners match peers against them. IPv4 addresses are
 * compared with IPv4-mapped IPv6 ones (`::ffff:10.0.0.1`) as the same address, because a socket
 * bound to `::` reports IPv4 peers in that form.
 */

/** 4 bytes for IPv4, 16 for IPv6. */
export type IpBytes = Uint8Array;

export interface Cidr {
  /** As written in the config, for messages. */
  readonly text: string;
  readonly family: 4 | 6;
  /** Network address; host bits are zero. */
  readonly network: IpBytes;
  readonly prefixLength: number;
}

export type CidrParseResult = { readonly ok: true; readonly cidr: Cidr } | { readonly ok: false; readonly problem: string };

const IPV4_PART = /^(?:0|[1-9][0-9]{0,2})$/;
const IPV6_GROUP = /^[0-9A-Fa-f]{1,4}$/;

/** Dotted-quad IPv4 (no leading zeros: `010` is octal to some parsers, decimal to others). */
export function parseIpv4(text: string): IpBytes | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!;
    if (!IPV4_PART.test(part)) return null;
    const value = Number(part);
    if (value > 255) return null;
    bytes[i] = value;
  }
  return bytes;
}

/** IPv6 in any RFC 4291 text form, with `::` and an optional dotted IPv4 tail; no zone id. */
export function parseIpv6(text: string): IpBytes | null {
  if (text.length === 0 || text.length > 45) return null;
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groupsOf = (half: string): number[] | null => {
    if (half === '') return [];
    const words: number[] = [];
    const pieces = half.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!;
      if (i === pieces.length - 1 && piece.includes('.')) {
        const v4 = parseIpv4(piece);
        if (v4 === null) return null;
        words.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (IPV6_GROUP.test(piece)) {
        words.push(parseInt(piece, 16));
      } else {
        return null;
      }
    }
    return words;
  };
  const head = groupsOf(halves[0]!);
  if (head === null) return null;
  let words: number[];
  if (halves.length === 2) {
    const tail = groupsOf(halves[1]!);
    if (tail === null) return null;
    // A dotted IPv4 tail may only end the address.
    if (halves[0]!.includes('.')) return null;
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return null;
    words = [...head, ...new Array<number>(missing).fill(0), ...tail];
  } else {
    words = head;
  }
  if (words.length !== 8) return null;
  const bytes = new Uint8Array(16);
  words.forEach((word, i) => {
    bytes[i * 2] = word >> 8;
    bytes[i * 2 + 1] = word & 0xff;
  });
  return bytes;
}

/** An address as sockets report it: IPv4, IPv6, or IPv6 with a `%zone` (ignored). */
export function parseIp(text: string): IpBytes | null {
  if (text.includes(':')) {
    const zone = text.indexOf('%');
    return parseIpv6(zone === -1 ? text : text.slice(0, zone));
  }
  return parseIpv4(text);
}

/** `::ffff:a.b.c.d` as its 4 IPv4 bytes; any other address unchanged. */
export function unmapIpv4(bytes: IpBytes): IpBytes {
  if (bytes.length !== 16) return bytes;
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return bytes;
  if (bytes[10] !== 0xff || bytes[11] !== 0xff) return bytes;
  return bytes.slice(12);
}

export function formatIpv4(bytes: IpBytes): string {
  return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
}

/** RFC 5952 text: lowercase, no leading zeros, the longest run (2+) of zero groups as `::`. */
export function formatIpv6(bytes: IpBytes): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((bytes[i]! << 8) | bytes[i + 1]!);
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (list: number[]): string => list.map((word) => word.toString(16)).join(':');
  if (bestStart === -1) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLength))}`;
}

export function formatIp(bytes: IpBytes): string {
  return bytes.length === 4 ? formatIpv4(bytes) : formatIpv6(bytes);
}

/**
 * `10.0.0.0/8`, `2001:db8::/32`, or a single address (`/32` or `/128` implied). Host bits must be
 * zero: `10.1.2.3/8` is refused with the network it probably meant, so a typo cannot widen trust.
 */
export function parseCidr(text: string): CidrParseResult {
  const fail = (problem: string): CidrParseResult => ({ ok: false, problem });
  if (typeof text !== 'string' || text.trim() === '') return fail('expected a CIDR range such as 10.0.0.0/8 or 2001:db8::/32');
  if (text !== text.trim()) return fail(`a CIDR range cannot contain whitespace, got ${JSON.stringify(text)}`);
  const slash = text.indexOf('/');
  const addressText = slash === -1 ? text : text.slice(0, slash);
  if (addressText.includes('%')) return fail(`a CIDR range cannot name an IPv6 zone, got ${JSON.stringify(text)}`);
  const address = addressText.includes(':') ? parseIpv6(addressText) : parseIpv4(addressText);
  if (address === null) return fail(`${JSON.stringify(addressText)} is not an IPv4 or IPv6 address`);
  const family: 4 | 6 = address.length === 4 ? 4 : 6;
  const maxPrefix = address.length * 8;
  let prefixLength = maxPrefix;
  if (slash !== -1) {
    const prefixText = text.slice(slash + 1);
    if (!/^(?:0|[1-9][0-9]{0,2})$/.test(prefixText) || Number(prefixText) > maxPrefix) {
      return fail(`prefix length must be a whole number from 0 to ${maxPrefix} for IPv${family}, got ${JSON.stringify(prefixText)}`);
    }
    prefixLength = Number(prefixText);
  }
  const network = maskBytes(address, prefixLength);
  if (!equalBytes(network, address)) {
    return fail(`${text} has host bits set: the range is ${formatIp(network)}/${prefixLength}`);
  }
  return { ok: true, cidr: { text, family, network, prefixLength } };
}

function maskBytes(bytes: IpBytes, prefixLength: number): IpBytes {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const bits = Math.max(0, Math.min(8, prefixLength - i * 8));
    out[i] = bytes[i]! & ((0xff << (8 - bits)) & 0xff);
  }
  return out;
}

function equalBytes(a: IpBytes, b: IpBytes): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True when `address` (bytes, already parsed) is inside `cidr`. IPv4-mapped IPv6 counts as IPv4. */
export function cidrContainsBytes(cidr: Cidr, address: IpBytes): boolean {
  let candidate = address.length === cidr.network.length ? address : unmapIpv4(address);
  if (candidate.length !== cidr.network.length) {
    // A plain IPv6 address is never inside an IPv4 range.
    if (candidate.length !== 4) return false;
    // An IPv4 address against an IPv6 range: compare its mapped form (inside ::ffff:0:0/96 and wider).
    candidate = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...candidate]);
  }
  return equalBytes(maskBytes(candidate, cidr.prefixLength), cidr.network);
}

/** A list of ranges; an address is trusted when any of them contains it. */
export class CidrSet {
  readonly ranges: readonly Cidr[];

  constructor(ranges: readonly Cidr[]) {
    this.ranges = ranges;
  }

  /** Parses every entry; throws on the first invalid one (config validation reports them earlier). */
  static parse(texts: readonly string[]): CidrSet {
    return new CidrSet(
      texts.map((text) => {
        const result = parseCidr(text);
        if (!result.ok) throw new Error(`invalid CIDR ${JSON.stringify(text)}: ${result.problem}`);
        return result.cidr;
      }),
    );
  }

  /** False for anything that is not an IP address (e.g. `undefined` from a destroyed socket). */
  contains(address: string | undefined): boolean {
    if (address === undefined) return false;
    const bytes = parseIp(address);
    if (bytes === null) return false;
    return this.ranges.some((range) => cidrContainsBytes(range, bytes));
  }
}

/** An address in the form logs and limits use: IPv4-mapped IPv6 as plain IPv4, IPv6 canonical. */
export function normalizeAddress(address: string): string {
  const bytes = parseIp(address);
  return bytes === null ? address : formatIp(unmapIpv4(bytes));
}
