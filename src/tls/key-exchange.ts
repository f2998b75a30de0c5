import {
  createECDH,
  createPrivateKey,
  createPublicKey,
  constants as cryptoConstants,
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
  publicEncrypt,
} from 'node:crypto';
import { NamedGroup, type NamedGroupName, TLS12 } from './constants.js';
import { fail } from './errors.js';

/** Our half of an ECDHE exchange (RFC 8422 5.10): a public point, and the way to the shared secret. */
export interface KeyShare {
  group: NamedGroupName;
  /** The encoded public value: 32 octets for X25519 (RFC 7748 5), an uncompressed point for the NIST curves (RFC 8422 5.4.1). */
  publicKey: Uint8Array;
  /** The premaster secret from the server's public value; throws on an invalid point. */
  computeSecret(peer: Uint8Array): Buffer;
}

/** The groups we offer, in order (supported_groups, RFC 8422 5.1.1). */
export const OFFERED_GROUPS: readonly NamedGroupName[] = ['x25519', 'secp256r1', 'secp384r1'];

export function groupByCode(code: number): NamedGroupName | undefined {
  return OFFERED_GROUPS.find((g) => NamedGroup[g] === code);
}

// DER prefixes for raw X25519 keys (RFC 8410 4 and 7).
const X25519_SPKI = Buffer.from('302a300506032b656e032100', 'hex');
const X25519_PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** An X25519 share from a private key: a fresh one unless `privateKey` (32 octets) is given (for known-answer tests). */
export function x25519Share(privateKey?: Uint8Array): KeyShare {
  const priv: KeyObject = privateKey
    ? createPrivateKey({ key: Buffer.concat([X25519_PKCS8, privateKey]), format: 'der', type: 'pkcs8' })
    : generateKeyPairSync('x25519').privateKey;
  const pub = createPublicKey(priv).export({ format: 'der', type: 'spki' }).subarray(X25519_SPKI.length);
  return {
    group: 'x25519',
    publicKey: pub,
    computeSecret(peer) {
      if (peer.length !== 32)
        throw fail('illegal_parameter', 'X25519 public value is not 32 octets', 'bad_ecpoint');
      let secret: Buffer;
      try {
        const peerKey = createPublicKey({
          key: Buffer.concat([X25519_SPKI, peer]),
          format: 'der',
          type: 'spki',
        });
        secret = diffieHellman({ privateKey: priv, publicKey: peerKey });
      } catch {
        throw fail('illegal_parameter', 'invalid X25519 public value', 'bad_ecpoint');
      }
      // RFC 7748 6.1 / RFC 8422 5.11: an all-zero shared secret means a small-order point.
      if (secret.every((b) => b === 0))
        throw fail('illegal_parameter', 'X25519 shared secret is zero', 'bad_ecpoint');
      return secret;
    },
  };
}

/** A P-256 or P-384 share (uncompressed points only, RFC 8422 5.1.2). */
export function nistShare(group: 'secp256r1' | 'secp384r1', privateKey?: Uint8Array): KeyShare {
  const ecdh = createECDH(group === 'secp256r1' ? 'prime256v1' : 'secp384r1');
  if (privateKey) ecdh.setPrivateKey(Buffer.from(privateKey));
  else ecdh.generateKeys();
  const size = group === 'secp256r1' ? 65 : 97;
  return {
    group,
    publicKey: ecdh.getPublicKey(undefined, 'uncompressed'),
    computeSecret(peer) {
      if (peer.length !== size || peer[0] !== 4) {
        throw fail('illegal_parameter', `${group} public value is not an uncompressed point`, 'bad_ecpoint');
      }
      try {
        return ecdh.computeSecret(Buffer.from(peer));
      } catch {
        throw fail('illegal_parameter', `invalid ${group} public value`, 'bad_ecpoint');
      }
    },
  };
}

/** A fresh share for `group`. */
export function generateShare(group: NamedGroupName): KeyShare {
  return group === 'x25519' ? x25519Share() : nistShare(group);
}

/**
 * RSA key transport (RFC 5246 7.4.7.1): a 48-octet premaster secret, client_version then 46
 * random octets, encrypted under the server certificate's key with PKCS#1 v1.5.
 */
export function rsaPremaster(
  serverKey: KeyObject,
  random: (n: number) => Uint8Array,
): { preMasterSecret: Buffer; encrypted: Buffer } {
  if (serverKey.asymmetricKeyType !== 'rsa') {
    throw fail('handshake_failure', 'RSA key exchange needs an RSA certificate', 'wrong_certificate_type');
  }
  const preMasterSecret = Buffer.alloc(48);
  preMasterSecret.writeUInt16BE(TLS12, 0);
  Buffer.from(random(46)).copy(preMasterSecret, 2);
  const encrypted = publicEncrypt(
    { key: serverKey, padding: cryptoConstants.RSA_PKCS1_PADDING },
    preMasterSecret,
  );
  return { preMasterSecret, encrypted };
}
