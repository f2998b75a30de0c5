import { ByteQueue, Reassembly } from './buffers.js';
import { NewReno } from './congestion/newreno.js';
import type { CongestionControl, CongestionFactory } from './congestion.js';
import type { TcpErrorCode } from './errors.js';
import { type RttConfig, RttEstimator } from './rtt.js';
import { SackScoreboard } from './scoreboard.js';
import { hasFlag, segLength, TcpFlag, type TcpOptions, type TcpSegment } from './segment.js';
import { seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt, seqMax } from './seq.js';

/**
 * One TCP connection (RFC 9293), sans-I/O: the transmission control block and the rules
 * that move it. Segments in through `input`, segments out from `takeOutput`, application
 * bytes through `write`/`read`, time from the caller (`tick`, `nextDeadline`).
 *
 * Sender: RFC 6298 retransmission timer with Karn's rule and backoff, RFC 5681/6582 NewReno
 * behind `CongestionControl`, Nagle (RFC 9293 3.7.4), sender SWS avoidance, zero-window
 * probing (3.8.6.1), keepalive (3.8.4), user timeout. Receiver: a window that follows the
 * reader (backpressure) with receiver SWS avoidance (3.8.6.2.2), out-of-order reassembly
 * bounded by the window, delayed ACK (every second full segment, timer <= 200 ms), SACK
 * blocks (RFC 2018) when the peer permits, window scaling (RFC 7323). RFC 5961: challenge
 * ACKs for in-window RST and SYN and for old ACKs.
 */
export type TcpState =
  | 'syn-sent'
  | 'syn-received'
  | 'established'
  | 'fin-wait-1'
  | 'fin-wait-2'
  | 'close-wait'
  | 'closing'
  | 'last-ack'
  | 'time-wait'
  | 'closed';

export interface KeepaliveConfig {
  /** Idle time before the first probe (net.Socket's initialDelay). */
  idleMs: number;
  /** Between probes. Default 75 s (Linux tcp_keepalive_intvl). */
  intervalMs?: number;
  /** Unanswered probes before ETIMEDOUT. Default 9 (Linux tcp_keepalive_probes). */
  probes?: number;
}

export interface TcbConfig {
  localPort: number;
  remotePort: number;
  /** Initial send sequence number (RFC 6528, chosen by the stack). */
  iss: number;
  /** Largest segment payload our side can receive and send: the link MTU minus 40. */
  mss: number;
  /** Receive buffer: the most we hold for the reader, and so the largest window. Default 256 KiB. */
  recvBuffer?: number;
  /** Send buffer: bytes written and not yet acknowledged. Default 256 KiB (a 2 s x 92 kB/s line needs ~184 KiB in flight). */
  sendBuffer?: number;
  /** Offer window scaling (RFC 7323). Default true. */
  windowScale?: boolean;
  /** Offer SACK (RFC 2018): we send SACK blocks for out-of-order data. Default true. */
  sack?: boolean;
  /** Disable Nagle. Default false. */
  noDelay?: boolean;
  /** Delayed ACK timer, at most 200 ms. Default 100 ms. */
  delayedAckMs?: number;
  rtt?: RttConfig;
  congestion?: CongestionFactory;
  /** Initial congestion window in segments (RFC 6928). Default 10. */
  initialWindow?: number;
  keepalive?: KeepaliveConfig;
  /** Give up when sent data stays unacknowledged this long (RFC 5482). Default: off. */
  userTimeoutMs?: number;
  /** TIME-WAIT, 2 MSL. Default 60 s (MSL 30 s, as Linux). */
  timeWaitMs?: number;
  /** SYN (and SYN-ACK) retransmissions before ETIMEDOUT. Default 6. */
  synRetries?: number;
  /** Data retransmissions of one segment before ETIMEDOUT (Linux tcp_retries2). Default 15. */
  maxRetransmits?: number;
}

export type TcbEvent =
  | { type: 'established' }
  | { type: 'readable' }
  | { type: 'writable' }
  /** The peer's FIN: no more data will come (after what is queued). */
  | { type: 'eof' }
  /** Finished for the application (TIME-WAIT or CLOSED), with an error if it failed. */
  | { type: 'closed'; error?: TcpErrorCode; message?: string };

export interface TcbStats {
  segmentsIn: number;
  segmentsOut: number;
  bytesIn: number;
  bytesOut: number;
  retransmits: number;
  fastRetransmits: number;
  timeouts: number;
  dupAcksIn: number;
  outOfOrder: number;
  challengeAcks: number;
  windowProbes: number;
  /** Segments dropped as unacceptable (RFC 9293 3.10.7.4 first check). */
  unacceptable: number;
}

const FIN = TcpFlag.FIN;
const SYN = TcpFlag.SYN;
const RST = TcpFlag.RST;
const PSH = TcpFlag.PSH;
const ACK = TcpFlag.ACK;

export class Tcb {
  stateValue: TcpState;
  readonly stats: TcbStats = {
    segmentsIn: 0,
    segmentsOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    retransmits: 0,
    fastRetransmits: 0,
    timeouts: 0,
    dupAcksIn: 0,
    outOfOrder: 0,
    challengeAcks: 0,
    windowProbes: 0,
    unacceptable: 0,
  };
  readonly rtt: RttEstimator;
  cc: CongestionControl;

  // Send sequence variables (RFC 9293 3.3.1).
  readonly iss: number;
  sndUna: number;
  sndNxt: number;
  sndWnd = 0;
  private sndWl1 = 0;
  private sndWl2 = 0;
  private maxSndWnd = 0;
  private sndWscale = 0;
  /** Highest sequence number sent (for NewReno's recovery point and go-back-N). */
  private sndMax: number;
  private readonly sendQ = new ByteQueue();
  /** Sequence number of sendQ's first octet. */
  private sendQSeq: number;
  private finQueued = false;
  private finSeq: number | undefined;

