import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NetStack } from '../../src/ip/stack.js';
import { ReplayPort } from '../../src/modem/replay.js';
import { PppLink } from '../../src/ppp/link.js';
import type { PppUpInfo } from '../../src/ppp/link-core.js';
import { ManualClock } from '../../src/util/manual-clock.js';
import { parseTrace } from '../../src/util/trace.js';
import { traceLinkOptions } from '../helpers/ppp-trace.js';

/**
 * The PPP sessions recorded from the real peers (test/traces/ppp-*.jsonl, recorded by
 * test/interop/record-traces.test.ts), replayed against the core on a manual clock: the peer's
 * bytes come back with their recorded timing, and every byte our side writes must be the
 * byte it wrote then.
 */
function load(name: string) {
  return parseTrace(readFileSync(new URL(`../traces/${name}`, import.meta.url), 'utf8'));
}

async function settle(clock: ManualClock, done: () => boolean, limitMs: number): Promise<void> {
  const ok = await clock.advanceUntil(done, limitMs, 20);
  if (!ok) throw new Error(`not done after ${limitMs} ms of simulated time`);
}

describe('PPP traces recorded from real peers', () => {
  it('pppd, CHAP: retransmits the lost Configure-Request after the restart timer, then comes up and pings', async () => {
    const trace = load('ppp-pppd-chap-lost-confreq.jsonl');
    const clock = new ManualClock();
    const port = new ReplayPort(trace, { clock });
    const link = new PppLink(port.stream, {
      ...traceLinkOptions(0x1f331ed0, { user: 'cellstack', password: 'cellstack-secret' }),
      clock,
    });
    let up: PppUpInfo | undefined;
    link.on('up', (i) => {
      up = i;
    });
    link.open();
    const t0 = clock.now();
    await settle(clock, () => up !== undefined, 30_000);
    expect(port.mismatches).toEqual([]);
    expect(up).toEqual({
      localAddress: '10.64.0.2',
      peerAddress: '10.64.0.1',
      dns: ['10.64.0.1'],
      mtu: 1500,
    });
    // The first ConfReq went unanswered: the second went out one restart period (3 s) later.
    const confReqs = trace.events.filter((e) => e.dir === 'tx' && /^~\xff}#\xc0!}!/.test(e.data));
    expect(confReqs.length).toBeGreaterThanOrEqual(2);
    expect(confReqs[1]!.t - confReqs[0]!.t).toBeGreaterThanOrEqual(2900);
    expect(clock.now() - t0).toBeGreaterThanOrEqual(3000);
    const stack = new NetStack(link, { clock, echoIdentifier: 0x4242 });
    let rtt: number | undefined;
    const ping = stack.ping('10.64.0.1').then(
      (r) => {
        rtt = r.rttMs;
      },
      () =>
        stack.ping('10.64.0.1').then((r) => {
          rtt = r.rttMs;
        }),
    );
    await settle(clock, () => rtt !== undefined, 20_000);
    await ping;
    stack.close();
    const closed = link.close();
    await settle(clock, () => link.phase === 'dead', 10_000);
    await closed;
    expect(port.mismatches).toEqual([]);
    expect(port.finished).toBe(true);
  });

  it('pppd, CHAP with a wrong secret: AUTH_FAILED, byte for byte', async () => {
    const trace = load('ppp-pppd-chap-wrong-secret.jsonl');
    const clock = new ManualClock();
    const port = new ReplayPort(trace, { clock });
    const link = new PppLink(port.stream, {
      ...traceLinkOptions(0x2a, { user: 'cellstack', password: 'not-the-secret' }),
      clock,
    });
    let error: unknown;
    link.waitUp(30_000).catch((e: unknown) => {
      error = e;
    });
    link.open();
    await settle(clock, () => error !== undefined, 30_000);
    expect(error).toMatchObject({ code: 'AUTH_FAILED' });
    await settle(clock, () => link.phase === 'dead', 10_000);
    expect(port.mismatches).toEqual([]);
  });

  it('slirp: Naks its request for 0.0.0.0, Protocol-Rejects CCP, learns 10.0.2.15 and DNS 10.0.2.3', async () => {
    const trace = load('ppp-slirp-noauth.jsonl');
    const clock = new ManualClock();
    const port = new ReplayPort(trace, { clock });
    const link = new PppLink(port.stream, {
      ...traceLinkOptions(0x5eed, { ipcp: { peerAddressHint: '10.0.2.2' } }),
      clock,
    });
    let up: PppUpInfo | undefined;
    link.on('up', (i) => {
      up = i;
    });
    link.open();
    await settle(clock, () => up !== undefined, 30_000);
    expect(up).toEqual({ localAddress: '10.0.2.15', peerAddress: '10.0.2.2', dns: ['10.0.2.3'], mtu: 1500 });
    expect(link.stats().protocolRejected).toBe(1);
    expect(port.mismatches).toEqual([]);
  });
});
