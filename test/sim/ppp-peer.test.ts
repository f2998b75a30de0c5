import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emitIcmp, IcmpType } from '../../src/ip/icmp.js';
import { emitIpv4Packet, IpProtocol } from '../../src/ip/ipv4.js';
import { type PppConfig, PppCore, type PppEvent } from '../../src/ppp/link-core.js';
import type { PppPeerConfig } from '../../src/sim/ppp-peer/config.js';
import { PppPeerCore } from '../../src/sim/ppp-peer/core.js';
import type { PppPeerEvent } from '../../src/sim/ppp-peer/events.js';
import { parseIpv4 } from '../../src/util/ipv4.js';
import { ManualClock } from '../../src/util/manual-clock.js';
import { seededRandom } from '../helpers/seeded.js';

const CREDS = [{ user: 'device', password: 's3cret' }];
const DNS = ['10.0.0.53', '10.0.0.54'];

/** Our client (`PppCore`) and the network side (`PppPeerCore`) wired back to back. */
function backToBack(client: PppConfig = {}, network: PppPeerConfig = {}) {
  const clock = new ManualClock(0);
  const c = new PppCore({ random: seededRandom(1), ...client });
  const p = new PppPeerCore({ random: seededRandom(2), dns: DNS, ...network });
  const cEvents: PppEvent[] = [];
  const pEvents: PppPeerEvent[] = [];
  /** Bytes on the line from the client to the network may be inspected or replaced. */
  let toNetwork = (b: Uint8Array): Uint8Array => b;
  const pump = () => {
    for (let i = 0; i < 1000; i++) {
      const a = c.takeOutput();
      const b = p.takeOutput();
      cEvents.push(...c.takeEvents());
      pEvents.push(...p.takeEvents());
      if (a.length === 0 && b.length === 0) return;
      for (const x of a) p.receive(toNetwork(x), clock.now());
      for (const x of b) c.receive(x, clock.now());
    }
    throw new Error('the two sides never went quiet');
  };
  /** Lets `ms` of time pass, waking each side at its deadlines. */
  const run = async (ms: number) => {
    const end = clock.now() + ms;
    pump();
    for (let i = 0; i < 100_000; i++) {
      const ds = [c.nextDeadline(), p.nextDeadline()].filter((d): d is number => d !== undefined);
      const d = ds.length > 0 ? Math.max(clock.now(), Math.min(...ds)) : undefined;
      if (d === undefined || d > end) break;
      await clock.advance(d - clock.now());
      c.tick(clock.now());
      p.tick(clock.now());
      pump();
    }
    await clock.advance(end - clock.now());
    pump();
  };
  const start = async () => {
    p.open(clock.now());
    c.open(clock.now());
    await run(10_000);
  };
  return {
    clock,
    c,
    p,
    cEvents,
    pEvents,
    pump,
    run,
    start,
    tap(f: (b: Uint8Array) => Uint8Array) {
      toNetwork = f;
    },
  };
}

type T = ReturnType<typeof backToBack>;
const clientDown = (t: T) =>
  t.cEvents.filter((e) => e.type === 'down').map((e) => e.type === 'down' && e.error.code);
const peerDown = (t: T) =>
  t.pEvents.filter((e) => e.type === 'down').map((e) => e.type === 'down' && e.reason);

function ping(from: string, to: string, id: number, body: Uint8Array): Uint8Array {
  return emitIpv4Packet({
    source: parseIpv4(from),
    destination: parseIpv4(to),
    protocol: IpProtocol.ICMP,
    identification: id,
    payload: emitIcmp({ type: IcmpType.EchoRequest, code: 0, rest: 0x00010000 | id, body }),
  });
}

/** Octets HDLC must escape (Flag, Control Escape, control characters) in every payload. */
const AWKWARD = Uint8Array.from([0x7e, 0x7d, 0x00, 0x11, 0x13, 0x20, 0x5e, 0x5d, 0xff, 0x03, 0x7e, 0x7e]);

