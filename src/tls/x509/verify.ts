/**
 * Server certificate chain verification (RFC 5280 section 6, as OpenSSL 3 and node:tls do it).
 *
 * Pure and synchronous: certificates in, verdict out; the clock is the `now` argument.
 *
 * The steps and their order follow OpenSSL's X509_verify_cert(), because node:tls reports
 * what OpenSSL's last verification error was (Node's verify callback lets OpenSSL go on after
 * every error, then reads SSL_get_verify_result()). We record every error in the same order and
 * report the last one, so a certificate with two faults gets the code node:tls would give:
 *   1. leaf key strength                         EE_KEY_TOO_SMALL
 *   2. chain building                            DEPTH_ZERO_SELF_SIGNED_CERT, SELF_SIGNED_CERT_IN_CHAIN,
 *                                                UNABLE_TO_GET_ISSUER_CERT_LOCALLY, CERT_CHAIN_TOO_LONG
 *   3. extensions, per certificate leaf to root  UNHANDLED_CRITICAL_EXTENSION, INVALID_EXTENSION,
 *                                                INVALID_CA, INVALID_PURPOSE, PATH_LENGTH_EXCEEDED
 *   4. security level 2 (112 bits)               CA_KEY_TOO_SMALL, CA_MD_TOO_WEAK
 *   5. signatures and validity, root to leaf     KEYUSAGE_NO_CERTSIGN, CERT_SIGNATURE_FAILURE,
 *                                                UNABLE_TO_VERIFY_LEAF_SIGNATURE, CERT_NOT_YET_VALID,
 *                                                CERT_HAS_EXPIRED
 *   6. name constraints (DNS and IP forms)       PERMITTED_VIOLATION, EXCLUDED_VIOLATION
 *   7. only when 1-6 found nothing: the server name (RFC 6125)  ERR_TLS_CERT_ALTNAME_INVALID
 *
 * Intended differences from node:tls (Node 20, OpenSSL 3.0):
 * - security level 2, not Node's default 1: RSA/DSA keys under 2048 bits, EC under 224 bits and
 *   SHA-1/MD5 signatures on anything but the trust anchor fail (level 1 lets RSA-1024 through);
 * - any trust anchor ends the chain, also an intermediate (OpenSSL's X509_V_FLAG_PARTIAL_CHAIN,
 *   Node's `allowPartialTrustChain`); Node 20 wants the chain to reach a self-signed anchor;
 * - partial-label wildcards (`f*.example.com`) do not match (see identity.ts);
 * - a certificate that does not parse gives CERT_MALFORMED (OpenSSL fails the handshake
 *   instead), an empty chain CERT_MISSING.
 */
import { createHash } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import {
  KeyUsage,
  looksLikePem,
  Oid,
  type ParsedCertificate,
  parseCertificate,
  pemCertificates,
} from './certificate.js';
import { bytesEqual } from './der.js';
import { CertificateError, type ChainErrorCode, type PeerCertificate } from './errors.js';
import { checkServerIdentity as defaultCheckServerIdentity } from './identity.js';

/** Trust anchors: PEM text (one or many certificates) or DER, like node's `ca` option. */
export type CaOption = string | Buffer | Uint8Array | Array<string | Buffer | Uint8Array>;

export interface VerifyServerChainOptions {
  /** Trust anchors replacing the defaults (Node's bundled `tls.rootCertificates`). */
  ca?: CaOption;
  /** The name the client asked for (SNI); checked first. */
  servername?: string;
  /** The host connected to; checked when there is no `servername`. */
  host?: string;
  /** The time to check validity at, in ms since the epoch (a non-finite value means Date.now()). */
  now: number;
  /** Replaces the RFC 6125 check; return an Error to reject. Called only when the chain is good. */
  checkServerIdentity?: (hostname: string, cert: PeerCertificate) => Error | undefined;
}

export interface VerifyServerChainResult {
  /** True when the chain reaches a trust anchor, every check passed and the name matched. */
  authorized: boolean;
  /** Why not; `undefined` exactly when `authorized`. */
  error: CertificateError | undefined;
  /** The leaf, with `issuerCertificate` links along the chain that was built. */
  peerCertificate: PeerCertificate;
}

