import { CellstackError } from '../util/errors.js';
import { type AlertLevelName, type AlertName, alertName } from './alerts.js';

/**
 * OpenSSL files the alerts of SSL 3.0 under `sslv3 alert ...` and the ones TLS added under
 * `tlsv1 alert ...`; Node turns that reason into the error code (`ERR_SSL_SSLV3_ALERT_
 * HANDSHAKE_FAILURE`, `ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION`). We use the same codes for
 * alerts we receive, so code written for node:tls understands ours.
 */
const SSLV3_ALERTS = new Set<string>([
  'close_notify',
  'unexpected_message',
  'bad_record_mac',
  'decompression_failure',
  'handshake_failure',
  'no_certificate',
  'bad_certificate',
  'unsupported_certificate',
  'certificate_revoked',
  'certificate_expired',
  'certificate_unknown',
  'illegal_parameter',
]);

function receivedCode(name: string): string {
  const family = SSLV3_ALERTS.has(name) ? 'SSLV3' : name === 'certificate_required' ? 'TLSV13' : 'TLSV1';
  return `ERR_SSL_${family}_ALERT_${name.toUpperCase()}`;
}

/**
 * A TLS alert (RFC 5246 7.2): one the peer sent us (`sent: false`), or one we sent because the
 * peer broke the protocol (`sent: true`), after which the connection is gone.
 *
 * `code`: for a received alert, Node's code for it (`ERR_SSL_SSLV3_ALERT_BAD_RECORD_MAC`,
 * `ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION`...); for a sent alert, `ERR_SSL_` and the reason in
 * OpenSSL's words where there is a close one (`ERR_SSL_WRONG_VERSION_NUMBER`,
 * `ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC`, `ERR_SSL_DIGEST_CHECK_FAILED` for a bad
 * Finished, `ERR_SSL_BAD_SIGNATURE`, `ERR_SSL_WRONG_CIPHER_RETURNED`...), otherwise
 * `ERR_SSL_` and the alert's name (`ERR_SSL_DECODE_ERROR`). `alert` is always the name.
 */
export class TlsAlert extends CellstackError {
  readonly alert: AlertName | `unknown_${number}`;
  readonly level: AlertLevelName;
  /** True when we sent this alert to the peer; false when the peer sent it to us. */
  readonly sent: boolean;

  constructor(
    alert: AlertName | number,
    options: { sent: boolean; level?: AlertLevelName; reason?: string; detail?: string; cause?: unknown },
  ) {
    const name = typeof alert === 'number' ? alertName(alert) : alert;
    const code = options.sent ? `ERR_SSL_${(options.reason ?? name).toUpperCase()}` : receivedCode(name);
    const who = options.sent ? 'sent' : 'received';
    const detail = options.detail ? `: ${options.detail}` : '';
    super(code, `TLS alert ${name} ${who}${detail}`, options.cause ? { cause: options.cause } : undefined);
    this.name = 'TlsAlert';
    this.alert = name;
    this.level = options.level ?? 'fatal';
    this.sent = options.sent;
  }
}

/** Alert helper for the core: throw `fail('decode_error', 'why')` where the peer erred. */
export function fail(alert: AlertName, detail: string, reason?: string): TlsAlert {
  return new TlsAlert(alert, { sent: true, detail, ...(reason ? { reason } : {}) });
}

/**
 * Errors that are not alerts, with Node's codes where Node has one:
 * ERR_TLS_INVALID_PROTOCOL_VERSION (minVersion/maxVersion other than TLSv1.2),
 * ERR_INVALID_ARG_VALUE (a bad option), ERR_TLS_HANDSHAKE_TIMEOUT, ECONNRESET (the transport
 * ended before the handshake finished, as node:tls says it), ERR_TLS_NO_CREDENTIALS (cert
 * without key), ERR_SSL_UNSUPPORTED_CIPHER (a `ciphers` list naming nothing we implement),
 * ERR_STREAM_WRITE_AFTER_END.
 */
export type TlsErrorCode =
  | 'ERR_TLS_INVALID_PROTOCOL_VERSION'
  | 'ERR_INVALID_ARG_VALUE'
  | 'ERR_TLS_HANDSHAKE_TIMEOUT'
  | 'ECONNRESET'
  | 'ERR_TLS_NO_CREDENTIALS'
  | 'ERR_SSL_UNSUPPORTED_CIPHER'
  | 'ERR_STREAM_WRITE_AFTER_END';

export class TlsError extends CellstackError {
  declare readonly code: TlsErrorCode;

  constructor(code: TlsErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'TlsError';
  }
}