  // Receive sequence variables.
  irs = 0;
  rcvNxt = 0;
  private rcvWscale = 0;
  private rcvAdvRight = 0;
  private readonly recvQ = new ByteQueue();
  private readonly ooo = new Reassembly();
  private finReceived = false;
  private eofDelivered = false;

  // Options agreed on the SYNs.
  private peerMss = 536;
  private sackOk = false;
  private wsOk = false;

  // Timers (absolute ms) and their state.
  private rtoAt: number | undefined;
  private retransmitCount = 0;
  private synCount = 0;
  private persistAt: number | undefined;
  private persistBackoff = 0;
  private delayedAckAt: number | undefined;
  private keepaliveAt: number | undefined;
  private keepaliveSent = 0;
  private timeWaitAt: number | undefined;
  private firstUnackedAt: number | undefined;
  private lastSendAt = 0;

  // RTT timing of one segment at a time (Karn: never a retransmitted one).
  private timedSeq: number | undefined;
  private timedAt = 0;

  // Loss recovery (RFC 6582).
  private dupAcks = 0;
  /** Octets past cwnd that RFC 3042 limited transmit allows (first two duplicate ACKs). */
  private limitedTransmit = 0;
  private inRecovery = false;
  private recover = 0;
  /** What the peer SACKed (when it permits SACK) and how far holes were resent in this recovery. */
  private readonly scoreboard = new SackScoreboard();
  private rexmitHigh = 0;
  /** This recovery is driven by SACK information (the peer sent blocks), not NewReno's guesses. */
  private sackRecovery = false;

  // ACK scheduling.
  private ackNow = false;
  private segmentsSinceAck = 0;
  private challengeWindowStart = 0;
  private challengeCount = 0;

  private noDelay: boolean;
  private keepalive: KeepaliveConfig | undefined;
  private userTimeoutMs: number | undefined;
  private readonly recvBuffer: number;
  private readonly sendBuffer: number;
  private readonly delayedAckMs: number;
  private readonly mss: number;
  private output: TcpSegment[] = [];
  private events: TcbEvent[] = [];
  private closedEmitted = false;
  private pendingError: { code: TcpErrorCode; message: string } | undefined;

  private constructor(
    private readonly config: TcbConfig,
    state: TcpState,
  ) {
    this.stateValue = state;
    this.iss = config.iss >>> 0;
    this.sndUna = this.iss;
    this.sndNxt = this.iss;
    this.sndMax = this.iss;
    this.sendQSeq = seqAdd(this.iss, 1);
    this.mss = config.mss;
    this.recvBuffer = config.recvBuffer ?? 256 * 1024;
    this.sendBuffer = config.sendBuffer ?? 256 * 1024;
    this.delayedAckMs = Math.min(200, config.delayedAckMs ?? 100);
    this.noDelay = config.noDelay ?? false;
    this.keepalive = config.keepalive;
    this.userTimeoutMs = config.userTimeoutMs;
    this.rtt = new RttEstimator(config.rtt);
    this.cc = (config.congestion ?? ((c) => new NewReno(c)))({
      smss: config.mss,
      initialWindowSegments: config.initialWindow ?? 10,
    });
    if (config.windowScale ?? true) {
      // RFC 7323 2.2: the smallest shift that lets the buffer be advertised.
      while (this.rcvWscale < 14 && this.recvBuffer >> this.rcvWscale > 0xffff) this.rcvWscale++;
    }
  }

  /** Active open (RFC 9293 3.10.1): sends SYN. */
  static connect(config: TcbConfig, now: number): Tcb {
    const t = new Tcb(config, 'syn-sent');
    t.sendSyn(now, false);
    return t;
  }

  /** Passive open: a listener got this SYN (RFC 9293 3.10.7.2); answers SYN-ACK. */
  static accept(config: TcbConfig, syn: TcpSegment, now: number): Tcb {
    const t = new Tcb(config, 'syn-received');
    t.irs = syn.seq;
    t.rcvNxt = seqAdd(syn.seq, 1);
    t.takeSynOptions(syn);
    t.sndWnd = syn.window; // a SYN's window is never scaled (RFC 7323 2.2)
    t.maxSndWnd = t.sndWnd;
    t.sndWl1 = syn.seq;
    t.sndWl2 = t.iss;
    t.sendSyn(now, true);
    return t;
  }

  get state(): TcpState {
    return this.stateValue;
  }

  /** Octets the application may still write before the send buffer is full. */
  get writableLength(): number {
    return Math.max(0, this.sendBuffer - this.sendQ.length);
  }

  /** Octets waiting for the application to read. */
  get readableLength(): number {
    return this.recvQ.length;
  }

  /** Octets written and not yet acknowledged. */
  get unacknowledged(): number {
    return this.sendQ.length;
  }

  get effectiveMss(): number {
    return Math.max(1, Math.min(this.peerMss, this.mss));
  }

  get sackPermitted(): boolean {
    return this.sackOk;
  }

  setNoDelay(on: boolean, now: number): void {
    this.noDelay = on;
    this.transmit(now);
  }

  setKeepalive(k: KeepaliveConfig | undefined, now: number): void {
    this.keepalive = k;
    this.keepaliveSent = 0;
    this.keepaliveAt = k && this.isSynchronized() ? now + k.idleMs : undefined;
  }

  setUserTimeout(ms: number | undefined): void {
    this.userTimeoutMs = ms;
  }

  /** Queues application data; returns how many octets were taken (the rest: wait for `writable`). */
  write(data: Uint8Array, now: number): number {
    if (this.finQueued || this.stateValue === 'closed' || this.stateValue === 'time-wait') return 0;
    const n = Math.min(data.length, this.writableLength);
    if (n === 0) return 0;
    this.sendQ.push(n === data.length ? data : data.subarray(0, n));
    this.transmit(now);
    return n;
  }

  /** Takes up to `max` octets the peer sent, in order; the window opens as they are read. */
  read(max: number, now: number): Uint8Array[] {
    const before = this.advertisableWindow();
    const out = this.recvQ.take(max);
    if (out.length > 0) {
      // Receiver SWS avoidance decides whether the opened space is worth a window update.
      const after = this.computeRightEdge();
      if (after.grew && before < this.effectiveMss) this.ackNow = true;
      this.transmit(now);
    }
    this.maybeEof();
    return out;
  }

