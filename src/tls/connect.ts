import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import * as nodeTls from 'node:tls';
import { type Clock, wallClock } from '../util/clock.js';
import { DeadlineTimer } from '../util/deadline-timer.js';
import type { AlertName } from './alerts.js';
import { selectSuites } from './cipher-suites.js';
import { type CertificateRejection, type ClientCredentials, TlsClientCore } from './client-core.js';
import { DEFAULT_HANDSHAKE_TIMEOUT } from './client-types.js';
import { TlsError } from './errors.js';
import { type PeerVerification, TlsSocket, type Transport } from './socket.js';
import { loadClientCredentials } from './x509/credentials.js';
import type { PeerCertificate } from './x509/errors.js';
import { type VerifyServerChainResult, verifyServerChain } from './x509/verify.js';

/** Options of `connect()`, shaped like tls.connect's (the subset that makes sense here). */
export interface TlsConnectOptions {
  /** The transport: any Duplex carrying bytes to the server (a TcpSocket, a net.Socket). Required. */
  socket: Duplex;
  /** Name for SNI and the certificate check. Default: `host` unless it is an IP address. */
  servername?: string | undefined;
  /** The host the transport reaches; used for the identity check when there is no servername. */
  host?: string | undefined;
  /** Trust anchors (PEM or DER). Default: Node's bundled root certificates. */
  ca?: string | Buffer | Array<string | Buffer> | undefined;
  /** Our certificate chain (PEM), leaf first, and its key (PEM/DER), for client authentication. */
  cert?: string | Buffer | Array<string | Buffer> | undefined;
  key?: string | Buffer | undefined;
  /** A PKCS#12 bundle with our certificate and key (instead of cert/key). */
  pfx?: Buffer | undefined;
  passphrase?: string | undefined;
  /** ALPN protocols to offer, preferred first (RFC 7301), e.g. `['x-amzn-mqtt-ca']`. */
  ALPNProtocols?: ReadonlyArray<string | Uint8Array> | undefined;
  /** Abort when the server's certificate does not verify. Default true. */
  rejectUnauthorized?: boolean | undefined;
  /** Replaces the host name check, as in node:tls: return an Error to reject. */
  checkServerIdentity?: ((hostname: string, cert: PeerCertificate) => Error | undefined) | undefined;
  /** A session from `getSession()` or a `session` event, to resume. */
  session?: Buffer | undefined;
  /** Suites to offer: an OpenSSL-style list (OpenSSL or IANA names; `DEFAULT`, `CBC`). Default: the AEAD suites. */
  ciphers?: string | undefined;
  /** Offer the CBC suites after the AEAD ones (with encrypt-then-MAC, RFC 7366). Default false. */
  enableCbc?: boolean | undefined;
  /** Only 'TLSv1.2' is accepted (anything else is ERR_TLS_INVALID_PROTOCOL_VERSION). */
  minVersion?: string | undefined;
  maxVersion?: string | undefined;
  /** Abort unless the server does RFC 7627's extended master secret. Default true. */
  requireExtendedMasterSecret?: boolean | undefined;
  /** Ask for RFC 5077 session tickets. Default true. */
  sessionTickets?: boolean | undefined;
  /**
   * Milliseconds for the handshake, from this call to `secureConnect` (a transport still
   * connecting counts too); then the socket is destroyed with TlsError
   * `ERR_TLS_HANDSHAKE_TIMEOUT` and no alert is sent. 0 disables it. Default 60 000 (node:tls
   * clients have none, its servers 120 000; a minute covers a slow cellular attach and
   * retransmissions and still ends a silent server).
   */
  handshakeTimeout?: number | undefined;
  /** Time source for the handshake timeout and session stamps (tests pass a `ManualClock`). Default: wall clock. */
  clock?: Clock | undefined;
  /** Keep our side open after the server's close_notify. Default false, as node:tls. */
  allowHalfOpen?: boolean | undefined;
  /** 'own' (default): this package's TLS 1.2 client; 'node': node:tls over the same socket (a reference engine). */
  engine?: 'own' | 'node' | undefined;
}

