import { MalformedPacket } from '../util/errors.js';
import { Code, emitCpPacket, parseCpPacket } from './packet.js';

/**
 * The option negotiation automaton of RFC 1661 section 4, shared by LCP and IPCP (the shape
 * of lwIP's and pppd's fsm.c: one automaton, per-protocol option callbacks). Sans-I/O: every
 * call takes `now` (ms); packets go out through `send`; `nextDeadline()` says when the
 * restart timer wants `tick()`.
 */
export type FsmState =
  | 'initial'
  | 'starting'
  | 'closed'
  | 'stopped'
  | 'closing'
  | 'stopping'
  | 'req-sent'
  | 'ack-rcvd'
  | 'ack-sent'
  | 'opened';

export interface ConfigVerdict {
  /** Code.ConfAck, Code.ConfNak or Code.ConfRej (RFC 1661 sections 5.2-5.4). */
  code: number;
  /** The options to send back: all of them for an Ack, the disputed ones for Nak/Rej. */
  data: Uint8Array;
}

/** The per-protocol half: option handling and the This-Layer-* actions. */
export interface FsmCallbacks {
  /** This-Layer-Up. */
  up(now: number): void;
  /** This-Layer-Down, and why the automaton left Opened. */
  down(now: number, why: FsmDownCause): void;
  /** This-Layer-Started: the lower layer is needed. */
  started(now: number): void;
  /** This-Layer-Finished: the lower layer is no longer needed (`reason` says why). */
  finished(now: number, reason: FsmFinish): void;
  /** Forget negotiated values before a negotiation starts. */
  resetOptions(): void;
  /** The Options of our next Configure-Request. */
  requestOptions(): Uint8Array;
  /** The peer acknowledged our options: check they are exactly what we sent. */
  ackReceived(data: Uint8Array): boolean;
  /** The peer suggested values (Nak): adopt them; false if the Nak makes no sense. */
  nakReceived(data: Uint8Array): boolean;
  /** The peer rejected options: stop asking for them; false if it rejected what we did not send. */
  rejectReceived(data: Uint8Array): boolean;
  /**
   * Judge the peer's Configure-Request. After Max-Failure Naks in a row, `rejectInstead` asks
   * to Reject what would be Nak'd (RFC 1661 section 4.6), so negotiation converges.
   */
  checkRequest(data: Uint8Array, rejectInstead: boolean, now: number): ConfigVerdict;
  /** Codes past 7 (LCP: Protocol-Reject, Echo, Discard). Return false for an unknown code. */
  extraCode?(code: number, id: number, data: Uint8Array, now: number): boolean;
}

export type FsmFinish = 'closed' | 'timeout' | 'peer-terminated' | 'rejected' | 'lower-down';

/** Why Opened was left: our Close, the peer's Terminate-Request, a renegotiation, Down, RXJ-. */
export type FsmDownCause = 'close' | 'peer-terminate' | 'renegotiate' | 'lower-down' | 'rejected';

export interface FsmOptions {
  /** `LCP`, `IPCP`: used in logs. */
  name: string;
  /** Restart timer (RFC 1661 section 4.6), default 3000 ms. */
  restartMs?: number;
  /** Max-Terminate, default 2. */
  maxTerminate?: number;
  /** Max-Configure, default 10. */
  maxConfigure?: number;
  /** Max-Failure, default 5. */
  maxFailure?: number;
  /** Sends one packet (Code, Identifier, Length, Data) of this protocol. */
  send(packet: Uint8Array): void;
}

/** The automaton's timer and counter settings, picked from a protocol's configuration. */
export function fsmLimits(c: {
  restartMs?: number;
  maxConfigure?: number;
  maxTerminate?: number;
  maxFailure?: number;
}): Pick<FsmOptions, 'restartMs' | 'maxConfigure' | 'maxTerminate' | 'maxFailure'> {
  const out: Pick<FsmOptions, 'restartMs' | 'maxConfigure' | 'maxTerminate' | 'maxFailure'> = {};
  if (c.restartMs !== undefined) out.restartMs = c.restartMs;
  if (c.maxConfigure !== undefined) out.maxConfigure = c.maxConfigure;
  if (c.maxTerminate !== undefined) out.maxTerminate = c.maxTerminate;
  if (c.maxFailure !== undefined) out.maxFailure = c.maxFailure;
  return out;
}

export interface FsmStats {
  confReqSent: number;
  confReqRcvd: number;
  timeouts: number;
  malformed: number;
  /** Packets silently discarded (wrong Identifier, wrong state, bad Ack/Nak/Rej). */
  discarded: number;
  codeRejectsSent: number;
}

