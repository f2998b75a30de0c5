import { Modem } from '../../../src/modem/modem.js';
import { SimService } from '../../../src/sim/service.js';
import { withTimeout } from './client.js';
import { closedLoopbackPort, startEchoServer } from './echo-server.js';
import type { PeerUnderTest } from './peer.js';

/**
 * Our virtual modem in process (`SimService.port()`), driven as a real one is: our Modem
 * driver (AT, registration, APN, `ATD*99#` -> `CONNECT`), then PPP to its network-side peer
 * (PppPeerCore) and, behind it, the gateway relaying to this machine's loopback: the echo
 * server is a `net` server on 127.0.0.1, reached at 127.0.0.1:port; its DNS answers `echo.sim`.
 */
export async function startSimUnderTest(): Promise<PeerUnderTest> {
  const echo = await startEchoServer({ host: '127.0.0.1' });
  const closed = await closedLoopbackPort();
  const service = new SimService({
    modem: { network: { registerAfterMs: 200 }, connectDelayMs: 50 },
    gateway: { dns: { 'echo.sim': '127.0.0.1' } },
  });
  const downs: string[] = [];
  service.network.on('down', (reason, message) => downs.push(`${reason}: ${message}`));
  let modem: Modem | undefined;
  let carrierLost: Promise<void> | undefined;
  let stopped = false;
  return {
    name: 'sim',
    openLine: async () => {
      const m = new Modem(service.port());
      modem = m;
      await m.initialize();
      await m.unlock(); // no PIN on this SIM: a no-op, as on a real one
      const reg = await m.waitForRegistration({ timeoutMs: 10_000 });
      if (reg.state !== 'home' && reg.state !== 'roaming') throw new Error(`sim: registration ${reg.state}`);
      await m.setApn('internet');
      await m.attach();
      const data = await m.dial();
      carrierLost = new Promise<void>((resolve) => data.once('carrier-lost', () => resolve()));
      return { stream: data, close: () => m.close() };
    },
    linkOptions: {},
    expected: { localAddress: '10.0.0.2', peerAddress: '10.0.0.1', dns: ['10.0.0.1'] },
    pingAddress: '10.0.0.1',
    echo: { host: '127.0.0.1', port: echo.port },
    closedPort: { host: '127.0.0.1', port: closed },
    dns: { name: 'echo.sim', address: '127.0.0.1', unknown: 'no-such-host.sim' },
    sessionEnded: async (timeoutMs) => {
      if (!carrierLost) throw new Error('sim: no call was made');
      // The network ends the bearer when LCP is finished: the modem says NO CARRIER.
      await withTimeout(carrierLost, timeoutMs, 'sim: NO CARRIER');
      const mode = service.sim.mode;
      if (mode !== 'command') throw new Error(`sim: the modem is in ${mode} mode after NO CARRIER`);
      return `NO CARRIER; modem in ${mode} mode; network: ${downs.join('; ') || 'no down event'}`;
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await modem?.close().catch(() => undefined);
      service.close();
      await echo.close();
    },
  };
}
