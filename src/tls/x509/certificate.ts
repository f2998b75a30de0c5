/**
 * One parsed X.509 certificate (RFC 5280 section 4.1): node:crypto's X509Certificate for the
 * key, fingerprints and Node's legacy object, plus our DER reader for what it does not expose
 * (raw names, exact validity, signature algorithm, basicConstraints path length, keyUsage bits,
 * extendedKeyUsage, key identifiers, critical extensions).
 */
import { type KeyObject, X509Certificate } from 'node:crypto';
import {
  bytesEqual,
  children,
  DerError,
  decodeBitString,
  decodeBoolean,
  decodeDirectoryString,
  decodeOid,
  decodeSmallUint,
  decodeTime,
  expect,
  readOnly,
  readTlv,
  Tag,
  type Tlv,
  toHex,
} from './der.js';

/** keyUsage bits (RFC 5280 section 4.2.1.3), as `1 << n` with n the named bit number. */
export const KeyUsage = {
  digitalSignature: 1 << 0,
  nonRepudiation: 1 << 1,
  keyEncipherment: 1 << 2,
  dataEncipherment: 1 << 3,
  keyAgreement: 1 << 4,
  keyCertSign: 1 << 5,
  cRLSign: 1 << 6,
  encipherOnly: 1 << 7,
  decipherOnly: 1 << 8,
} as const;

export const Oid = {
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  nameConstraints: '2.5.29.30',
  commonName: '2.5.4.3',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  /** Netscape and Microsoft Server Gated Crypto, which OpenSSL accepts in place of serverAuth. */
  nsSGC: '2.16.840.1.113730.4.1',
  msSGC: '1.3.6.1.4.1.311.10.3.3',
  rsassaPss: '1.2.840.113549.1.1.10',
} as const;

/**
 * Critical extensions we act on or that OpenSSL also accepts as handled (its
 * X509_supported_extension list); any other critical one fails the chain (RFC 5280 section 4.2).
 */
const HANDLED_EXTENSIONS = new Set<string>([
  '2.16.840.1.113730.1.1', // netscape cert type
  '2.5.29.15', // keyUsage
  '2.5.29.17', // subjectAltName
  '2.5.29.19', // basicConstraints
  '2.5.29.37', // extKeyUsage
  '2.5.29.30', // nameConstraints (DNS and IP forms enforced)
  '2.5.29.32', // certificatePolicies (no policy checking, as OpenSSL by default)
  '2.5.29.33', // policyMappings
  '2.5.29.36', // policyConstraints
  '2.5.29.54', // inhibitAnyPolicy
]);

/** Hash family of a signature algorithm, for the CA_MD_TOO_WEAK check. */
export type SignatureHash =
  | 'md2'
  | 'md4'
  | 'md5'
  | 'sha1'
  | 'sha224'
  | 'sha256'
  | 'sha384'
  | 'sha512'
  | 'other';
/** Which key type a signature algorithm needs (OpenSSL's check_sig_alg_match). */
export type SignatureKeyType = 'rsa' | 'ec' | 'dsa' | 'ed25519' | 'ed448' | 'unknown';

const SIGNATURE_ALGORITHMS: ReadonlyMap<string, { hash: SignatureHash; key: SignatureKeyType }> = new Map([
  ['1.2.840.113549.1.1.2', { hash: 'md2', key: 'rsa' }],
  ['1.2.840.113549.1.1.3', { hash: 'md4', key: 'rsa' }],
  ['1.2.840.113549.1.1.4', { hash: 'md5', key: 'rsa' }],
  ['1.2.840.113549.1.1.5', { hash: 'sha1', key: 'rsa' }],
  ['1.3.14.3.2.29', { hash: 'sha1', key: 'rsa' }],
  ['1.2.840.113549.1.1.14', { hash: 'sha224', key: 'rsa' }],
  ['1.2.840.113549.1.1.11', { hash: 'sha256', key: 'rsa' }],
  ['1.2.840.113549.1.1.12', { hash: 'sha384', key: 'rsa' }],
  ['1.2.840.113549.1.1.13', { hash: 'sha512', key: 'rsa' }],
  ['1.2.840.10045.4.1', { hash: 'sha1', key: 'ec' }],
  ['1.2.840.10045.4.3.1', { hash: 'sha224', key: 'ec' }],
  ['1.2.840.10045.4.3.2', { hash: 'sha256', key: 'ec' }],
  ['1.2.840.10045.4.3.3', { hash: 'sha384', key: 'ec' }],
  ['1.2.840.10045.4.3.4', { hash: 'sha512', key: 'ec' }],
  ['1.2.840.10040.4.3', { hash: 'sha1', key: 'dsa' }],
  ['2.16.840.1.101.3.4.3.1', { hash: 'sha224', key: 'dsa' }],
  ['2.16.840.1.101.3.4.3.2', { hash: 'sha256', key: 'dsa' }],
  ['1.3.101.112', { hash: 'other', key: 'ed25519' }],
  ['1.3.101.113', { hash: 'other', key: 'ed448' }],
]);