  /** Half-close: FIN once the queued data is out (RFC 9293 3.10.4 CLOSE). */
  shutdown(now: number): void {
    if (this.finQueued) return;
    switch (this.stateValue) {
      case 'syn-sent': // net.Socket semantics: the FIN follows the connection and the queued data
      case 'syn-received':
      case 'established':
      case 'close-wait':
        this.finQueued = true;
        this.transmit(now);
        return;
      default:
        return;
    }
  }

  /** ABORT (RFC 9293 3.10.5): RST to the peer, closed at once; `error` says why, if it failed. */
  abort(now: number, error?: { code: TcpErrorCode; message: string }): void {
    if (this.stateValue !== 'closed' && this.stateValue !== 'time-wait' && this.stateValue !== 'syn-sent') {
      this.emit({ seq: this.sndNxt, ack: 0, flags: RST, payload: new Uint8Array(0) }, now);
    }
    this.stateValue = 'closed';
    this.clearTimers();
    this.finish(error?.code, error?.message);
  }

  nextDeadline(): number | undefined {
    let best: number | undefined;
    for (const t of [
      this.rtoAt,
      this.persistAt,
      this.delayedAckAt,
      this.keepaliveAt,
      this.timeWaitAt,
      this.userDeadline(),
    ]) {
      if (t !== undefined && (best === undefined || t < best)) best = t;
    }
    return best;
  }

  takeOutput(): TcpSegment[] {
    const o = this.output;
    this.output = [];
    return o;
  }

  takeEvents(): TcbEvent[] {
    const e = this.events;
    this.events = [];
    return e;
  }

  // ---- timers ---------------------------------------------------------------------------

  tick(now: number): void {
    if (this.timeWaitAt !== undefined && now >= this.timeWaitAt) {
      this.timeWaitAt = undefined;
      this.stateValue = 'closed';
      this.finish(undefined);
      return;
    }
    const ud = this.userDeadline();
    if (ud !== undefined && now >= ud) {
      this.fail('ETIMEDOUT', `data unacknowledged for ${this.userTimeoutMs} ms (user timeout)`, now, true);
      return;
    }
    if (this.rtoAt !== undefined && now >= this.rtoAt) this.onRetransmitTimeout(now);
    if (this.persistAt !== undefined && now >= this.persistAt) this.onPersist(now);
    if (this.keepaliveAt !== undefined && now >= this.keepaliveAt) this.onKeepalive(now);
    if (this.delayedAckAt !== undefined && now >= this.delayedAckAt) {
      this.delayedAckAt = undefined;
      this.ackNow = true;
    }
    this.transmit(now);
  }

  private userDeadline(): number | undefined {
    if (this.userTimeoutMs === undefined || this.firstUnackedAt === undefined) return undefined;
    return this.firstUnackedAt + this.userTimeoutMs;
  }

  private onRetransmitTimeout(now: number): void {
    this.rtoAt = undefined;
    this.stats.timeouts++;
    if (this.stateValue === 'syn-sent' || this.stateValue === 'syn-received') {
      if (this.synCount > (this.config.synRetries ?? 6)) {
        this.fail('ETIMEDOUT', `no answer to ${this.synCount} SYNs`, now, false);
        return;
      }
      this.rtt.backoff();
      this.sendSyn(now, this.stateValue === 'syn-received');
      return;
    }
    if (++this.retransmitCount > (this.config.maxRetransmits ?? 15)) {
      this.fail(
        'ETIMEDOUT',
        `no acknowledgment after ${this.retransmitCount - 1} retransmissions`,
        now,
        true,
      );
      return;
    }
    // RFC 5681 3.1 and RFC 6298 5.4-5.6: loss window, back off, resend from snd.una.
    this.cc.onTimeout(this.flight());
    this.rtt.backoff();
    this.inRecovery = false;
    this.dupAcks = 0;
    this.recover = this.sndMax;
    this.timedSeq = undefined; // Karn
    this.sndNxt = this.sndUna;
  }

  /** Zero-window probe (RFC 9293 3.8.6.1): an old sequence number makes the peer ACK with its window. */
  private onPersist(now: number): void {
    this.persistAt = undefined;
    if (this.sndWnd > 0 || this.unsent() === 0) return;
    this.stats.windowProbes++;
    this.emit(
      { seq: seqAdd(this.sndUna, -1), ack: this.rcvNxt, flags: ACK, payload: new Uint8Array(0) },
      now,
    );
    this.persistBackoff = Math.min(this.persistBackoff + 1, 6);
    this.persistAt = now + Math.min(60_000, this.rtt.rto * 2 ** this.persistBackoff);
  }

  private onKeepalive(now: number): void {
    const k = this.keepalive;
    this.keepaliveAt = undefined;
    if (!k || !this.isSynchronized()) return;
    if (this.keepaliveSent >= (k.probes ?? 9)) {
      this.fail('ETIMEDOUT', `no answer to ${this.keepaliveSent} keepalive probes`, now, true);
      return;
    }
    this.keepaliveSent++;
    // RFC 9293 3.8.4: a segment with SEG.SEQ = SND.NXT-1 and no data.
    this.emit(
      { seq: seqAdd(this.sndNxt, -1), ack: this.rcvNxt, flags: ACK, payload: new Uint8Array(0) },
      now,
    );
    this.keepaliveAt = now + (k.intervalMs ?? 75_000);
  }

  // ---- segment arrival (RFC 9293 3.10.7) ------------------------------------------------

