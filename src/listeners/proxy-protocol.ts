/**
 * PROXY protocol v1 (text) and v2 (binary) headers, as HAProxy, AWS NLB, Envoy and others send them
 * in front of the client's bytes. Pure: it looks at a buffer and says whether it holds a complete
 * header, needs more bytes, or is not a valid header. Specification:
 * https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt
 */
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from '../common/ip-address.js';

/** Longest v1 header: "PROXY TCP6 " + two full IPv6 addresses + two ports + CRLF. */
export const PROXY_V1_MAX_LENGTH = 107;
/**
 * Longest v2 header accepted: 16 bytes of header plus a 520-byte body (a unix address block and
 * room for TLVs), the bound the specification suggests for a receive buffer. Longer ones are refused.
 */
export const PROXY_V2_MAX_LENGTH = 536;

export const PROXY_V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const PROXY_V1_PREFIX = Buffer.from('PROXY ', 'ascii');

export interface ProxyEndpoint {
  readonly address: string;
  readonly port: number;
}

export type ProxyTransport = 'tcp4' | 'tcp6' | 'udp4' | 'udp6' | 'unix-stream' | 'unix-dgram' | 'unknown';

export interface ProxyHeader {
  readonly version: 1 | 2;
  /** `local`: the proxy's own connection (a health check); the socket's peer address applies. */
  readonly command: 'proxy' | 'local';
  readonly transport: ProxyTransport;
  /** The original client, when the header names an IPv4 or IPv6 one (absent for LOCAL, UNKNOWN, unix). */
  readonly source?: ProxyEndpoint;
  /** The address the client connected to, under the same conditions. */
  readonly destination?: ProxyEndpoint;
  /** unix family: the client's socket path (NUL-terminated in the header), when not empty. */
  readonly sourcePath?: string;
}

export type ProxyParseResult =
  | { readonly status: 'complete'; readonly header: ProxyHeader; /** Header bytes; the client's data follows. */ readonly length: number }
  | { readonly status: 'incomplete' }
  | { readonly status: 'invalid'; readonly reason: string };

/**
 * Whether `data` starts like a PROXY header: `yes` (a v1 or v2 signature is there), `no` (it cannot
 * be one), `maybe` (too few bytes to tell). An MQTT client's first byte is 0x10 (CONNECT): `no`.
 */
export function detectProxyHeader(data: Uint8Array): 'yes' | 'no' | 'maybe' {
  const matchesPrefix = (signature: Buffer): 'yes' | 'no' | 'maybe' => {
    const n = Math.min(data.length, signature.length);
    for (let i = 0; i < n; i++) if (data[i] !== signature[i]) return 'no';
    return data.length >= signature.length ? 'yes' : 'maybe';
  };
  if (data.length === 0) return 'maybe';
  const v1 = matchesPrefix(PROXY_V1_PREFIX);
  if (v1 !== 'no') return v1;
  return matchesPrefix(PROXY_V2_SIGNATURE);
}

/** Parses the header at the start of `data`. */
export function parseProxyHeader(data: Uint8Array): ProxyParseResult {
  const kind = detectProxyHeader(data);
  if (kind === 'maybe') return { status: 'incomplete' };
  if (kind === 'no') return { status: 'invalid', reason: 'no PROXY protocol signature' };
  return data[0] === PROXY_V1_PREFIX[0] ? parseV1(data) : parseV2(data);
}

const PORT = /^(?:0|[1-9][0-9]{0,4})$/;

function invalid(reason: string): ProxyParseResult {
  return { status: 'invalid', reason };
}

