import { randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { type Clock, systemClock } from '../util/clock.js';
import { DeadlineTimer } from '../util/deadline-timer.js';
import { CellstackError } from '../util/errors.js';
import { formatIpv4, parseIpv4 } from '../util/ipv4.js';
import { type EchoReply, IpStackCore, type IpStackStats } from './stack-core.js';

/** The link a stack runs over: a `PppLink` once it is up. */
export interface IpLink {
  readonly info: { localAddress: string; peerAddress: string; dns: string[]; mtu: number } | undefined;
  sendIp(packet: Uint8Array): boolean;
  on(event: 'ip', listener: (packet: Uint8Array) => void): unknown;
  off(event: 'ip', listener: (packet: Uint8Array) => void): unknown;
}

export interface PingOptions {
  timeoutMs?: number;
  size?: number;
}

export interface PingResult {
  address: string;
  sequence: number;
  bytes: number;
  ttl: number;
  rttMs: number;
}

export class NetworkError extends CellstackError {
  constructor(code: 'ETIMEDOUT' | 'ENETUNREACH' | 'EINVAL', message: string) {
    super(code, message);
    this.name = 'NetworkError';
  }
}

/**
 * IPv4 over a link: answers pings, sends them. A thin shell around `IpStackCore`; TCP and
 * UDP join it in later issues.
 */
export class NetStack extends EventEmitter {
  readonly core: IpStackCore;
  private readonly clock: Clock;
  private readonly timer: DeadlineTimer;
  private waiting = new Map<number, { resolve: (r: EchoReply) => void; reject: (e: Error) => void }>();
  private readonly onIp = (packet: Uint8Array) => {
    this.core.receive(packet, this.clock.now());
    this.flush();
  };

  constructor(
    readonly link: IpLink,
    options: { clock?: Clock; echoIdentifier?: number } = {},
  ) {
    super();
    const info = link.info;
    if (!info) throw new NetworkError('ENETUNREACH', 'the link is not up');
    this.clock = options.clock ?? systemClock;
    this.timer = new DeadlineTimer(this.clock, () => {
      this.core.tick(this.clock.now());
      this.flush();
    });
    this.core = new IpStackCore(parseIpv4(info.localAddress), options.echoIdentifier ?? randomInt(1, 0xffff));
    link.on('ip', this.onIp);
  }

  get localAddress(): string {
    return formatIpv4(this.core.localAddress);
  }

  /** ICMP echo to `address`; resolves with the round-trip time, rejects `ETIMEDOUT`. */
  ping(address: string, options: PingOptions = {}): Promise<PingResult> {
    let destination: number;
    try {
      destination = parseIpv4(address);
    } catch (err) {
      return Promise.reject(new NetworkError('EINVAL', (err as Error).message));
    }
    if (!this.link.info) return Promise.reject(new NetworkError('ENETUNREACH', 'the link is down'));
    const timeoutMs = options.timeoutMs ?? 5000;
    const key = this.core.ping(
      { destination, timeoutMs, ...(options.size === undefined ? {} : { size: options.size }) },
      this.clock.now(),
    );
    const p = new Promise<EchoReply>((resolve, reject) => this.waiting.set(key, { resolve, reject }));
    this.flush();
    return p.then((r) => ({
      address: formatIpv4(r.from),
      sequence: r.sequence,
      bytes: r.bytes,
      ttl: r.ttl,
      rttMs: r.rttMs,
    }));
  }

  stats(): IpStackStats {
    return { ...this.core.stats };
  }

  /** Stops listening to the link; pending pings fail. */
  close(): void {
    this.link.off('ip', this.onIp);
    this.timer.clear();
    for (const w of this.waiting.values()) w.reject(new NetworkError('ENETUNREACH', 'the stack was closed'));
    this.waiting.clear();
  }

  private flush(): void {
    for (const packet of this.core.takeOutput()) this.link.sendIp(packet);
    for (const ev of this.core.takeEvents()) {
      if (ev.type === 'echo-reply') {
        this.waiting.get(ev.key)?.resolve(ev.reply);
        this.waiting.delete(ev.key);
      } else if (ev.type === 'ping-timeout') {
        this.waiting
          .get(ev.key)
          ?.reject(new NetworkError('ETIMEDOUT', `no echo reply (icmp_seq=${ev.sequence})`));
        this.waiting.delete(ev.key);
      }
    }
    this.timer.arm(this.core.nextDeadline());
  }
}