/** Longest chain built, leaf and anchor included (OpenSSL's default is 100; real chains are 2-4). */
export const MAX_CHAIN_DEPTH = 10;
/** Most certificates of a peer's chain looked at; the rest are ignored. */
export const MAX_PEER_CERTIFICATES = 32;
/** Most signature verifications spent searching for a path. */
export const MAX_SIGNATURE_CHECKS = 48;
/** Bits of security wanted from keys and signatures: OpenSSL security level 2. */
export const MIN_SECURITY_BITS = 112;

// ---------------------------------------------------------------------------------------------
// Trust stores

/** Parsed trust anchors, indexed by subject and by exact certificate. */
export interface TrustStore {
  readonly anchors: readonly ParsedCertificate[];
  readonly bySubject: ReadonlyMap<string, readonly ParsedCertificate[]>;
  readonly ids: ReadonlySet<string>;
  /** How many entries of the `ca` option were not usable certificates (they are skipped). */
  readonly skipped: number;
}

let defaultStore: TrustStore | undefined;
const objectStores = new WeakMap<object, TrustStore>();
const stringStores = new Map<string, TrustStore>();
const STRING_STORE_CACHE = 8;

/**
 * The trust store for a `ca` option (or Node's bundled roots), parsed once and cached: the
 * default and each `ca` object (WeakMap) or string (a few most recent) are parsed one time.
 * Entries that do not parse are skipped (counted in `skipped`), so a broken bundle fails closed.
 */
export function trustStoreFor(ca?: CaOption): TrustStore {
  if (ca === undefined) {
    defaultStore ??= buildStore([...rootCertificates]);
    return defaultStore;
  }
  if (typeof ca === 'string') {
    const hit = stringStores.get(ca);
    if (hit !== undefined) return hit;
    const store = buildStore([ca]);
    if (stringStores.size >= STRING_STORE_CACHE) {
      const oldest = stringStores.keys().next().value;
      if (oldest !== undefined) stringStores.delete(oldest);
    }
    stringStores.set(ca, store);
    return store;
  }
  const hit = objectStores.get(ca);
  if (hit !== undefined) return hit;
  const store = buildStore(Array.isArray(ca) ? ca : [ca]);
  objectStores.set(ca, store);
  return store;
}

function buildStore(items: readonly unknown[]): TrustStore {
  const anchors: ParsedCertificate[] = [];
  const bySubject = new Map<string, ParsedCertificate[]>();
  const ids = new Set<string>();
  let skipped = 0;
  for (const item of items) {
    let ders: Uint8Array[];
    if (typeof item === 'string') ders = pemCertificates(item);
    else if (item instanceof Uint8Array) {
      ders = looksLikePem(item)
        ? pemCertificates(Buffer.from(item.buffer, item.byteOffset, item.byteLength).toString('latin1'))
        : [item];
    } else {
      skipped++;
      continue;
    }
    if (ders.length === 0) skipped++;
    for (const der of ders) {
      const cert = tryParse(der);
      if (cert === undefined) {
        skipped++;
        continue;
      }
      const id = certId(cert);
      if (ids.has(id)) continue;
      ids.add(id);
      anchors.push(cert);
      const list = bySubject.get(cert.subjectKey);
      if (list === undefined) bySubject.set(cert.subjectKey, [cert]);
      else list.push(cert);
    }
  }
  return { anchors, bySubject, ids, skipped };
}

function tryParse(der: Uint8Array): ParsedCertificate | undefined {
  try {
    return parseCertificate(der);
  } catch {
    return undefined;
  }
}

/**
 * Peer certificates parsed, by the identity of their DER buffer: one handshake's chain is
 * parsed once for the leaf's key, the chain check and the keyUsage check. The buffers are
 * the connection's own copies (never changed); entries go with them.
 */
const parsedPeers = new WeakMap<Uint8Array, ParsedCertificate>();

/**
 * A peer certificate, parsed once per DER buffer (undefined when it does not parse). Node's
 * legacy object is not built here: verifyServerChain builds the leaf's, the rest on demand.
 */
export function parsePeerCertificate(der: Uint8Array): ParsedCertificate | undefined {
  const hit = parsedPeers.get(der);
  if (hit !== undefined) return hit;
  let cert: ParsedCertificate;
  try {
    cert = parseCertificate(der, { checkLegacy: false });
  } catch {
    return undefined;
  }
  parsedPeers.set(der, cert);
  return cert;
}

