import { afterEach, describe, expect, it } from 'vitest';
import { emitIcmp, parseIcmp } from '../../src/ip/icmp.js';
import { emitIpv4Packet, parseIpv4Packet } from '../../src/ip/ipv4.js';
import { NetStack } from '../../src/ip/stack.js';
import { Modem } from '../../src/modem/modem.js';
import { PppLink } from '../../src/ppp/link.js';
import { createSimPair } from '../../src/sim/modem.js';
import { SimNetworkSide, type SimNetworkSideOptions } from '../../src/sim/network-side.js';

/**
 * The virtual modem with a network behind its CONNECT: our own modem driver dials it, our
 * PppLink negotiates with the network-side PPP peer (addresses and DNS assigned by it), and IP
 * flows both ways. The network side here answers ICMP echo itself, standing in for the
 * gateway.
 */
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Answers every ICMP Echo Request the device sends (RFC 792), as a host behind the network would. */
function answerPings(net: SimNetworkSide): void {
  net.on('ip', (bytes) => {
    const ip = parseIpv4Packet(bytes);
    if (ip.protocol !== 1) return;
    const icmp = parseIcmp(ip.payload);
    if (icmp.type !== 8) return;
    net.sendIp(
      emitIpv4Packet({
        source: ip.destination,
        destination: ip.source,
        protocol: 1,
        identification: 1,
        payload: emitIcmp({ type: 0, code: 0, rest: icmp.rest, body: icmp.body }),
      }),
    );
  });
}

async function dialUp(options: SimNetworkSideOptions, user?: string, password?: string) {
  const { sim, port } = createSimPair({ network: { registerAfterMs: 0 }, connectDelayMs: 20 });
  const net = new SimNetworkSide(sim, options);
  const modem = new Modem(port);
  cleanups.push(async () => {
    net.close();
    await modem.close().catch(() => undefined);
  });
  await modem.initialize();
  await modem.waitForRegistration({ timeoutMs: 5000 });
  const stream = await modem.dial();
  const link = new PppLink(stream, {
    ...(user === undefined ? {} : { user }),
    ...(password === undefined ? {} : { password }),
  });
  cleanups.push(() => link.destroy());
  link.open();
  return { sim, net, modem, link };
}

describe('SimNetworkSide: PPP behind the virtual modem', () => {
  it('assigns the address and DNS servers, carries IP both ways (ping)', async () => {
    const { net, link } = await dialUp({
      ppp: { localAddress: '10.0.0.1', peerAddress: '10.0.0.7', dns: ['10.0.0.1', '10.0.0.2'] },
    });
    answerPings(net);
    const ups: string[] = [];
    net.on('up', (i) => ups.push(i.peerAddress));
    const info = await link.waitUp(10_000);
    expect(info).toMatchObject({
      localAddress: '10.0.0.7',
      peerAddress: '10.0.0.1',
      dns: ['10.0.0.1', '10.0.0.2'],
    });
    const stack = new NetStack(link);
    cleanups.push(() => stack.close());
    for (let i = 0; i < 3; i++) {
      const r = await stack.ping('10.0.0.1', { timeoutMs: 2000 });
      expect(r).toMatchObject({ address: '10.0.0.1' });
    }
    expect(ups).toEqual(['10.0.0.7']);
    expect(net.stats().calls).toBe(1);
  });

  it('PAP as the network requires it: the right password gets in, a wrong one is refused', async () => {
    const ppp: SimNetworkSideOptions['ppp'] = {
      auth: 'pap',
      credentials: [{ user: 'iot', password: 'p4ss' }],
    };
    const ok = await dialUp({ ppp }, 'iot', 'p4ss');
    await ok.link.waitUp(10_000);
    const bad = await dialUp({ ppp }, 'iot', 'wrong');
    await expect(bad.link.waitUp(10_000)).rejects.toMatchObject({ code: 'AUTH_FAILED' });
  });

  it('when PPP ends the network drops the call: the modem reports NO CARRIER', async () => {
    const { net, modem, link } = await dialUp({});
    await link.waitUp(10_000);
    const lost = new Promise<void>((resolve) => modem.once('carrier-lost', () => resolve()));
    const downs: string[] = [];
    net.on('down', (reason) => downs.push(reason));
    await link.close(); // our Terminate-Request; the network acks, finishes, drops the bearer
    await lost;
    expect(downs).toEqual(['peer-terminated']);
  });

  it('a gprs profile puts the radio in the path: a round trip takes hundreds of milliseconds', async () => {
    const { net, link } = await dialUp({ profile: 'gprs', seed: 7 });
    answerPings(net);
    await link.waitUp(20_000);
    const stack = new NetStack(link);
    cleanups.push(() => stack.close());
    // GPRS: 300 +- 150 ms each way (src/sim/profiles.ts), so at least 300 ms a round trip.
    for (let i = 0; i < 2; i++) {
      const r = await stack.ping('10.0.0.1', { timeoutMs: 5000 });
      expect(r.rttMs).toBeGreaterThanOrEqual(290);
    }
    expect(net.stats().down.bytesOut).toBeGreaterThan(0);
  }, 30_000);

  it('scripted faults per call: a stall holds a ping, corruption costs frames, then the carrier drops', async () => {
    const { net, modem, link } = await dialUp({
      faults: [
        { afterMs: 1500, fault: 'stall', durationMs: 1500 },
        { afterMs: 3200, fault: 'corrupt', durationMs: 400, probability: 0.2 },
        { afterMs: 4200, fault: 'drop-carrier' },
      ],
    });
    answerPings(net);
    const lost = new Promise<number>((resolve) => modem.once('carrier-lost', () => resolve(Date.now())));
    const t0 = Date.now();
    await link.waitUp(10_000);
    const stack = new NetStack(link);
    cleanups.push(() => stack.close());
    await new Promise((r) => setTimeout(r, Math.max(0, 1600 - (Date.now() - t0))));
    const stalled = await stack.ping('10.0.0.1', { timeoutMs: 3000 });
    expect(stalled.rttMs).toBeGreaterThan(300); // held by the stall (1.5 s to 3 s)
    await new Promise((r) => setTimeout(r, Math.max(0, 3250 - (Date.now() - t0))));
    for (let i = 0; i < 5; i++)
      await stack.ping('10.0.0.1', { timeoutMs: 300, size: 600 }).catch(() => undefined);
    expect(link.stats().hdlc.fcsErrors + net.stats().ppp!.hdlc.fcsErrors).toBeGreaterThan(0);
    const at = await lost;
    expect(at - t0).toBeGreaterThanOrEqual(4100);
  }, 20_000);

  it('rejects a broken fault script', () => {
    const { sim } = createSimPair();
    expect(
      () => new SimNetworkSide(sim, { faults: [{ afterMs: -1, fault: 'stall', durationMs: 5 }] }),
    ).toThrow(/afterMs/);
    expect(() => new SimNetworkSide(sim, { faults: [{ afterMs: 1, fault: 'stall' }] })).toThrow(/durationMs/);
    sim.close();
  });
});
