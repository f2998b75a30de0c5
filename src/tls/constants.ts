/**
 * TLS 1.2 code points (RFC 5246 and the registries it points to), named as the RFCs name them.
 */

/** ProtocolVersion {3, 3} is TLS 1.2 (RFC 5246 6.2.1). */
export const TLS12 = 0x0303;
export const TLS10 = 0x0301;

/** ContentType (RFC 5246 6.2.1). */
export const ContentType = {
  change_cipher_spec: 20,
  alert: 21,
  handshake: 22,
  application_data: 23,
} as const;

/** HandshakeType (RFC 5246 7.4, RFC 5077 3.3). */
export const HandshakeType = {
  hello_request: 0,
  client_hello: 1,
  server_hello: 2,
  new_session_ticket: 4,
  certificate: 11,
  server_key_exchange: 12,
  certificate_request: 13,
  server_hello_done: 14,
  certificate_verify: 15,
  client_key_exchange: 16,
  finished: 20,
} as const;

/** ExtensionType values we send or understand. */
export const ExtensionType = {
  server_name: 0, // RFC 6066 3
  status_request: 5,
  supported_groups: 10, // RFC 8422 5.1.1
  ec_point_formats: 11, // RFC 8422 5.1.2
  signature_algorithms: 13, // RFC 5246 7.4.1.4.1
  application_layer_protocol_negotiation: 16, // RFC 7301 3.1
  encrypt_then_mac: 22, // RFC 7366 2
  extended_master_secret: 23, // RFC 7627 4
  session_ticket: 35, // RFC 5077 3.2
  renegotiation_info: 0xff01, // RFC 5746 3.2
} as const;

/** NamedGroup (RFC 8422 5.1.1, RFC 7748). */
export const NamedGroup = {
  secp256r1: 23,
  secp384r1: 24,
  x25519: 29,
} as const;
export type NamedGroupName = keyof typeof NamedGroup;

/** ECCurveType explicit_prime..named_curve: only named_curve(3) is allowed (RFC 8422 5.4). */
export const EC_CURVE_TYPE_NAMED = 3;

/** ClientCertificateType (RFC 5246 7.4.4, RFC 8422 5.5). */
export const ClientCertificateType = {
  rsa_sign: 1,
  ecdsa_sign: 64,
} as const;

/** Limits on what the peer may make us hold. */
export const Limits = {
  /** TLSPlaintext.length ≤ 2^14 (RFC 5246 6.2.1). */
  plaintext: 1 << 14,
  /** TLSCiphertext.length ≤ 2^14 + 2048 (RFC 5246 6.2.3). */
  ciphertext: (1 << 14) + 2048,
  /** A single handshake message, reassembled. */
  handshakeMessage: 64 * 1024,
  /** Certificates in the server's chain (its octets are bounded by `handshakeMessage`). */
  certificates: 10,
  /** Warning alerts in a row (other than close_notify) before we give up. */
  warningAlerts: 4,
  /** Empty records in a row (a known DoS pattern) before we give up. */
  emptyRecords: 32,
} as const;
