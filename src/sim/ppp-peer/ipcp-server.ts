import {
  type ConfigVerdict,
  Fsm,
  type FsmCallbacks,
  type FsmDownCause,
  type FsmFinish,
  fsmLimits,
} from '../../ppp/fsm.js';
import { IpcpOpt } from '../../ppp/ipcp.js';
import {
  bytesU32,
  Code,
  type CpOption,
  emitOptions,
  sameBytes,
  tryParseOptions,
  u32,
} from '../../ppp/packet.js';
import { formatIpv4, parseIpv4 } from '../../util/ipv4.js';

/** What the network side hands out over IPCP, as numbers. */
export interface IpcpServerConfig {
  localAddress: string;
  peerAddress: string;
  /** Primary, then secondary DNS (RFC 1877). */
  dns: readonly string[];
  restartMs?: number;
  maxConfigure?: number;
  maxTerminate?: number;
  maxFailure?: number;
}

export interface IpcpServerResult {
  localAddress: string;
  peerAddress: string;
  dns: string[];
}

export interface IpcpServerEvents {
  up(result: IpcpServerResult, now: number): void;
  down(now: number, why: FsmDownCause): void;
  finished(now: number, reason: FsmFinish): void;
  send(packet: Uint8Array): void;
}

/**
 * The IP Control Protocol on the network side (RFC 1332, RFC 1877), pppd's role on a GGSN or
 * a dial-in server: our Configure-Request carries our IP-Address; the device's is judged
 * against what we assign. IP-Address 0.0.0.0, a different address or none at all is Nak'd
 * with the assigned one (RFC 1332 3.3; RFC 1661 5.3 lets a Nak add an option the request did
 * not carry); Primary/Secondary-DNS-Address (RFC 1877 1.1, 1.3) is Nak'd with the configured
 * server, or Rejected when none is configured; IP-Compression-Protocol (VJ, RFC 1332 3.2), the
 * NBNS options, the deprecated IP-Addresses and anything unknown are Rejected.
 */
export class IpcpServer implements FsmCallbacks {
  readonly fsm: Fsm;
  private readonly local: number;
  private readonly assigned: number;
  private readonly dnsServers: readonly number[];
  private sendAddress = true;
  private sent: Uint8Array = new Uint8Array(0);
  private agreedDns: number[] = [];

  constructor(
    config: IpcpServerConfig,
    private readonly events: IpcpServerEvents,
  ) {
    this.local = parseIpv4(config.localAddress);
    this.assigned = parseIpv4(config.peerAddress);
    this.dnsServers = config.dns.slice(0, 2).map(parseIpv4);
    this.fsm = new Fsm(this, { name: 'IPCP', send: (p) => events.send(p), ...fsmLimits(config) });
  }

  up(now: number): void {
    this.events.up(
      {
        localAddress: formatIpv4(this.local),
        peerAddress: formatIpv4(this.assigned),
        dns: this.agreedDns.map(formatIpv4),
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
    this.sendAddress = true;
    this.agreedDns = [];
  }

  requestOptions(): Uint8Array {
    const opts: CpOption[] = [];
    if (this.sendAddress) opts.push({ type: IpcpOpt.IpAddress, data: bytesU32(this.local) });
    this.sent = emitOptions(opts);
    return this.sent;
  }

  ackReceived(data: Uint8Array): boolean {
    return sameBytes(data, this.sent);
  }

  /** The device suggests another address for us: the network's address is not negotiable. */
  nakReceived(data: Uint8Array): boolean {
    return tryParseOptions(data) !== undefined;
  }

  rejectReceived(data: Uint8Array): boolean {
    const opts = tryParseOptions(data);
    if (!opts) return false;
    for (const o of opts) {
      if (o.type === IpcpOpt.IpAddress && this.sendAddress) this.sendAddress = false;
      else return false; // RFC 1661 5.4: it may only reject what we sent
    }
    return true;
  }

  checkRequest(data: Uint8Array, rejectInstead: boolean): ConfigVerdict {
    const opts = tryParseOptions(data);
    if (!opts) return { code: Code.ConfRej, data };
    const rej: CpOption[] = [];
    const nak: CpOption[] = [];
    /** Options that would be Nak'd, as sent: Rejected instead after Max-Failure (RFC 1661 4.6). */
    const nakOrig: CpOption[] = [];
    const dns: number[] = [];
    let sawAddress = false;
    for (const o of opts) {
      const value = o.data.length === 4 ? u32(o.data) : undefined;
      const dnsIndex = o.type === IpcpOpt.PrimaryDns ? 0 : o.type === IpcpOpt.SecondaryDns ? 1 : -1;
      if (o.type === IpcpOpt.IpAddress && value !== undefined) {
        sawAddress = true;
        if (value !== this.assigned) {
          nak.push({ type: IpcpOpt.IpAddress, data: bytesU32(this.assigned) });
          nakOrig.push(o);
        }
      } else if (dnsIndex >= 0 && value !== undefined && this.dnsServers[dnsIndex] !== undefined) {
        const server = this.dnsServers[dnsIndex]!;
        if (value === server) dns[dnsIndex] = server;
        else {
          nak.push({ type: o.type, data: bytesU32(server) });
          nakOrig.push(o);
        }
      } else {
        rej.push(o); // VJ, NBNS, IP-Addresses, a DNS we do not serve, bad lengths, unknown types
      }
    }
    if (rejectInstead && nakOrig.length > 0) {
      const rejected = new Set([...rej, ...nakOrig]);
      return { code: Code.ConfRej, data: emitOptions(opts.filter((o) => rejected.has(o))) };
    }
    if (rej.length > 0) return { code: Code.ConfRej, data: emitOptions(rej) };
    if (!sawAddress && !rejectInstead) nak.push({ type: IpcpOpt.IpAddress, data: bytesU32(this.assigned) });
    if (nak.length > 0) return { code: Code.ConfNak, data: emitOptions(nak) };
    this.agreedDns = dns.filter((d) => d !== undefined);
    return { code: Code.ConfAck, data };
  }
}
