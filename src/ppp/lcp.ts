import { Protocol } from './frame.js';
import {
  type ConfigVerdict,
  Fsm,
  type FsmCallbacks,
  type FsmDownCause,
  type FsmFinish,
  fsmLimits,
} from './fsm.js';
import {
  bytesU16,
  bytesU32,
  Code,
  type CpOption,
  emitOptions,
  parseOptions,
  sameBytes,
  tryParseOptions,
  u16,
  u32,
} from './packet.js';
import { cryptoRandom32, type Random32 } from './random.js';

/** LCP configuration options (RFC 1661 section 6; IANA PPP LCP option types). */
export const LcpOpt = {
  MRU: 1,
  ACCM: 2,
  AuthProtocol: 3,
  QualityProtocol: 4,
  MagicNumber: 5,
  PFC: 7,
  ACFC: 8,
} as const;

/** CHAP with MD5 (RFC 1994 section 3): the only CHAP algorithm spoken here. */
const CHAP_MD5 = 5;
/** pppd's MINMRU: a smaller MRU is Nak'd. */
const MIN_MRU = 128;
const DEFAULT_MRU = 1500;

export type AuthProtocol = 'pap' | 'chap-md5';

export interface LcpConfig {
  /** Our MRU; requested only when it differs from 1500 (RFC 1661 6.1). */
  mru?: number;
  /** The receive ACCM we ask for (RFC 1662 7.1); default 0: no control characters escaped. */
  accm?: number;
  /** Ask for Protocol-Field-Compression and Address-and-Control-Field-Compression. Default true. */
  pfc?: boolean;
  acfc?: boolean;
  /** Echo-Request interval in ms (pppd's lcp-echo-interval); 0 turns keepalive off. Default 30000. */
  echoIntervalMs?: number;
  /** Unanswered Echo-Requests before the peer is declared dead (lcp-echo-failure). Default 4. */
  echoFailure?: number;
  /** Loop-backs of our Magic-Number tolerated before giving up (RFC 1661 6.4). Default 5. */
  maxLoopback?: number;
  restartMs?: number;
  maxConfigure?: number;
  maxTerminate?: number;
  maxFailure?: number;
  random?: Random32;
}

/** What LCP agreed, in the direction each value applies to. */
export interface LcpAgreement {
  /** The peer's MRU: the largest frame we may send. */
  peerMru: number;
  /** The peer's receive ACCM: characters we must escape when sending. */
  sendAccm: number;
  /** We may compress the headers we send (the peer asked for PFC/ACFC). */
  sendPfc: boolean;
  sendAcfc: boolean;
  /** Authentication the peer wants from us. */
  auth: AuthProtocol | null;
  peerMagic: number;
  /** Our MRU as agreed. */
  mru: number;
  /** The ACCM the peer escapes for us. */
  receiveAccm: number;
  /** The peer may send us compressed headers. */
  receivePfc: boolean;
  receiveAcfc: boolean;
  magic: number;
}

type PeerSide = Pick<LcpAgreement, 'peerMru' | 'sendAccm' | 'sendPfc' | 'sendAcfc' | 'auth' | 'peerMagic'>;
type OurSide = Pick<LcpAgreement, 'mru' | 'receiveAccm' | 'receivePfc' | 'receiveAcfc' | 'magic'>;

const PEER_DEFAULTS: PeerSide = {
  peerMru: 1500,
  sendAccm: 0xffffffff,
  sendPfc: false,
  sendAcfc: false,
  auth: null,
  peerMagic: 0,
};
const OUR_DEFAULTS: OurSide = {
  mru: 1500,
  receiveAccm: 0xffffffff,
  receivePfc: false,
  receiveAcfc: false,
  magic: 0,
};

export interface LcpEvents {
  up(now: number): void;
  down(now: number, why: FsmDownCause): void;
  started(now: number): void;
  finished(now: number, reason: FsmFinish): void;
  /** The peer rejected one of our protocols (RFC 1661 5.7). */
  protocolRejected(protocol: number, now: number): void;
  /** Our Magic-Number came back too often: the line is looped. */
  loopedBack(now: number): void;
  /** Echo-Requests went unanswered `echoFailure` times. */
  peerDead(now: number): void;
  send(packet: Uint8Array): void;
}

