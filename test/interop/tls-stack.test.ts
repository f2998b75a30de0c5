import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type net from 'node:net';
import { Duplex } from 'node:stream';
import { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NetStack } from '../../src/ip/stack.js';
import {
  connect,
  keyBlock,
  type SecureSocket,
  type TlsConnectOptions,
  type TlsSocket,
} from '../../src/tls/index.js';
import { parseSession } from '../../src/tls/session.js';
import { days, ecKey, issue, rsaKey, type TestCert, type TestKey } from '../helpers/test-pki.js';
import { type LinkedGuest, startLinkedGuest } from './harness/linked-guest.js';
import { peer, which } from './harness/peers.js';
import { GUEST_FILES_DIR, type TlsMatrixServer, type UmlPeer, umlProblem } from './harness/uml.js';
import { SERVICE_PORTS } from './harness/uml-services.js';
import { EC_SUITES, exchange, finish, RSA_SUITES, secured } from './tls-peers.js';

/**
 * Our TLS 1.2 client over our own TCP over PPP, against servers inside the UML guest (issue 7):
 * one guest runs ~30 TLS servers on ports of their own (openssl s_server, gnutls-serv,
 * mosquitto, a HelloRequest sender), each reachable only through the PPP link.
 *
 * - Interop: every suite alone (RSA and ECDSA server certificates), client certificates (RSA
 *   and P-256 keys), ALPN, resumption by ID and by ticket, gnutls-serv's priorities, MQTT over
 *   TLS to mosquitto with and without a required client certificate. Data goes both ways and
 *   is checked (s_server `-rev` answers each line reversed; gnutls-serv `--echo` echoes).
 * - Rejections: each ends in a typed error with no application data delivered, and the same
 *   case runs through engine 'node' (node:tls over the same TcpSocket). Where node:tls
 *   behaves differently on purpose the table says so (see REJECTIONS and the harness README).
 */
const uml = peer('uml', umlProblem());
const gnutlsMissing = which('gnutls-serv')
  ? undefined
  : 'gnutls-serv is not installed (apt-get install gnutls-bin)';
const gnutls = uml.skip ? { skip: true } : peer('gnutls', gnutlsMissing);
const HAVE_GNUTLS = gnutlsMissing === undefined;

const NAME = 'rig.test';
const PEER_IP = '10.64.0.1';
const F = (name: string) => `${GUEST_FILES_DIR}/${name}`;

// ---- the test PKI (test/helpers/test-pki.ts), written into the guest ----------------------

interface Pki {
  files: Record<string, string>;
  rootPem: string;
  clientRsa: { cert: string; key: string };
  clientEc: { cert: string; key: string };
}

function makePki(): Pki {
  const now = Date.now();
  const files: Record<string, string> = {};
  const put = (name: string, c: TestCert | TestKey | string) => {
    files[name] = typeof c === 'string' ? c : c.pem;
  };
  const caSpec = { ca: true, keyUsage: ['keyCertSign' as const, 'cRLSign' as const] };
  const root = issue({
    subject: { O: 'cellstack test', CN: 'stack Root CA' },
    key: rsaKey('stack-root'),
    ...caSpec,
    notBefore: now - days(10),
    notAfter: now + days(3650),
  });
  const inter = issue({
    subject: { O: 'cellstack test', CN: 'stack Intermediate CA' },
    key: rsaKey('stack-int'),
    issuer: root,
    pathLen: 0,
    ...caSpec,
  });
  const leaf = (key: TestKey, issuer: TestCert, more: Partial<Parameters<typeof issue>[0]> = {}) =>
    issue({
      subject: { O: 'cellstack test', CN: NAME },
      key,
      issuer,
      ca: false,
      keyUsage: key.type === 'rsa' ? ['digitalSignature', 'keyEncipherment'] : ['digitalSignature'],
      eku: ['serverAuth'],
      dns: [NAME],
      ips: [PEER_IP],
      ...more,
    });
  const client = (key: TestKey, cn: string) =>
    issue({
      subject: { O: 'cellstack test', CN: cn },
      key,
      issuer: inter,
      ca: false,
      keyUsage: ['digitalSignature'],
      eku: ['clientAuth'],
    });
  const rsa = rsaKey('stack-server-rsa');
  const ec = ecKey('stack-server-ec');
  const serverRsa = leaf(rsa, inter);
  const serverEc = leaf(ec, inter);
  put('root.pem', root);
  put('inter.pem', inter);
  put('trust.pem', root.pem + inter.pem);
  put('server-rsa.pem', serverRsa);
  put('server-rsa.key', rsa);
  put('server-rsa-chain.pem', serverRsa.pem + inter.pem);
  put('server-ec.pem', serverEc);
  put('server-ec.key', ec);
  put('server-ec-chain.pem', serverEc.pem + inter.pem);
  // Rejections.
  put('expired.pem', leaf(rsa, inter, { notBefore: now - days(60), notAfter: now - days(1) }));
  put('not-yet-valid.pem', leaf(rsa, inter, { notBefore: now + days(10), notAfter: now + days(100) }));
  put(
    'self-signed.pem',
    issue({
      subject: { O: 'cellstack test', CN: NAME },
      key: rsa,
      ca: false,
      keyUsage: ['digitalSignature', 'keyEncipherment'],
      eku: ['serverAuth'],
      dns: [NAME],
      ips: [PEER_IP],
    }),
  );
  const otherRoot = issue({
    subject: { O: 'somebody else', CN: 'Other Root CA' },
    key: rsaKey('stack-other-root'),
    ...caSpec,
  });
  put('other-root.pem', otherRoot);
  put('other-leaf.pem', leaf(rsa, otherRoot));
  const sha1Inter = issue({
    subject: { O: 'cellstack test', CN: 'stack SHA-1 Intermediate CA' },
    key: rsaKey('stack-int'),
    issuer: root,
    pathLen: 0,
    hash: 'sha1',
    ...caSpec,
  });
  put('sha1-inter.pem', sha1Inter);
  put('sha1-leaf.pem', leaf(rsa, sha1Inter));
  const small = rsaKey('stack-rsa1024', 1024);
  put('rsa1024.pem', leaf(small, inter));
  put('rsa1024.key', small);
  const clientRsaKey = rsaKey('stack-client-rsa');
  const clientEcKey = ecKey('stack-client-ec');
  return {
    files,
    rootPem: root.pem,
    clientRsa: { cert: client(clientRsaKey, 'client rsa').pem, key: clientRsaKey.pem },
    clientEc: { cert: client(clientEcKey, 'client ec').pem, key: clientEcKey.pem },
  };
}

