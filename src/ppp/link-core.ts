import { MalformedPacket } from '../util/errors.js';
import { ChapClient, type ChapConfig } from './chap.js';
import { describeFrame } from './describe.js';
import { PppError, type PppErrorCode } from './errors.js';
import { emitPppFrame, type HeaderCompression, Protocol, parsePppFrame, protocolName } from './frame.js';
import type { FsmDownCause, FsmFinish } from './fsm.js';
import { HdlcDecoder, HdlcEncoder, type HdlcEncoderStats, type HdlcStats, maxFrameForMru } from './hdlc.js';
import { Ipcp, type IpcpConfig, type IpcpResult } from './ipcp.js';
import { Lcp, type LcpAgreement, type LcpConfig } from './lcp.js';
import { type AuthOutcome, PapClient, type PapConfig } from './pap.js';
import type { Random32 } from './random.js';

/**
 * A PPP link's protocol core, sans-I/O (RFC 1661 section 3: phases Dead, Establish,
 * Authenticate, Network, Terminate): HDLC-like framing, LCP, PAP or CHAP as the
 * authenticatee, IPCP, and the demultiplexing of received frames. Bytes in with `receive`,
 * bytes out from `takeOutput`, happenings from `takeEvents`, time from the caller.
 */
export type PppPhase = 'dead' | 'establish' | 'authenticate' | 'network' | 'terminate';

export interface PppUpInfo extends IpcpResult {
  /** The largest IP packet the peer accepts (its MRU). */
  mtu: number;
}

export type PppEvent =
  | { type: 'phase'; phase: PppPhase }
  | { type: 'up'; info: PppUpInfo }
  | { type: 'down'; error: PppError }
  /** The link is finished (LCP reached Closed/Stopped, or the line went away). */
  | { type: 'dead' }
  | { type: 'ip'; packet: Uint8Array }
  /** A frame as sent or received (after unescaping, without FCS), for captures. */
  | { type: 'frame'; direction: 'in' | 'out'; frame: Uint8Array }
  /** A line for the negotiation log, in pppd's style. */
  | { type: 'log'; line: string };

export interface PppConfig {
  /** Name for PAP and CHAP; default empty (most APNs accept anything). */
  user?: string;
  /** PAP password or CHAP secret; default empty. Never logged. */
  password?: string;
  lcp?: Omit<LcpConfig, 'random'>;
  ipcp?: IpcpConfig;
  pap?: Omit<PapConfig, 'user' | 'password'>;
  chap?: Omit<ChapConfig, 'user' | 'secret'>;
  random?: Random32;
}

export interface PppStats {
  hdlc: HdlcStats;
  hdlcOut: HdlcEncoderStats;
  framesIn: number;
  framesOut: number;
  /** Frames that did not parse as PPP (bad Protocol field). */
  malformed: number;
  /** Frames of protocols we do not speak, answered with Protocol-Reject. */
  protocolRejected: number;
  /** IP packets received before IPCP was up, or too large to send. */
  ipDropped: number;
  ipIn: number;
  ipOut: number;
  lcpEchoSent: number;
  lcpEchoReplies: number;
  lcpEchoAnswered: number;
}

export class PppCore {
  private readonly encoder = new HdlcEncoder();
  private readonly decoder = new HdlcDecoder();
  private readonly lcp: Lcp;
  private readonly ipcp: Ipcp;
  private auth: PapClient | ChapClient | undefined;
  private phaseValue: PppPhase = 'dead';
  private compression: HeaderCompression = { acfc: false, pfc: false };
  private agreement: LcpAgreement | undefined;
  private upInfo: PppUpInfo | undefined;
  private downSent = false;
  private reason: { code: PppErrorCode; message: string } | undefined;
  private output: Uint8Array[] = [];
  private events: PppEvent[] = [];
  private counters = {
    framesIn: 0,
    framesOut: 0,
    malformed: 0,
    protocolRejected: 0,
    ipDropped: 0,
    ipIn: 0,
    ipOut: 0,
  };

