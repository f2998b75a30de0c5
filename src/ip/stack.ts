import { randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { TcpErrorCode } from '../tcp/errors.js';
import { TcpError } from '../tcp/errors.js';
import { type Connection, type ConnectionOptions, type MuxStats, TcpMux } from '../tcp/mux.js';
import { TcpServer } from '../tcp/server.js';
import { type SocketHost, TcpSocket } from '../tcp/socket.js';
import { type Clock, systemClock, type TimerHandle } from '../util/clock.js';
import { DeadlineTimer } from '../util/deadline-timer.js';
import { CellstackError } from '../util/errors.js';
import { formatIpv4, parseIpv4 } from '../util/ipv4.js';
import { IpProtocol } from './ipv4.js';
import { type EchoReply, IpStackCore, type IpStackStats, type Unreachable } from './stack-core.js';

/** The link a stack runs over: a `PppLink` once it is up. */
export interface IpLink {
  readonly info: { localAddress: string; peerAddress: string; dns: string[]; mtu: number } | undefined;
  sendIp(packet: Uint8Array): boolean;
  on(event: 'ip', listener: (packet: Uint8Array) => void): unknown;
  on(event: 'dead', listener: () => void): unknown;
  off(event: 'ip', listener: (packet: Uint8Array) => void): unknown;
  off(event: 'dead', listener: () => void): unknown;
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

export interface TcpConnectOptions extends ConnectionOptions {
  host: string;
  port: number;
  localPort?: number;
  /** net.Socket's: false (default) ends our side when the peer's FIN arrives. */
  allowHalfOpen?: boolean;
  /** Call `setTimeout(timeout)` on the socket. */
  timeout?: number;
}

export interface NetStackOptions {
  clock?: Clock;
  echoIdentifier?: number;
  /** Defaults for every TCP connection (buffers, Nagle, keepalive...). */
  tcp?: ConnectionOptions;
}

export interface NetStackStats {
  ip: IpStackStats;
  tcp: MuxStats & { connections: number };
}

/**
 * IPv4, ICMP and TCP over a link (`PppLink`): `connect` and `listen` give sockets that behave
 * like Node's, `ping` measures round trips. A thin shell around `IpStackCore` and `TcpMux`:
 * packets from the link go in, packets out go to the link, one timer follows both cores.
 */
export class NetStack extends EventEmitter {
  readonly core: IpStackCore;
  readonly tcp: TcpMux;
  private readonly clock: Clock;
  private readonly timer: DeadlineTimer;
  private readonly tcpDefaults: ConnectionOptions;
  private waiting = new Map<number, { resolve: (r: EchoReply) => void; reject: (e: Error) => void }>();
  private readonly sockets = new Map<number, TcpSocket>();
  private readonly servers = new Map<number, TcpServer>();
  private readonly unrefed = new Set<TcpSocket>();
  private closed = false;
  private readonly host: SocketHost;
  private readonly onIp = (packet: Uint8Array) => {
    this.core.receive(packet, this.clock.now());
    this.flush();
  };
  private readonly onDead = () => this.close(new TcpError('ENETUNREACH', 'the link went down'));

  constructor(
    readonly link: IpLink,
    options: NetStackOptions = {},
  ) {
    super();
    const info = link.info;
    if (!info) throw new NetworkError('ENETUNREACH', 'the link is not up');
    this.clock = options.clock ?? systemClock;
    this.tcpDefaults = options.tcp ?? {};
    this.timer = new DeadlineTimer(this.clock, () => {
      const now = this.clock.now();
      this.core.tick(now);
      this.tcp.tick(now);
      this.flush();
    });
    const local = parseIpv4(info.localAddress);
    this.core = new IpStackCore(local, options.echoIdentifier ?? randomInt(1, 0xffff));
    this.core.delegate(IpProtocol.TCP);
    this.tcp = new TcpMux(local, Math.max(64, info.mtu - 40));
    this.host = {
      now: () => this.clock.now(),
      setTimer: (fn, ms) => this.clock.setTimer(fn, ms),
      clearTimer: (h: TimerHandle) => this.clock.clearTimer(h),
      flush: (conn) => {
        this.tcp.flush(conn);
        this.flush();
      },
      setRef: (socket, ref) => {
        if (ref) this.unrefed.delete(socket);
        else this.unrefed.add(socket);
        this.updateRef();
      },
      release: (socket) => {
        this.sockets.delete(socket.conn.id);
        this.unrefed.delete(socket);
        this.updateRef();
      },
    };
    link.on('ip', this.onIp);
    link.on('dead', this.onDead);
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
    if (!this.link.info || this.closed)
      return Promise.reject(new NetworkError('ENETUNREACH', 'the link is down'));
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

  /**
   * Opens a TCP connection, like `net.connect`: the socket is returned at once, emits
   * `connect` when established, and queues writes until then. `host` is an IPv4 address.
   */
  connect(options: TcpConnectOptions, onConnect?: () => void): TcpSocket {
    const { host, port, localPort, allowHalfOpen, timeout, ...rest } = options;
    let remote: number;
    try {
      remote = parseIpv4(host);
    } catch (err) {
      throw new TcpError('ENETUNREACH', `not an IPv4 address: ${host}: ${(err as Error).message}`);
    }
    const now = this.clock.now();
    const conn = this.tcp.connect(
      remote,
      port,
      { ...this.tcpDefaults, ...rest, ...(localPort === undefined ? {} : { localPort }) },
      now,
    );
    const socket = new TcpSocket(this.host, conn, allowHalfOpen === undefined ? {} : { allowHalfOpen });
    this.sockets.set(conn.id, socket);
    if (onConnect) socket.once('connect', onConnect);
    if (timeout !== undefined) socket.setTimeout(timeout);
    if (this.closed || !this.link.info) {
      process.nextTick(() => socket.destroy(new TcpError('ENETUNREACH', 'the link is down')));
    }
    this.flush();
    return socket;
  }

  /** A server on `port` of our address, shaped like `net.Server`. */
  createServer(onConnection?: (socket: TcpSocket) => void): TcpServer {
    const server = new TcpServer({
      localAddress: this.localAddress,
      listen: (s, port, backlog) => {
        this.tcp.listen(port, backlog, this.tcpDefaults);
        this.servers.set(port, s);
      },
      unlisten: (s) => {
        for (const [port, srv] of this.servers) {
          if (srv === s) {
            this.tcp.unlisten(port);
            this.servers.delete(port);
          }
        }
      },
    });
    if (onConnection) server.on('connection', onConnection);
    return server;
  }

  stats(): NetStackStats {
    return {
      ip: { ...this.core.stats },
      tcp: { ...this.tcp.stats, connections: this.tcp.connections.length },
    };
  }

  /** Stops the stack: pending pings fail, sockets are destroyed with `error` (default ENETUNREACH). */
  close(error: Error = new TcpError('ENETUNREACH', 'the stack was closed')): void {
    if (this.closed) return;
    this.closed = true;
    this.link.off('ip', this.onIp);
    this.link.off('dead', this.onDead);
    this.timer.clear();
    for (const w of this.waiting.values()) w.reject(new NetworkError('ENETUNREACH', error.message));
    this.waiting.clear();
    for (const s of [...this.sockets.values()]) s.destroy(error);
    for (const srv of this.servers.values()) srv.close();
  }

  private flush(): void {
    const now = this.clock.now();
    for (let round = 0; round < 8; round++) {
      const tcpOut = this.tcp.takeOutput();
      for (const o of tcpOut) this.core.send(o.destination, IpProtocol.TCP, o.bytes);
      for (const packet of this.core.takeOutput()) this.link.sendIp(packet);
      const coreEvents = this.core.takeEvents();
      for (const ev of coreEvents) {
        if (ev.type === 'echo-reply') {
          this.waiting.get(ev.key)?.resolve(ev.reply);
          this.waiting.delete(ev.key);
        } else if (ev.type === 'ping-timeout') {
          this.waiting
            .get(ev.key)
            ?.reject(new NetworkError('ETIMEDOUT', `no echo reply (icmp_seq=${ev.sequence})`));
          this.waiting.delete(ev.key);
        } else if (ev.type === 'datagram') {
          if (ev.packet.protocol === IpProtocol.TCP) this.tcp.input(ev.packet.source, ev.packet.payload, now);
        } else if (ev.type === 'unreachable') {
          this.unreachable(ev.info, now);
        }
      }
      const muxEvents = this.tcp.takeEvents();
      for (const ev of muxEvents) {
        if (ev.type === 'accept') this.accept(ev.conn);
        else this.sockets.get(ev.conn.id)?.onEvent(ev.event);
      }
      if (tcpOut.length === 0 && coreEvents.length === 0 && muxEvents.length === 0) break;
    }
    if (this.closed) return;
    const a = this.core.nextDeadline();
    const b = this.tcp.nextDeadline();
    this.timer.arm(a === undefined ? b : b === undefined ? a : Math.min(a, b));
  }

  /** The stack's timer keeps the process alive unless every socket was `unref`'d (net semantics). */
  private updateRef(): void {
    const all = this.sockets.size > 0 && this.unrefed.size === this.sockets.size && this.waiting.size === 0;
    this.timer.setRef(!all);
  }

  private accept(conn: Connection): void {
    const server = this.servers.get(conn.localPort);
    if (!server) {
      conn.tcb.abort(this.clock.now());
      this.tcp.flush(conn);
      return;
    }
    const socket = new TcpSocket(this.host, conn, { passive: true });
    this.sockets.set(conn.id, socket);
    server.accepted(socket);
  }

  private unreachable(info: Unreachable, now: number): void {
    if (info.protocol !== IpProtocol.TCP) return;
    const code: TcpErrorCode =
      info.code === 0 ? 'ENETUNREACH' : info.code === 2 || info.code === 3 ? 'ECONNREFUSED' : 'EHOSTUNREACH';
    this.tcp.unreachable(info.destination, info.destinationPort, info.sourcePort, code, now);
  }
}
