/**
 * Differential test: every certificate case is verified by verifyServerChain() and by node:tls
 * itself (a `tls.createServer` on 127.0.0.1 serving that chain, a `tls.connect` whose 'error'
 * gives node's code and OpenSSL's reason), and the verdicts must be equal.
 * The client runs at OpenSSL security level 2 (`ciphers: 'DEFAULT@SECLEVEL=2'`), which is our
 * policy; Node's default is level 1. Cases where we differ on purpose say so in `differs`.
 * One case is a chain made by the openssl CLI: left out without openssl (the file then fails
 * under CELLSTACK_REQUIRE_PEERS=1, see openssl-cli.ts).
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PeerCertificate, verifyServerChain } from '../../src/tls/x509/index.js';
import {
  days,
  ecKey,
  issue,
  makePki,
  opensslChain,
  type Pki,
  rsaKey,
  type TestCert,
  type TestKey,
} from '../helpers/test-pki.js';
import { opensslCli } from './openssl-cli.js';

const openssl = opensslCli();

interface Case {
  name: string;
  /** What the server sends, leaf first. */
  chain: TestCert[];
  /** The leaf's key (defaults to chain[0].key). */
  key?: TestKey;
  /** Trust anchors (PEM); undefined = Node's bundled roots. */
  ca: string[] | undefined;
  servername?: string;
  /** Our expected code, or undefined for authorized. */
  expected: string | undefined;
  /** Node's verdict when it differs on purpose, with why. */
  differs?: { node: string | undefined; why: string };
}

interface NodeVerdict {
  authorized: boolean;
  code: string | undefined;
  message: string | undefined;
}

async function nodeVerdict(c: Case): Promise<NodeVerdict> {
  const leafKey = c.key ?? c.chain[0]!.key;
  const server = tls.createServer({
    key: leafKey.pem,
    cert: c.chain.map((x) => x.pem).join(''),
    // The server must be able to load weak test chains (SHA-1, RSA-1024).
    ciphers: 'DEFAULT@SECLEVEL=0',
  });
  server.on('secureConnection', (s) => s.end());
  server.on('tlsClientError', () => {});
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  try {
    return await new Promise<NodeVerdict>((resolve) => {
      // rejectUnauthorized: the 'error' carries both the code and OpenSSL's reason string.
      const socket = tls.connect({
        host: '127.0.0.1',
        port,
        ...(c.servername === undefined ? {} : { servername: c.servername }),
        ...(c.ca === undefined ? {} : { ca: c.ca }),
        rejectUnauthorized: true,
        ciphers: 'DEFAULT@SECLEVEL=2',
      });
      socket.on('secureConnect', () => {
        resolve({ authorized: socket.authorized, code: undefined, message: undefined });
        socket.destroy();
      });
      socket.on('error', (err: NodeJS.ErrnoException) => {
        resolve({ authorized: false, code: err.code, message: err.message });
      });
    });
  } finally {
    server.close();
  }
}

function ours(c: Case) {
  return verifyServerChain(
    c.chain.map((x) => new Uint8Array(x.der)),
    {
      ...(c.ca === undefined ? {} : { ca: c.ca }),
      ...(c.servername === undefined ? {} : { servername: c.servername }),
      host: '127.0.0.1',
      now: Date.now(),
    },
  );
}

const cases: Case[] = [];
const table: string[] = [];
let rsa: Pki;