  input(seg: TcpSegment, now: number): void {
    this.stats.segmentsIn++;
    if (this.stateValue === 'closed') return;
    if (this.stateValue === 'syn-sent') {
      this.inputSynSent(seg, now);
      this.transmit(now);
      return;
    }
    if (!this.acceptable(seg)) {
      this.stats.unacceptable++;
      if (!hasFlag(seg, RST)) this.ackNow = true;
      this.transmit(now);
      return;
    }
    if (hasFlag(seg, RST)) {
      // RFC 5961 3.2: reset only on an exact match, a challenge ACK for the rest of the window.
      if (seg.seq === this.rcvNxt) {
        const refused = this.stateValue === 'syn-received';
        this.stateValue = 'closed';
        this.clearTimers();
        this.finish(refused ? 'ECONNREFUSED' : 'ECONNRESET', 'the peer reset the connection');
      } else {
        this.challengeAck(now);
      }
      return;
    }
    if (hasFlag(seg, SYN)) {
      // RFC 5961 4.2: a SYN in a synchronized state gets a challenge ACK, never a reset.
      this.challengeAck(now);
      return;
    }
    if (!hasFlag(seg, ACK)) return;
    if (this.keepalive) {
      this.keepaliveSent = 0;
      this.keepaliveAt = now + this.keepalive.idleMs;
    }
    if (!this.processAck(seg, now)) {
      this.transmit(now);
      return;
    }
    if (this.state === 'closed') return; // processAck may have closed it (LAST-ACK)
    this.processText(seg, now);
    if (hasFlag(seg, FIN)) this.processFin(seg, now);
    this.transmit(now);
  }

  private inputSynSent(seg: TcpSegment, now: number): void {
    const ackOk = hasFlag(seg, ACK) && seqGt(seg.ack, this.iss) && seqLe(seg.ack, this.sndNxt);
    if (hasFlag(seg, ACK) && !ackOk) {
      if (!hasFlag(seg, RST))
        this.emit({ seq: seg.ack, ack: 0, flags: RST, payload: new Uint8Array(0) }, now);
      return;
    }
    if (hasFlag(seg, RST)) {
      if (ackOk) {
        this.stateValue = 'closed';
        this.clearTimers();
        this.finish('ECONNREFUSED', 'connection refused');
      }
      return;
    }
    if (!hasFlag(seg, SYN)) return;
    this.irs = seg.seq;
    this.rcvNxt = seqAdd(seg.seq, 1);
    this.takeSynOptions(seg);
    if (ackOk) {
      this.sndUna = seg.ack;
      this.sndWnd = seg.window; // SYN-ACK's window is not scaled
      this.maxSndWnd = this.sndWnd;
      this.sndWl1 = seg.seq;
      this.sndWl2 = seg.ack;
      if (this.timedSeq !== undefined && this.synCount === 1) this.rtt.sample(now - this.timedAt);
      else this.rtt.resetBackoff();
      this.timedSeq = undefined;
      this.rtoAt = undefined;
      this.stateValue = 'established';
      this.events.push({ type: 'established' });
      this.ackNow = true;
      this.armKeepalive(now);
      // Data on a SYN-ACK starts one past the SYN.
      if (seg.payload.length > 0)
        this.processText({ ...seg, seq: seqAdd(seg.seq, 1), flags: seg.flags & ~SYN }, now);
    } else {
      // Simultaneous open (RFC 9293 3.5, figure 8).
      this.stateValue = 'syn-received';
      this.sndWnd = seg.window;
      this.sndWl1 = seg.seq;
      this.sendSyn(now, true);
    }
  }

  /** RFC 9293 3.10.7.4 first check: is any of the segment inside the receive window? */
  private acceptable(seg: TcpSegment): boolean {
    const len = segLength(seg);
    const wnd = Math.max(0, seqDiff(this.rcvAdvRight, this.rcvNxt));
    if (len === 0) {
      if (wnd === 0) return seg.seq === this.rcvNxt;
      return seqGe(seg.seq, this.rcvNxt) && seqLt(seg.seq, seqAdd(this.rcvNxt, wnd));
    }
    if (wnd === 0) return false;
    const end = seqAdd(seg.seq, len - 1);
    const right = seqAdd(this.rcvNxt, wnd);
    return (
      (seqGe(seg.seq, this.rcvNxt) && seqLt(seg.seq, right)) || (seqGe(end, this.rcvNxt) && seqLt(end, right))
    );
  }

  /** Fifth check, the ACK field. Returns false when the segment must be dropped. */
  private processAck(seg: TcpSegment, now: number): boolean {
    if (this.stateValue === 'syn-received') {
      if (seqGt(seg.ack, this.sndUna) && seqLe(seg.ack, this.sndNxt)) {
        this.stateValue = 'established';
        this.sndWnd = seg.window << this.sndWscale;
        this.maxSndWnd = Math.max(this.maxSndWnd, this.sndWnd);
        this.sndWl1 = seg.seq;
        this.sndWl2 = seg.ack;
        this.events.push({ type: 'established' });
        this.armKeepalive(now);
      } else {
        this.emit({ seq: seg.ack, ack: 0, flags: RST, payload: new Uint8Array(0) }, now);
        return false;
      }
    }
    // RFC 5961 5.2: an ACK older than one maximum window is a blind attack: challenge it.
    if (seqLt(seg.ack, seqAdd(this.sndUna, -Math.max(this.maxSndWnd, 1)))) {
      this.challengeAck(now);
      return false;
    }
    if (seqGt(seg.ack, this.sndMax)) {
      this.ackNow = true; // acknowledges something not yet sent (RFC 9293 3.10.7.4)
      return false;
    }
    const acked = seqDiff(seg.ack, this.sndUna);
    const window = seg.window << this.sndWscale;
    if (this.sackOk && seg.options.sack) this.scoreboard.update(seg.options.sack, seg.ack, this.sndMax);
    if (acked > 0) {
      this.onNewAck(seg.ack, acked, now);
    } else if (
      acked === 0 &&
      seg.payload.length === 0 &&
      !hasFlag(seg, FIN) &&
      window === this.sndWnd &&
      this.sndMax !== this.sndUna
    ) {
      this.onDupAck(now);
    }
    // Window update (RFC 9293 3.10.7.4: SND.WL1/WL2 rule).
    if (seqLt(this.sndWl1, seg.seq) || (this.sndWl1 === seg.seq && seqLe(this.sndWl2, seg.ack))) {
      const opened = this.sndWnd === 0 && window > 0;
      this.sndWnd = window;
      this.maxSndWnd = Math.max(this.maxSndWnd, window);
      this.sndWl1 = seg.seq;
      this.sndWl2 = seg.ack;
      if (opened) {
        this.persistAt = undefined;
        this.persistBackoff = 0;
      }
    }
    // FIN of ours acknowledged: the closing states move on.
    if (this.finSeq !== undefined && seqGt(this.sndUna, this.finSeq)) {
      switch (this.stateValue) {
        case 'fin-wait-1':
          this.stateValue = 'fin-wait-2';
          break;
        case 'closing':
          this.enterTimeWait(now);
          break;
        case 'last-ack':
          this.stateValue = 'closed';
          this.clearTimers();
          this.finish(undefined);
          return false;
        default:
          break;
      }
    }
    if (this.stateValue === 'time-wait' && hasFlag(seg, FIN)) {
      this.ackNow = true;
      this.timeWaitAt = now + (this.config.timeWaitMs ?? 60_000);
    }
    return true;
  }

