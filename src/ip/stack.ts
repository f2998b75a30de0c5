import { randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { LookupFunction } from 'node:net';
import type { TcpErrorCode } from '../tcp/errors.js';
import { TcpError } from '../tcp/errors.js';
import { type Connection, type ConnectionOptions, type MuxStats, TcpMux } from '../tcp/mux.js';
import { TcpServer } from '../tcp/server.js';
import { type SocketHost, TcpSocket } from '../tcp/socket.js';
import { type Clock, systemClock, type TimerHandle } from '../util/clock.js';
import { DeadlineTimer } from '../util/deadline-timer.js';
import { CellstackError } from '../util/errors.js';
import { formatIpv4, isIpv4, parseIpv4 } from '../util/ipv4.js';
import { Resolver, type ResolverOptions, type StackLookup } from './dns/resolver.js';
import type { ResolveResult, ResolverStats } from './dns/resolver-core.js';
import { IpProtocol } from './ipv4.js';
import { type EchoReply, IpStackCore, type IpStackStats, type Unreachable } from './stack-core.js';
import { UdpError, UdpMux, type UdpStats } from './udp-mux.js';
import { type UdpRemoteInfo, UdpSocket, type UdpSocketHost } from './udp-socket.js';

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
  /** An IPv4 address, or a name resolved with `lookup` (the stack's unless given). */
  host: string;
  port: number;
  /** Resolves `host` when it is a name, like net.connect's option. Default: the stack's `lookup`. */
  lookup?: LookupFunction;
  /** Passed to `lookup`; only 4 (or 0) can connect. Default 4. */
  family?: number;
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
  /** The stub resolver: servers (default the link's, from IPCP), timeouts, attempts, cache. */
  dns?: ResolverOptions;
  /** ICMP Port Unreachable messages sent per second, at most (RFC 1812 4.3.2.8). Default 10. */
  icmpRate?: number;
}

export interface NetStackStats {
  ip: IpStackStats;
  tcp: MuxStats & { connections: number };
  udp: UdpStats & { sockets: number };
  dns: ResolverStats & { cached: number };
}

/**
 * IPv4, ICMP, UDP, TCP and DNS over a link (`PppLink`): `connect` and `createServer` give
 * sockets that behave like Node's net, `createUdpSocket` like dgram's, `resolve` and `lookup`
 * ask the link's DNS servers, `ping` measures round trips. A thin shell around `IpStackCore`,
 * `UdpMux` and `TcpMux`: packets from the link go in, packets out go to the link, one timer
 * follows the cores (the resolver keeps its own).
 */
