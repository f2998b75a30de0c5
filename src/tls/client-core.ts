import { AlertDescription, AlertLevel, type AlertName } from './alerts.js';
import type { CipherSuite } from './cipher-suites.js';
import { ClientContext } from './client-context.js';
import { sendClientHello } from './client-hello.js';
import {
  DEFAULT_HANDSHAKE_TIMEOUT,
  type TlsClientConfig,
  type TlsClientEvent,
  type TlsCoreStats,
} from './client-types.js';
import { ContentType, HandshakeType, Limits } from './constants.js';
import { fail, TlsAlert, TlsError } from './errors.js';
import { onChangeCipherSpec, onFinished } from './finished.js';
import { type HandshakeMessage, HandshakeReader } from './handshake.js';
import { onNewSessionTicket } from './resumption.js';
import {
  onCertificate,
  onCertificateRequest,
  onServerHello,
  onServerHelloDone,
  onServerKeyExchange,
} from './server-flight.js';

export type {
  CertificateRejection,
  ClientCredentials,
  HandshakeResult,
  TlsClientConfig,
  TlsClientEvent,
  TlsCoreStats,
} from './client-types.js';

type Handler = (ctx: ClientContext, m: HandshakeMessage) => void;

/**
 * The TLS 1.2 client (RFC 5246) as a sans-I/O core: `start()` queues the ClientHello,
 * `input()` takes bytes from the transport, `write()` application data, `close()` sends
 * close_notify; the shell collects `takeOutput()` (records to send) and `takeEvents()`, and
 * calls `tick()` at `nextDeadline()` (the handshake timeout). No clock is read: `now` (ms) is
 * passed in; it stamps and ages sessions and times the handshake.
 *
 * This class is the façade: records, alerts, application data and the handshake's dispatch
 * (RFC 5246 7.3's figures) live here; the steps live in client-hello.ts, server-flight.ts,
 * client-flight.ts, finished.ts and resumption.ts, over the shared `ClientContext`.
 */
export class TlsClientCore {
  private readonly ctx: ClientContext;
  private readonly handshake = new HandshakeReader();
  private readonly handshakeTimeout: number;
  private startedAt = 0;
  private writeClosed = false;
  private readClosed = false;
  private warnings = 0;
  private emptyRecords = 0;
  private closeNotifySent = false;

  constructor(config: TlsClientConfig = {}) {
    this.ctx = new ClientContext(config);
    this.handshakeTimeout = config.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
    if (!(this.handshakeTimeout >= 0))
      throw new RangeError('handshakeTimeout must be a number of ms, 0 or more');
  }

  /** Counters since `start()` (a live object; copy it to keep a snapshot). */
  get stats(): TlsCoreStats {
    return this.ctx.stats;
  }

  /** True once the handshake is over and until the connection closes. */
  get connected(): boolean {
    return this.ctx.state === 'connected';
  }

  get closed(): boolean {
    return this.ctx.state === 'closed';
  }

  /** The suite ServerHello chose (undefined before). */
  get cipherSuite(): CipherSuite | undefined {
    return this.ctx.suite;
  }

  /** Records to send, in order. */
  takeOutput(): Buffer[] {
    const out = this.ctx.output;
    this.ctx.output = [];
    return out;
  }

  takeEvents(): TlsClientEvent[] {
    const ev = this.ctx.events;
    this.ctx.events = [];
    return ev;
  }

  /** Queues the ClientHello (RFC 5246 7.4.1.2); the handshake timeout runs from here. */
  start(now: number): void {
    if (this.ctx.state !== 'start') throw new RangeError('start() called twice');
    this.ctx.now = now;
    this.startedAt = now;
    this.guard(() => sendClientHello(this.ctx));
  }

  /** When `tick()` must next be called (ms): the handshake's deadline while it runs, else undefined. */
  nextDeadline(): number | undefined {
    const s = this.ctx.state;
    if (this.handshakeTimeout === 0 || s === 'start' || s === 'connected' || s === 'closed') return undefined;
    return this.startedAt + this.handshakeTimeout;
  }

