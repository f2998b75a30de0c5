import type { ClientContext } from './client-context.js';
import { extendedMasterSecret, keyBlock, masterSecret } from './prf.js';
import {
  createProtection,
  type DirectionKeys,
  keyBlockLength,
  type RecordProtection,
  splitKeyBlock,
} from './record-protection.js';

/**
 * The key schedule of RFC 5246 8.1 and 6.3: master_secret from the premaster secret (RFC 7627's
 * extended master secret over the session hash when negotiated), then the key_block cut into
 * each direction's keys, and the record protection of each direction.
 */

/** Derives the master secret from the premaster secret, which is then wiped. */
export function deriveMasterSecret(ctx: ClientContext): void {
  const suite = ctx.suite!;
  const pms = ctx.preMasterSecret!;
  ctx.master = ctx.ext!.extendedMasterSecret
    ? extendedMasterSecret(suite.prf, pms, ctx.transcript.digest())
    : masterSecret(suite.prf, pms, ctx.clientRandom, ctx.serverRandom);
  pms.fill(0);
  ctx.preMasterSecret = undefined;
  ctx.clientShare = undefined;
}

function connectionKeys(ctx: ClientContext): { client: DirectionKeys; server: DirectionKeys } {
  if (!ctx.keys) {
    const suite = ctx.suite!;
    const block = keyBlock(suite.prf, ctx.master!, ctx.clientRandom, ctx.serverRandom, keyBlockLength(suite));
    ctx.keys = splitKeyBlock(suite, block);
  }
  return ctx.keys;
}

/** The protection of one direction, for its ChangeCipherSpec. */
export function protectionFor(ctx: ClientContext, side: 'client' | 'server'): RecordProtection {
  return createProtection(ctx.suite!, connectionKeys(ctx)[side], {
    encryptThenMac: ctx.ext!.encryptThenMac,
    random: ctx.random,
  });
}

/** Forgets the keys once both directions have switched. */
export function dropKeys(ctx: ClientContext): void {
  ctx.keys = undefined;
}
