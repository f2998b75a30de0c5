import { emitCpPacket, tryParseCpPacket } from '../../ppp/packet.js';
import { PapCode } from '../../ppp/pap.js';
import type { PeerAuthEvents, PeerAuthenticator } from './authenticator.js';
import type { ResolvedPeerAuth } from './config.js';
import { sameSecret, secretFor } from './credentials.js';

/**
 * PAP as the authenticator (RFC 1334 section 2): wait for the device's Authenticate-Request,
 * check Peer-ID and Password, answer Authenticate-Ack or -Nak. A repeated Request after our
 * Ack (the Ack was lost, section 2.2.2) is Acked again; the device gets `timeoutMs` to ask.
 */
export class PapServer implements PeerAuthenticator {
  readonly protocol = 'pap' as const;
  readonly counters = { requests: 0, malformed: 0, successes: 0, failures: 0 };
  private deadline: number | undefined;
  private state: 'idle' | 'waiting' | 'acked' | 'failed' = 'idle';

  constructor(
    private readonly config: ResolvedPeerAuth,
    private readonly events: PeerAuthEvents,
  ) {}

  start(now: number): void {
    this.state = 'waiting';
    this.deadline = now + this.config.timeoutMs;
  }

  nextDeadline(): number | undefined {
    return this.deadline;
  }

  tick(now: number): void {
    if (this.deadline === undefined || now < this.deadline) return;
    this.deadline = undefined;
    if (this.state !== 'waiting') return;
    this.state = 'failed';
    this.counters.failures++;
    const message = 'no PAP Authenticate-Request from the device';
    this.events.result({ ok: false, protocol: 'pap', user: '', message, timeout: true }, now);
  }

  stop(): void {
    this.deadline = undefined;
    if (this.state === 'waiting') this.state = 'idle';
  }

  input(bytes: Uint8Array, now: number): void {
    const p = tryParseCpPacket(bytes);
    if (!p) {
      this.counters.malformed++;
      return;
    }
    if (p.code !== PapCode.AuthReq) return; // Ack/Nak are for the authenticatee
    const req = parseAuthRequest(p.data);
    if (!req) {
      this.counters.malformed++;
      return;
    }
    this.counters.requests++;
    if (this.state === 'acked') {
      this.events.send(emitCpPacket(PapCode.AuthAck, p.id, papMsg('Login ok')));
      return;
    }
    if (this.state !== 'waiting') return;
    const user = Buffer.from(req.peerId).toString('utf8');
    const secret = secretFor(this.config.credentials, user);
    const ok = secret !== undefined && sameSecret(Buffer.from(secret, 'utf8'), req.password);
    this.deadline = undefined;
    if (ok) {
      this.state = 'acked';
      this.counters.successes++;
      this.events.send(emitCpPacket(PapCode.AuthAck, p.id, papMsg('Login ok')));
      this.events.result({ ok: true, protocol: 'pap', user, message: 'Login ok', timeout: false }, now);
    } else {
      this.state = 'failed';
      this.counters.failures++;
      this.events.send(emitCpPacket(PapCode.AuthNak, p.id, papMsg('Login incorrect')));
      const message = secret === undefined ? 'unknown Peer-ID' : 'wrong password';
      this.events.result({ ok: false, protocol: 'pap', user, message, timeout: false }, now);
    }
  }
}

/** Peer-ID-Length, Peer-ID, Passwd-Length, Password (RFC 1334 section 2.2.1); views, no copies. */
function parseAuthRequest(d: Uint8Array): { peerId: Uint8Array; password: Uint8Array } | undefined {
  const idLen = d[0];
  if (idLen === undefined || 2 + idLen > d.length) return undefined;
  const pwLen = d[1 + idLen]!;
  if (2 + idLen + pwLen > d.length) return undefined;
  return { peerId: d.subarray(1, 1 + idLen), password: d.subarray(2 + idLen, 2 + idLen + pwLen) };
}

/** Msg-Length and Message of Authenticate-Ack/-Nak (RFC 1334 sections 2.2.2, 2.2.3). */
function papMsg(text: string): Uint8Array {
  const m = Buffer.from(text, 'latin1');
  const out = new Uint8Array(1 + m.length);
  out[0] = m.length;
  out.set(m, 1);
  return out;
}
