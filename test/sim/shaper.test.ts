import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createDuplexPair } from '../../src/sim/duplex-pair.js';
import { LINK_PROFILES, type LinkProfileName, resolveProfile } from '../../src/sim/profiles.js';
import { type LinkFault, shapeLink } from '../../src/sim/shaper.js';
import { LinkShaperCore, type LinkShaperOptions } from '../../src/sim/shaper-core.js';
import { ConfigError } from '../../src/util/errors.js';
import { ManualClock } from '../../src/util/manual-clock.js';

interface Delivery {
  t: number;
  bytes: Uint8Array;
}

interface Step {
  t: number;
  bytes?: Uint8Array;
  stallMs?: number;
}

/**
 * Runs `steps` (pushes and stalls, in time order) through `core`, waking exactly at each step
 * and at each `nextDeadline()`, as a shell with a perfect timer would; a refused push is tried
 * again at the next wake. Returns what came out and when.
 */
function drive(core: LinkShaperCore, steps: readonly Step[], limitMs = 1e9): Delivery[] {
  const out: Delivery[] = [];
  let i = 0;
  let t = steps[0]?.t ?? 0;
  const pushDue = (): void => {
    for (let s = steps[i]; s && s.t <= t; s = steps[i]) {
      if (s.bytes && !core.push(s.bytes, t)) return;
      if (s.stallMs !== undefined) core.stall(t + s.stallMs, t);
      i++;
    }
  };
  for (let guard = 0; guard < 10_000_000; guard++) {
    pushDue();
    for (const bytes of core.take(t)) out.push({ t, bytes });
    pushDue();
    let next = core.nextDeadline();
    const s = steps[i];
    if (s && s.t > t && (next === undefined || s.t < next)) next = s.t;
    if (next === undefined || next > limitMs) break;
    expect(next).toBeGreaterThanOrEqual(t);
    t = next;
  }
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  return Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
}

/** `n` bytes counting up from `from` (mod 256). */
function counting(n: number, from = 0): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (from + i) & 0xff;
  return b;
}

function popcount(x: number): number {
  let c = 0;
  for (let v = x; v; v &= v - 1) c++;
  return c;
}

describe('LinkShaperCore: rate', () => {
  it('holds the rate within 2% over a long transfer, never beyond one burst ahead', () => {
    const rateBps = 40_000; // 5 bytes per ms
    const core = new LinkShaperCore({ rateBps, queueBytes: 8192 });
    const steps: Step[] = [];
    for (let k = 0; k < 200; k++) steps.push({ t: 0, bytes: counting(1000, k) });
    const out = drive(core, steps);
    const total = out.reduce((n, d) => n + d.bytes.length, 0);
    expect(total).toBe(200_000);
    const last = out.at(-1)!.t;
    const measured = (total * 8) / (last / 1000);
    expect(Math.abs(measured - rateBps) / rateBps).toBeLessThan(0.02);
    // Token bucket: by time t at most burst + rate × t bytes have gone.
    const burst = core.params.burstBytes;
    let sent = 0;
    for (const d of out) {
      sent += d.bytes.length;
      expect(sent).toBeLessThanOrEqual(burst + 5 * d.t + 1e-6);
      expect(d.bytes.length).toBeLessThanOrEqual(burst);
    }
    expect(core.stats()).toMatchObject({ bytesIn: 200_000, bytesOut: 200_000, queuedBytes: 0 });
    expect(core.stats().refused).toBeGreaterThan(0);
  });

  it('counts bitsPerByte: 9600 bit/s at 8N1 carries 960 bytes a second', () => {
    const core = new LinkShaperCore({ rateBps: 9600, bitsPerByte: 10, burstBytes: 16 });
    const out = drive(core, [{ t: 0, bytes: new Uint8Array(9600 + 16) }]);
    expect(out.at(-1)!.t).toBeCloseTo(10_000, 6);
  });
});

