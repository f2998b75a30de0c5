import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type Server, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { peer, which } from './harness/peers.js';
import {
  EC_SUITES,
  exchange,
  finish,
  handshake,
  handshakeError,
  makeTlsCerts,
  nodeHandshakeError,
  RSA_SUITES,
  type RunningServer,
  startOpenssl,
  type TlsCerts,
} from './tls-peers.js';

const readPem = (path: string) => readFileSync(path, 'latin1');

const check = peer('openssl', which('openssl') ? undefined : 'openssl is not installed');

describe.skipIf(check.skip)('TLS 1.2 client against openssl s_server', () => {
  let dir: string;
  let certs: TlsCerts;
  const servers: RunningServer[] = [];
  const start = async (args: string[], opts?: { tls12?: boolean }) => {
    const s = await startOpenssl(args, opts);
    servers.push(s);
    return s;
  };
  const base = () => ({ ca: certs.caPem, servername: 'localhost' });
  /** s_server arguments: the RSA server certificate (or `c`), `-rev` (each line back reversed), `more`. */
  const rev = (more: string[] = [], c = certs.serverRsa) => ['-cert', c.cert, '-key', c.key, '-rev', ...more];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cellstack-tls-'));
    certs = await makeTlsCerts(dir);
  });

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('ECDHE-RSA-AES128-GCM-SHA256: verifies the chain and moves data both ways', async () => {
    const s = await start(rev());
    const tls = await handshake(s.port, { ...base(), ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' });
    expect(tls.authorized).toBe(true);
    expect(tls.getProtocol()).toBe('TLSv1.2');
    expect(tls.getCipher()).toEqual({
      name: 'ECDHE-RSA-AES128-GCM-SHA256',
      standardName: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
      version: 'TLSv1.2',
    });
    expect(tls.getHandshakeResult()?.extendedMasterSecret).toBe(true);
    expect(await exchange(tls, 'hello world\n', 'dlrow olleh')).toContain('dlrow olleh');
    const big = 'x'.repeat(40_000) + 'END\n';
    expect(await exchange(tls, big, 'DNE')).toContain('DNE');
    await finish(tls);
  });

  describe('every suite alone', () => {
    let rsa: RunningServer;
    let ec: RunningServer;
    let rsaMte: RunningServer;
    beforeAll(async () => {
      // SECLEVEL=0 so that the SHA-1 MAC and static RSA suites are on the server's list.
      const all = ['-cipher', 'ALL:@SECLEVEL=0'];
      rsa = await start(rev(all));
      ec = await start(rev(all, certs.serverEc));
      rsaMte = await start(rev(['-no_etm', ...all]));
    });
    for (const suite of [...RSA_SUITES, ...EC_SUITES]) {
      it(suite, async () => {
        const server = suite.includes('ECDSA') ? ec : rsa;
        const tls = await handshake(server.port, { ...base(), ciphers: suite });
        expect(tls.authorized).toBe(true);
        expect(tls.getCipher()?.name).toBe(suite);
        const cbc = !/GCM|CHACHA/.test(suite);
        expect(tls.getHandshakeResult()?.encryptThenMac).toBe(cbc);
        expect(await exchange(tls, `${suite}\n`, suite.split('').reverse().join(''))).toBeTruthy();
        await finish(tls);
      });
    }
    for (const suite of ['ECDHE-RSA-AES128-SHA', 'AES256-SHA256', 'ECDHE-RSA-AES256-SHA384']) {
      it(`${suite} with MAC-then-encrypt (server without encrypt_then_mac)`, async () => {
        const tls = await handshake(rsaMte.port, { ...base(), ciphers: suite });
        expect(tls.getHandshakeResult()?.encryptThenMac).toBe(false);
        expect(await exchange(tls, 'abc\n', 'cba')).toBeTruthy();
        await finish(tls);
      });
    }
    it('the default list picks ECDHE-RSA-AES128-GCM-SHA256 and ECDHE-ECDSA-AES128-GCM-SHA256', async () => {
      const a = await handshake(rsa.port, base());
      expect(a.getCipher()?.name).toBe('ECDHE-RSA-AES128-GCM-SHA256');
      await finish(a);
      const b = await handshake(ec.port, base());
      expect(b.getCipher()?.name).toBe('ECDHE-ECDSA-AES128-GCM-SHA256');
      await finish(b);
    });
    for (const groups of ['X25519', 'P-256', 'P-384']) {
      it(`ECDHE over ${groups}`, async () => {
        const s = await start(rev(['-groups', groups]));
        const tls = await handshake(s.port, base());
        expect(await exchange(tls, 'group\n', 'puorg')).toBeTruthy();
        await finish(tls);
        await s.stop();
      });
    }
  });

  describe('client certificates (-Verify 1)', () => {
    let s: RunningServer;
    beforeAll(async () => {
      s = await start(rev(['-Verify', '1', '-CAfile', certs.ca, '-verify_return_error']));
    });
    for (const kind of ['clientRsa', 'clientEc'] as const) {
      it(`${kind === 'clientRsa' ? 'RSA' : 'P-256'} client key: Certificate + CertificateVerify`, async () => {
        const c = certs[kind];
        const tls = await handshake(s.port, {
          ...base(),
          cert: readFileSync(c.cert),
          key: readFileSync(c.key),
        });
        expect(tls.getHandshakeResult()?.certificateRequested).toBe(true);
        expect(tls.getHandshakeResult()?.certificateSent).toBe(true);
        expect(await exchange(tls, 'mutual\n', 'lautum')).toBeTruthy();
        await finish(tls);
      });
    }
    it('without a certificate: an empty Certificate, and the server refuses', async () => {
      const err = await handshakeError(s.port, base());
      expect(err.name).toBe('TlsAlert');
      expect(err.sent).toBe(false);
      expect(err.code).toMatch(/^ERR_SSL_(SSLV3|TLSV1|TLSV13)_ALERT_/);
    });
  });

  it('ALPN x-amzn-mqtt-ca', async () => {
    const s = await start(rev(['-alpn', 'x-amzn-mqtt-ca'], certs.serverEc));
    const tls = await handshake(s.port, { ...base(), ALPNProtocols: ['mqtt', 'x-amzn-mqtt-ca'] });
    expect(tls.alpnProtocol).toBe('x-amzn-mqtt-ca');
    await finish(tls);
    const none = await handshake(s.port, base());
    expect(none.alpnProtocol).toBe(false);
    await finish(none);
    await s.stop();
  });

  describe('resumption', () => {
    const connectTwice = async (args: string[]) => {
      const s = await start(rev(args));
      const sessions: Buffer[] = [];
      const first = await handshake(s.port, base());
      first.on('session', (b: Buffer) => sessions.push(b));
      expect(await exchange(first, 'one\n', 'eno')).toBeTruthy();
      const session = first.getSession();
      expect(session).toBeInstanceOf(Buffer);
      expect(first.isSessionReused()).toBe(false);
      await finish(first);
      const second = await handshake(s.port, { ...base(), session });
      expect(second.isSessionReused()).toBe(true);
      expect(second.authorized).toBe(true);
      expect(await exchange(second, 'two\n', 'owt')).toBeTruthy();
      await finish(second);
      await s.stop();
      return { first, second };
    };
    it('by session ID (-no_ticket)', async () => {
      const { second } = await connectTwice(['-no_ticket']);
      expect(second.getCipher()?.name).toBe('ECDHE-RSA-AES128-GCM-SHA256');
    });
    it('by session ticket (RFC 5077, -no_cache)', async () => {
      await connectTwice(['-no_cache']);
    });
    it('a session for another name is not offered', async () => {
      const s = await start(rev());
      const first = await handshake(s.port, base());
      await exchange(first, 'x\n', 'x');
      const session = first.getSession();
      await finish(first);
      const other = await handshake(s.port, {
        ca: certs.caPem,
        servername: '127.0.0.1',
        host: '127.0.0.1',
        session,
      });
      expect(other.isSessionReused()).toBe(false);
      await finish(other);
      await s.stop();
    });
  });

  describe('rejections: a typed error and no application data', () => {
    it('untrusted server certificate: unknown_ca sent, UNABLE_TO_GET_ISSUER_CERT_LOCALLY', async () => {
      const s = await start(rev());
      const err = await handshakeError(s.port, { servername: 'localhost', ca: [] });
      expect(err.code).toMatch(/UNABLE_TO_(GET_ISSUER_CERT_LOCALLY|VERIFY_LEAF_SIGNATURE)/);
      const loose = await handshake(s.port, { servername: 'localhost', rejectUnauthorized: false, ca: [] });
      expect(loose.authorized).toBe(false);
      expect(loose.authorizationError).toMatch(/UNABLE_TO/);
      await finish(loose);
      await s.stop();
    });
    it('wrong host name: ERR_TLS_CERT_ALTNAME_INVALID', async () => {
      const s = await start(rev());
      const err = await handshakeError(s.port, { ca: certs.caPem, servername: 'example.com' });
      expect(err.code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
      await s.stop();
    });
    it('server with only suites we do not offer: handshake_failure received', async () => {
      const s = await start(rev(['-cipher', 'AES128-SHA']));
      const err = await handshakeError(s.port, base());
      expect(err.code).toBe('ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE');
      expect(err.sent).toBe(false);
      await s.stop();
    });
    it('TLS 1.1-only server: protocol_version', async () => {
      const s = await start(rev(['-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0']), { tls12: false });
      // CBC offered, so that a TLS 1.1 server finds a suite and answers with its version.
      const err = await handshakeError(s.port, { ...base(), enableCbc: true });
      expect(err.name).toBe('TlsAlert');
      expect(err.alert).toBe('protocol_version');
      await s.stop();
    });
    it('HelloRequest after the handshake: no_renegotiation warning, the server ends it', async () => {
      const s = await start(['-cert', certs.serverRsa.cert, '-key', certs.serverRsa.key]);
      const tls = await handshake(s.port, base());
      const failed = new Promise<Error & { code?: string }>((resolve) => tls.once('error', resolve));
      tls.resume();
      // s_server's interactive "R": renegotiate (sends a HelloRequest).
      s.command('R\n');
      const err = await Promise.race([
        failed,
        new Promise<Error>((r) => tls.once('close', () => r(new Error('closed without error')))),
      ]);
      // OpenSSL answers our no_renegotiation warning with a fatal handshake_failure.
      expect(err).toMatchObject({
        name: 'TlsAlert',
        code: 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE',
        sent: false,
      });
      tls.destroy();
      await s.stop();
    });
    it('minVersion TLSv1.3 is refused before anything is sent', async () => {
      const s = await start(rev());
      await expect(handshake(s.port, { ...base(), minVersion: 'TLSv1.3' })).rejects.toMatchObject({
        code: 'ERR_TLS_INVALID_PROTOCOL_VERSION',
      });
      await s.stop();
    });
  });

  describe('differential: engine "node" fails the same way', () => {
    const cases: Array<{
      name: string;
      server: () => string[];
      options: () => Record<string, unknown>;
      tls12?: boolean;
    }> = [
      {
        name: 'untrusted CA',
        server: () => rev(),
        options: () => ({ servername: 'localhost', ca: certs.serverEc.cert && readPem(certs.serverEc.cert) }),
      },
      {
        name: 'wrong host name',
        server: () => rev(),
        options: () => ({ ca: certs.caPem, servername: 'example.com' }),
      },
      {
        name: 'no shared suite',
        server: () => rev(['-cipher', 'AES128-SHA']),
        options: () => ({ ...base(), ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' }),
      },
      {
        name: 'TLS 1.1-only server',
        server: () => rev(['-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0']),
        options: () => ({ ...base(), ciphers: 'ECDHE-RSA-AES128-SHA' }),
        tls12: false,
      },
      {
        name: 'client certificate required, none given',
        server: () => rev(['-Verify', '1', '-CAfile', certs.ca]),
        options: () => base(),
      },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const s = await start(c.server(), c.tls12 === undefined ? undefined : { tls12: c.tls12 });
        const ours = await handshakeError(s.port, c.options());
        const theirs = await nodeHandshakeError(s.port, c.options());
        expect(ours.code).toBe(theirs.code);
        await s.stop();
      });
    }
  });
});

// gnutls-serv binds every interface (it has no bind option): its cases run inside the UML
// guest, over our own TCP and PPP, in tls-stack.test.ts.

describe.skipIf(check.skip)('TLS 1.2 client against a node:tls server (streams)', () => {
  let dir: string;
  let certs: TlsCerts;
  let server: Server;
  let port = 0;
  let onConnection: (s: TLSSocket) => void = () => {};

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cellstack-tls-node-'));
    certs = await makeTlsCerts(dir);
    server = createTlsServer(
      {
        cert: readPem(certs.serverEc.cert),
        key: readPem(certs.serverEc.key),
        maxVersion: 'TLSv1.2',
        allowHalfOpen: true,
      },
      (s) => onConnection(s),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const a = server.address();
    port = typeof a === 'object' && a ? a.port : 0;
  });

  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const base = () => ({ ca: certs.caPem, servername: 'localhost' });
  const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex');

  it('4 MiB from the server to a slow reader, intact (backpressure)', async () => {
    const payload = randomBytes(4 * 1024 * 1024);
    onConnection = (s) => s.end(payload);
    const tls = await handshake(port, base());
    tls.pause();
    await new Promise((r) => setTimeout(r, 200));
    const chunks: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      tls.on('data', (d: Buffer) => chunks.push(d));
      tls.once('end', () => resolve());
      tls.once('error', reject);
      tls.resume();
    });
    expect(digest(Buffer.concat(chunks))).toBe(digest(payload));
    await finish(tls);
  });

  it('2 MiB from the client, then half-close both ways (allowHalfOpen)', async () => {
    const payload = randomBytes(2 * 1024 * 1024);
    onConnection = (s) => {
      const got: Buffer[] = [];
      s.on('data', (d: Buffer) => got.push(d));
      // Our end() arrives as close_notify: the server answers, then ends too.
      s.on('end', () => s.end(digest(Buffer.concat(got))));
    };
    const tls = await handshake(port, { ...base(), allowHalfOpen: true });
    const answer: Buffer[] = [];
    tls.on('data', (d: Buffer) => answer.push(d));
    const ended = new Promise<void>((r) => tls.once('end', () => r()));
    const closed = new Promise<void>((r) => tls.once('close', () => r()));
    tls.end(payload);
    await ended;
    expect(Buffer.concat(answer).toString()).toBe(digest(payload));
    await closed;
  });

  it('the server ends first: end, then our close_notify, then close', async () => {
    onConnection = (s) => {
      s.resume();
      s.end('bye');
    };
    const tls = await handshake(port, base());
    let text = '';
    tls.on('data', (d: Buffer) => {
      text += d.toString();
    });
    await new Promise<void>((r) => tls.once('close', () => r()));
    expect(text).toBe('bye');
    expect(tls.getHandshakeResult()?.suite.name).toBe('ECDHE-ECDSA-AES128-GCM-SHA256');
  });
});
