import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { days, issue, makePki, opensslPkcs12, type Pki, rsaKey, type TestCert } from '../helpers/test-pki.js';
import { peer, which } from '../interop/harness/peers.js';
import { type RunningServer, startOpenssl } from '../interop/tls-peers.js';

/**
 * `cellstack get` as a user runs it, without --device: over this host's network to servers on
 * 127.0.0.1 (node http/https with a test PKI, openssl s_server), with our TLS client and node:tls.
 */

const ENV = { CELLSTACK_DEVICE: '', CELLSTACK_PASSPHRASE: '' };
const get = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  runCli(['get', ...args], { env: { ...ENV, ...env }, timeoutMs: 30_000 });
const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('cellstack:'));

/** 100 kB of text that differs along its length, so a misplaced chunk shows. */
const BIG = Array.from(
  { length: 2000 },
  (_, i) => `line ${String(i).padStart(5, '0')} ${'abcdefghij'.repeat(4)}\n`,
).join('');

function handler(req: IncomingMessage, res: ServerResponse): void {
  const url = req.url ?? '/';
  if (url === '/len') {
    res.writeHead(200, {
      'Content-Type': 'text/plain',
      'Content-Length': Buffer.byteLength('hello, world\n'),
    });
    res.end('hello, world\n');
  } else if (url === '/chunked') {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    // Many writes with pauses between them: several chunks, split across TCP reads.
    let i = 0;
    const step = 7919;
    const next = () => {
      if (i >= BIG.length) {
        res.end();
        return;
      }
      res.write(BIG.slice(i, i + step));
      i += step;
      setImmediate(next);
    };
    next();
  } else if (url === '/headers') {
    const body = JSON.stringify({
      method: req.method,
      url: req.url,
      headers: req.headers,
      httpVersion: req.httpVersion,
    });
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  } else if (url === '/whoami') {
    const cert = (req.socket as TLSSocket).getPeerCertificate();
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end(`client ${cert.subject?.CN ?? 'none'}\n`);
  } else if (url === '/moved') {
    res.writeHead(302, { Location: '/len', 'Content-Length': 0 });
    res.end();
  } else {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('no such thing\n');
  }
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : 0);
    });
  });
}

const servers: Server[] = [];
async function serve(server: Server): Promise<number> {
  servers.push(server);
  return listen(server);
}