const HASH_OIDS: ReadonlyMap<string, SignatureHash> = new Map([
  ['1.3.14.3.2.26', 'sha1'],
  ['2.16.840.1.101.3.4.2.4', 'sha224'],
  ['2.16.840.1.101.3.4.2.1', 'sha256'],
  ['2.16.840.1.101.3.4.2.2', 'sha384'],
  ['2.16.840.1.101.3.4.2.3', 'sha512'],
  ['1.2.840.113549.2.5', 'md5'],
]);

export interface BasicConstraints {
  readonly ca: boolean;
  /** `undefined` when absent (no limit). */
  readonly pathLen: number | undefined;
}

export interface NameConstraints {
  readonly permittedDns: readonly string[];
  readonly excludedDns: readonly string[];
  readonly permittedIp: readonly { addr: Uint8Array; mask: Uint8Array }[];
  readonly excludedIp: readonly { addr: Uint8Array; mask: Uint8Array }[];
}

export interface ParsedCertificate {
  readonly der: Uint8Array;
  readonly x509: X509Certificate;
  /** 0 = v1, 2 = v3 (the encoded INTEGER). */
  readonly version: number;
  readonly serial: Uint8Array;
  readonly issuerDer: Uint8Array;
  readonly subjectDer: Uint8Array;
  /** Canonical forms for RFC 5280 section 7.1 name comparison. */
  readonly issuerKey: string;
  readonly subjectKey: string;
  readonly subjectCommonNames: readonly string[];
  readonly notBefore: number;
  readonly notAfter: number;
  readonly signatureOid: string;
  readonly signatureHash: SignatureHash;
  readonly signatureKeyType: SignatureKeyType;
  readonly publicKey: KeyObject;
  /** node's asymmetricKeyType: 'rsa', 'rsa-pss', 'ec', 'ed25519', 'dsa', ... */
  readonly keyType: string;
  /** RSA/DSA modulus bits or EC field bits (OpenSSL's EVP_PKEY_get_security_bits input). */
  readonly keyBits: number | undefined;
  readonly namedCurve: string | undefined;
  readonly basicConstraints: BasicConstraints | undefined;
  readonly keyUsage: number | undefined;
  readonly extKeyUsage: readonly string[] | undefined;
  readonly subjectKeyId: string | undefined;
  readonly authorityKeyId: string | undefined;
  readonly authoritySerial: Uint8Array | undefined;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly Uint8Array[];
  readonly nameConstraints: NameConstraints | undefined;
  /** Critical extensions nobody here understands (RFC 5280 section 4.2: must reject). */
  readonly unhandledCritical: readonly string[];
  /** A known extension that does not decode, or the same extension twice. */
  readonly invalidExtension: string | undefined;
  /** subject == issuer (RFC 5280 section 3.3 "self-issued"). */
  readonly selfIssued: boolean;
}

/**
 * Parses one DER certificate; throws DerError (code CERT_MALFORMED) for anything unusable.
 * `checkLegacy: false` skips building Node's legacy object as a check (the peer chain's
 * verification builds it when it is asked for, see verify.ts).
 */