interface Wants {
  mru: boolean;
  mruValue: number;
  accm: boolean;
  accmValue: number;
  magic: boolean;
  magicValue: number;
  pfc: boolean;
  acfc: boolean;
}

/**
 * The Link Control Protocol (RFC 1661): option handling for the automaton, keepalive with
 * Echo-Request, loop-back detection with Magic-Number, Protocol-Reject, Code-Reject.
 */
export class Lcp implements FsmCallbacks {
  readonly fsm: Fsm;
  private wants!: Wants;
  private sent: Uint8Array = new Uint8Array(0);
  private peerSide: PeerSide = { ...PEER_DEFAULTS };
  private ourSide: OurSide = { ...OUR_DEFAULTS };
  private loopbacks = 0;
  private echoAt: number | undefined;
  private echoPending = 0;
  private readonly random: Random32;
  private readonly echoIntervalMs: number;
  private readonly echoFailure: number;
  private readonly maxLoopback: number;
  readonly counters = {
    echoSent: 0,
    echoReplies: 0,
    echoAnswered: 0,
    discards: 0,
    protocolRejects: 0,
    loopbacks: 0,
  };

  constructor(
    private readonly config: LcpConfig,
    private readonly events: LcpEvents,
  ) {
    this.random = config.random ?? cryptoRandom32;
    this.echoIntervalMs = config.echoIntervalMs ?? 30_000;
    this.echoFailure = config.echoFailure ?? 4;
    this.maxLoopback = config.maxLoopback ?? 5;
    this.fsm = new Fsm(this, { name: 'LCP', send: (p) => events.send(p), ...fsmLimits(config) });
    this.resetOptions();
  }

  /** The values in force: both directions once LCP is Opened, the RFC defaults before. */
  get agreement(): LcpAgreement {
    return { ...this.peerSide, ...this.ourSide };
  }

  nextDeadline(): number | undefined {
    const a = this.fsm.nextDeadline();
    const b = this.echoAt;
    if (a === undefined) return b;
    if (b === undefined) return a;
    return Math.min(a, b);
  }

  tick(now: number): void {
    this.fsm.tick(now);
    if (this.echoAt !== undefined && now >= this.echoAt && this.fsm.state === 'opened') {
      if (this.echoPending >= this.echoFailure) {
        this.echoAt = undefined;
        this.events.peerDead(now);
        return;
      }
      this.echoPending++;
      this.counters.echoSent++;
      this.fsm.sendPacket(Code.EchoReq, bytesU32(this.ourSide.magic));
      this.echoAt = now + this.echoIntervalMs;
    }
  }

  /** Sends a Protocol-Reject for a frame of a protocol we do not speak (RFC 1661 5.7). */
  rejectProtocol(protocol: number, info: Uint8Array): void {
    if (this.fsm.state !== 'opened') return;
    const data = new Uint8Array(2 + Math.min(info.length, 1400));
    data.set(bytesU16(protocol), 0);
    data.set(info.subarray(0, data.length - 2), 2);
    this.counters.protocolRejects++;
    this.fsm.sendPacket(Code.ProtRej, data);
  }

  // ---- FsmCallbacks -------------------------------------------------------------------

  up(now: number): void {
    this.echoPending = 0;
    this.echoAt = this.echoIntervalMs > 0 ? now + this.echoIntervalMs : undefined;
    this.events.up(now);
  }

  down(now: number, why: FsmDownCause): void {
    this.echoAt = undefined;
    this.events.down(now, why);
  }

  started(now: number): void {
    this.events.started(now);
  }

  finished(now: number, reason: FsmFinish): void {
    this.echoAt = undefined;
    this.events.finished(now, reason);
  }