describe('LinkShaperCore: delay and jitter', () => {
  it('adds exactly the one-way delay', () => {
    const core = new LinkShaperCore({ delayMs: 250 });
    expect(core.push(counting(10), 10)).toBe(true);
    expect(core.nextDeadline()).toBe(260);
    expect(core.take(259.999)).toEqual([]);
    expect(core.take(260)).toEqual([counting(10)]);
    expect(core.nextDeadline()).toBeUndefined();
  });

  it('adds the delay after the line time when rate-limited', () => {
    const core = new LinkShaperCore({ rateBps: 8000, burstBytes: 100, delayMs: 100 });
    const out = drive(core, [{ t: 0, bytes: counting(300) }]);
    // 100 bytes at once (a full bucket), then 100 every 100 ms; each 100 ms later.
    expect(out.map((d) => [d.t, d.bytes.length])).toEqual([
      [100, 100],
      [200, 100],
      [300, 100],
    ]);
  });

  for (const jitterDistribution of ['uniform', 'normal'] as const) {
    it(`${jitterDistribution} jitter never reorders and stays within delay ± jitter`, () => {
      const core = new LinkShaperCore({ delayMs: 100, jitterMs: 50, jitterDistribution, seed: 7 });
      const steps: Step[] = [];
      for (let k = 0; k < 2000; k++) steps.push({ t: k * 20, bytes: Uint8Array.of(k >> 8, k & 0xff) });
      const out = drive(core, steps);
      expect(out.length).toBe(2000);
      const delays: number[] = [];
      out.forEach((d, k) => {
        expect((d.bytes[0]! << 8) | d.bytes[1]!).toBe(k); // in order, one slice per push
        const delay = d.t - k * 20;
        expect(delay).toBeGreaterThanOrEqual(50);
        expect(delay).toBeLessThanOrEqual(150);
        delays.push(delay);
      });
      for (let k = 1; k < out.length; k++) expect(out[k]!.t).toBeGreaterThanOrEqual(out[k - 1]!.t);
      // It does jitter: delays are spread over most of the range.
      expect(Math.max(...delays) - Math.min(...delays)).toBeGreaterThan(80);
    });
  }
});

describe('LinkShaperCore: loss and corruption', () => {
  function corruptRun(options: LinkShaperOptions): {
    out: Uint8Array;
    stats: ReturnType<LinkShaperCore['stats']>;
  } {
    const core = new LinkShaperCore(options);
    const steps: Step[] = [];
    for (let k = 0; k < 100; k++) steps.push({ t: k, bytes: new Uint8Array(1000) });
    const out = concat(drive(core, steps).map((d) => d.bytes));
    return { out, stats: core.stats() };
  }

  it('flips one bit in about the requested share of bytes, the same way for the same seed', () => {
    const a = corruptRun({ corruption: 0.01, seed: 42 });
    const hit = a.out.filter((b) => b !== 0);
    // 100 000 bytes at 1%: 1000 expected, σ ≈ 31.
    expect(hit.length).toBeGreaterThan(850);
    expect(hit.length).toBeLessThan(1150);
    expect(hit.every((b) => popcount(b) === 1)).toBe(true);
    expect(a.stats.corruptedBytes).toBe(hit.length);
    const again = corruptRun({ corruption: 0.01, seed: 42 });
    expect(Buffer.from(again.out).equals(Buffer.from(a.out))).toBe(true);
    const other = corruptRun({ corruption: 0.01, seed: 43 });
    expect(Buffer.from(other.out).equals(Buffer.from(a.out))).toBe(false);
  });

  it('loses about the requested share of chunks, one flipped byte each', () => {
    const core = new LinkShaperCore({ loss: 0.05, seed: 3 });
    let hits = 0;
    for (let k = 0; k < 4000; k++) {
      core.push(new Uint8Array(50), k);
      for (const chunk of core.take(k)) {
        const bad = chunk.filter((b) => b !== 0);
        expect(bad.length).toBeLessThanOrEqual(1);
        hits += bad.length;
      }
    }
    // 4000 chunks at 5%: 200 expected, σ ≈ 14.
    expect(hits).toBeGreaterThan(140);
    expect(hits).toBeLessThan(260);
    expect(core.stats()).toMatchObject({ lostChunks: hits, corruptedBytes: hits });
  });

  it('corrupt() applies to bytes sent before its end only', () => {
    const core = new LinkShaperCore({ rateBps: 8000, burstBytes: 100 });
    core.corrupt(1, 250, 0);
    const out = drive(core, [{ t: 0, bytes: new Uint8Array(500) }]);
    // Slices leave at 0, 100, 200, 300, 400 ms: the first three before 250 ms are all hit.
    expect(out.map((d) => d.bytes.every((b) => popcount(b) === 1))).toEqual([true, true, true, false, false]);
    expect(out.slice(3).every((d) => d.bytes.every((b) => b === 0))).toBe(true);
    expect(core.stats().corruptedBytes).toBe(300);
  });
});