/** What both engines offer: the part of tls.TLSSocket callers may rely on. */
export interface SecureSocket extends Duplex {
  readonly encrypted: boolean;
  readonly authorized: boolean;
  /** The certificate error's code when not authorized (node:tls types it as Error, but sets the code string). */
  readonly authorizationError: string | Error | undefined;
  readonly alpnProtocol: string | false | null;
  getPeerCertificate(detailed?: boolean): object;
  getSession(): Buffer | undefined;
  getCipher(): { name: string; standardName: string; version: string } | undefined;
  getProtocol(): string | null;
  isSessionReused(): boolean;
  setNoDelay(noDelay?: boolean): this;
  setKeepAlive(enable?: boolean, initialDelay?: number): this;
  setTimeout(ms: number, callback?: () => void): this;
}

/** The alert a certificate error is reported with (RFC 5246 7.2.2). */
export function certificateAlert(code: string): AlertName {
  switch (code) {
    case 'CERT_HAS_EXPIRED':
    case 'CERT_NOT_YET_VALID':
      return 'certificate_expired';
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'INVALID_CA':
      return 'unknown_ca';
    case 'CERT_REVOKED':
      return 'certificate_revoked';
    case 'INVALID_PURPOSE':
    case 'UNHANDLED_CRITICAL_EXTENSION':
      return 'unsupported_certificate';
    default:
      return 'bad_certificate';
  }
}

function checkVersion(name: string, v: string | undefined): void {
  if (v !== undefined && v !== 'TLSv1.2') {
    throw new TlsError('ERR_TLS_INVALID_PROTOCOL_VERSION', `${name} ${v}: only TLSv1.2 is implemented`);
  }
}

function alpnList(list: ReadonlyArray<string | Uint8Array> | undefined): string[] {
  const out: string[] = [];
  for (const p of list ?? []) {
    const name = typeof p === 'string' ? p : Buffer.from(p).toString('latin1');
    if (name.length === 0 || name.length > 255)
      throw new TlsError('ERR_INVALID_ARG_VALUE', 'ALPN protocol names are 1 to 255 octets');
    out.push(name);
  }
  return out;
}

/**
 * Opens a TLS 1.2 connection over `options.socket`, like `tls.connect({ socket })`; `cb` is
 * called on `secureConnect`. Returns at once; the handshake runs as bytes arrive.
 */