export class Fsm {
  readonly stats: FsmStats = {
    confReqSent: 0,
    confReqRcvd: 0,
    timeouts: 0,
    malformed: 0,
    discarded: 0,
    codeRejectsSent: 0,
  };
  private stateValue: FsmState = 'initial';
  private id = 0;
  private reqId = -1;
  private seenAck = false;
  private restartCount = 0;
  private nakLoops = 0;
  /** Naks and Rejects received in this negotiation: bounds a peer that never settles. */
  private naksRcvd = 0;
  private timerAt: number | undefined;
  private readonly restartMs: number;
  private readonly maxTerminate: number;
  private readonly maxConfigure: number;
  private readonly maxFailure: number;
  /** Why the next This-Layer-Finished happens. */
  private finishReason: FsmFinish = 'closed';

  constructor(
    private readonly cb: FsmCallbacks,
    private readonly o: FsmOptions,
  ) {
    this.restartMs = o.restartMs ?? 3000;
    this.maxTerminate = o.maxTerminate ?? 2;
    this.maxConfigure = o.maxConfigure ?? 10;
    this.maxFailure = o.maxFailure ?? 5;
  }

  get state(): FsmState {
    return this.stateValue;
  }

  get name(): string {
    return this.o.name;
  }

  nextDeadline(): number | undefined {
    return this.timerAt;
  }

  /** The lower layer is up (RFC 1661 event Up). */
  up(now: number): void {
    switch (this.stateValue) {
      case 'initial':
        this.stateValue = 'closed';
        break;
      case 'starting':
        this.irc(this.maxConfigure);
        this.sendConfReq(now);
        this.stateValue = 'req-sent';
        break;
      default:
        break; // illegal event: ignored
    }
  }

  /** The lower layer went down (event Down). */
  down(now: number): void {
    this.timerAt = undefined;
    switch (this.stateValue) {
      case 'closed':
        this.stateValue = 'initial';
        break;
      case 'stopped':
        this.stateValue = 'starting';
        this.cb.started(now);
        break;
      case 'closing':
        this.stateValue = 'initial';
        break;
      case 'stopping':
      case 'req-sent':
      case 'ack-rcvd':
      case 'ack-sent':
        this.stateValue = 'starting';
        break;
      case 'opened':
        this.stateValue = 'starting';
        this.cb.down(now, 'lower-down');
        break;
      default:
        break;
    }
  }

  /** The administrator wants the link (event Open). */
  open(now: number): void {
    switch (this.stateValue) {
      case 'initial':
        this.stateValue = 'starting';
        this.cb.started(now);
        break;
      case 'closed':
        this.irc(this.maxConfigure);
        this.sendConfReq(now);
        this.stateValue = 'req-sent';
        break;
      case 'closing':
        this.stateValue = 'stopping';
        break;
      default:
        break;
    }
  }

  /** The administrator closes the link (event Close). */
  close(now: number, reason: FsmFinish = 'closed'): void {
    this.finishReason = reason;
    switch (this.stateValue) {
      case 'starting':
        this.stateValue = 'initial';
        this.cb.finished(now, reason);
        break;
      case 'stopped':
        this.stateValue = 'closed';
        break;
      case 'stopping':
        this.stateValue = 'closing';
        break;
      case 'req-sent':
      case 'ack-rcvd':
      case 'ack-sent':
      case 'opened':
        if (this.stateValue === 'opened') this.cb.down(now, 'close');
        this.irc(this.maxTerminate);
        this.sendTermReq(now);
        this.stateValue = 'closing';
        break;
      default:
        break;
    }
  }

  /** The peer rejected this protocol altogether (LCP Protocol-Reject: event RXJ-). */
  protocolRejected(now: number): void {
    this.rxjMinus(now);
  }

  tick(now: number): void {
    if (this.timerAt === undefined || now < this.timerAt) return;
    this.timerAt = undefined;
    this.stats.timeouts++;
    switch (this.stateValue) {
      case 'closing':
      case 'stopping':
        if (this.restartCount > 0) {
          this.sendTermReq(now); // TO+
        } else {
          this.stateValue = this.stateValue === 'closing' ? 'closed' : 'stopped'; // TO-
          this.cb.finished(now, this.finishReason);
        }
        break;
      case 'req-sent':
      case 'ack-rcvd':
      case 'ack-sent':
        if (this.restartCount > 0) {
          this.sendConfReq(now); // TO+
          if (this.stateValue === 'ack-rcvd') this.stateValue = 'req-sent';
        } else {
          this.stateValue = 'stopped'; // TO-: Max-Configure ConfReqs went unanswered
          this.cb.finished(now, 'timeout');
        }
        break;
      default:
        break;
    }
  }