  constructor(private readonly config: PppConfig = {}) {
    const random = config.random ? { random: config.random } : {};
    this.lcp = new Lcp(
      { ...config.lcp, ...random },
      {
        send: (p) => this.sendFrame(Protocol.LCP, p),
        up: (now) => this.lcpUp(now),
        down: (now, why) => this.lcpDown(now, why),
        started: () => undefined,
        finished: (now, why) => this.lcpFinished(now, why),
        protocolRejected: (proto, now) => this.protocolRejectedByPeer(proto, now),
        loopedBack: (now) =>
          this.fail('LOOPED_BACK', 'the line is looped back (our Magic-Number came back)', now),
        peerDead: (now) => {
          const lcp = config.lcp ?? {};
          const n = lcp.echoFailure ?? 4;
          this.fail('PEER_DEAD', `no reply to ${n} LCP Echo-Requests: the peer is gone`, now);
        },
      },
    );
    this.ipcp = new Ipcp(config.ipcp ?? {}, {
      send: (p) => this.sendFrame(Protocol.IPCP, p),
      up: (result, now) => this.ipcpUp(result, now),
      down: (now, why) => {
        if (why === 'renegotiate' && !this.reason)
          this.goDown('RENEGOTIATING', 'the peer restarted IPCP', now);
        this.upInfo = undefined;
      },
      finished: (now, why) => {
        if (this.phaseValue === 'network') {
          const detail = why === 'rejected' ? 'the peer rejected IPCP' : 'IPCP did not converge';
          this.fail('NEGOTIATION_FAILED', detail, now);
        }
      },
    });
  }

  get phase(): PppPhase {
    return this.phaseValue;
  }

  /** Addresses and DNS once IPCP is up. */
  get info(): PppUpInfo | undefined {
    return this.upInfo;
  }

  /** LCP's agreement once it is up. */
  get lcpAgreement(): LcpAgreement | undefined {
    return this.agreement;
  }

  /** Starts LCP: the byte stream below is there (RFC 1661 events Open and Up). */
  open(now: number): void {
    if (this.phaseValue !== 'dead' || this.downSent) return;
    this.setPhase('establish');
    this.lcp.fsm.open(now);
    this.lcp.fsm.up(now);
  }

  /** Terminates the link: LCP Terminate-Request, then Dead after the Terminate-Ack or timeout. */
  close(now: number): void {
    if (this.phaseValue === 'dead') {
      this.goDown('LOCAL_CLOSE', 'closed', now);
      return;
    }
    this.reason ??= { code: 'LOCAL_CLOSE', message: 'closed by us' };
    this.stopAuth();
    this.lcp.fsm.close(now, 'closed');
  }

  /** The byte stream went away (NO CARRIER, port closed): RFC 1661 event Down. */
  lowerDown(now: number): void {
    if (this.phaseValue === 'dead') return;
    this.reason ??= { code: 'LINK_CLOSED', message: 'the line under the link closed' };
    this.stopAuth();
    this.ipcp.fsm.down(now);
    this.lcp.fsm.down(now);
    this.lcp.fsm.close(now, 'lower-down');
    this.goDown(this.reason.code, this.reason.message, now);
    this.setPhase('dead');
    this.events.push({ type: 'dead' });
  }

  /** Sends one IPv4 packet; false when IPCP is not up or the packet exceeds the peer's MRU. */
  sendIp(packet: Uint8Array): boolean {
    if (!this.upInfo || packet.length > this.upInfo.mtu) {
      this.counters.ipDropped++;
      return false;
    }
    this.counters.ipOut++;
    this.sendFrame(Protocol.IPv4, packet);
    return true;
  }

  receive(bytes: Uint8Array, now: number): void {
    for (const frame of this.decoder.push(bytes)) this.receiveFrame(frame, now);
  }

  tick(now: number): void {
    this.lcp.tick(now);
    this.auth?.tick(now);
    this.ipcp.fsm.tick(now);
  }

  nextDeadline(): number | undefined {
    let best: number | undefined;
    for (const d of [this.lcp.nextDeadline(), this.auth?.nextDeadline(), this.ipcp.fsm.nextDeadline()]) {
      if (d !== undefined && (best === undefined || d < best)) best = d;
    }
    return best;
  }

  takeOutput(): Uint8Array[] {
    const o = this.output;
    this.output = [];
    return o;
  }

  takeEvents(): PppEvent[] {
    const e = this.events;
    this.events = [];
    return e;
  }

  stats(): PppStats {
    const l = this.lcp.counters;
    return {
      hdlc: { ...this.decoder.stats },
      hdlcOut: { ...this.encoder.stats },
      ...this.counters,
      lcpEchoSent: l.echoSent,
      lcpEchoReplies: l.echoReplies,
      lcpEchoAnswered: l.echoAnswered,
    };
  }

