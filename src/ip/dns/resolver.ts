import type { LookupAddress, LookupAllOptions, LookupOneOptions, LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import type { TcpSocket } from '../../tcp/socket.js';
import type { Clock } from '../../util/clock.js';
import { DeadlineTimer } from '../../util/deadline-timer.js';
import { formatIpv4, isIpv4, parseIpv4 } from '../../util/ipv4.js';
import { createLogger } from '../../util/log.js';
import type { UdpSocket } from '../udp-socket.js';
import { DnsError, type DnsErrorCode } from './errors.js';
import { normalizeHostname } from './name.js';
import {
  type ResolveResult,
  type ResolverAction,
  type ResolverConfig,
  ResolverCore,
  type ResolverStats,
} from './resolver-core.js';

const log = createLogger('ip:dns');

/** What the resolver needs from its stack: time, DNS servers, and UDP and TCP sockets. */
export interface ResolverHost {
  readonly clock: Clock;
  /** The servers to ask, primary first (the link's, from IPCP). */
  servers(): string[];
  createUdpSocket(): UdpSocket;
  connectTcp(address: string, port: number): TcpSocket;
}

export interface ResolverOptions extends ResolverConfig {
  /** Servers to use instead of the link's (IPCP) ones. */
  servers?: string[];
}

/** `lookup`'s callback when one address is wanted, as `dns.lookup`'s. */
export type LookupOneCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;
/** `lookup`'s callback with `all: true`. */
export type LookupAllCallback = (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void;

/**
 * A function shaped like `dns.lookup`, usable as the `lookup` option of `net.connect`,
 * `tls.connect` and `http.request` (it is a `net.LookupFunction`).
 */
export interface StackLookup {
  (hostname: string, callback: LookupOneCallback): void;
  (hostname: string, family: number, callback: LookupOneCallback): void;
  (hostname: string, options: LookupAllOptions, callback: LookupAllCallback): void;
  (hostname: string, options: LookupOneOptions, callback: LookupOneCallback): void;
  (
    hostname: string,
    options: LookupOptions,
    callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ): void;
}

/** Codes `lookup` reports, as Node's getaddrinfo errors: a missing name, or try again. */
function lookupCode(code: DnsErrorCode): DnsErrorCode {
  if (code === 'ENOTFOUND' || code === 'ENODATA' || code === 'EBADNAME') return 'ENOTFOUND';
  if (code === 'ECANCELLED') return code;
  return 'EAI_AGAIN';
}

interface Waiter {
  name: string;
  resolve: (r: ResolveResult) => void;
  reject: (e: DnsError) => void;
}

/**
 * The stack's stub resolver (the shell of `ResolverCore`): each transaction gets its own UDP
 * socket on a random port, a truncated answer is asked again over a TCP connection of the
 * stack, one timer follows the core. `resolve` gives addresses; `lookup` is `dns.lookup`.
 */
export class Resolver {
  readonly core: ResolverCore;
  /** Bound, so it can be passed around as `lookup` (net, tls, http options). */
  readonly lookup: StackLookup;
  private readonly timer: DeadlineTimer;
  private readonly waiters = new Map<number, Waiter[]>();
  private readonly udp = new Map<number, UdpSocket>();
  private readonly tcp = new Map<number, TcpSocket>();
  private serverOverride: string[] | undefined;
  private closed = false;

  constructor(
    private readonly host: ResolverHost,
    options: ResolverOptions = {},
  ) {
    const { servers, ...config } = options;
    this.core = new ResolverCore(config);
    if (servers) this.setServers(servers);
    this.timer = new DeadlineTimer(host.clock, () => {
      this.core.tick(this.host.clock.now());
      this.pump();
    });
    this.lookup = this.lookupImpl.bind(this) as StackLookup;
  }

  /** The servers asked, primary first. */
  getServers(): string[] {
    return this.serverOverride
      ? [...this.serverOverride]
      : this.host.servers().filter((s) => isIpv4(s) && s !== '0.0.0.0');
  }

  /** Uses these servers instead of the link's; `undefined` goes back to the link's. */
  setServers(servers: string[] | undefined): void {
    if (servers) for (const s of servers) parseIpv4(s); // throws RangeError for a bad one
    this.serverOverride = servers ? [...servers] : undefined;
  }

  /**
   * The IPv4 addresses of `name` (A records, CNAMEs followed). Rejects with a `DnsError`:
   * ENOTFOUND, ENODATA, ESERVFAIL, EREFUSED, ECONNREFUSED, ETIMEOUT, EBADNAME...
   */
  resolve(name: string): Promise<ResolveResult> {
    if (this.closed) return Promise.reject(new DnsError('ECANCELLED', name, 'queryA', 'the stack is closed'));
    const start = this.core.resolve(
      name,
      this.getServers().map((s) => parseIpv4(s)),
      this.host.clock.now(),
    );
    if (start.type === 'done') return Promise.resolve(start.result);
    if (start.type === 'failed') return Promise.reject(start.error);
    const p = new Promise<ResolveResult>((resolve, reject) => {
      const list = this.waiters.get(start.key) ?? [];
      list.push({ name, resolve, reject });
      this.waiters.set(start.key, list);
    });
    this.pump();
    return p;
  }

  stats(): ResolverStats & { cached: number } {
    return { ...this.core.stats, cached: this.core.cache.size };
  }

  clearCache(): void {
    this.core.cache.clear();
  }

  /** Fails what is under way with ECANCELLED and closes the sockets; later calls fail too. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.core.cancelAll();
    this.pump();
    this.timer.clear();
  }

  private lookupImpl(
    hostname: string,
    options: number | LookupOptions | LookupOneCallback,
    callback?: LookupOneCallback | LookupAllCallback,
  ): void {
    let opts: LookupOptions = {};
    let cb: LookupOneCallback | LookupAllCallback | undefined = callback;
    if (typeof options === 'function') cb = options;
    else if (typeof options === 'number') opts = { family: options };
    else if (options !== null && typeof options === 'object') opts = options;
    if (typeof cb !== 'function') throw new TypeError('lookup needs a callback');
    const done = cb;
    const all = opts.all === true;
    const family = opts.family === 'IPv4' ? 4 : opts.family === 'IPv6' ? 6 : (opts.family ?? 0);
    const answer = (addresses: string[], fam: 4 | 6): void => {
      if (all)
        (done as LookupAllCallback)(
          null,
          addresses.map((address) => ({ address, family: fam })),
        );
      else (done as LookupOneCallback)(null, addresses[0]!, fam);
    };
    // As dns.lookup: an error comes alone.
    const failWith = (err: DnsError): void => (done as (e: NodeJS.ErrnoException) => void)(err);
    const literal = typeof hostname === 'string' ? isIP(hostname) : 0;
    if (literal !== 0) {
      // As dns.lookup: an address is its own answer, whatever family was asked.
      process.nextTick(answer, [hostname], literal as 4 | 6);
      return;
    }
    if (family === 6) {
      const err = new DnsError('ENOTFOUND', String(hostname), 'getaddrinfo', 'this stack has no IPv6');
      process.nextTick(failWith, err);
      return;
    }
    this.resolve(String(hostname)).then(
      (r) => answer(r.addresses, 4),
      (e: unknown) => {
        const code = e instanceof DnsError ? e.code : 'EAI_AGAIN';
        const detail = e instanceof DnsError ? e.code : String(e);
        failWith(new DnsError(lookupCode(code), String(hostname), 'getaddrinfo', detail, { cause: e }));
      },
    );
  }

  /** Carries out the core's actions and re-arms the timer. */
  private pump(): void {
    for (let round = 0; round < 16; round++) {
      const actions = this.core.takeActions();
      if (actions.length === 0) break;
      for (const a of actions) this.act(a);
    }
    this.timer.arm(this.core.nextDeadline());
  }

  private act(a: ResolverAction): void {
    switch (a.type) {
      case 'send-udp':
        this.sendUdp(a.tx, a.server, a.port, a.message);
        break;
      case 'send-tcp':
        this.sendTcp(a.tx, a.server, a.port, a.message);
        break;
      case 'end': {
        const u = this.udp.get(a.tx);
        this.udp.delete(a.tx);
        if (u) {
          try {
            u.close();
          } catch {
            // already closed with the stack
          }
        }
        const t = this.tcp.get(a.tx);
        this.tcp.delete(a.tx);
        t?.destroy();
        break;
      }
      case 'resolved': {
        const list = this.waiters.get(a.key) ?? [];
        this.waiters.delete(a.key);
        log('%s: %s', a.result.name, a.result.addresses.join(' '));
        for (const w of list) {
          // Callers asking for one name in other spellings share a lookup; each gets its own.
          const name = normalizeHostname(w.name) ?? a.result.name;
          w.resolve({ ...a.result, name, addresses: [...a.result.addresses], cname: [...a.result.cname] });
        }
        break;
      }
      case 'failed': {
        const list = this.waiters.get(a.key) ?? [];
        this.waiters.delete(a.key);
        log('%s', a.error.message);
        for (const w of list) w.reject(a.error);
        break;
      }
    }
  }

  private sendUdp(tx: number, server: number, port: number, message: Uint8Array): void {
    let socket = this.udp.get(tx);
    if (!socket) {
      const s = this.host.createUdpSocket();
      socket = s;
      this.udp.set(tx, s);
      s.on('message', (msg, rinfo) => {
        this.core.receiveUdp(tx, parseIpv4(rinfo.address), rinfo.port, msg, this.host.clock.now());
        this.pump();
      });
      s.on('error', (err: Error & { code?: string; address?: string; port?: number }) => {
        if (err.code === 'ECONNREFUSED' && err.address !== undefined && err.port !== undefined) {
          this.core.unreachable(tx, parseIpv4(err.address), err.port, this.host.clock.now());
          this.pump();
        } else log('UDP socket of transaction %d: %s', tx, err.message);
      });
      s.bind(0);
    }
    log('query over UDP to %s', formatIpv4(server));
    // A send error (link down) leaves the try to time out.
    socket.send(message, port, formatIpv4(server), (err) => {
      if (err) log('send to %s: %s', formatIpv4(server), err.message);
    });
  }

  private sendTcp(tx: number, server: number, port: number, message: Uint8Array): void {
    log('query over TCP to %s', formatIpv4(server));
    const socket = this.host.connectTcp(formatIpv4(server), port);
    this.tcp.set(tx, socket);
    const framed = new Uint8Array(2 + message.length);
    framed[0] = message.length >> 8;
    framed[1] = message.length & 0xff;
    framed.set(message, 2);
    socket.write(framed);
    let got: Buffer = Buffer.alloc(0);
    let done = false;
    socket.on('data', (chunk: Buffer) => {
      if (done) return;
      got = got.length === 0 ? chunk : Buffer.concat([got, chunk]);
      if (got.length < 2) return;
      const length = got.readUInt16BE(0);
      if (got.length < 2 + length) return;
      done = true;
      this.core.receiveTcp(tx, got.subarray(2, 2 + length), this.host.clock.now());
      this.pump();
    });
    const failed = (refused: boolean): void => {
      if (done) return;
      done = true;
      this.core.tcpFailed(tx, refused, this.host.clock.now());
      this.pump();
    };
    socket.on('error', (err: Error & { code?: string }) => failed(err.code === 'ECONNREFUSED'));
    socket.on('end', () => failed(false));
    socket.on('close', () => failed(false));
  }
}
