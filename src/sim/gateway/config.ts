import type { ConnectionOptions } from '../../tcp/mux.js';
import { ConfigError } from '../../util/errors.js';
import { isIpv4, parseIpv4 } from '../../util/ipv4.js';
import { type Cidr, parseCidr } from './cidr.js';

/**
 * Configuration of the virtual network's gateway (issue 9): where the device may go, what
 * names it may look up, and how much it may hold open.
 */
export interface GatewayLimits {
  /** TCP connections relayed at once (TIME-WAIT not counted); a SYN beyond gets a RST. Default 64. */
  tcpConnections?: number;
  /** UDP flows (device address and port to one destination) at once; beyond, datagrams are dropped. Default 64. */
  udpFlows?: number;
  /**
   * Octets buffered per TCP connection and direction: the TCB's receive window towards the
   * device, the data handed to the shell and not yet written, and the data from the real
   * socket not yet taken by the TCB each stop at this. Default 256 KiB.
   */
  bufferBytes?: number;
}

export interface GatewayConfig {
  /**
   * The gateway's own address on the virtual net: the PPP peer's address and the DNS server
   * IPCP hands out (PppPeerCore's defaults). Default `10.0.0.1`.
   */
  address?: string;
  /**
   * Destinations the device may reach, as IPv4 CIDRs (`127.0.0.0/8`, `192.0.2.7/32`, a bare
   * address is a /32). Default `['127.0.0.0/8']`: loopback only. Nothing else is ever
   * connected to.
   */
  allow?: readonly string[];
  /**
   * The static name map the gateway's DNS server answers from: names (case-insensitive, a
   * trailing dot ignored) to IPv4 addresses. A queries for them are answered, every other
   * name is NXDOMAIN; nothing is forwarded. Default `{}`.
   */
  dns?: Readonly<Record<string, string>>;
  /** TTL of the A records, and the negative TTL of the SOA in negative answers (RFC 2308). Default 60 s. */
  dnsTtlSeconds?: number;
  limits?: GatewayLimits;
  /** The link MTU: TCP's MSS is this minus 40; UDP replies larger than it minus 28 are dropped. Default 1500. */
  mtu?: number;
  /** A UDP flow with no datagram either way for this long is closed. Default 60000 ms. */
  udpIdleMs?: number;
  /** A SYN whose real connection the shell has not reported within this is refused with a RST. Default 30000 ms. */
  connectTimeoutMs?: number;
  /** ICMP errors sent per second at most (RFC 1812 4.3.2.8). Default 10. */
  icmpRate?: number;
  /** TCB settings for the relayed connections (keepalive, timers...). Buffers come from `limits`. */
  tcp?: ConnectionOptions;
  /** TIME-WAIT of the relayed connections. Default 5000 ms (a virtual link has no stray old segments). */
  timeWaitMs?: number;
  /** Secret of the RFC 6528 ISN hash; fix it in tests. Default random. */
  isnSecret?: Uint8Array;
}

export interface ResolvedGatewayConfig {
  address: number;
  allow: readonly Cidr[];
  /** Lower-cased names without a trailing dot, to addresses. */
  dns: ReadonlyMap<string, string>;
  dnsTtlSeconds: number;
  tcpConnections: number;
  udpFlows: number;
  bufferBytes: number;
  mtu: number;
  udpIdleMs: number;
  connectTimeoutMs: number;
  icmpRate: number;
  tcp: ConnectionOptions;
  timeWaitMs: number;
  isnSecret: Uint8Array | undefined;
}

export const DEFAULT_ALLOW: readonly string[] = ['127.0.0.0/8'];

/** Validates and fills in defaults; throws `ConfigError` for what cannot work. */
export function resolveGatewayConfig(c: GatewayConfig = {}): ResolvedGatewayConfig {
  const address = c.address ?? '10.0.0.1';
  if (!isIpv4(address)) throw new ConfigError(`gateway address ${JSON.stringify(address)} is not IPv4`);
  const dns = new Map<string, string>();
  for (const [name, value] of Object.entries(c.dns ?? {})) {
    if (!isIpv4(value)) throw new ConfigError(`dns: ${name} maps to ${JSON.stringify(value)}, not IPv4`);
    const key = normalizeName(name);
    if (key === '') throw new ConfigError('dns: an empty name');
    dns.set(key, value.trim());
  }
  const mtu = c.mtu ?? 1500;
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65_535) throw new ConfigError(`mtu ${mtu}`);
  const positive = (v: number | undefined, d: number, what: string): number => {
    const n = v ?? d;
    if (!Number.isFinite(n) || n <= 0) throw new ConfigError(`${what} must be positive, got ${n}`);
    return n;
  };
  return {
    address: parseIpv4(address),
    allow: (c.allow ?? DEFAULT_ALLOW).map(parseCidr),
    dns,
    dnsTtlSeconds: Math.floor(c.dnsTtlSeconds ?? 60),
    tcpConnections: positive(c.limits?.tcpConnections, 64, 'limits.tcpConnections'),
    udpFlows: positive(c.limits?.udpFlows, 64, 'limits.udpFlows'),
    bufferBytes: positive(c.limits?.bufferBytes, 256 * 1024, 'limits.bufferBytes'),
    mtu,
    udpIdleMs: positive(c.udpIdleMs, 60_000, 'udpIdleMs'),
    connectTimeoutMs: positive(c.connectTimeoutMs, 30_000, 'connectTimeoutMs'),
    icmpRate: c.icmpRate ?? 10,
    tcp: c.tcp ?? {},
    timeWaitMs: c.timeWaitMs ?? 5000,
    isnSecret: c.isnSecret,
  };
}

/** A name as the map keys it: lower case (RFC 4343), no trailing dot. */
export function normalizeName(name: string): string {
  return name.trim().replace(/\.$/, '').toLowerCase();
}
