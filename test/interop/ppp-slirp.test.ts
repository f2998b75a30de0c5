import { afterEach, describe, expect, it } from 'vitest';
import { NetStack } from '../../src/ip/stack.js';
import type { ModemPort } from '../../src/modem/port.js';
import { openSerialPort } from '../../src/modem/port.js';
import { PppLink } from '../../src/ppp/link.js';
import { peer } from './harness/peers.js';
import { type SlirpPeer, slirpProblem, startSlirpPeer } from './harness/slirp.js';

/**
 * PPP against slirp (an old pppd-derived PPP with a BSD-derived userspace TCP/IP), on a pty
 * opened through serialport, in a private network namespace. slirp asks us to name its
 * address (IPCP 0.0.0.0), offers CCP and VJ, and never sends LCP first.
 */
const slirp = peer('slirp', slirpProblem());
const open: { peer: SlirpPeer; port: ModemPort; link: PppLink }[] = [];

afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.link.close().catch(() => undefined);
    await o.port.close().catch(() => undefined);
    await o.peer.stop();
  }
});

describe.skipIf(slirp.skip)('PPP against slirp on a pty', () => {
  for (const auth of ['none', 'pap', 'chap'] as const) {
    it(`comes up (${auth}) with 10.0.2.15 and pings 10.0.2.2`, async () => {
      const p = await startSlirpPeer({ auth });
      const port = await openSerialPort({ path: p.path });
      const link = new PppLink(port.stream, {
        ipcp: { peerAddressHint: '10.0.2.2' },
        ...(auth === 'none' ? {} : { user: p.user, password: p.password }),
      });
      open.push({ peer: p, port, link });
      link.open();
      const info = await link.waitUp(20_000);
      expect(info.localAddress).toBe('10.0.2.15');
      expect(info.peerAddress).toBe('10.0.2.2');
      expect(info.dns).toContain('10.0.2.3');
      expect(link.core.lcpAgreement?.auth).toBe(auth === 'none' ? null : auth === 'pap' ? 'pap' : 'chap-md5');
      const stack = new NetStack(link);
      const r = await stack.ping('10.0.2.2', { timeoutMs: 5000 });
      expect(r.address).toBe('10.0.2.2');
      expect(r.rttMs).toBeLessThan(1000);
      stack.close();
      const stats = link.stats();
      expect(stats.protocolRejected).toBeGreaterThanOrEqual(1); // slirp's CCP
      expect(stats.hdlc.fcsErrors + stats.hdlc.runts + stats.hdlc.oversize).toBe(0);
      // slirp never asks for an ACCM, so everything below 0x20 went out escaped (RFC 1662 7.1).
      expect(link.core.lcpAgreement?.sendAccm).toBe(0xffffffff);
    });
  }
});
