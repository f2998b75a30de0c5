import type { KeyObject } from 'node:crypto';
import { Duplex } from 'node:stream';
import { type Clock, wallClock } from '../util/clock.js';
import { DeadlineTimer } from '../util/deadline-timer.js';
import { createLogger } from '../util/log.js';
import type { CipherSuite } from './cipher-suites.js';
import type { HandshakeResult, TlsClientCore, TlsClientEvent, TlsCoreStats } from './client-core.js';
import { TlsError } from './errors.js';

const log = createLogger('tls');

/** `getCipher()`'s answer, as node:tls gives it. */
export interface CipherInfo {
  name: string;
  standardName: string;
  version: 'TLSv1.2';
}

/** The transport: any Duplex (our TcpSocket, a net.Socket), with net.Socket's tuning methods if it has them. */
export type Transport = Duplex & {
  setNoDelay?: (noDelay?: boolean) => unknown;
  setKeepAlive?: (enable?: boolean, initialDelay?: number) => unknown;
  setTimeout?: (ms: number, callback?: () => void) => unknown;
};

/** The peer certificate as the shell reports it (shaped like node's tls.DetailedPeerCertificate by the x509 module). */
export type PeerCertificateLike = object;

/** What the shell learns about the server's certificate, filled in by connect()'s verifier. */
export interface PeerVerification {
  authorized: boolean;
  authorizationError: string | undefined;
  peerCertificate: PeerCertificateLike | undefined;
}

/** `TlsSocket.stats()`: the core's counters (records, octets with headers, alerts) since the handshake began. */
export type TlsSocketStats = TlsCoreStats;

export interface TlsSocketOptions {
  allowHalfOpen?: boolean;
  /** Time for the core (session stamps, the handshake timeout) and its timer; default `wallClock`. */
  clock?: Clock;
  /** Describes a chain for getPeerCertificate (used after resumption, when no verification ran). */
  describeChain?: (chain: Buffer[]) => PeerVerification;
}

/**
 * A TLS 1.2 client connection as a `stream.Duplex`, shaped like `tls.TLSSocket`: it drives a
 * `TlsClientCore` over a transport Duplex. Events: `secureConnect`, `session`, `data`, `end`,
 * `close`, `error` (TlsAlert, TlsError, or the certificate check's error). Writes made before
 * the handshake ends wait for it. `end()` sends close_notify, then ends the transport; the
 * server's close_notify (or the transport's end) ends the readable side. With `allowHalfOpen`
 * false (the default, as in node:tls) the end of the readable side also ends ours.
 * Backpressure both ways: the transport is paused while our readable buffer is full, and
 * `write()` waits for the transport's `drain`.
 */
export class TlsSocket extends Duplex {
  readonly encrypted = true as const;
  authorized = false;
  /** The certificate check's error code when `authorized` is false (undefined otherwise). */
  authorizationError: string | undefined = undefined;
  /** The ALPN protocol agreed: false when none, null before the handshake (as node:tls). */
  alpnProtocol: string | false | null = null;
  /** @internal the certificate details, set by the verifier. */
  peer: PeerVerification | undefined;
  private result: HandshakeResult | undefined;
  private session: Buffer | undefined;
  private secure = false;
  private waitingConnect: Array<() => void> = [];
  private waitingDrain: Array<() => void> = [];
  private readonly clock: Clock;
  private readonly timer: DeadlineTimer;
  private transportEnded = false;
  private fatal = false;

  constructor(
    readonly transport: Transport,
    private readonly core: TlsClientCore,
    private readonly options: TlsSocketOptions = {},
  ) {
    super({ allowHalfOpen: options.allowHalfOpen ?? false, decodeStrings: true });
    this.clock = options.clock ?? wallClock;
    this.timer = new DeadlineTimer(
      this.clock,
      () => {
        this.core.tick(this.clock.now());
        this.pump();
      },
      true,
    );
    transport.on('data', this.onTransportData);
    transport.on('end', this.onTransportEnd);
    transport.on('error', this.onTransportError);
    transport.on('close', this.onTransportClose);
    transport.on('drain', this.onDrain);
  }