describe('LinkShaperCore: faults and the queue', () => {
  it('stall holds the bytes and releases them after, in order', () => {
    const core = new LinkShaperCore({ delayMs: 10 });
    core.push(counting(5, 0), 0);
    core.stall(500, 0);
    core.push(counting(5, 5), 100);
    expect(core.nextDeadline()).toBe(500);
    expect(core.take(499)).toEqual([]);
    expect(concat(core.take(500))).toEqual(Buffer.from(counting(5)));
    expect(core.take(509)).toEqual([]);
    expect(concat(core.take(510))).toEqual(Buffer.from(counting(5, 5)));
    expect(core.stats().stalls).toBe(1);
  });

  it('a stalled line fills its queue and pushes back', () => {
    const core = new LinkShaperCore({ queueBytes: 1000 });
    core.stall(1000, 0);
    expect(core.push(new Uint8Array(600), 0)).toBe(true);
    expect(core.push(new Uint8Array(600), 10)).toBe(false);
    expect(core.stats()).toMatchObject({ refused: 1, queuedBytes: 600 });
    expect(core.take(999)).toEqual([]);
    expect(core.take(1000).length).toBe(1);
    expect(core.push(new Uint8Array(600), 1000)).toBe(true);
  });

  it('bounds the queue: a push that does not fit is refused whole, until the line drains', () => {
    const core = new LinkShaperCore({ rateBps: 8000, burstBytes: 100, queueBytes: 1000 }); // 1 byte/ms
    expect(core.push(new Uint8Array(900), 0)).toBe(true); // 100 leave at once
    expect(core.queuedBytes).toBe(800);
    expect(core.push(new Uint8Array(300), 0)).toBe(false);
    expect(core.queuedBytes).toBe(800);
    core.take(100); // 100 more leave
    expect(core.push(new Uint8Array(300), 100)).toBe(true);
    expect(core.stats().maxQueuedBytes).toBe(1000);
    // A chunk bigger than the bound goes into an empty queue, so it cannot wait forever.
    const big = new LinkShaperCore({ queueBytes: 100 });
    expect(big.push(new Uint8Array(5000), 0)).toBe(true);
  });

  it('cut drops what is queued, in flight and pushed later', () => {
    const core = new LinkShaperCore({ rateBps: 8000, burstBytes: 100, delayMs: 500 });
    core.push(new Uint8Array(500), 0);
    core.take(120); // two slices sent, none delivered
    core.cut(120);
    expect(core.nextDeadline()).toBeUndefined();
    expect(core.take(10_000)).toEqual([]);
    expect(core.push(new Uint8Array(10), 10_000)).toBe(true);
    expect(core.stats()).toMatchObject({ cut: true, bytesOut: 0, droppedBytes: 510, queuedBytes: 0 });
  });

  it('rejects bad options and fault arguments with ConfigError', () => {
    expect(() => new LinkShaperCore({ rateBps: 0 })).toThrow(ConfigError);
    expect(() => new LinkShaperCore({ loss: 1.5 })).toThrow(ConfigError);
    expect(() => new LinkShaperCore({ jitterMs: -1 })).toThrow(ConfigError);
    expect(() => new LinkShaperCore({ queueBytes: 0.5 })).toThrow(ConfigError);
    expect(() => new LinkShaperCore().corrupt(2, 10, 0)).toThrow(ConfigError);
  });
});

