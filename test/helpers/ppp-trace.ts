import type { PppLinkOptions } from '../../src/ppp/link.js';
import { seededRandom } from './seeded.js';

/**
 * The link options of the recorded PPP traces: the seed makes our magic numbers repeatable,
 * keepalive is off so that no Echo-Request depends on timing, and VJ header compression is off
 * because the traces were recorded before it existed (our IPCP requests then carried no
 * IP-Compression-Protocol option and Rejected the peer's); for the same reason every frame opens
 * with its own Flag (`sharedFlags: false`). Recording
 * (test/interop/record-traces.test.ts) and replay (test/ppp/traces.test.ts) share them.
 */
export function traceLinkOptions(seed: number, extra: PppLinkOptions = {}): PppLinkOptions {
  return {
    random: seededRandom(seed),
    lcp: { echoIntervalMs: 0 },
    sharedFlags: false,
    ...extra,
    ipcp: { vjCompression: false, ...extra.ipcp },
  };
}