  /** @internal Sends the ClientHello (connect() calls it once the transport is up). */
  startHandshake(): void {
    this.core.start(this.clock.now());
    this.pump();
  }

  // ---- tls.TLSSocket's methods ----------------------------------------------------------

  getProtocol(): 'TLSv1.2' | null {
    return this.secure ? 'TLSv1.2' : null;
  }

  getCipher(): CipherInfo | undefined {
    const s: CipherSuite | undefined = this.result?.suite;
    return s && { name: s.name, standardName: s.standardName, version: 'TLSv1.2' };
  }

  /** The serialized session (for `connect({ session })`), once there is one. */
  getSession(): Buffer | undefined {
    return this.session;
  }

  isSessionReused(): boolean {
    return this.result?.resumed ?? false;
  }

  /** The server's certificate, as the x509 module describes it; `{}` when there is none (as node:tls). */
  getPeerCertificate(detailed = false): object {
    const cert = this.peer?.peerCertificate as
      | (Record<string, unknown> & { issuerCertificate?: unknown })
      | undefined;
    if (!cert) return {};
    if (detailed) return cert;
    const { issuerCertificate: _issuer, ...rest } = cert;
    return rest;
  }

  /** The server's chain as received, DER, leaf first. */
  getPeerChain(): Buffer[] {
    return this.result?.peerChain ?? [];
  }

  /**
   * The connection's counters: records in and out, octets in and out (record headers
   * included), alerts sent and received. A snapshot; also readable after the socket closed.
   */
  stats(): TlsSocketStats {
    return { ...this.core.stats };
  }

  /** Details of the handshake (suite, EMS, EtM, resumption). */
  getHandshakeResult(): HandshakeResult | undefined {
    return this.result;
  }

  setNoDelay(noDelay = true): this {
    this.transport.setNoDelay?.(noDelay);
    return this;
  }

  setKeepAlive(enable = false, initialDelay = 0): this {
    this.transport.setKeepAlive?.(enable, initialDelay);
    return this;
  }

  setTimeout(ms: number, callback?: () => void): this {
    if (this.transport.setTimeout) {
      this.transport.setTimeout(ms);
      this.transport.removeListener('timeout', this.onTimeout);
      if (ms > 0) this.transport.on('timeout', this.onTimeout);
    }
    if (callback) {
      if (ms === 0) this.off('timeout', callback);
      else this.once('timeout', callback);
    }
    return this;
  }

  // ---- transport ------------------------------------------------------------------------

  private readonly onTimeout = () => this.emit('timeout');

  private readonly onTransportData = (chunk: Buffer | string) => {
    this.core.input(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk, this.clock.now());
    this.pump();
  };

  private readonly onTransportEnd = () => {
    this.transportEnded = true;
    // An end without close_notify (a truncation) ends the stream too, as node:tls does.
    this.endReadable();
  };

  /**
   * The transport ended or closed: mid-handshake that is node:tls's ECONNRESET; afterwards our
   * readable side ends. False when the socket is (now) destroyed.
   */
  private endReadable(): boolean {
    if (this.destroyed) return false;
    if (!this.secure) {
      // As node:tls says it when the peer hangs up mid-handshake.
      this.destroy(
        new TlsError(
          'ECONNRESET',
          'Client network socket disconnected before secure TLS connection was established',
        ),
      );
      return false;
    }
    this.push(null);
    return true;
  }

  private readonly onTransportError = (err: Error) => {
    this.destroy(err);
  };

  private readonly onTransportClose = () => {
    if (this.endReadable() && !this.writableFinished) this.destroy();
  };

  private readonly onDrain = () => {
    const waiting = this.waitingDrain;
    this.waitingDrain = [];
    for (const w of waiting) w();
  };