  private onNewAck(ack: number, acked: number, now: number): void {
    const flightBefore = this.flight();
    // Octets of data acknowledged (our SYN and FIN take sequence space but no buffer).
    const dataAcked = Math.max(0, Math.min(seqDiff(ack, this.sendQSeq), this.sendQ.length));
    if (dataAcked > 0) {
      this.sendQ.drop(dataAcked);
      this.sendQSeq = seqAdd(this.sendQSeq, dataAcked);
      this.events.push({ type: 'writable' });
    }
    this.sndUna = ack;
    if (seqLt(this.sndNxt, this.sndUna)) this.sndNxt = this.sndUna;
    this.scoreboard.prune(ack);
    this.retransmitCount = 0;
    if (this.timedSeq !== undefined && seqGt(ack, this.timedSeq)) {
      this.rtt.sample(now - this.timedAt);
      this.timedSeq = undefined;
    } else {
      this.rtt.resetBackoff();
    }
    if (this.inRecovery) {
      if (seqGe(ack, this.recover)) {
        this.inRecovery = false;
        this.cc.onExitRecovery(this.flight());
      } else if (this.sackRecovery) {
        // With SACK the holes are known: transmit() resends them as the pipe allows.
      } else {
        // RFC 6582 3.2 step 5: a partial ACK; the next hole is lost too.
        this.cc.onPartialAck(acked);
        this.retransmitFirst(now);
      }
    } else {
      this.cc.onAck(acked, flightBefore);
    }
    this.dupAcks = 0;
    this.limitedTransmit = 0;
    this.firstUnackedAt = this.sndMax === this.sndUna ? undefined : now;
    this.rtoAt = this.sndMax === this.sndUna ? undefined : now + this.rtt.rto;
  }

  private onDupAck(now: number): void {
    this.stats.dupAcksIn++;
    this.dupAcks++;
    if (this.inRecovery) {
      // NewReno inflates cwnd per duplicate; with SACK the pipe estimate does that job.
      if (!this.sackRecovery) this.cc.onDupAckInRecovery();
      return;
    }
    // RFC 3042 limited transmit: each of the first two duplicates lets one new segment out,
    // which keeps the ACK clock going on a small window.
    if (this.dupAcks <= 2) this.limitedTransmit = this.dupAcks * this.effectiveMss;
    // RFC 6582 3.2 step 2: three duplicates, and not a repeat of an already repaired loss.
    if (this.dupAcks === 3 && seqGt(this.sndUna, this.recover)) this.enterRecovery(now);
  }

  private enterRecovery(now: number): void {
    this.inRecovery = true;
    this.sackRecovery = this.sackOk && !this.scoreboard.empty;
    this.limitedTransmit = 0;
    this.recover = this.sndMax;
    this.cc.onEnterRecovery(this.flight());
    this.stats.fastRetransmits++;
    this.retransmitFirst(now);
    this.rexmitHigh = seqAdd(this.sndUna, this.effectiveMss);
  }

  /** Resends one segment from snd.una without moving snd.nxt (fast retransmit). */
  private retransmitFirst(now: number): void {
    const offset = seqDiff(this.sndUna, this.sendQSeq);
    const len = Math.min(this.effectiveMss, this.sendQ.length - offset);
    const finHere = this.finSeq !== undefined && seqAdd(this.sndUna, Math.max(len, 0)) === this.finSeq;
    if (len <= 0 && !finHere) return;
    this.stats.retransmits++;
    if (this.timedSeq !== undefined && seqGe(this.timedSeq, this.sndUna)) this.timedSeq = undefined; // Karn
    const payload = len > 0 ? this.sendQ.peek(offset, len) : new Uint8Array(0);
    this.emit({ seq: this.sndUna, ack: this.rcvNxt, flags: ACK | (finHere ? FIN : 0) | PSH, payload }, now);
    this.rtoAt = now + this.rtt.rto;
  }

