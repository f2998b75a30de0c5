import { describeFrame } from '../../ppp/describe.js';
import {
  emitPppFrame,
  type HeaderCompression,
  Protocol,
  parsePppFrame,
  protocolName,
} from '../../ppp/frame.js';
import type { FsmDownCause, FsmFinish } from '../../ppp/fsm.js';
import { HdlcDecoder, HdlcEncoder, maxFrameForMru } from '../../ppp/hdlc.js';
import { FLAG_IDLE_MS } from '../../ppp/link-core.js';
import { cryptoRandom32 } from '../../ppp/random.js';
import { MalformedPacket } from '../../util/errors.js';
import type { PeerAuthenticator, PeerAuthResult } from './authenticator.js';
import { ChapServer } from './chap-server.js';
import { type PppPeerConfig, type ResolvedPeerAuth, resolvePeerAuth } from './config.js';
import type { PeerDownReason, PeerPhase, PppPeerEvent, PppPeerStats, PppPeerUpInfo } from './events.js';
import { IpcpServer, type IpcpServerResult } from './ipcp-server.js';
import { AuthenticatorLcp } from './lcp-authenticator.js';
import { PapServer } from './pap-server.js';

/**
 * The network side of a PPP link, sans-I/O: what pppd does on a GGSN or a dial-in server,
 * for the virtual modem after CONNECT. RFC 1661 phases (section 3) with LCP asking for
 * authentication, PAP or CHAP-MD5 as the authenticator, and IPCP handing out the device's
 * address and DNS. Async-HDLC wire bytes in with `receive`, out from `takeOutput`; time from
 * the caller; happenings from `takeEvents`. One core serves one call (open once).
 */
export class PppPeerCore {
  private readonly encoder: HdlcEncoder;
  private readonly decoder = new HdlcDecoder();
  private readonly lcp: AuthenticatorLcp;
  private readonly ipcp: IpcpServer;
  private readonly authConfig: ResolvedPeerAuth;
  private readonly random: () => number;
  /** The running authenticator; kept after success to answer a repeated request. */
  private auth: PeerAuthenticator | undefined;
  private authed: { protocol: PeerAuthenticator['protocol']; user: string } | undefined;
  private authCounters = { requests: 0, malformed: 0, successes: 0, failures: 0 };
  private phaseValue: PeerPhase = 'dead';
  private compression: HeaderCompression = { acfc: false, pfc: false };
  private peerMru = 1500;
  private upInfo: PppPeerUpInfo | undefined;
  private downSent = false;
  private opened = false;
  private reason: { code: PeerDownReason; message: string } | undefined;
  private output: Uint8Array[] = [];
  private events: PppPeerEvent[] = [];
  private now = 0;
  private lastSentAt = Number.NEGATIVE_INFINITY;
  private readonly counters = {
    framesIn: 0,
    framesOut: 0,
    malformed: 0,
    protocolRejected: 0,
    discarded: 0,
    ipIn: 0,
    ipOut: 0,
    ipDropped: 0,
  };

  constructor(config: PppPeerConfig = {}) {
    this.random = config.random ?? cryptoRandom32;
    this.authConfig = resolvePeerAuth(config);
    this.encoder = new HdlcEncoder({ sharedFlags: config.sharedFlags ?? true });
    this.lcp = new AuthenticatorLcp(
      { ...config.lcp, random: this.random },
      {
        send: (p) => this.sendFrame(Protocol.LCP, p),
        up: (now) => this.lcpUp(now),
        down: (now, why) => this.lcpDown(now, why),
        started: () => undefined,
        finished: (now, why) => this.lcpFinished(now, why),
        protocolRejected: (proto, now) => this.protocolRejectedByDevice(proto, now),
        loopedBack: (now) =>
          this.fail('looped-back', 'the line is looped back (our Magic-Number came back)', now),
        peerDead: (now) => this.fail('peer-dead', 'the device stopped answering LCP Echo-Requests', now),
      },
      this.authConfig.protocols,
    );
    this.ipcp = new IpcpServer(
      {
        ...config.ipcp,
        localAddress: config.localAddress ?? '10.0.0.1',
        peerAddress: config.peerAddress ?? '10.0.0.2',
        dns: config.dns ?? ['10.0.0.1'],
      },
      {
        send: (p) => this.sendFrame(Protocol.IPCP, p),
        up: (result, now) => this.ipcpUp(result, now),
        down: (_now, why) => {
          if (why === 'renegotiate' && !this.reason)
            this.goDown('renegotiating', 'the device restarted IPCP');
          this.upInfo = undefined;
        },
        finished: (now, why) => {
          if (this.phaseValue !== 'network') return;
          this.fail(
            'negotiation-failed',
            why === 'rejected' ? 'the device rejected IPCP' : 'IPCP did not converge',
            now,
          );
        },
      },
    );
  }