export function parseCertificate(der: Uint8Array, options?: { checkLegacy?: boolean }): ParsedCertificate {
  const cert = readOnly(der);
  const [tbsTlv, sigAlgTlv, sigTlv] = children(expect(cert, Tag.SEQUENCE, 'Certificate'));
  const tbs = children(expect(tbsTlv, Tag.SEQUENCE, 'TBSCertificate'));
  expect(sigTlv, Tag.BIT_STRING, 'signatureValue');
  const sigAlg = parseAlgorithm(expect(sigAlgTlv, Tag.SEQUENCE, 'signatureAlgorithm'));

  let i = 0;
  let version = 0;
  if (tbs[0]?.tag === 0xa0) {
    const [v] = children(tbs[0]);
    version = decodeSmallUint(expect(v, Tag.INTEGER, 'version'));
    if (version > 2) throw new DerError('unknown certificate version');
    i = 1;
  }
  const serial = expect(tbs[i++], Tag.INTEGER, 'serialNumber').value;
  const innerAlg = parseAlgorithm(expect(tbs[i++], Tag.SEQUENCE, 'signature'));
  // RFC 5280 section 4.1.1.2: the two algorithm fields must be the same.
  if (innerAlg.oid !== sigAlg.oid) throw new DerError('signature algorithm mismatch');
  const issuer = expect(tbs[i++], Tag.SEQUENCE, 'issuer');
  const [nb, na] = children(expect(tbs[i++], Tag.SEQUENCE, 'validity'));
  if (nb === undefined || na === undefined) throw new DerError('validity');
  const notBefore = decodeTime(nb);
  const notAfter = decodeTime(na);
  const subject = expect(tbs[i++], Tag.SEQUENCE, 'subject');
  expect(tbs[i++], Tag.SEQUENCE, 'subjectPublicKeyInfo');
  let extensions: Tlv | undefined;
  for (; i < tbs.length; i++) {
    const t = tbs[i]!;
    if (t.tag === 0xa3) {
      if (version !== 2) throw new DerError('extensions in a pre-v3 certificate');
      extensions = t;
    } else if (t.tag !== 0x81 && t.tag !== 0x82 && t.tag !== 0xa1 && t.tag !== 0xa2) {
      throw new DerError('unexpected TBSCertificate field');
    }
  }

  // node:crypto (OpenSSL) must accept it too: it gives us the key and Node's legacy object.
  let x509: X509Certificate;
  let publicKey: KeyObject;
  try {
    x509 = new X509Certificate(der);
    // OpenSSL parses the certificate before it looks at the key; an unknown or broken key
    // only fails here. Node's legacy object must build too (it is the PeerCertificate).
    publicKey = x509.publicKey;
    if (options?.checkLegacy !== false) x509.toLegacyObject();
  } catch {
    throw new DerError('rejected by the X.509 parser');
  }
  const keyType = publicKey.asymmetricKeyType ?? 'unknown';
  const details = publicKey.asymmetricKeyDetails;
  const namedCurve = details?.namedCurve;
  const keyBits = details?.modulusLength ?? (namedCurve === undefined ? undefined : curveBits(namedCurve));

  const ext = parseExtensions(extensions);
  const issuerKey = canonicalName(issuer);
  const subjectKey = canonicalName(subject);
  const known = SIGNATURE_ALGORITHMS.get(sigAlg.oid);
  return {
    der,
    x509,
    version,
    serial,
    issuerDer: issuer.bytes,
    subjectDer: subject.bytes,
    issuerKey,
    subjectKey,
    subjectCommonNames: commonNames(subject),
    notBefore,
    notAfter,
    signatureOid: sigAlg.oid,
    signatureHash: sigAlg.oid === Oid.rsassaPss ? pssHash(sigAlg.params) : (known?.hash ?? 'other'),
    signatureKeyType: sigAlg.oid === Oid.rsassaPss ? 'rsa' : (known?.key ?? 'unknown'),
    publicKey,
    keyType,
    keyBits,
    namedCurve,
    ...ext,
    selfIssued: bytesEqual(issuer.bytes, subject.bytes) || issuerKey === subjectKey,
  };
}

function parseAlgorithm(seq: Tlv): { oid: string; params: Tlv | undefined } {
  const [oid, params] = children(seq);
  return { oid: decodeOid(expect(oid, Tag.OID, 'algorithm')), params };
}

/** RSASSA-PSS-params (RFC 4055 section 3.1): hashAlgorithm [0] defaults to SHA-1. */
function pssHash(params: Tlv | undefined): SignatureHash {
  if (params === undefined || params.tag !== Tag.SEQUENCE) return 'sha1';
  for (const p of children(params)) {
    if (p.tag === 0xa0) {
      const [alg] = children(p);
      return HASH_OIDS.get(parseAlgorithm(expect(alg, Tag.SEQUENCE, 'hashAlgorithm')).oid) ?? 'other';
    }
  }
  return 'sha1';
}

function curveBits(curve: string): number | undefined {
  const table: Record<string, number> = {
    prime256v1: 256,
    secp256k1: 256,
    secp384r1: 384,
    secp521r1: 521,
    secp224r1: 224,
    prime192v1: 192,
    secp192k1: 192,
    secp160r1: 160,
    brainpoolP256r1: 256,
    brainpoolP384r1: 384,
    brainpoolP512r1: 512,
  };
  return table[curve];
}

