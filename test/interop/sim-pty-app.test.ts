import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/mqtt/manager/index.js';
import { type DemoBroker, startDemoBroker } from '../../src/sim/demo-broker.js';
import { makeDemoPki } from '../../src/sim/demo-pki.js';
import { BIN, runCli } from '../helpers/cli.js';
import { peer, which } from './harness/peers.js';

/**
 * `cellstack sim --pty PATH` in its own process, and applications pointed at PATH as at a
 * dongle's /dev/ttyUSB2, unchanged: the library's `connect({ modem: { path } })` and the CLI's
 * `mqtt pub --device PATH`, through AT, PPP, the sim's DNS and gateway, to a TLS broker on
 * this machine's loopback.
 */
const socat = peer('socat', which('socat') ? undefined : 'socat is not installed (apt-get install socat)');

describe.skipIf(socat.skip)('an application on `cellstack sim --pty`', () => {
  const pki = makeDemoPki();
  let dir: string;
  let device: string;
  let sim: ChildProcess | undefined;
  let broker: DemoBroker;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cellstack-simapp-'));
    device = join(dir, 'ttyGSM0');
    broker = await startDemoBroker(pki, { prefer: 'aedes' });
    sim = spawn(
      process.execPath,
      [BIN, 'sim', '--pty', device, '--pin', '4321', '--dns', 'broker.sim=127.0.0.1'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const t0 = Date.now();
    while (!existsSync(device)) {
      if (sim.exitCode !== null || Date.now() - t0 > 10_000)
        throw new Error('cellstack sim did not make the pty');
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  afterAll(async () => {
    if (sim && sim.exitCode === null) {
      const exited = new Promise((r) => sim?.once('exit', r));
      sim.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (sim.exitCode === null) sim.kill('SIGKILL');
    }
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the library: connect({ modem: { path } }) publishes and receives, as on a dongle', async () => {
    const conn = connect({
      modem: { path: device, pin: '4321', apn: 'internet' },
      mqtt: {
        url: `mqtts://broker.sim:${broker.port}`,
        clientId: 'pty-app',
        ca: pki.ca,
        cert: pki.clientCert,
        key: pki.clientKey,
      },
      reconnect: { maxAttempts: 2, initialDelayMs: 200 },
    });
    try {
      await conn.ready(30_000);
      const got = new Promise<string>((resolve) => {
        void conn.subscribe('app/t', { qos: 1 }, (_t, p) => resolve(String(p)));
      });
      await conn.publish('app/t', 'from an app on a pty', { qos: 1 }).acked;
      expect(await got).toBe('from an app on a pty');
      expect(conn.stats().ip?.local).toBe('10.0.0.2');
    } finally {
      await conn.end();
    }
  }, 60_000);

  it('the CLI: mqtt pub --device PATH exits 0 once acknowledged', async () => {
    const files = { ca: join(dir, 'ca.pem'), cert: join(dir, 'c.pem'), key: join(dir, 'c.key') };
    writeFileSync(files.ca, pki.ca);
    writeFileSync(files.cert, pki.clientCert);
    writeFileSync(files.key, pki.clientKey);
    // The pty is made again for each program that opens it; give socat a moment.
    await new Promise((r) => setTimeout(r, 500));
    const r = await runCli(
      [
        'mqtt',
        'pub',
        '--device',
        device,
        '--pin',
        '4321',
        '--url',
        `mqtts://broker.sim:${broker.port}`,
        '--topic',
        'app/cli',
        '--message',
        'hello',
        '--qos',
        '1',
        '--ca',
        files.ca,
        '--cert',
        files.cert,
        '--key',
        files.key,
      ],
      { timeoutMs: 60_000 },
    );
    expect(r.code, r.stderr).toBe(0);
  }, 70_000);
});