beforeAll(() => {
  rsa = makePki('rsa', 'diff');
  const ec = makePki('ec', 'diffec');
  const otherRoot = makePki('rsa', 'other').root;
  const { root, intermediate: int, leaf } = rsa;
  const caRoot = [root.pem];
  const leafKey = rsa.leaf.key;
  const now = Date.now();
  const serverLeaf = (over: Partial<Parameters<typeof issue>[0]> = {}) =>
    issue({
      subject: { CN: 'localhost' },
      key: leafKey,
      issuer: int,
      ca: false,
      keyUsage: ['digitalSignature', 'keyEncipherment'],
      eku: ['serverAuth'],
      dns: ['localhost'],
      ips: ['127.0.0.1'],
      ...over,
    });
  const intermediateWith = (over: Partial<Parameters<typeof issue>[0]>) =>
    issue({
      subject: { CN: `intermediate ${Object.keys(over).join('-')}` },
      key: rsa.intermediate.key,
      issuer: root,
      ca: true,
      keyUsage: ['keyCertSign', 'cRLSign'],
      ...over,
    });
  const leafUnder = (issuer: TestCert, over: Partial<Parameters<typeof issue>[0]> = {}) =>
    serverLeaf({ issuer, ...over });

  const add = (c: Case) => cases.push(c);

  // Good chains.
  add({ name: 'RSA chain, IP host', chain: [leaf, int], ca: caRoot, expected: undefined });
  add({
    name: 'RSA chain, servername',
    chain: [leaf, int],
    ca: caRoot,
    servername: 'server.test',
    expected: undefined,
  });
  add({ name: 'EC chain', chain: [ec.leaf, ec.intermediate], ca: [ec.root.pem], expected: undefined });
  add({
    name: 'EC leaf under RSA intermediate',
    chain: [serverLeaf({ key: ecKey('diff-ecleaf') }), int],
    ca: caRoot,
    expected: undefined,
  });
  add({
    name: 'RSA-PSS signed leaf',
    chain: [serverLeaf({ pss: true })],
    key: leafKey,
    ca: [int.pem, root.pem],
    expected: undefined,
  });
  add({ name: 'root sent too', chain: [leaf, int, root], ca: caRoot, expected: undefined });
  add({
    name: 'shuffled chain with an extra cert',
    chain: [leaf, otherRoot, root, int],
    ca: caRoot,
    expected: undefined,
  });
  if (openssl.missing === undefined) {
    const cli = opensslChain();
    const cliCert = (pem: string): TestCert => ({
      der: Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64'),
      pem,
      key: {
        name: 'cli',
        privateKey: undefined as never,
        publicKey: undefined as never,
        type: 'ec',
        pem: cli.leafKey,
      },
      subjectDer: Buffer.alloc(0),
      skid: Buffer.alloc(0),
      serial: Buffer.alloc(0),
      name: 'cli',
    });
    add({
      name: 'openssl CLI EC chain',
      chain: [cliCert(cli.leaf), cliCert(cli.intermediate)],
      ca: [cli.root],
      servername: 'openssl.test',
      expected: undefined,
    });
  }
  {
    const sha1Root = issue({
      subject: { CN: 'sha1 root' },
      key: rsaKey('diff-sha1root'),
      ca: true,
      hash: 'sha1',
    });
    const i2 = intermediateWith({ issuer: sha1Root, subject: { CN: 'under sha1 root' } });
    add({
      name: 'SHA-1 signed trust anchor',
      chain: [leafUnder(i2), i2],
      ca: [sha1Root.pem],
      expected: undefined,
    });
  }
  {
    const v1Root = issue({ subject: { CN: 'v1 root' }, key: rsaKey('diff-v1root'), version: 1 });
    const i2 = intermediateWith({ issuer: v1Root, subject: { CN: 'under v1 root' } });
    add({ name: 'v1 trust anchor', chain: [leafUnder(i2), i2], ca: [v1Root.pem], expected: undefined });
  }

  // Validity.
  add({
    name: 'expired leaf',
    chain: [serverLeaf({ notBefore: now - days(30), notAfter: now - days(1) }), int],
    ca: caRoot,
    expected: 'CERT_HAS_EXPIRED',
  });
  add({
    name: 'not yet valid leaf',
    chain: [serverLeaf({ notBefore: now + days(1), notAfter: now + days(30) }), int],
    ca: caRoot,
    expected: 'CERT_NOT_YET_VALID',
  });
  {
    const old = intermediateWith({ notBefore: now - days(30), notAfter: now - days(1) });
    add({
      name: 'expired intermediate',
      chain: [leafUnder(old), old],
      ca: caRoot,
      expected: 'CERT_HAS_EXPIRED',
    });
    const oldRoot = issue({
      subject: { CN: 'expired root' },
      key: rsaKey('diff-oldroot'),
      ca: true,
      notBefore: now - days(30),
      notAfter: now - days(1),
    });
    const i2 = intermediateWith({ issuer: oldRoot, subject: { CN: 'under expired root' } });
    add({
      name: 'expired trust anchor',
      chain: [leafUnder(i2), i2],
      ca: [oldRoot.pem],
      expected: 'CERT_HAS_EXPIRED',
    });
  }

  // Trust.
  const selfSigned = issue({
    subject: { CN: 'localhost' },
    key: leafKey,
    dns: ['localhost'],
    ips: ['127.0.0.1'],
  });
  add({
    name: 'self-signed leaf, untrusted',
    chain: [selfSigned],
    ca: caRoot,
    expected: 'DEPTH_ZERO_SELF_SIGNED_CERT',
  });
  add({
    name: 'self-signed leaf, trusted itself',
    chain: [selfSigned],
    ca: [selfSigned.pem],
    expected: undefined,
  });
  {
    const oldSelf = issue({
      subject: { CN: 'localhost' },
      key: leafKey,
      ips: ['127.0.0.1'],
      notBefore: now - days(9),
      notAfter: now - days(2),
    });
    add({
      name: 'self-signed and expired (last error wins)',
      chain: [oldSelf],
      ca: caRoot,
      expected: 'CERT_HAS_EXPIRED',
    });
  }
  add({
    name: 'untrusted root sent',
    chain: [leaf, int, root],
    ca: [otherRoot.pem],
    expected: 'SELF_SIGNED_CERT_IN_CHAIN',
  });
  add({
    name: 'untrusted root not sent',
    chain: [leaf, int],
    ca: [otherRoot.pem],
    expected: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  });
  add({
    name: 'default roots',
    chain: [leaf, int],
    ca: undefined,
    expected: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  });
  add({
    name: 'incomplete chain (leaf only)',
    chain: [leaf],
    ca: caRoot,
    expected: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  });
  add({
    name: 'intermediate as the only anchor',
    chain: [leaf, int],
    ca: [int.pem],
    expected: undefined,
    differs: { node: 'UNABLE_TO_GET_ISSUER_CERT', why: 'any trust anchor ends the chain (partial chain)' },
  });
  add({
    name: 'bad leaf signature',
    chain: [serverLeaf({ signingKey: rsaKey('diff-forger') }), int],
    ca: caRoot,
    expected: 'CERT_SIGNATURE_FAILURE',
  });
  {
    const forged = intermediateWith({
      signingKey: rsaKey('diff-forger'),
      subject: { CN: 'forged intermediate' },
    });
    add({
      name: 'bad intermediate signature',
      chain: [leafUnder(forged), forged],
      ca: caRoot,
      expected: 'CERT_SIGNATURE_FAILURE',
    });
  }

  // Security level.
  {
    const sha1Int = intermediateWith({ hash: 'sha1', subject: { CN: 'sha1 intermediate' } });
    add({
      name: 'SHA-1 signed intermediate',
      chain: [leafUnder(sha1Int), sha1Int],
      ca: caRoot,
      expected: 'CA_MD_TOO_WEAK',
    });
    add({
      name: 'SHA-1 signed leaf',
      chain: [serverLeaf({ hash: 'sha1' }), int],
      ca: caRoot,
      expected: 'CA_MD_TOO_WEAK',
    });
    const weak = rsaKey('diff-weak', 1024);
    add({
      name: 'RSA-1024 leaf',
      chain: [serverLeaf({ key: weak }), int],
      ca: caRoot,
      expected: 'EE_KEY_TOO_SMALL',
    });
    const weakInt = intermediateWith({
      key: rsaKey('diff-weakint', 1024),
      subject: { CN: 'weak intermediate' },
    });
    add({
      name: 'RSA-1024 intermediate',
      chain: [leafUnder(weakInt), weakInt],
      ca: caRoot,
      expected: 'CA_KEY_TOO_SMALL',
    });
  }

  // CA-ness, purpose, path length.
  {
    const notCa = intermediateWith({ ca: false, subject: { CN: 'CA:false intermediate' } });
    add({
      name: 'CA:false intermediate',
      chain: [leafUnder(notCa), notCa],
      ca: caRoot,
      // OpenSSL records INVALID_CA, then the sslserver purpose check of the same CA fails too
      // and its INVALID_PURPOSE is the last error, which node reports.
      expected: 'INVALID_PURPOSE',
    });
    const noBc = intermediateWith({ ca: undefined, subject: { CN: 'no basicConstraints intermediate' } });
    add({
      name: 'intermediate without basicConstraints',
      chain: [leafUnder(noBc), noBc],
      ca: caRoot,
      expected: 'INVALID_CA',
    });
    const noCertSign = intermediateWith({
      keyUsage: ['digitalSignature', 'cRLSign'],
      subject: { CN: 'no keyCertSign intermediate' },
    });
    add({
      name: 'intermediate keyUsage without keyCertSign',
      chain: [leafUnder(noCertSign), noCertSign],
      ca: caRoot,
      // INVALID_CA, INVALID_PURPOSE, then KEYUSAGE_NO_CERTSIGN when its signature is checked.
      expected: 'KEYUSAGE_NO_CERTSIGN',
    });
    const ekuInt = intermediateWith({ eku: ['clientAuth'], subject: { CN: 'clientAuth intermediate' } });
    add({
      name: 'intermediate EKU clientAuth only',
      chain: [leafUnder(ekuInt), ekuInt],
      ca: caRoot,
      expected: 'INVALID_PURPOSE',
    });
    const lower = intermediateWith({
      issuer: int,
      key: rsaKey('diff-lower'),
      subject: { CN: 'second intermediate' },
    });
    add({
      name: 'pathLenConstraint 0 exceeded',
      chain: [leafUnder(lower), lower, int],
      ca: caRoot,
      expected: 'PATH_LENGTH_EXCEEDED',
    });
  }
  add({
    name: 'leaf EKU clientAuth only',
    chain: [serverLeaf({ eku: ['clientAuth'] }), int],
    ca: caRoot,
    expected: 'INVALID_PURPOSE',
  });
  add({
    name: 'leaf EKU anyExtendedKeyUsage only',
    chain: [serverLeaf({ eku: ['any'] }), int],
    ca: caRoot,
    expected: 'INVALID_PURPOSE',
  });
  add({
    name: 'leaf keyUsage keyCertSign only',
    chain: [serverLeaf({ keyUsage: ['keyCertSign'] }), int],
    ca: caRoot,
    expected: 'INVALID_PURPOSE',
  });
  add({
    name: 'leaf without EKU or keyUsage',
    chain: [serverLeaf({ eku: undefined, keyUsage: undefined }), int],
    ca: caRoot,
    expected: undefined,
  });
  add({
    name: 'unknown critical extension on leaf',
    chain: [
      serverLeaf({
        extraExtensions: [{ oid: '1.3.6.1.4.1.55555.1', critical: true, value: Buffer.from([5, 0]) }],
      }),
      int,
    ],
    ca: caRoot,
    expected: 'UNHANDLED_CRITICAL_EXTENSION',
  });
  {
    const constrained = intermediateWith({
      permittedDns: ['.allowed.test'],
      pathLen: 0,
      subject: { CN: 'constrained intermediate' },
    });
    add({
      name: 'name constraints: name outside',
      chain: [leafUnder(constrained, { dns: ['www.other.test'], ips: [] }), constrained],
      ca: caRoot,
      servername: 'www.other.test',
      expected: 'PERMITTED_VIOLATION',
    });
    add({
      name: 'name constraints: name inside',
      chain: [leafUnder(constrained, { dns: ['www.allowed.test'], ips: [] }), constrained],
      ca: caRoot,
      servername: 'www.allowed.test',
      expected: undefined,
    });
  }

  // Names (RFC 6125).
  add({
    name: 'wrong host',
    chain: [leaf, int],
    ca: caRoot,
    servername: 'other.test',
    expected: 'ERR_TLS_CERT_ALTNAME_INVALID',
  });
  const wild = serverLeaf({ dns: ['*.example.test'], ips: [] });
  add({
    name: 'wildcard match',
    chain: [wild, int],
    ca: caRoot,
    servername: 'a.example.test',
    expected: undefined,
  });
  add({
    name: 'wildcard is one label only',
    chain: [wild, int],
    ca: caRoot,
    servername: 'b.a.example.test',
    expected: 'ERR_TLS_CERT_ALTNAME_INVALID',
  });
  add({
    name: 'wildcard does not match the parent',
    chain: [wild, int],
    ca: caRoot,
    servername: 'example.test',
    expected: 'ERR_TLS_CERT_ALTNAME_INVALID',
  });
  add({
    name: 'wildcard and IP literal',
    chain: [wild, int],
    ca: caRoot,
    expected: 'ERR_TLS_CERT_ALTNAME_INVALID',
  });
  add({
    name: 'wildcard, mixed case host',
    chain: [wild, int],
    ca: caRoot,
    servername: 'A.Example.TEST',
    expected: undefined,
  });
  const partial = serverLeaf({ dns: ['f*.example.test'], ips: [] });
  add({
    name: 'partial-label wildcard',
    chain: [partial, int],
    ca: caRoot,
    servername: 'foo.example.test',
    expected: 'ERR_TLS_CERT_ALTNAME_INVALID',
    differs: { node: undefined, why: 'RFC 9525 section 6.3: only a whole-label wildcard' },
  });
  add({
    name: 'two-label wildcard',
    chain: [serverLeaf({ dns: ['*.test'], ips: [] }), int],
    ca: caRoot,
    servername: 'a.test',
    expected: 'ERR_TLS_CERT_ALTNAME_INVALID',
  });
  add({
    name: 'IP SAN',
    chain: [serverLeaf({ dns: [], ips: ['127.0.0.1'] }), int],
    ca: caRoot,
    expected: undefined,
  });
  add({
    name: 'DNS-only cert, IP host',
    chain: [serverLeaf({ dns: ['localhost'], ips: [] }), int],
    ca: caRoot,
    expected: 'ERR_TLS_CERT_ALTNAME_INVALID',
  });
  const cnOnly = serverLeaf({ subject: { CN: 'cn.test' }, dns: undefined, ips: undefined });
  add({
    name: 'CN only, matching',
    chain: [cnOnly, int],
    ca: caRoot,
    servername: 'cn.test',
    expected: undefined,
  });
  add({
    name: 'CN only, IP host',
    chain: [cnOnly, int],
    ca: caRoot,
    expected: 'ERR_TLS_CERT_ALTNAME_INVALID',
  });
  add({
    name: 'CN ignored when a DNS SAN exists',
    chain: [serverLeaf({ subject: { CN: 'cn.test' }, dns: ['san.test'] }), int],
    ca: caRoot,
    servername: 'cn.test',
    expected: 'ERR_TLS_CERT_ALTNAME_INVALID',
  });
  add({
    name: 'CN used when only IP SANs',
    chain: [serverLeaf({ subject: { CN: 'cn.test' }, dns: undefined, ips: ['10.0.0.1'] }), int],
    ca: caRoot,
    servername: 'cn.test',
    expected: undefined,
  });
  add({
    name: 'trailing dot in servername',
    chain: [leaf, int],
    ca: caRoot,
    servername: 'server.test.',
    expected: undefined,
  });
});

