/**
 * What kind of address a task is about to connect to. All parsing and range tables are ipaddr.js's;
 * this module only groups its range names into the classes the egress policy speaks of.
 */
import ipaddr from 'ipaddr.js';

/** An address as the policy sees it: IPv4-mapped IPv6 (`::ffff:a.b.c.d`) is turned into its IPv4 form. */
export type Address = ipaddr.IPv4 | ipaddr.IPv6;

/**
 * The classes an allow or deny list can name:
 * - `public`: global unicast;
 * - `private`: RFC 1918, carrier-grade NAT (100.64.0.0/10), unique-local IPv6 (fc00::/7);
 * - `loopback`: 127.0.0.0/8, ::1, and the unspecified 0.0.0.0/8 and :: (which reach this machine);
 * - `reserved`: everything else (multicast, broadcast, documentation, 6to4, Teredo, NAT64, ...);
 * - `link-local`: 169.254.0.0/16, fe80::/10 and the EC2 IPv6 metadata address: never allowed.
 */
export type AddressClass = 'public' | 'private' | 'loopback' | 'reserved' | 'link-local';

/** The address classes a list may name as a word. */
export const NAMED_CLASSES: readonly AddressClass[] = ['public', 'private', 'loopback'];

const EC2_METADATA_V6 = ipaddr.parse('fd00:ec2::254');

/** Parses an IP literal (brackets allowed around IPv6); undefined for anything that is not one. */
export function parseAddress(text: string): Address | undefined {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (!ipaddr.isValid(bare)) return undefined;
  // process() unwraps IPv4-mapped IPv6, so 169.254.169.254 cannot hide as ::ffff:a9fe:a9fe.
  return ipaddr.process(bare);
}

/** The IPv4 address embedded in an IPv4-translated or NAT64 (64:ff9b::/96) IPv6 address, if any. */
export function embeddedIPv4(a: Address): ipaddr.IPv4 | undefined {
  if (a.kind() !== 'ipv6') return undefined;
  const range = a.range();
  if (range !== 'rfc6145' && range !== 'rfc6052') return undefined;
  const bytes = a.toByteArray().slice(12);
  return ipaddr.fromByteArray(bytes) as ipaddr.IPv4;
}

/** The policy class of one address. */
export function classify(a: Address): AddressClass {
  if (a.kind() === 'ipv6' && (a as ipaddr.IPv6).toNormalizedString() === EC2_METADATA_V6.toNormalizedString()) return 'link-local';
  const embedded = embeddedIPv4(a);
  if (embedded && classify(embedded) === 'link-local') return 'link-local';
  switch (a.range()) {
    case 'unicast':
      return 'public';
    case 'linkLocal':
      return 'link-local';
    case 'loopback':
    case 'unspecified':
      return 'loopback';
    case 'private':
    case 'carrierGradeNat':
    case 'uniqueLocal':
      return 'private';
    default:
      return 'reserved';
  }
}

/** True if `a` lies in the CIDR range (addresses of the other family never match). */
export function inRange(a: Address, range: [Address, number]): boolean {
  const [base, bits] = range;
  return a.kind() === base.kind() && a.match(base as never, bits);
}
