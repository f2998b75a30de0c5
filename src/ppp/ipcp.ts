import { formatIpv4, parseIpv4 } from '../util/ipv4.js';
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
  bytesU32,
  Code,
  type CpOption,
  emitOptions,
  sameBytes,
  tryParseOptions,
  u16,
  u32,
} from './packet.js';
import { checkVjParams, MAX_MAX_SLOT_ID, MIN_MAX_SLOT_ID, type VjParams } from './vj/wire.js';

/**
 * The IP Control Protocol (RFC 1332) with the DNS extensions of RFC 1877: our address and
 * DNS servers are learnt from the peer's Naks; Van Jacobson TCP/IP header compression (RFC
 * 1144) is negotiated with the IP-Compression-Protocol option (RFC 1332 section 3.2).
 */
export const IpcpOpt = {
  IpAddresses: 1, // deprecated (RFC 1332 appendix)
  IpCompression: 2,
  IpAddress: 3,
  PrimaryDns: 129,
  PrimaryNbns: 130,
  SecondaryDns: 131,
  SecondaryNbns: 132,
} as const;

export interface IpcpConfig {
  /** Our address if we have one to propose; default 0.0.0.0: ask the peer. */
  localAddress?: string;
  /** What we call the peer when it asks us to name it (slirp does). Default pppd's 10.64.64.64. */
  peerAddressHint?: string;
  /** Ask for DNS servers (RFC 1877). Default true. */
  requestDns?: boolean;
  /**
   * Van Jacobson TCP/IP header compression (RFC 1144), negotiated with the
   * IP-Compression-Protocol option (RFC 1332 section 3.2). The option in a Configure-Request
   * says what its sender is willing to *receive*, so each direction is agreed on its own:
   * - `true` (default): ask the peer to send us compressed headers with 16 slots (Max-Slot-Id
   *   15, what pppd and the Linux kernel use) and the slot number left out when unchanged
   *   (Comp-Slot-Id 1); agree when the peer asks the same of us (any Max-Slot-Id 2..255).
   * - `{ maxSlotId, compSlotId }`: ask with these values instead (2..255; `compSlotId: false`
   *   also Naks a peer that wants slot numbers left out, like pppd's `novjccomp`).
   * - `false`: neither ask nor agree (the peer's option is Rejected): plain IP both ways.
   */
  vjCompression?: boolean | { maxSlotId?: number; compSlotId?: boolean };
  restartMs?: number;
  maxConfigure?: number;
  maxTerminate?: number;
  maxFailure?: number;
}

/** VJ compression as agreed, per direction; a direction left out runs plain IP. */
export interface IpcpVj {
  /** The peer asked for VJ and we Acked: compress what we send, with its parameters. */
  send?: VjParams;
  /** We asked for VJ and the peer Acked: it may send us compressed frames. */
  receive?: VjParams;
}

export interface IpcpResult {
  localAddress: string;
  peerAddress: string;
  dns: string[];
  vj: IpcpVj;
}

export interface IpcpEvents {
  up(result: IpcpResult, now: number): void;
  down(now: number, why: FsmDownCause): void;
  finished(now: number, reason: FsmFinish): void;
  send(packet: Uint8Array): void;
}

interface Wants {
  vj: boolean;
  vjMaxSlotId: number;
  vjCompSlotId: boolean;
  addr: boolean;
  addrValue: number;
  dns1: boolean;
  dns1Value: number;
  dns2: boolean;
  dns2Value: number;
}

export class Ipcp implements FsmCallbacks {
  readonly fsm: Fsm;
  private wants!: Wants;
  private sent: Uint8Array = new Uint8Array(0);
  private peerAddress = 0;
  /** VJ as in the ConfReq last sent (the peer's Ack agrees to exactly that). */
  private sentVj: VjParams | undefined;
  /** VJ as the peer asked in the ConfReq we last Acked: what we send with. */
  private peerVj: VjParams | undefined;
  private readonly hint: number;
  /** VJ as configured, or undefined for `vjCompression: false`. */
  private readonly vj: VjParams | undefined;

  constructor(
    private readonly config: IpcpConfig,
    private readonly events: IpcpEvents,
  ) {
    this.hint = parseIpv4(config.peerAddressHint ?? '10.64.64.64');
    const vj = config.vjCompression ?? true;
    this.vj =
      vj === false
        ? undefined
        : checkVjParams({
            maxSlotId: (vj === true ? undefined : vj.maxSlotId) ?? 15,
            compSlotId: (vj === true ? undefined : vj.compSlotId) ?? true,
          });
    this.fsm = new Fsm(this, { name: 'IPCP', send: (p) => events.send(p), ...fsmLimits(config) });
    this.resetOptions();
  }

