import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer, connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { createServer as createTlsServer, type Server } from 'node:tls';
import { CellstackError } from '../util/errors.js';
import { createLogger } from '../util/log.js';
import type { DemoPki } from './demo-pki.js';

const log = createLogger('sim:broker');

/** A local MQTT broker with TLS and a required client certificate, on 127.0.0.1. */
export interface DemoBroker {
  kind: 'mosquitto' | 'aedes';
  host: '127.0.0.1';
  port: number;
  stop(): Promise<void>;
}

export interface DemoBrokerOptions {
  /** `auto` (default): mosquitto when it is installed, else aedes in this process. */
  prefer?: 'auto' | 'mosquitto' | 'aedes';
}

/** The mosquitto binary: on the PATH, or where Debian puts it. */
export function findMosquitto(): string | undefined {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin'];
  for (const d of dirs) {
    if (!d) continue;
    const p = join(d, 'mosquitto');
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Starts the broker: mosquitto if asked or found (falling back to aedes if it fails), else aedes. */
export async function startDemoBroker(pki: DemoPki, options: DemoBrokerOptions = {}): Promise<DemoBroker> {
  const prefer = options.prefer ?? 'auto';
  const mosquitto = prefer === 'aedes' ? undefined : findMosquitto();
  if (prefer === 'mosquitto' && !mosquitto)
    throw new CellstackError('ENOENT', 'mosquitto is not installed (apt-get install mosquitto)');
  if (mosquitto) {
    try {
      return await startMosquitto(mosquitto, pki);
    } catch (err) {
      if (prefer === 'mosquitto') throw err;
      log('mosquitto did not start (%s); using aedes', (err as Error).message);
    }
  }
  return startAedes(pki);
}

async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(0, '127.0.0.1', resolve);
  });
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function startMosquitto(bin: string, pki: DemoPki): Promise<DemoBroker> {
  const dir = mkdtempSync(join(tmpdir(), 'cellstack-broker-'));
  const port = await freePort();
  writeFileSync(join(dir, 'ca.pem'), pki.ca);
  writeFileSync(join(dir, 'server.pem'), pki.serverCert);
  writeFileSync(join(dir, 'server.key'), pki.serverKey, { mode: 0o600 });
  writeFileSync(
    join(dir, 'mosquitto.conf'),
    [
      // Run as root, mosquitto would switch to its own user, which cannot read this directory.
      'user root',
      'persistence false',
      'log_dest stderr',
      `listener ${port} 127.0.0.1`,
      `cafile ${join(dir, 'ca.pem')}`,
      `certfile ${join(dir, 'server.pem')}`,
      `keyfile ${join(dir, 'server.key')}`,
      'require_certificate true',
      'allow_anonymous true',
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(bin, ['-c', join(dir, 'mosquitto.conf')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (stderr.length > 65536) stderr = stderr.slice(-32768);
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const t0 = Date.now();
  while (!(await accepts(port))) {
    if (child.exitCode !== null || Date.now() - t0 > 5000) {
      await stop();
      throw new CellstackError(
        'EBROKER',
        `mosquitto did not start: ${stderr.trim().split('\n').at(-1) ?? ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  log('mosquitto on 127.0.0.1:%d (pid %d)', port, child.pid);
  return { kind: 'mosquitto', host: '127.0.0.1', port, stop };
}

async function startAedes(pki: DemoPki): Promise<DemoBroker> {
  const { Aedes } = await import('aedes');
  const broker = await Aedes.createBroker();
  const server: Server = createTlsServer(
    { cert: pki.serverCert, key: pki.serverKey, ca: pki.ca, requestCert: true, rejectUnauthorized: true },
    (socket) => broker.handle(socket),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const port = (server.address() as { port: number }).port;
  log('aedes on 127.0.0.1:%d', port);
  return {
    kind: 'aedes',
    host: '127.0.0.1',
    port,
    stop: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
}
