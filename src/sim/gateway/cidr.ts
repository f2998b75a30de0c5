import { ConfigError } from '../../util/errors.js';
import { parseIpv4 } from '../../util/ipv4.js';

/** An IPv4 prefix (RFC 4632 section 3.1 notation, `a.b.c.d/len`; a bare address is a /32). */
export interface Cidr {
  readonly text: string;
  readonly network: number;
  readonly mask: number;
}

export function parseCidr(text: string): Cidr {
  const [addr, len, extra] = text.trim().split('/');
  const bits = len === undefined ? 32 : Number(len);
  if (extra !== undefined || !Number.isInteger(bits) || bits < 0 || bits > 32 || len === '')
    throw new ConfigError(`not an IPv4 CIDR: ${JSON.stringify(text)}`);
  let address: number;
  try {
    address = parseIpv4(addr ?? '');
  } catch {
    throw new ConfigError(`not an IPv4 CIDR: ${JSON.stringify(text)}`);
  }
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return { text: text.trim(), network: (address & mask) >>> 0, mask };
}

export function inCidr(address: number, cidr: Cidr): boolean {
  return (address & cidr.mask) >>> 0 === cidr.network;
}

/** Whether `address` falls in any of `list`. */
export function inAny(address: number, list: readonly Cidr[]): boolean {
  for (const c of list) if (inCidr(address, c)) return true;
  return false;
}

/**
 * Addresses no datagram may come from (RFC 1122 3.2.1.3, RFC 1812 5.3.7): 0.0.0.0/8, 127/8
 * (the device's own loopback never crosses a link), multicast, class E and broadcast.
 */
export function isMartianSource(address: number): boolean {
  const first = address >>> 24;
  return first === 0 || first === 127 || first >= 224;
}

/** Multicast, class E or limited broadcast: not a unicast destination (RFC 1122 3.2.1.3). */
export function isNonUnicastDestination(address: number): boolean {
  return address >>> 24 >= 224 || address === 0 || address >>> 24 === 0;
}