// ---- the servers in the guest --------------------------------------------------------------

const RSA = ['-cert', F('server-rsa.pem'), '-key', F('server-rsa.key'), '-cert_chain', F('inter.pem')];
const EC = ['-cert', F('server-ec.pem'), '-key', F('server-ec.key'), '-cert_chain', F('inter.pem')];
/** SECLEVEL=0: the SHA-1 MAC and static RSA suites stay on the server's list. */
const ALL = ['-cipher', 'ALL:@SECLEVEL=0'];

const PORTS = {
  rsa: 4501,
  ec: 4502,
  rsaMte: 4503,
  mutual: 4504,
  alpn: 4505,
  resumeId: 4506,
  resumeTicket: 4507,
  renegotiate: 4508,
  expired: 4520,
  notYetValid: 4521,
  selfSigned: 4522,
  untrustedRoot: 4523,
  incomplete: 4524,
  sha1: 4525,
  rsa1024: 4526,
  weakSuites: 4527,
  tls11: 4528,
  tls10: 4529,
  gnutlsEcdsaGcm: 4540,
  gnutlsRsaChacha: 4541,
  gnutlsRsaCbc: 4542,
  gnutlsRsaCbcMte: 4543,
  gnutlsNoEms: 4544,
  gnutlsTls12: 4545,
} as const;

function opensslServers(): TlsMatrixServer[] {
  const s = (name: string, port: number, args: string[], stdin = false): TlsMatrixServer => ({
    name,
    port,
    program: 'openssl',
    args,
    ...(stdin ? { stdin } : {}),
  });
  const rev = ['-tls1_2', '-rev'];
  const cert = (file: string, key = 'server-rsa.key') => ['-cert', F(file), '-key', F(key)];
  /** `cert(file, key)` and the chain file s_server sends after it. */
  const chained = (file: string, chain = 'inter.pem', key?: string) => [
    ...cert(file, key),
    '-cert_chain',
    F(chain),
  ];
  const weak = ['-cipher', 'DEFAULT:@SECLEVEL=0'];
  return [
    s('rsa', PORTS.rsa, [...rev, ...RSA, ...ALL]),
    s('ec', PORTS.ec, [...rev, ...EC, ...ALL]),
    s('rsa-mte', PORTS.rsaMte, [...rev, ...RSA, ...ALL, '-no_etm']),
    s('mutual', PORTS.mutual, [
      ...rev,
      ...RSA,
      '-Verify',
      '1',
      '-CAfile',
      F('trust.pem'),
      '-verify_return_error',
    ]),
    s('alpn', PORTS.alpn, [...rev, ...EC, '-alpn', 'x-amzn-mqtt-ca']),
    s('resume-id', PORTS.resumeId, [...rev, ...RSA, '-no_ticket']),
    s('resume-ticket', PORTS.resumeTicket, [...rev, ...RSA, '-no_cache']),
    // Interactive mode (stdin is a FIFO): `R` sends a HelloRequest on the open connection.
    s('renegotiate', PORTS.renegotiate, ['-tls1_2', ...RSA], true),
    s('expired', PORTS.expired, [...rev, ...chained('expired.pem')]),
    s('not-yet-valid', PORTS.notYetValid, [...rev, ...chained('not-yet-valid.pem')]),
    s('self-signed', PORTS.selfSigned, [...rev, ...cert('self-signed.pem')]),
    s('untrusted-root', PORTS.untrustedRoot, [...rev, ...chained('other-leaf.pem', 'other-root.pem')]),
    // The leaf alone: the intermediate is not sent.
    s('incomplete', PORTS.incomplete, [...rev, ...cert('server-rsa.pem')]),
    s('sha1-inter', PORTS.sha1, [...rev, ...chained('sha1-leaf.pem', 'sha1-inter.pem'), ...weak]),
    s('rsa1024', PORTS.rsa1024, [...rev, ...chained('rsa1024.pem', 'inter.pem', 'rsa1024.key'), ...weak]),
    // OpenSSL 3.0 has no RC4 or 3DES suites to serve (not even at SECLEVEL=0): NULL ones only.
    s('weak-suites', PORTS.weakSuites, [
      ...rev,
      ...RSA,
      '-cipher',
      'NULL-SHA256:NULL-SHA:NULL-MD5:@SECLEVEL=0',
    ]),
    s('tls11', PORTS.tls11, ['-tls1_1', '-rev', ...RSA, ...weak]),
    s('tls10', PORTS.tls10, ['-tls1', '-rev', ...RSA, ...weak]),
  ];
}

