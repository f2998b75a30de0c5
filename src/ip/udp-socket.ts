import { EventEmitter } from 'node:events';
import type { LookupFunction } from 'node:net';
import { isIPv4 } from 'node:net';
import { toBuffer } from '../util/bytes.js';
import { formatIpv4, parseIpv4 } from '../util/ipv4.js';
import { UdpError } from './udp-mux.js';

/** What a socket needs from its stack: ports, a way out, reference counting, name lookup. */
export interface UdpSocketHost {
  readonly localAddress: string;
  /** Largest payload a datagram may carry on this link (MTU - 28: we do not fragment). */
  readonly maxPayload: number;
  /** Takes a port (random when 0/undefined); throws `UdpError` (EADDRINUSE...). */
  bind(socket: UdpSocket, port: number | undefined): number;
  unbind(socket: UdpSocket, port: number): void;
  /** Sends a datagram; throws `UdpError` (ENETUNREACH) when the stack is down. */
  send(sourcePort: number, destination: number, destinationPort: number, payload: Uint8Array): void;
  setRef(socket: UdpSocket, ref: boolean): void;
  /** Resolves names given to `send`/`connect` (the stack's `lookup`). */
  readonly lookup: LookupFunction;
}

/** Where a datagram came from, as dgram's `rinfo`. */
export interface UdpRemoteInfo {
  address: string;
  family: 'IPv4';
  port: number;
  /** Payload octets. */
  size: number;
}

export interface UdpAddressInfo {
  address: string;
  family: 'IPv4';
  port: number;
}

export interface UdpSocketEvents {
  message: [msg: Buffer, rinfo: UdpRemoteInfo];
  listening: [];
  connect: [];
  error: [err: Error];
  close: [];
}

/** What `send` accepts: a string (UTF-8), bytes, or a list of them sent as one datagram. */
export type UdpMessage = string | Uint8Array | ReadonlyArray<string | Uint8Array>;

export type UdpSendCallback = (error: Error | null, bytes: number) => void;

export interface UdpBindOptions {
  port?: number;
  /** Our address or 0.0.0.0 (the stack has one address). */
  address?: string;
  exclusive?: boolean;
}

type State = 'unbound' | 'bound' | 'closed';

/**
 * A UDP socket shaped like `dgram.Socket` ('udp4'): `bind`, `send`, `message` with `rinfo`,
 * `connect`/`disconnect`, `close`, `address()`, `ref`/`unref`. Datagrams are emitted as they
 * arrive (no receive queue). An ICMP Port Unreachable about a datagram it sent is reported as
 * an `error` with code ECONNREFUSED (and the `address`/`port` it was about) on a connected
 * socket, as Linux does; an unconnected socket reports it only if it has an `error` listener,
 * so code written for dgram (where unconnected sockets never see it) is not crashed by it.
 */
export class UdpSocket extends EventEmitter<UdpSocketEvents> {
  private state: State = 'unbound';
  private port: number | undefined;
  private remote: { address: number; port: number } | undefined;
  private connecting = false;
  private refed = true;

  constructor(private readonly host: UdpSocketHost) {
    super();
  }