describe('verifyServerChain against node:tls', () => {
  afterAll(() => {
    // The differential table, for the report.
    if (process.env['X509_TABLE'] === '1') console.log(table.join('\n'));
  });

  it('agrees with node:tls on every case (or differs where documented)', async () => {
    expect(cases.length).toBeGreaterThan(40);
    const mismatches: string[] = [];
    for (const c of cases) {
      const mine = ours(c);
      const node = await nodeVerdict(c);
      const ourCode = mine.error?.code;
      // Node 20 names only some OpenSSL codes and says UNSPECIFIED for the others
      // (EE_KEY_TOO_SMALL, CA_MD_TOO_WEAK, ...); then OpenSSL's reason string must be ours.
      const nodeCode =
        node.code === 'UNSPECIFIED' && node.message === mine.error?.message ? ourCode : node.code;
      const shown = node.code === 'UNSPECIFIED' ? `UNSPECIFIED "${node.message}"` : (node.code ?? 'ok');
      table.push(
        `${c.name} | ${ourCode ?? 'ok'} | ${shown}${c.differs ? ` | intended: ${c.differs.why}` : ''}`,
      );
      expect(mine.authorized, c.name).toBe(mine.error === undefined);
      if (ourCode !== c.expected) mismatches.push(`${c.name}: ours ${ourCode} expected ${c.expected}`);
      const nodeExpected = c.differs === undefined ? c.expected : c.differs.node;
      if (nodeCode !== nodeExpected) mismatches.push(`${c.name}: node ${shown} expected ${nodeExpected}`);
    }
    expect(mismatches).toEqual([]);
  });

  it('builds the same peer certificate object as node (fields and issuer links)', async () => {
    const { root, intermediate, leaf } = rsa;
    const server = tls.createServer({ key: leaf.key.pem, cert: leaf.pem + intermediate.pem });
    server.on('secureConnection', (s) => s.end());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const theirs = await new Promise<tls.DetailedPeerCertificate>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port, ca: [root.pem] }, () => {
        resolve(socket.getPeerCertificate(true));
        socket.destroy();
      });
      socket.on('error', reject);
    });
    server.close();
    const mine = verifyServerChain([leaf.der, intermediate.der], {
      ca: root.pem,
      host: '127.0.0.1',
      now: Date.now(),
    });
    expect(mine.authorized).toBe(true);
    const pick = (c: tls.PeerCertificate) => ({
      subject: { ...c.subject },
      issuer: { ...c.issuer },
      subjectaltname: c.subjectaltname,
      valid_from: c.valid_from,
      valid_to: c.valid_to,
      serialNumber: c.serialNumber,
      fingerprint: c.fingerprint,
      fingerprint256: c.fingerprint256,
      fingerprint512: c.fingerprint512,
      bits: c.bits,
      ca: c.ca,
      ext_key_usage: c.ext_key_usage,
      raw: c.raw.toString('base64'),
      pubkey: c.pubkey?.toString('base64'),
    });
    let a: PeerCertificate | undefined = mine.peerCertificate;
    let b: tls.DetailedPeerCertificate = theirs;
    for (let depth = 0; depth < 3; depth++) {
      expect(a, `depth ${depth}`).toBeDefined();
      expect(pick(a!)).toEqual(pick(b));
      a = a!.issuerCertificate;
      b = b.issuerCertificate;
    }
    // The root points to itself, in both.
    const rootOurs = mine.peerCertificate.issuerCertificate?.issuerCertificate;
    expect(rootOurs?.issuerCertificate).toBe(rootOurs);
    expect(theirs.issuerCertificate.issuerCertificate.issuerCertificate).toBe(
      theirs.issuerCertificate.issuerCertificate,
    );
  });
});
