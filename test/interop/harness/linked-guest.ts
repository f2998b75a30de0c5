import { NetStack } from '../../../src/ip/stack.js';
import { PppLink } from '../../../src/ppp/link.js';
import { startUmlPeer, type UmlPeer, type UmlPeerOptions, type UmlService } from './uml.js';

/** A UML peer with `services`, our PPP link to it up, a NetStack on top, the path warmed. */
export interface LinkedGuest {
  guest: UmlPeer;
  link: PppLink;
  stack: NetStack;
  stop(): Promise<void>;
}

/** `options`: more of startUmlPeer's (e.g. `tlsMatrix`, `extraFiles`, `memMb`). */
export async function startLinkedGuest(
  services: UmlService[],
  options: Omit<UmlPeerOptions, 'services' | 'auth' | 'lcpEchoInterval'> = {},
): Promise<LinkedGuest> {
  const guest = await startUmlPeer({ ...options, auth: 'none', services, lcpEchoInterval: 0 });
  const link = new PppLink(guest.serial, { lcp: { echoIntervalMs: 0 } }).open();
  await link.waitUp(20_000);
  const stack = new NetStack(link);
  // The first packet after IPCP may be lost while pppd brings ppp0 up: warm the path.
  await stack.ping(guest.peerAddress).catch(() => undefined);
  return {
    guest,
    link,
    stack,
    stop: async () => {
      stack.close();
      await link.close().catch(() => undefined);
      await guest.stop();
    },
  };
}
