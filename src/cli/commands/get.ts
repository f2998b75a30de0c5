import { createWriteStream, readFileSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import { connect as netConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { CellstackError, NetStack, type PppSession, tls } from '../../index.js';
import { COMMON_OPTIONS, LINK_HELP, LINK_OPTIONS, linkArgs, parse, UsageError } from '../args.js';
import { formatGet, header, type ResponseEvent, type ResponseHead, ResponseParser } from '../http1.js';
import type { Io } from '../output.js';
import { openSessionFromArgs } from '../session.js';
import { version } from '../version.js';

export const summary = 'HTTP/1.1 GET over the link (or this host), https through our TLS 1.2 client';

export const help = `Usage: cellstack get URL [--device PATH] [options]

Fetches URL (http: or https:) with one HTTP/1.1 GET (Connection: close) and writes the body
to standard output, or to FILE with -o. With --device (or $CELLSTACK_DEVICE) the request goes
over the cellular link (names resolved through the link's DNS servers); without it, over this
host's own network (node:net), so the TLS client can be tried against any server.
https: uses cellstack's own TLS 1.2 client unless --engine node. Redirects are not followed.

Standard error gets the TLS version and suite, the server certificate's subject and issuer,
the ALPN protocol if one was agreed, and the status line (and Location for a 3xx).
Exit 0 on a 2xx or 3xx status. Otherwise one line "cellstack: CODE: reason" and exit 1:
HTTP_404 (any 4xx/5xx status as HTTP_<status>; the body is still written), a certificate
code (CERT_HAS_EXPIRED, ERR_TLS_CERT_ALTNAME_INVALID, UNABLE_TO_GET_ISSUER_CERT_LOCALLY...),
a TLS alert (ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE...), a socket error (ECONNREFUSED,
ENOTFOUND, ECONNRESET, ETIMEDOUT) or a malformed response (HTTP_BAD_RESPONSE,
HTTP_HEADERS_TOO_LARGE, HTTP_TRUNCATED, HTTP_EMPTY_RESPONSE). Exit 2 for a usage mistake.

Options:
  -o, --output FILE      write the body to FILE (created once the response head arrives)
      --ca FILE          trust these CA certificates (PEM) instead of Node's bundled roots
      --cert FILE        our certificate chain (PEM), for servers that ask for one; with --key
      --key FILE         the private key of --cert (PEM)
      --pfx FILE         a PKCS#12 bundle with our certificate and key (instead of --cert/--key)
      --passphrase P     for an encrypted --key or --pfx (or $CELLSTACK_PASSPHRASE)
      --servername NAME  SNI and the name the certificate must match (default: the URL's host)
      --alpn LIST        ALPN protocols to offer, comma-separated (e.g. http/1.1)
      --insecure         go on when the certificate does not verify (prints a warning)
      --engine own|node  TLS client: cellstack's own (default) or node:tls, over the same socket
  -w, --timeout MS       give up when connecting, or waiting for data, takes longer (default 30000)
  -h, --help             this help

${LINK_HELP}`;

const GET_OPTIONS = {
  output: { type: 'string', short: 'o' },
  ca: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  pfx: { type: 'string' },
  passphrase: { type: 'string' },
  servername: { type: 'string' },
  alpn: { type: 'string' },
  insecure: { type: 'boolean' },
  engine: { type: 'string' },
  timeout: { type: 'string', short: 'w' },
} as const;

interface Target {
  https: boolean;
  /** For connecting: an IPv6 literal without its brackets. */
  host: string;
  port: number;
  /** The Host field: host[:port] as the URL has it. */
  hostField: string;
  /** Origin-form request target: path and query. */
  path: string;
}

interface TlsArgs {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  pfx?: Buffer;
  passphrase?: string;
  servername?: string;
  alpn: string[];
  insecure: boolean;
  engine: 'own' | 'node';
}

export async function run(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, { ...COMMON_OPTIONS, ...LINK_OPTIONS, ...GET_OPTIONS });
  if (values['help']) {
    io.stdout.write(`${help}\n`);
    return 0;
  }
  const [urlText, extra] = positionals;
  if (!urlText) throw new UsageError('get needs a URL');
  if (extra !== undefined) throw new UsageError(`unexpected argument: ${extra}`);
  const target = parseTarget(urlText);
  const timeoutMs = str(values['timeout']) === undefined ? 30_000 : Number(values['timeout']);
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new UsageError('--timeout: not a duration');
  const tlsArgs = tlsArgsFrom(values, io.env);
  const output = str(values['output']);

  const device = str(values['device']) ?? io.env['CELLSTACK_DEVICE'];
  let session: PppSession | undefined;
  let stack: NetStack | undefined;
  let transport: Duplex;
  if (device) {
    session = await openSessionFromArgs(linkArgs(values, io.env), (phase, detail) => {
      io.stderr.write(`${phase}${detail ? `: ${detail}` : ''}\n`);
    });
    stack = new NetStack(session.link);
    transport = stack.connect({ host: target.host, port: target.port });
  } else {
    transport = netConnect({ host: target.host, port: target.port });
  }
  try {
    const head = await fetchOnce(transport, target, tlsArgs, { timeoutMs, output }, io);
    if (head.status >= 400) {
      const reason = head.reason || STATUS_CODES[head.status] || 'error status';
      throw new CellstackError(`HTTP_${head.status}`, reason);
    }
    return 0;
  } finally {
    transport.destroy();
    stack?.close();
    await session?.close();
  }
}

function str(v: string | boolean | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function parseTarget(text: string): Target {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`not a URL: ${text}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`only http: and https: URLs are supported, not ${url.protocol}`);
  if (url.username || url.password)
    throw new UsageError('user names and passwords in the URL are not supported');
  if (!url.hostname) throw new UsageError(`no host in ${text}`);
  const https = url.protocol === 'https:';
  return {
    https,
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : https ? 443 : 80,
    hostField: url.host,
    path: `${url.pathname || '/'}${url.search}`,
  };
}

/** `--option FILE: reason` with the system's code (ENOENT, EACCES...). */
function fileError(option: string, path: string | undefined, err: unknown): CellstackError {
  const e = err as NodeJS.ErrnoException;
  return new CellstackError(
    e.code ?? 'EIO',
    `--${option} ${path}: ${String(e.message).replace(/^[A-Z]+: /, '')}`,
  );
}

function readOptionFile(option: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw fileError(option, path, err);
  }
}

function tlsArgsFrom(values: Record<string, string | boolean | undefined>, env: NodeJS.ProcessEnv): TlsArgs {
  const engine = str(values['engine']) ?? 'own';
  if (engine !== 'own' && engine !== 'node')
    throw new UsageError(`--engine: "own" or "node", not "${engine}"`);
  const cert = str(values['cert']);
  const key = str(values['key']);
  const pfx = str(values['pfx']);
  if ((cert === undefined) !== (key === undefined)) throw new UsageError('--cert and --key go together');
  if (pfx !== undefined && cert !== undefined) throw new UsageError('--pfx or --cert/--key, not both');
  const alpn = (str(values['alpn']) ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
  const out: TlsArgs = { alpn, insecure: values['insecure'] === true, engine };
  const ca = str(values['ca']);
  if (ca !== undefined) out.ca = readOptionFile('ca', ca);
  if (cert !== undefined && key !== undefined) {
    out.cert = readOptionFile('cert', cert);
    out.key = readOptionFile('key', key);
  }
  if (pfx !== undefined) out.pfx = readOptionFile('pfx', pfx);
  const passphrase = str(values['passphrase']) ?? env['CELLSTACK_PASSPHRASE'];
  if (passphrase !== undefined) out.passphrase = passphrase;
  const servername = str(values['servername']);
  if (servername !== undefined) out.servername = servername;
  return out;
}

/** `CN=..., O=...` of a certificate name as getPeerCertificate() gives it. */
function describeName(name: unknown): string {
  if (typeof name !== 'object' || name === null) return '(none)';
  const fields = name as Record<string, unknown>;
  const parts: string[] = [];
  for (const k of ['CN', 'O']) {
    const v = fields[k];
    for (const one of Array.isArray(v) ? v : [v]) if (typeof one === 'string') parts.push(`${k}=${one}`);
  }
  return parts.length > 0 ? parts.join(', ') : '(no CN or O)';
}

function reportTls(s: tls.SecureSocket, io: Io): void {
  const c = s.getCipher();
  io.stderr.write(`tls: ${s.getProtocol() ?? '?'} ${c ? `${c.standardName} (${c.name})` : '?'}\n`);
  const peer = s.getPeerCertificate() as { subject?: unknown; issuer?: unknown };
  io.stderr.write(`peer: ${describeName(peer.subject)}; issuer: ${describeName(peer.issuer)}\n`);
  if (s.alpnProtocol) io.stderr.write(`alpn: ${s.alpnProtocol}\n`);
  if (s.alpnProtocol && s.alpnProtocol !== 'http/1.1' && s.alpnProtocol !== 'http/1.0')
    io.stderr.write(`warning: the server chose ${s.alpnProtocol}; speaking HTTP/1.1 anyway\n`);
  if (!s.authorized) {
    const e = s.authorizationError;
    const why =
      e === undefined
        ? 'unknown reason'
        : typeof e === 'string'
          ? e
          : ((e as { code?: string }).code ?? e.message);
    io.stderr.write(`warning: the server certificate did not verify (${why}); going on (--insecure)\n`);
  }
}

function secure(transport: Duplex, t: Target, a: TlsArgs): tls.SecureSocket {
  return tls.connect({
    socket: transport,
    host: t.host,
    servername: a.servername,
    ca: a.ca,
    cert: a.cert,
    key: a.key,
    pfx: a.pfx,
    passphrase: a.passphrase,
    ALPNProtocols: a.alpn,
    rejectUnauthorized: !a.insecure,
    engine: a.engine,
  });
}

/**
 * Sends the GET over `transport` (through TLS for https) and streams the response body out.
 * Resolves with the final response head once the body is complete and written; rejects with
 * the connection's, the TLS client's, the parser's or the output's error.
 */
function fetchOnce(
  transport: Duplex,
  t: Target,
  a: TlsArgs,
  o: { timeoutMs: number; output: string | undefined },
  io: Io,
): Promise<ResponseHead> {
  const conn: Duplex = t.https ? secure(transport, t, a) : transport;
  const parser = new ResponseParser();
  return new Promise<ResponseHead>((resolve, reject) => {
    let settled = false;
    let head: ResponseHead | undefined;
    let out: NodeJS.WritableStream | undefined;
    let timer: NodeJS.Timeout | undefined;
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        const what = head ? 'no data' : 'no response';
        conn.destroy(new CellstackError('ETIMEDOUT', `${what} within ${o.timeoutMs} ms`));
      }, o.timeoutMs);
    };
    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      conn.destroy();
      const done = () => reject(err);
      // What was received of the body stays written (a file is closed first).
      if (out && out !== io.stdout) out.end(done);
      else done();
    };
    const succeed = (h: ResponseHead): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      conn.end(); // close_notify on TLS; the server closes anyway (Connection: close)
      const target = out ?? io.stdout;
      // A file that could not be opened or written reports it here (its 'error' may come after the body).
      const done = (err?: Error | null) => (err ? reject(fileError('output', o.output, err)) : resolve(h));
      if (target === io.stdout) io.stdout.write('', done);
      else target.end(done);
    };
    const openOutput = (): NodeJS.WritableStream => {
      if (o.output === undefined) return io.stdout;
      const file = createWriteStream(o.output);
      file.on('error', (err) => fail(fileError('output', o.output, err)));
      return file;
    };
    const handle = (events: ResponseEvent[]): void => {
      for (const ev of events) {
        if (ev.type === 'head') {
          head = ev.head;
          io.stderr.write(`HTTP/${head.version} ${head.status} ${head.reason}`.trimEnd() + '\n');
          const location = header(head, 'location');
          if (head.status >= 300 && head.status < 400 && location) io.stderr.write(`location: ${location}\n`);
          out = openOutput();
        } else if (ev.type === 'body') {
          if (out && !out.write(ev.data)) {
            conn.pause();
            out.once('drain', () => conn.resume());
          }
        } else if (head) succeed(head);
      }
    };
    const input = (step: () => ResponseEvent[]): void => {
      if (settled) return;
      try {
        handle(step());
      } catch (err) {
        fail(err);
      }
    };
    arm();
    if (t.https)
      conn.once('secureConnect', () => {
        arm();
        reportTls(conn as tls.SecureSocket, io);
      });
    conn.on('data', (chunk: Buffer) => {
      arm();
      input(() => parser.feed(chunk));
    });
    conn.on('end', () => input(() => parser.end()));
    conn.on('error', fail);
    conn.on('close', () => input(() => parser.end()));
    conn.write(formatGet({ target: t.path, host: t.hostField, userAgent: `cellstack/${version()}` }));
  });
}