  /** Seventh check: segment text (RFC 9293 3.10.7.4), with out-of-order reassembly. */
  private processText(seg: TcpSegment, now: number): void {
    if (seg.payload.length === 0) return;
    if (
      this.stateValue !== 'established' &&
      this.stateValue !== 'fin-wait-1' &&
      this.stateValue !== 'fin-wait-2'
    )
      return;
    let seq = seg.seq;
    let data = seg.payload;
    const wnd = Math.max(0, seqDiff(this.rcvAdvRight, this.rcvNxt));
    // Trim what we already have and what lies beyond the window.
    const before = seqDiff(this.rcvNxt, seq);
    if (before > 0) {
      data = data.subarray(Math.min(before, data.length));
      seq = this.rcvNxt;
    }
    const room = wnd - seqDiff(seq, this.rcvNxt);
    if (room <= 0) {
      this.ackNow = true;
      return;
    }
    if (data.length > room) data = data.subarray(0, room);
    if (data.length === 0) {
      this.ackNow = true;
      return;
    }
    this.stats.bytesIn += data.length;
    if (seq !== this.rcvNxt) {
      // A hole before it: keep it, and say at once what we miss (RFC 5681 4.2: immediate dup ACK).
      this.stats.outOfOrder++;
      this.ooo.insert(seqDiff(seq, this.rcvNxt), data);
      this.ackNow = true;
      return;
    }
    const hadHole = !this.ooo.empty;
    // The segment's bytes may live in a shared buffer below us: keep a copy only.
    this.recvQ.push(Uint8Array.from(data));
    this.rcvNxt = seqAdd(this.rcvNxt, data.length);
    for (const more of this.ooo.advance(data.length)) {
      this.recvQ.push(more);
      this.rcvNxt = seqAdd(this.rcvNxt, more.length);
    }
    this.events.push({ type: 'readable' });
    // RFC 5681 4.2: ACK at least every second full-sized segment, at once when a hole fills;
    // otherwise within the delayed-ACK timer.
    if (hadHole || ++this.segmentsSinceAck >= 2) this.ackNow = true;
    else this.delayedAckAt ??= now + this.delayedAckMs;
  }

  /** Eighth check: FIN (RFC 9293 3.10.7.4). */
  private processFin(seg: TcpSegment, now: number): void {
    const finAt = seqAdd(seg.seq, seg.payload.length);
    if (finAt !== this.rcvNxt || this.finReceived) {
      if (this.finReceived) this.ackNow = true; // a retransmitted FIN
      return; // a FIN beyond a hole waits for the data before it
    }
    this.finReceived = true;
    this.rcvNxt = seqAdd(this.rcvNxt, 1);
    this.ackNow = true;
    switch (this.stateValue) {
      case 'syn-received':
      case 'established':
        this.stateValue = 'close-wait';
        break;
      case 'fin-wait-1':
        if (this.finSeq !== undefined && seqGt(this.sndUna, this.finSeq)) this.enterTimeWait(now);
        else this.stateValue = 'closing';
        break;
      case 'fin-wait-2':
        this.enterTimeWait(now);
        break;
      default:
        break;
    }
    this.maybeEof();
  }

  private maybeEof(): void {
    if (this.finReceived && !this.eofDelivered && this.recvQ.length === 0) {
      this.eofDelivered = true;
      this.events.push({ type: 'eof' });
    }
  }

  private enterTimeWait(now: number): void {
    this.stateValue = 'time-wait';
    this.rtoAt = undefined;
    this.persistAt = undefined;
    this.keepaliveAt = undefined;
    this.firstUnackedAt = undefined;
    this.timeWaitAt = now + (this.config.timeWaitMs ?? 60_000);
    this.finish(undefined);
  }

  // ---- sending --------------------------------------------------------------------------

  private flight(): number {
    return Math.max(0, seqDiff(this.sndMax, this.sndUna));
  }

  /**
   * Octets believed in the network (RFC 6675 "pipe", simplified): what was sent and not
   * SACKed; in SACK recovery the holes below the highest SACKed octet count as lost unless
   * we resent them.
   */
  private pipe(): number {
    const sent = Math.max(0, seqDiff(this.sndNxt, this.sndUna));
    if (!this.sackOk) return sent;
    const high = this.scoreboard.highest();
    if (!this.inRecovery || !this.sackRecovery || high === undefined || !seqGt(high, this.sndUna)) {
      return sent - this.scoreboard.sackedBelow(this.sndNxt);
    }
    const above = Math.max(0, seqDiff(this.sndNxt, high));
    const resentEnd = seqLt(this.rexmitHigh, this.sndUna) ? this.sndUna : this.rexmitHigh;
    const resent =
      Math.max(0, seqDiff(resentEnd, this.sndUna)) -
      (this.scoreboard.sackedBelow(resentEnd) - this.scoreboard.sackedBelow(this.sndUna));
    return above + Math.max(0, resent);
  }

  /**
   * Loss recovery with SACK (RFC 6675 NextSeg, simplified): resend the holes below the
   * highest SACKed octet, one segment at a time, while the pipe is below ssthresh.
   */
  private retransmitHoles(now: number): void {
    const high = this.scoreboard.highest();
    if (high === undefined) return;
    const mss = this.effectiveMss;
    for (let guard = 0; guard < 1000; guard++) {
      if (this.pipe() >= this.cc.ssthresh) return;
      let start = seqLt(this.rexmitHigh, this.sndUna) ? this.sndUna : this.rexmitHigh;
      const sackedEnd = this.scoreboard.sackedEnd(start);
      if (sackedEnd !== undefined) start = sackedEnd;
      if (!seqLt(start, high)) return;
      const next = this.scoreboard.nextStart(start) ?? high;
      const offset = seqDiff(start, this.sendQSeq);
      const len = Math.min(mss, seqDiff(next, start), this.sendQ.length - offset);
      if (len <= 0) return;
      this.stats.retransmits++;
      if (this.timedSeq !== undefined && seqGe(this.timedSeq, start)) this.timedSeq = undefined; // Karn
      this.emit({ seq: start, ack: this.rcvNxt, flags: ACK, payload: this.sendQ.peek(offset, len) }, now);
      this.rexmitHigh = seqAdd(start, len);
    }
  }

  private unsent(): number {
    return Math.max(0, this.sendQ.length - seqDiff(this.sndNxt, this.sendQSeq));
  }

  private isSynchronized(): boolean {
    return (
      this.stateValue !== 'syn-sent' && this.stateValue !== 'syn-received' && this.stateValue !== 'closed'
    );
  }