  // ---- frames --------------------------------------------------------------------------

  private receiveFrame(frame: Uint8Array, now: number): void {
    this.counters.framesIn++;
    this.events.push({ type: 'frame', direction: 'in', frame });
    let protocol: number;
    let info: Uint8Array;
    try {
      ({ protocol, info } = parsePppFrame(frame));
    } catch (err) {
      if (!(err instanceof MalformedPacket)) throw err;
      this.counters.malformed++;
      return;
    }
    if (protocol !== Protocol.IPv4) this.log('rcvd', protocol, info);
    switch (protocol) {
      case Protocol.LCP:
        this.lcp.fsm.input(info, now);
        return;
      case Protocol.PAP:
      case Protocol.CHAP:
        if (this.auth instanceof PapClient && protocol === Protocol.PAP) this.auth.input(info, now);
        else if (this.auth instanceof ChapClient && protocol === Protocol.CHAP) this.auth.input(info, now);
        else if (this.agreement?.auth !== (protocol === Protocol.PAP ? 'pap' : 'chap-md5'))
          this.unknownProtocol(protocol, info);
        // else: a late packet of the protocol we authenticated with; nothing to do
        return;
      case Protocol.IPCP:
        if (this.phaseValue === 'network') this.ipcp.fsm.input(info, now);
        return; // RFC 1661 3.5: NCP packets before the Network phase are silently discarded
      case Protocol.IPv4:
        if (this.upInfo) {
          this.counters.ipIn++;
          this.events.push({ type: 'ip', packet: info });
        } else {
          this.counters.ipDropped++;
        }
        return;
      default:
        this.unknownProtocol(protocol, info);
    }
  }

  /** RFC 1661 5.7: a protocol we do not speak (IPv6CP, CCP, VJ...) gets a Protocol-Reject. */
  private unknownProtocol(protocol: number, info: Uint8Array): void {
    if (this.lcp.fsm.state !== 'opened') return;
    this.counters.protocolRejected++;
    this.lcp.rejectProtocol(protocol, info);
  }

  private sendFrame(protocol: number, info: Uint8Array): void {
    if (protocol !== Protocol.IPv4) this.log('sent', protocol, info);
    const frame = emitPppFrame(protocol, info, this.compression);
    this.counters.framesOut++;
    this.events.push({ type: 'frame', direction: 'out', frame });
    this.output.push(this.encoder.encode(frame));
  }

  private log(dir: 'sent' | 'rcvd', protocol: number, info: Uint8Array): void {
    const d = describeFrame(protocol, info);
    if (d !== undefined) this.events.push({ type: 'log', line: `${dir} [${d}]` });
  }

  private note(line: string): void {
    this.events.push({ type: 'log', line });
  }

  // ---- phases ---------------------------------------------------------------------------

  private lcpUp(now: number): void {
    const a = this.lcp.agreement;
    this.agreement = a;
    this.encoder.setAccm(a.sendAccm);
    this.decoder.setReceiveAccm(a.receiveAccm);
    this.decoder.setMaxFrame(maxFrameForMru(Math.max(a.mru, 1500)));
    this.compression = { acfc: a.sendAcfc, pfc: a.sendPfc };
    if (a.auth === null) {
      this.startNetwork(now);
      return;
    }
    this.setPhase('authenticate');
    const user = this.config.user ?? '';
    const secret = this.config.password ?? '';
    const done = (o: AuthOutcome, t: number) => this.authDone(o, t);
    if (a.auth === 'pap') {
      this.auth = new PapClient(
        { ...this.config.pap, user, password: secret },
        (p) => this.sendFrame(Protocol.PAP, p),
        done,
      );
    } else {
      this.auth = new ChapClient(
        { ...this.config.chap, user, secret },
        {
          send: (p) => this.sendFrame(Protocol.CHAP, p),
          result: done,
          failedLater: (message, t) =>
            this.fail('AUTH_FAILED', `CHAP re-challenge failed: ${message || 'no message'}`, t),
        },
      );
    }
    this.auth.start(now);
  }

