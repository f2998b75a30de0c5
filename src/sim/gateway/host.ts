import type { ResolvedGatewayConfig } from './config.js';
import type { GatewayEvent, GatewayStats } from './events.js';

/** What the gateway core lends its TCP and UDP relays. */
export interface RelayHost {
  readonly config: ResolvedGatewayConfig;
  readonly stats: GatewayStats;
  /** Sends a transport payload to the device as an IPv4 datagram from `source`. */
  send(source: number, destination: number, protocol: number, payload: Uint8Array): void;
  /**
   * An ICMP Destination Unreachable from the gateway about a datagram of the device
   * (RFC 792, RFC 1812 4.3.2.8: rate limited). Returns false when the rate limit held it back.
   */
  unreachable(original: { header: Uint8Array; payload: Uint8Array }, code: number, now: number): boolean;
  event(e: GatewayEvent): void;
}
