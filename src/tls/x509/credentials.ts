/**
 * Client credentials for TLS client authentication (RFC 5246 section 7.4.6 Certificate,
 * section 7.4.8 CertificateVerify): a certificate chain and the private key of its leaf.
 *
 * - `cert` + `key`, like node:tls: PEM certificates (the leaf first, then its chain) or one DER
 *   certificate; a PEM private key (PKCS#1 "RSA PRIVATE KEY", SEC1 "EC PRIVATE KEY", PKCS#8,
 *   encrypted PKCS#8 or legacy encrypted PEM with `passphrase`) or a DER PKCS#8/PKCS#1/SEC1 key,
 *   all through node:crypto createPrivateKey().
 * - `pfx`: PKCS#12 (RFC 7292) through node-forge. Both the OpenSSL 3 default (PBES2 with
 *   AES-256-CBC, PBKDF2-HMAC-SHA256, SHA-256 MAC) and `-legacy` (3DES/RC2-40, SHA-1) files read.
 *   forge parses only RSA keys and certificates, so the key bag's PKCS#8 DER and each
 *   certificate's DER are taken from the decoded ASN.1 and handed to node:crypto instead: EC
 *   works the same way.
 * Only RSA and EC (P-256, P-384, P-521) keys: those are what TLS 1.2 client certificates sign with.
 * Errors are `CredentialsError`; their messages never contain key material or the passphrase.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import { looksLikePem, pemCertificates } from './certificate.js';
import { CredentialsError } from './errors.js';

export interface ClientCredentialsOptions {
  /** The client certificate chain, leaf first: PEM (one or more) or one DER certificate per entry. */
  cert?: string | Buffer | Array<string | Buffer>;
  /** The leaf's private key: PEM or DER. */
  key?: string | Buffer;
  /** A PKCS#12 file holding the key and its certificate chain. */
  pfx?: Buffer;
  /** Decrypts an encrypted `key` or the `pfx`. */
  passphrase?: string;
}

export interface ClientCredentials {
  /** DER certificates, leaf first, as the Certificate message carries them. */
  chain: Uint8Array[];
  key: KeyObject;
  keyType: 'rsa' | 'ec';
  namedCurve?: 'P-256' | 'P-384' | 'P-521';
}

const CURVES: Readonly<Record<string, 'P-256' | 'P-384' | 'P-521'>> = {
  prime256v1: 'P-256',
  secp384r1: 'P-384',
  secp521r1: 'P-521',
};

/** Loads the client's credentials; `undefined` when none are configured. Throws CredentialsError. */
export function loadClientCredentials(options: ClientCredentialsOptions): ClientCredentials | undefined {
  const { cert, key, pfx, passphrase } = options ?? {};
  if (pfx !== undefined && pfx !== null) {
    if (cert !== undefined || key !== undefined) {
      throw new CredentialsError('ERR_TLS_CREDENTIALS_CONFLICT', 'give either pfx or cert and key, not both');
    }
    return fromPkcs12(pfx, passphrase);
  }
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined)
    throw new CredentialsError('ERR_TLS_CERT_MISSING', 'a client key needs its certificate');
  if (key === undefined)
    throw new CredentialsError('ERR_TLS_KEY_MISSING', 'a client certificate needs its key');
  const chain = certificateChain(cert);
  const privateKey = privateKeyFrom(key, passphrase);
  return finish(chain, privateKey);
}

function certificateChain(cert: string | Buffer | Array<string | Buffer>): Uint8Array[] {
  const items = Array.isArray(cert) ? cert : [cert];
  const chain: Uint8Array[] = [];
  for (const item of items) {
    if (typeof item === 'string') chain.push(...pemCertificates(item));
    else if (item instanceof Uint8Array) {
      if (looksLikePem(item)) {
        chain.push(
          ...pemCertificates(Buffer.from(item.buffer, item.byteOffset, item.byteLength).toString('latin1')),
        );
      } else chain.push(new Uint8Array(item));
    } else {
      throw new CredentialsError('ERR_TLS_CERT_PARSE', 'cert must be PEM text or a Buffer');
    }
  }
  if (chain.length === 0) throw new CredentialsError('ERR_TLS_CERT_PARSE', 'cert holds no certificate');
  return chain;
}

function privateKeyFrom(key: string | Buffer, passphrase: string | undefined): KeyObject {
  if (typeof key !== 'string' && !(key instanceof Uint8Array)) {
    throw new CredentialsError('ERR_TLS_KEY_PARSE', 'key must be PEM text or a Buffer');
  }
  const text =
    typeof key === 'string' ? key : looksLikePem(key) ? Buffer.from(key).toString('latin1') : undefined;
  if (text !== undefined) {
    const encrypted = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,ENCRYPTED/.test(text);
    if (encrypted && (passphrase === undefined || passphrase === '')) {
      throw new CredentialsError(
        'ERR_TLS_KEY_PASSPHRASE',
        'the key is encrypted and no passphrase was given',
      );
    }
    try {
      return createPrivateKey({
        key: text,
        format: 'pem',
        ...(passphrase === undefined ? {} : { passphrase }),
      });
    } catch {
      if (encrypted)
        throw new CredentialsError('ERR_TLS_KEY_PASSPHRASE', 'the key does not decrypt with that passphrase');
      throw new CredentialsError('ERR_TLS_KEY_PARSE', 'key is not a PEM private key');
    }
  }
  const der = Buffer.from(key as Uint8Array);
  for (const type of ['pkcs8', 'pkcs1', 'sec1'] as const) {
    try {
      return createPrivateKey({ key: der, format: 'der', type });
    } catch {
      // try the next encoding
    }
  }
  throw new CredentialsError('ERR_TLS_KEY_PARSE', 'key is not a PEM or DER private key');
}