  resetOptions(): void {
    const mru = this.config.mru ?? DEFAULT_MRU;
    this.wants = {
      mru: mru !== DEFAULT_MRU,
      mruValue: mru,
      accm: true,
      accmValue: this.config.accm ?? 0,
      magic: true,
      magicValue: this.newMagic(),
      pfc: this.config.pfc ?? true,
      acfc: this.config.acfc ?? true,
    };
    this.peerSide = { ...PEER_DEFAULTS };
    this.ourSide = { ...OUR_DEFAULTS };
  }

  requestOptions(): Uint8Array {
    const w = this.wants;
    const opts: CpOption[] = [];
    if (w.mru) opts.push({ type: LcpOpt.MRU, data: bytesU16(w.mruValue) });
    if (w.accm) opts.push({ type: LcpOpt.ACCM, data: bytesU32(w.accmValue) });
    if (w.magic) opts.push({ type: LcpOpt.MagicNumber, data: bytesU32(w.magicValue) });
    if (w.pfc) opts.push({ type: LcpOpt.PFC, data: new Uint8Array(0) });
    if (w.acfc) opts.push({ type: LcpOpt.ACFC, data: new Uint8Array(0) });
    this.sent = emitOptions(opts);
    return this.sent;
  }

  ackReceived(data: Uint8Array): boolean {
    if (!sameBytes(data, this.sent)) return false;
    const w = this.wants;
    this.ourSide = {
      mru: w.mru ? w.mruValue : DEFAULT_MRU,
      receiveAccm: w.accm ? w.accmValue : 0xffffffff,
      receivePfc: w.pfc,
      receiveAcfc: w.acfc,
      magic: w.magic ? w.magicValue : 0,
    };
    return true;
  }

  nakReceived(data: Uint8Array): boolean {
    const opts = tryParseOptions(data);
    if (!opts) return false;
    const w = this.wants;
    for (const o of opts) {
      switch (o.type) {
        case LcpOpt.MRU:
          if (o.data.length === 2) {
            const v = u16(o.data);
            // A smaller MRU than ours is fine to receive with; larger is not our problem.
            if (v >= MIN_MRU && v <= (this.config.mru ?? DEFAULT_MRU)) {
              w.mru = true;
              w.mruValue = v;
            } else {
              w.mru = false;
            }
          }
          break;
        case LcpOpt.ACCM:
          if (o.data.length === 4) {
            w.accm = true;
            w.accmValue = (w.accmValue | u32(o.data)) >>> 0;
          }
          break;
        case LcpOpt.MagicNumber:
          w.magicValue = this.newMagic(); // RFC 1661 6.4: the peer may be us
          break;
        case LcpOpt.PFC:
          w.pfc = false;
          break;
        case LcpOpt.ACFC:
          w.acfc = false;
          break;
        default:
          break; // a hint for an option we did not ask for: RFC 1661 5.3 allows it; ignored
      }
    }
    return true;
  }

  rejectReceived(data: Uint8Array): boolean {
    const opts = tryParseOptions(data);
    if (!opts) return false;
    const sentTypes = new Set(parseOptions(this.sent).map((o) => o.type));
    if (opts.some((o) => !sentTypes.has(o.type))) return false; // RFC 1661 5.4: must be ours
    for (const o of opts) {
      if (o.type === LcpOpt.MRU) this.wants.mru = false;
      else if (o.type === LcpOpt.ACCM) this.wants.accm = false;
      else if (o.type === LcpOpt.MagicNumber) this.wants.magic = false;
      else if (o.type === LcpOpt.PFC) this.wants.pfc = false;
      else if (o.type === LcpOpt.ACFC) this.wants.acfc = false;
    }
    return true;
  }