  /**
   * Binds to `port` (a random port in 49152-65535 when 0 or absent), like `dgram.Socket.bind`:
   * `listening` follows on the next tick; EADDRINUSE is emitted as `error`.
   */
  bind(
    port?: number | UdpBindOptions | (() => void),
    address?: string | (() => void),
    callback?: () => void,
  ): this {
    let p: number | undefined;
    let addr: string | undefined;
    let cb: (() => void) | undefined;
    if (typeof port === 'function') cb = port;
    else if (typeof port === 'object' && port !== null) {
      p = port.port;
      addr = port.address;
      cb = typeof address === 'function' ? address : callback;
    } else {
      p = port;
      if (typeof address === 'function') cb = address;
      else {
        addr = address;
        cb = callback;
      }
    }
    if (this.state === 'closed')
      throw new UdpError('ERR_SOCKET_DGRAM_NOT_RUNNING', 'the socket is closed', 'bind');
    if (this.state === 'bound')
      throw new UdpError('ERR_SOCKET_ALREADY_BOUND', 'the socket is already bound', 'bind');
    if (cb) this.once('listening', cb);
    if (addr !== undefined && addr !== '' && addr !== '0.0.0.0' && addr !== this.host.localAddress) {
      const err = new UdpError('EADDRNOTAVAIL', `bind ${addr}: not this stack's address`, 'bind');
      process.nextTick(() => this.emit('error', err));
      return this;
    }
    try {
      this.bindNow(p);
    } catch (err) {
      process.nextTick(() => this.emit('error', err as Error));
      return this;
    }
    process.nextTick(() => {
      if (this.state === 'bound') this.emit('listening');
    });
    return this;
  }

  /**
   * Sends one datagram, like `dgram.Socket.send`: `send(msg, port, address, cb)`,
   * `send(msg, offset, length, port, address, cb)`, or without port and address once
   * connected. An unbound socket is bound to a random port first. `address` may be a name
   * (resolved through the stack's lookup). The callback gets `(error, bytes)`; without one,
   * errors are emitted as `error`.
   */
  send(msg: UdpMessage, port?: number, address?: string, callback?: UdpSendCallback): void;
  send(msg: UdpMessage, port: number, callback: UdpSendCallback): void;
  send(msg: UdpMessage, callback?: UdpSendCallback): void;
  send(
    msg: string | Uint8Array,
    offset: number,
    length: number,
    port?: number,
    address?: string,
    callback?: UdpSendCallback,
  ): void;
  send(msg: string | Uint8Array, offset: number, length: number, callback?: UdpSendCallback): void;
  send(msg: UdpMessage, ...args: unknown[]): void {
    let data: Uint8Array;
    let rest = args;
    const connected = this.remote !== undefined;
    const sliced =
      typeof args[0] === 'number' &&
      typeof args[1] === 'number' &&
      (connected ? args.length <= 3 : typeof args[2] === 'number');
    if (sliced) {
      if (typeof msg !== 'string' && !(msg instanceof Uint8Array))
        throw new UdpError('EINVAL', 'offset and length need a string or bytes', 'send');
      const all = typeof msg === 'string' ? Buffer.from(msg) : msg;
      const offset = args[0] as number;
      const length = args[1] as number;
      if (offset < 0 || length < 0 || offset + length > all.length)
        throw new UdpError('EINVAL', `offset ${offset} and length ${length} outside ${all.length}`, 'send');
      data = all.subarray(offset, offset + length);
      rest = args.slice(2);
    } else data = messageBytes(msg);
    let port: number | undefined;
    let address: string | undefined;
    let callback: UdpSendCallback | undefined;
    for (const a of rest) {
      if (typeof a === 'function') callback = a as UdpSendCallback;
      else if (typeof a === 'number' && port === undefined && address === undefined) port = a;
      else if (typeof a === 'string') address = a;
      else if (a !== undefined && a !== null)
        throw new UdpError('EINVAL', `unexpected send argument ${String(a)}`, 'send');
    }
    if (this.state === 'closed')
      throw new UdpError('ERR_SOCKET_DGRAM_NOT_RUNNING', 'the socket is closed', 'send');
    if (connected && (port !== undefined || address !== undefined))
      throw new UdpError('ERR_SOCKET_DGRAM_IS_CONNECTED', 'the socket is connected', 'send');
    if (!connected) {
      if (port === undefined || !Number.isInteger(port) || port < 1 || port > 0xffff)
        throw new UdpError('ERR_SOCKET_BAD_PORT', `bad port ${String(port)}`, 'send');
      if (address === undefined || address === '')
        throw new UdpError('EINVAL', 'send needs an address (there is no loopback)', 'send');
    }
    const fail = (err: Error): void => {
      if (callback) callback(err, 0);
      else this.emit('error', err);
    };
    if (this.state === 'unbound') {
      try {
        this.bindNow(undefined);
      } catch (err) {
        process.nextTick(fail, err as Error);
        return;
      }
      process.nextTick(() => {
        if (this.state === 'bound') this.emit('listening');
      });
    }
    if (data.length > this.host.maxPayload) {
      const err = new UdpError(
        'EMSGSIZE',
        `${data.length} octets > ${this.host.maxPayload} (the link MTU; IP fragmentation is not done)`,
        'send',
      );
      process.nextTick(fail, err);
      return;
    }
    const transmit = (destination: number, destinationPort: number): void => {
      if (this.state !== 'bound' || this.port === undefined) {
        fail(new UdpError('ERR_SOCKET_DGRAM_NOT_RUNNING', 'the socket is closed', 'send'));
        return;
      }
      try {
        this.host.send(this.port, destination, destinationPort, data);
      } catch (err) {
        fail(err as Error);
        return;
      }
      callback?.(null, data.length);
    };
    if (this.remote) {
      const r = this.remote;
      process.nextTick(transmit, r.address, r.port);
      return;
    }
    this.resolve(address!, 'send', (err, destination) => {
      if (err) fail(err);
      else transmit(destination, port!);
    });
  }