afterAll(async () => {
  await Promise.all(
    servers.map(
      (s) =>
        new Promise<void>((r) => {
          (s as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
          s.close(() => r());
        }),
    ),
  );
});

describe('cellstack get over http', () => {
  let port: number;
  beforeAll(async () => {
    port = await serve(createHttpServer(handler));
  });

  it('writes a Content-Length body to stdout and the status line to stderr; sends the documented request', async () => {
    const r = await get([`http://127.0.0.1:${port}/len`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('hello, world\n');
    expect(r.stderr).toMatch(/^HTTP\/1\.1 200 OK$/m);
    const h = await get([`http://127.0.0.1:${port}/headers`]);
    expect(h.code, h.stderr).toBe(0);
    const seen = JSON.parse(h.stdout) as {
      method: string;
      httpVersion: string;
      headers: Record<string, string>;
    };
    expect(seen.method).toBe('GET');
    expect(seen.httpVersion).toBe('1.1');
    expect(seen.headers['host']).toBe(`127.0.0.1:${port}`);
    expect(seen.headers['connection']).toBe('close');
    expect(seen.headers['user-agent']).toMatch(/^cellstack\/\d+\.\d+\.\d+/);
  });

  it('reassembles a chunked body', async () => {
    const r = await get([`http://127.0.0.1:${port}/chunked`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.length).toBe(BIG.length);
    expect(r.stdout).toBe(BIG);
  });

  it('-o FILE writes the body to the file, nothing to stdout; an unwritable FILE exits 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cellstack-get-'));
    try {
      const file = join(dir, 'body.txt');
      const r = await get([`http://127.0.0.1:${port}/chunked`, '-o', file]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('');
      expect(readFileSync(file, 'utf8')).toBe(BIG);
      const bad = await get([`http://127.0.0.1:${port}/len`, '-o', join(dir, 'missing', 'body.txt')]);
      expect(bad.code).toBe(1);
      expect(errorLines(bad.stderr)).toEqual([
        expect.stringMatching(/^cellstack: ENOENT: --output .*body\.txt: /),
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a 404 exits 1 with HTTP_404, the body still written', async () => {
    const r = await get([`http://127.0.0.1:${port}/nowhere`]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('no such thing\n');
    expect(errorLines(r.stderr)).toEqual(['cellstack: HTTP_404: Not Found']);
  });

  it('a 3xx is reported, not followed, and exits 0', async () => {
    const r = await get([`http://127.0.0.1:${port}/moved`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^HTTP\/1\.1 302 Found$/m);
    expect(r.stderr).toMatch(/^location: \/len$/m);
  });

  it('ECONNREFUSED on a closed port; HTTP_TRUNCATED when the body stops short; usage mistakes exit 2', async () => {
    const probe = createNetServer();
    const free = await listen(probe);
    await new Promise<void>((r) => probe.close(() => r()));
    const refused = await get([`http://127.0.0.1:${free}/`]);
    expect(refused.code).toBe(1);
    expect(errorLines(refused.stderr)).toEqual([expect.stringMatching(/^cellstack: ECONNREFUSED: /)]);

    const short = await serve(
      createNetServer((s) => {
        s.once('data', () => s.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten.\n'));
      }),
    );
    const t = await get([`http://127.0.0.1:${short}/`]);
    expect(t.code).toBe(1);
    expect(t.stdout).toBe('only ten.\n');
    expect(errorLines(t.stderr)).toEqual([
      'cellstack: HTTP_TRUNCATED: the connection closed after 10 of 100 body bytes',
    ]);

    for (const args of [[], ['ftp://127.0.0.1/'], ['not a url'], ['http://127.0.0.1/', '--engine', 'rust']]) {
      const u = await get(args);
      expect(u.code, args.join(' ')).toBe(2);
    }
  });
});

describe('cellstack get over https', () => {
  let dir: string;
  let pki: Pki;
  let port: number;
  let expiredPort: number;
  let mtlsPort: number;
  let caFile: string;
  const file = (name: string, text: string | Buffer) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cellstack-get-tls-'));
    pki = makePki('rsa', 'get');
    caFile = file('ca.pem', pki.root.pem);
    const chain = (leaf: TestCert) => leaf.pem + pki.intermediate.pem;
    const base = { maxVersion: 'TLSv1.2' as const, key: pki.leaf.key.pem };
    port = await serve(createHttpsServer({ ...base, cert: chain(pki.leaf) }, handler));
    const expired = issue({
      subject: { O: 'cellstack test', CN: 'localhost' },
      key: pki.leaf.key,
      issuer: pki.intermediate,
      ca: false,
      eku: ['serverAuth'],
      dns: ['localhost'],
      ips: ['127.0.0.1'],
      notBefore: Date.now() - days(30),
      notAfter: Date.now() - days(1),
    });
    expiredPort = await serve(createHttpsServer({ ...base, cert: chain(expired) }, handler));
    mtlsPort = await serve(
      createHttpsServer(
        { ...base, cert: chain(pki.leaf), ca: pki.root.pem, requestCert: true, rejectUnauthorized: true },
        handler,
      ),
    );
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('--ca: verifies, prints the suite, protocol and peer on stderr; --engine node gives the same body', async () => {
    const own = await get([`https://127.0.0.1:${port}/chunked`, '--ca', caFile]);
    expect(own.code, own.stderr).toBe(0);
    expect(own.stdout).toBe(BIG);
    expect(own.stderr).toMatch(
      /^tls: TLSv1\.2 TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 \(ECDHE-RSA-AES128-GCM-SHA256\)$/m,
    );
    expect(own.stderr).toMatch(
      /^peer: CN=localhost, O=cellstack test; issuer: CN=get Intermediate CA, O=cellstack test$/m,
    );
    expect(own.stderr).toMatch(/^HTTP\/1\.1 200 OK$/m);
    expect(own.stderr).not.toMatch(/warning/);
    const node = await get([`https://127.0.0.1:${port}/chunked`, '--ca', caFile, '--engine', 'node']);
    expect(node.code, node.stderr).toBe(0);
    expect(createHash('sha256').update(node.stdout).digest('hex')).toBe(
      createHash('sha256').update(own.stdout).digest('hex'),
    );
    expect(node.stderr).toMatch(/^tls: TLSv1\.2 TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 /m);
  });

  it('ALPN: prints what the server chose', async () => {
    const alpnPort = await serve(
      createHttpsServer(
        {
          maxVersion: 'TLSv1.2',
          key: pki.leaf.key.pem,
          cert: pki.leaf.pem + pki.intermediate.pem,
          ALPNProtocols: ['http/1.1'],
        },
        handler,
      ),
    );
    const r = await get([`https://localhost:${alpnPort}/len`, '--ca', caFile, '--alpn', 'h2,http/1.1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^alpn: http\/1\.1$/m);
    expect(r.stdout).toBe('hello, world\n');
  });

  it('an expired certificate exits 1 with CERT_HAS_EXPIRED (both engines); --insecure goes on with a warning', async () => {
    for (const engine of ['own', 'node']) {
      const r = await get([`https://127.0.0.1:${expiredPort}/len`, '--ca', caFile, '--engine', engine]);
      expect(r.code, engine).toBe(1);
      expect(r.stdout).toBe('');
      expect(errorLines(r.stderr), engine).toEqual([expect.stringMatching(/^cellstack: CERT_HAS_EXPIRED: /)]);
    }
    const r = await get([`https://127.0.0.1:${expiredPort}/len`, '--ca', caFile, '--insecure']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('hello, world\n');
    expect(r.stderr).toMatch(/^warning: the server certificate did not verify \(CERT_HAS_EXPIRED\)/m);
  });

  it('a name the certificate does not hold exits 1 with ERR_TLS_CERT_ALTNAME_INVALID; an unknown CA too', async () => {
    for (const engine of ['own', 'node']) {
      const r = await get([
        `https://127.0.0.1:${port}/len`,
        '--ca',
        caFile,
        '--servername',
        'wrong.test',
        '--engine',
        engine,
      ]);
      expect(r.code, engine).toBe(1);
      expect(errorLines(r.stderr), engine).toEqual([
        expect.stringMatching(/^cellstack: ERR_TLS_CERT_ALTNAME_INVALID: /),
      ]);
    }
    const unknownCa = await get([`https://127.0.0.1:${port}/len`]);
    expect(unknownCa.code).toBe(1);
    expect(errorLines(unknownCa.stderr)).toEqual([
      expect.stringMatching(/^cellstack: UNABLE_TO_GET_ISSUER_CERT_LOCALLY: /),
    ]);
    const insecure = await get([`https://127.0.0.1:${port}/len`, '--servername', 'wrong.test', '--insecure']);
    expect(insecure.code, insecure.stderr).toBe(0);
    expect(insecure.stderr).toMatch(/^warning: the server certificate did not verify/m);
  });

  it('client certificates: --cert/--key and --pfx (passphrase from the option or the environment)', async () => {
    const clientKey = rsaKey('get-client');
    const client = issue({
      subject: { O: 'cellstack test', CN: 'get client' },
      key: clientKey,
      issuer: pki.intermediate,
      ca: false,
      keyUsage: ['digitalSignature'],
      eku: ['clientAuth'],
    });
    const certFile = file('client.pem', client.pem + pki.intermediate.pem);
    const keyFile = file('client.key', clientKey.pem);
    const pfxFile = file(
      'client.p12',
      opensslPkcs12({ key: clientKey, cert: client, chain: [pki.intermediate], passphrase: 'sesame' }),
    );
    const url = `https://127.0.0.1:${mtlsPort}/whoami`;
    for (const engine of ['own', 'node']) {
      const r = await get([url, '--ca', caFile, '--cert', certFile, '--key', keyFile, '--engine', engine]);
      expect(r.code, `${engine}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toBe('client get client\n');
    }
    const pfx = await get([url, '--ca', caFile, '--pfx', pfxFile, '--passphrase', 'sesame']);
    expect(pfx.code, pfx.stderr).toBe(0);
    expect(pfx.stdout).toBe('client get client\n');
    const pfxEnv = await get([url, '--ca', caFile, '--pfx', pfxFile], { CELLSTACK_PASSPHRASE: 'sesame' });
    expect(pfxEnv.code, pfxEnv.stderr).toBe(0);
    expect(pfxEnv.stdout).toBe('client get client\n');
    // Without a certificate the server ends the handshake with an alert.
    const none = await get([url, '--ca', caFile]);
    expect(none.code).toBe(1);
    expect(errorLines(none.stderr)).toEqual([expect.stringMatching(/^cellstack: ERR_SSL_\w*ALERT\w*: /)]);
    const half = await get([url, '--ca', caFile, '--cert', certFile]);
    expect(half.code).toBe(2);
  });
});

const openssl = peer('openssl', which('openssl') ? undefined : 'openssl is not installed');

describe.skipIf(openssl.skip)('cellstack get against openssl s_server -www', () => {
  let dir: string;
  let server: RunningServer | undefined;
  let caFile: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cellstack-get-openssl-'));
    const pki = makePki('ec', 'get-openssl');
    caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, pki.root.pem);
    writeFileSync(join(dir, 'leaf.pem'), pki.leaf.pem);
    writeFileSync(join(dir, 'leaf.key'), pki.leaf.key.pem);
    writeFileSync(join(dir, 'chain.pem'), pki.intermediate.pem);
    server = await startOpenssl([
      '-www',
      '-cert',
      join(dir, 'leaf.pem'),
      '-key',
      join(dir, 'leaf.key'),
      '-cert_chain',
      join(dir, 'chain.pem'),
    ]);
  });

  afterAll(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('fetches the status page (HTTP/1.0, body until close) with both engines', async () => {
    for (const engine of ['own', 'node']) {
      const r = await get([`https://127.0.0.1:${server!.port}/`, '--ca', caFile, '--engine', engine]);
      expect(r.code, `${engine}: ${r.stderr}`).toBe(0);
      expect(r.stderr).toMatch(
        /^tls: TLSv1\.2 TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 \(ECDHE-ECDSA-AES128-GCM-SHA256\)$/m,
      );
      expect(r.stderr).toMatch(/^HTTP\/1\.0 200 ok$/m);
      expect(r.stdout).toContain('Ciphers supported in s_server binary');
      // The page names the suite the server used.
      expect(r.stdout).toMatch(/ECDHE-ECDSA-AES128-GCM-SHA256/);
    }
  });
});