export class NetStack extends EventEmitter {
  readonly core: IpStackCore;
  readonly tcp: TcpMux;
  readonly udp: UdpMux;
  readonly resolver: Resolver;
  /**
   * Shaped like `dns.lookup` (IPv4 only, through the link's DNS servers) and bound: pass it
   * as the `lookup` option of `net.connect`, `tls.connect`, `http.request`...
   */
  readonly lookup: StackLookup;
  private readonly clock: Clock;
  private readonly timer: DeadlineTimer;
  private readonly tcpDefaults: ConnectionOptions;
  private waiting = new Map<number, { resolve: (r: EchoReply) => void; reject: (e: Error) => void }>();
  private readonly sockets = new Map<number, TcpSocket>();
  /** Sockets connecting by name: no connection yet. */
  private readonly resolving = new Set<TcpSocket>();
  private readonly servers = new Map<number, TcpServer>();
  private readonly udpSockets = new Map<number, UdpSocket>();
  private readonly unrefed = new Set<TcpSocket | UdpSocket>();
  private closed = false;
  private readonly host: SocketHost;
  private readonly udpHost: UdpSocketHost;
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
    this.core.delegate(IpProtocol.UDP);
    this.tcp = new TcpMux(local, Math.max(64, info.mtu - 40));
    this.udp = new UdpMux(local, options.icmpRate === undefined ? {} : { icmpRate: options.icmpRate });
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
        const conn = socket.connection;
        if (conn) this.sockets.delete(conn.id);
        this.resolving.delete(socket);
        this.unrefed.delete(socket);
        this.updateRef();
      },
    };
    this.udpHost = {
      localAddress: this.localAddress,
      // No fragmentation: a datagram must fit the link MTU with its IP and UDP headers.
      maxPayload: Math.max(0, info.mtu - 28),
      bind: (socket, port) => {
        if (this.closed) throw new UdpError('ENETUNREACH', 'the stack is closed', 'bind');
        const p = this.udp.bind(port);
        this.udpSockets.set(p, socket);
        this.updateRef();
        return p;
      },
      unbind: (socket, port) => {
        if (this.udpSockets.get(port) !== socket) return;
        this.udp.unbind(port);
        this.udpSockets.delete(port);
        this.unrefed.delete(socket);
        this.updateRef();
      },
      send: (sourcePort, destination, destinationPort, payload) => {
        if (this.closed || !this.link.info) throw new UdpError('ENETUNREACH', 'the link is down', 'send');
        this.udp.send(sourcePort, destination, destinationPort, payload);
        this.flush();
      },
      setRef: (socket, ref) => {
        if (ref) this.unrefed.delete(socket);
        else this.unrefed.add(socket);
        this.updateRef();
      },
      lookup: (hostname, options, callback) => this.lookup(hostname, options, callback),
    };
    this.resolver = new Resolver(
      {
        clock: this.clock,
        servers: () => this.link.info?.dns ?? [],
        createUdpSocket: () => this.createUdpSocket(),
        connectTcp: (address, port) => this.connect({ host: address, port }),
      },
      options.dns,
    );
    this.lookup = this.resolver.lookup;
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
   * The IPv4 addresses of `name` from the link's DNS servers (A records, CNAMEs followed,
   * cached up to their TTL). An address resolves to itself. Rejects with a `DnsError`
   * (ENOTFOUND, ENODATA, ESERVFAIL, EREFUSED, ECONNREFUSED, ETIMEOUT, EBADNAME...).
   */
  resolve(name: string): Promise<ResolveResult> {
    return this.resolver.resolve(name);
  }

  /** A UDP socket, shaped like `dgram.createSocket('udp4')`. */
  createUdpSocket(onMessage?: (msg: Buffer, rinfo: UdpRemoteInfo) => void): UdpSocket {
    const socket = new UdpSocket(this.udpHost);
    if (onMessage) socket.on('message', onMessage);
    return socket;
  }

  /** `dgram.createSocket`'s name for `createUdpSocket`; only 'udp4' exists here. */
  createSocket(
    type: 'udp4' | { type: 'udp4' },
    onMessage?: (msg: Buffer, rinfo: UdpRemoteInfo) => void,
  ): UdpSocket {
    const t = typeof type === 'string' ? type : type.type;
    if (t !== 'udp4') throw new UdpError('EINVAL', `socket type ${String(t)}: only udp4`, 'socket');
    return this.createUdpSocket(onMessage);
  }

  /**
   * Opens a TCP connection, like `net.connect`: the socket is returned at once, emits
   * `connect` when established, and queues writes until then. A `host` that is not an IPv4
   * address is resolved first through `lookup` (the stack's by default): the socket emits
   * `lookup` (err, address, family, host), then connects, or is destroyed with the lookup's
   * error (a `DnsError`: ENOTFOUND...).
   */
  connect(options: TcpConnectOptions, onConnect?: () => void): TcpSocket {
    const { host, port, localPort, allowHalfOpen, timeout, lookup, family, ...rest } = options;
    const connOptions = { ...this.tcpDefaults, ...rest, ...(localPort === undefined ? {} : { localPort }) };
    if (isIpv4(host)) {
      const now = this.clock.now();
      const conn = this.tcp.connect(parseIpv4(host), port, connOptions, now);
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
    const socket = new TcpSocket(this.host, undefined, allowHalfOpen === undefined ? {} : { allowHalfOpen });
    this.resolving.add(socket);
    this.updateRef();
    if (onConnect) socket.once('connect', onConnect);
    if (timeout !== undefined) socket.setTimeout(timeout);
    if (this.closed || !this.link.info) {
      process.nextTick(() => socket.destroy(new TcpError('ENETUNREACH', 'the link is down')));
      return socket;
    }
    const resolveWith = lookup ?? this.lookup;
    resolveWith(host, { family: family ?? 4 }, (err, address, fam) => {
      if (socket.destroyed) return;
      if (err) {
        socket.emit('lookup', err, undefined, undefined, host);
        socket.destroy(err);
        return;
      }
      const first =
        typeof address === 'string' ? { address, family: fam ?? 4 } : address.find((a) => a.family === 4);
      socket.emit('lookup', null, first?.address, first?.family, host);
      if (!first || !isIpv4(first.address)) {
        socket.destroy(
          new TcpError('ENETUNREACH', `${host} has no IPv4 address (${String(first?.address)})`),
        );
        return;
      }
      if (this.closed || !this.link.info) {
        socket.destroy(new TcpError('ENETUNREACH', 'the link is down'));
        return;
      }
      let conn: Connection;
      try {
        conn = this.tcp.connect(parseIpv4(first.address), port, connOptions, this.clock.now());
      } catch (e) {
        socket.destroy(new TcpError('EADDRINUSE', (e as Error).message));
        return;
      }
      this.resolving.delete(socket);
      this.sockets.set(conn.id, socket);
      socket.attach(conn);
      this.flush();
    });
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
      udp: { ...this.udp.stats, sockets: this.udpSockets.size },
      dns: this.resolver.stats(),
    };
  }

  /** Stops the stack: pending pings fail, sockets are destroyed with `error` (default ENETUNREACH). */
  close(error: Error = new TcpError('ENETUNREACH', 'the stack was closed')): void {
    if (this.closed) return;
    this.closed = true;
    this.link.off('ip', this.onIp);
    this.link.off('dead', this.onDead);
    this.timer.clear();
    this.resolver.close();
    for (const w of this.waiting.values()) w.reject(new NetworkError('ENETUNREACH', error.message));
    this.waiting.clear();
    for (const s of [...this.sockets.values(), ...this.resolving]) s.destroy(error);
    for (const srv of this.servers.values()) srv.close();
    for (const [port, u] of [...this.udpSockets]) {
      this.udp.unbind(port);
      this.udpSockets.delete(port);
      u.shutdown();
    }
    this.updateRef();
  }

  private flush(): void {
    const now = this.clock.now();
    for (let round = 0; round < 8; round++) {
      const tcpOut = this.tcp.takeOutput();
      for (const o of tcpOut) this.core.send(o.destination, IpProtocol.TCP, o.bytes);
      const udpOut = this.udp.takeOutput();
      for (const o of udpOut) this.core.send(o.destination, o.protocol, o.bytes);
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
          else if (ev.packet.protocol === IpProtocol.UDP) this.udp.input(ev.packet, now);
        } else if (ev.type === 'unreachable') {
          this.unreachable(ev.info, now);
        }
      }
      const muxEvents = this.tcp.takeEvents();
      for (const ev of muxEvents) {
        if (ev.type === 'accept') this.accept(ev.conn);
        else this.sockets.get(ev.conn.id)?.onEvent(ev.event);
      }
      const udpEvents = this.udp.takeEvents();
      for (const ev of udpEvents) {
        const socket = this.udpSockets.get(ev.port);
        if (ev.type === 'datagram') socket?.deliver(ev.source, ev.sourcePort, ev.payload);
        else socket?.unreachable(ev.destination, ev.destinationPort, ev.code);
      }
      if (
        tcpOut.length === 0 &&
        udpOut.length === 0 &&
        coreEvents.length === 0 &&
        muxEvents.length === 0 &&
        udpEvents.length === 0
      )
        break;
    }
    if (this.closed) return;
    const a = this.core.nextDeadline();
    const b = this.tcp.nextDeadline();
    this.timer.arm(a === undefined ? b : b === undefined ? a : Math.min(a, b));
  }

  /** The stack's timer keeps the process alive unless every socket was `unref`'d (net semantics). */
  private updateRef(): void {
    const live = this.sockets.size + this.resolving.size + this.udpSockets.size;
    const all = live > 0 && this.unrefed.size === live && this.waiting.size === 0;
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
    if (info.protocol === IpProtocol.UDP) this.udp.unreachable(info);
    if (info.protocol !== IpProtocol.TCP) return;
    const code: TcpErrorCode =
      info.code === 0 ? 'ENETUNREACH' : info.code === 2 || info.code === 3 ? 'ECONNREFUSED' : 'EHOSTUNREACH';
    this.tcp.unreachable(info.destination, info.destinationPort, info.sourcePort, code, now);
  }
}