  /**
   * Associates the socket with one peer, like `dgram.Socket.connect`: `send` needs no
   * address, only the peer's datagrams are delivered, and its ICMP errors are reported.
   */
  connect(port: number, address?: string | (() => void), callback?: () => void): void {
    const cb = typeof address === 'function' ? address : callback;
    const addr = typeof address === 'string' ? address : undefined;
    if (this.state === 'closed')
      throw new UdpError('ERR_SOCKET_DGRAM_NOT_RUNNING', 'the socket is closed', 'connect');
    if (this.remote || this.connecting)
      throw new UdpError('ERR_SOCKET_DGRAM_IS_CONNECTED', 'the socket is connected', 'connect');
    if (!Number.isInteger(port) || port < 1 || port > 0xffff)
      throw new UdpError('ERR_SOCKET_BAD_PORT', `bad port ${port}`, 'connect');
    if (addr === undefined || addr === '')
      throw new UdpError('EINVAL', 'connect needs an address (there is no loopback)', 'connect');
    if (cb) this.once('connect', cb);
    if (this.state === 'unbound') {
      try {
        this.bindNow(undefined);
      } catch (err) {
        process.nextTick(() => this.emit('error', err as Error));
        return;
      }
      process.nextTick(() => {
        if (this.state === 'bound') this.emit('listening');
      });
    }
    this.connecting = true;
    this.resolve(addr, 'connect', (err, destination) => {
      this.connecting = false;
      if (this.state !== 'bound') return;
      if (err) {
        this.emit('error', err);
        return;
      }
      this.remote = { address: destination, port };
      this.emit('connect');
    });
  }

  disconnect(): void {
    if (this.state === 'closed')
      throw new UdpError('ERR_SOCKET_DGRAM_NOT_RUNNING', 'the socket is closed', 'disconnect');
    if (!this.remote)
      throw new UdpError('ERR_SOCKET_DGRAM_NOT_CONNECTED', 'the socket is not connected', 'disconnect');
    this.remote = undefined;
  }

  /** The connected peer; throws ERR_SOCKET_DGRAM_NOT_CONNECTED otherwise. */
  remoteAddress(): UdpAddressInfo {
    if (!this.remote)
      throw new UdpError('ERR_SOCKET_DGRAM_NOT_CONNECTED', 'the socket is not connected', 'getpeername');
    return { address: formatIpv4(this.remote.address), family: 'IPv4', port: this.remote.port };
  }

