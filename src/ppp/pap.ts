import { emitCpPacket, tryParseCpPacket } from './packet.js';

/**
 * PAP as the authenticatee (RFC 1334 section 2): Authenticate-Request with Peer-ID and
 * Password, repeated on the restart timer until Authenticate-Ack or -Nak.
 */
export const PapCode = { AuthReq: 1, AuthAck: 2, AuthNak: 3 } as const;

export interface PapConfig {
  user: string;
  password: string;
  /** pppd's pap-restart: 3000 ms. */
  restartMs?: number;
  /** pppd's pap-max-authreq: 10. */
  maxRequests?: number;
}

export type AuthOutcome = { ok: true; message: string } | { ok: false; timeout: boolean; message: string };

export class PapClient {
  private id = 0;
  private timerAt: number | undefined;
  private left = 0;
  private done = false;
  readonly counters = { requests: 0, malformed: 0 };

  constructor(
    private readonly config: PapConfig,
    private readonly send: (packet: Uint8Array) => void,
    private readonly result: (outcome: AuthOutcome, now: number) => void,
  ) {}

  start(now: number): void {
    this.left = this.config.maxRequests ?? 10;
    this.done = false;
    this.sendRequest(now);
  }

  nextDeadline(): number | undefined {
    return this.timerAt;
  }

  tick(now: number): void {
    if (this.timerAt === undefined || now < this.timerAt || this.done) return;
    if (this.left <= 0) {
      this.finish({ ok: false, timeout: true, message: 'no answer to PAP Authenticate-Request' }, now);
      return;
    }
    this.sendRequest(now);
  }

  input(bytes: Uint8Array, now: number): void {
    const p = tryParseCpPacket(bytes);
    if (!p) {
      this.counters.malformed++;
      return;
    }
    if (this.done || p.id !== this.id) return;
    if (p.code !== PapCode.AuthAck && p.code !== PapCode.AuthNak) return;
    const message = papMessage(p.data);
    if (p.code === PapCode.AuthAck) this.finish({ ok: true, message }, now);
    else this.finish({ ok: false, timeout: false, message }, now);
  }

  stop(): void {
    this.done = true;
    this.timerAt = undefined;
  }

  private finish(outcome: AuthOutcome, now: number): void {
    this.stop();
    this.result(outcome, now);
  }

  private sendRequest(now: number): void {
    this.id = (this.id + 1) & 0xff;
    this.left--;
    this.counters.requests++;
    this.send(emitCpPacket(PapCode.AuthReq, this.id, papRequest(this.config.user, this.config.password)));
    this.timerAt = now + (this.config.restartMs ?? 3000);
  }
}

export function papRequest(user: string, password: string): Uint8Array {
  const u = Buffer.from(user, 'utf8').subarray(0, 255);
  const pw = Buffer.from(password, 'utf8').subarray(0, 255);
  const out = new Uint8Array(2 + u.length + pw.length);
  out[0] = u.length;
  out.set(u, 1);
  out[1 + u.length] = pw.length;
  out.set(pw, 2 + u.length);
  return out;
}

/** The Message of Authenticate-Ack/-Nak (Msg-Length, Message); tolerant of a bad length. */
export function papMessage(data: Uint8Array): string {
  if (data.length === 0) return '';
  const n = Math.min(data[0]!, data.length - 1);
  return Buffer.from(data.subarray(1, 1 + n)).toString('latin1');
}

/** Peer-ID of an Authenticate-Request (for logs; the password is never decoded). */
export function papPeerId(data: Uint8Array): string | undefined {
  if (data.length < 1 || data[0]! + 1 > data.length) return undefined;
  return Buffer.from(data.subarray(1, 1 + data[0]!)).toString('latin1');
}