const TLS12 = 'NORMAL:-VERS-ALL:+VERS-TLS1.2';

function gnutlsServers(): TlsMatrixServer[] {
  const rsa = ['--x509certfile', F('server-rsa-chain.pem'), '--x509keyfile', F('server-rsa.key')];
  const ec = ['--x509certfile', F('server-ec-chain.pem'), '--x509keyfile', F('server-ec.key')];
  const s = (name: string, port: number, cert: string[], priority: string): TlsMatrixServer => ({
    name,
    port,
    program: 'gnutls',
    args: ['--echo', ...cert, '--priority', priority],
  });
  const cbc = `${TLS12}:-KX-ALL:+RSA:-CIPHER-ALL:+AES-128-CBC:+AES-256-CBC:-MAC-ALL:+SHA1:+SHA256`;
  return [
    s(
      'gnutls-ecdsa-gcm',
      PORTS.gnutlsEcdsaGcm,
      ec,
      `${TLS12}:-KX-ALL:+ECDHE-ECDSA:-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM`,
    ),
    s(
      'gnutls-rsa-chacha',
      PORTS.gnutlsRsaChacha,
      rsa,
      `${TLS12}:-KX-ALL:+ECDHE-RSA:-CIPHER-ALL:+CHACHA20-POLY1305`,
    ),
    s('gnutls-rsa-cbc', PORTS.gnutlsRsaCbc, rsa, cbc),
    s('gnutls-rsa-cbc-mte', PORTS.gnutlsRsaCbcMte, rsa, `${cbc}:%NO_ETM`),
    s('gnutls-no-ems', PORTS.gnutlsNoEms, rsa, `${TLS12}:%NO_SESSION_HASH`),
    s('gnutls-tls12', PORTS.gnutlsTls12, rsa, TLS12),
  ];
}

// ---- client helpers --------------------------------------------------------------------------

type Engine = 'own' | 'node';
type Options = Omit<TlsConnectOptions, 'socket' | 'engine'>;
type TlsErr = Error & { code?: string; alert?: string; sent?: boolean };

let guest: UmlPeer;
let stack: NetStack;
let pki: Pki;

const base = (): Options => ({ ca: pki.rootPem, servername: NAME });

/** A TcpSocket to the guest's `port` (optionally wrapped), with TLS from `engine` on top. */
function open(port: number, options: Options, engine: Engine, wrap?: (t: Duplex) => Duplex): SecureSocket {
  const tcp = stack.connect({ host: guest.peerAddress, port });
  return connect({ ...options, socket: wrap ? wrap(tcp) : tcp, engine });
}

/** Resolves on secureConnect, rejects on the first error; bounded. */
async function handshake(
  port: number,
  options: Options,
  engine: Engine = 'own',
  wrap?: (t: Duplex) => Duplex,
  ms = 20_000,
): Promise<SecureSocket> {
  return secured(open(port, options, engine, wrap), ms, `handshake with port ${port}`);
}

const own = (s: SecureSocket) => s as TlsSocket;

const reversed = (s: string) => s.split('').reverse().join('');

/** s_server -rev: one line out, the same line reversed back. */
async function revRoundTrip(socket: Duplex, line: string): Promise<void> {
  const got = await exchange(socket, `${line}\n`, reversed(line));
  expect(got).toContain(reversed(line));
}

interface Failure {
  error: TlsErr;
  /** Application bytes delivered to us. */
  received: number;
  secure: boolean;
}

/**
 * Connects expecting a failure: resolves with the error, how many application bytes came
 * through, and whether secureConnect happened. `write`: sent right after connect() (before
 * the handshake ends; the engine holds it) or on secureConnect when `afterSecure`.
 */
function failure(
  port: number,
  options: Options,
  engine: Engine,
  o: { wrap?: (t: Duplex) => Duplex; write?: string; onSecure?: (s: SecureSocket) => void; ms?: number } = {},
): Promise<Failure> {
  return new Promise((resolve, reject) => {
    let socket: SecureSocket;
    try {
      socket = open(port, options, engine, o.wrap);
    } catch (err) {
      resolve({ error: err as TlsErr, received: 0, secure: false });
      return;
    }
    let received = 0;
    let secure = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`port ${port} (${engine}): no error within ${o.ms ?? 20_000} ms (secure=${secure})`));
    }, o.ms ?? 20_000);
    socket.on('data', (d: Buffer) => {
      received += d.length;
    });
    socket.once('secureConnect', () => {
      secure = true;
      o.onSecure?.(socket);
    });
    socket.once('error', (error: TlsErr) => {
      clearTimeout(timer);
      resolve({ error, received, secure });
    });
    socket.once('close', () => {
      setImmediate(() => {
        clearTimeout(timer);
        resolve({
          error: Object.assign(new Error('closed without an error'), { code: 'NO_ERROR' }),
          received,
          secure,
        });
      });
    });
    if (o.write !== undefined) socket.write(o.write);
  });
}

/**
 * node:tls over a JS stream (its JSStreamSocket, as here over a TcpSocket) reports OpenSSL's
 * errors as `EPROTO` with OpenSSL's error string in the message, where over a net.Socket it
 * gives `ERR_SSL_<REASON>`: this derives that code the way node does, for the comparison.
 */
