import { ConfigError } from '../util/errors.js';
import {
  type LinkDirectionOptions,
  type ResolvedLinkDirection,
  resolveLinkDirection,
} from './shaper-core.js';

/**
 * Named link profiles: what a device sees through a modem on each kind of cell, both ways.
 * `down` is network → host, `up` is host → network.
 *
 * The numbers are typical user-level figures, not standards and not peaks: a real cell varies
 * with load, signal and operator by a factor of several either way. Peak rates come from the
 * 3GPP specifications named beside them; typical rates are a fraction of the peak, and typical
 * delays are half of commonly measured round-trip times. Rates are payload bits per second on
 * the radio bearer (`bitsPerByte` 8); a UART modem at 115200 8N1 cannot carry more than
 * 92 kbit/s of payload anyway, which only the GPRS and EDGE profiles stay under.
 *
 * Queues hold about a second of line (at least 8 KiB): cellular networks buffer deeply, and
 * RTTs of several seconds under load are common (Jiang et al., "Tackling Bufferbloat in 3G/4G
 * Networks", IMC 2012).
 */
export type LinkProfileName = 'gprs' | 'edge' | '3g' | 'lte' | 'lossy';

export interface LinkProfile {
  /** Host → network. */
  up: LinkDirectionOptions;
  /** Network → host. */
  down: LinkDirectionOptions;
}

/** A profile of one's own: a named one to start from, and fields to override each way. */
export interface LinkProfileSpec {
  extends?: LinkProfileName;
  up?: LinkDirectionOptions;
  down?: LinkDirectionOptions;
}

export interface ResolvedLinkProfile {
  /** The profile's name, `custom`, or `<base>+custom` for an extended one. */
  name: string;
  up: ResolvedLinkDirection;
  down: ResolvedLinkDirection;
}

const KiB = 1024;

export const LINK_PROFILES: Readonly<Record<LinkProfileName, Readonly<LinkProfile>>> = {
  /**
   * GPRS, multislot class 10 (4 down + 1 up, or 3 + 2; 3GPP TS 45.002 Annex B) at CS-2,
   * 13.4 kbit/s per timeslot (3GPP TS 43.064): peaks of 53.6 down and 26.8 up. Typical: about
   * 40 kbit/s down and 20 up; round trips of 600–1000 ms, hence 300 ± 150 ms one way.
   */
  gprs: {
    down: { rateBps: 40_000, delayMs: 300, jitterMs: 150, queueBytes: 8 * KiB },
    up: { rateBps: 20_000, delayMs: 300, jitterMs: 150, queueBytes: 8 * KiB },
  },
  /**
   * EDGE (EGPRS), 4 down + 2 up timeslots; MCS-9 carries 59.2 kbit/s per timeslot (3GPP TS
   * 43.064), a peak of 236.8 kbit/s down. Typical: about 180 kbit/s down and 90 up; round
   * trips of 300 ms or so, hence 150 ± 50 ms one way.
   */
  edge: {
    down: { rateBps: 180_000, delayMs: 150, jitterMs: 50, queueBytes: 24 * KiB },
    up: { rateBps: 90_000, delayMs: 150, jitterMs: 50, queueBytes: 12 * KiB },
  },
  /**
   * 3G as most people meet it: HSPA (HSDPA category 6 peaks at 3.6 Mbit/s, 3GPP TS 25.306
   * table 5.1a; HSUPA category 3 at 1.45 Mbit/s, table 5.1g). Typical: about 2 Mbit/s down and
   * 1 up; round trips around 100 ms, hence 50 ± 15 ms one way.
   */
  '3g': {
    down: { rateBps: 2_000_000, delayMs: 50, jitterMs: 15, queueBytes: 256 * KiB },
    up: { rateBps: 1_000_000, delayMs: 50, jitterMs: 15, queueBytes: 128 * KiB },
  },
  /**
   * LTE (category 4 peaks at 150 Mbit/s down and 50 up, 3GPP TS 36.306 table 4.1-1; the IoT
   * category 1 at 10 and 5). Typical in the field: about 20 Mbit/s down and 8 up; round trips
   * of 40–60 ms (the radio target is 5 ms one way, 3GPP TR 25.913, the rest is the core
   * network and the path), hence 25 ± 5 ms one way.
   */
  lte: {
    down: { rateBps: 20_000_000, delayMs: 25, jitterMs: 5, queueBytes: 1024 * KiB },
    up: { rateBps: 8_000_000, delayMs: 25, jitterMs: 5, queueBytes: 1024 * KiB },
  },
  /**
   * A bad cell at the edge of coverage: a UMTS Release 99 bearer (the 384/64 kbit/s radio
   * access bearer of 3GPP TS 34.108), long and scattered delays (150 ± 100 ms, normal), and 2%
   * of the chunks each way lost (one bit flipped, so PPP's FCS drops the frame).
   */
  lossy: {
    down: {
      rateBps: 384_000,
      delayMs: 150,
      jitterMs: 100,
      jitterDistribution: 'normal',
      loss: 0.02,
      queueBytes: 48 * KiB,
    },
    up: {
      rateBps: 64_000,
      delayMs: 150,
      jitterMs: 100,
      jitterDistribution: 'normal',
      loss: 0.02,
      queueBytes: 8 * KiB,
    },
  },
};

