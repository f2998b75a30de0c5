import { startUmlPeer } from '../harness/uml.js';
import { DNS_ZONE } from '../harness/uml-services.js';
import type { PeerUnderTest } from './peer.js';

/**
 * pppd 2.4.9 and the Linux kernel's PPP/IP in user-mode Linux, on its serial line directly
 * (no modem in front). The guest's `echo` (tcp 7) and `dns` (dnsmasq, the `cellstack.test`
 * zone) services are bound to its address, 10.64.0.1.
 */
export async function startPppdUnderTest(): Promise<PeerUnderTest> {
  const p = await startUmlPeer({ auth: 'none', services: ['echo', 'dns'] });
  let mark = 0;
  return {
    name: 'pppd',
    openLine: async () => {
      mark = p.logMark();
      return { stream: p.serial, close: async () => undefined };
    },
    linkOptions: {},
    expected: { localAddress: p.clientAddress, peerAddress: p.peerAddress, dns: [p.peerAddress] },
    pingAddress: p.peerAddress,
    echo: { host: p.peerAddress, port: 7 },
    closedPort: { host: p.peerAddress, port: 1 },
    // Names outside the zone are REFUSED by this dnsmasq; inside it, unknown names are NXDOMAIN.
    dns: { name: `broker.${DNS_ZONE}`, address: p.peerAddress, unknown: `no-such-host.${DNS_ZONE}` },
    sessionEnded: async (timeoutMs) => {
      const lines = [
        await p.waitForLog(/rcvd \[LCP TermReq/, timeoutMs, mark),
        await p.waitForLog(/sent \[LCP TermAck/, timeoutMs, mark),
        await p.waitForLog(/Connection terminated/, timeoutMs, mark),
      ];
      return lines.join('\n');
    },
    stop: () => p.stop(),
  };
}