  get phase(): PeerPhase {
    return this.phaseValue;
  }

  /** Addresses, DNS and authentication while IPCP is up. */
  get info(): PppPeerUpInfo | undefined {
    return this.upInfo;
  }

  /** The call is connected: start LCP (RFC 1661 events Open and Up); our ConfReq goes out. */
  open(now: number): void {
    this.now = now;
    if (this.opened) return;
    this.opened = true;
    this.setPhase('establish');
    this.lcp.fsm.open(now);
    this.lcp.fsm.up(now);
  }

  /** Terminates the link (LCP Terminate-Request); `dead` follows the Terminate-Ack or timeout. */
  close(now: number): void {
    this.now = now;
    if (this.phaseValue === 'dead') {
      this.goDown('local-close', 'closed');
      return;
    }
    this.reason ??= { code: 'local-close', message: 'closed by the network' };
    this.stopAuth();
    this.lcp.fsm.close(now, 'closed');
  }

  /** The line went away (hang-up, DTR drop): RFC 1661 event Down. */
  lowerDown(now: number): void {
    this.now = now;
    if (this.phaseValue === 'dead') return;
    this.reason ??= { code: 'lower-down', message: 'the line under the link closed' };
    this.stopAuth();
    this.ipcp.fsm.down(now);
    this.lcp.fsm.down(now);
    this.lcp.fsm.close(now, 'lower-down');
    this.goDown(this.reason.code, this.reason.message);
    this.setPhase('dead');
    this.events.push({ type: 'dead' });
  }

  /** Sends one IPv4 packet to the device; false when IPCP is not up or it exceeds the device's MRU. */
  sendIp(packet: Uint8Array, now: number = this.now): boolean {
    this.now = now;
    if (!this.upInfo || packet.length > this.upInfo.mtu) {
      this.counters.ipDropped++;
      return false;
    }
    this.counters.ipOut++;
    this.sendFrame(Protocol.IPv4, packet);
    return true;
  }