  /** Sends what the windows, Nagle and SWS avoidance allow, then an ACK if one is due. */
  private transmit(now: number): void {
    let sentAck = false;
    const canSendData =
      this.stateValue === 'established' ||
      this.stateValue === 'close-wait' ||
      this.stateValue === 'fin-wait-1' ||
      this.stateValue === 'closing' ||
      this.stateValue === 'last-ack';
    if (canSendData) {
      if (this.sndMax === this.sndUna && now - this.lastSendAt > this.rtt.rto && this.lastSendAt > 0)
        this.cc.onIdle();
      if (this.inRecovery && this.sackRecovery) this.retransmitHoles(now);
      for (let guard = 0; guard < 10_000; guard++) {
        // After a timeout (go-back-N) skip what the peer SACKed (RFC 2018; Linux keeps it too).
        const skipTo =
          this.sackOk && seqLt(this.sndNxt, this.sndMax) ? this.scoreboard.sackedEnd(this.sndNxt) : undefined;
        if (skipTo !== undefined) {
          this.sndNxt = skipTo;
          continue;
        }
        const offset = seqDiff(this.sndNxt, this.sendQSeq);
        const unsent = this.sendQ.length - offset;
        // Going back after a timeout, a segment stops where the next SACKed range starts.
        let sendable = unsent;
        if (this.sackOk && seqLt(this.sndNxt, this.sndMax)) {
          const next = this.scoreboard.nextStart(this.sndNxt);
          if (next !== undefined && seqLt(next, this.sndMax))
            sendable = Math.min(sendable, seqDiff(next, this.sndNxt));
        }
        // cwnd limits what is in the network (the pipe); the peer's window limits sequence
        // space: nothing past snd.una + snd.wnd (RFC 9293 3.8.6.1), SACKed or not.
        const inFlight = this.pipe();
        const cwnd = this.inRecovery && this.sackRecovery ? this.cc.ssthresh : this.cc.cwnd;
        const congestionRoom = cwnd + (this.inRecovery ? 0 : this.limitedTransmit) - inFlight;
        const windowRoom = this.sndWnd - seqDiff(this.sndNxt, this.sndUna);
        const usable = Math.min(congestionRoom, windowRoom);
        const mss = this.effectiveMss;
        if (unsent > 0) {
          if (usable <= 0) break;
          const len = Math.min(sendable, mss, usable);
          // The end of everything written: PSH, and the FIN may ride along.
          const lastOfQueue = len === unsent;
          if (len < mss) {
            // Nagle (RFC 9293 3.7.4): hold a small segment while data is unacknowledged.
            if (!this.noDelay && inFlight > 0 && !(lastOfQueue && this.finQueued)) break;
            // Sender SWS avoidance (3.8.6.2.1): not less than half the largest window unless it
            // is all we have; with nothing in flight no ACK would come to wake us, so send.
            if (!lastOfQueue && len < this.maxSndWnd / 2 && inFlight > 0) break;
          }
          const fin = lastOfQueue && this.finQueued && this.sendFinNow();
          const payload = this.sendQ.peek(offset, len);
          const seq = this.sndNxt;
          this.emit(
            { seq, ack: this.rcvNxt, flags: ACK | (lastOfQueue ? PSH : 0) | (fin ? FIN : 0), payload },
            now,
          );
          sentAck = true;
          if (seqLt(seq, this.sndMax)) this.stats.retransmits++;
          else this.stats.bytesOut += len;
          if (this.timedSeq === undefined && seqGe(seq, this.sndMax)) {
            this.timedSeq = seq;
            this.timedAt = now;
          }
          this.sndNxt = seqAdd(this.sndNxt, len + (fin ? 1 : 0));
          if (fin) this.finSent();
          this.afterSend(now);
          continue;
        }
        if (this.finQueued && this.finSeq === undefined && this.sendFinNow()) {
          this.emit(
            { seq: this.sndNxt, ack: this.rcvNxt, flags: ACK | FIN, payload: new Uint8Array(0) },
            now,
          );
          sentAck = true;
          this.sndNxt = seqAdd(this.sndNxt, 1);
          this.finSent();
          this.afterSend(now);
        } else if (
          this.finSeq !== undefined &&
          this.sndNxt === this.finSeq &&
          seqLe(this.sndUna, this.finSeq)
        ) {
          // Go-back-N after a timeout reached our FIN: send it again.
          this.emit(
            { seq: this.sndNxt, ack: this.rcvNxt, flags: ACK | FIN, payload: new Uint8Array(0) },
            now,
          );
          sentAck = true;
          this.sndNxt = seqAdd(this.sndNxt, 1);
          this.afterSend(now);
        }
        break;
      }
      // Zero window with data waiting and nothing in flight: probe it (RFC 9293 3.8.6.1).
      if (
        this.sndWnd === 0 &&
        this.unsent() > 0 &&
        this.sndMax === this.sndUna &&
        this.persistAt === undefined
      ) {
        this.persistAt = now + this.rtt.rto;
      }
    }
    if (this.ackNow && !sentAck && this.stateValue !== 'syn-sent' && this.stateValue !== 'closed') {
      this.emit({ seq: this.sndNxt, ack: this.rcvNxt, flags: ACK, payload: new Uint8Array(0) }, now);
    }
    this.ackNow = false;
    if (this.closedEmitted && this.stateValue === 'closed') this.clearTimers();
  }

  /** A FIN may go out once the data before it has been sent (state allows). */
  private sendFinNow(): boolean {
    return (
      this.stateValue === 'established' ||
      this.stateValue === 'close-wait' ||
      this.stateValue === 'syn-received'
    );
  }

  private finSent(): void {
    this.finSeq = seqAdd(this.sndNxt, -1);
    if (this.stateValue === 'established' || this.stateValue === 'syn-received')
      this.stateValue = 'fin-wait-1';
    else if (this.stateValue === 'close-wait') this.stateValue = 'last-ack';
  }

  private afterSend(now: number): void {
    if (seqGt(this.sndNxt, this.sndMax)) this.sndMax = this.sndNxt;
    if (this.rtoAt === undefined) this.rtoAt = now + this.rtt.rto;
    if (this.firstUnackedAt === undefined) this.firstUnackedAt = now;
    this.lastSendAt = now;
  }

