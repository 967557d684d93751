/**
 * Whether a client address is on the public internet. Load balancers, ingress controllers and
 * kube-proxy reach the proxy from private, loopback, link-local or shared (CGNAT) addresses, so a
 * limit meant for internet clients that leaves these out never caps a load balancer that forwards
 * every client from its own address.
 */
import { cidrContainsBytes, CidrSet, parseIp } from '../common/ip-address.js';

const NOT_PUBLIC = CidrSet.parse([
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '::/128',
  '::1/128',
  'fc00::/7',
  'fe80::/10',
]);

/** False for the ranges above and for anything that is not an IP address. */
export function isPublicAddress(address: string): boolean {
  // Parsed once: this runs for every accepted socket.
  const bytes = parseIp(address);
  return bytes !== null && !NOT_PUBLIC.ranges.some((range) => cidrContainsBytes(range, bytes));
}