const DIRECTION_KEYS: ReadonlySet<string> = new Set([
  'rateBps',
  'bitsPerByte',
  'burstBytes',
  'delayMs',
  'jitterMs',
  'jitterDistribution',
  'loss',
  'corruption',
  'queueBytes',
]);
const SPEC_KEYS: ReadonlySet<string> = new Set(['extends', 'up', 'down']);

function isProfileName(name: unknown): name is LinkProfileName {
  return typeof name === 'string' && Object.hasOwn(LINK_PROFILES, name);
}

function checkKeys(o: unknown, keys: ReadonlySet<string>, where: string): void {
  if (typeof o !== 'object' || o === null || Array.isArray(o))
    throw new ConfigError(`${where} must be an object`);
  for (const k of Object.keys(o)) {
    if (!keys.has(k)) throw new ConfigError(`${where}: unknown option ${k}`);
  }
}

/**
 * A named profile, or a spec of one's own, with every default filled in and every value
 * checked. Throws `ConfigError` for an unknown name, an unknown option (a typo) or a bad value.
 */
export function resolveProfile(profile: LinkProfileName | LinkProfileSpec): ResolvedLinkProfile {
  if (typeof profile === 'string') {
    if (!isProfileName(profile)) {
      const known = Object.keys(LINK_PROFILES).join(', ');
      throw new ConfigError(`link profile: unknown profile ${JSON.stringify(profile)} (known: ${known})`);
    }
    const p = LINK_PROFILES[profile];
    return {
      name: profile,
      up: resolveLinkDirection(p.up, `link profile ${profile} up`),
      down: resolveLinkDirection(p.down, `link profile ${profile} down`),
    };
  }
  checkKeys(profile, SPEC_KEYS, 'link profile');
  const base = profile.extends;
  if (base !== undefined && !isProfileName(base))
    throw new ConfigError(`link profile: unknown profile ${JSON.stringify(base)} to extend`);
  const from: LinkProfile = base ? LINK_PROFILES[base] : { up: {}, down: {} };
  if (profile.up !== undefined) checkKeys(profile.up, DIRECTION_KEYS, 'link profile up');
  if (profile.down !== undefined) checkKeys(profile.down, DIRECTION_KEYS, 'link profile down');
  return {
    name: base ? `${base}+custom` : 'custom',
    up: resolveLinkDirection({ ...from.up, ...profile.up }, 'link profile up'),
    down: resolveLinkDirection({ ...from.down, ...profile.down }, 'link profile down'),
  };
}