describe('PppPeerCore against our PppCore', () => {
  it('comes up without authentication: address, peer address and both DNS servers', async () => {
    const t = backToBack();
    await t.start();
    const up = t.cEvents.find((e) => e.type === 'up');
    expect(up?.type === 'up' && up.info).toEqual({
      localAddress: '10.0.0.2',
      peerAddress: '10.0.0.1',
      dns: DNS,
      mtu: 1500,
    });
    expect(t.c.phase).toBe('network');
    expect(t.p.phase).toBe('network');
    expect(t.p.info).toEqual({
      localAddress: '10.0.0.1',
      peerAddress: '10.0.0.2',
      dns: DNS,
      mtu: 1500,
      auth: null,
      user: '',
    });
    // VJ is Rejected: plain IP both ways; PFC/ACFC agreed both ways.
    expect(t.c.vj).toEqual({});
    expect(t.c.lcpAgreement).toMatchObject({ sendPfc: true, sendAcfc: true, auth: null, sendAccm: 0 });
    expect(t.pEvents.filter((e) => e.type === 'auth')).toEqual([]);
  });

  it('assigns the configured addresses and only the DNS servers it has', async () => {
    const t = backToBack(
      {},
      { localAddress: '192.168.7.1', peerAddress: '192.168.7.20', dns: ['192.168.7.1'] },
    );
    await t.start();
    expect(t.c.info).toMatchObject({
      localAddress: '192.168.7.20',
      peerAddress: '192.168.7.1',
      dns: ['192.168.7.1'],
    });
    expect(t.p.info).toMatchObject({ peerAddress: '192.168.7.20', dns: ['192.168.7.1'] });
  });

  it('authenticates with PAP', async () => {
    const t = backToBack({ user: 'device', password: 's3cret' }, { auth: 'pap', credentials: CREDS });
    await t.start();
    expect(t.c.lcpAgreement?.auth).toBe('pap');
    expect(t.c.info).toMatchObject({ localAddress: '10.0.0.2', dns: DNS });
    const auth = t.pEvents.find((e) => e.type === 'auth');
    expect(auth?.type === 'auth' && auth.result).toMatchObject({ ok: true, protocol: 'pap', user: 'device' });
    expect(t.p.info).toMatchObject({ auth: 'pap', user: 'device' });
    // The password never appears in a log line of either side.
    const lines = [...t.pEvents, ...t.cEvents].flatMap((e) => (e.type === 'log' ? [e.line] : []));
    expect(lines.some((l) => l.includes('PAP AuthReq'))).toBe(true);
    expect(lines.join('\n')).not.toContain('s3cret');
  });

  it('authenticates with CHAP-MD5', async () => {
    const t = backToBack({ user: 'device', password: 's3cret' }, { auth: 'chap-md5', credentials: CREDS });
    await t.start();
    expect(t.c.lcpAgreement?.auth).toBe('chap-md5');
    expect(t.c.info).toMatchObject({ localAddress: '10.0.0.2', peerAddress: '10.0.0.1', dns: DNS });
    expect(t.p.info).toMatchObject({ auth: 'chap-md5', user: 'device' });
    expect(t.p.stats().auth).toMatchObject({ successes: 1, failures: 0 });
    const lines = t.pEvents.flatMap((e) => (e.type === 'log' ? [e.line] : []));
    expect(lines.join('\n')).not.toContain('s3cret');
  });

  for (const auth of ['pap', 'chap-md5'] as const) {
    it(`${auth}: a wrong password fails on both sides and ends the link`, async () => {
      const t = backToBack({ user: 'device', password: 'wrong' }, { auth, credentials: CREDS });
      await t.start();
      expect(clientDown(t)).toEqual(['AUTH_FAILED']);
      expect(peerDown(t)).toEqual(['auth-failed']);
      const result = t.pEvents.find((e) => e.type === 'auth');
      expect(result?.type === 'auth' && result.result).toMatchObject({
        ok: false,
        protocol: auth,
        user: 'device',
      });
      expect(t.c.phase).toBe('dead');
      expect(t.p.phase).toBe('dead');
      expect(t.pEvents.some((e) => e.type === 'dead')).toBe(true);
      expect(t.pEvents.some((e) => e.type === 'up')).toBe(false);
    });

    it(`${auth}: an unknown user fails`, async () => {
      const t = backToBack({ user: 'stranger', password: 's3cret' }, { auth, credentials: CREDS });
      await t.start();
      expect(clientDown(t)).toEqual(['AUTH_FAILED']);
      expect(peerDown(t)).toEqual(['auth-failed']);
    });
  }

  it('CHAP challenges repeat with fresh Identifiers until the device answers', async () => {
    const t = backToBack({ user: 'device', password: 's3cret' }, { auth: 'chap-md5', credentials: CREDS });
    let dropped = 0;
    // Lose the first two CHAP Responses on the way to the network.
    t.tap((b) => {
      if (dropped < 2 && b.includes(0xc2) && b.includes(0x23) && t.c.phase === 'authenticate') {
        dropped++;
        return new Uint8Array(0);
      }
      return b;
    });
    await t.start();
    expect(dropped).toBe(2);
    expect(t.p.info?.auth).toBe('chap-md5');
  });

  it('carries IP packets both ways intact, escapes and all', async () => {
    const t = backToBack({ user: 'device', password: 's3cret' }, { auth: 'pap', credentials: CREDS });
    await t.start();
    const fromDevice: Uint8Array[] = [];
    const toDevice: Uint8Array[] = [];
    for (let i = 0; i < 20; i++) {
      const body = new Uint8Array(i * 70);
      for (let j = 0; j < body.length; j++) body[j] = AWKWARD[j % AWKWARD.length]! ^ (i & 1 ? 0 : j & 0xff);
      const up = ping('10.0.0.2', '10.0.0.1', i, body);
      const down = ping('10.0.0.1', '10.0.0.2', 100 + i, body);
      fromDevice.push(up);
      toDevice.push(down);
      expect(t.c.sendIp(up, t.clock.now())).toBe(true);
      expect(t.p.sendIp(down, t.clock.now())).toBe(true);
      t.pump();
    }
    const big = ping('10.0.0.1', '10.0.0.2', 999, new Uint8Array(1500 - 28).fill(0x7e));
    expect(t.p.sendIp(big)).toBe(true);
    toDevice.push(big);
    t.pump();
    expect(t.pEvents.flatMap((e) => (e.type === 'ip' ? [[...e.packet]] : []))).toEqual(
      fromDevice.map((p) => [...p]),
    );
    expect(t.cEvents.flatMap((e) => (e.type === 'ip' ? [[...e.packet]] : []))).toEqual(
      toDevice.map((p) => [...p]),
    );
    // Larger than the device's MRU: refused, not sent.
    expect(t.p.sendIp(new Uint8Array(1501))).toBe(false);
    expect(t.p.stats()).toMatchObject({ ipIn: 20, ipOut: 21, ipDropped: 1 });
  });

  it('answers LCP Echo: keepalives on both sides keep the link up for 5 minutes', async () => {
    const t = backToBack({ lcp: { echoIntervalMs: 10_000, echoFailure: 3 } });
    await t.start();
    await t.run(5 * 60_000);
    expect(t.c.phase).toBe('network');
    expect(t.p.phase).toBe('network');
    expect(clientDown(t)).toEqual([]);
    expect(peerDown(t)).toEqual([]);
    const c = t.c.stats();
    const p = t.p.stats();
    expect(c.lcpEchoSent).toBeGreaterThanOrEqual(29);
    expect(p.lcpEchoAnswered).toBe(c.lcpEchoSent);
    expect(c.lcpEchoReplies).toBe(c.lcpEchoSent);
    // The network side's own keepalive (30 s by default) is answered by the client.
    expect(p.lcpEchoSent).toBeGreaterThanOrEqual(9);
    expect(p.lcpEchoReplies).toBe(p.lcpEchoSent);
  });

  it('declares the device dead when it stops answering Echo-Requests', async () => {
    const t = backToBack({}, { lcp: { echoIntervalMs: 1000, echoFailure: 2 } });
    await t.start();
    t.tap(() => new Uint8Array(0)); // the device goes silent
    await t.run(10_000);
    expect(peerDown(t)).toEqual(['peer-dead']);
    expect(t.p.phase).toBe('dead');
  });

  it('close by the device ends both sides', async () => {
    const t = backToBack();
    await t.start();
    t.c.close(t.clock.now());
    await t.run(10_000);
    expect(clientDown(t)).toEqual(['LOCAL_CLOSE']);
    expect(peerDown(t)).toEqual(['peer-terminated']);
    expect(t.c.phase).toBe('dead');
    expect(t.p.phase).toBe('dead');
    expect(t.pEvents.filter((e) => e.type === 'dead')).toHaveLength(1);
  });

  it('close by the network ends both sides', async () => {
    const t = backToBack({ user: 'device', password: 's3cret' }, { auth: 'chap-md5', credentials: CREDS });
    await t.start();
    t.p.close(t.clock.now());
    await t.run(10_000);
    expect(peerDown(t)).toEqual(['local-close']);
    expect(clientDown(t)).toEqual(['PEER_TERMINATED']);
    expect(t.c.phase).toBe('dead');
    expect(t.p.phase).toBe('dead');
    expect(t.p.sendIp(new Uint8Array(40))).toBe(false);
  });

  it('lowerDown (hang-up) makes the network side dead at once', async () => {
    const t = backToBack();
    await t.start();
    t.p.lowerDown(t.clock.now());
    t.pump();
    expect(peerDown(t)).toEqual(['lower-down']);
    expect(t.p.phase).toBe('dead');
    expect(t.p.nextDeadline()).toBeUndefined();
  });

  it('drops and counts random bytes on the line without throwing, and stays up', async () => {
    const t = backToBack({ lcp: { echoIntervalMs: 0 } }, { lcp: { echoIntervalMs: 0 } });
    await t.start();
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 300 }), async (garbage) => {
        const before = t.p.stats();
        // Garbage, then an abort sequence and a Flag so the next real frame starts clean.
        t.p.receive(garbage, t.clock.now());
        t.p.receive(Uint8Array.of(0x7d, 0x7e), t.clock.now());
        const after = t.p.stats();
        const dropped = (s: typeof after) =>
          s.hdlc.discardedBytes +
          s.hdlc.frames +
          s.hdlc.fcsErrors +
          s.hdlc.runts +
          s.hdlc.aborts +
          s.hdlc.oversize;
        expect(dropped(after)).toBeGreaterThan(dropped(before));
        t.pump();
        await t.run(4000); // anything the garbage started (a renegotiation, say) settles
        const id = ++n & 0xffff;
        t.c.sendIp(ping('10.0.0.2', '10.0.0.1', id, AWKWARD), t.clock.now());
        t.pump();
        const last = t.pEvents.filter((e) => e.type === 'ip').at(-1);
        expect(last?.type === 'ip' && (last.packet[4]! << 8) | last.packet[5]!).toBe(id);
      }),
      { numRuns: 60, seed: 9 },
    );
    expect(t.p.phase).toBe('network');
  });
});
