import { formatIpv4, parseIpv4 } from '../util/ipv4.js';
import {
  type ConfigVerdict,
  Fsm,
  type FsmCallbacks,
  type FsmDownCause,
  type FsmFinish,
  fsmLimits,
} from './fsm.js';
import { bytesU32, Code, type CpOption, emitOptions, sameBytes, tryParseOptions, u32 } from './packet.js';

/**
 * The IP Control Protocol (RFC 1332) with the DNS extensions of RFC 1877: our address and
 * DNS servers are learnt from the peer's Naks; VJ compression is Rejected (for now).
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
  restartMs?: number;
  maxConfigure?: number;
  maxTerminate?: number;
  maxFailure?: number;
}

export interface IpcpResult {
  localAddress: string;
  peerAddress: string;
  dns: string[];
}

export interface IpcpEvents {
  up(result: IpcpResult, now: number): void;
  down(now: number, why: FsmDownCause): void;
  finished(now: number, reason: FsmFinish): void;
  send(packet: Uint8Array): void;
}

interface Wants {
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
  private readonly hint: number;

  constructor(
    private readonly config: IpcpConfig,
    private readonly events: IpcpEvents,
  ) {
    this.hint = parseIpv4(config.peerAddressHint ?? '10.64.64.64');
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
      addr: true,
      addrValue: this.config.localAddress ? parseIpv4(this.config.localAddress) : 0,
      dns1: dns,
      dns1Value: 0,
      dns2: dns,
      dns2Value: 0,
    };
    this.peerAddress = 0;
  }

  requestOptions(): Uint8Array {
    const w = this.wants;
    const opts: CpOption[] = [];
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
      if (o.type === IpcpOpt.PrimaryDns) this.wants.dns1 = false;
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
    let peer = this.peerAddress;
    for (const o of opts) {
      if (o.type === IpcpOpt.IpAddress && o.data.length === 4) {
        const v = u32(o.data);
        if (v === 0) {
          // The peer asks us to name its address (slirp does): RFC 1332 3.3 answers with a Nak.
          nak.push({ type: IpcpOpt.IpAddress, data: bytesU32(this.hint) });
        } else {
          peer = v;
        }
      } else {
        // IP-Compression-Protocol (VJ, RFC 1332 3.2) until it is implemented; the peer's
        // requests for DNS/NBNS from us (RFC 1877); deprecated IP-Addresses; anything else.
        rej.push(o);
      }
    }
    if (rejectInstead) rej.push(...nak.splice(0));
    if (rej.length > 0) return { code: Code.ConfRej, data: emitOptions(rej) };
    if (nak.length > 0) return { code: Code.ConfNak, data: emitOptions(nak) };
    this.peerAddress = peer;
    return { code: Code.ConfAck, data };
  }
}