function certId(cert: ParsedCertificate): string {
  return cert.x509.fingerprint256;
}

// ---------------------------------------------------------------------------------------------
// Verification

interface Recorded {
  code: ChainErrorCode;
  depth: number;
  detail?: string;
}

/**
 * Verifies the server's certificate chain (DER, leaf first, as sent in the TLS Certificate
 * message, RFC 5246 section 7.4.2) and, when the chain is good, the server name. Never throws:
 * any input gives a result, malformed certificates `CERT_MALFORMED`.
 */
export function verifyServerChain(
  chain: Uint8Array[],
  options: VerifyServerChainOptions,
): VerifyServerChainResult {
  const list = Array.isArray(chain) ? chain.slice(0, MAX_PEER_CERTIFICATES) : [];
  const first = list[0];
  if (first === undefined) {
    return fail(CertificateError.chain('CERT_MISSING'), placeholderCertificate(new Uint8Array(0)));
  }
  const sent: ParsedCertificate[] = [];
  // Node's legacy object of the leaf: the PeerCertificate, and what the name check reads.
  let leafObject: PeerCertificate | undefined;
  for (let i = 0; i < list.length; i++) {
    const der = list[i];
    let cert = der instanceof Uint8Array ? parsePeerCertificate(der) : undefined;
    if (cert !== undefined && i === 0) {
      leafObject = tryLegacy(cert);
      if (leafObject === undefined) cert = undefined;
    }
    if (cert === undefined) {
      const peer =
        leafObject ?? placeholderCertificate(first instanceof Uint8Array ? first : new Uint8Array(0));
      return fail(CertificateError.chain('CERT_MALFORMED', i, `certificate ${i} does not parse`), peer);
    }
    sent.push(cert);
  }
  const leaf = sent[0]!;
  const now = Number.isFinite(options.now) ? options.now : Date.now();
  const store = trustStoreFor(options.ca);
  const ctx = new PathContext(store, sent, now);

  const errors: Recorded[] = [];
  const record = (code: ChainErrorCode, depth: number, detail?: string) => {
    errors.push(detail === undefined ? { code, depth } : { code, depth, detail });
  };

  // 1. X509_verify_cert(): a weak peer key fails before anything else is looked at.
  if (!keyStrongEnough(leaf)) record('EE_KEY_TOO_SMALL', 0);

  // 2. Build the path: one where every signature verifies if there is one, else the best guess.
  const built = ctx.build(leaf);
  const path = built.path;
  const top = path.length - 1;
  if (built.outcome === 'too-long') record('CERT_CHAIN_TOO_LONG', top);
  else if (built.outcome === 'self-signed') {
    record(path.length === 1 ? 'DEPTH_ZERO_SELF_SIGNED_CERT' : 'SELF_SIGNED_CERT_IN_CHAIN', top);
  } else if (built.outcome === 'no-issuer') record('UNABLE_TO_GET_ISSUER_CERT_LOCALLY', top);

  // 3. Extensions (RFC 5280 section 6.1.4, OpenSSL check_chain_extensions()).
  let plen = 0;
  for (let i = 0; i < path.length; i++) {
    const cert = path[i]!;
    if (cert.unhandledCritical.length > 0) {
      record('UNHANDLED_CRITICAL_EXTENSION', i, cert.unhandledCritical.join(', '));
    }
    if (cert.invalidExtension !== undefined) record('INVALID_EXTENSION', i, cert.invalidExtension);
    if (i > 0) {
      const kind = caKind(cert);
      // Intermediates need basicConstraints cA TRUE (section 4.2.1.9); the anchor any CA sign.
      if (kind === 0 || (i < top && kind !== 1)) record('INVALID_CA', i);
    }
    if (!purposeOk(cert, i > 0)) record('INVALID_PURPOSE', i);
    const pathLen = cert.basicConstraints?.pathLen;
    if (i > 1 && pathLen !== undefined && plen > pathLen) record('PATH_LENGTH_EXCEEDED', i);
    if (i > 0 && !cert.selfIssued) plen++;
  }

  // 4. Security level (OpenSSL check_auth_level()): issuer keys, and every signature but the anchor's.
  for (let i = 0; i < path.length; i++) {
    const cert = path[i]!;
    if (i > 0 && !keyStrongEnough(cert)) record('CA_KEY_TOO_SMALL', i);
    if (i < top && weakSignature(cert)) record('CA_MD_TOO_WEAK', i, cert.signatureHash);
  }

  // 5. Signatures and validity, from the top down (OpenSSL internal_verify()).
  let n = top;
  let checkTopSignature = false;
  const topCert = path[top]!;
  if (!built.trusted && !ctx.selfSigned(topCert)) {
    // The top has no issuer: nothing can vouch for it, so its own dates are not looked at.
    if (n === 0) record('UNABLE_TO_VERIFY_LEAF_SIGNATURE', 0);
    n--;
    checkTopSignature = true;
  }
  for (; n >= 0; n--) {
    const cert = path[n]!;
    if (n < top || checkTopSignature) {
      const issuer = path[n + 1]!;
      // RFC 5280 section 4.2.1.3: an issuer with keyUsage must have keyCertSign.
      if (issuer.keyUsage !== undefined && (issuer.keyUsage & KeyUsage.keyCertSign) === 0) {
        record('KEYUSAGE_NO_CERTSIGN', n + 1);
      }
      if (!ctx.signedBy(cert, issuer)) record('CERT_SIGNATURE_FAILURE', n);
    }
    if (cert.notBefore > now) record('CERT_NOT_YET_VALID', n);
    if (cert.notAfter <= now) record('CERT_HAS_EXPIRED', n);
  }

  // 6. Name constraints of every CA apply to the certificates below it (section 4.2.1.10).
  checkNameConstraints(path, record);

  // The PeerCertificate: the leaf's object now, its issuerCertificate links when asked for.
  let linked = false;
  const peerCertificate = (): PeerCertificate => {
    if (!linked) {
      linked = true;
      linkPeerCertificates(leafObject!, path, ctx);
    }
    return leafObject!;
  };
  const last = errors[errors.length - 1];
  if (last !== undefined)
    return fail(CertificateError.chain(last.code, last.depth, last.detail), peerCertificate());

  // 7. The server's identity (node: `servername || host || 'localhost'`). The default check
  // reads the leaf's names only; a caller's checker gets the linked chain.
  const hostname = options.servername || options.host || 'localhost';
  let identityError: Error | undefined;
  try {
    identityError =
      options.checkServerIdentity === undefined
        ? defaultCheckServerIdentity(hostname, leafObject!)
        : options.checkServerIdentity(hostname, peerCertificate());
  } catch (err) {
    identityError = err instanceof Error ? err : new Error(String(err));
  }
  if (identityError !== undefined && identityError !== null) {
    return fail(asCertificateError(identityError), peerCertificate());
  }
  // Authorized: the rest of the chain's legacy objects are built on first access (most
  // connections never call getPeerCertificate).
  return {
    authorized: true,
    error: undefined,
    get peerCertificate() {
      return peerCertificate();
    },
  };
}