  private authDone(o: AuthOutcome, now: number): void {
    if (o.ok) {
      this.note(
        `${this.agreement?.auth === 'pap' ? 'PAP' : 'CHAP'} authentication succeeded${o.message ? `: ${o.message}` : ''}`,
      );
      if (this.auth instanceof PapClient) this.auth = undefined; // CHAP stays for re-challenges
      this.startNetwork(now);
      return;
    }
    if (o.timeout) this.fail('AUTH_TIMEOUT', o.message, now);
    else
      this.fail('AUTH_FAILED', `the peer rejected our credentials${o.message ? `: ${o.message}` : ''}`, now);
  }

  private startNetwork(now: number): void {
    this.setPhase('network');
    this.ipcp.fsm.open(now);
    this.ipcp.fsm.up(now);
  }

  private ipcpUp(result: IpcpResult, now: number): void {
    if (result.localAddress === '0.0.0.0') {
      this.fail('NO_ADDRESS', 'IPCP finished without an address for us', now);
      return;
    }
    const peerAddress =
      result.peerAddress === '0.0.0.0'
        ? (this.config.ipcp?.peerAddressHint ?? '10.64.64.64')
        : result.peerAddress;
    this.upInfo = { ...result, peerAddress, mtu: this.agreement?.peerMru ?? 1500 };
    this.downSent = false;
    this.note(`local  IP address ${result.localAddress}`);
    this.note(`remote IP address ${peerAddress}`);
    for (const [i, d] of result.dns.entries())
      this.note(`${i === 0 ? 'primary  ' : 'secondary'} DNS address ${d}`);
    this.events.push({ type: 'up', info: this.upInfo });
  }

  private lcpDown(now: number, why: FsmDownCause): void {
    this.stopAuth();
    this.ipcp.fsm.down(now);
    this.upInfo = undefined;
    this.compression = { acfc: false, pfc: false };
    this.encoder.setAccm(0xffffffff);
    this.decoder.setReceiveAccm(0xffffffff);
    if (why === 'renegotiate' && !this.reason) {
      // RFC 1661 4.1: a Configure-Request in Opened restarts negotiation; the link may come
      // back up (pppd restarted behind a modem does this).
      this.setPhase('establish');
      this.goDown('RENEGOTIATING', 'the peer restarted LCP negotiation', now);
      return;
    }
    this.setPhase('terminate');
    const r =
      this.reason ??
      (why === 'peer-terminate'
        ? { code: 'PEER_TERMINATED' as const, message: 'the peer terminated the link' }
        : { code: 'NEGOTIATION_FAILED' as const, message: `LCP went down (${why})` });
    this.goDown(r.code, r.message, now);
  }

  private lcpFinished(now: number, why: FsmFinish): void {
    this.stopAuth();
    if (!this.reason) {
      if (why === 'timeout')
        this.reason = {
          code: 'NEGOTIATION_FAILED',
          message: 'LCP negotiation failed: no agreement with the peer',
        };
      else if (why === 'peer-terminated')
        this.reason = { code: 'PEER_TERMINATED', message: 'the peer terminated the link' };
      else if (why === 'rejected')
        this.reason = { code: 'NEGOTIATION_FAILED', message: 'the peer rejected LCP' };
      else this.reason = { code: 'LOCAL_CLOSE', message: 'closed' };
    }
    this.goDown(this.reason.code, this.reason.message, now);
    if (this.phaseValue !== 'dead') {
      this.setPhase('dead');
      this.events.push({ type: 'dead' });
    }
  }

  private protocolRejectedByPeer(protocol: number, now: number): void {
    this.note(`Protocol-Reject for ${protocolName(protocol)} (0x${protocol.toString(16)}) received`);
    if (protocol === Protocol.IPCP) this.ipcp.fsm.protocolRejected(now);
  }

  /** Ends the link for a reason of ours: remember why, then terminate LCP. */
  private fail(code: PppErrorCode, message: string, now: number): void {
    this.reason ??= { code, message };
    this.stopAuth();
    this.note(message);
    this.lcp.fsm.close(now, 'closed');
    this.goDown(code, message, now);
  }

  private stopAuth(): void {
    this.auth?.stop();
    this.auth = undefined;
  }

  /** Emits `down` once per time the link was up (or once, if it never came up). */
  private goDown(code: PppErrorCode, message: string, _now: number): void {
    if (this.downSent) return;
    this.downSent = true;
    this.upInfo = undefined;
    this.events.push({ type: 'down', error: new PppError(code, message) });
  }

  private setPhase(phase: PppPhase): void {
    if (phase === this.phaseValue) return;
    this.phaseValue = phase;
    this.events.push({ type: 'phase', phase });
  }
}
