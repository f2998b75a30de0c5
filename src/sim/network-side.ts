import { EventEmitter } from 'node:events';
import { type Clock, systemClock } from '../util/clock.js';
import { DeadlineTimer } from '../util/deadline-timer.js';
import { ConfigError } from '../util/errors.js';
import { createLogger } from '../util/log.js';
import type { SimModem } from './modem.js';
import type { PppPeerConfig } from './ppp-peer/config.js';
import { PppPeerCore } from './ppp-peer/core.js';
import type { PeerDownReason, PppPeerStats, PppPeerUpInfo } from './ppp-peer/events.js';
import { type LinkProfileName, type LinkProfileSpec, resolveProfile } from './profiles.js';
import { LinkShaperCore, type LinkShaperStats } from './shaper-core.js';

const log = createLogger('sim:net');

/**
 * A fault the network injects into each call, `afterMs` after its CONNECT: the carrier
 * dropped (`NO CARRIER`, as when the cell is lost), the radio stalled (nothing moves either
 * way for `durationMs`, bytes wait), or bytes corrupted (each with `probability`, for
 * `durationMs`; the FCS drops the frames they hit).
 */
export interface SimCallFault {
  afterMs: number;
  fault: 'drop-carrier' | 'stall' | 'corrupt';
  durationMs?: number;
  probability?: number;
}

export interface SimNetworkSideOptions {
  /** The operator's PPP: authentication, the addresses and DNS servers it assigns. */
  ppp?: Omit<PppPeerConfig, 'random'>;
  /** The radio between the modem and the network (`gprs`, `lte`... or your own); default none. */
  profile?: LinkProfileName | LinkProfileSpec;
  /** Seed of the profile's jitter, loss and corruption. */
  seed?: number;
  /** Faults injected into every call, at times counted from its CONNECT (for users' own tests). */
  faults?: readonly SimCallFault[];
  clock?: Clock;
  /** Let the process exit while the timer is pending. */
  unref?: boolean;
}

export interface SimNetworkSideEvents {
  /** IPCP is up on a call: the device's address and DNS. */
  up: [info: PppPeerUpInfo];
  /** The call's PPP went down (or the call ended). */
  down: [reason: PeerDownReason, message: string];
  /** An IPv4 packet from the device. */
  ip: [packet: Uint8Array];
  /** A negotiation line in pppd's style (never a secret). */
  log: [line: string];
}

export interface SimNetworkSideStats {
  calls: number;
  ppp?: PppPeerStats;
  up: LinkShaperStats;
  down: LinkShaperStats;
}

/**
 * What is behind the virtual modem's `CONNECT`: on each call a network-side PPP peer
 * (`PppPeerCore`: LCP, PAP/CHAP as authenticator, IPCP assigning the address and DNS), with the
 * radio's rate, delay, jitter and loss (a link profile) between it and the modem. IP packets
 * from the device come out as `ip` events; `sendIp()` sends them the other way. When PPP ends
 * (Terminate, keepalive failure) the modem drops the carrier (`NO CARRIER`), as a network does.
 */
export class SimNetworkSide extends EventEmitter<SimNetworkSideEvents> {
  private readonly clock: Clock;
  private readonly timer: DeadlineTimer;
  private readonly upLink: LinkShaperCore;
  private readonly downLink: LinkShaperCore;
  private peer: PppPeerCore | undefined;
  private calls = 0;
  private readonly faults: readonly SimCallFault[];
  /** Faults of the current call not yet applied, with their times on the clock. */
  private dueFaults: Array<{ at: number; fault: SimCallFault }> = [];
  private closed = false;

  constructor(
    private readonly sim: SimModem,
    private readonly options: SimNetworkSideOptions = {},
  ) {
    super();
    this.clock = options.clock ?? systemClock;
    const profile = resolveProfile(options.profile ?? {});
    const seed = options.seed ?? 1;
    this.upLink = new LinkShaperCore({ ...profile.up, seed: (seed * 2 + 1) | 0 });
    this.downLink = new LinkShaperCore({ ...profile.down, seed: (seed * 2 + 2) | 0 });
    this.faults = checkFaults(options.faults ?? []);
    this.timer = new DeadlineTimer(this.clock, () => this.pump(), options.unref ?? false);
    sim.on('connect', this.onConnect);
    sim.on('data', this.onData);
    sim.on('hangup', this.onHangup);
  }

  /** The current call's PPP, once up. */
  get info(): PppPeerUpInfo | undefined {
    return this.peer?.info;
  }

  /** Sends an IPv4 packet to the device; false when no call is up or it is too large. */
  sendIp(packet: Uint8Array): boolean {
    const peer = this.peer;
    if (!peer) return false;
    const ok = peer.sendIp(packet, this.clock.now());
    this.pump();
    return ok;
  }

  stats(): SimNetworkSideStats {
    const out: SimNetworkSideStats = {
      calls: this.calls,
      up: this.upLink.stats(),
      down: this.downLink.stats(),
    };
    if (this.peer) out.ppp = this.peer.stats();
    return out;
  }

  /** Holds the radio both ways for `ms` (bytes wait, then move on). */
  stall(ms: number): void {
    const now = this.clock.now();
    this.upLink.stall(now + ms, now);
    this.downLink.stall(now + ms, now);
    this.pump();
  }

