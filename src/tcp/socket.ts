import { Duplex } from 'node:stream';
import type { TimerHandle } from '../util/clock.js';
import { formatIpv4 } from '../util/ipv4.js';
import { TcpError } from './errors.js';
import type { Connection } from './mux.js';
import type { TcbEvent } from './tcb.js';

/** What a socket needs from its stack: time, timers, and "send what the connection has". */
export interface SocketHost {
  now(): number;
  setTimer(fn: () => void, ms: number): TimerHandle;
  clearTimer(handle: TimerHandle): void;
  /** Collects the connection's segments and sends them; re-arms the stack's timer. */
  flush(conn: Connection): void;
  /** The socket no longer needs the stack to keep the process alive (`unref`), or does again. */
  setRef(socket: TcpSocket, ref: boolean): void;
  /** The socket is finished with its connection. */
  release(socket: TcpSocket): void;
}

const READ_CHUNK = 64 * 1024;

/**
 * A TCP connection as a `stream.Duplex` that behaves like `net.Socket`: `connect`/`ready`,
 * `data`, `end`, `close(hadError)`, `error` with Node's codes, `timeout`; writes queue while
 * connecting; `allowHalfOpen` is false unless asked; `setNoDelay`, `setKeepAlive`,
 * `setTimeout` return `this`. Backpressure both ways: the receive window follows what is read,
 * and `write()` returns false while the send buffer is full. A socket connecting by name exists
 * before its connection: the stack `attach`es one once the name is resolved; until then
 * writes wait (as Writable buffers them) and the address getters are undefined, as net's.
 */
export class TcpSocket extends Duplex {
  /** Octets received and read by the application. */
  bytesRead = 0;
  private written = 0;
  private connectingValue = true;
  private reading = false;
  private eofPending = false;
  private pendingWrite: { data: Uint8Array; callback: (err?: Error | null) => void } | undefined;
  private idleMs = 0;
  private idleTimer: TimerHandle | undefined;
  private refed = true;
  private connValue: Connection | undefined;
  /** Settings made before `attach`, applied to the connection then. */
  private early: { noDelay?: boolean; keepAlive?: [boolean, number]; userTimeout?: number | undefined } = {};
  /** `_final` called before `attach`. */
  private pendingFinal: ((error?: Error | null) => void) | undefined;

  constructor(
    private readonly host: SocketHost,
    conn: Connection | undefined,
    options: { allowHalfOpen?: boolean; passive?: boolean } = {},
  ) {
    super({ allowHalfOpen: options.allowHalfOpen ?? false, emitClose: false, decodeStrings: true });
    this.connValue = conn;
    if (options.passive) this.connectingValue = false;
  }

  /** The connection; throws while a connect by name is still resolving. */
  get conn(): Connection {
    if (!this.connValue) throw new TcpError('ENETUNREACH', 'the socket is not connected yet', 'connect');
    return this.connValue;
  }

  /** The connection, or undefined before `attach`. */
  get connection(): Connection | undefined {
    return this.connValue;
  }

  /** @internal Gives a socket created before its connection (connect by name) its connection. */
  attach(conn: Connection): void {
    if (this.connValue) throw new RangeError('the socket already has a connection');
    this.connValue = conn;
    const now = this.host.now();
    const e = this.early;
    if (e.noDelay !== undefined) conn.tcb.setNoDelay(e.noDelay, now);
    if (e.keepAlive) this.setKeepAlive(...e.keepAlive);
    if ('userTimeout' in e) conn.tcb.setUserTimeout(e.userTimeout);
    this.early = {};
    this.host.flush(conn);
    this.retryWrite();
    const final = this.pendingFinal;
    this.pendingFinal = undefined;
    if (final) this._final(final);
  }

  // ---- net.Socket's properties ----------------------------------------------------------

  get connecting(): boolean {
    return this.connectingValue;
  }

  get pending(): boolean {
    return this.connectingValue;
  }

  get readyState(): 'opening' | 'open' | 'readOnly' | 'writeOnly' | 'closed' {
    if (this.connectingValue) return 'opening';
    if (this.destroyed) return 'closed';
    if (this.readable && this.writable) return 'open';
    if (this.readable) return 'readOnly';
    if (this.writable) return 'writeOnly';
    return 'closed';
  }

  get bytesWritten(): number {
    return this.written;
  }

  get remoteAddress(): string | undefined {
    return this.connValue && formatIpv4(this.connValue.remoteAddress);
  }

  get remotePort(): number | undefined {
    return this.connValue?.remotePort;
  }

  get remoteFamily(): 'IPv4' {
    return 'IPv4';
  }

  get localAddress(): string | undefined {
    return this.connValue && formatIpv4(this.connValue.localAddress);
  }

  get localPort(): number | undefined {
    return this.connValue?.localPort;
  }

  get localFamily(): 'IPv4' {
    return 'IPv4';
  }

  /** Our address and port; `{}` before the connection exists, as net.Socket's. */
  address(): { address: string; family: 'IPv4'; port: number } | Record<string, never> {
    const c = this.connValue;
    return c ? { address: formatIpv4(c.localAddress), family: 'IPv4', port: c.localPort } : {};
  }

  setNoDelay(noDelay = true): this {
    const c = this.connValue;
    if (!c) {
      this.early.noDelay = noDelay;
      return this;
    }
    c.tcb.setNoDelay(noDelay, this.host.now());
    this.host.flush(c);
    return this;
  }