describe('link profiles', () => {
  it('resolves every named profile with both directions shaped', () => {
    for (const name of Object.keys(LINK_PROFILES) as LinkProfileName[]) {
      const p = resolveProfile(name);
      expect(p.name).toBe(name);
      for (const d of [p.up, p.down]) {
        expect(Number.isFinite(d.rateBps)).toBe(true);
        expect(d.delayMs).toBeGreaterThan(0);
        expect(d.jitterMs).toBeLessThanOrEqual(d.delayMs);
      }
      expect(p.down.rateBps).toBeGreaterThanOrEqual(p.up.rateBps);
    }
    expect(resolveProfile('gprs').down).toMatchObject({ rateBps: 40_000, delayMs: 300 });
    expect(resolveProfile('lossy').up.loss).toBeGreaterThan(0);
  });

  it('extends a named profile and fills in an ideal line for the rest', () => {
    const p = resolveProfile({ extends: 'edge', down: { loss: 0.1 } });
    expect(p.name).toBe('edge+custom');
    expect(p.down).toMatchObject({ rateBps: 180_000, loss: 0.1 });
    expect(p.up.loss).toBe(0);
    const ideal = resolveProfile({});
    expect(ideal.up).toMatchObject({ rateBps: Number.POSITIVE_INFINITY, delayMs: 0, loss: 0 });
  });

  it('rejects unknown names, unknown options and bad values', () => {
    const bad: unknown[] = [
      'wifi',
      'GPRS',
      { extends: 'umts' },
      { down: { ratebps: 1000 } },
      { sideways: {} },
      { up: { rateBps: -1 } },
      { down: { delayMs: Number.NaN } },
      { down: { jitterDistribution: 'pareto' } },
      { up: { corruption: 2 } },
      { up: { queueBytes: 0 } },
      { down: null },
    ];
    for (const b of bad)
      expect(() => resolveProfile(b as Parameters<typeof resolveProfile>[0])).toThrow(ConfigError);
  });
});

