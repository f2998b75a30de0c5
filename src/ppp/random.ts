import { randomBytes } from 'node:crypto';

/** A source of 32-bit random numbers; cores take one so that tests can fix it. */
export type Random32 = () => number;

export const cryptoRandom32: Random32 = () => randomBytes(4).readUInt32BE(0);