function fail(error: CertificateError, peerCertificate: PeerCertificate): VerifyServerChainResult {
  return { authorized: false, error, peerCertificate };
}

/**
 * A custom checker's Error becomes a CertificateError with the same message and, when it has a
 * string `code`, that code (else ERR_TLS_CERT_ALTNAME_INVALID); the original is the `cause`.
 */
function asCertificateError(err: Error): CertificateError {
  if (err instanceof CertificateError) return err;
  const code = (err as { code?: unknown }).code;
  return new CertificateError(typeof code === 'string' ? code : 'ERR_TLS_CERT_ALTNAME_INVALID', err.message, {
    cause: err,
  });
}

type BuildOutcome = 'trusted' | 'self-signed' | 'no-issuer' | 'too-long';

/** Chain building over one peer chain and one store, with memoised signature checks. */
class PathContext {
  private readonly verified = new Map<string, boolean>();
  private budget = MAX_SIGNATURE_CHECKS;

  constructor(
    private readonly store: TrustStore,
    private readonly sent: readonly ParsedCertificate[],
    private readonly now: number,
  ) {}

  /** Currently valid candidates first (as OpenSSL 3's issuer lookup), else in the given order. */
  private preferValid(list: ParsedCertificate[]): ParsedCertificate[] {
    const valid = (c: ParsedCertificate) => c.notBefore <= this.now && this.now < c.notAfter;
    return [...list.filter(valid), ...list.filter((c) => !valid(c))];
  }