  up(now: number): void {
    const w = this.wants;
    const dns = [w.dns1 ? w.dns1Value : 0, w.dns2 ? w.dns2Value : 0]
      .filter((d) => d !== 0)
      .map((d) => formatIpv4(d));
    this.events.up(
      {
        localAddress: formatIpv4(w.addrValue),
        peerAddress: formatIpv4(this.peerAddress),
        dns: [...new Set(dns)],
        vj: {
          ...(this.peerVj ? { send: { ...this.peerVj } } : {}),
          ...(this.sentVj ? { receive: { ...this.sentVj } } : {}),
        },
      },
      now,
    );
  }

  down(now: number, why: FsmDownCause): void {
    this.events.down(now, why);
  }

  started(): void {}

  finished(now: number, reason: FsmFinish): void {
    this.events.finished(now, reason);
  }

  resetOptions(): void {
    const dns = this.config.requestDns ?? true;
    this.wants = {
      vj: this.vj !== undefined,
      vjMaxSlotId: this.vj?.maxSlotId ?? 15,
      vjCompSlotId: this.vj?.compSlotId ?? true,
      addr: true,
      addrValue: this.config.localAddress ? parseIpv4(this.config.localAddress) : 0,
      dns1: dns,
      dns1Value: 0,
      dns2: dns,
      dns2Value: 0,
    };
    this.peerAddress = 0;
    this.peerVj = undefined;
    this.sentVj = undefined;
  }

  requestOptions(): Uint8Array {
    const w = this.wants;
    const opts: CpOption[] = [];
    // RFC 1332 3.2: IP-Compression-Protocol 0x002d, Max-Slot-Id, Comp-Slot-Id.
    this.sentVj = w.vj ? { maxSlotId: w.vjMaxSlotId, compSlotId: w.vjCompSlotId } : undefined;
    if (w.vj) opts.push({ type: IpcpOpt.IpCompression, data: vjOption(w.vjMaxSlotId, w.vjCompSlotId) });
    if (w.addr) opts.push({ type: IpcpOpt.IpAddress, data: bytesU32(w.addrValue) });
    if (w.dns1) opts.push({ type: IpcpOpt.PrimaryDns, data: bytesU32(w.dns1Value) });
    if (w.dns2) opts.push({ type: IpcpOpt.SecondaryDns, data: bytesU32(w.dns2Value) });
    this.sent = emitOptions(opts);
    return this.sent;
  }

  ackReceived(data: Uint8Array): boolean {
    return sameBytes(data, this.sent);
  }

  nakReceived(data: Uint8Array): boolean {
    const opts = tryParseOptions(data);
    if (!opts) return false;
    for (const o of opts) {
      if (o.type === IpcpOpt.IpCompression) {
        this.vjNaked(o.data);
        continue;
      }
      if (o.data.length !== 4) continue;
      const v = u32(o.data);
      if (o.type === IpcpOpt.IpAddress) {
        this.wants.addr = true;
        this.wants.addrValue = v;
      } else if (o.type === IpcpOpt.PrimaryDns) this.wants.dns1Value = v;
      else if (o.type === IpcpOpt.SecondaryDns) this.wants.dns2Value = v;
    }
    return true;
  }

  rejectReceived(data: Uint8Array): boolean {
    const opts = tryParseOptions(data);
    if (!opts) return false;
    for (const o of opts) {
      // RFC 1877 section 1: a peer without DNS to give Rejects the options; we carry on without.
      if (o.type === IpcpOpt.IpCompression)
        this.wants.vj = false; // plain IP towards us
      else if (o.type === IpcpOpt.PrimaryDns) this.wants.dns1 = false;
      else if (o.type === IpcpOpt.SecondaryDns) this.wants.dns2 = false;
      else if (o.type === IpcpOpt.IpAddress) this.wants.addr = false;
      else return false;
    }
    return true;
  }