  /** Wire bytes from the device, in any chunking. Never throws on what the line carries. */
  receive(bytes: Uint8Array, now: number): void {
    this.now = now;
    for (const frame of this.decoder.push(bytes)) this.receiveFrame(frame, now);
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

  takeEvents(): PppPeerEvent[] {
    const e = this.events;
    this.events = [];
    return e;
  }

  stats(): PppPeerStats {
    const l = this.lcp.counters;
    const a = this.auth?.counters;
    const c = this.authCounters;
    return {
      hdlc: { ...this.decoder.stats },
      hdlcOut: { ...this.encoder.stats },
      ...this.counters,
      lcp: { ...this.lcp.fsm.stats },
      ipcp: { ...this.ipcp.fsm.stats },
      lcpEchoSent: l.echoSent,
      lcpEchoReplies: l.echoReplies,
      lcpEchoAnswered: l.echoAnswered,
      auth: {
        requests: c.requests + (a?.requests ?? 0),
        malformed: c.malformed + (a?.malformed ?? 0),
        successes: c.successes + (a?.successes ?? 0),
        failures: c.failures + (a?.failures ?? 0),
      },
    };
  }

  // ---- frames --------------------------------------------------------------------------

  private receiveFrame(frame: Uint8Array, now: number): void {
    this.counters.framesIn++;
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
      case Protocol.LCP: {
        this.lcp.fsm.input(info, now);
        const refusal = this.lcp.takeRefusal();
        if (refusal !== undefined) this.fail('auth-refused', refusal, now);
        return;
      }
      case Protocol.PAP:
      case Protocol.CHAP:
        if (this.auth && this.auth.protocol === (protocol === Protocol.PAP ? 'pap' : 'chap-md5'))
          this.auth.input(info, now);
        else this.unknownProtocol(protocol, info); // not the protocol LCP agreed
        return;
      case Protocol.IPCP:
        // RFC 1661 3.5: NCP packets before the Network phase are silently discarded.
        if (this.phaseValue === 'network') this.ipcp.fsm.input(info, now);
        else this.counters.discarded++;
        return;
      case Protocol.IPv4:
        if (this.upInfo) {
          this.counters.ipIn++;
          this.events.push({ type: 'ip', packet: info });
        } else {
          this.counters.discarded++;
        }
        return;
      default:
        this.unknownProtocol(protocol, info); // VJ (Rejected in IPCP), IPv6CP, CCP...
    }
  }

  /** RFC 1661 5.7: a protocol we do not speak gets a Protocol-Reject once LCP is Opened. */
  private unknownProtocol(protocol: number, info: Uint8Array): void {
    if (this.lcp.fsm.state !== 'opened') {
      this.counters.discarded++;
      return;
    }
    this.counters.protocolRejected++;
    this.lcp.rejectProtocol(protocol, info);
  }

  private sendFrame(protocol: number, info: Uint8Array): void {
    if (protocol !== Protocol.IPv4) this.log('sent', protocol, info);
    const frame = emitPppFrame(protocol, info, this.compression);
    this.counters.framesOut++;
    // RFC 1662 4.4.2: after a second of silence the next frame opens with its own Flag.
    if (this.now - this.lastSentAt >= FLAG_IDLE_MS) this.encoder.markIdle();
    this.lastSentAt = this.now;
    this.output.push(this.encoder.encode(frame));
  }

  private log(dir: 'sent' | 'rcvd', protocol: number, info: Uint8Array): void {
    const d = describeFrame(protocol, info); // PAP passwords show as <hidden>
    if (d !== undefined) this.events.push({ type: 'log', line: `${dir} [${d}]` });
  }

  // ---- phases ---------------------------------------------------------------------------

  private lcpUp(now: number): void {
    const a = this.lcp.agreement;
    this.peerMru = a.peerMru;
    this.encoder.setAccm(a.sendAccm);
    this.decoder.setReceiveAccm(a.receiveAccm);
    this.decoder.setMaxFrame(maxFrameForMru(Math.max(a.mru, 1500)));
    this.compression = { acfc: a.sendAcfc, pfc: a.sendPfc };
    const protocol = this.lcp.agreedAuth;
    if (protocol === null) {
      this.startNetwork(now);
      return;
    }
    // RFC 1661 3.4: the Authentication phase, with the protocol LCP agreed.
    this.setPhase('authenticate');
    const events = {
      send: (p: Uint8Array) => this.sendFrame(protocol === 'pap' ? Protocol.PAP : Protocol.CHAP, p),
      result: (r: PeerAuthResult, t: number) => this.authResult(r, t),
    };
    this.auth =
      protocol === 'pap'
        ? new PapServer(this.authConfig, events)
        : new ChapServer(this.authConfig, this.random, events);
    this.auth.start(now);
  }

  private authResult(r: PeerAuthResult, now: number): void {
    this.events.push({ type: 'auth', result: r });
    const name = r.protocol === 'pap' ? 'PAP' : 'CHAP';
    if (r.ok) {
      this.authed = { protocol: r.protocol, user: r.user };
      this.note(`${name} peer authentication succeeded for ${JSON.stringify(r.user)}`);
      this.startNetwork(now);
      return;
    }
    const who = r.user ? ` for ${JSON.stringify(r.user)}` : '';
    this.fail(
      r.timeout ? 'auth-timeout' : 'auth-failed',
      `${name} peer authentication failed${who}: ${r.message}`,
      now,
    );
  }