export function connect(options: TlsConnectOptions & { engine?: 'own' }, cb?: () => void): TlsSocket;
export function connect(options: TlsConnectOptions, cb?: () => void): SecureSocket;
export function connect(options: TlsConnectOptions, cb?: () => void): SecureSocket {
  if (!options.socket) throw new TlsError('ERR_INVALID_ARG_VALUE', 'options.socket is required');
  checkVersion('minVersion', options.minVersion);
  checkVersion('maxVersion', options.maxVersion);
  const servername =
    options.servername ?? (options.host && isIP(options.host) === 0 ? options.host : undefined);
  const alpn = alpnList(options.ALPNProtocols);
  const handshakeTimeout = options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
  if (typeof handshakeTimeout !== 'number' || !(handshakeTimeout >= 0))
    throw new TlsError('ERR_INVALID_ARG_VALUE', 'handshakeTimeout must be a number of ms, 0 or more');
  if (options.engine === 'node') return connectNode(options, servername, alpn, cb);

  const suites = selectSuites(options.ciphers, options.enableCbc ?? false);
  if (suites.length === 0)
    throw new TlsError(
      'ERR_SSL_UNSUPPORTED_CIPHER',
      `no cipher suite we implement matches "${options.ciphers}"`,
    );
  const loaded = loadClientCredentials({
    cert: options.cert,
    key: options.key,
    pfx: options.pfx,
    passphrase: options.passphrase,
  });
  const credentials: ClientCredentials | undefined = loaded && {
    chain: loaded.chain,
    key: loaded.key,
    keyType: loaded.keyType,
    namedCurve: loaded.namedCurve,
  };
  const rejectUnauthorized = options.rejectUnauthorized ?? true;
  const identity = servername ?? options.host;
  const describe = (chain: Buffer[]) => {
    const r = verifyServerChain(chain, {
      ca: options.ca,
      servername: identity,
      host: options.host,
      now: (options.clock ?? wallClock).now(),
      checkServerIdentity: options.checkServerIdentity,
    });
    return r;
  };
  const holder: { socket?: TlsSocket } = {};
  const verifyPeer = (chain: Buffer[]): CertificateRejection | undefined => {
    const r = describe(chain);
    const peer = peerVerification(r);
    const s = holder.socket;
    if (s) {
      s.peer = peer;
      s.authorized = r.authorized;
      s.authorizationError = r.authorized ? undefined : r.error?.code;
    }
    if (!r.authorized && rejectUnauthorized && r.error)
      return { alert: certificateAlert(r.error.code), error: r.error };
    return undefined;
  };
  const core = new TlsClientCore({
    servername,
    alpnProtocols: alpn,
    cipherSuites: suites,
    requireExtendedMasterSecret: options.requireExtendedMasterSecret ?? true,
    session: options.session,
    sessionTickets: options.sessionTickets ?? true,
    credentials,
    verifyPeer,
    handshakeTimeout,
  });
  const socket = new TlsSocket(options.socket as Transport, core, {
    allowHalfOpen: options.allowHalfOpen ?? false,
    clock: options.clock ?? wallClock,
    // After a resumption no Certificate arrives: check the session's chain again, as node:tls
    // reports the original verification.
    describeChain: (chain) => peerVerification(describe(chain)),
  });
  holder.socket = socket;
  if (cb) socket.once('secureConnect', cb);
  socket.startHandshake();
  return socket;
}

/** What the socket keeps of a verification; the PeerCertificate is built on first access (getPeerCertificate). */
function peerVerification(r: VerifyServerChainResult): PeerVerification {
  return {
    authorized: r.authorized,
    authorizationError: r.error?.code,
    get peerCertificate() {
      return r.peerCertificate;
    },
  };
}

function connectNode(
  options: TlsConnectOptions,
  servername: string | undefined,
  alpn: string[],
  cb: (() => void) | undefined,
): SecureSocket {
  const tlsOptions: nodeTls.ConnectionOptions = {
    socket: options.socket,
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.2',
    rejectUnauthorized: options.rejectUnauthorized ?? true,
    ALPNProtocols: alpn,
  };
  if (servername !== undefined) tlsOptions.servername = servername;
  if (options.host !== undefined) tlsOptions.host = options.host;
  if (options.ca !== undefined) tlsOptions.ca = options.ca;
  if (options.cert !== undefined) tlsOptions.cert = options.cert;
  if (options.key !== undefined) tlsOptions.key = options.key;
  if (options.pfx !== undefined) tlsOptions.pfx = options.pfx;
  if (options.passphrase !== undefined) tlsOptions.passphrase = options.passphrase;
  if (options.session !== undefined) tlsOptions.session = options.session;
  if (options.ciphers !== undefined) tlsOptions.ciphers = options.ciphers;
  if (options.checkServerIdentity !== undefined) {
    const check = options.checkServerIdentity;
    tlsOptions.checkServerIdentity = (host, cert) => check(host, cert as PeerCertificate);
  }
  const s = nodeTls.connect(tlsOptions, cb);
  const timeout = options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
  if (timeout > 0) {
    // node:tls clients have no handshake timeout: the same one as our engine's, for parity.
    const clock = options.clock ?? wallClock;
    const timer = new DeadlineTimer(
      clock,
      () => s.destroy(new TlsError('ERR_TLS_HANDSHAKE_TIMEOUT', `TLS handshake timeout (${timeout} ms)`)),
      true,
    );
    timer.arm(clock.now() + timeout);
    s.once('secureConnect', () => timer.clear());
    s.once('close', () => timer.clear());
  }
  return s as unknown as SecureSocket;
}
