/**
 * A small test PKI built at test time: certificates are DER-encoded here (RFC 5280 section 4.1)
 * and signed with node:crypto, so every field a test needs (validity in the past or future,
 * SHA-1 or PSS signatures, v1 certificates, odd extensions, broken signatures) is one option
 * away, for RSA and EC alike. Keys are generated once per process and reused. PKCS#12 files and
 * a reference chain come from the `openssl` CLI (`opensslPkcs12`, `opensslChain`), so the parser
 * also meets what OpenSSL itself writes.
 */
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// ---------------------------------------------------------------------------------------------
// DER writer (X.690)

function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
export function tlv(tag: number, ...parts: Uint8Array[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), len(body.length), body]);
}
export const seq = (...p: Uint8Array[]) => tlv(0x30, ...p);
export const set = (...p: Uint8Array[]) => tlv(0x31, ...p);
export const explicit = (n: number, ...p: Uint8Array[]) => tlv(0xa0 + n, ...p);
export const octets = (b: Uint8Array) => tlv(0x04, b);
export const bool = (b: boolean) => tlv(0x01, Buffer.from([b ? 0xff : 0]));
export const nul = () => Buffer.from([0x05, 0x00]);
export function int(v: number | Uint8Array): Buffer {
  let b: Buffer;
  if (typeof v === 'number') {
    const bytes: number[] = [];
    let x = v;
    do {
      bytes.unshift(x & 0xff);
      x = Math.floor(x / 256);
    } while (x > 0);
    b = Buffer.from(bytes);
  } else b = Buffer.from(v);
  if ((b[0]! & 0x80) !== 0) b = Buffer.concat([Buffer.from([0]), b]);
  return tlv(0x02, b);
}
export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const out: number[] = [arcs[0]! * 40 + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const chunk: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}
export const bits = (b: Uint8Array, unused = 0) => tlv(0x03, Buffer.from([unused]), b);
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));
const printable = (s: string) => tlv(0x13, Buffer.from(s, 'latin1'));

function time(ms: number): Buffer {
  const iso = new Date(ms).toISOString(); // 2024-01-02T03:04:05.000Z
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '');
  const year = new Date(ms).getUTCFullYear();
  if (year >= 1950 && year < 2050) return tlv(0x17, Buffer.from(`${digits.slice(2)}Z`, 'latin1'));
  return tlv(0x18, Buffer.from(`${digits}Z`, 'latin1'));
}

// ---------------------------------------------------------------------------------------------
// Keys

export interface TestKey {
  readonly name: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly type: 'rsa' | 'ec';
  /** PKCS#8 PEM. */
  readonly pem: string;
}

const keyCache = new Map<string, TestKey>();

/** An RSA key of `bits` bits; the same key for the same `name` within one process. */
export function rsaKey(name: string, modulusLength = 2048): TestKey {
  const id = `rsa${modulusLength}:${name}`;
  let k = keyCache.get(id);
  if (k === undefined) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength });
    k = {
      name,
      privateKey,
      publicKey,
      type: 'rsa',
      pem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    };
    keyCache.set(id, k);
  }
  return k;
}

export function ecKey(name: string, namedCurve: 'P-256' | 'P-384' | 'P-521' = 'P-256'): TestKey {
  const id = `ec${namedCurve}:${name}`;
  let k = keyCache.get(id);
  if (k === undefined) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve });
    k = {
      name,
      privateKey,
      publicKey,
      type: 'ec',
      pem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    };
    keyCache.set(id, k);
  }
  return k;
}

// ---------------------------------------------------------------------------------------------
// Certificates

export type Hash = 'sha1' | 'sha256' | 'sha384' | 'sha512' | 'md5';
export type KeyUsageName =
  | 'digitalSignature'
  | 'nonRepudiation'
  | 'keyEncipherment'
  | 'dataEncipherment'
  | 'keyAgreement'
  | 'keyCertSign'
  | 'cRLSign';
const KU_BITS: Record<KeyUsageName, number> = {
  digitalSignature: 0,
  nonRepudiation: 1,
  keyEncipherment: 2,
  dataEncipherment: 3,
  keyAgreement: 4,
  keyCertSign: 5,
  cRLSign: 6,
};
const EKU: Record<string, string> = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  any: '2.5.29.37.0',
};
const NAME_OIDS: Record<string, string> = {
  C: '2.5.4.6',
  ST: '2.5.4.8',
  L: '2.5.4.7',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  CN: '2.5.4.3',
};

