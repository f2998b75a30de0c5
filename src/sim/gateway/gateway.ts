import * as dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import type { TcpErrorCode } from '../../tcp/errors.js';
import { type Clock, systemClock } from '../../util/clock.js';
import { DeadlineTimer } from '../../util/deadline-timer.js';
import { isIpv4, parseIpv4 } from '../../util/ipv4.js';
import { inAny } from './cidr.js';
import type { GatewayConfig } from './config.js';
import { GatewayCore } from './core.js';
import type { GatewayEvent, GatewayStats } from './events.js';

export interface SimGatewayOptions extends GatewayConfig {
  clock?: Clock;
  /** Opens a real TCP connection. Default `net.connect`; tests pass a spy. */
  connect?: (options: net.TcpNetConnectOpts) => net.Socket;
  /** Opens a real UDP socket for a flow. Default `dgram.createSocket('udp4')`. */
  createUdpSocket?: () => dgram.Socket;
}

export interface SimGatewayStats extends GatewayStats {
  shell: {
    /** Real TCP sockets open now. */
    sockets: number;
    /** Real UDP sockets open now. */
    udpSockets: number;
    /** Events for destinations outside `allow` refused by the shell's own check (should stay 0). */
    denied: number;
  };
}

export interface SimGatewayEvents {
  /** An IPv4 packet for the device (to `PppPeerCore.sendIp`). */
  ip: [packet: Uint8Array];
}

interface TcpEntry {
  socket: net.Socket;
  connected: boolean;
}

/**
 * The Node shell of `GatewayCore`: IPv4 packets from the device in through `input`, packets
 * for the device out as `ip` events, real `net` and `dgram` sockets on this machine for what
 * the core relays, one `DeadlineTimer` for the core's deadlines. The shell checks every
 * destination against `allow` again before it opens a socket.
 */
export class SimGateway extends EventEmitter<SimGatewayEvents> {
  readonly core: GatewayCore;
  private readonly clock: Clock;
  private readonly timer: DeadlineTimer;
  private readonly connectFn: (options: net.TcpNetConnectOpts) => net.Socket;
  private readonly createUdp: () => dgram.Socket;
  private readonly tcp = new Map<number, TcpEntry>();
  private readonly udp = new Map<number, dgram.Socket>();
  private denied = 0;
  private closed = false;
  private flushing = false;
  private again = false;

  constructor(options: SimGatewayOptions = {}) {
    super();
    const { clock, connect, createUdpSocket, ...config } = options;
    this.core = new GatewayCore(config);
    this.clock = clock ?? systemClock;
    this.connectFn = connect ?? ((o) => net.connect(o));
    this.createUdp = createUdpSocket ?? (() => dgram.createSocket('udp4'));
    this.timer = new DeadlineTimer(this.clock, () => {
      this.core.tick(this.clock.now());
      this.flush();
    });
  }

  /** An IPv4 packet from the device (a `PppPeerCore` `ip` event). */
  input(packet: Uint8Array): void {
    if (this.closed) return;
    this.core.input(packet, this.clock.now());
    this.flush();
  }

  stats(): SimGatewayStats {
    return {
      ...this.core.stats(),
      shell: { sockets: this.tcp.size, udpSockets: this.udp.size, denied: this.denied },
    };
  }

  /** Resets the device's connections, destroys every real socket, stops the timer. */
  close(): void {
    if (this.closed) return;
    this.core.close(this.clock.now());
    this.flush();
    this.closed = true;
    this.timer.clear();
    for (const e of this.tcp.values()) e.socket.destroy();
    this.tcp.clear();
    for (const s of this.udp.values()) s.close();
    this.udp.clear();
  }

  private allowed(host: string): boolean {
    if (!isIpv4(host)) return false;
    const a = parseIpv4(host);
    return a !== this.core.config.address && inAny(a, this.core.config.allow);
  }

