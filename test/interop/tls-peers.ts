import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { connect, type TlsConnectOptions } from '../../src/tls/connect.js';
import type { TlsSocket } from '../../src/tls/socket.js';
import { issueTestLeaf, makeTestCa, P_256, RSA_2048 } from './harness/certs.js';

/**
 * Local TLS peers for the interop tests: per-run certificates made with `openssl`, and
 * `openssl s_server` started on loopback (127.0.0.1 only) and stopped by PID. gnutls-serv
 * cannot bind one address, so it only runs inside the UML guest (tls-stack.test.ts).
 * Also the client helpers both TLS interop files share (suite lists, secured(), exchange(),
 * finish()), which take any Duplex: a net.Socket-based TlsSocket here, our TcpSocket there.
 */

export interface TlsCerts {
  dir: string;
  ca: string;
  caPem: string;
  serverRsa: { cert: string; key: string };
  serverEc: { cert: string; key: string };
  clientRsa: { cert: string; key: string };
  clientEc: { cert: string; key: string };
}

/** A test CA (RSA 2048) and server/client certificates with RSA 2048 and P-256 keys. */
export async function makeTlsCerts(dir: string): Promise<TlsCerts> {
  const ca = await makeTestCa(dir, '/CN=cellstack tls test CA');
  writeFileSync(
    join(dir, 'server.ext'),
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' +
      'subjectAltName=DNS:localhost,IP:127.0.0.1\n',
  );
  writeFileSync(
    join(dir, 'client.ext'),
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n',
  );
  let serial = 2;
  const leaf = (name: string, keyArgs: string[], ext: string, cn: string) =>
    issueTestLeaf(dir, name, { keyArgs, subject: `/CN=${cn}`, ext, serial: serial++ });
  const serverRsa = await leaf('server-rsa', RSA_2048, 'server.ext', 'localhost');
  const serverEc = await leaf('server-ec', P_256, 'server.ext', 'localhost');
  const clientRsa = await leaf('client-rsa', RSA_2048, 'client.ext', 'client rsa');
  const clientEc = await leaf('client-ec', P_256, 'client.ext', 'client ec');
  return { dir, ca, caPem: readFileSync(ca, 'latin1'), serverRsa, serverEc, clientRsa, clientEc };
}

/** Every TLS 1.2 suite we offer with an RSA server key, by OpenSSL name. */
export const RSA_SUITES = [
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'AES128-GCM-SHA256',
  'AES256-GCM-SHA384',
  'ECDHE-RSA-AES128-SHA',
  'ECDHE-RSA-AES256-SHA',
  'ECDHE-RSA-AES128-SHA256',
  'ECDHE-RSA-AES256-SHA384',
  'AES128-SHA',
  'AES256-SHA',
  'AES128-SHA256',
  'AES256-SHA256',
];
/** The same with an ECDSA (P-256) server key. */
export const EC_SUITES = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-ECDSA-AES128-SHA',
  'ECDHE-ECDSA-AES256-SHA',
  'ECDHE-ECDSA-AES128-SHA256',
  'ECDHE-ECDSA-AES256-SHA384',
];

export interface RunningServer {
  port: number;
  proc: ChildProcess;
  /** Everything the server printed so far. */
  output(): string;
  /** Writes to the server's stdin (s_server's interactive commands). */
  command(text: string): void;
  stop(): Promise<void>;
}