describe('LinkShaperCore: property', () => {
  it('delivers the bytes pushed, in order, whatever the chunks, rate, delay, jitter and stalls', () => {
    const step = fc.record({
      gap: fc.integer({ min: 0, max: 200 }),
      bytes: fc.uint8Array({ minLength: 0, maxLength: 600 }),
      stallMs: fc.option(fc.integer({ min: 1, max: 300 }), { nil: undefined }),
    });
    fc.assert(
      fc.property(
        fc.array(step, { maxLength: 40 }),
        fc.option(fc.integer({ min: 1000, max: 1_000_000 }), { nil: undefined }),
        fc.integer({ min: 0, max: 300 }),
        fc.integer({ min: 0, max: 300 }),
        fc.constantFrom('uniform' as const, 'normal' as const),
        fc.integer({ min: 1, max: 4096 }),
        fc.integer(),
        (raw, rateBps, delayMs, jitterMs, jitterDistribution, queueBytes, seed) => {
          const core = new LinkShaperCore({
            rateBps,
            delayMs,
            jitterMs,
            jitterDistribution,
            queueBytes,
            seed,
          });
          let t = 0;
          const steps: Step[] = raw.map((s) => {
            t += s.gap;
            return s.stallMs === undefined
              ? { t, bytes: s.bytes }
              : { t, bytes: s.bytes, stallMs: s.stallMs };
          });
          const out = drive(core, steps);
          const sent = concat(raw.map((s) => s.bytes));
          expect(Buffer.from(concat(out.map((d) => d.bytes))).equals(Buffer.from(sent))).toBe(true);
          expect(core.idle).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('shapeLink (Node shell)', () => {
  function setup(faults: LinkFault[] = [], delayMs = 100) {
    const clock = new ManualClock(1000);
    const [near, far] = createDuplexPair();
    const link = shapeLink(near, {
      clock,
      faults,
      profile: { up: { delayMs }, down: { delayMs } },
    });
    const atFar: Buffer[] = [];
    const atHost: Buffer[] = [];
    far.on('data', (b: Buffer) => atFar.push(b));
    link.host.on('data', (b: Buffer) => atHost.push(b));
    const text = (bs: Buffer[]): string => Buffer.concat(bs).toString('latin1');
    return { clock, link, far, atFar: () => text(atFar), atHost: () => text(atHost) };
  }

  it('carries bytes both ways after the one-way delay', async () => {
    const s = setup();
    s.link.host.write('AT\r');
    s.far.write('OK\r\n');
    await s.clock.advance(99);
    expect(s.atFar()).toBe('');
    expect(s.atHost()).toBe('');
    await s.clock.advance(1);
    expect(s.atFar()).toBe('AT\r');
    expect(s.atHost()).toBe('OK\r\n');
    expect(s.link.stats().up).toMatchObject({ bytesIn: 3, bytesOut: 3 });
    s.link.close();
  });

  it('runs scripted faults: drop-carrier is an event, stall holds, cut drops', async () => {
    const s = setup([
      { atMs: 500, fault: 'drop-carrier' },
      { atMs: 200, fault: 'stall', durationMs: 300, direction: 'up' },
      { atMs: 1000, fault: 'cut' },
    ]);
    const seen: string[] = [];
    s.link.on('fault', (f) => seen.push(`${s.clock.now() - 1000}:${f.fault}`));
    await s.clock.advance(200);
    s.link.host.write('held');
    s.far.write('free');
    await s.clock.advance(100);
    expect(s.atHost()).toBe('free');
    expect(s.atFar()).toBe('');
    await s.clock.advance(200); // t = 500: the stall ends, the bytes leave
    expect(s.atFar()).toBe('');
    await s.clock.advance(100); // and arrive one delay later
    expect(s.atFar()).toBe('held');
    await s.clock.advance(400);
    s.link.host.write('lost');
    await s.clock.advance(1000);
    expect(s.atFar()).toBe('held');
    expect(seen).toEqual(['200:stall', '500:drop-carrier', '1000:cut']);
    expect(s.link.stats().up).toMatchObject({ cut: true, droppedBytes: 4 });
    s.link.close();
  });

  it('paces a long write at the profile rate, with backpressure on the writer', async () => {
    const clock = new ManualClock(0);
    const [near, far] = createDuplexPair();
    const link = shapeLink(near, { clock, profile: 'gprs', seed: 5 });
    let received = 0;
    far.on('data', (b: Buffer) => {
      received += b.length;
    });
    const payload = Buffer.alloc(40_000, 0x55);
    let writeDone = -1;
    for (let i = 0; i < payload.length; i += 1000) {
      link.host.write(payload.subarray(i, i + 1000), () => {
        writeDone = clock.now();
      });
    }
    // 40 000 bytes up at 20 kbit/s: 16 s of line, then 300 ± 150 ms.
    expect(await clock.advanceUntil(() => received === payload.length, 20_000, 50)).toBe(true);
    const t = clock.now();
    expect(t).toBeGreaterThan(16_000 * 0.98);
    expect(t).toBeLessThan(16_000 * 1.02 + 500);
    // The 8 KiB queue held the writes back: the last was taken when about 8 KiB were left.
    expect(writeDone).toBeGreaterThan(((40_000 - 8192) * 8) / 20 - 100);
    expect(link.stats().up.maxQueuedBytes).toBeLessThanOrEqual(8192);
    expect(link.stats().up).toMatchObject({ bytesOut: 40_000, refused: expect.any(Number) });
    expect(link.stats().up.refused).toBeGreaterThan(0);
    link.close();
  });

  it('runs a scripted corruption on one direction for its duration', async () => {
    const s = setup([{ atMs: 0, fault: 'corrupt', probability: 1, durationMs: 50, direction: 'down' }]);
    s.far.write('abc');
    s.link.host.write('up!');
    await s.clock.advance(100);
    s.far.write('xyz');
    await s.clock.advance(100);
    const got = s.atHost();
    expect(got.slice(0, 3)).not.toBe('abc');
    expect([...got.slice(0, 3)].every((c, i) => popcount(c.charCodeAt(0) ^ 'abc'.charCodeAt(i)) === 1)).toBe(
      true,
    );
    expect(got.slice(3)).toBe('xyz');
    expect(s.atFar()).toBe('up!');
    expect(s.link.stats().down.corruptedBytes).toBe(3);
    s.link.close();
  });

  it('rejects bad scripted faults', () => {
    const [near] = createDuplexPair();
    const bad: LinkFault[][] = [
      [{ atMs: -1, fault: 'cut' }],
      [{ atMs: 0, fault: 'stall' }],
      [{ atMs: 0, fault: 'corrupt', durationMs: 10 }],
      [{ atMs: 0, fault: 'explode' as LinkFault['fault'] }],
    ];
    for (const faults of bad) expect(() => shapeLink(near, { faults })).toThrow(ConfigError);
  });

  it('ends the host side after the delayed bytes when the far side ends', async () => {
    const s = setup();
    let ended = false;
    s.link.host.on('end', () => {
      ended = true;
    });
    s.far.end('bye');
    await s.clock.advance(50);
    expect(ended).toBe(false);
    await s.clock.advance(50);
    expect(s.atHost()).toBe('bye');
    expect(ended).toBe(true);
    s.link.close();
  });
});
