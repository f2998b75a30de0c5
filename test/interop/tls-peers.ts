import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect, type TlsConnectOptions } from '../../src/tls/connect.js';
import type { TlsSocket } from '../../src/tls/socket.js';

/**
 * Local TLS peers for the interop tests: per-run certificates made with `openssl`, and
 * `openssl s_server` started on loopback (127.0.0.1 only) and stopped by PID. gnutls-serv
 * cannot bind one address, so it only runs inside the UML guest (tls-stack.test.ts).
 */
const run = promisify(execFile);

export interface TlsCerts {
  dir: string;
  ca: string;
  caPem: string;
  serverRsa: { cert: string; key: string };
  serverEc: { cert: string; key: string };
  clientRsa: { cert: string; key: string };
  clientEc: { cert: string; key: string };
}

async function openssl(dir: string, args: string[]): Promise<void> {
  await run('openssl', args, { cwd: dir, timeout: 30_000 });
}

/** A test CA (RSA 2048) and server/client certificates with RSA 2048 and P-256 keys. */
export async function makeTlsCerts(dir: string): Promise<TlsCerts> {
  mkdirSync(dir, { recursive: true });
  await openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '30',
    '-sha256',
    '-subj',
    '/CN=cellstack tls test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
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
  const leaf = async (name: string, keyArgs: string[], ext: string, cn: string) => {
    await openssl(dir, ['genpkey', ...keyArgs, '-out', `${name}.key`]);
    await openssl(dir, ['req', '-new', '-key', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
    await openssl(dir, [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-set_serial',
      String(serial++),
      '-out',
      `${name}.crt`,
      '-days',
      '30',
      '-sha256',
      '-extfile',
      ext,
    ]);
    return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  };
  const rsa = ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'];
  const ec = ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  const serverRsa = await leaf('server-rsa', rsa, 'server.ext', 'localhost');
  const serverEc = await leaf('server-ec', ec, 'server.ext', 'localhost');
  const clientRsa = await leaf('client-rsa', rsa, 'client.ext', 'client rsa');
  const clientEc = await leaf('client-ec', ec, 'client.ext', 'client ec');
  const { readFileSync } = await import('node:fs');
  return {
    dir,
    ca: join(dir, 'ca.crt'),
    caPem: readFileSync(join(dir, 'ca.crt'), 'latin1'),
    serverRsa,
    serverEc,
    clientRsa,
    clientEc,
  };
}

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

/** Runs the handshake; resolves on secureConnect, rejects on the first error, bounded. */
export function handshake(
  port: number,
  options: Omit<TlsConnectOptions, 'socket'>,
  ms = 10_000,
): Promise<TlsSocket> {
  return new Promise((resolve, reject) => {
    const transport = tcp(port);
    let socket: TlsSocket;
    try {
      socket = connect({ ...options, socket: transport, engine: 'own' });
    } catch (err) {
      transport.destroy();
      reject(err);
      return;
    }
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('handshake timed out'));
    }, ms);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve(socket);
    });
    const onError = (err: Error) => {
      clearTimeout(timer);
      reject(err);
    };
    socket.once('error', onError);
  });
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
export function exchange(socket: TlsSocket, text: string, expect: string, ms = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out waiting for ${JSON.stringify(expect)}, got ${JSON.stringify(got)}`));
    }, ms);
    const onData = (d: Buffer) => {
      got += d.toString('latin1');
      if (got.includes(expect)) {
        cleanup();
        resolve(got);
      }
    };
    const onError = (e: Error) => {
      cleanup();
      reject(e);
    };
    const cleanup = () => {
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
export function finish(socket: TlsSocket, ms = 5_000): Promise<void> {
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