function waitFor(
  proc: ChildProcess,
  pattern: RegExp,
  ms: number,
  out: () => string,
): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const m = out().match(pattern);
      if (m) {
        done();
        resolve(m);
      }
    };
    const onExit = () => {
      done();
      reject(new Error(`server exited before it listened: ${out().slice(-500)}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`server did not listen within ${ms} ms: ${out().slice(-500)}`));
    }, ms);
    const done = () => {
      clearTimeout(timer);
      proc.stdout?.off('data', check);
      proc.stderr?.off('data', check);
      proc.off('exit', onExit);
    };
    proc.stdout?.on('data', check);
    proc.stderr?.on('data', check);
    proc.on('exit', onExit);
    check();
  });
}

function wrap(proc: ChildProcess, port: number, out: () => string): RunningServer {
  return {
    port,
    proc,
    output: out,
    command: (text) => proc.stdin?.write(text),
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null || proc.pid === undefined) return;
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      process.kill(proc.pid, 'SIGTERM');
      const t = setTimeout(() => {
        if (proc.pid !== undefined && proc.exitCode === null && proc.signalCode === null)
          process.kill(proc.pid, 'SIGKILL');
      }, 2000);
      await exited;
      clearTimeout(t);
    },
  };
}

function collect(proc: ChildProcess): () => string {
  let text = '';
  proc.stdout?.on('data', (d: Buffer) => {
    text += d.toString('latin1');
  });
  proc.stderr?.on('data', (d: Buffer) => {
    text += d.toString('latin1');
  });
  return () => text;
}

/** `openssl s_server -accept 127.0.0.1:0 -tls1_2 ...args`, once it prints ACCEPT. */
export async function startOpenssl(args: string[], opts: { tls12?: boolean } = {}): Promise<RunningServer> {
  const proc = spawn(
    'openssl',
    ['s_server', '-accept', '127.0.0.1:0', ...(opts.tls12 === false ? [] : ['-tls1_2']), ...args],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  const out = collect(proc);
  const m = await waitFor(proc, /ACCEPT 127\.0\.0\.1:(\d+)/, 10_000, out);
  return wrap(proc, Number(m[1]), out);
}

/** A TCP connection to 127.0.0.1:port. */
export function tcp(port: number): Socket {
  return netConnect({ host: '127.0.0.1', port });
}

/** Resolves with `socket` on secureConnect; rejects on its first error, or after `ms`. */
export function secured<S extends Duplex>(socket: S, ms: number, what = 'handshake'): Promise<S> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${what} timed out`));
    }, ms);
    const onError = (err: Error) => {
      clearTimeout(timer);
      reject(err);
    };
    socket.once('error', onError);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

/** Runs the handshake (engine 'own' over a net.Socket to 127.0.0.1:port); bounded. */
export async function handshake(
  port: number,
  options: Omit<TlsConnectOptions, 'socket'>,
  ms = 10_000,
): Promise<TlsSocket> {
  const transport = tcp(port);
  try {
    return await secured(connect({ ...options, socket: transport, engine: 'own' }), ms);
  } catch (err) {
    transport.destroy();
    throw err;
  }
}

/** The handshake's error (or a failure when it succeeds), plus whether any data arrived. */
export async function handshakeError(
  port: number,
  options: Omit<TlsConnectOptions, 'socket'>,
  ms = 10_000,
): Promise<Error & { code?: string; alert?: string; sent?: boolean }> {
  try {
    const s = await handshake(port, options, ms);
    s.destroy();
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('the handshake succeeded');
}

/** Writes `text` and reads until `expect` has arrived (bounded). */
export function exchange(
  socket: Duplex,
  text: string | Buffer,
  expect: string,
  ms = 20_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const timer = setTimeout(() => {
      done();
      reject(
        new Error(
          `timed out waiting for ${JSON.stringify(expect.slice(0, 40))}, got ${got.length} chars: ${JSON.stringify(got.slice(-40))}`,
        ),
      );
    }, ms);
    const onData = (d: Buffer) => {
      got += d.toString('latin1');
      if (got.includes(expect)) {
        done();
        resolve(got);
      }
    };
    const onError = (e: Error) => {
      done();
      reject(e);
    };
    const done = () => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
    };
    socket.on('data', onData);
    socket.on('error', onError);
    socket.write(text);
  });
}

/** Ends the connection (close_notify) and waits for 'close', bounded. */
export function finish(socket: Duplex, ms = 10_000): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve();
    const timer = setTimeout(() => {
      socket.destroy();
      resolve();
    }, ms);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.on('error', () => {});
    socket.resume();
    socket.end();
  });
}

/** The handshake error through engine 'node' (node:tls over a net.Socket), for differential checks. */
export function nodeHandshakeError(
  port: number,
  options: Omit<TlsConnectOptions, 'socket' | 'engine'>,
  ms = 10_000,
): Promise<Error & { code?: string }> {
  return new Promise((resolve, reject) => {
    const transport = tcp(port);
    const socket = connect({ ...options, socket: transport, engine: 'node' });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('node handshake timed out'));
    }, ms);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.destroy();
      reject(new Error('the node handshake succeeded'));
    });
    socket.once('error', (err: Error) => {
      clearTimeout(timer);
      resolve(err);
    });
  });
}