  private startNetwork(now: number): void {
    this.setPhase('network');
    this.ipcp.fsm.open(now);
    this.ipcp.fsm.up(now);
  }

  private ipcpUp(result: IpcpServerResult, _now: number): void {
    this.upInfo = {
      ...result,
      mtu: this.peerMru,
      auth: this.authed?.protocol ?? null,
      user: this.authed?.user ?? '',
    };
    this.downSent = false;
    this.note(`local  IP address ${result.localAddress}`);
    this.note(`remote IP address ${result.peerAddress}`);
    this.events.push({ type: 'up', info: this.upInfo });
  }

  private lcpDown(now: number, why: FsmDownCause): void {
    this.stopAuth();
    this.authed = undefined;
    this.ipcp.fsm.down(now);
    this.upInfo = undefined;
    this.compression = { acfc: false, pfc: false };
    this.encoder.setAccm(0xffffffff);
    this.decoder.setReceiveAccm(0xffffffff);
    if (why === 'renegotiate' && !this.reason) {
      // RFC 1661 4.1: the device's Configure-Request in Opened restarts negotiation.
      this.setPhase('establish');
      this.goDown('renegotiating', 'the device restarted LCP negotiation');
      return;
    }
    this.setPhase('terminate');
    const r =
      this.reason ??
      (why === 'peer-terminate'
        ? { code: 'peer-terminated' as const, message: 'the device terminated the link' }
        : { code: 'negotiation-failed' as const, message: `LCP went down (${why})` });
    this.goDown(r.code, r.message);
  }

  private lcpFinished(_now: number, why: FsmFinish): void {
    this.stopAuth();
    if (!this.reason) {
      if (why === 'timeout') this.reason = { code: 'negotiation-failed', message: 'LCP did not converge' };
      else if (why === 'peer-terminated')
        this.reason = { code: 'peer-terminated', message: 'the device terminated the link' };
      else if (why === 'rejected')
        this.reason = { code: 'negotiation-failed', message: 'the device rejected LCP' };
      else this.reason = { code: 'local-close', message: 'closed' };
    }
    this.goDown(this.reason.code, this.reason.message);
    if (this.phaseValue !== 'dead') {
      this.setPhase('dead');
      this.events.push({ type: 'dead' });
    }
  }

  private protocolRejectedByDevice(protocol: number, now: number): void {
    this.note(`Protocol-Reject for ${protocolName(protocol)} (0x${protocol.toString(16)}) received`);
    if (protocol === Protocol.IPCP) this.ipcp.fsm.protocolRejected(now);
  }

  /** Ends the link for a reason of ours: remember why, then terminate LCP. */
  private fail(code: PeerDownReason, message: string, now: number): void {
    this.reason ??= { code, message };
    this.stopAuth();
    this.note(message);
    this.lcp.fsm.close(now, 'closed');
    this.goDown(code, message);
  }

  private stopAuth(): void {
    if (!this.auth) return;
    this.auth.stop();
    const c = this.auth.counters;
    this.authCounters.requests += c.requests;
    this.authCounters.malformed += c.malformed;
    this.authCounters.successes += c.successes;
    this.authCounters.failures += c.failures;
    this.auth = undefined;
  }

  /** Emits `down` once per time the link was up (or once, if it never came up). */
  private goDown(code: PeerDownReason, message: string): void {
    if (this.downSent) return;
    this.downSent = true;
    this.upInfo = undefined;
    this.events.push({ type: 'down', reason: code, message });
  }

  private note(line: string): void {
    this.events.push({ type: 'log', line });
  }

  private setPhase(phase: PeerPhase): void {
    if (phase === this.phaseValue) return;
    this.phaseValue = phase;
    this.events.push({ type: 'phase', phase });
  }
}