function finish(chain: Uint8Array[], key: KeyObject): ClientCredentials {
  const type = key.asymmetricKeyType;
  let namedCurve: 'P-256' | 'P-384' | 'P-521' | undefined;
  if (type === 'ec') {
    namedCurve = CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''];
    if (namedCurve === undefined) {
      throw new CredentialsError('ERR_TLS_KEY_UNSUPPORTED', 'EC keys must be on P-256, P-384 or P-521');
    }
  } else if (type !== 'rsa') {
    throw new CredentialsError(
      'ERR_TLS_KEY_UNSUPPORTED',
      `unsupported key type ${String(type)}; use RSA or EC`,
    );
  }
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(chain[0]!);
  } catch {
    throw new CredentialsError('ERR_TLS_CERT_PARSE', 'the first certificate does not parse');
  }
  for (let i = 1; i < chain.length; i++) {
    try {
      new X509Certificate(chain[i]!);
    } catch {
      throw new CredentialsError('ERR_TLS_CERT_PARSE', `certificate ${i} of the chain does not parse`);
    }
  }
  let matches = false;
  try {
    matches = leaf.checkPrivateKey(key);
  } catch {
    matches = false;
  }
  if (!matches) {
    throw new CredentialsError(
      'ERR_TLS_KEY_MISMATCH',
      "the private key does not match the certificate's public key",
    );
  }
  return type === 'ec'
    ? { chain, key, keyType: 'ec', namedCurve: namedCurve! }
    : { chain, key, keyType: 'rsa' };
}

// ---------------------------------------------------------------------------------------------
// PKCS#12 (RFC 7292)

/** The subset of forge's SafeBag we read; forge's own typings leave these as `any`. */
interface Bag {
  key?: unknown;
  cert?: unknown;
  asn1?: forge.asn1.Asn1;
  attributes?: Record<string, unknown[] | undefined>;
}

function fromPkcs12(pfx: Buffer, passphrase: string | undefined): ClientCredentials {
  if (!(pfx instanceof Uint8Array)) throw new CredentialsError('ERR_TLS_PFX_PARSE', 'pfx must be a Buffer');
  let p12: forge.pkcs12.Pkcs12Pfx;
  try {
    const asn1 = forge.asn1.fromDer(forge.util.createBuffer(Buffer.from(pfx).toString('binary')), true);
    p12 = forge.pkcs12.pkcs12FromAsn1(asn1, true, passphrase ?? '');
  } catch {
    // forge throws Errors and plain strings alike; none of them is passed on (they may echo input).
    throw new CredentialsError('ERR_TLS_PFX_PARSE', 'pfx does not parse, or the passphrase is wrong');
  }
  const keyBags = [
    ...bagsOf(p12, forge.pki.oids['pkcs8ShroudedKeyBag']!),
    ...bagsOf(p12, forge.pki.oids['keyBag']!),
  ];
  const certBags = bagsOf(p12, forge.pki.oids['certBag']!);
  const keyBag = keyBags[0];
  if (keyBag === undefined) throw new CredentialsError('ERR_TLS_PFX_INCOMPLETE', 'pfx holds no private key');
  if (certBags.length === 0) throw new CredentialsError('ERR_TLS_PFX_INCOMPLETE', 'pfx holds no certificate');

  let key: KeyObject;
  try {
    // forge decoded RSA keys into its own object; for EC it kept the PKCS#8 PrivateKeyInfo ASN.1.
    const info =
      keyBag.asn1 ??
      forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(keyBag.key as forge.pki.rsa.PrivateKey));
    key = createPrivateKey({ key: derOf(info), format: 'der', type: 'pkcs8' });
  } catch {
    throw new CredentialsError('ERR_TLS_PFX_PARSE', 'the private key in pfx does not parse');
  }

  const certs: X509Certificate[] = [];
  for (const bag of certBags) {
    try {
      const asn1 = bag.asn1 ?? forge.pki.certificateToAsn1(bag.cert as forge.pki.Certificate);
      certs.push(new X509Certificate(derOf(asn1)));
    } catch {
      throw new CredentialsError('ERR_TLS_PFX_PARSE', 'a certificate in pfx does not parse');
    }
  }
  return finish(orderChain(certs, key), key);
}

function bagsOf(p12: forge.pkcs12.Pkcs12Pfx, bagType: string): Bag[] {
  const found = p12.getBags({ bagType })[bagType];
  return Array.isArray(found) ? (found as Bag[]) : [];
}

function derOf(asn1: forge.asn1.Asn1): Buffer {
  return Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary');
}

/** Leaf (the certificate of the key) first, then its issuers in order, then any others. */
function orderChain(certs: X509Certificate[], key: KeyObject): Uint8Array[] {
  const rest = [...certs];
  const leafIndex = rest.findIndex((c) => {
    try {
      return c.checkPrivateKey(key);
    } catch {
      return false;
    }
  });
  const ordered: X509Certificate[] = [];
  if (leafIndex !== -1) ordered.push(...rest.splice(leafIndex, 1));
  else ordered.push(rest.shift()!);
  for (;;) {
    const cur = ordered[ordered.length - 1]!;
    if (cur.issuer === cur.subject) break;
    const i = rest.findIndex((c) => c.subject === cur.issuer && safeCheckIssued(cur, c));
    if (i === -1) break;
    ordered.push(...rest.splice(i, 1));
  }
  ordered.push(...rest);
  return ordered.map((c) => new Uint8Array(c.raw));
}

function safeCheckIssued(cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return cert.checkIssued(issuer);
  } catch {
    return false;
  }
}