  private sendSyn(now: number, withAck: boolean): void {
    this.synCount++;
    const options: TcpOptions = { mss: this.mss };
    if (this.config.windowScale ?? true) {
      if (!withAck || this.wsOk) options.windowScale = this.rcvWscale;
    }
    if (this.config.sack ?? true) {
      if (!withAck || this.sackOk) options.sackPermitted = true;
    }
    if (this.synCount === 1) {
      this.timedSeq = this.iss;
      this.timedAt = now;
    } else {
      this.timedSeq = undefined; // Karn: a retransmitted SYN gives no sample
      this.stats.retransmits++;
    }
    this.sndNxt = seqAdd(this.iss, 1);
    if (seqGt(this.sndNxt, this.sndMax)) this.sndMax = this.sndNxt;
    this.output.push({
      srcPort: this.config.localPort,
      dstPort: this.config.remotePort,
      seq: this.iss,
      ack: withAck ? this.rcvNxt : 0,
      flags: SYN | (withAck ? ACK : 0),
      // RFC 7323 2.2: the window in a SYN is never scaled.
      window: Math.min(this.recvBuffer, 0xffff),
      urgent: 0,
      options,
      payload: new Uint8Array(0),
    });
    this.rcvAdvRight = seqAdd(this.rcvNxt, Math.min(this.recvBuffer, 0xffff));
    this.stats.segmentsOut++;
    this.rtoAt = now + this.rtt.rto;
  }

  private takeSynOptions(syn: TcpSegment): void {
    const o = syn.options;
    this.peerMss = o.mss ?? 536; // RFC 9293 3.7.1: 536 when the peer sends no MSS
    this.sackOk = (this.config.sack ?? true) && o.sackPermitted === true;
    this.wsOk = (this.config.windowScale ?? true) && o.windowScale !== undefined;
    if (this.wsOk) this.sndWscale = o.windowScale!;
    else this.rcvWscale = 0; // RFC 7323 2.2: both sides or neither
  }

  private armKeepalive(now: number): void {
    if (this.keepalive) this.keepaliveAt = now + this.keepalive.idleMs;
  }

  /** Emits a segment with our ports, window and (when the peer permits) SACK blocks. */
  private emit(s: { seq: number; ack: number; flags: number; payload: Uint8Array }, now: number): void {
    const flags = s.flags;
    const withAck = (flags & ACK) !== 0;
    const options: TcpOptions = {};
    if (withAck && this.sackOk && !this.ooo.empty) {
      options.sack = this.ooo.blocks(3).map(([a, b]) => [seqAdd(this.rcvNxt, a), seqAdd(this.rcvNxt, b)]);
    }
    this.output.push({
      srcPort: this.config.localPort,
      dstPort: this.config.remotePort,
      seq: s.seq,
      ack: withAck ? s.ack : 0,
      flags,
      window: (flags & RST) !== 0 ? 0 : this.advertisableWindow(),
      urgent: 0,
      options,
      payload: s.payload,
    });
    this.stats.segmentsOut++;
    if (withAck) {
      this.segmentsSinceAck = 0;
      this.delayedAckAt = undefined;
    }
    this.lastSendAt = Math.max(this.lastSendAt, now);
  }

  /** The window field to send, right edge never moving left (RFC 9293 3.8.6). */
  private advertisableWindow(): number {
    this.computeRightEdge();
    const w = Math.max(0, seqDiff(this.rcvAdvRight, this.rcvNxt));
    return Math.min(0xffff, w >> this.rcvWscale);
  }

  /** Receiver SWS avoidance (RFC 9293 3.8.6.2.2): move the right edge by big enough steps. */
  private computeRightEdge(): { grew: boolean } {
    const free = Math.max(0, this.recvBuffer - this.recvQ.length);
    const scaledFree = (free >> this.rcvWscale) << this.rcvWscale;
    const right = seqAdd(this.rcvNxt, Math.min(scaledFree, 0xffff << this.rcvWscale));
    if (seqLt(this.rcvAdvRight, this.rcvNxt)) this.rcvAdvRight = this.rcvNxt;
    const gain = seqDiff(right, this.rcvAdvRight);
    if (gain > 0 && (gain >= Math.min(this.recvBuffer / 2, this.effectiveMss) || free === this.recvBuffer)) {
      this.rcvAdvRight = seqMax(this.rcvAdvRight, right);
      return { grew: true };
    }
    return { grew: false };
  }

  private challengeAck(now: number): void {
    // RFC 5961 7: rate-limit challenge ACKs (here 10 per second per connection).
    if (now - this.challengeWindowStart >= 1000) {
      this.challengeWindowStart = now;
      this.challengeCount = 0;
    }
    if (this.challengeCount >= 10) return;
    this.challengeCount++;
    this.stats.challengeAcks++;
    this.emit({ seq: this.sndNxt, ack: this.rcvNxt, flags: ACK, payload: new Uint8Array(0) }, now);
  }

  private fail(code: TcpErrorCode, message: string, now: number, sendReset: boolean): void {
    if (sendReset && this.isSynchronized()) {
      this.emit({ seq: this.sndNxt, ack: 0, flags: RST, payload: new Uint8Array(0) }, now);
    }
    this.stateValue = 'closed';
    this.clearTimers();
    this.finish(code, message);
  }

  private clearTimers(): void {
    this.rtoAt = undefined;
    this.persistAt = undefined;
    this.delayedAckAt = undefined;
    this.keepaliveAt = undefined;
    this.timeWaitAt = this.stateValue === 'time-wait' ? this.timeWaitAt : undefined;
    this.firstUnackedAt = undefined;
  }

  private finish(error: TcpErrorCode | undefined, message?: string): void {
    if (this.closedEmitted) return;
    this.closedEmitted = true;
    this.pendingError = error ? { code: error, message: message ?? error } : undefined;
    const ev: TcbEvent = { type: 'closed' };
    if (error) {
      ev.error = error;
      ev.message = message ?? error;
    }
    this.events.push(ev);
  }

  /** Why the connection failed, if it did. */
  get error(): { code: TcpErrorCode; message: string } | undefined {
    return this.pendingError;
  }
}
