import { ChapCode, chapMd5 } from '../../ppp/chap.js';
import { bytesU32, emitCpPacket, tryParseCpPacket } from '../../ppp/packet.js';
import type { Random32 } from '../../ppp/random.js';
import type { PeerAuthEvents, PeerAuthenticator } from './authenticator.js';
import type { ResolvedPeerAuth } from './config.js';
import { sameSecret, secretFor } from './credentials.js';

/** Octets of Challenge Value we send (RFC 1994 section 4.1 leaves it to us; pppd sends 16+). */
const CHALLENGE_SIZE = 16;

/**
 * CHAP with MD5 as the authenticator (RFC 1994): a random Challenge, repeated with a fresh
 * Identifier and value every `chapRestartMs` until a Response comes (section 4.1: the
 * Identifier changes with each Challenge), checked against MD5(Identifier || secret ||
 * Challenge) for the Name given (section 4.1), answered Success or Failure (section 4.2). A
 * Response repeated after our Success (the Success was lost) gets the Success again.
 */
export class ChapServer implements PeerAuthenticator {
  readonly protocol = 'chap-md5' as const;
  readonly counters = { requests: 0, malformed: 0, successes: 0, failures: 0 };
  private state: 'idle' | 'waiting' | 'succeeded' | 'failed' = 'idle';
  private id = 0;
  private challenge: Uint8Array = new Uint8Array(0);
  private resendAt: number | undefined;
  private giveUpAt: number | undefined;

  constructor(
    private readonly config: ResolvedPeerAuth,
    private readonly random: Random32,
    private readonly events: PeerAuthEvents,
  ) {
    this.id = random() & 0xff;
  }

  start(now: number): void {
    this.state = 'waiting';
    this.giveUpAt = now + this.config.timeoutMs;
    this.sendChallenge(now);
  }

  nextDeadline(): number | undefined {
    if (this.state !== 'waiting') return undefined;
    const a = this.resendAt;
    const b = this.giveUpAt;
    if (a === undefined) return b;
    if (b === undefined) return a;
    return Math.min(a, b);
  }

  tick(now: number): void {
    if (this.state !== 'waiting') return;
    if (this.giveUpAt !== undefined && now >= this.giveUpAt) {
      this.state = 'failed';
      this.counters.failures++;
      const message = 'no CHAP Response from the device';
      this.events.result({ ok: false, protocol: 'chap-md5', user: '', message, timeout: true }, now);
      return;
    }
    if (this.resendAt !== undefined && now >= this.resendAt) this.sendChallenge(now);
  }

  stop(): void {
    if (this.state === 'waiting') this.state = 'idle';
    this.resendAt = undefined;
    this.giveUpAt = undefined;
  }

  input(bytes: Uint8Array, now: number): void {
    const p = tryParseCpPacket(bytes);
    if (!p) {
      this.counters.malformed++;
      return;
    }
    if (p.code !== ChapCode.Response) return; // Challenge/Success/Failure are for the authenticatee
    const size = p.data[0];
    if (size === undefined || size === 0 || 1 + size > p.data.length) {
      this.counters.malformed++;
      return;
    }
    this.counters.requests++;
    if (p.id !== this.id) return; // RFC 1994 4.1: a Response to an older Challenge
    if (this.state === 'succeeded') {
      this.events.send(emitCpPacket(ChapCode.Success, p.id, Buffer.from('Access granted')));
      return;
    }
    if (this.state !== 'waiting') return;
    const value = p.data.subarray(1, 1 + size);
    const user = Buffer.from(p.data.subarray(1 + size)).toString('utf8');
    const secret = secretFor(this.config.credentials, user);
    const ok = secret !== undefined && sameSecret(chapMd5(p.id, secret, this.challenge), value);
    this.resendAt = undefined;
    this.giveUpAt = undefined;
    if (ok) {
      this.state = 'succeeded';
      this.counters.successes++;
      this.events.send(emitCpPacket(ChapCode.Success, p.id, Buffer.from('Access granted')));
      this.events.result(
        { ok: true, protocol: 'chap-md5', user, message: 'Access granted', timeout: false },
        now,
      );
    } else {
      this.state = 'failed';
      this.counters.failures++;
      this.events.send(emitCpPacket(ChapCode.Failure, p.id, Buffer.from('Access denied')));
      const message = secret === undefined ? 'unknown Name' : 'wrong Response (secret mismatch)';
      this.events.result({ ok: false, protocol: 'chap-md5', user, message, timeout: false }, now);
    }
  }

  /** Challenge: Value-Size, Value, Name (RFC 1994 section 4.1). */
  private sendChallenge(now: number): void {
    this.id = (this.id + 1) & 0xff;
    const value = new Uint8Array(CHALLENGE_SIZE);
    for (let i = 0; i < CHALLENGE_SIZE; i += 4) value.set(bytesU32(this.random()), i);
    this.challenge = value;
    const name = Buffer.from(this.config.name, 'utf8');
    const data = new Uint8Array(1 + value.length + name.length);
    data[0] = value.length;
    data.set(value, 1);
    data.set(name, 1 + value.length);
    this.events.send(emitCpPacket(ChapCode.Challenge, this.id, data));
    this.resendAt = now + this.config.chapRestartMs;
  }
}