interface Extensions {
  basicConstraints: BasicConstraints | undefined;
  keyUsage: number | undefined;
  extKeyUsage: string[] | undefined;
  subjectKeyId: string | undefined;
  authorityKeyId: string | undefined;
  authoritySerial: Uint8Array | undefined;
  dnsNames: string[];
  ipAddresses: Uint8Array[];
  nameConstraints: NameConstraints | undefined;
  unhandledCritical: string[];
  invalidExtension: string | undefined;
}

/** Extensions (RFC 5280 section 4.2). Structure errors throw; bad contents mark `invalidExtension`. */
function parseExtensions(wrapper: Tlv | undefined): Extensions {
  const out: Extensions = {
    basicConstraints: undefined,
    keyUsage: undefined,
    extKeyUsage: undefined,
    subjectKeyId: undefined,
    authorityKeyId: undefined,
    authoritySerial: undefined,
    dnsNames: [],
    ipAddresses: [],
    nameConstraints: undefined,
    unhandledCritical: [],
    invalidExtension: undefined,
  };
  if (wrapper === undefined) return out;
  const [list] = children(wrapper);
  const seen = new Set<string>();
  for (const e of children(expect(list, Tag.SEQUENCE, 'extensions'))) {
    const parts = children(expect(e, Tag.SEQUENCE, 'Extension'));
    const oid = decodeOid(expect(parts[0], Tag.OID, 'extnID'));
    let critical = false;
    let valueTlv = parts[1];
    if (valueTlv?.tag === Tag.BOOLEAN) {
      critical = decodeBoolean(valueTlv);
      valueTlv = parts[2];
    }
    const value = expect(valueTlv, Tag.OCTET_STRING, 'extnValue').value;
    if (seen.has(oid)) {
      out.invalidExtension ??= `duplicate extension ${oid}`;
      continue;
    }
    seen.add(oid);
    try {
      if (!decodeExtension(oid, value, out) && critical && !HANDLED_EXTENSIONS.has(oid)) {
        out.unhandledCritical.push(oid);
      }
    } catch (err) {
      if (!(err instanceof DerError)) throw err;
      out.invalidExtension ??= `extension ${oid}: ${err.message}`;
    }
  }
  return out;
}

/** Decodes the extensions we use into `out`; returns false for the others. */
function decodeExtension(oid: string, value: Uint8Array, out: Extensions): boolean {
  switch (oid) {
    case Oid.basicConstraints: {
      const fields = children(expect(readOnly(value), Tag.SEQUENCE, 'BasicConstraints'));
      let ca = false;
      let pathLen: number | undefined;
      for (const f of fields) {
        if (f.tag === Tag.BOOLEAN) ca = decodeBoolean(f);
        else if (f.tag === Tag.INTEGER) pathLen = decodeSmallUint(f);
        else throw new DerError('BasicConstraints field');
      }
      out.basicConstraints = { ca, pathLen };
      return true;
    }
    case Oid.keyUsage: {
      const { bytes } = decodeBitString(expect(readOnly(value), Tag.BIT_STRING, 'KeyUsage'));
      let bits = 0;
      for (let n = 0; n < 9; n++) {
        const byte = bytes[n >> 3] ?? 0;
        if ((byte & (0x80 >> (n & 7))) !== 0) bits |= 1 << n;
      }
      out.keyUsage = bits;
      return true;
    }
    case Oid.extKeyUsage: {
      const oids = children(expect(readOnly(value), Tag.SEQUENCE, 'ExtKeyUsageSyntax')).map((t) =>
        decodeOid(expect(t, Tag.OID, 'KeyPurposeId')),
      );
      out.extKeyUsage = oids;
      return true;
    }
    case Oid.subjectKeyIdentifier:
      out.subjectKeyId = toHex(expect(readOnly(value), Tag.OCTET_STRING, 'SubjectKeyIdentifier').value);
      return true;
    case Oid.authorityKeyIdentifier: {
      for (const f of children(expect(readOnly(value), Tag.SEQUENCE, 'AuthorityKeyIdentifier'))) {
        if (f.tag === 0x80) out.authorityKeyId = toHex(f.value);
        else if (f.tag === 0x82) out.authoritySerial = f.value;
      }
      return true;
    }
    case Oid.subjectAltName: {
      for (const g of children(expect(readOnly(value), Tag.SEQUENCE, 'SubjectAltName'))) {
        if (g.tag === 0x82) out.dnsNames.push(latin1Ascii(g.value));
        else if (g.tag === 0x87) {
          if (g.value.length !== 4 && g.value.length !== 16) throw new DerError('iPAddress length');
          out.ipAddresses.push(g.value);
        }
      }
      return true;
    }
    case Oid.nameConstraints: {
      const nc = {
        permittedDns: [] as string[],
        excludedDns: [] as string[],
        permittedIp: [] as { addr: Uint8Array; mask: Uint8Array }[],
        excludedIp: [] as { addr: Uint8Array; mask: Uint8Array }[],
      };
      for (const part of children(expect(readOnly(value), Tag.SEQUENCE, 'NameConstraints'))) {
        if (part.tag !== 0xa0 && part.tag !== 0xa1) throw new DerError('NameConstraints field');
        const permitted = part.tag === 0xa0;
        for (const subtree of children(part)) {
          const [base] = children(expect(subtree, Tag.SEQUENCE, 'GeneralSubtree'));
          if (base === undefined) throw new DerError('GeneralSubtree base');
          if (base.tag === 0x82) (permitted ? nc.permittedDns : nc.excludedDns).push(latin1Ascii(base.value));
          else if (base.tag === 0x87) {
            const n = base.value.length;
            if (n !== 8 && n !== 32) throw new DerError('iPAddress constraint length');
            const entry = { addr: base.value.subarray(0, n / 2), mask: base.value.subarray(n / 2) };
            (permitted ? nc.permittedIp : nc.excludedIp).push(entry);
          }
          // Other name forms (directoryName, rfc822Name, URI) do not apply to TLS server names.
        }
      }
      out.nameConstraints = nc;
      return true;
    }
    default:
      return false;
  }
}