export interface TestCert {
  readonly der: Buffer;
  readonly pem: string;
  readonly key: TestKey;
  readonly subjectDer: Buffer;
  readonly skid: Buffer;
  readonly serial: Buffer;
  readonly name: string;
}

export interface CertSpec {
  /** Subject, e.g. `{ CN: 'leaf', O: 'Test' }`, in that order. */
  subject: Record<string, string>;
  key: TestKey;
  /** Signed by this certificate (and its key); self-signed when absent. */
  issuer?: TestCert;
  /** Overrides the issuer name (to make "wrong issuer" cases). */
  issuerName?: Record<string, string>;
  /** Signs with this key instead of the issuer's (a signature that will not verify). */
  signingKey?: TestKey;
  notBefore?: number;
  notAfter?: number;
  hash?: Hash;
  /** RSASSA-PSS instead of PKCS#1 v1.5 (RSA keys). */
  pss?: boolean;
  /** 1 or 3 (default 3; v1 has no extensions). */
  version?: 1 | 3;
  /** basicConstraints: omitted when undefined. */
  ca?: boolean;
  pathLen?: number;
  keyUsage?: KeyUsageName[];
  eku?: string[];
  dns?: string[];
  ips?: string[];
  /** nameConstraints permitted DNS subtrees. */
  permittedDns?: string[];
  /** Leave out the subject/authority key identifiers. */
  noKeyIds?: boolean;
  extraExtensions?: { oid: string; critical: boolean; value: Uint8Array }[];
}

const DAY = 86_400_000;

function name(n: Record<string, string>): Buffer {
  return seq(
    ...Object.entries(n).map(([k, v]) => {
      const o = NAME_OIDS[k] ?? k;
      return set(seq(oid(o), k === 'C' ? printable(v) : utf8(v)));
    }),
  );
}

function extension(id: string, critical: boolean, value: Uint8Array): Buffer {
  return critical ? seq(oid(id), bool(true), octets(value)) : seq(oid(id), octets(value));
}

function ipBytes(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  const [head = '', tail = ''] = ip.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === '' ? [] : tail.split(':');
  const groups = ip.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return Buffer.concat(
    groups.map((g) => Buffer.from(Number.parseInt(g, 16).toString(16).padStart(4, '0'), 'hex')),
  );
}

function signatureAlgorithm(key: TestKey, hash: Hash, pss: boolean): Buffer {
  if (key.type === 'ec') {
    const ids: Record<Hash, string> = {
      sha1: '1.2.840.10045.4.1',
      sha256: '1.2.840.10045.4.3.2',
      sha384: '1.2.840.10045.4.3.3',
      sha512: '1.2.840.10045.4.3.4',
      md5: '1.2.840.10045.4.1',
    };
    return seq(oid(ids[hash]));
  }
  if (pss) {
    const hashIds: Record<Hash, string> = {
      sha1: '1.3.14.3.2.26',
      sha256: '2.16.840.1.101.3.4.2.1',
      sha384: '2.16.840.1.101.3.4.2.2',
      sha512: '2.16.840.1.101.3.4.2.3',
      md5: '1.2.840.113549.2.5',
    };
    const h = seq(oid(hashIds[hash]), nul());
    return seq(
      oid('1.2.840.113549.1.1.10'),
      seq(explicit(0, h), explicit(1, seq(oid('1.2.840.113549.1.1.8'), h)), explicit(2, int(32))),
    );
  }
  const ids: Record<Hash, string> = {
    md5: '1.2.840.113549.1.1.4',
    sha1: '1.2.840.113549.1.1.5',
    sha256: '1.2.840.113549.1.1.11',
    sha384: '1.2.840.113549.1.1.12',
    sha512: '1.2.840.113549.1.1.13',
  };
  return seq(oid(ids[hash]), nul());
}