function nodeCode(err: TlsErr): string | undefined {
  if (err.code !== 'EPROTO') return err.code;
  const m = /error:[0-9A-Fa-f]+:[A-Za-z ]+ routines:[^:]*:([^:\n]+)/.exec(err.message);
  return m?.[1] ? `ERR_SSL_${m[1].trim().toUpperCase().replace(/[ -]/g, '_')}` : err.code;
}

// ---- a record-level shim between the TcpSocket and the TLS engine ----------------------------

/** A TLS record as the shim sees it (a copy: the hook may return a changed one). */
interface RecordView {
  type: number;
  bytes: Buffer;
  /** Index among the server's records. */
  index: number;
}

/**
 * A Duplex between the transport and the TLS engine that cuts the server's bytes into records
 * and lets `fromServer` change them (flip a byte, truncate, re-encrypt) and `fromClient` look
 * at ours. Everything else passes through.
 */
class RecordShim extends Duplex {
  private down = Buffer.alloc(0);
  private up = Buffer.alloc(0);
  private index = 0;

  constructor(
    private readonly inner: Duplex,
    private readonly fromServer: (r: RecordView) => Buffer,
    private readonly fromClient: (r: RecordView) => void = () => {},
  ) {
    super();
    inner.on('data', (d: Buffer) => {
      this.down = Buffer.concat([this.down, d]);
      const out: Buffer[] = [];
      for (const bytes of this.cut('down')) {
        out.push(this.fromServer({ type: bytes[0]!, bytes, index: this.index++ }));
      }
      if (out.length > 0 && !this.push(Buffer.concat(out))) inner.pause();
    });
    inner.on('end', () => this.push(null));
    inner.on('error', (err) => this.destroy(err));
    inner.on('close', () => {
      if (!this.destroyed) this.destroy();
    });
  }

  private cut(dir: 'down' | 'up'): Buffer[] {
    const records: Buffer[] = [];
    let buf = dir === 'down' ? this.down : this.up;
    while (buf.length >= 5 && buf.length >= 5 + buf.readUInt16BE(3)) {
      const n = 5 + buf.readUInt16BE(3);
      records.push(Buffer.from(buf.subarray(0, n)));
      buf = buf.subarray(n);
    }
    if (dir === 'down') this.down = buf;
    else this.up = buf;
    return records;
  }

  override _read(): void {
    this.inner.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.up = Buffer.concat([this.up, chunk]);
    for (const bytes of this.cut('up')) this.fromClient({ type: bytes[0]!, bytes, index: -1 });
    this.inner.write(chunk, (err) => cb(err ?? null));
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.inner.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.inner.destroy();
    cb(err);
  }
}

const CONTENT = { ccs: 20, alert: 21, handshake: 22, data: 23 } as const;

/** Flips one bit in the middle of the server's first application-data record (its ciphertext). */
const corruptFirstData = () => {
  let done = false;
  return (t: Duplex) =>
    new RecordShim(t, (r) => {
      if (done || r.type !== CONTENT.data) return r.bytes;
      done = true;
      const b = Buffer.from(r.bytes);
      const i = 5 + Math.floor((b.length - 5) / 2);
      b[i] = b[i]! ^ 0x01;
      return b;
    });
};

/** Cuts the server's Finished (its first record after ChangeCipherSpec) to 20 octets. */
const truncateFinished = () => {
  let afterCcs = false;
  let done = false;
  return (t: Duplex) =>
    new RecordShim(t, (r) => {
      if (r.type === CONTENT.ccs) afterCcs = true;
      if (done || !afterCcs || r.type !== CONTENT.handshake) return r.bytes;
      done = true;
      const b = Buffer.from(r.bytes.subarray(0, 5 + 20));
      b.writeUInt16BE(20, 3);
      return b;
    });
};

/**
 * A forged Finished: in an abbreviated handshake (resumption) the keys come from the session's
 * master secret, which the test knows, so the shim decrypts the server's Finished
 * (AES-128-GCM), changes one octet of verify_data and encrypts it again: the record
 * authenticates, the Finished does not verify.
 */
const forgeFinished = (master: Buffer) => {
  let clientRandom: Buffer | undefined;
  let serverRandom: Buffer | undefined;
  let afterCcs = false;
  let done = false;
  const state = { forged: false };
  const wrap = (t: Duplex) =>
    new RecordShim(
      t,
      (r) => {
        if (r.type === CONTENT.handshake && r.bytes[5] === 2 && !afterCcs)
          serverRandom = r.bytes.subarray(11, 43);
        if (r.type === CONTENT.ccs) afterCcs = true;
        if (done || !afterCcs || r.type !== CONTENT.handshake || !clientRandom || !serverRandom)
          return r.bytes;
        done = true;
        const kb = keyBlock('sha256', master, clientRandom, serverRandom, 40);
        const key = kb.subarray(16, 32);
        const nonce = Buffer.concat([kb.subarray(36, 40), r.bytes.subarray(5, 13)]);
        const body = r.bytes.subarray(13, r.bytes.length - 16);
        const tag = r.bytes.subarray(r.bytes.length - 16);
        const aad = Buffer.alloc(13);
        aad.writeUInt8(CONTENT.handshake, 8);
        aad.writeUInt16BE(0x0303, 9);
        aad.writeUInt16BE(body.length, 11);
        const d = createDecipheriv('aes-128-gcm', key, nonce).setAAD(aad).setAuthTag(tag);
        const plain = Buffer.concat([d.update(body), d.final()]);
        expect(plain.subarray(0, 4)).toEqual(Buffer.from([20, 0, 0, 12])); // Finished, 12 octets
        plain[15] = plain[15]! ^ 0x80;
        const c = createCipheriv('aes-128-gcm', key, nonce).setAAD(aad);
        const sealed = Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
        state.forged = true;
        return Buffer.concat([r.bytes.subarray(0, 13), sealed]);
      },
      (r) => {
        if (!clientRandom && r.type === CONTENT.handshake && r.bytes[5] === 1)
          clientRandom = r.bytes.subarray(11, 43);
      },
    );
  return { wrap, state };
};