  isAnchor(cert: ParsedCertificate): boolean {
    return this.store.ids.has(certId(cert));
  }

  /** `issuer` could have issued `cert` (OpenSSL ossl_x509_likely_issued(), no signature check). */
  likelyIssued(cert: ParsedCertificate, issuer: ParsedCertificate): boolean {
    if (cert.issuerKey !== issuer.subjectKey) return false;
    // RFC 5280 section 4.2.1.1: the authority key identifier must match when both are there.
    if (cert.authorityKeyId !== undefined && issuer.subjectKeyId !== undefined) {
      if (cert.authorityKeyId !== issuer.subjectKeyId) return false;
    }
    if (cert.authoritySerial !== undefined && !bytesEqual(cert.authoritySerial, issuer.serial)) return false;
    return keyFitsSignature(cert, issuer);
  }

  selfSigned(cert: ParsedCertificate): boolean {
    return cert.selfIssued && this.likelyIssued(cert, cert);
  }

  /** The signature on `cert` verifies with `issuer`'s key (node:crypto, RSA/PSS/ECDSA/EdDSA). */
  signedBy(cert: ParsedCertificate, issuer: ParsedCertificate): boolean {
    const key = `${certId(cert)}>${certId(issuer)}`;
    const hit = this.verified.get(key);
    if (hit !== undefined) return hit;
    let ok = false;
    try {
      ok = cert.x509.verify(issuer.publicKey);
    } catch {
      ok = false;
    }
    this.verified.set(key, ok);
    return ok;
  }

  /** Signature check that spends search budget; false once the budget is gone. */
  private trySigned(cert: ParsedCertificate, issuer: ParsedCertificate): boolean {
    const key = `${certId(cert)}>${certId(issuer)}`;
    if (!this.verified.has(key)) {
      if (this.budget <= 0) return false;
      this.budget--;
    }
    return this.signedBy(cert, issuer);
  }

  private anchorIssuers(cert: ParsedCertificate): ParsedCertificate[] {
    return this.preferValid(
      (this.store.bySubject.get(cert.issuerKey) ?? []).filter((a) => this.likelyIssued(cert, a)),
    );
  }

  private sentIssuers(cert: ParsedCertificate, path: readonly ParsedCertificate[]): ParsedCertificate[] {
    return this.preferValid(this.sent.filter((c) => !path.includes(c) && this.likelyIssued(cert, c)));
  }

  build(leaf: ParsedCertificate): { path: ParsedCertificate[]; trusted: boolean; outcome: BuildOutcome } {
    const good = this.search([leaf]);
    if (good !== undefined) return { path: good, trusted: true, outcome: 'trusted' };
    return this.guess(leaf);
  }

  /** Depth-first search for a path whose signatures all verify, ending at an anchor. */
  private search(path: ParsedCertificate[]): ParsedCertificate[] | undefined {
    const cur = path[path.length - 1]!;
    if (this.isAnchor(cur)) return path;
    if (path.length >= MAX_CHAIN_DEPTH) return undefined;
    for (const anchor of this.anchorIssuers(cur)) {
      if (this.trySigned(cur, anchor)) return [...path, anchor];
    }
    if (this.selfSigned(cur)) return undefined;
    for (const next of this.sentIssuers(cur, path)) {
      if (!this.trySigned(cur, next)) continue;
      const found = this.search([...path, next]);
      if (found !== undefined) return found;
    }
    return undefined;
  }

  /**
   * No good path: build OpenSSL's way (names and key identifiers only, anchors first) so the
   * errors say what is wrong with the chain the server meant.
   */
  private guess(leaf: ParsedCertificate): {
    path: ParsedCertificate[];
    trusted: boolean;
    outcome: BuildOutcome;
  } {
    const path = [leaf];
    for (;;) {
      const cur = path[path.length - 1]!;
      if (this.isAnchor(cur)) return { path, trusted: true, outcome: 'trusted' };
      const anchors = this.anchorIssuers(cur);
      if (anchors.length > 0) {
        if (path.length >= MAX_CHAIN_DEPTH) return { path, trusted: false, outcome: 'too-long' };
        path.push(anchors.find((a) => this.trySigned(cur, a)) ?? anchors[0]!);
        return { path, trusted: true, outcome: 'trusted' };
      }
      if (this.selfSigned(cur)) return { path, trusted: false, outcome: 'self-signed' };
      const next = this.sentIssuers(cur, path);
      if (next.length === 0) return { path, trusted: false, outcome: 'no-issuer' };
      if (path.length >= MAX_CHAIN_DEPTH) return { path, trusted: false, outcome: 'too-long' };
      path.push(next.find((c) => this.trySigned(cur, c)) ?? next[0]!);
    }
  }
}

