import { constants, type KeyObject, sign, verify } from 'node:crypto';
import { fail } from './errors.js';

/** SignatureScheme values (RFC 8446 4.2.3, used in TLS 1.2 as SignatureAndHashAlgorithm, RFC 5246 7.4.1.4.1 and RFC 8422 5.1.3). */
export const SignatureScheme = {
  rsa_pkcs1_sha1: 0x0201,
  ecdsa_sha1: 0x0203,
  rsa_pkcs1_sha256: 0x0401,
  ecdsa_secp256r1_sha256: 0x0403,
  rsa_pkcs1_sha384: 0x0501,
  ecdsa_secp384r1_sha384: 0x0503,
  rsa_pkcs1_sha512: 0x0601,
  ecdsa_secp521r1_sha512: 0x0603,
  rsa_pss_rsae_sha256: 0x0804,
  rsa_pss_rsae_sha384: 0x0805,
  rsa_pss_rsae_sha512: 0x0806,
} as const;

interface SchemeInfo {
  key: 'rsa' | 'ec';
  hash: 'sha1' | 'sha256' | 'sha384' | 'sha512';
  pss: boolean;
}

const INFO = new Map<number, SchemeInfo>([
  [0x0201, { key: 'rsa', hash: 'sha1', pss: false }],
  [0x0203, { key: 'ec', hash: 'sha1', pss: false }],
  [0x0401, { key: 'rsa', hash: 'sha256', pss: false }],
  [0x0403, { key: 'ec', hash: 'sha256', pss: false }],
  [0x0501, { key: 'rsa', hash: 'sha384', pss: false }],
  [0x0503, { key: 'ec', hash: 'sha384', pss: false }],
  [0x0601, { key: 'rsa', hash: 'sha512', pss: false }],
  [0x0603, { key: 'ec', hash: 'sha512', pss: false }],
  [0x0804, { key: 'rsa', hash: 'sha256', pss: true }],
  [0x0805, { key: 'rsa', hash: 'sha384', pss: true }],
  [0x0806, { key: 'rsa', hash: 'sha512', pss: true }],
]);

/**
 * What we offer in signature_algorithms, best first: ECDSA, then RSA-PSS (what OpenSSL
 * prefers for RSA keys), then PKCS#1 v1.5. SHA-1 is not offered: OpenSSL 3 at its default
 * security level and AWS IoT both sign with SHA-2.
 */
export const OFFERED_SIGNATURE_SCHEMES: readonly number[] = [
  SignatureScheme.ecdsa_secp256r1_sha256,
  SignatureScheme.ecdsa_secp384r1_sha384,
  SignatureScheme.ecdsa_secp521r1_sha512,
  SignatureScheme.rsa_pss_rsae_sha256,
  SignatureScheme.rsa_pss_rsae_sha384,
  SignatureScheme.rsa_pss_rsae_sha512,
  SignatureScheme.rsa_pkcs1_sha256,
  SignatureScheme.rsa_pkcs1_sha384,
  SignatureScheme.rsa_pkcs1_sha512,
];

function keyKind(key: KeyObject): 'rsa' | 'ec' | undefined {
  const t = key.asymmetricKeyType;
  return t === 'rsa' ? 'rsa' : t === 'ec' ? 'ec' : undefined;
}

function options(info: SchemeInfo, key: KeyObject) {
  return info.pss
    ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }
    : info.key === 'rsa'
      ? { key, padding: constants.RSA_PKCS1_PADDING }
      : { key, dsaEncoding: 'der' as const };
}

/**
 * Checks a digitally-signed element (ServerKeyExchange, RFC 5246 7.4.3 and RFC 8422 5.4)
 * with the leaf certificate's key. The scheme must be one we offered and fit the key
 * (illegal_parameter otherwise); a bad signature is decrypt_error (RFC 5246 7.2.2).
 */
export function verifySignature(
  scheme: number,
  key: KeyObject,
  data: Uint8Array,
  signature: Uint8Array,
): void {
  const info = INFO.get(scheme);
  if (!info || !OFFERED_SIGNATURE_SCHEMES.includes(scheme)) {
    throw fail(
      'illegal_parameter',
      `signature scheme 0x${scheme.toString(16)} was not offered`,
      'wrong_signature_type',
    );
  }
  if (keyKind(key) !== info.key) {
    throw fail(
      'illegal_parameter',
      `signature scheme 0x${scheme.toString(16)} does not fit the certificate key`,
      'wrong_signature_type',
    );
  }
  let ok = false;
  try {
    ok = verify(info.hash, data, options(info, key), signature);
  } catch {
    ok = false;
  }
  if (!ok) throw fail('decrypt_error', 'the signature does not verify', 'bad_signature');
}

/**
 * Picks the scheme for our CertificateVerify (RFC 5246 7.4.8) from those the server listed
 * in CertificateRequest: for RSA keys PSS first, then PKCS#1 v1.5; for EC keys the hash that
 * matches the curve first. Undefined when none fits our key.
 */
export function chooseClientScheme(
  serverSchemes: readonly number[],
  keyType: 'rsa' | 'ec',
  namedCurve: string | undefined,
): number | undefined {
  const rsa = [0x0804, 0x0401, 0x0805, 0x0501, 0x0806, 0x0601, 0x0201];
  const curveFirst = namedCurve === 'P-384' ? 0x0503 : namedCurve === 'P-521' ? 0x0603 : 0x0403;
  const ec = [curveFirst, 0x0403, 0x0503, 0x0603, 0x0203];
  return (keyType === 'rsa' ? rsa : ec).find((s) => serverSchemes.includes(s));
}

/** Signs `data` with our key under `scheme` (the CertificateVerify signature). */
export function signWith(scheme: number, key: KeyObject, data: Uint8Array): Buffer {
  const info = INFO.get(scheme);
  if (!info) throw new RangeError(`unknown signature scheme ${scheme}`);
  return sign(info.hash, data, options(info, key));
}