/** The master secret of a session: ours (session.ts) or OpenSSL's SSL_SESSION DER (node:tls). */
function masterSecretOf(session: Buffer, engine: Engine): Buffer {
  if (engine === 'own') {
    const s = parseSession(session);
    if (!s) throw new Error('not one of our sessions');
    return s.masterSecret;
  }
  // SSL_SESSION ::= SEQUENCE { version INTEGER, sslVersion INTEGER, cipher OCTET STRING,
  //   sessionID OCTET STRING, masterKey OCTET STRING, ... }  (ssl/ssl_asn1.c)
  let at = 0;
  const header = (): { tag: number; len: number } => {
    const tag = session[at++]!;
    let len = session[at++]!;
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + session[at++]!;
    }
    return { tag, len };
  };
  if (header().tag !== 0x30) throw new Error('SSL_SESSION is not a SEQUENCE');
  for (let field = 0; field < 5; field++) {
    const { tag, len } = header();
    if (field === 4) {
      if (tag !== 0x04 || len !== 48) throw new Error('no 48-octet masterKey in SSL_SESSION');
      return Buffer.from(session.subarray(at, at + len));
    }
    at += len;
  }
  throw new Error('unreachable');
}

// ---- the tests ---------------------------------------------------------------------------------

describe.skipIf(uml.skip)('TLS 1.2 over our TCP over PPP, servers in the UML guest', () => {
  let linked: LinkedGuest | undefined;

  beforeAll(async () => {
    pki = makePki();
    linked = await startLinkedGuest(['mqtts', 'mqtts-mutual', 'hello-request'], {
      tlsMatrix: [...opensslServers(), ...(HAVE_GNUTLS ? gnutlsServers() : [])],
      extraFiles: pki.files,
      memMb: 512,
    });
    ({ guest, stack } = linked);
  });

  afterAll(async () => {
    await linked?.stop();
  });

  describe('openssl s_server: every suite alone, data both ways', () => {
    for (const suite of [...RSA_SUITES, ...EC_SUITES]) {
      it(suite, async () => {
        const port = suite.includes('ECDSA') ? PORTS.ec : PORTS.rsa;
        const tls = own(await handshake(port, { ...base(), ciphers: suite }));
        expect(tls.authorized).toBe(true);
        expect(tls.getProtocol()).toBe('TLSv1.2');
        expect(tls.getCipher()?.name).toBe(suite);
        expect(tls.getHandshakeResult()?.extendedMasterSecret).toBe(true);
        expect(tls.getHandshakeResult()?.encryptThenMac).toBe(!/GCM|CHACHA/.test(suite));
        await revRoundTrip(tls, `${suite} over PPP`);
        await finish(tls);
      });
    }
    for (const suite of ['ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-CHACHA20-POLY1305', 'AES256-SHA256']) {
      it(`${suite}: 40 kB lines (several records each way)`, async () => {
        const port = suite.includes('ECDSA') ? PORTS.ec : PORTS.rsa;
        const tls = await handshake(port, { ...base(), ciphers: suite });
        // s_server -rev reverses what fits its 16 kB buffer: check the tail marker.
        const line = randomBytes(20_000).toString('hex');
        const got = await exchange(tls, `${line}END\n`, 'DNE');
        expect(got.length).toBeGreaterThanOrEqual(line.length);
        await finish(tls);
      });
    }
    for (const suite of ['ECDHE-RSA-AES128-SHA', 'AES256-SHA256', 'ECDHE-RSA-AES256-SHA384']) {
      it(`${suite} with MAC-then-encrypt (server -no_etm)`, async () => {
        const tls = own(await handshake(PORTS.rsaMte, { ...base(), ciphers: suite }));
        expect(tls.getHandshakeResult()?.encryptThenMac).toBe(false);
        await revRoundTrip(tls, 'mac then encrypt');
        await finish(tls);
      });
    }
    it('the default list: ECDHE-RSA-AES128-GCM-SHA256 / ECDHE-ECDSA-AES128-GCM-SHA256', async () => {
      const a = own(await handshake(PORTS.rsa, base()));
      expect(a.getCipher()?.name).toBe('ECDHE-RSA-AES128-GCM-SHA256');
      await revRoundTrip(a, 'default rsa');
      await finish(a);
      const b = own(await handshake(PORTS.ec, base()));
      expect(b.getCipher()?.name).toBe('ECDHE-ECDSA-AES128-GCM-SHA256');
      await revRoundTrip(b, 'default ec');
      await finish(b);
    });
    it('by IP address (no SNI): the IP SAN matches', async () => {
      const tls = await handshake(PORTS.rsa, { ca: pki.rootPem, host: PEER_IP });
      expect(tls.authorized).toBe(true);
      await revRoundTrip(tls, 'by address');
      await finish(tls);
    });
  });

  describe('client certificates (s_server -Verify 1)', () => {
    for (const kind of ['clientRsa', 'clientEc'] as const) {
      for (const suite of ['ECDHE-RSA-AES128-GCM-SHA256', 'AES256-GCM-SHA384']) {
        it(`${kind === 'clientRsa' ? 'RSA' : 'P-256'} client key, ${suite}`, async () => {
          const c = pki[kind];
          const tls = own(
            await handshake(PORTS.mutual, { ...base(), ciphers: suite, cert: c.cert, key: c.key }),
          );
          expect(tls.getHandshakeResult()?.certificateRequested).toBe(true);
          expect(tls.getHandshakeResult()?.certificateSent).toBe(true);
          await revRoundTrip(tls, `mutual ${kind}`);
          await finish(tls);
        });
      }
    }
  });

  it('ALPN x-amzn-mqtt-ca', async () => {
    const tls = await handshake(PORTS.alpn, { ...base(), ALPNProtocols: ['mqtt', 'x-amzn-mqtt-ca'] });
    expect(tls.alpnProtocol).toBe('x-amzn-mqtt-ca');
    await revRoundTrip(tls, 'alpn');
    await finish(tls);
    const none = await handshake(PORTS.alpn, base());
    expect(none.alpnProtocol).toBe(false);
    await finish(none);
  });

  describe('resumption', () => {
    const twice = async (port: number) => {
      const first = own(await handshake(port, base()));
      await revRoundTrip(first, 'first');
      const session = first.getSession();
      expect(session).toBeInstanceOf(Buffer);
      expect(first.isSessionReused()).toBe(false);
      await finish(first);
      const second = own(await handshake(port, { ...base(), session }));
      expect(second.isSessionReused()).toBe(true);
      expect(second.authorized).toBe(true);
      await revRoundTrip(second, 'second');
      await finish(second);
      return { first, second };
    };
    it('by session ID (s_server -no_ticket)', async () => {
      await twice(PORTS.resumeId);
    });
    it('by session ticket (RFC 5077, s_server -no_cache)', async () => {
      await twice(PORTS.resumeTicket);
    });
  });

  describe.skipIf(gnutls.skip)('gnutls-serv --echo', () => {
    it('ECDHE-ECDSA with AES-GCM', async () => {
      const tls = own(await handshake(PORTS.gnutlsEcdsaGcm, base()));
      expect(tls.authorized).toBe(true);
      expect(tls.getCipher()?.name).toMatch(/^ECDHE-ECDSA-AES(128|256)-GCM-SHA(256|384)$/);
      // gnutls-serv asks for a client certificate by default: we answer with an empty list.
      expect(tls.getHandshakeResult()?.certificateRequested).toBe(true);
      expect(await exchange(tls, 'gnutls gcm\n', 'gnutls gcm')).toBeTruthy();
      await finish(tls);
    });
    it('ECDHE-RSA with ChaCha20-Poly1305', async () => {
      const tls = own(await handshake(PORTS.gnutlsRsaChacha, base()));
      expect(tls.getCipher()?.name).toBe('ECDHE-RSA-CHACHA20-POLY1305');
      expect(await exchange(tls, 'chacha\n', 'chacha')).toBeTruthy();
      await finish(tls);
    });
    for (const etm of [true, false]) {
      it(`RSA key exchange with AES-CBC, ${etm ? 'encrypt-then-MAC' : 'MAC-then-encrypt (%NO_ETM)'}`, async () => {
        const port = etm ? PORTS.gnutlsRsaCbc : PORTS.gnutlsRsaCbcMte;
        const tls = own(await handshake(port, { ...base(), enableCbc: true }));
        expect(tls.getCipher()?.name).toMatch(/^AES(128|256)-SHA(256)?$/);
        expect(tls.getHandshakeResult()?.encryptThenMac).toBe(etm);
        expect(await exchange(tls, 'cbc\n', 'cbc')).toBeTruthy();
        await finish(tls);
      });
    }
    it('a server without extended master secret: refused unless requireExtendedMasterSecret is false', async () => {
      const f = await failure(PORTS.gnutlsNoEms, base(), 'own');
      expect(f.error).toMatchObject({ name: 'TlsAlert', alert: 'handshake_failure', sent: true });
      expect(f.error.code).toBe('ERR_SSL_EXTENDED_MASTER_SECRET_REQUIRED');
      expect(f.received).toBe(0);
      const tls = own(await handshake(PORTS.gnutlsNoEms, { ...base(), requireExtendedMasterSecret: false }));
      expect(tls.getHandshakeResult()?.extendedMasterSecret).toBe(false);
      expect(await exchange(tls, 'no ems\n', 'no ems')).toBeTruthy();
      await finish(tls);
    });
    it('resumption by ticket', async () => {
      const first = own(await handshake(PORTS.gnutlsTls12, base()));
      await exchange(first, 'a\n', 'a');
      const session = first.getSession();
      await finish(first);
      const second = own(await handshake(PORTS.gnutlsTls12, { ...base(), session }));
      expect(second.isSessionReused()).toBe(true);
      expect(await exchange(second, 'b\n', 'b')).toBeTruthy();
      await finish(second);
    });
  });

  describe('MQTT.js over our TlsSocket to mosquitto', () => {
    const roundTrip = async (port: number, tlsOptions: Options, engine: Engine) => {
      const certs = guest.certs!;
      const client = new MqttClient(
        () =>
          open(
            port,
            { ca: readFileSync(certs.ca), servername: 'broker.cellstack.test', ...tlsOptions },
            engine,
          ) as unknown as net.Socket,
        {
          clientId: `cellstack-tls-${engine}-${port}-${process.pid}`,
          protocolVersion: 4,
          reconnectPeriod: 0,
          connectTimeout: 20_000,
        },
      );
      try {
        await new Promise<void>((resolve, reject) => {
          client.once('connect', () => resolve());
          client.once('error', reject);
          client.once('close', () => reject(new Error('closed before CONNACK')));
        });
        const topic = `cellstack/tls/${engine}/${port}`;
        await client.subscribeAsync(topic, { qos: 1 });
        const got = new Promise<string>((resolve) =>
          client.once('message', (_t, p) => resolve(p.toString())),
        );
        await client.publishAsync(topic, `over TLS over our TCP (${engine})`, { qos: 1 });
        expect(await got).toBe(`over TLS over our TCP (${engine})`);
      } finally {
        client.removeAllListeners('close');
        await client.endAsync();
      }
    };
    for (const engine of ['own', 'node'] as const) {
      it(`port 8883, no client certificate (${engine})`, async () => {
        await roundTrip(SERVICE_PORTS.mqtts.tcp[0]!, {}, engine);
      });
      it(`port 8884, require_certificate true (${engine})`, async () => {
        const certs = guest.certs!;
        await roundTrip(
          SERVICE_PORTS['mqtts-mutual'].tcp[0]!,
          { cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey) },
          engine,
        );
      });
    }
    it('port 8884 without a client certificate: mosquitto refuses the handshake', async () => {
      const f = await failure(
        SERVICE_PORTS['mqtts-mutual'].tcp[0]!,
        { ca: readFileSync(guest.certs!.ca), servername: 'broker.cellstack.test' },
        'own',
      );
      expect(f.error).toMatchObject({ name: 'TlsAlert', sent: false });
      expect(f.received).toBe(0);
    });
  });

  /**
   * The rejection matrix. `own` / `node`: the code each engine must fail with. Where node:tls
   * differs on purpose, `node` says how and the comment why.
   */
  interface Rejection {
    name: string;
    port: number;
    options?: () => Options;
    /** The expected code and, for ours, the error class. */
    own: { code: string; name: string; sent?: boolean };
    node: { code: string; message?: RegExp } | 'succeeds';
    /** Error before secureConnect (default true). */
    beforeSecure?: boolean;
    wrap?: () => (t: Duplex) => Duplex;
    gnutls?: boolean;
  }
  /** A case node:tls fails with our code. */
  const same = (
    name: string,
    port: number,
    own: Rejection['own'],
    more: Partial<Rejection> = {},
  ): Rejection => ({
    name,
    port,
    own,
    node: { code: own.code },
    ...more,
  });
  /** A CertificateError `code` from ours, the same code from node:tls. */
  const certificate = (name: string, port: number, code: string) =>
    same(name, port, { code, name: 'CertificateError' });
  const HANDSHAKE_FAILURE_RECEIVED = {
    code: 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE',
    name: 'TlsAlert',
    sent: false,
  };
  const PROTOCOL_VERSION_SENT = { code: 'ERR_SSL_UNSUPPORTED_PROTOCOL', name: 'TlsAlert', sent: true };
  const cbcOnly = () => ({ ...base(), ciphers: 'ECDHE-RSA-AES128-SHA' });
  const REJECTIONS: Rejection[] = [
    certificate('expired certificate', PORTS.expired, 'CERT_HAS_EXPIRED'),
    certificate('certificate not yet valid', PORTS.notYetValid, 'CERT_NOT_YET_VALID'),
    same(
      'wrong host name',
      PORTS.rsa,
      { code: 'ERR_TLS_CERT_ALTNAME_INVALID', name: 'HostnameMismatchError' },
      { options: () => ({ ca: pki.rootPem, servername: 'wrong.test' }) },
    ),
    certificate('self-signed certificate', PORTS.selfSigned, 'DEPTH_ZERO_SELF_SIGNED_CERT'),
    certificate('untrusted root (sent by the server)', PORTS.untrustedRoot, 'SELF_SIGNED_CERT_IN_CHAIN'),
    certificate(
      'incomplete chain (intermediate not sent)',
      PORTS.incomplete,
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    ),
    {
      name: 'SHA-1-signed intermediate',
      port: PORTS.sha1,
      own: { code: 'CA_MD_TOO_WEAK', name: 'CertificateError' },
      // Node 20 has no name for this OpenSSL error; the message is the same.
      node: { code: 'UNSPECIFIED', message: /^CA signature digest algorithm too weak$/ },
    },
    {
      // Ours runs at security level 2; node:tls at OpenSSL's default level 1, where RSA-1024
      // (80 bits) passes. (SHA-1 fails at level 1 too since OpenSSL 3.0.)
      name: 'RSA-1024 server key',
      port: PORTS.rsa1024,
      own: { code: 'EE_KEY_TOO_SMALL', name: 'CertificateError' },
      node: 'succeeds',
    },
    same(
      'server offering only NULL suites (OpenSSL 3.0 has no RC4/3DES)',
      PORTS.weakSuites,
      HANDSHAKE_FAILURE_RECEIVED,
    ),
    same('TLS 1.1-only server', PORTS.tls11, PROTOCOL_VERSION_SENT, { options: cbcOnly }),
    same('TLS 1.0-only server', PORTS.tls10, PROTOCOL_VERSION_SENT, { options: cbcOnly }),
    same('server demands a client certificate we lack', PORTS.mutual, HANDSHAKE_FAILURE_RECEIVED),
    {
      name: 'corrupted application-data record from the server (bad_record_mac)',
      port: PORTS.rsa,
      wrap: corruptFirstData,
      beforeSecure: false,
      own: { code: 'ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC', name: 'TlsAlert', sent: true },
      // OpenSSL 3.0 puts its GCM provider's error first on the queue, and node reports that one.
      node: { code: 'ERR_SSL_CIPHER_OPERATION_FAILED' },
    },
    {
      name: "truncated server Finished (record shorter than GCM's nonce + tag)",
      port: PORTS.rsa,
      wrap: truncateFinished,
      own: { code: 'ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC', name: 'TlsAlert', sent: true },
      // The same: "Provider routines:ossl_gcm_set_ctx_params:invalid aad".
      node: { code: 'ERR_SSL_INVALID_AAD' },
    },
    {
      // node:tls (OpenSSL) ignores a HelloRequest during the handshake and waits for the
      // ServerHello; the server then hangs up: ECONNRESET.
      name: 'HelloRequest instead of a ServerHello',
      port: SERVICE_PORTS['hello-request'].tcp[0]!,
      own: { code: 'ERR_SSL_NO_RENEGOTIATION', name: 'TlsAlert', sent: true },
      node: { code: 'ECONNRESET' },
    },
  ];

  describe('rejections: a typed error, no application data, and node:tls fails the same way', () => {
    for (const c of REJECTIONS) {
      for (const engine of ['own', 'node'] as const) {
        const expected = engine === 'own' ? c.own : c.node;
        it(`${c.name} (${engine})`, async () => {
          const options = c.options?.() ?? base();
          if (expected === 'succeeds') {
            const tls = await handshake(c.port, options, engine, c.wrap?.());
            await revRoundTrip(tls, 'accepted');
            await finish(tls);
            return;
          }
          const f = await failure(c.port, options, engine, {
            write: 'must never be answered\n',
            ...(c.wrap ? { wrap: c.wrap() } : {}),
          });
          expect(engine === 'own' ? f.error.code : nodeCode(f.error)).toBe(expected.code);
          if (engine === 'own') {
            expect(f.error.name).toBe(c.own.name);
            if (c.own.sent !== undefined) expect(f.error.sent).toBe(c.own.sent);
          }
          if (engine === 'node' && c.node !== 'succeeds' && c.node.message)
            expect(f.error.message).toMatch(c.node.message);
          expect(f.received).toBe(0);
          expect(f.secure).toBe(!(c.beforeSecure ?? true));
        });
      }
    }

    for (const engine of ['own', 'node'] as const) {
      it(`forged server Finished in a resumed handshake: digest check failed (${engine})`, async () => {
        const options = { ...base(), ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' };
        const first = await handshake(PORTS.resumeId, options, engine);
        const sessions: Buffer[] = [];
        first.on('session', (s: Buffer) => sessions.push(s));
        await revRoundTrip(first, 'first');
        const session = first.getSession() ?? sessions.at(-1);
        await finish(first);
        expect(session).toBeInstanceOf(Buffer);
        const forge = forgeFinished(masterSecretOf(session!, engine));
        const f = await failure(PORTS.resumeId, { ...options, session }, engine, {
          wrap: forge.wrap,
          write: 'must never be answered\n',
        });
        expect(forge.state.forged).toBe(true);
        expect(engine === 'own' ? f.error.code : nodeCode(f.error)).toBe('ERR_SSL_DIGEST_CHECK_FAILED');
        if (engine === 'own')
          expect(f.error).toMatchObject({ name: 'TlsAlert', alert: 'decrypt_error', sent: true });
        expect(f.received).toBe(0);
        expect(f.secure).toBe(false);
      });
    }

    it('HelloRequest after the handshake (own): no_renegotiation warning, the server ends it', async () => {
      const f = await failure(PORTS.renegotiate, base(), 'own', {
        onSecure: () => {
          void guest.renegotiate(PORTS.renegotiate);
        },
      });
      // OpenSSL answers our no_renegotiation warning with a fatal handshake_failure.
      expect(f.error).toMatchObject({
        name: 'TlsAlert',
        code: 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE',
        sent: false,
      });
      expect(f.secure).toBe(true);
      expect(f.received).toBe(0);
    });

    it('HelloRequest after the handshake (node): node:tls renegotiates and stays up', async () => {
      // Counts our encrypted handshake records after secureConnect: a renegotiation's ClientHello.
      const seen = { secure: false, handshakes: 0 };
      const wrap = (t: Duplex) =>
        new RecordShim(
          t,
          (r) => r.bytes,
          (r) => {
            if (seen.secure && r.type === CONTENT.handshake) seen.handshakes++;
          },
        );
      const tls = await handshake(PORTS.renegotiate, base(), 'node', wrap);
      seen.secure = true;
      const errors: Error[] = [];
      tls.on('error', (e) => errors.push(e));
      tls.resume();
      await guest.renegotiate(PORTS.renegotiate);
      for (let i = 0; i < 200 && seen.handshakes === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(seen.handshakes).toBeGreaterThan(0);
      // Still usable: a line to the interactive s_server shows up on its console.
      const mark = guest.consoleMark();
      tls.write('after renegotiation\n');
      await guest.waitForConsole(/after renegotiation/, 10_000, mark);
      expect(errors).toEqual([]);
      await finish(tls);
    });
  });
});