/** OpenSSL check_sig_alg_match(): the issuer's key type is the one the signature needs. */
function keyFitsSignature(cert: ParsedCertificate, issuer: ParsedCertificate): boolean {
  switch (cert.signatureKeyType) {
    case 'rsa':
      return issuer.keyType === 'rsa' || issuer.keyType === 'rsa-pss';
    case 'unknown':
      return true;
    default:
      return issuer.keyType === cert.signatureKeyType;
  }
}

/**
 * OpenSSL check_ca(): 0 not a CA, 1 basicConstraints cA, 3 v1 self-signed root, 4 keyUsage
 * without basicConstraints. keyUsage, when present, must allow keyCertSign (RFC 5280 4.2.1.3).
 */
function caKind(cert: ParsedCertificate): number {
  if (cert.keyUsage !== undefined && (cert.keyUsage & KeyUsage.keyCertSign) === 0) return 0;
  if (cert.basicConstraints !== undefined) return cert.basicConstraints.ca ? 1 : 0;
  if (cert.version === 0 && cert.selfIssued) return 3;
  if (cert.keyUsage !== undefined) return 4;
  return 0;
}

/**
 * The certificate may serve a TLS server (OpenSSL's "sslserver" purpose): extendedKeyUsage,
 * when present, lists serverAuth (RFC 5280 section 4.2.1.12; also for CAs, as OpenSSL does);
 * the leaf's keyUsage, when present, allows digitalSignature, keyEncipherment or keyAgreement.
 */
function purposeOk(cert: ParsedCertificate, isCa: boolean): boolean {
  const eku = cert.extKeyUsage;
  if (eku !== undefined && !eku.some((o) => o === Oid.serverAuth || o === Oid.nsSGC || o === Oid.msSGC)) {
    return false;
  }
  if (isCa) return caKind(cert) !== 0;
  const ku = cert.keyUsage;
  const need = KeyUsage.digitalSignature | KeyUsage.keyEncipherment | KeyUsage.keyAgreement;
  return ku === undefined || (ku & need) !== 0;
}

/**
 * keyUsage bits a TLS 1.2 server leaf needs for a key exchange (RFC 5246 section 7.4.2; RFC 5280
 * section 4.2.1.3): (EC)DHE signs with digitalSignature, static RSA key exchange encrypts to
 * keyEncipherment, static ECDH agrees with keyAgreement. True when there is no keyUsage.
 */
export function leafKeyUsageAllows(
  peer: PeerCertificate | Uint8Array,
  use: 'digitalSignature' | 'keyEncipherment' | 'keyAgreement',
): boolean {
  const der = peer instanceof Uint8Array ? peer : peer.raw;
  const cert = der === undefined ? undefined : parsePeerCertificate(der);
  if (cert === undefined) return false;
  return cert.keyUsage === undefined || (cert.keyUsage & KeyUsage[use]) !== 0;
}

/** OpenSSL EVP_PKEY_get_security_bits() estimate for the certificate's key. */
function securityBits(cert: ParsedCertificate): number {
  const bits = cert.keyBits ?? 0;
  switch (cert.keyType) {
    case 'rsa':
    case 'rsa-pss':
    case 'dsa':
      // NIST SP 800-57 part 1 table 2, as OpenSSL BN_security_bits().
      return bits >= 15360
        ? 256
        : bits >= 7680
          ? 192
          : bits >= 3072
            ? 128
            : bits >= 2048
              ? 112
              : bits >= 1024
                ? 80
                : 0;
    case 'ec':
      return Math.floor(bits / 2);
    case 'ed25519':
    case 'x25519':
      return 128;
    case 'ed448':
    case 'x448':
      return 224;
    default:
      return 0;
  }
}

function keyStrongEnough(cert: ParsedCertificate): boolean {
  return securityBits(cert) >= MIN_SECURITY_BITS;
}

function weakSignature(cert: ParsedCertificate): boolean {
  const h = cert.signatureHash;
  return h === 'md2' || h === 'md4' || h === 'md5' || h === 'sha1';
}

