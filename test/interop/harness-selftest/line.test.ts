import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { NetStack } from '../../../src/ip/stack.js';
import { PppLink } from '../../../src/ppp/link.js';
import { createDuplexPair } from '../../../src/sim/duplex-pair.js';
import { LineBridge, type LineBridgeOptions } from '../harness/line.js';
import { peer } from '../harness/peers.js';
import { startUmlPeer, type UmlPeer, umlProblem } from '../harness/uml.js';

/** A bridge whose guest side is an in-memory pair: `far` plays the guest's serial line. */
function fakeLine(o: Omit<LineBridgeOptions, 'guest'>) {
  const [guest, far] = createDuplexPair();
  const bridge = new LineBridge({ ...o, guest });
  return { bridge, far, client: bridge.client };
}

/** Resolves with everything `from` delivered once `n` bytes arrived, and when the last one did. */
function receive(from: Duplex, n: number, timeoutMs: number): Promise<{ data: Buffer; at: number }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const timer = setTimeout(
      () => reject(new Error(`only ${got} of ${n} bytes in ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onData = (d: Buffer) => {
      chunks.push(d);
      got += d.length;
      if (got >= n) {
        clearTimeout(timer);
        from.off('data', onData);
        resolve({ data: Buffer.concat(chunks), at: performance.now() });
      }
    };
    from.on('data', onData);
  });
}

const bridges: LineBridge[] = [];
afterAll(() => {
  for (const b of bridges) b.close();
});

describe('LineBridge', () => {
  it('paces each direction at baud/10 bytes/s (115200 and 921600 baud, both ways at once)', async () => {
    const runs = [115_200, 921_600].map(async (baud) => {
      const { bridge, far, client } = fakeLine({ baud });
      bridges.push(bridge);
      const n = (baud / 10) * 1.5; // 1.5 s of line time
      const up = randomBytes(n);
      const down = randomBytes(n);
      const t0 = performance.now();
      const gotUp = receive(far, n, 5000);
      const gotDown = receive(client, n, 5000);
      // In 1 KiB writes, as a serial port delivers them: the bridge holds at most its queue
      // (10 ms of line time, >= 256 bytes) plus one chunk, then pauses the writer.
      for (let i = 0; i < n; i += 1024) {
        client.write(up.subarray(i, i + 1024));
        far.write(down.subarray(i, i + 1024));
      }
      const [u, d] = await Promise.all([gotUp, gotDown]);
      expect(u.data.equals(up)).toBe(true);
      expect(d.data.equals(down)).toBe(true);
      const s = bridge.stats();
      const queue = Math.max(256, Math.floor(baud / 1000));
      expect(s.up.maxQueued).toBeLessThanOrEqual(queue + 1024);
      expect(s.down.maxQueued).toBeLessThanOrEqual(queue + 1024);
      expect(s.up.pauses).toBeGreaterThan(0);
      process.stderr.write(
        `${baud} baud: ${n} bytes up in ${((u.at - t0) / 1000).toFixed(3)} s, down in ${((d.at - t0) / 1000).toFixed(3)} s\n`,
      );
      return { baud, upS: (u.at - t0) / 1000, downS: (d.at - t0) / 1000 };
    });
    for (const r of await Promise.all(runs)) {
      // 1.5 s of line time; timers add at most a few ms, the bucket never runs ahead.
      expect(r.upS, `${r.baud} up`).toBeGreaterThan(1.47);
      expect(r.upS, `${r.baud} up`).toBeLessThan(1.6);
      expect(r.downS, `${r.baud} down`).toBeGreaterThan(1.47);
      expect(r.downS, `${r.baud} down`).toBeLessThan(1.6);
    }
  });

  it('flips one bit in about probability x bytes, only in the chosen direction, reproducibly', async () => {
    const n = 200_000;
    const data = randomBytes(n);
    const run = async (seed: number) => {
      const { bridge, far, client } = fakeLine({ corrupt: { probability: 0.005, seed, directions: ['up'] } });
      bridges.push(bridge);
      const gotUp = receive(far, n, 5000);
      const gotDown = receive(client, n, 5000);
      client.write(data);
      far.write(data);
      const [u, d] = await Promise.all([gotUp, gotDown]);
      bridge.close();
      return { up: u.data, down: d.data, stats: bridge.stats() };
    };
    const a = await run(42);
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      const x = a.up[i]! ^ data[i]!;
      if (x !== 0) {
        bytes++;
        expect(x & (x - 1), `byte ${i}: exactly one bit`).toBe(0);
      }
    }
    expect(bytes).toBe(a.stats.up.corrupted);
    // Binomial(200000, 0.005): mean 1000, sd ~31.5; +-5 sd.
    expect(bytes).toBeGreaterThan(840);
    expect(bytes).toBeLessThan(1160);
    expect(a.down.equals(data)).toBe(true);
    expect(a.stats.down.corrupted).toBe(0);
    const b = await run(42);
    expect(b.up.equals(a.up)).toBe(true);
    const c = await run(43);
    expect(c.up.equals(a.up)).toBe(false);
  });

  it('stall(ms) holds both directions without losing bytes', async () => {
    const { bridge, far, client } = fakeLine({ baud: 921_600 });
    bridges.push(bridge);
    bridge.stall(300);
    const t0 = performance.now();
    const got = receive(far, 1000, 3000);
    const back = receive(client, 1000, 3000);
    client.write(Buffer.alloc(1000, 1));
    far.write(Buffer.alloc(1000, 2));
    const [u, d] = await Promise.all([got, back]);
    expect(u.at - t0).toBeGreaterThanOrEqual(299);
    expect(d.at - t0).toBeGreaterThanOrEqual(299);
    expect(u.at - t0).toBeLessThan(400);
    expect(bridge.stats().up.bytesOut).toBe(1000);
  });

  it('dropAfterMs cuts the line: later bytes are dropped and counted', async () => {
    const { bridge, far, client } = fakeLine({ dropAfterMs: 100 });
    bridges.push(bridge);
    const seen: Buffer[] = [];
    far.on('data', (d: Buffer) => seen.push(d));
    client.write(Buffer.alloc(10, 1));
    await new Promise((r) => setTimeout(r, 50));
    expect(Buffer.concat(seen).length).toBe(10);
    await new Promise((r) => setTimeout(r, 100));
    client.write(Buffer.alloc(500, 1));
    far.write(Buffer.alloc(300, 2));
    await new Promise((r) => setTimeout(r, 50));
    const s = bridge.stats();
    expect(s.cut).toBe(true);
    expect(Buffer.concat(seen).length).toBe(10);
    expect(s.up.dropped).toBe(500);
    expect(s.down.dropped).toBe(300);
  });
});

const uml = peer('uml', umlProblem());

describe.skipIf(uml.skip)('LineBridge between PppLink and pppd', () => {
  let p: UmlPeer;
  let bridge: LineBridge;
  let link: PppLink;

  afterAll(async () => {
    await link?.close().catch(() => undefined);
    bridge?.close();
    await p?.stop();
  });

  it('a PppLink comes up and pings over a paced, corrupting 115200-baud line', async () => {
    p = await startUmlPeer({ lcpEchoInterval: 0 });
    bridge = new LineBridge({ guest: p.serial, baud: 115_200, corrupt: { probability: 0.0005, seed: 7 } });
    link = new PppLink(bridge.client, {}).open();
    const info = await link.waitUp(30_000);
    expect(info.localAddress).toBe('10.64.0.2');
    const stack = new NetStack(link);
    let replies = 0;
    for (let i = 0; i < 6 && replies < 3; i++) {
      await stack
        .ping('10.64.0.1', { timeoutMs: 2000 })
        .then(() => replies++)
        .catch(() => undefined);
    }
    stack.close();
    expect(replies).toBe(3);
    const s = bridge.stats();
    expect(s.up.bytesOut).toBeGreaterThan(50);
    expect(s.down.bytesOut).toBeGreaterThan(50);
    // pppd counts frames with a bad FCS: corruption reached it, or the line was too short to hit.
    process.stderr.write(
      `line: up ${s.up.bytesOut} B (${s.up.corrupted} corrupted), down ${s.down.bytesOut} B (${s.down.corrupted} corrupted)\n`,
    );
  });
});