  /**
   * Writes the core's records to the transport and handles its events. Returns false when the
   * transport is full. Each write's records are one Buffer from the record layer, handed to
   * the transport as it is (nobody changes it afterwards); only several queued at once (a
   * handshake flight, data and an alert) are joined, to leave in one transport write.
   */
  private pump(): boolean {
    let ok = true;
    const out = this.core.takeOutput();
    if (out.length > 0 && !this.transport.destroyed && !this.transport.writableEnded) {
      ok = this.transport.write(out.length === 1 ? out[0]! : Buffer.concat(out));
    }
    for (const ev of this.core.takeEvents()) this.onCoreEvent(ev);
    if (!this.destroyed) this.timer.arm(this.core.nextDeadline());
    return ok;
  }

  private onCoreEvent(ev: TlsClientEvent): void {
    switch (ev.type) {
      case 'connected':
        this.result = ev.result;
        this.secure = true;
        this.alpnProtocol = ev.result.alpnProtocol ?? false;
        if (ev.result.resumed && this.options.describeChain) {
          this.peer = this.options.describeChain(ev.result.peerChain);
          this.authorized = this.peer.authorized;
          this.authorizationError = this.peer.authorizationError;
        }
        log(
          'secure: %s%s alpn=%s',
          ev.result.suite.name,
          ev.result.resumed ? ' (resumed)' : '',
          ev.result.alpnProtocol,
        );
        this.emit('secureConnect');
        for (const w of this.waitingConnect.splice(0)) w();
        break;
      case 'session':
        this.session = ev.session;
        this.emit('session', ev.session);
        break;
      case 'data':
        if (!this.push(ev.data)) this.transport.pause();
        break;
      case 'end':
        this.push(null);
        break;
      case 'warning':
        log('warning alert %s %s', ev.alert, ev.sent ? 'sent' : 'received');
        break;
      case 'error':
        this.fatal = true;
        log('error: %s', ev.error.message);
        this.destroy(ev.error);
        break;
    }
  }

  // ---- stream.Duplex --------------------------------------------------------------------

  override _read(): void {
    if (!this.transportEnded) this.transport.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.writeData(chunk, callback);
  }

  /**
   * Writes queued while the transport was full (or the handshake ran) arrive together: they
   * fill records up to 2^14 octets as one stream, with no copy of them. A lone write goes out
   * at once in `_write`; nothing here waits for more (no Nagle-like delay).
   */
  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    this.writeData(
      chunks.map((c) => c.chunk),
      callback,
    );
  }

  private writeData(data: Buffer | Buffer[], callback: (error?: Error | null) => void): void {
    if (!this.secure) {
      this.waitingConnect.push(() => this.writeData(data, callback));
      return;
    }
    if (this.core.closed) {
      callback(new TlsError('ERR_STREAM_WRITE_AFTER_END', 'the TLS connection is closed'));
      return;
    }
    try {
      this.core.write(data);
    } catch (err) {
      callback(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    if (this.pump()) callback();
    else this.waitingDrain.push(() => callback());
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (!this.secure) {
      this.waitingConnect.push(() => this._final(callback));
      return;
    }
    this.core.close();
    this.pump();
    if (!this.transport.writableEnded) this.transport.end();
    callback();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.core.destroy();
    this.timer.clear();
    this.waitingConnect = [];
    const t = this.transport;
    t.off('data', this.onTransportData);
    t.off('end', this.onTransportEnd);
    t.off('drain', this.onDrain);
    t.off('close', this.onTransportClose);
    t.off('timeout', this.onTimeout);
    // Keep listening for transport errors: one after we left would otherwise be unhandled.
    t.on('error', () => {});
    t.off('error', this.onTransportError);
    for (const w of this.waitingDrain.splice(0)) w();
    if (this.fatal && !t.destroyed && !t.writableEnded) {
      // Let the alert we just wrote leave before the transport goes.
      t.end();
      const timer = setTimeout(() => t.destroy(), 1000);
      timer.unref();
      t.once('close', () => clearTimeout(timer));
    } else {
      t.destroy();
    }
    callback(err);
  }
}

export type { KeyObject };
