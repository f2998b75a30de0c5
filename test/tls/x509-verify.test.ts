/**
 * verifyServerChain() and checkServerIdentity() on their own: error objects, options, trust
 * store inputs, limits, and the RFC 6125 name rules against node's tls.checkServerIdentity.
 */
import tls from 'node:tls';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CertificateError,
  CHAIN_ERROR_MESSAGES,
  checkServerIdentity,
  HostnameMismatchError,
  leafKeyUsageAllows,
  MAX_CHAIN_DEPTH,
  matchDnsName,
  type PeerCertificate,
  parseCertificate,
  trustStoreFor,
  verifyServerChain,
} from '../../src/tls/x509/index.js';
import { CellstackError } from '../../src/util/errors.js';
import { days, ecKey, issue, makePki, type Pki, rsaKey, type TestCert } from '../helpers/test-pki.js';

let pki: Pki;
const now = () => Date.now();

beforeAll(() => {
  pki = makePki('rsa', 'unit');
});

const ders = (...certs: TestCert[]) => certs.map((c) => new Uint8Array(c.der));

describe('verifyServerChain', () => {
  it('authorizes a good chain and links the peer certificate to the root', () => {
    const r = verifyServerChain(ders(pki.leaf, pki.intermediate), {
      ca: pki.root.pem,
      host: '127.0.0.1',
      now: now(),
    });
    expect(r.authorized).toBe(true);
    expect(r.error).toBeUndefined();
    const leaf = r.peerCertificate;
    expect(leaf.subject.CN).toBe('localhost');
    expect(leaf.subjectaltname).toBe(
      'DNS:localhost, DNS:server.test, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1',
    );
    expect(leaf.issuerCertificate?.subject.CN).toBe('unit Intermediate CA');
    const root = leaf.issuerCertificate?.issuerCertificate;
    expect(root?.subject.CN).toBe('unit Root CA');
    expect(root?.issuerCertificate).toBe(root);
    expect(leaf.bits).toBe(2048);
    expect(leaf.raw.equals(pki.leaf.der)).toBe(true);
  });

  it('accepts the trust anchors as PEM bundle, DER Buffer, arrays and Uint8Array', () => {
    const opts = { host: '127.0.0.1', now: now() };
    const other = makePki('rsa', 'unit-other').root;
    for (const ca of [
      other.pem + pki.root.pem,
      Buffer.from(pki.root.pem),
      pki.root.der,
      [other.der, pki.root.der],
      [other.pem, Buffer.from(pki.root.pem)],
      new Uint8Array(pki.root.der),
    ]) {
      expect(verifyServerChain(ders(pki.leaf, pki.intermediate), { ...opts, ca }).authorized).toBe(true);
    }
  });

  it('caches trust stores, skips unusable ca entries and fails closed', () => {
    expect(trustStoreFor()).toBe(trustStoreFor());
    expect(trustStoreFor().anchors.length).toBe(tls.rootCertificates.length);
    const ca = [pki.root.pem];
    expect(trustStoreFor(ca)).toBe(trustStoreFor(ca));
    expect(trustStoreFor(pki.root.pem)).toBe(trustStoreFor(pki.root.pem));
    const junk = trustStoreFor(['not a certificate', Buffer.from([1, 2, 3])]);
    expect(junk.anchors).toHaveLength(0);
    expect(junk.skipped).toBe(2);
    const r = verifyServerChain(ders(pki.leaf, pki.intermediate), {
      ca: 'garbage',
      host: '127.0.0.1',
      now: now(),
    });
    expect(r.error?.code).toBe('UNABLE_TO_GET_ISSUER_CERT_LOCALLY');
  });

  it('gives typed errors with OpenSSL wording, the depth at fault and the peer certificate', () => {
    const r = verifyServerChain(ders(pki.leaf, pki.intermediate), {
      ca: pki.root.pem,
      host: '127.0.0.1',
      now: now() + days(400),
    });
    expect(r.authorized).toBe(false);
    expect(r.error).toBeInstanceOf(CertificateError);
    expect(r.error).toBeInstanceOf(CellstackError);
    expect(r.error?.code).toBe('CERT_HAS_EXPIRED');
    expect(r.error?.message).toBe('certificate has expired');
    expect(r.error?.depth).toBe(0);
    expect(r.peerCertificate.subject.CN).toBe('localhost');
  });

  it('uses the `now` it is given, not the wall clock', () => {
    const opts = { ca: pki.root.pem, host: '127.0.0.1' };
    expect(
      verifyServerChain(ders(pki.leaf, pki.intermediate), { ...opts, now: now() - days(2) }).error?.code,
    ).toBe('CERT_NOT_YET_VALID');
    expect(verifyServerChain(ders(pki.leaf, pki.intermediate), { ...opts, now: Number.NaN }).authorized).toBe(
      true,
    );
  });

  it('checks servername first, then host, then "localhost" (as node)', () => {
    const base = { ca: pki.root.pem, now: now() };
    const chain = ders(pki.leaf, pki.intermediate);
    expect(
      verifyServerChain(chain, { ...base, servername: 'server.test', host: 'nope.test' }).authorized,
    ).toBe(true);
    expect(
      verifyServerChain(chain, { ...base, servername: 'nope.test', host: 'server.test' }).authorized,
    ).toBe(false);
    expect(verifyServerChain(chain, { ...base, host: 'server.test' }).authorized).toBe(true);
    expect(verifyServerChain(chain, base).authorized).toBe(true); // localhost is in the SANs
  });

  it("reports a name mismatch like node's ERR_TLS_CERT_ALTNAME_INVALID", () => {
    const r = verifyServerChain(ders(pki.leaf, pki.intermediate), {
      ca: pki.root.pem,
      servername: 'evil.test',
      now: now(),
    });
    const err = r.error;
    expect(err).toBeInstanceOf(HostnameMismatchError);
    const theirs = tls.checkServerIdentity('evil.test', r.peerCertificate) as Error & {
      reason: string;
      host: string;
    };
    expect(err?.code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    expect(err?.message).toBe(theirs.message);
    const mismatch = err as HostnameMismatchError;
    expect(mismatch.reason).toBe(theirs.reason);
    expect(mismatch.host).toBe('evil.test');
    expect(mismatch.cert).toBe(r.peerCertificate);
  });

  it('lets a custom checkServerIdentity decide, and wraps what it returns or throws', () => {
    const base = { ca: pki.root.pem, now: now(), servername: 'anything.test' };
    const chain = ders(pki.leaf, pki.intermediate);
    const seen: string[] = [];
    const ok = verifyServerChain(chain, {
      ...base,
      checkServerIdentity: (host, cert) => {
        seen.push(`${host} ${cert.subject.CN}`);
        return undefined;
      },
    });
    expect(ok.authorized).toBe(true);
    expect(seen).toEqual(['anything.test localhost']);

    const pinned = Object.assign(new Error('pin mismatch'), { code: 'ERR_PIN' });
    const bad = verifyServerChain(chain, { ...base, checkServerIdentity: () => pinned });
    expect(bad.authorized).toBe(false);
    expect(bad.error).toBeInstanceOf(CertificateError);
    expect(bad.error?.code).toBe('ERR_PIN');
    expect(bad.error?.message).toBe('pin mismatch');
    expect(bad.error?.cause).toBe(pinned);

    const plain = verifyServerChain(chain, { ...base, checkServerIdentity: () => new Error('no') });
    expect(plain.error?.code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    const thrown = verifyServerChain(chain, {
      ...base,
      checkServerIdentity: () => {
        throw new Error('boom');
      },
    });
    expect(thrown.error?.message).toBe('boom');

    // node's own checker fits the option.
    const nodeChecker = verifyServerChain(chain, { ...base, checkServerIdentity: tls.checkServerIdentity });
    expect(nodeChecker.error?.code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    // Not called when the chain already failed.
    let called = false;
    verifyServerChain(ders(pki.leaf), {
      ...base,
      checkServerIdentity: () => {
        called = true;
        return undefined;
      },
    });
    expect(called).toBe(false);
  });

  it('never throws: empty chain, junk and truncated certificates', () => {
    const opts = { ca: pki.root.pem, host: '127.0.0.1', now: now() };
    expect(verifyServerChain([], opts).error?.code).toBe('CERT_MISSING');
    expect(verifyServerChain(undefined as unknown as Uint8Array[], opts).error?.code).toBe('CERT_MISSING');
    const junk = verifyServerChain([new Uint8Array([0x30, 0x03, 1, 2])], opts);
    expect(junk.authorized).toBe(false);
    expect(junk.error?.code).toBe('CERT_MALFORMED');
    expect(junk.peerCertificate.raw).toEqual(Buffer.from([0x30, 0x03, 1, 2]));
    expect(junk.peerCertificate.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    const truncated = verifyServerChain([pki.leaf.der.subarray(0, 200), pki.intermediate.der], opts);
    expect(truncated.error?.code).toBe('CERT_MALFORMED');
    const badSecond = verifyServerChain([pki.leaf.der, new Uint8Array(10)], opts);
    expect(badSecond.error?.code).toBe('CERT_MALFORMED');
    expect(badSecond.error?.depth).toBe(1);
    expect(badSecond.peerCertificate.subject.CN).toBe('localhost');
    expect(verifyServerChain(['x' as unknown as Uint8Array], opts).error?.code).toBe('CERT_MALFORMED');
  });

  it('bounds the chain depth (CERT_CHAIN_TOO_LONG)', () => {
    // root -> 11 intermediates -> leaf: longer than MAX_CHAIN_DEPTH.
    let issuer = pki.root;
    const intermediates: TestCert[] = [];
    for (let i = 0; i < MAX_CHAIN_DEPTH + 1; i++) {
      issuer = issue({ subject: { CN: `deep ${i}` }, key: rsaKey('unit-intermediate'), issuer, ca: true });
      intermediates.push(issuer);
    }
    const leaf = issue({
      subject: { CN: 'deep leaf' },
      key: rsaKey('unit-leaf'),
      issuer,
      ips: ['127.0.0.1'],
    });
    const chain = ders(leaf, ...intermediates.reverse());
    const r = verifyServerChain(chain, { ca: pki.root.pem, host: '127.0.0.1', now: now() });
    expect(r.error?.code).toBe('CERT_CHAIN_TOO_LONG');
    // A long but allowed chain passes.
    const short = verifyServerChain(chain.slice(0, 1).concat(chain.slice(1, MAX_CHAIN_DEPTH - 1)), {
      ca: intermediates[MAX_CHAIN_DEPTH - 2]!.pem,
      host: '127.0.0.1',
      now: now(),
    });
    expect(short.authorized).toBe(true);
  });

  it('searches past a decoy issuer with the same name (bounded, signatures decide)', () => {
    // Two intermediates with the same subject name and no key identifiers; only one signed the leaf.
    const realInt = issue({
      subject: { CN: 'twin' },
      key: rsaKey('unit-intermediate'),
      issuer: pki.root,
      ca: true,
      noKeyIds: true,
    });
    const decoy = issue({
      subject: { CN: 'twin' },
      key: rsaKey('unit-decoy'),
      issuer: pki.root,
      ca: true,
      noKeyIds: true,
    });
    const leaf = issue({
      subject: { CN: 'l' },
      key: rsaKey('unit-leaf'),
      issuer: realInt,
      ips: ['127.0.0.1'],
      noKeyIds: true,
    });
    const r = verifyServerChain(ders(leaf, decoy, realInt), {
      ca: pki.root.pem,
      host: '127.0.0.1',
      now: now(),
    });
    expect(r.authorized).toBe(true);
    expect(r.peerCertificate.issuerCertificate?.fingerprint256).toBe(
      parseCertificate(realInt.der).x509.fingerprint256,
    );
    // Many decoys do not make it search forever.
    const many = Array.from({ length: 40 }, () => decoy);
    const r2 = verifyServerChain(ders(leaf, ...many), { ca: pki.root.pem, host: '127.0.0.1', now: now() });
    expect(r2.authorized).toBe(false);
  });

  it('treats RSA-PSS with SHA-1 and ECDSA-SHA1 as weak digests', () => {
    const int = issue({
      subject: { CN: 'pss1' },
      key: rsaKey('unit-intermediate'),
      issuer: pki.root,
      ca: true,
      pss: true,
      hash: 'sha1',
    });
    const leaf = issue({ subject: { CN: 'l' }, key: rsaKey('unit-leaf'), issuer: int, ips: ['127.0.0.1'] });
    const r = verifyServerChain(ders(leaf, int), { ca: pki.root.pem, host: '127.0.0.1', now: now() });
    expect(r.error?.code).toBe('CA_MD_TOO_WEAK');
    expect(r.error?.detail).toBe('sha1');
    const ecRoot = issue({ subject: { CN: 'ec root' }, key: ecKey('unit-ecroot'), ca: true });
    const ecLeaf = issue({
      subject: { CN: 'l' },
      key: ecKey('unit-ecleaf'),
      issuer: ecRoot,
      hash: 'sha1',
      ips: ['127.0.0.1'],
    });
    expect(
      verifyServerChain(ders(ecLeaf), { ca: ecRoot.pem, host: '127.0.0.1', now: now() }).error?.code,
    ).toBe('CA_MD_TOO_WEAK');
    const p384 = issue({
      subject: { CN: 'l' },
      key: ecKey('unit-p384', 'P-384'),
      issuer: ecRoot,
      hash: 'sha384',
      ips: ['127.0.0.1'],
    });
    const ok = verifyServerChain(ders(p384), { ca: ecRoot.pem, host: '127.0.0.1', now: now() });
    expect(ok.authorized).toBe(true);
    expect(ok.peerCertificate.nistCurve).toBe('P-384');
  });

  it('rejects an RSA-1024 server key with EE_KEY_TOO_SMALL even when everything else is fine', () => {
    const leaf = issue({
      subject: { CN: 'weak' },
      key: rsaKey('unit-weak', 1024),
      issuer: pki.intermediate,
      ips: ['127.0.0.1'],
    });
    const r = verifyServerChain(ders(leaf, pki.intermediate), {
      ca: pki.root.pem,
      host: '127.0.0.1',
      now: now(),
    });
    expect(r.error?.code).toBe('EE_KEY_TOO_SMALL');
    expect(r.error?.message).toBe(CHAIN_ERROR_MESSAGES.EE_KEY_TOO_SMALL);
  });

  it('reports a broken or duplicate extension as INVALID_EXTENSION', () => {
    const leaf = issue({
      subject: { CN: 'dup' },
      key: rsaKey('unit-leaf'),
      issuer: pki.intermediate,
      ips: ['127.0.0.1'],
      extraExtensions: [
        { oid: '2.5.29.19', critical: true, value: Buffer.from([0x30, 0x03, 0x01, 0x01, 0x00]) },
      ],
      ca: false,
    });
    const r = verifyServerChain(ders(leaf, pki.intermediate), {
      ca: pki.root.pem,
      host: '127.0.0.1',
      now: now(),
    });
    expect(r.error?.code).toBe('INVALID_EXTENSION');
  });

  it('leafKeyUsageAllows() tells which key exchange the leaf may do', () => {
    const r = verifyServerChain(ders(pki.leaf, pki.intermediate), {
      ca: pki.root.pem,
      host: '127.0.0.1',
      now: now(),
    });
    expect(leafKeyUsageAllows(r.peerCertificate, 'digitalSignature')).toBe(true);
    expect(leafKeyUsageAllows(r.peerCertificate, 'keyEncipherment')).toBe(true);
    expect(leafKeyUsageAllows(pki.leaf.der, 'keyAgreement')).toBe(false);
    const signOnly = issue({
      subject: { CN: 's' },
      key: rsaKey('unit-leaf'),
      issuer: pki.intermediate,
      keyUsage: ['digitalSignature'],
    });
    expect(leafKeyUsageAllows(signOnly.der, 'keyEncipherment')).toBe(false);
    const none = issue({ subject: { CN: 'n' }, key: rsaKey('unit-leaf'), issuer: pki.intermediate });
    expect(leafKeyUsageAllows(none.der, 'keyEncipherment')).toBe(true);
    expect(leafKeyUsageAllows(new Uint8Array(3), 'digitalSignature')).toBe(false);
  });
});

describe('checkServerIdentity (RFC 6125) against node', () => {
  const cert = (subjectaltname: string | undefined, CN?: string | string[]): PeerCertificate =>
    ({
      subject: CN === undefined ? {} : { CN },
      issuer: {},
      ...(subjectaltname === undefined ? {} : { subjectaltname }),
    }) as PeerCertificate;

  const cases: [string, string | undefined, (string | string[])?][] = [
    ['a.example.com', 'DNS:a.example.com'],
    ['A.EXAMPLE.COM', 'DNS:a.example.com'],
    ['a.example.com.', 'DNS:a.example.com'],
    ['a.example.com', 'DNS:a.example.com.'],
    ['a.example.com', 'DNS:*.example.com'],
    ['a.b.example.com', 'DNS:*.example.com'],
    ['example.com', 'DNS:*.example.com'],
    ['a.com', 'DNS:*.com'],
    ['a.example.com', 'DNS:a.*.com'],
    ['xn--bcher-kva.example.com', 'DNS:*.example.com'],
    ['a.example.com', 'DNS:xn--*.example.com'],
    ['a.example.com', 'DNS:*.*.com'],
    ['a..com', 'DNS:a..com'],
    ['a.example.com', 'DNS:b.example.com, DNS:a.example.com'],
    ['a.example.com', 'IP Address:1.2.3.4', 'a.example.com'],
    ['a.example.com', undefined, 'a.example.com'],
    ['a.example.com', undefined, '*.example.com'],
    ['a.example.com', undefined, ['x.example.com', 'a.example.com']],
    ['a.example.com', 'DNS:b.example.com', 'a.example.com'],
    ['a.example.com', undefined, undefined],
    ['a.example.com', 'URI:http://a.example.com/', 'a.example.com'],
    ['1.2.3.4', 'IP Address:1.2.3.4'],
    ['1.2.3.4', 'DNS:1.2.3.4'],
    ['1.2.3.4', undefined, '1.2.3.4'],
    ['::1', 'IP Address:0:0:0:0:0:0:0:1'],
    ['0:0:0:0:0:0:0:1', 'IP Address:0:0:0:0:0:0:0:1'],
    ['::2', 'IP Address:0:0:0:0:0:0:0:1'],
    ['a.example.com', 'DNS:"a.example.com, DNS:b.example.com"'],
    ['b.example.com', 'DNS:"a.example.com, DNS:b.example.com"'],
    ['a.example.com', 'DNS:a\u00e9.example.com'],
    ['a b.example.com', 'DNS:a b.example.com'],
  ];

  it.each(cases)('%s vs %s (CN %s)', (host, san, cn) => {
    const c = cert(san, cn);
    const ours = checkServerIdentity(host, c);
    let theirs: Error | undefined;
    try {
      theirs = tls.checkServerIdentity(host, c);
    } catch (err) {
      theirs = err as Error;
    }
    expect(ours === undefined, `ours: ${ours?.message} node: ${theirs?.message}`).toBe(theirs === undefined);
    if (ours !== undefined) {
      expect(ours.message).toBe(theirs?.message);
      expect(ours.reason).toBe((theirs as Error & { reason: string }).reason);
    }
  });

  it('partial-label wildcards: node matches, we do not (RFC 9525 section 6.3)', () => {
    expect(tls.checkServerIdentity('foo.example.com', cert('DNS:f*.example.com'))).toBeUndefined();
    expect(checkServerIdentity('foo.example.com', cert('DNS:f*.example.com'))).toBeInstanceOf(
      HostnameMismatchError,
    );
    expect(matchDnsName('foo.example.com', '*o.example.com')).toBe(false);
  });

  it('an empty label never matches a wildcard (node lets ".example.com" match "*.example.com")', () => {
    expect(tls.checkServerIdentity('.example.com', cert('DNS:*.example.com'))).toBeUndefined();
    expect(checkServerIdentity('.example.com', cert('DNS:*.example.com'))).toBeInstanceOf(
      HostnameMismatchError,
    );
  });

  it('agrees with node on random names and patterns (whole-label wildcards)', () => {
    const label = fc.constantFrom('a', 'b', 'xn--p1ai', 'A', 'ab-c', '*', '');
    const name = fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => l.join('.'));
    fc.assert(
      fc.property(name, name, fc.boolean(), (host, pattern, trailingDot) => {
        // Node lets `*` match an empty label (".a.b" vs "*.a.b"); we never match empty labels.
        if (host.includes('*') || host.split('.').includes('')) return;
        const h = trailingDot ? `${host}.` : host;
        const c = cert(`DNS:${pattern}`);
        expect(checkServerIdentity(h, c) === undefined).toBe(tls.checkServerIdentity(h, c) === undefined);
      }),
      { numRuns: 2000 },
    );
  });
});