function parseV1(data: Uint8Array): ProxyParseResult {
  const limit = Math.min(data.length, PROXY_V1_MAX_LENGTH);
  let end = -1;
  for (let i = 0; i < limit; i++) {
    if (data[i] === 0x0a) {
      end = i;
      break;
    }
  }
  if (end === -1) {
    return data.length >= PROXY_V1_MAX_LENGTH ? invalid(`v1 header longer than ${PROXY_V1_MAX_LENGTH} bytes`) : { status: 'incomplete' };
  }
  if (end === 0 || data[end - 1] !== 0x0d) return invalid('v1 header line does not end with CRLF');
  const line = Buffer.from(data.subarray(0, end - 1)).toString('latin1');
  if (!/^[\x20-\x7e]*$/.test(line)) return invalid('v1 header contains non-printable characters');
  const fields = line.split(' ');
  const length = end + 1;
  const protocol = fields[1];
  if (protocol === 'UNKNOWN') {
    // The proxy does not know (or will not say) the addresses: whatever follows is ignored.
    return { status: 'complete', length, header: { version: 1, command: 'proxy', transport: 'unknown' } };
  }
  if (protocol !== 'TCP4' && protocol !== 'TCP6') {
    return invalid(`v1 protocol must be TCP4, TCP6 or UNKNOWN, got ${JSON.stringify(protocol ?? '')}`);
  }
  if (fields.length !== 6) return invalid(`v1 ${protocol} header needs 6 space-separated fields, got ${fields.length}`);
  const [, , sourceText, destinationText, sourcePortText, destinationPortText] = fields as [string, string, string, string, string, string];
  const parse = protocol === 'TCP4' ? parseIpv4 : parseIpv6;
  const format = protocol === 'TCP4' ? formatIpv4 : formatIpv6;
  const source = parse(sourceText);
  if (source === null) return invalid(`v1 source ${JSON.stringify(sourceText)} is not an ${protocol === 'TCP4' ? 'IPv4' : 'IPv6'} address`);
  const destination = parse(destinationText);
  if (destination === null) {
    return invalid(`v1 destination ${JSON.stringify(destinationText)} is not an ${protocol === 'TCP4' ? 'IPv4' : 'IPv6'} address`);
  }
  const ports: number[] = [];
  for (const [what, text] of [
    ['source', sourcePortText],
    ['destination', destinationPortText],
  ] as const) {
    if (!PORT.test(text) || Number(text) > 65535) return invalid(`v1 ${what} port ${JSON.stringify(text)} is not from 0 to 65535`);
    ports.push(Number(text));
  }
  return {
    status: 'complete',
    length,
    header: {
      version: 1,
      command: 'proxy',
      transport: protocol === 'TCP4' ? 'tcp4' : 'tcp6',
      source: { address: format(source), port: ports[0]! },
      destination: { address: format(destination), port: ports[1]! },
    },
  };
}

const V2_HEADER_LENGTH = 16;
const V2_ADDRESS_LENGTH = { inet: 12, inet6: 36, unix: 216 } as const;