function toPem(der: Buffer): string {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN CERTIFICATE-----\n${b64.replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
}

/** Issues one certificate. */
export function issue(spec: CertSpec): TestCert {
  const now = Date.now();
  const hash = spec.hash ?? 'sha256';
  const signer = spec.signingKey ?? spec.issuer?.key ?? spec.key;
  const pss = spec.pss === true;
  const alg = signatureAlgorithm(signer, hash, pss);
  const spki = spec.key.publicKey.export({ type: 'spki', format: 'der' });
  const skid = createHash('sha1').update(spki).digest();
  const serial = randomBytes(8);
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  const subjectDer = name(spec.subject);
  const issuerDer = spec.issuerName
    ? name(spec.issuerName)
    : spec.issuer === undefined
      ? subjectDer
      : spec.issuer.subjectDer;

  const exts: Buffer[] = [];
  if (spec.ca !== undefined) {
    const fields = [
      spec.ca ? bool(true) : Buffer.alloc(0),
      spec.pathLen === undefined ? Buffer.alloc(0) : int(spec.pathLen),
    ];
    exts.push(extension('2.5.29.19', true, seq(...fields)));
  }
  if (spec.keyUsage !== undefined) {
    let v = 0;
    for (const u of spec.keyUsage) v |= 1 << (15 - KU_BITS[u]);
    const two = Buffer.from([v >> 8, v & 0xff]);
    const used = two[1] === 0 ? two.subarray(0, 1) : two;
    let unused = 0;
    const lastByte = used[used.length - 1]!;
    while (unused < 7 && (lastByte & (1 << unused)) === 0) unused++;
    exts.push(extension('2.5.29.15', true, bits(used, lastByte === 0 ? 0 : unused)));
  }
  if (spec.eku !== undefined) {
    exts.push(extension('2.5.29.37', false, seq(...spec.eku.map((e) => oid(EKU[e] ?? e)))));
  }
  if (spec.dns !== undefined || spec.ips !== undefined) {
    const names = [
      ...(spec.dns ?? []).map((d) => tlv(0x82, Buffer.from(d, 'latin1'))),
      ...(spec.ips ?? []).map((ip) => tlv(0x87, ipBytes(ip))),
    ];
    exts.push(extension('2.5.29.17', false, seq(...names)));
  }
  if (spec.permittedDns !== undefined) {
    const subtrees = spec.permittedDns.map((d) => seq(tlv(0x82, Buffer.from(d, 'latin1'))));
    exts.push(extension('2.5.29.30', true, seq(tlv(0xa0, ...subtrees))));
  }
  if (spec.noKeyIds !== true) {
    exts.push(extension('2.5.29.14', false, octets(skid)));
    if (spec.issuer !== undefined) exts.push(extension('2.5.29.35', false, seq(tlv(0x80, spec.issuer.skid))));
  }
  for (const e of spec.extraExtensions ?? []) exts.push(extension(e.oid, e.critical, e.value));

  const version = spec.version ?? 3;
  const tbs = seq(
    version === 3 ? explicit(0, int(2)) : Buffer.alloc(0),
    int(serial),
    alg,
    issuerDer,
    seq(time(spec.notBefore ?? now - DAY), time(spec.notAfter ?? now + 365 * DAY)),
    subjectDer,
    spki,
    version === 3 && exts.length > 0 ? explicit(3, seq(...exts)) : Buffer.alloc(0),
  );
  const signature =
    signer.type === 'ec'
      ? sign(hash, tbs, signer.privateKey)
      : pss
        ? sign(hash, tbs, { key: signer.privateKey, padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: 32 })
        : sign(hash, tbs, signer.privateKey);
  const der = seq(tbs, alg, bits(signature));
  return {
    der,
    pem: toPem(der),
    key: spec.key,
    subjectDer,
    skid,
    serial,
    name: spec.subject['CN'] ?? 'cert',
  };
}

/** The usual three-level PKI: root CA, intermediate CA, leaf for `localhost` and 127.0.0.1. */
export interface Pki {
  root: TestCert;
  intermediate: TestCert;
  leaf: TestCert;
}

export function makePki(keyType: 'rsa' | 'ec' = 'rsa', tag = 'pki'): Pki {
  const k = (n: string) => (keyType === 'rsa' ? rsaKey(`${tag}-${n}`) : ecKey(`${tag}-${n}`));
  const root = issue({
    subject: { C: 'XX', O: 'cellstack test', CN: `${tag} Root CA` },
    key: k('root'),
    ca: true,
    keyUsage: ['keyCertSign', 'cRLSign'],
    notBefore: Date.now() - 10 * DAY,
    notAfter: Date.now() + 3650 * DAY,
  });
  const intermediate = issue({
    subject: { C: 'XX', O: 'cellstack test', CN: `${tag} Intermediate CA` },
    key: k('intermediate'),
    issuer: root,
    ca: true,
    pathLen: 0,
    keyUsage: ['keyCertSign', 'cRLSign'],
  });
  const leaf = issue({
    subject: { O: 'cellstack test', CN: 'localhost' },
    key: k('leaf'),
    issuer: intermediate,
    ca: false,
    keyUsage: ['digitalSignature', 'keyEncipherment'],
    eku: ['serverAuth'],
    dns: ['localhost', 'server.test'],
    ips: ['127.0.0.1', '::1'],
  });
  return { root, intermediate, leaf };
}

// ---------------------------------------------------------------------------------------------
// openssl CLI

export function withTempDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'cellstack-pki-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A PKCS#12 file written by `openssl pkcs12 -export` (modern AES/SHA-256, or `-legacy` 3DES/RC2/SHA-1). */
export function opensslPkcs12(opts: {
  key: TestKey;
  cert: TestCert;
  chain?: TestCert[];
  passphrase: string;
  legacy?: boolean;
  noKey?: boolean;
}): Buffer {
  return withTempDir((dir) => {
    writeFileSync(join(dir, 'key.pem'), opts.key.pem);
    writeFileSync(join(dir, 'cert.pem'), opts.cert.pem);
    writeFileSync(join(dir, 'chain.pem'), (opts.chain ?? []).map((c) => c.pem).join(''));
    writeFileSync(join(dir, 'pass'), opts.passphrase);
    const args = ['pkcs12', '-export', '-in', 'cert.pem', '-out', 'out.p12', '-passout', 'file:pass'];
    if (opts.noKey === true) args.push('-nokeys');
    else args.push('-inkey', 'key.pem');
    if ((opts.chain ?? []).length > 0) args.push('-certfile', 'chain.pem');
    if (opts.legacy === true) args.push('-legacy');
    openssl(args, dir);
    return readFileSync(join(dir, 'out.p12'));
  });
}

/**
 * A chain made by the openssl CLI alone (`req -x509`, `req -new`, `x509 -req`): EC P-384 root,
 * EC P-256 intermediate and leaf (for `openssl.test` and 127.0.0.1), to check that certificates
 * from a real CA tool parse and verify like ours.
 */
export function opensslChain(): { root: string; intermediate: string; leaf: string; leafKey: string } {
  return withTempDir((dir) => {
    const ext = [
      '[ca]',
      'basicConstraints = critical, CA:TRUE',
      'keyUsage = critical, keyCertSign, cRLSign',
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid',
      '[leaf]',
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature',
      'extendedKeyUsage = serverAuth',
      'subjectAltName = DNS:openssl.test, IP:127.0.0.1',
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid',
      '',
    ].join('\n');
    writeFileSync(join(dir, 'ext.cnf'), ext);
    openssl(['ecparam', '-name', 'secp384r1', '-genkey', '-noout', '-out', 'root.key'], dir);
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'int.key'], dir);
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'leaf.key'], dir);
    openssl(
      [
        'req',
        '-x509',
        '-new',
        '-key',
        'root.key',
        '-subj',
        '/CN=openssl Root',
        '-days',
        '30',
        '-sha384',
      ].concat(['-extensions', 'ca', '-config', 'ext.cnf', '-out', 'root.pem']),
      dir,
    );
    openssl(['req', '-new', '-key', 'int.key', '-subj', '/CN=openssl Intermediate', '-out', 'int.csr'], dir);
    openssl(
      [
        'x509',
        '-req',
        '-in',
        'int.csr',
        '-CA',
        'root.pem',
        '-CAkey',
        'root.key',
        '-CAcreateserial',
        '-days',
        '30',
      ].concat(['-sha384', '-extfile', 'ext.cnf', '-extensions', 'ca', '-out', 'int.pem']),
      dir,
    );
    openssl(['req', '-new', '-key', 'leaf.key', '-subj', '/CN=openssl.test', '-out', 'leaf.csr'], dir);
    openssl(
      [
        'x509',
        '-req',
        '-in',
        'leaf.csr',
        '-CA',
        'int.pem',
        '-CAkey',
        'int.key',
        '-CAcreateserial',
        '-days',
        '30',
      ].concat(['-sha256', '-extfile', 'ext.cnf', '-extensions', 'leaf', '-out', 'leaf.pem']),
      dir,
    );
    const read = (f: string) => readFileSync(join(dir, f), 'latin1');
    return {
      root: read('root.pem'),
      intermediate: read('int.pem'),
      leaf: read('leaf.pem'),
      leafKey: read('leaf.key'),
    };
  });
}

export const days = (n: number) => n * DAY;
