import { createHash } from 'node:crypto';
import { emitCpPacket, tryParseCpPacket } from './packet.js';
import type { AuthOutcome } from './pap.js';

/**
 * CHAP with MD5 as the authenticatee (RFC 1994): answer each Challenge with
 * MD5(Identifier || secret || Challenge-Value), also the re-challenges the authenticator may
 * send at any time during the session (RFC 1994 section 2).
 */
export const ChapCode = { Challenge: 1, Response: 2, Success: 3, Failure: 4 } as const;

export interface ChapConfig {
  /** The Name sent in our Responses. */
  user: string;
  secret: string;
  /** How long to wait for the first Challenge. Default 30000 ms. */
  challengeTimeoutMs?: number;
}

export interface ChapEvents {
  send(packet: Uint8Array): void;
  /** First Success or Failure, or no Challenge in time. */
  result(outcome: AuthOutcome, now: number): void;
  /** A Failure after the first Success (a failed re-challenge). */
  failedLater(message: string, now: number): void;
}

export class ChapClient {
  private timerAt: number | undefined;
  private authenticated = false;
  private finished = false;
  private lastId = -1;
  readonly counters = { challenges: 0, responses: 0, malformed: 0 };

  constructor(
    private readonly config: ChapConfig,
    private readonly events: ChapEvents,
  ) {}

  start(now: number): void {
    this.timerAt = now + (this.config.challengeTimeoutMs ?? 30_000);
  }

  nextDeadline(): number | undefined {
    return this.timerAt;
  }

  tick(now: number): void {
    if (this.timerAt === undefined || now < this.timerAt) return;
    this.timerAt = undefined;
    if (!this.finished) {
      this.finished = true;
      this.events.result({ ok: false, timeout: true, message: 'no CHAP Challenge from the peer' }, now);
    }
  }

  stop(): void {
    this.timerAt = undefined;
    this.finished = true;
  }

  input(bytes: Uint8Array, now: number): void {
    const p = tryParseCpPacket(bytes);
    if (!p) {
      this.counters.malformed++;
      return;
    }
    switch (p.code) {
      case ChapCode.Challenge: {
        const size = p.data[0];
        if (size === undefined || size === 0 || 1 + size > p.data.length) {
          this.counters.malformed++;
          return;
        }
        this.counters.challenges++;
        this.timerAt = undefined;
        const value = p.data.subarray(1, 1 + size);
        const hash = chapMd5(p.id, this.config.secret, value);
        const name = Buffer.from(this.config.user, 'utf8');
        const data = new Uint8Array(1 + hash.length + name.length);
        data[0] = hash.length;
        data.set(hash, 1);
        data.set(name, 1 + hash.length);
        this.lastId = p.id;
        this.counters.responses++;
        this.events.send(emitCpPacket(ChapCode.Response, p.id, data));
        break;
      }
      case ChapCode.Success:
      case ChapCode.Failure: {
        if (p.id !== this.lastId) return; // RFC 1994 4.2: must match the Response answered
        const message = Buffer.from(p.data).toString('latin1');
        if (p.code === ChapCode.Success) {
          if (!this.authenticated && !this.finished) {
            this.authenticated = true;
            this.finished = true;
            this.events.result({ ok: true, message }, now);
          }
        } else if (!this.finished) {
          this.finished = true;
          this.events.result({ ok: false, timeout: false, message }, now);
        } else if (this.authenticated) {
          this.events.failedLater(message, now);
        }
        break;
      }
      default:
        break; // Responses are for the authenticator; anything else is ignored
    }
  }
}

/** RFC 1994 section 4.1: MD5 over Identifier, secret and Challenge Value. */
export function chapMd5(id: number, secret: string, challenge: Uint8Array): Uint8Array {
  return createHash('md5')
    .update(Uint8Array.of(id))
    .update(Buffer.from(secret, 'utf8'))
    .update(challenge)
    .digest();
}
