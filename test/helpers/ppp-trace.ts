import type { PppLinkOptions } from '../../src/ppp/link.js';
import { seededRandom } from './seeded.js';

/**
 * The link options of the recorded PPP traces: the seed makes our magic numbers repeatable,
 * keepalive is off so that no Echo-Request depends on timing. Recording
 * (test/interop/record-traces.test.ts) and replay (test/ppp/traces.test.ts) share them.
 */
export function traceLinkOptions(seed: number, extra: PppLinkOptions = {}): PppLinkOptions {
  return { random: seededRandom(seed), lcp: { echoIntervalMs: 0 }, ...extra };
}