  checkRequest(data: Uint8Array, rejectInstead: boolean): ConfigVerdict {
    const opts = tryParseOptions(data);
    if (!opts) return { code: Code.ConfRej, data };
    const rej: CpOption[] = [];
    const nak: CpOption[] = [];
    /** What would be Nak'd, as the peer sent it: Rejected instead after Max-Failure Naks. */
    const nakOrig: CpOption[] = [];
    let peer = this.peerAddress;
    let peerVj: VjParams | undefined;
    let seenVj = false;
    for (const o of opts) {
      if (o.type === IpcpOpt.IpCompression) {
        // RFC 1332 3.2: the peer is willing to receive compressed headers (we would send them).
        if (!this.vj || seenVj) {
          rej.push(o); // not configured, or the option twice
        } else {
          const v = this.judgeVj(o.data);
          if (v.ok) peerVj = v.params;
          else {
            nak.push({ type: IpcpOpt.IpCompression, data: v.suggest });
            nakOrig.push(o);
          }
        }
        seenVj = true;
      } else if (o.type === IpcpOpt.IpAddress && o.data.length === 4) {
        const v = u32(o.data);
        if (v === 0) {
          // The peer asks us to name its address (slirp does): RFC 1332 3.3 answers with a Nak.
          nak.push({ type: IpcpOpt.IpAddress, data: bytesU32(this.hint) });
          nakOrig.push(o);
        } else {
          peer = v;
        }
      } else {
        // The peer's requests for DNS/NBNS from us (RFC 1877); deprecated IP-Addresses;
        // anything else.
        rej.push(o);
      }
    }
    if (rejectInstead && nakOrig.length > 0) {
      // RFC 1661 5.4: a Reject carries the options unmodified, in the order they came.
      const rejected = new Set([...rej, ...nakOrig]);
      return { code: Code.ConfRej, data: emitOptions(opts.filter((o) => rejected.has(o))) };
    }
    if (rej.length > 0) return { code: Code.ConfRej, data: emitOptions(rej) };
    if (nak.length > 0) return { code: Code.ConfNak, data: emitOptions(nak) };
    this.peerAddress = peer;
    this.peerVj = peerVj;
    return { code: Code.ConfAck, data };
  }

  /**
   * The peer's IP-Compression-Protocol option (RFC 1332 3.2): acceptable when it is 0x002d
   * with Max-Slot-Id 2..255 (we can keep that many slots) and a Comp-Slot-Id we allow;
   * otherwise the nearest value we accept, for a Nak (the RFC 1172 form 0x0037 becomes 0x002d).
   */
  private judgeVj(d: Uint8Array): { ok: true; params: VjParams } | { ok: false; suggest: Uint8Array } {
    const ours = this.vj!;
    const isVj = d.length === 4 && u16(d) === Protocol.VjCompressed;
    if (isVj) {
      const max = d[2]!;
      const cflag = d[3]!;
      const cflagOk = cflag === 0 || (cflag === 1 && ours.compSlotId);
      if (max >= MIN_MAX_SLOT_ID && cflagOk)
        return { ok: true, params: { maxSlotId: max, compSlotId: cflag === 1 } };
      const suggestMax = Math.min(MAX_MAX_SLOT_ID, Math.max(MIN_MAX_SLOT_ID, max));
      return { ok: false, suggest: vjOption(suggestMax, cflagOk ? cflag === 1 : ours.compSlotId) };
    }
    // The RFC 1172 form (0x0037, no slot fields), another protocol, a wrong length: Nak with
    // VJ as we would ask for it (RFC 1661 5.3: a value we would accept). After Max-Failure
    // Naks the automaton Rejects instead, so a peer that insists still converges.
    return { ok: false, suggest: vjOption(ours.maxSlotId, ours.compSlotId) };
  }

  /**
   * The peer Nak'd our IP-Compression-Protocol option: take a smaller Max-Slot-Id and
   * Comp-Slot-Id 0 if it suggests them (as pppd does); anything else (another protocol, the
   * RFC 1172 form, a value out of range) and we stop asking: the peer sends plain IP.
   */
  private vjNaked(d: Uint8Array): void {
    const w = this.wants;
    if (!w.vj) return; // a suggestion for an option we do not (or no longer) ask for
    if (d.length === 4 && u16(d) === Protocol.VjCompressed && d[2]! >= MIN_MAX_SLOT_ID && d[3]! <= 1) {
      if (d[2]! < w.vjMaxSlotId) w.vjMaxSlotId = d[2]!;
      if (d[3] === 0) w.vjCompSlotId = false;
    } else {
      w.vj = false;
    }
  }
}

function vjOption(maxSlotId: number, compSlotId: boolean): Uint8Array {
  return Uint8Array.of(
    Protocol.VjCompressed >> 8,
    Protocol.VjCompressed & 0xff,
    maxSlotId,
    compSlotId ? 1 : 0,
  );
}