  checkRequest(data: Uint8Array, rejectInstead: boolean, now: number): ConfigVerdict {
    const opts = tryParseOptions(data);
    // An option list that does not parse: reject it whole (RFC 1661 5.4 asks for the bad options).
    if (!opts) return { code: Code.ConfRej, data };
    const rej: CpOption[] = [];
    const nak: CpOption[] = [];
    const next: PeerSide = { ...PEER_DEFAULTS };
    for (const o of opts) {
      switch (o.type) {
        case LcpOpt.MRU: {
          if (o.data.length !== 2) {
            rej.push(o);
            break;
          }
          const v = u16(o.data);
          if (v < MIN_MRU) nak.push({ type: LcpOpt.MRU, data: bytesU16(MIN_MRU) });
          else next.peerMru = v;
          break;
        }
        case LcpOpt.ACCM:
          if (o.data.length !== 4) rej.push(o);
          else next.sendAccm = u32(o.data);
          break;
        case LcpOpt.AuthProtocol: {
          const proto = o.data.length >= 2 ? u16(o.data) : 0;
          if (proto === Protocol.PAP && o.data.length === 2) next.auth = 'pap';
          else if (proto === Protocol.CHAP && o.data.length === 3 && o.data[2] === CHAP_MD5)
            next.auth = 'chap-md5';
          else nak.push({ type: LcpOpt.AuthProtocol, data: Uint8Array.of(0xc2, 0x23, CHAP_MD5) });
          break;
        }
        case LcpOpt.MagicNumber: {
          if (o.data.length !== 4) {
            rej.push(o);
            break;
          }
          const v = u32(o.data);
          if (v === 0) {
            nak.push({ type: LcpOpt.MagicNumber, data: bytesU32(this.newMagic()) });
          } else if (this.wants.magic && v === this.wants.magicValue) {
            // RFC 1661 6.4: possibly looped back; suggest another number and pick a new one.
            this.counters.loopbacks++;
            this.loopbacks++;
            this.wants.magicValue = this.newMagic();
            nak.push({ type: LcpOpt.MagicNumber, data: bytesU32(this.newMagic()) });
          } else {
            next.peerMagic = v;
          }
          break;
        }
        case LcpOpt.PFC:
          if (o.data.length !== 0) rej.push(o);
          else next.sendPfc = true;
          break;
        case LcpOpt.ACFC:
          if (o.data.length !== 0) rej.push(o);
          else next.sendAcfc = true;
          break;
        default:
          rej.push(o); // Quality-Protocol, Callback, multilink, anything unknown
      }
    }
    if (this.loopbacks > this.maxLoopback) {
      this.loopbacks = 0;
      this.events.loopedBack(now);
    }
    if (rejectInstead) rej.push(...nak.splice(0));
    if (rej.length > 0) return { code: Code.ConfRej, data: emitOptions(rej) };
    if (nak.length > 0) return { code: Code.ConfNak, data: emitOptions(nak) };
    this.peerSide = next;
    return { code: Code.ConfAck, data };
  }

  extraCode(code: number, id: number, data: Uint8Array, now: number): boolean {
    const opened = this.fsm.state === 'opened';
    switch (code) {
      case Code.ProtRej:
        if (opened && data.length >= 2) this.events.protocolRejected(u16(data), now);
        return true;
      case Code.EchoReq:
        // RFC 1661 5.8: answered only in Opened, with our Magic-Number and the same data.
        if (opened && data.length >= 4) {
          const reply = new Uint8Array(data.length);
          reply.set(bytesU32(this.ourSide.magic), 0);
          reply.set(data.subarray(4), 4);
          this.counters.echoAnswered++;
          this.fsm.reply(Code.EchoRep, id, reply);
        }
        return true;
      case Code.EchoRep:
        if (opened && data.length >= 4) {
          const magic = u32(data);
          if (magic !== 0 && magic === this.ourSide.magic) {
            this.counters.loopbacks++;
          } else {
            this.counters.echoReplies++;
            this.echoPending = 0;
          }
        }
        return true;
      case Code.DiscReq:
        this.counters.discards++;
        return true;
      case 12: // Identification (RFC 1570): informational
      case 13: // Time-Remaining (RFC 1570)
        return true;
      default:
        return false;
    }
  }

  private newMagic(): number {
    for (let i = 0; i < 8; i++) {
      const v = this.random() >>> 0;
      if (v !== 0) return v;
    }
    return 0x5a5a5a5a;
  }
}