  private flush(): void {
    if (this.flushing) {
      this.again = true;
      return;
    }
    this.flushing = true;
    try {
      do {
        this.again = false;
        for (const p of this.core.takeOutput()) if (!this.closed) this.emit('ip', p);
        for (const e of this.core.takeEvents()) if (!this.closed) this.handle(e);
      } while (this.again);
    } finally {
      this.flushing = false;
    }
    if (!this.closed) this.timer.arm(this.core.nextDeadline());
  }

  private handle(e: GatewayEvent): void {
    switch (e.type) {
      case 'tcp-connect':
        this.open(e.id, e.host, e.port);
        break;
      case 'tcp-data': {
        const entry = this.tcp.get(e.id);
        if (!entry) break;
        const n = e.bytes.length;
        entry.socket.write(e.bytes, (err) => {
          if (err || this.closed) return;
          this.core.tcpWritten(e.id, n, this.clock.now());
          this.flush();
        });
        break;
      }
      case 'tcp-end':
        this.tcp.get(e.id)?.socket.end();
        break;
      case 'tcp-drain':
        this.tcp.get(e.id)?.socket.resume();
        break;
      case 'tcp-close': {
        const entry = this.tcp.get(e.id);
        if (!entry) break;
        if (e.error === undefined) {
          entry.socket.end();
          break;
        }
        this.tcp.delete(e.id);
        if (e.error === 'ECONNRESET' && entry.connected) entry.socket.resetAndDestroy();
        else entry.socket.destroy();
        break;
      }
      case 'udp-send':
        this.udpSend(e.flow, e.host, e.port, e.bytes);
        break;
      case 'udp-close':
        this.udp.get(e.flow)?.close();
        this.udp.delete(e.flow);
        break;
    }
  }

  private open(id: number, host: string, port: number): void {
    if (!this.allowed(host)) {
      this.denied++;
      this.core.tcpFailed(id, 'ECONNREFUSED', this.clock.now());
      this.again = true;
      return;
    }
    const socket = this.connectFn({ host, port, allowHalfOpen: true });
    const entry: TcpEntry = { socket, connected: false };
    this.tcp.set(id, entry);
    socket.setNoDelay(true); // the device's TCP does its own batching
    socket.on('connect', () => {
      entry.connected = true;
      this.core.tcpConnected(id, this.clock.now());
      this.flush();
    });
    socket.on('data', (buf: Buffer) => {
      if (!this.core.tcpReceive(id, buf, this.clock.now())) socket.pause();
      this.flush();
    });
    socket.on('end', () => {
      this.core.tcpEnd(id, this.clock.now());
      this.flush();
    });
    socket.on('error', (err: Error & { code?: string }) => {
      if (this.tcp.get(id) !== entry) return;
      this.tcp.delete(id);
      const now = this.clock.now();
      if (entry.connected) this.core.tcpReset(id, now);
      else this.core.tcpFailed(id, (err.code ?? 'ECONNREFUSED') as TcpErrorCode, now);
      this.flush();
    });
    socket.on('close', () => {
      if (this.tcp.get(id) === entry) this.tcp.delete(id);
    });
  }

  private udpSend(flow: number, host: string, port: number, bytes: Uint8Array): void {
    if (!this.allowed(host)) {
      this.denied++;
      this.core.udpClosed(flow);
      return;
    }
    let socket = this.udp.get(flow);
    if (!socket) {
      const s = this.createUdp();
      socket = s;
      this.udp.set(flow, s);
      s.on('message', (msg: Buffer, rinfo: dgram.RemoteInfo) => {
        // Only the flow's destination may answer through it (RFC 4787 5: endpoint-dependent filtering).
        if (rinfo.address !== host || rinfo.port !== port || this.closed) return;
        this.core.udpReceive(flow, msg, this.clock.now());
        this.flush();
      });
      s.on('error', () => {
        if (this.udp.get(flow) !== s) return;
        this.udp.delete(flow);
        this.core.udpClosed(flow);
        s.close();
      });
    }
    socket.send(bytes, port, host);
  }
}