  /** Corrupts each byte with `probability`, both ways, for `ms`. */
  corrupt(probability: number, ms: number): void {
    const now = this.clock.now();
    this.upLink.corrupt(probability, now + ms, now);
    this.downLink.corrupt(probability, now + ms, now);
    this.pump();
  }

  /** Ends the call from the network's side: the modem says `NO CARRIER`. */
  dropCarrier(): void {
    if (this.sim.mode === 'data' || this.sim.mode === 'online-command') this.sim.dropCarrier();
    this.endCall();
  }

  /** Detaches from the modem; a call in progress ends as if the line went away. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sim.off('connect', this.onConnect);
    this.sim.off('data', this.onData);
    this.sim.off('hangup', this.onHangup);
    this.endCall();
    this.timer.clear();
  }

  private readonly onConnect = (): void => {
    this.endCall();
    this.calls++;
    const now = this.clock.now();
    const peer = new PppPeerCore({ ...this.options.ppp });
    this.peer = peer;
    this.dueFaults = this.faults.map((fault) => ({ at: now + fault.afterMs, fault }));
    peer.open(now);
    log('call %d: PPP started', this.calls);
    this.pump();
  };

  private readonly onData = (bytes: Uint8Array): void => {
    if (!this.peer) return;
    // The radio queue is full: the bytes are lost, as a bearer drops them (TCP repairs).
    this.upLink.push(bytes, this.clock.now());
    this.pump();
  };

  private readonly onHangup = (): void => {
    this.endCall();
  };

  private endCall(): void {
    const peer = this.peer;
    this.dueFaults = [];
    if (!peer) return;
    this.peer = undefined;
    peer.lowerDown(this.clock.now());
    this.handle(peer);
    // What was still on the air belonged to the call.
    this.upLink.take(Number.POSITIVE_INFINITY);
    this.downLink.take(Number.POSITIVE_INFINITY);
  }

  /** Moves bytes through the radio and the PPP peer, acts on its events, re-arms the timer. */
  private pump(): void {
    const now = this.clock.now();
    this.applyFaults(now);
    const peer = this.peer;
    if (peer) {
      for (const chunk of this.upLink.take(now)) peer.receive(chunk, now);
      peer.tick(now);
      this.handle(peer);
      for (const chunk of peer.takeOutput()) this.downLink.push(chunk, now);
      for (const chunk of this.downLink.take(now)) this.sim.sendData(chunk);
    }
    if (this.closed) return;
    const deadlines = [
      peer?.nextDeadline(),
      this.upLink.nextDeadline(),
      this.downLink.nextDeadline(),
      ...this.dueFaults.map((f) => f.at),
    ].filter((d): d is number => d !== undefined);
    this.timer.arm(deadlines.length > 0 ? Math.min(...deadlines) : undefined);
  }

  private applyFaults(now: number): void {
    if (this.dueFaults.length === 0) return;
    const due = this.dueFaults.filter((f) => f.at <= now);
    if (due.length === 0) return;
    this.dueFaults = this.dueFaults.filter((f) => f.at > now);
    for (const { fault } of due) {
      log('fault: %s', fault.fault);
      if (fault.fault === 'drop-carrier') {
        this.dropCarrier();
        return;
      }
      const until = now + (fault.durationMs ?? 0);
      if (fault.fault === 'stall') {
        this.upLink.stall(until, now);
        this.downLink.stall(until, now);
      } else {
        this.upLink.corrupt(fault.probability ?? 0.01, until, now);
        this.downLink.corrupt(fault.probability ?? 0.01, until, now);
      }
    }
  }

  private handle(peer: PppPeerCore): void {
    for (const ev of peer.takeEvents()) {
      switch (ev.type) {
        case 'up':
          log('up: %s -> %s', ev.info.localAddress, ev.info.peerAddress);
          this.emit('up', ev.info);
          break;
        case 'down':
          log('down: %s: %s', ev.reason, ev.message);
          this.emit('down', ev.reason, ev.message);
          break;
        case 'dead':
          // LCP finished: the network releases the bearer and the modem says NO CARRIER.
          if (peer === this.peer) {
            this.peer = undefined;
            if (this.sim.mode === 'data' || this.sim.mode === 'online-command') this.sim.dropCarrier();
          }
          break;
        case 'ip':
          this.emit('ip', ev.packet);
          break;
        case 'log':
          this.emit('log', ev.line);
          break;
        default:
          break;
      }
    }
  }
}

function checkFaults(faults: readonly SimCallFault[]): readonly SimCallFault[] {
  for (const f of faults) {
    if (!(f.afterMs >= 0) || !Number.isFinite(f.afterMs))
      throw new ConfigError('sim: a fault needs afterMs >= 0');
    if (f.fault !== 'drop-carrier' && f.fault !== 'stall' && f.fault !== 'corrupt')
      throw new ConfigError(`sim: unknown fault "${String(f.fault)}" (drop-carrier, stall, corrupt)`);
    if (
      f.fault !== 'drop-carrier' &&
      !(f.durationMs !== undefined && f.durationMs > 0 && Number.isFinite(f.durationMs))
    )
      throw new ConfigError(`sim: a ${f.fault} fault needs durationMs > 0`);
    if (f.probability !== undefined && !(f.probability >= 0 && f.probability <= 1))
      throw new ConfigError('sim: a fault probability is 0..1');
  }
  return [...faults];
}
