import { MalformedPacket } from '../util/errors.js';
import { ChapClient, type ChapConfig } from './chap.js';
import { describeFrame } from './describe.js';
import { PppError, type PppErrorCode } from './errors.js';
import { emitPppFrame, type HeaderCompression, Protocol, parsePppFrame, protocolName } from './frame.js';
import type { FsmDownCause, FsmFinish } from './fsm.js';
import { HdlcDecoder, HdlcEncoder, type HdlcEncoderStats, type HdlcStats, maxFrameForMru } from './hdlc.js';
import { Ipcp, type IpcpConfig, type IpcpResult, type IpcpVj } from './ipcp.js';
import { Lcp, type LcpAgreement, type LcpConfig } from './lcp.js';
import { type AuthOutcome, PapClient, type PapConfig } from './pap.js';
import type { Random32 } from './random.js';
import { VjCompressor } from './vj/compressor.js';
import { VjDecompressor } from './vj/decompressor.js';

/**
 * A PPP link's protocol core, sans-I/O (RFC 1661 section 3: phases Dead, Establish,
 * Authenticate, Network, Terminate): HDLC-like framing, LCP, PAP or CHAP as the
 * authenticatee, IPCP, and the demultiplexing of received frames. Bytes in with `receive`,
 * bytes out from `takeOutput`, happenings from `takeEvents`, time from the caller.
 */
export type PppPhase = 'dead' | 'establish' | 'authenticate' | 'network' | 'terminate';

/** What `up` reports; the VJ agreement is on `PppCore.vj` / `PppLink.vj`. */
export interface PppUpInfo extends Omit<IpcpResult, 'vj'> {
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
  /**
   * Let back-to-back frames share one Flag (RFC 1662 section 3.1), opening a frame with its
   * own Flag only after `FLAG_IDLE_MS` of silence (section 4.4.2), as the Linux and BSD async
   * drivers do: one octet less per frame. Default true; false opens every frame with a Flag.
   */
  sharedFlags?: boolean;
}

/** Silence after which the next frame opens with a Flag again (Linux ppp_async: one second). */
export const FLAG_IDLE_MS = 1000;

/**
 * Van Jacobson TCP/IP header compression (RFC 1144) on the link, summed over IPCP sessions.
 * Out: every IP packet sent while VJ is agreed for sending is counted in exactly one of
 * `compressedOut`, `uncompressedOut`, `ipOut`. In: every 0x002d/0x002f frame handled while
 * agreed for receiving is counted in exactly one of `compressedIn`, `uncompressedIn`,
 * `tossed`, `errors`.
 */
export interface PppVjStats {
  /** Packets sent as COMPRESSED_TCP (protocol 0x002d). */
  compressedOut: number;
  /** Packets sent as UNCOMPRESSED_TCP (0x002f): a connection's first, or what cannot be compressed. */
  uncompressedOut: number;
  /** Packets sent untouched as IP (0x0021): not TCP, SYN/FIN/RST, IP options, fragments. */
  ipOut: number;
  /** Header octets saved by COMPRESSED_TCP on the way out. */
  savedOctetsOut: number;
  /** COMPRESSED_TCP frames rebuilt. */
  compressedIn: number;
  /** UNCOMPRESSED_TCP frames accepted. */
  uncompressedIn: number;
  /** COMPRESSED_TCP frames discarded after a lost frame, until one named its slot (RFC 1144 section 4.2). */
  tossed: number;
  /** Frames that did not decode (truncated, unknown or bad slot, bad header, too long); each starts tossing. */
  errors: number;
  /** Times tossing began: a framing error (FCS, abort, runt, oversize) or a frame in `errors`. */
  tossEvents: number;
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
  vj: PppVjStats;
}

export class PppCore {
  private readonly encoder: HdlcEncoder;
  /** The latest time an entry point was given, and when the last frame was sent. */
  private now = 0;
  private lastSentAt = Number.NEGATIVE_INFINITY;
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
  /** VJ as IPCP agreed it, while IPCP is up. */
  private vjAgreed: IpcpVj | undefined;
  /** Created on the first IPCP up that agrees VJ; reset on every up after. */
  private compressor: VjCompressor | undefined;
  private decompressor: VjDecompressor | undefined;
  private vjSend = false;
  private vjReceive = false;
  /** Where the HDLC decoder dropped frames in the last chunk (see `HdlcDecoder.push`). */
  private readonly badFrames: number[] = [];
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
    this.encoder = new HdlcEncoder({ sharedFlags: config.sharedFlags ?? true });
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
        this.vjOff();
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

  /** VJ header compression as IPCP agreed it, per direction, while IPCP is up. */
  get vj(): IpcpVj | undefined {
    return this.vjAgreed;
  }

  /** LCP's agreement once it is up. */
  get lcpAgreement(): LcpAgreement | undefined {
    return this.agreement;
  }

  /** Starts LCP: the byte stream below is there (RFC 1661 events Open and Up). */
  open(now: number): void {
    this.now = now;
    if (this.phaseValue !== 'dead' || this.downSent) return;
    this.setPhase('establish');
    this.lcp.fsm.open(now);
    this.lcp.fsm.up(now);
  }

