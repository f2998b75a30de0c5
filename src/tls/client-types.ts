import type { KeyObject } from 'node:crypto';
import type { AlertName } from './alerts.js';
import type { CipherSuite } from './cipher-suites.js';
import type { NamedGroupName } from './constants.js';
import type { KeyShare } from './key-exchange.js';

/** Our certificate and key for client authentication (RFC 5246 7.4.6). */
export interface ClientCredentials {
  /** DER, leaf first. */
  chain: Uint8Array[];
  key: KeyObject;
  keyType: 'rsa' | 'ec';
  namedCurve?: 'P-256' | 'P-384' | 'P-521' | undefined;
}

/** What a certificate check decides when it rejects the server: the alert to send, and the error to report. */
export interface CertificateRejection {
  alert: AlertName;
  error: Error;
}

/** The handshake timeout when none is given: a minute, for slow cellular links (see README). */
export const DEFAULT_HANDSHAKE_TIMEOUT = 60_000;

export interface TlsClientConfig {
  /** Host name for SNI (RFC 6066); IP literals are not sent. Also checked against a resumed session. */
  servername?: string | undefined;
  /** ALPN protocols to offer, in preference order (RFC 7301). */
  alpnProtocols?: readonly string[] | undefined;
  /** Suites to offer, in order. Default: the AEAD suites (see `selectSuites`). */
  cipherSuites?: readonly CipherSuite[] | undefined;
  /** Abort when the server does not do RFC 7627's extended master secret. Default true. */
  requireExtendedMasterSecret?: boolean | undefined;
  /** A session from an earlier connection (`session` event) to resume. */
  session?: Uint8Array | undefined;
  /** Ask for and accept session tickets (RFC 5077). Default true. */
  sessionTickets?: boolean | undefined;
  credentials?: ClientCredentials | undefined;
  /**
   * Called with the server's chain (DER, leaf first) after its Certificate message; returns a
   * rejection to abort the handshake. Without it every chain is accepted (the caller checks).
   */
  verifyPeer?: ((chain: Buffer[]) => CertificateRejection | undefined) | undefined;
  /**
   * Milliseconds from `start()` for the handshake to finish; then the core closes with
   * TlsError `ERR_TLS_HANDSHAKE_TIMEOUT` and sends nothing. 0 disables it. Default 60 000.
   */
  handshakeTimeout?: number | undefined;
  /** Randomness (ClientHello.random, premaster, CBC IVs). Default crypto.randomBytes. */
  random?: ((n: number) => Uint8Array) | undefined;
  /** Makes our ECDHE share for a group. Default: a fresh key pair. Injected by known-answer tests. */
  keyShare?: ((group: NamedGroupName) => KeyShare) | undefined;
  /**
   * Known-answer tests only: send these ClientHello handshake-message octets (type, length,
   * body) instead of our own, so a recorded transcript can be replayed. The random is taken
   * from them; the offered suites and extensions are still ours.
   */
  recordedClientHello?: Uint8Array | undefined;
}

/** The outcome of a finished handshake. */
export interface HandshakeResult {
  suite: CipherSuite;
  alpnProtocol: string | undefined;
  resumed: boolean;
  /** The server's chain, DER, leaf first (from the session when resumed). */
  peerChain: Buffer[];
  extendedMasterSecret: boolean;
  encryptThenMac: boolean;
  secureRenegotiation: boolean;
  /** Whether the server asked for our certificate, and whether we sent one. */
  certificateRequested: boolean;
  certificateSent: boolean;
}

export type TlsClientEvent =
  /** The handshake is over: application data may flow. */
  | { type: 'connected'; result: HandshakeResult }
  /** A resumable session (serialized): after a full handshake, or a resumption that brought a new ticket. */
  | { type: 'session'; session: Buffer }
  | { type: 'data'; data: Buffer }
  /** The server sent close_notify: it will send nothing more (RFC 5246 7.2.1). */
  | { type: 'end' }
  /** A warning alert arrived and was tolerated (or we sent one: `sent`). */
  | { type: 'warning'; alert: string; sent: boolean }
  /** Fatal: a TlsAlert (sent or received), a TlsError (the handshake timed out), or the rejection's error. The core is closed. */
  | { type: 'error'; error: Error };

/** The core's counters, from its start (`TlsSocket.stats()` returns a copy). */
export interface TlsCoreStats {
  /** Records received and unprotected (one that fails to decrypt is not counted). */
  recordsIn: number;
  /** Records queued for sending. */
  recordsOut: number;
  /** Octets from the transport, record headers included. */
  bytesIn: number;
  /** Octets of the records queued for sending, headers included. */
  bytesOut: number;
  /** Alerts we sent (warnings and fatal, close_notify included). */
  alertsSent: number;
  /** Alerts the server sent (close_notify included). */
  alertsReceived: number;
}