  /** One received packet of this protocol. Malformed packets are dropped and counted. */
  input(bytes: Uint8Array, now: number): void {
    if (this.stateValue === 'initial' || this.stateValue === 'starting') {
      this.stats.discarded++; // RFC 1661 4.2: no packets are handled before Up and Open
      return;
    }
    let p: ReturnType<typeof parseCpPacket>;
    try {
      p = parseCpPacket(bytes);
    } catch (err) {
      if (err instanceof MalformedPacket) {
        this.stats.malformed++;
        return;
      }
      throw err;
    }
    switch (p.code) {
      case Code.ConfReq:
        this.rcvConfReq(p.id, p.data, now);
        break;
      case Code.ConfAck:
        this.rcvConfAck(p.id, p.data, now);
        break;
      case Code.ConfNak:
      case Code.ConfRej:
        this.rcvConfNakRej(p.code, p.id, p.data, now);
        break;
      case Code.TermReq:
        this.rcvTermReq(p.id, now);
        break;
      case Code.TermAck:
        this.rcvTermAck(now);
        break;
      case Code.CodeRej:
        this.rcvCodeRej(p.data, now);
        break;
      default:
        if (!this.cb.extraCode?.(p.code, p.id, p.data, now)) this.sendCodeRej(bytes);
    }
  }

  /** Sends a packet of this protocol with a fresh Identifier (LCP Echo, Protocol-Reject). */
  sendPacket(code: number, data: Uint8Array): number {
    const id = this.nextId();
    this.o.send(emitCpPacket(code, id, data));
    return id;
  }

  /** Sends a reply that reuses the request's Identifier. */
  reply(code: number, id: number, data?: Uint8Array): void {
    this.o.send(emitCpPacket(code, id, data));
  }

  private nextId(): number {
    this.id = (this.id + 1) & 0xff;
    return this.id;
  }

  private irc(count: number): void {
    this.restartCount = count;
  }

  private sendConfReq(now: number): void {
    if (this.stateValue !== 'req-sent' && this.stateValue !== 'ack-rcvd' && this.stateValue !== 'ack-sent') {
      // A new negotiation: forget what the last one agreed (pppd resets here too).
      this.cb.resetOptions();
      this.nakLoops = 0;
      this.naksRcvd = 0;
    }
    this.reqId = this.nextId();
    this.seenAck = false;
    this.o.send(emitCpPacket(Code.ConfReq, this.reqId, this.cb.requestOptions()));
    this.stats.confReqSent++;
    this.restartCount--;
    this.timerAt = now + this.restartMs;
  }

  private sendTermReq(now: number): void {
    this.o.send(emitCpPacket(Code.TermReq, this.nextId()));
    this.restartCount--;
    this.timerAt = now + this.restartMs;
  }

  private sendCodeRej(packet: Uint8Array): void {
    this.stats.codeRejectsSent++;
    // RFC 1661 5.6: the rejected packet, truncated to fit the peer's MRU (1500 is the floor).
    this.sendPacket(Code.CodeRej, packet.subarray(0, 1400));
  }

  private rcvConfReq(id: number, data: Uint8Array, now: number): void {
    this.stats.confReqRcvd++;
    switch (this.stateValue) {
      case 'closed':
        this.reply(Code.TermAck, id); // sta: "we are closed" (RFC 1661 4.3)
        return;
      case 'closing':
      case 'stopping':
        this.stats.discarded++;
        return;
      case 'opened':
        this.cb.down(now, 'renegotiate');
        this.sendConfReq(now);
        this.stateValue = 'req-sent';
        break;
      case 'stopped':
        this.irc(this.maxConfigure);
        this.sendConfReq(now);
        this.stateValue = 'req-sent';
        break;
      default:
        break;
    }
    const verdict = this.cb.checkRequest(data, this.nakLoops >= this.maxFailure, now);
    this.reply(verdict.code, id, verdict.data);
    if (verdict.code === Code.ConfAck) {
      this.nakLoops = 0;
      if (this.stateValue === 'ack-rcvd') {
        this.timerAt = undefined;
        this.stateValue = 'opened';
        this.cb.up(now);
      } else {
        this.stateValue = 'ack-sent';
      }
    } else {
      if (verdict.code === Code.ConfNak) this.nakLoops++;
      if (this.stateValue === 'ack-sent') this.stateValue = 'req-sent';
    }
  }

