/**
 * Certificate and credential errors. Chain codes are the strings node:tls puts in
 * `authorizationError` / `err.code` (OpenSSL's X509_V_ERR_* names without the prefix), with
 * OpenSSL's own wording as the message, so code written against node:tls keeps working.
 */
import type { PeerCertificate as NodePeerCertificate } from 'node:tls';
import { CellstackError } from '../../util/errors.js';

/**
 * The peer certificate, shaped like node's `tls.DetailedPeerCertificate`
 * (`socket.getPeerCertificate(true)`): `issuerCertificate` links up the chain that was built,
 * and a self-issued top certificate points to itself, as in Node. Where no issuer was found the
 * property is absent (Node does the same at run time).
 */
export interface PeerCertificate extends NodePeerCertificate {
  issuerCertificate?: PeerCertificate;
}

/** Chain verification codes, as node:tls reports them. */
export type ChainErrorCode =
  | 'CERT_HAS_EXPIRED'
  | 'CERT_NOT_YET_VALID'
  | 'DEPTH_ZERO_SELF_SIGNED_CERT'
  | 'SELF_SIGNED_CERT_IN_CHAIN'
  | 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'
  | 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'
  | 'CERT_SIGNATURE_FAILURE'
  | 'KEYUSAGE_NO_CERTSIGN'
  | 'CERT_CHAIN_TOO_LONG'
  | 'INVALID_CA'
  | 'INVALID_PURPOSE'
  | 'PATH_LENGTH_EXCEEDED'
  | 'CA_KEY_TOO_SMALL'
  | 'EE_KEY_TOO_SMALL'
  | 'CA_MD_TOO_WEAK'
  | 'UNHANDLED_CRITICAL_EXTENSION'
  | 'INVALID_EXTENSION'
  | 'PERMITTED_VIOLATION'
  | 'EXCLUDED_VIOLATION'
  /** A certificate the peer sent is not a parseable X.509 certificate (ours; OpenSSL fails the handshake). */
  | 'CERT_MALFORMED'
  /** The peer sent an empty Certificate message (ours). */
  | 'CERT_MISSING';

/** Every code a `CertificateError` can carry. */
export type CertificateErrorCode = ChainErrorCode | 'ERR_TLS_CERT_ALTNAME_INVALID' | (string & {});

/** OpenSSL's X509_verify_cert_error_string() wording (OpenSSL 3.0), used as messages. */
export const CHAIN_ERROR_MESSAGES: Readonly<Record<ChainErrorCode, string>> = {
  CERT_HAS_EXPIRED: 'certificate has expired',
  CERT_NOT_YET_VALID: 'certificate is not yet valid',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed certificate in certificate chain',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'unable to get local issuer certificate',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'unable to verify the first certificate',
  CERT_SIGNATURE_FAILURE: 'certificate signature failure',
  KEYUSAGE_NO_CERTSIGN: 'key usage does not include certificate signing',
  CERT_CHAIN_TOO_LONG: 'certificate chain too long',
  INVALID_CA: 'invalid CA certificate',
  INVALID_PURPOSE: 'unsupported certificate purpose',
  PATH_LENGTH_EXCEEDED: 'path length constraint exceeded',
  CA_KEY_TOO_SMALL: 'CA certificate key too weak',
  EE_KEY_TOO_SMALL: 'EE certificate key too weak',
  CA_MD_TOO_WEAK: 'CA signature digest algorithm too weak',
  UNHANDLED_CRITICAL_EXTENSION: 'unhandled critical extension',
  INVALID_EXTENSION: 'invalid or inconsistent certificate extension',
  PERMITTED_VIOLATION: 'permitted subtree violation',
  EXCLUDED_VIOLATION: 'excluded subtree violation',
  CERT_MALFORMED: 'malformed certificate',
  CERT_MISSING: 'no peer certificate',
};

/**
 * A failed server certificate check. The message is OpenSSL's reason string, exactly as in
 * node's error; `depth` is the chain position (0 = leaf) of the certificate at fault and
 * `detail` says more where we know more (which extension, which hash, which name).
 */
export class CertificateError extends CellstackError {
  override readonly code: CertificateErrorCode;
  readonly depth: number | undefined;
  readonly detail: string | undefined;

  constructor(
    code: CertificateErrorCode,
    message: string,
    options?: { depth?: number | undefined; detail?: string | undefined; cause?: unknown },
  ) {
    super(code, message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CertificateError';
    this.code = code;
    this.depth = options?.depth;
    this.detail = options?.detail;
  }

  /** A chain error with OpenSSL's wording. */
  static chain(code: ChainErrorCode, depth?: number, detail?: string): CertificateError {
    return new CertificateError(code, CHAIN_ERROR_MESSAGES[code], { depth, detail });
  }
}

/**
 * The server's name is not in its certificate (RFC 6125 section 6). Same code, message and
 * properties as node's ERR_TLS_CERT_ALTNAME_INVALID.
 */
export class HostnameMismatchError extends CertificateError {
  readonly reason: string;
  readonly host: string;
  readonly cert: PeerCertificate;

  constructor(reason: string, host: string, cert: PeerCertificate) {
    super('ERR_TLS_CERT_ALTNAME_INVALID', `Hostname/IP does not match certificate's altnames: ${reason}`);
    this.name = 'HostnameMismatchError';
    this.reason = reason;
    this.host = host;
    this.cert = cert;
  }
}

/** Codes of `CredentialsError`. */
export type CredentialsErrorCode =
  /** `key` without `cert`, or `cert` without `key`. */
  | 'ERR_TLS_CERT_MISSING'
  | 'ERR_TLS_KEY_MISSING'
  /** `pfx` together with `cert`/`key`. */
  | 'ERR_TLS_CREDENTIALS_CONFLICT'
  /** `cert` holds no parseable certificate. */
  | 'ERR_TLS_CERT_PARSE'
  /** `key` is not a PEM/DER private key. */
  | 'ERR_TLS_KEY_PARSE'
  /** The key is encrypted and the passphrase is missing or wrong. */
  | 'ERR_TLS_KEY_PASSPHRASE'
  /** Not RSA or EC on P-256/P-384/P-521. */
  | 'ERR_TLS_KEY_UNSUPPORTED'
  /** The private key does not belong to the leaf certificate. */
  | 'ERR_TLS_KEY_MISMATCH'
  /** `pfx` cannot be parsed, its MAC fails or the passphrase is wrong. */
  | 'ERR_TLS_PFX_PARSE'
  /** `pfx` holds no private key or no certificate. */
  | 'ERR_TLS_PFX_INCOMPLETE';

/**
 * Bad client credentials (a configuration error). Messages never carry key material or
 * passphrases, and no underlying error is attached as `cause`.
 */
export class CredentialsError extends CellstackError {
  override readonly code: CredentialsErrorCode;

  constructor(code: CredentialsErrorCode, message: string) {
    super(code, message);
    this.name = 'CredentialsError';
    this.code = code;
  }
}
