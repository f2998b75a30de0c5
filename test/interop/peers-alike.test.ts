import { afterAll, beforeAll, describe, it } from 'vitest';
import { type PeerCheck, peer } from './harness/peers.js';
import { umlProblem } from './harness/uml.js';
import { CLIENT_SCENARIOS, ClientSession } from './scenarios/client.js';
import type { PeerUnderTest } from './scenarios/peer.js';
import { startPppdUnderTest } from './scenarios/pppd-peer.js';
import { startSimUnderTest } from './scenarios/sim-peer.js';
import { slirpScenarioProblem, startSlirpUnderTest } from './scenarios/slirp-peer.js';

/**
 * Issue 9: the same client scenarios (scenarios/client.ts) against pppd in user-mode Linux,
 * slirp in a private network namespace, and our virtual modem, so that the virtual modem is
 * known to behave like the real peers. One describe per peer, one PPP session each, the
 * scenarios in order on it.
 */
interface PeerEntry {
  name: string;
  check: PeerCheck;
  start(): Promise<PeerUnderTest>;
}

const PEERS: PeerEntry[] = [
  { name: 'pppd in user-mode Linux', check: peer('uml', umlProblem()), start: startPppdUnderTest },
  {
    name: 'slirp in a private network namespace',
    check: peer('slirp', slirpScenarioProblem()),
    start: startSlirpUnderTest,
  },
  // Nothing external: the virtual modem always runs.
  { name: 'the virtual modem (SimService)', check: { skip: false }, start: startSimUnderTest },
];

for (const entry of PEERS) {
  describe.skipIf(entry.check.skip)(`client scenarios against ${entry.name}`, () => {
    let p: PeerUnderTest | undefined;
    let session: ClientSession | undefined;

    beforeAll(async () => {
      p = await entry.start();
      session = new ClientSession(p);
    }, 30_000);

    afterAll(async () => {
      await session?.dispose();
      await p?.stop();
    }, 20_000);

    for (const scenario of CLIENT_SCENARIOS) {
      it(scenario.name, async () => {
        if (!session) throw new Error(`${entry.name} did not start`);
        await scenario.run(session);
      }, 40_000);
    }
  });
}
