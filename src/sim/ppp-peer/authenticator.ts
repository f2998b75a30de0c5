import type { PeerAuthProtocol } from './config.js';

/** The outcome of authenticating the device; the password or secret is never part of it. */
export interface PeerAuthResult {
  ok: boolean;
  protocol: PeerAuthProtocol;
  /** The name the device gave (PAP Peer-ID, CHAP Name); empty when it never answered. */
  user: string;
  /** Why, in words (never containing a secret). */
  message: string;
  /** The device did not answer in time. */
  timeout: boolean;
}

/** The authenticator half of PAP or CHAP, as the core drives it. */
export interface PeerAuthenticator {
  readonly protocol: PeerAuthProtocol;
  start(now: number): void;
  input(bytes: Uint8Array, now: number): void;
  tick(now: number): void;
  nextDeadline(): number | undefined;
  stop(): void;
  readonly counters: { requests: number; malformed: number; successes: number; failures: number };
}

export interface PeerAuthEvents {
  send(packet: Uint8Array): void;
  result(r: PeerAuthResult, now: number): void;
}