  /**
   * Time passes: when the handshake has not finished by its deadline, the core closes with
   * TlsError `ERR_TLS_HANDSHAKE_TIMEOUT`. No alert is sent (the server is silent, and node's
   * tls.Server sends none on its handshakeTimeout either).
   */
  tick(now: number): void {
    this.ctx.now = now;
    const deadline = this.nextDeadline();
    if (deadline === undefined || now < deadline) return;
    this.ctx.terminate(
      new TlsError('ERR_TLS_HANDSHAKE_TIMEOUT', `TLS handshake timeout (${this.handshakeTimeout} ms)`),
    );
  }

  /** Bytes from the transport. */
  input(bytes: Uint8Array, now: number): void {
    const ctx = this.ctx;
    ctx.now = now;
    if (ctx.state === 'closed' || this.readClosed) return;
    ctx.stats.bytesIn += bytes.length;
    ctx.records.push(bytes);
    this.guard(() => {
      for (;;) {
        if (ctx.state === 'closed' || this.readClosed) return;
        const record = ctx.records.next();
        if (!record) return;
        ctx.stats.recordsIn++;
        this.onRecord(
          record.type,
          Buffer.from(record.fragment.buffer, record.fragment.byteOffset, record.fragment.byteLength),
        );
      }
    });
  }

  /**
   * Application data, once connected (RFC 5246 10: never before the handshake ends). Given as
   * pieces (writes coalesced by the shell), they fill records up to 2^14 octets as one stream.
   * The bytes are read now and not kept.
   */
  write(data: Uint8Array | readonly Uint8Array[]): void {
    if (this.ctx.state !== 'connected' || this.writeClosed) throw new RangeError('not connected for writing');
    let n = 0;
    if (data instanceof Uint8Array) n = data.length;
    else for (const d of data) n += d.length;
    if (n === 0) return;
    this.guard(() => this.ctx.emitRecords(ContentType.application_data, data));
  }

  /** Sends close_notify (RFC 5246 7.2.1): we write no more. Reading may go on (half-close). */
  close(): void {
    const ctx = this.ctx;
    if (this.writeClosed || ctx.state === 'closed') return;
    this.writeClosed = true;
    if (ctx.state === 'start') {
      ctx.state = 'closed';
      return;
    }
    ctx.sendAlert('close_notify', 'warning');
    this.closeNotifySent = true;
    if (ctx.state !== 'connected') ctx.state = 'closed';
  }

  /** Tears down without a word (the transport is gone). */
  destroy(): void {
    this.ctx.state = 'closed';
  }

  /** Whether we already sent close_notify. */
  get closeNotified(): boolean {
    return this.closeNotifySent;
  }