  /** Terminates the link: LCP Terminate-Request, then Dead after the Terminate-Ack or timeout. */
  close(now: number): void {
    this.now = now;
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
    this.now = now;
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

  /**
   * Sends one IPv4 packet; false when IPCP is not up or the packet exceeds the peer's MRU.
   * `now` (default: the latest time given to the core) decides whether the line was idle.
   */
  sendIp(packet: Uint8Array, now: number = this.now): boolean {
    this.now = now;
    if (!this.upInfo || packet.length > this.upInfo.mtu) {
      this.counters.ipDropped++;
      return false;
    }
    this.counters.ipOut++;
    if (this.vjSend) {
      // RFC 1144: the compressor picks the protocol: 0x002d, 0x002f, or 0x0021 for what it
      // leaves alone (not TCP, SYN/FIN/RST, IP options, fragments).
      const out = this.compressor!.compress(packet);
      this.sendFrame(out.protocol, out.bytes);
    } else {
      this.sendFrame(Protocol.IPv4, packet);
    }
    return true;
  }

  receive(bytes: Uint8Array, now: number): void {
    this.now = now;
    const bad = this.badFrames;
    bad.length = 0;
    const frames = this.decoder.push(bytes, bad);
    if (bad.length === 0) {
      for (const frame of frames) this.receiveFrame(frame, now);
      return;
    }
    // A frame was lost on the line: the VJ decompressor must know where in the sequence
    // (RFC 1144 section 4.2), so that compressed frames after it are tossed.
    let b = 0;
    for (let i = 0; i < frames.length; i++) {
      for (; b < bad.length && bad[b]! <= i; b++) this.decompressor?.toss();
      this.receiveFrame(frames[i]!, now);
    }
    if (b < bad.length) this.decompressor?.toss();
  }

  tick(now: number): void {
    this.now = now;
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
    const c = this.compressor?.stats;
    const d = this.decompressor?.stats;
    let errors = 0;
    if (d) for (const n of Object.values(d.errors)) errors += n;
    return {
      hdlc: { ...this.decoder.stats },
      hdlcOut: { ...this.encoder.stats },
      ...this.counters,
      lcpEchoSent: l.echoSent,
      lcpEchoReplies: l.echoReplies,
      lcpEchoAnswered: l.echoAnswered,
      vj: {
        compressedOut: c?.compressed ?? 0,
        uncompressedOut: c?.uncompressed ?? 0,
        ipOut: c?.ip ?? 0,
        savedOctetsOut: c?.savedOctets ?? 0,
        compressedIn: d?.compressed ?? 0,
        uncompressedIn: d?.uncompressed ?? 0,
        tossed: d?.tossed ?? 0,
        errors,
        tossEvents: d?.tossEvents ?? 0,
      },
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
    if (!isData(protocol)) this.log('rcvd', protocol, info);
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
      case Protocol.VjCompressed:
      case Protocol.VjUncompressed:
        if (this.vjReceive) {
          const r = this.decompressor!.decompress(protocol, info);
          if (typeof r !== 'string') {
            this.counters.ipIn++;
            this.events.push({ type: 'ip', packet: r });
          }
        } else if (!this.upInfo && this.config.ipcp?.vjCompression !== false) {
          this.counters.ipDropped++; // IPCP is (re)negotiating VJ: like IP before IPCP is up
        } else {
          this.unknownProtocol(protocol, info); // not agreed: RFC 1661 5.7
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
    if (!isData(protocol)) this.log('sent', protocol, info);
    const frame = emitPppFrame(protocol, info, this.compression);
    this.counters.framesOut++;
    this.events.push({ type: 'frame', direction: 'out', frame });
    if (this.now - this.lastSentAt >= FLAG_IDLE_MS) this.encoder.markIdle();
    this.lastSentAt = this.now;
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
    const { vj, ...addresses } = result;
    this.upInfo = { ...addresses, peerAddress, mtu: this.agreement?.peerMru ?? 1500 };
    this.downSent = false;
    this.vjOn(vj);
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
    this.vjOff();
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

  /**
   * IPCP is up: start VJ in the directions agreed, with fresh slots on both ends (RFC 1144
   * state lives only as long as the IPCP session that agreed it).
   */
  private vjOn(vj: IpcpVj): void {
    this.vjAgreed = vj;
    if (vj.send) {
      if (this.compressor) this.compressor.reset(vj.send);
      else this.compressor = new VjCompressor(vj.send);
    }
    if (vj.receive) {
      // A rebuilt packet may not exceed our MRU (the decoder's floor is 1500, RFC 1661 6.1).
      const maxPacket = Math.max(this.agreement?.mru ?? 1500, 1500);
      if (this.decompressor) this.decompressor.reset({ ...vj.receive, maxPacket });
      else this.decompressor = new VjDecompressor({ ...vj.receive, maxPacket });
    }
    this.vjSend = vj.send !== undefined;
    this.vjReceive = vj.receive !== undefined;
    const d = (dir: string, p: { maxSlotId: number; compSlotId: boolean } | undefined) =>
      p ? `${dir} ${p.maxSlotId + 1} slots${p.compSlotId ? ', slot id compressed' : ''}` : `${dir} off`;
    if (vj.send || vj.receive)
      this.note(`VJ header compression: ${d('send', vj.send)}; ${d('receive', vj.receive)}`);
  }

  private vjOff(): void {
    this.vjAgreed = undefined;
    this.vjSend = false;
    this.vjReceive = false;
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

/** IP and VJ frames: data, not logged. */
function isData(protocol: number): boolean {
  return (
    protocol === Protocol.IPv4 || protocol === Protocol.VjCompressed || protocol === Protocol.VjUncompressed
  );
}