function parseV2(data: Uint8Array): ProxyParseResult {
  if (data.length < V2_HEADER_LENGTH) return { status: 'incomplete' };
  const versionCommand = data[12]!;
  if (versionCommand >> 4 !== 2) return invalid(`v2 version nibble must be 2, got ${versionCommand >> 4}`);
  const commandCode = versionCommand & 0x0f;
  if (commandCode > 1) return invalid(`v2 command must be LOCAL (0) or PROXY (1), got ${commandCode}`);
  const familyTransport = data[13]!;
  const family = familyTransport >> 4;
  const transportCode = familyTransport & 0x0f;
  if (family > 3) return invalid(`v2 address family must be 0 to 3, got ${family}`);
  if (transportCode > 2) return invalid(`v2 transport must be 0 to 2, got ${transportCode}`);
  const bodyLength = (data[14]! << 8) | data[15]!;
  const length = V2_HEADER_LENGTH + bodyLength;
  if (length > PROXY_V2_MAX_LENGTH) return invalid(`v2 header of ${length} bytes is longer than the ${PROXY_V2_MAX_LENGTH} accepted`);
  if (data.length < length) return { status: 'incomplete' };

  if (commandCode === 0) {
    // LOCAL: the proxy speaking for itself; the address block, if any, is ignored (spec 2.2).
    return { status: 'complete', length, header: { version: 2, command: 'local', transport: 'unknown' } };
  }
  if (family === 0 || transportCode === 0) {
    // PROXY with AF_UNSPEC or UNSPEC transport: addresses unknown, the socket's peer applies.
    return { status: 'complete', length, header: { version: 2, command: 'proxy', transport: 'unknown' } };
  }
  const body = data.subarray(V2_HEADER_LENGTH, length);
  const stream = transportCode === 1;
  if (family === 1 || family === 2) {
    const needed = family === 1 ? V2_ADDRESS_LENGTH.inet : V2_ADDRESS_LENGTH.inet6;
    if (bodyLength < needed) {
      return invalid(`v2 ${family === 1 ? 'IPv4' : 'IPv6'} address block needs ${needed} bytes, the header has ${bodyLength}`);
    }
    const size = family === 1 ? 4 : 16;
    const format = family === 1 ? formatIpv4 : formatIpv6;
    const source = format(body.subarray(0, size));
    const destination = format(body.subarray(size, size * 2));
    const sourcePort = (body[size * 2]! << 8) | body[size * 2 + 1]!;
    const destinationPort = (body[size * 2 + 2]! << 8) | body[size * 2 + 3]!;
    const transport: ProxyTransport = family === 1 ? (stream ? 'tcp4' : 'udp4') : stream ? 'tcp6' : 'udp6';
    return {
      status: 'complete',
      length,
      header: {
        version: 2,
        command: 'proxy',
        transport,
        source: { address: source, port: sourcePort },
        destination: { address: destination, port: destinationPort },
      },
    };
  }
  // family 3: AF_UNIX, two 108-byte NUL-padded paths.
  if (bodyLength < V2_ADDRESS_LENGTH.unix) {
    return invalid(`v2 unix address block needs ${V2_ADDRESS_LENGTH.unix} bytes, the header has ${bodyLength}`);
  }
  const pathBytes = body.subarray(0, 108);
  const nul = pathBytes.indexOf(0);
  const sourcePath = Buffer.from(nul === -1 ? pathBytes : pathBytes.subarray(0, nul)).toString('utf8');
  return {
    status: 'complete',
    length,
    header: { version: 2, command: 'proxy', transport: stream ? 'unix-stream' : 'unix-dgram', ...(sourcePath === '' ? {} : { sourcePath }) },
  };
}

/** Builds a v2 header (tests and tools); `source`/`destination` must be the same family. */
export function encodeProxyV2(
  command: 'proxy' | 'local',
  addresses?: { readonly source: ProxyEndpoint; readonly destination: ProxyEndpoint },
  tlvs: Uint8Array = new Uint8Array(0),
): Buffer {
  let familyTransport = 0x00;
  let block: Buffer = Buffer.alloc(0);
  if (addresses !== undefined) {
    const v4 = parseIpv4(addresses.source.address);
    const source = v4 ?? parseIpv6(addresses.source.address);
    const destination = v4 === null ? parseIpv6(addresses.destination.address) : parseIpv4(addresses.destination.address);
    if (source === null || destination === null) throw new Error('source and destination must be IP addresses of one family');
    familyTransport = v4 === null ? 0x21 : 0x11;
    const ports = Buffer.alloc(4);
    ports.writeUInt16BE(addresses.source.port, 0);
    ports.writeUInt16BE(addresses.destination.port, 2);
    block = Buffer.concat([source, destination, ports]);
  }
  const header = Buffer.alloc(4);
  header[0] = command === 'proxy' ? 0x21 : 0x20;
  header[1] = familyTransport;
  header.writeUInt16BE(block.length + tlvs.length, 2);
  return Buffer.concat([PROXY_V2_SIGNATURE, header, block, tlvs]);
}