  // ---- errors -------------------------------------------------------------------------

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.abort(err);
    }
  }

  private abort(err: unknown): void {
    if (err instanceof TlsAlert) {
      this.ctx.terminate(
        err,
        err.sent && err.alert in AlertDescription ? (err.alert as AlertName) : undefined,
      );
      return;
    }
    // A bug or an unexpected library error: still a typed alert, and the peer is told.
    this.ctx.terminate(
      new TlsAlert('internal_error', {
        sent: true,
        detail: err instanceof Error ? err.message : String(err),
        cause: err,
      }),
      'internal_error',
    );
  }

  // ---- records ------------------------------------------------------------------------

  private onRecord(type: number, fragment: Buffer): void {
    const ctx = this.ctx;
    if (fragment.length === 0) {
      // Only application data may be empty (RFC 5246 6.2.1); many in a row are a DoS pattern.
      if (type !== ContentType.application_data)
        throw fail('unexpected_message', 'empty record', 'record_length_mismatch');
      if (++this.emptyRecords > Limits.emptyRecords)
        throw fail('unexpected_message', 'too many empty records', 'record_too_small');
      return;
    }
    this.emptyRecords = 0;
    if (type !== ContentType.handshake && this.handshake.partial) {
      throw fail('unexpected_message', 'record interleaved with a fragmented handshake message');
    }
    switch (type) {
      case ContentType.handshake:
        this.handshake.push(fragment);
        for (;;) {
          if (ctx.state === 'closed') return;
          const m = this.handshake.next();
          if (!m) return;
          this.onHandshake(m);
        }
      case ContentType.change_cipher_spec:
        onChangeCipherSpec(ctx, fragment);
        return;
      case ContentType.alert:
        this.onAlert(fragment);
        return;
      case ContentType.application_data:
        if (ctx.state !== 'connected')
          throw fail('unexpected_message', 'application data before the handshake ended');
        this.warnings = 0;
        // Decryption gave new memory (RecordProtection.decrypt): hand it on without a copy.
        ctx.events.push({ type: 'data', data: ctx.records.readEncrypted ? fragment : Buffer.from(fragment) });
        return;
    }
  }

  private onAlert(fragment: Buffer): void {
    const ctx = this.ctx;
    if (fragment.length !== 2) throw fail('decode_error', 'alert record is not 2 octets', 'bad_alert_record');
    const level = fragment[0]!;
    const code = fragment[1]!;
    ctx.stats.alertsReceived++;
    if (code === AlertDescription.close_notify) {
      this.readClosed = true;
      ctx.events.push({ type: 'end' });
      if (ctx.state !== 'connected') {
        ctx.terminate(
          new TlsAlert('close_notify', {
            sent: false,
            level: 'warning',
            detail: 'the server closed during the handshake',
          }),
        );
      }
      return;
    }
    if (level === AlertLevel.warning && code !== AlertDescription.handshake_failure) {
      // Warnings (user_canceled, no_renegotiation, unrecognized_name...) are tolerated, a few.
      if (++this.warnings > Limits.warningAlerts)
        throw fail('unexpected_message', 'too many warning alerts', 'too_many_warn_alerts');
      ctx.events.push({
        type: 'warning',
        alert: new TlsAlert(code, { sent: false, level: 'warning' }).alert,
        sent: false,
      });
      return;
    }
    ctx.terminate(
      new TlsAlert(code, { sent: false, level: level === AlertLevel.warning ? 'warning' : 'fatal' }),
    );
  }

  // ---- handshake ----------------------------------------------------------------------

  private onHandshake(m: HandshakeMessage): void {
    if (m.type === HandshakeType.hello_request) {
      this.onHelloRequest(m);
      return;
    }
    const handler = this.handlerFor(m.type);
    // Anything else is out of order; nothing at all may come once connected (TLS 1.2 has
    // no post-handshake messages; tickets come before the server's ChangeCipherSpec).
    if (!handler) throw fail('unexpected_message', `handshake message ${m.type} in state ${this.ctx.state}`);
    handler(this.ctx, m);
  }

  /** The handler of a message type in the current state (RFC 5246 7.3 figure 1 and 2), if it may come now. */
  private handlerFor(type: number): Handler | undefined {
    const T = HandshakeType;
    switch (this.ctx.state) {
      case 'wait_server_hello':
        return type === T.server_hello ? onServerHello : undefined;
      case 'wait_certificate':
        return type === T.certificate ? onCertificate : undefined;
      case 'wait_server_key_exchange':
        return type === T.server_key_exchange ? onServerKeyExchange : undefined;
      case 'wait_certificate_request_or_done':
        if (type === T.certificate_request) return onCertificateRequest;
        return type === T.server_hello_done ? onServerHelloDone : undefined;
      case 'wait_server_hello_done':
        return type === T.server_hello_done ? onServerHelloDone : undefined;
      case 'wait_new_session_ticket':
        return type === T.new_session_ticket ? onNewSessionTicket : undefined;
      case 'wait_finished':
        return type === T.finished ? onFinished : undefined;
      default:
        return undefined;
    }
  }

  /**
   * HelloRequest (RFC 5246 7.4.1.1) asks us to renegotiate, which we never do. During the
   * handshake a server has no reason to send it: fatal unexpected_message (RFC 5246 allows
   * ignoring it, but the rejection matrix of issue 7 wants a typed error, and no data was
   * exchanged yet). Once connected: a no_renegotiation warning (RFC 5746 4.2, RFC 5246 7.2.2),
   * and the connection goes on; the server decides whether to close. It is never hashed.
   */
  private onHelloRequest(m: HandshakeMessage): void {
    if (m.body.length !== 0) throw fail('decode_error', 'HelloRequest is not empty');
    if (this.ctx.state !== 'connected')
      throw fail('unexpected_message', 'HelloRequest during the handshake', 'no_renegotiation');
    if (++this.warnings > Limits.warningAlerts)
      throw fail('unexpected_message', 'too many HelloRequests', 'no_renegotiation');
    this.ctx.sendAlert('no_renegotiation', 'warning');
    this.ctx.events.push({ type: 'warning', alert: 'no_renegotiation', sent: true });
  }
}
