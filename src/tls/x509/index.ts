/**
 * X.509 for the TLS client: server chain verification (RFC 5280, RFC 6125, node:tls error
 * codes) and client credential loading (PEM, DER, PKCS#12).
 */
export type { BasicConstraints, ParsedCertificate } from './certificate.js';
export { parseCertificate, pemCertificates } from './certificate.js';
export type { ClientCredentials, ClientCredentialsOptions } from './credentials.js';
export { loadClientCredentials } from './credentials.js';
export type {
  CertificateErrorCode,
  ChainErrorCode,
  CredentialsErrorCode,
  PeerCertificate,
} from './errors.js';
export {
  CertificateError,
  CHAIN_ERROR_MESSAGES,
  CredentialsError,
  HostnameMismatchError,
} from './errors.js';
export { checkServerIdentity, matchDnsName } from './identity.js';
export type { CaOption, TrustStore, VerifyServerChainOptions, VerifyServerChainResult } from './verify.js';
export {
  leafKeyUsageAllows,
  MAX_CHAIN_DEPTH,
  MAX_PEER_CERTIFICATES,
  MAX_SIGNATURE_CHECKS,
  MIN_SECURITY_BITS,
  trustStoreFor,
  verifyServerChain,
} from './verify.js';
