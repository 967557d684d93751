/**
 * The client address of a WebSocket upgrade behind HTTP proxies (X-Forwarded-For). Pure.
 *
 * Each proxy appends the address it received the request from, so the list reads left to right
 * from the client towards us. Only entries appended by proxies we trust can be believed: walk from
 * the right, starting at the socket's peer, and stop at the first address that is not a trusted
 * proxy. Anything left of it was written by the client and may be forged.
 */
import { type CidrSet, normalizeAddress, parseIp } from '../common/ip-address.js';

/**
 * @param peer the socket's remote address (the last hop)
 * @param header the X-Forwarded-For header value(s) as Node hands them over
 * @param trusted the proxies whose X-Forwarded-For is honoured
 */
export function clientAddressFromForwardedFor(peer: string, header: string | readonly string[] | undefined, trusted: CidrSet): string {
  const peerAddress = normalizeAddress(peer);
  if (header === undefined || !trusted.contains(peer)) return peerAddress;
  const entries = (typeof header === 'string' ? [header] : header)
    .flatMap((value) => value.split(','))
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  let client = peerAddress;
  for (let i = entries.length - 1; i >= 0; i--) {
    const entry = stripPort(entries[i]!);
    // Garbage where an address should be: the hop that wrote it is the last one we can name.
    if (entry === undefined || parseIp(entry) === null) return client;
    client = normalizeAddress(entry);
    if (!trusted.contains(entry)) return client;
  }
  // Every hop is a trusted proxy: the leftmost is as close to the client as we can get.
  return client;
}

/** `1.2.3.4:5678` and `[2001:db8::1]:443` carry a port some proxies add; a bare IPv6 has none. */
function stripPort(entry: string): string | undefined {
  if (entry.startsWith('[')) {
    const close = entry.indexOf(']');
    if (close === -1) return undefined;
    const rest = entry.slice(close + 1);
    if (rest !== '' && !/^:[0-9]{1,5}$/.test(rest)) return undefined;
    return entry.slice(1, close);
  }
  const colon = entry.indexOf(':');
  if (colon !== -1 && colon === entry.lastIndexOf(':')) {
    if (!/^[0-9]{1,5}$/.test(entry.slice(colon + 1))) return undefined;
    return entry.slice(0, colon);
  }
  return entry;
}