// ---------------------------------------------------------------------------------------------
// Name constraints (RFC 5280 section 4.2.1.10), DNS and IP forms

function checkNameConstraints(
  path: readonly ParsedCertificate[],
  record: (code: ChainErrorCode, depth: number, detail?: string) => void,
): void {
  for (let i = path.length - 1; i > 0; i--) {
    const nc = path[i]!.nameConstraints;
    if (nc === undefined) continue;
    for (let j = i - 1; j >= 0; j--) {
      const cert = path[j]!;
      // Self-issued intermediates are exempt (section 6.1.3 (b)).
      if (j > 0 && cert.selfIssued) continue;
      const dns = [...cert.dnsNames];
      // OpenSSL also constrains a host-like CN when there is no DNS SAN.
      if (dns.length === 0 && j === 0) {
        for (const cn of cert.subjectCommonNames)
          if (/^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/.test(cn)) dns.push(cn);
      }
      for (const name of dns) {
        if (nc.excludedDns.some((c) => dnsWithin(name, c))) {
          record('EXCLUDED_VIOLATION', j, name);
        } else if (nc.permittedDns.length > 0 && !nc.permittedDns.some((c) => dnsWithin(name, c))) {
          record('PERMITTED_VIOLATION', j, name);
        }
      }
      for (const ip of cert.ipAddresses) {
        if (nc.excludedIp.some((c) => ipWithin(ip, c))) record('EXCLUDED_VIOLATION', j);
        else {
          const sameFamily = nc.permittedIp.filter((c) => c.addr.length === ip.length);
          if (sameFamily.length > 0 && !sameFamily.some((c) => ipWithin(ip, c)))
            record('PERMITTED_VIOLATION', j);
        }
      }
    }
  }
}

/** A DNS name is within a constraint: equal, or a subdomain (leading dot or not). */
function dnsWithin(name: string, constraint: string): boolean {
  const n = name.toLowerCase().replace(/\.$/, '');
  const c = constraint.toLowerCase();
  if (c === '') return true;
  if (c.startsWith('.')) return n.endsWith(c);
  return n === c || n.endsWith(`.${c}`);
}

function ipWithin(ip: Uint8Array, c: { addr: Uint8Array; mask: Uint8Array }): boolean {
  if (ip.length !== c.addr.length) return false;
  for (let k = 0; k < ip.length; k++) if ((ip[k]! & c.mask[k]!) !== (c.addr[k]! & c.mask[k]!)) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// PeerCertificate

/** Node's legacy object (a new one each time: links are set on it), undefined when node cannot build it. */
function tryLegacy(cert: ParsedCertificate): PeerCertificate | undefined {
  try {
    return cert.x509.toLegacyObject() as PeerCertificate;
  } catch {
    return undefined;
  }
}

/**
 * Node's getPeerCertificate(true) shape, from the leaf's object: issuer links; a self-signed
 * top points to itself. (A certificate node cannot describe, which only a trust store parsed
 * without the check could hold, stands as its placeholder.)
 */
function linkPeerCertificates(
  leaf: PeerCertificate,
  path: readonly ParsedCertificate[],
  ctx: PathContext,
): void {
  const objects = path.map((c, i) => (i === 0 ? leaf : (tryLegacy(c) ?? placeholderCertificate(c.der))));
  for (let i = 0; i + 1 < objects.length; i++) objects[i]!.issuerCertificate = objects[i + 1]!;
  const top = path[path.length - 1]!;
  const topObject = objects[objects.length - 1]!;
  if (ctx.selfSigned(top)) topObject.issuerCertificate = topObject;
}

/** Stand-in for a leaf that does not parse: only `raw` and the fingerprints are real. */
function placeholderCertificate(bytes: Uint8Array): PeerCertificate {
  const raw = Buffer.from(bytes);
  const fp = (alg: string) =>
    createHash(alg)
      .update(raw)
      .digest('hex')
      .toUpperCase()
      .replace(/(..)(?!$)/g, '$1:');
  return {
    ca: false,
    raw,
    subject: {},
    issuer: {},
    valid_from: '',
    valid_to: '',
    serialNumber: '',
    fingerprint: fp('sha1'),
    fingerprint256: fp('sha256'),
    fingerprint512: fp('sha512'),
  };
}
