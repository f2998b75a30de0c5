export { AlertDescription, AlertLevel, type AlertName } from './alerts.js';
export { ALL_SUITES, type CipherSuite, selectSuites } from './cipher-suites.js';
export {
  type CertificateRejection,
  type HandshakeResult,
  type TlsClientConfig,
  TlsClientCore,
  type TlsClientEvent,
  type TlsCoreStats,
} from './client-core.js';
export { DEFAULT_HANDSHAKE_TIMEOUT } from './client-types.js';
export { certificateAlert, connect, type SecureSocket, type TlsConnectOptions } from './connect.js';
export { TlsAlert, TlsError, type TlsErrorCode } from './errors.js';
export { type KeyShare, nistShare, x25519Share } from './key-exchange.js';
export { extendedMasterSecret, keyBlock, masterSecret, prf, verifyData } from './prf.js';
export { type CipherInfo, TlsSocket, type TlsSocketStats } from './socket.js';
export {
  CertificateError,
  type CertificateErrorCode,
  type ClientCredentials,
  CredentialsError,
  type CredentialsErrorCode,
  checkServerIdentity,
  HostnameMismatchError,
  loadClientCredentials,
  type PeerCertificate,
  verifyServerChain,
} from './x509/index.js';