  setKeepAlive(enable = false, initialDelay = 0): this {
    const c = this.connValue;
    if (!c) {
      this.early.keepAlive = [enable, initialDelay];
      return this;
    }
    const now = this.host.now();
    c.tcb.setKeepalive(enable ? { idleMs: initialDelay > 0 ? initialDelay : 7_200_000 } : undefined, now);
    this.host.flush(c);
    return this;
  }

  /** Idle timeout: `timeout` is emitted after `ms` without activity (the socket stays open). */
  setTimeout(ms: number, callback?: () => void): this {
    this.idleMs = ms;
    if (callback) {
      if (ms === 0) this.off('timeout', callback);
      else this.once('timeout', callback);
    }
    this.touch();
    return this;
  }

  /** RFC 5482 user timeout: give up when sent data stays unacknowledged this long. */
  setUserTimeout(ms: number | undefined): this {
    if (this.connValue) this.connValue.tcb.setUserTimeout(ms);
    else this.early.userTimeout = ms;
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

  /** @internal */
  onEvent(ev: TcbEvent): void {
    switch (ev.type) {
      case 'established':
        this.connectingValue = false;
        this.touch();
        this.emit('connect');
        this.emit('ready');
        break;
      case 'readable':
        this.touch();
        if (this.reading) this.pull();
        break;
      case 'writable':
        this.touch();
        this.retryWrite();
        break;
      case 'eof':
        this.eofPending = true;
        if (this.reading) this.pull();
        break;
      case 'closed':
        this.clearIdle();
        if (ev.error) {
          this.destroy(
            new TcpError(ev.error, ev.message ?? ev.error, this.connectingValue ? 'connect' : 'read'),
          );
        } else if (this.pendingWrite) {
          const w = this.pendingWrite;
          this.pendingWrite = undefined;
          w.callback(new TcpError('EPIPE', 'the connection closed before the data could be sent', 'write'));
        }
        break;
    }
  }

  // ---- stream.Duplex --------------------------------------------------------------------

  override _read(): void {
    this.reading = true;
    this.pull();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (!this.connValue) {
      // Connecting by name: held until `attach` (later writes wait in the Writable buffer).
      this.pendingWrite = { data: chunk, callback };
      return;
    }
    const state = this.connValue.tcb.state;
    if (state === 'closed' || state === 'time-wait' || state === 'last-ack' || state === 'closing') {
      callback(new TcpError('EPIPE', 'the connection is closed for writing', 'write'));
      return;
    }
    this.pendingWrite = { data: chunk, callback };
    this.retryWrite();
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    this._write(Buffer.concat(chunks.map((c) => c.chunk)), 'latin1', callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    const c = this.connValue;
    if (!c) {
      this.pendingFinal = callback;
      return;
    }
    c.tcb.shutdown(this.host.now());
    this.host.flush(c);
    callback();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.clearIdle();
    const c = this.connValue;
    const tcb = c?.tcb;
    const now = this.host.now();
    if (c && tcb && tcb.state !== 'closed' && tcb.state !== 'time-wait') {
      // Like close(2): unread data or an error means RST; otherwise the FIN goes out and the
      // connection finishes in the background (RFC 9293 3.10.4).
      if (err || tcb.readableLength > 0 || tcb.state === 'syn-sent' || tcb.state === 'syn-received')
        tcb.abort(now);
      else tcb.shutdown(now);
      this.host.flush(c);
    }
    this.pendingFinal = undefined;
    if (this.pendingWrite) {
      const w = this.pendingWrite;
      this.pendingWrite = undefined;
      w.callback(err ?? new TcpError('EPIPE', 'the socket was destroyed', 'write'));
    }
    this.host.release(this);
    callback(err);
    process.nextTick(() => this.emit('close', err !== null && err !== undefined));
  }

  private pull(): void {
    if (!this.connValue) return;
    const tcb = this.connValue.tcb;
    const now = this.host.now();
    let any = false;
    while (this.reading) {
      const chunks = tcb.read(READ_CHUNK, now);
      if (chunks.length === 0) break;
      any = true;
      for (const c of chunks) {
        this.bytesRead += c.length;
        if (!this.push(c)) this.reading = false;
      }
    }
    if (any) this.host.flush(this.connValue); // a window update may be due
    if (this.eofPending && tcb.readableLength === 0) {
      this.eofPending = false;
      this.push(null);
    }
  }

  private retryWrite(): void {
    const w = this.pendingWrite;
    const c = this.connValue;
    if (!w || !c) return;
    const n = c.tcb.write(w.data, this.host.now());
    this.written += n;
    if (n > 0) this.host.flush(c);
    if (n === w.data.length) {
      this.pendingWrite = undefined;
      this.touch();
      w.callback();
    } else {
      w.data = w.data.subarray(n);
    }
  }

  private touch(): void {
    if (this.idleMs <= 0 || this.destroyed) {
      this.clearIdle();
      return;
    }
    this.clearIdle();
    this.idleTimer = this.host.setTimer(() => {
      this.idleTimer = undefined;
      this.emit('timeout');
    }, this.idleMs);
    if (!this.refed) this.idleTimer.unref?.();
  }

  private clearIdle(): void {
    if (this.idleTimer) this.host.clearTimer(this.idleTimer);
    this.idleTimer = undefined;
  }
}
