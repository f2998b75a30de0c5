import { timingSafeEqual } from 'node:crypto';
import type { PppPeerCredential } from './config.js';

/** The secret configured for a name, if any (the name is matched exactly, as pppd's secrets files). */
export function secretFor(credentials: readonly PppPeerCredential[], user: string): string | undefined {
  return credentials.find((c) => c.user === user)?.password;
}

/** Compares two octet strings in time that does not depend on where they differ. */
export function sameSecret(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