  /** Our address and port; throws ERR_SOCKET_DGRAM_NOT_RUNNING before `bind`. */
  address(): UdpAddressInfo {
    if (this.state !== 'bound' || this.port === undefined)
      throw new UdpError('ERR_SOCKET_DGRAM_NOT_RUNNING', 'the socket is not bound', 'getsockname');
    return { address: this.host.localAddress, family: 'IPv4', port: this.port };
  }

  /** Frees the port; `close` follows on the next tick. */
  close(callback?: () => void): this {
    if (this.state === 'closed')
      throw new UdpError('ERR_SOCKET_DGRAM_NOT_RUNNING', 'the socket is closed', 'close');
    if (callback) this.once('close', callback);
    if (this.port !== undefined) this.host.unbind(this, this.port);
    this.state = 'closed';
    this.port = undefined;
    this.remote = undefined;
    process.nextTick(() => this.emit('close'));
    return this;
  }

  ref(): this {
    this.refed = true;
    this.host.setRef(this, true);
    return this;
  }

  unref(): this {
    this.refed = false;
    this.host.setRef(this, false);
    return this;
  }

  get isRefed(): boolean {
    return this.refed;
  }

  // ---- from the stack -------------------------------------------------------------------

  /** @internal A datagram for our port. */
  deliver(source: number, sourcePort: number, payload: Uint8Array): void {
    if (this.state !== 'bound') return;
    const r = this.remote;
    if (r && (r.address !== source || r.port !== sourcePort)) return; // connected: the peer only
    this.emit('message', toBuffer(payload), {
      address: formatIpv4(source),
      family: 'IPv4',
      port: sourcePort,
      size: payload.length,
    });
  }

  /** @internal An ICMP Destination Unreachable about a datagram we sent. */
  unreachable(destination: number, destinationPort: number, code: number): void {
    if (this.state !== 'bound') return;
    const r = this.remote;
    if (r && (r.address !== destination || r.port !== destinationPort)) return;
    if (!r && this.listenerCount('error') === 0) return;
    const address = formatIpv4(destination);
    // RFC 1122 4.1.3.3: the application hears of it. Port and protocol unreachable are hard
    // errors (ECONNREFUSED, as Linux reports them); the others mean no route.
    const err =
      code === 3 || code === 2
        ? new UdpError('ECONNREFUSED', `${address}:${destinationPort}: port unreachable`, 'recv', {
            address,
            port: destinationPort,
          })
        : new UdpError('EHOSTUNREACH', `${address}: destination unreachable (code ${code})`, 'recv', {
            address,
            port: destinationPort,
          });
    this.emit('error', err);
  }

  /** @internal The stack went down: the socket is closed. */
  shutdown(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.port = undefined;
    this.remote = undefined;
    process.nextTick(() => this.emit('close'));
  }

  private bindNow(port: number | undefined): void {
    this.port = this.host.bind(this, port);
    this.state = 'bound';
  }

  private resolve(
    address: string,
    syscall: string,
    done: (err: Error | null, destination: number) => void,
  ): void {
    if (isIPv4(address)) {
      const n = parseIpv4(address);
      process.nextTick(done, null, n);
      return;
    }
    this.host.lookup(address, { family: 4 }, (err, result) => {
      if (err) {
        done(err, 0);
        return;
      }
      const first = typeof result === 'string' ? result : result[0]?.address;
      if (first === undefined || !isIPv4(first)) {
        done(new UdpError('EINVAL', `${syscall} ${address}: no IPv4 address`, syscall), 0);
        return;
      }
      done(null, parseIpv4(first));
    });
  }
}

function messageBytes(msg: UdpMessage): Uint8Array {
  if (typeof msg === 'string') return Buffer.from(msg);
  if (msg instanceof Uint8Array) return msg;
  if (Array.isArray(msg)) {
    const parts = (msg as ReadonlyArray<string | Uint8Array>).map((m) =>
      typeof m === 'string' ? Buffer.from(m) : m,
    );
    return Buffer.concat(parts);
  }
  throw new UdpError('EINVAL', 'the message must be a string, bytes or a list of them', 'send');
}
