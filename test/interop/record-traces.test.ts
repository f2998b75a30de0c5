import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { NetStack } from '../../src/ip/stack.js';
import { openSerialPort } from '../../src/modem/port.js';
import { recordPort } from '../../src/modem/record.js';
import { PppLink } from '../../src/ppp/link.js';
import { createDuplexPair } from '../../src/sim/duplex-pair.js';
import { traceLinkOptions } from '../helpers/ppp-trace.js';
import { REQUIRE_PEERS } from './harness/peers.js';
import { slirpProblem, startSlirpPeer } from './harness/slirp.js';
import { startUmlPeer, umlProblem } from './harness/uml.js';

/**
 * Records the PPP sessions under test/traces/ppp-*.jsonl from the real peers, for the replay
 * unit tests (test/ppp/traces.test.ts). Runs only with CELLSTACK_RECORD_TRACES=1: the files
 * are committed, and recording again changes them (pppd's magic numbers, CHAP challenges).
 */
const RECORD = process.env['CELLSTACK_RECORD_TRACES'] === '1';
const dir = fileURLToPath(new URL('../traces/', import.meta.url));
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined);
});

describe.skipIf(!RECORD || REQUIRE_PEERS)('record PPP traces from the real peers', () => {
  it('pppd 2.4.9 (UML), CHAP, our first Configure-Request lost on the line, ping, Terminate', async () => {
    expect(umlProblem()).toBeUndefined();
    const guest = await startUmlPeer({ auth: 'chap', lcpEchoInterval: 0 });
    cleanup.push(() => guest.stop());
    const [ours, line] = createDuplexPair();
    // The line drops the first frame we send (our first LCP ConfReq), as a noisy line would.
    let dropped = false;
    let buf = Buffer.alloc(0);
    line.on('data', (b: Buffer) => {
      if (dropped) {
        guest.serial.write(b);
        return;
      }
      buf = Buffer.concat([buf, b]);
      const end = buf.indexOf(0x7e, 1);
      if (end > 0) {
        dropped = true;
        const rest = buf.subarray(end + 1);
        if (rest.length) guest.serial.write(rest);
      }
    });
    guest.serial.on('data', (b: Buffer) => line.write(b));
    const port = recordPort(
      { path: 'pppd-uml', stream: ours, close: async () => undefined },
      `${dir}ppp-pppd-chap-lost-confreq.jsonl`,
      {
        family: 'ppp',
        device: 'pppd 2.4.9 in user-mode Linux (Debian 12), require-chap',
        source:
          'recorded by test/interop/record-traces.test.ts against the real peer (test/interop/harness/uml.ts)',
        notes:
          'our side: seed 0x1f331ed0, user cellstack, secret cellstack-secret; the line dropped our first LCP ConfReq',
      },
    );
    const link = new PppLink(
      port.stream,
      traceLinkOptions(0x1f331ed0, { user: guest.user, password: guest.password }),
    );
    link.open();
    await link.waitUp(20_000);
    const stack = new NetStack(link, { echoIdentifier: 0x4242 });
    await stack.ping('10.64.0.1').catch(() => stack.ping('10.64.0.1'));
    stack.close();
    await link.close();
    await port.close();
  });

  it('pppd 2.4.9 (UML), CHAP with a wrong secret', async () => {
    const guest = await startUmlPeer({ auth: 'chap', lcpEchoInterval: 0 });
    cleanup.push(() => guest.stop());
    const port = recordPort(
      { path: 'pppd-uml', stream: guest.serial, close: async () => undefined },
      `${dir}ppp-pppd-chap-wrong-secret.jsonl`,
      {
        family: 'ppp',
        device: 'pppd 2.4.9 in user-mode Linux (Debian 12), require-chap',
        source:
          'recorded by test/interop/record-traces.test.ts against the real peer (test/interop/harness/uml.ts)',
        notes: 'our side: seed 0x2a, user cellstack, a wrong secret "not-the-secret"',
      },
    );
    const link = new PppLink(
      port.stream,
      traceLinkOptions(0x2a, { user: guest.user, password: 'not-the-secret' }),
    );
    link.open();
    await expect(link.waitUp(20_000)).rejects.toMatchObject({ code: 'AUTH_FAILED' });
    await link.close();
    await port.close();
  });

  it('slirp (Debian slirp 1:1.0.17), no auth, asks us for its address', async () => {
    expect(slirpProblem()).toBeUndefined();
    const p = await startSlirpPeer({ auth: 'none' });
    cleanup.push(() => p.stop());
    const serial = await openSerialPort({ path: p.path });
    cleanup.push(() => serial.close());
    const port = recordPort(serial, `${dir}ppp-slirp-noauth.jsonl`, {
      family: 'ppp',
      device: 'slirp-fullbolt -P (Debian 12 slirp), mtu 1500, in a private network namespace',
      source:
        'recorded by test/interop/record-traces.test.ts against the real peer (test/interop/harness/slirp.ts)',
      notes: 'our side: seed 0x5eed, peerAddressHint 10.0.2.2',
    });
    const link = new PppLink(
      port.stream,
      traceLinkOptions(0x5eed, { ipcp: { peerAddressHint: '10.0.2.2' } }),
    );
    link.open();
    await link.waitUp(20_000);
    const stack = new NetStack(link, { echoIdentifier: 0x4242 });
    await stack.ping('10.0.2.2');
    stack.close();
    await link.close();
  });
});
