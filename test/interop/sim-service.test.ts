import { mkdtempSync, rmSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Modem } from '../../src/modem/modem.js';
import { openModem } from '../../src/modem/open.js';
import type { ModemPort } from '../../src/modem/port.js';
import { PppLink } from '../../src/ppp/link.js';
import { SimService } from '../../src/sim/service.js';
import { peer, which } from './harness/peers.js';

/**
 * The virtual modem served the ways a program meets a real one: on a TCP port of 127.0.0.1 and
 * on a pseudo-terminal path (socat), driven by our own modem driver through AT, dial and PPP.
 */
const socat = peer('socat', which('socat') ? undefined : 'socat is not installed (apt-get install socat)');
const services: SimService[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const s of services.splice(0)) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tcpPort(port: number): Promise<ModemPort> {
  return new Promise((resolve, reject) => {
    const s = netConnect({ host: '127.0.0.1', port }, () =>
      resolve({ path: `tcp:${port}`, stream: s, close: async () => void s.destroy() }),
    );
    s.once('error', reject);
  });
}

describe('SimService', () => {
  it('on a TCP port: AT, dial, PPP with the address it assigns; a second host replaces the first', async () => {
    const svc = new SimService({
      modem: { network: { registerAfterMs: 0 }, connectDelayMs: 10 },
      network: { ppp: { peerAddress: '10.0.0.9' } },
    });
    services.push(svc);
    const port = await svc.listenTcp(0);
    const modem = new Modem(await tcpPort(port));
    await modem.initialize();
    expect((await modem.identity()).manufacturer).toBeTruthy();
    const stream = await modem.dial();
    const link = new PppLink(stream);
    link.open();
    const info = await link.waitUp(10_000);
    expect(info.localAddress).toBe('10.0.0.9');
    await link.close();
    await modem.close();
    // The next program gets a modem in command state.
    const again = new Modem(await tcpPort(port));
    await again.initialize();
    expect(svc.network.stats().calls).toBe(1);
    await again.close();
  });

  it.skipIf(socat.skip)(
    'on a pty path any program can open, as a dongle appears (and again after it closes)',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'cellstack-simpty-'));
      dirs.push(dir);
      const path = join(dir, 'ttyGSM0');
      const svc = new SimService({ modem: { network: { registerAfterMs: 0 }, connectDelayMs: 10 } });
      services.push(svc);
      await svc.openPty(path);
      const modem = await openModem({ path });
      const stream = await modem.dial();
      const link = new PppLink(stream);
      link.open();
      await link.waitUp(10_000);
      await link.close();
      await modem.close();
      // socat made the pty again for the next program.
      const t0 = Date.now();
      let second: Modem | undefined;
      while (!second && Date.now() - t0 < 5000) {
        second = await openModem({ path }).catch(() => undefined);
        if (!second) await new Promise((r) => setTimeout(r, 100));
      }
      expect(second).toBeDefined();
      await second?.close();
    },
    30_000,
  );
});