  private rcvConfAck(id: number, data: Uint8Array, now: number): void {
    if (id !== this.reqId || this.seenAck || !this.cb.ackReceived(data)) {
      this.stats.discarded++;
      return;
    }
    this.seenAck = true;
    switch (this.stateValue) {
      case 'closed':
      case 'stopped':
        this.reply(Code.TermAck, id);
        break;
      case 'req-sent':
        this.irc(this.maxConfigure);
        this.stateValue = 'ack-rcvd';
        break;
      case 'ack-rcvd':
        this.sendConfReq(now); // crossed connection (RFC 1661 4.1 "x")
        this.stateValue = 'req-sent';
        break;
      case 'ack-sent':
        this.irc(this.maxConfigure);
        this.timerAt = undefined;
        this.stateValue = 'opened';
        this.cb.up(now);
        break;
      case 'opened':
        this.cb.down(now, 'renegotiate');
        this.sendConfReq(now);
        this.stateValue = 'req-sent';
        break;
      default:
        this.stats.discarded++;
    }
  }

  private rcvConfNakRej(code: number, id: number, data: Uint8Array, now: number): void {
    if (id !== this.reqId || this.seenAck) {
      this.stats.discarded++;
      return;
    }
    const ok = code === Code.ConfNak ? this.cb.nakReceived(data) : this.cb.rejectReceived(data);
    if (!ok) {
      this.stats.discarded++;
      return;
    }
    this.seenAck = true;
    if (++this.naksRcvd > this.maxConfigure * 3 && this.stateValue !== 'opened') {
      // Not in RFC 1661, which bounds only the Naks we send; a peer that Naks forever must
      // not keep the link negotiating forever either.
      this.timerAt = undefined;
      this.stateValue = 'stopped';
      this.cb.finished(now, 'timeout');
      return;
    }
    switch (this.stateValue) {
      case 'closed':
      case 'stopped':
        this.reply(Code.TermAck, id);
        break;
      case 'req-sent':
      case 'ack-sent':
        this.irc(this.maxConfigure);
        this.sendConfReq(now);
        break;
      case 'ack-rcvd':
        this.sendConfReq(now);
        this.stateValue = 'req-sent';
        break;
      case 'opened':
        this.cb.down(now, 'renegotiate');
        this.sendConfReq(now);
        this.stateValue = 'req-sent';
        break;
      default:
        this.stats.discarded++;
    }
  }

  private rcvTermReq(id: number, now: number): void {
    switch (this.stateValue) {
      case 'ack-rcvd':
      case 'ack-sent':
        this.stateValue = 'req-sent';
        break;
      case 'opened':
        this.cb.down(now, 'peer-terminate');
        this.restartCount = 0; // zrc: wait one restart period, then finish (RFC 1661 4.4)
        this.timerAt = now + this.restartMs;
        this.finishReason = 'peer-terminated';
        this.stateValue = 'stopping';
        break;
      default:
        break;
    }
    this.reply(Code.TermAck, id);
  }

  private rcvTermAck(now: number): void {
    switch (this.stateValue) {
      case 'closing':
        this.timerAt = undefined;
        this.stateValue = 'closed';
        this.cb.finished(now, this.finishReason);
        break;
      case 'stopping':
        this.timerAt = undefined;
        this.stateValue = 'stopped';
        this.cb.finished(now, this.finishReason);
        break;
      case 'ack-rcvd':
        this.stateValue = 'req-sent';
        break;
      case 'opened':
        this.cb.down(now, 'renegotiate');
        this.sendConfReq(now);
        this.stateValue = 'req-sent';
        break;
      default:
        break;
    }
  }

  /** Code-Reject (RFC 1661 5.6): fatal when it rejects a code the automaton needs (RXJ-). */
  private rcvCodeRej(data: Uint8Array, now: number): void {
    const rejected = data[0];
    if (rejected !== undefined && rejected >= Code.ConfReq && rejected <= Code.CodeRej) this.rxjMinus(now);
    else if (this.stateValue === 'ack-rcvd') this.stateValue = 'req-sent'; // RXJ+
  }

  private rxjMinus(now: number): void {
    this.finishReason = 'rejected';
    switch (this.stateValue) {
      case 'closed':
      case 'stopped':
        this.cb.finished(now, 'rejected');
        break;
      case 'closing':
        this.timerAt = undefined;
        this.stateValue = 'closed';
        this.cb.finished(now, 'rejected');
        break;
      case 'stopping':
      case 'req-sent':
      case 'ack-rcvd':
      case 'ack-sent':
        this.timerAt = undefined;
        this.stateValue = 'stopped';
        this.cb.finished(now, 'rejected');
        break;
      case 'opened':
        this.cb.down(now, 'rejected');
        this.irc(this.maxTerminate);
        this.sendTermReq(now);
        this.stateValue = 'stopping';
        break;
      default:
        break;
    }
  }
}