function latin1Ascii(v: Uint8Array): string {
  let s = '';
  for (const b of v) s += String.fromCharCode(b);
  return s;
}

/**
 * Canonical name for comparison (RFC 5280 section 7.1, as OpenSSL's X509_NAME canon): each
 * string value trimmed, inner white space collapsed and ASCII-lowercased; RDNs in order,
 * the attributes of a multi-valued RDN sorted.
 */
function canonicalName(name: Tlv): string {
  const rdns: string[] = [];
  for (const rdn of children(name)) {
    const avas: string[] = [];
    for (const ava of children(expect(rdn, Tag.SET, 'RelativeDistinguishedName'))) {
      const [type, value] = children(expect(ava, Tag.SEQUENCE, 'AttributeTypeAndValue'));
      const oid = decodeOid(expect(type, Tag.OID, 'AttributeType'));
      if (value === undefined) throw new DerError('AttributeValue missing');
      const text = decodeDirectoryString(value);
      const canon =
        text === undefined
          ? `#${value.tag.toString(16)}:${toHex(value.value)}`
          : text
              .trim()
              .replace(/\s+/g, ' ')
              .replace(/[A-Z]/g, (c) => c.toLowerCase());
      avas.push(`${oid}=${JSON.stringify(canon)}`);
    }
    avas.sort();
    rdns.push(avas.join('+'));
  }
  return rdns.join(',');
}

function commonNames(name: Tlv): string[] {
  const out: string[] = [];
  for (const rdn of children(name)) {
    for (const ava of children(rdn)) {
      const [type, value] = children(ava);
      if (type === undefined || value === undefined || decodeOid(type) !== Oid.commonName) continue;
      const text = decodeDirectoryString(value);
      if (text !== undefined) out.push(text);
    }
  }
  return out;
}

/** Splits PEM text into the DER of each `CERTIFICATE` block (RFC 7468 section 5). */
export function pemCertificates(text: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  const re =
    /-----BEGIN (?:X509 |TRUSTED )?CERTIFICATE-----([\s\S]*?)-----END (?:X509 |TRUSTED )?CERTIFICATE-----/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const b64 = (m[1] ?? '').replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) continue;
    out.push(new Uint8Array(Buffer.from(b64, 'base64')));
  }
  return out;
}

/** True when the bytes look like PEM rather than DER. */
export function looksLikePem(bytes: Uint8Array): boolean {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 4096)).toString(
    'latin1',
  );
  return head.includes('-----BEGIN ');
}

/** Reads the first element's length to tell a lone DER certificate from junk, without parsing. */
export function isSingleDer(bytes: Uint8Array): boolean {
  try {
    return readTlv(bytes, 0).next === bytes.length;
  } catch {
    return false;
  }
}
