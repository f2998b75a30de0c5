import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VjCompressor } from '../../src/ppp/vj/compressor.js';
import { VjDecompressor } from '../../src/ppp/vj/decompressor.js';
import { VjProtocol } from '../../src/ppp/vj/wire.js';
import { HOST, PEER, type Seg, TcpFlag, tcpPacket, udpPacket } from './vj-packets.js';

/**
 * RFC 1144 under random traffic: whatever TCP segments go through the compressor, the
 * decompressor gives back the same octets when no frame is lost; and no frame, random or
 * mutated, makes the decompressor throw or build more than its bound.
 */

/** Mostly null (the field stays as it was), sometimes a value from `a`. */
const rarely = <T>(a: fc.Arbitrary<T>, weight = 6) =>
  fc.oneof({ weight, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: a });

/** One step of a connection: how each field moves from the connection's last segment. */
const step = fc.record({
  conn: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat(3) }),
  seq: fc.oneof(
    { weight: 6, arbitrary: fc.constant<'next'>('next') },
    { weight: 2, arbitrary: fc.integer({ min: -3000, max: 3000 }) },
    { weight: 1, arbitrary: fc.integer({ min: -0x20000, max: 0x20000 }) },
  ),
  ack: fc.oneof(
    { weight: 4, arbitrary: fc.constant(0) },
    { weight: 4, arbitrary: fc.integer({ min: 1, max: 3000 }) },
    { weight: 1, arbitrary: fc.integer({ min: -0x20000, max: 0x20000 }) },
  ),
  window: rarely(fc.integer({ min: 0, max: 0xffff }), 3),
  flags: fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(TcpFlag.ACK, TcpFlag.ACK | TcpFlag.PSH) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: 0xff }) },
  ),
  urgent: rarely(fc.integer({ min: 0, max: 0xffff }), 12),
  payload: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 200, max: 600 })),
  id: fc.oneof(
    { weight: 8, arbitrary: fc.constant(1) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) },
  ),
  ttl: rarely(fc.constantFrom(63, 64, 255), 12),
  tos: rarely(fc.constantFrom(0, 0x10, 0x02), 12),
  sack: rarely(fc.constantFrom<[number, number] | 'none'>('none', [1, 2], [5000, 6000]), 4),
  reverse: rarely(fc.constant(true), 4).map((r) => r === true),
});

type Step = typeof step extends fc.Arbitrary<infer T> ? T : never;

interface ConnState {
  seq: number;
  ack: number;
  id: number;
  window: number;
  urgent: number;
  last: number;
  ttl: number;
  tos: number;
  sack: [number, number] | 'none';
}

/** Turns random steps into a realistic-looking sequence of TCP/IPv4 packets. */
function packets(steps: Step[], mixUdp: boolean): Uint8Array[] {
  const conns = new Map<number, ConnState>();
  const out: Uint8Array[] = [];
  let n = 0;
  for (const s of steps) {
    const key = s.conn * 2 + (s.reverse ? 1 : 0);
    let c = conns.get(key);
    if (!c) {
      c = {
        seq: 0x10000 * (key + 1) + 7,
        ack: 0xfffff000 - key,
        id: key * 1000,
        window: 8192,
        urgent: 0,
        last: 0,
        ttl: 64,
        tos: 0,
        sack: 'none',
      };
      conns.set(key, c);
    }
    c.seq = (c.seq + (s.seq === 'next' ? c.last : s.seq)) >>> 0;
    c.ack = (c.ack + s.ack) >>> 0;
    c.id = (c.id + s.id) & 0xffff;
    if (s.window !== null) c.window = s.window;
    if (s.urgent !== null) c.urgent = s.urgent;
    if (s.ttl !== null) c.ttl = s.ttl;
    if (s.tos !== null) c.tos = s.tos;
    if (s.sack !== null) c.sack = s.sack;
    c.last = s.payload;
    const seg: Seg = {
      seq: c.seq,
      ack: c.ack,
      id: c.id,
      flags: s.flags,
      window: c.window,
      urgent: c.urgent,
      payload: s.payload,
      srcPort: 1000 + s.conn,
      dstPort: 80,
      src: s.reverse ? PEER : HOST,
      dst: s.reverse ? HOST : PEER,
      ttl: c.ttl,
      tos: c.tos,
    };
    if (c.sack !== 'none') seg.options = { sack: [c.sack] };
    out.push(tcpPacket(seg));
    if (mixUdp && ++n % 7 === 0) out.push(udpPacket(n));
  }
  return out;
}

const params = fc.record({ maxSlotId: fc.integer({ min: 2, max: 5 }), compSlotId: fc.boolean() });

describe('VJ round trip and fuzz', () => {
  it('decompress(compress(p)) is p, octet for octet, for random TCP segment sequences without loss', () => {
    const totals = { compressed: 0, uncompressed: 0, ip: 0, withoutSlot: 0 };
    fc.assert(
      fc.property(
        fc.array(step, { minLength: 30, maxLength: 150 }),
        params,
        fc.boolean(),
        (steps, prm, udp) => {
          const c = new VjCompressor(prm);
          const d = new VjDecompressor(prm);
          for (const p of packets(steps, udp)) {
            const out = c.compress(p);
            if (out.protocol === VjProtocol.Ip) {
              expect(out.bytes).toBe(p);
              continue;
            }
            if (out.protocol === VjProtocol.CompressedTcp) {
              expect(out.bytes.length).toBeLessThan(p.length);
              if ((out.bytes[0]! & 0x40) === 0) totals.withoutSlot++;
            }
            const back = d.decompress(out.protocol, out.bytes);
            if (typeof back === 'string') throw new Error(`dropped: ${back}`);
            expect(Buffer.from(back).equals(Buffer.from(p))).toBe(true);
          }
          const s = c.stats;
          expect(d.stats.compressed).toBe(s.compressed);
          expect(d.stats.uncompressed).toBe(s.uncompressed);
          totals.compressed += s.compressed;
          totals.uncompressed += s.uncompressed;
          totals.ip += s.ip;
        },
      ),
      { numRuns: 400 },
    );
    // The generator reaches every path: a good share of each kind of frame.
    expect(totals.compressed).toBeGreaterThan(5000);
    expect(totals.uncompressed).toBeGreaterThan(1000);
    expect(totals.ip).toBeGreaterThan(1000);
    expect(totals.withoutSlot).toBeGreaterThan(1000);
  });

  it('plain bulk transfers compress nearly every segment', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 1460 }), { minLength: 10, maxLength: 100 }), (sizes) => {
        const c = new VjCompressor();
        let seq = 1;
        sizes.forEach((n, i) => {
          c.compress(tcpPacket({ seq, ack: 1, id: i, payload: n }));
          seq += n;
        });
        expect(c.stats.uncompressed).toBe(1);
        expect(c.stats.compressed).toBe(sizes.length - 1);
      }),
      { numRuns: 100 },
    );
  });

  /** Frames of a real flow, to mutate. */
  function recorded(): { protocol: number; bytes: Uint8Array }[] {
    const c = new VjCompressor({ maxSlotId: 3, compSlotId: true });
    const out: { protocol: number; bytes: Uint8Array }[] = [];
    let seq = 100;
    for (let i = 0; i < 12; i++) {
      const n = [0, 1, 100, 512][i % 4]!;
      out.push(
        c.compress(
          tcpPacket({
            seq,
            ack: 7 + i * 300,
            id: i * (i % 3),
            payload: n,
            srcPort: 1 + (i % 5),
            window: 4000 + (i % 2),
            flags: TcpFlag.ACK | (i % 4 === 3 ? TcpFlag.URG : 0),
            urgent: i,
          }),
        ),
      );
      seq += n;
    }
    return out.filter((f) => f.protocol !== VjProtocol.Ip);
  }

  const frames = recorded();
  const mutated = fc
    .record({
      base: fc.constantFrom(...frames),
      edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
      cut: fc.option(fc.nat()),
      tail: fc.uint8Array({ maxLength: 8 }),
      swap: fc.boolean(),
    })
    .map(({ base, edits, cut, tail, swap }) => {
      const b = [...base.bytes];
      for (const [at, v] of edits) if (b.length > 0) b[at % b.length] = v;
      const cutAt = cut === null ? b.length : cut % (b.length + 1);
      const protocol = swap ? base.protocol ^ (0x2d ^ 0x2f) : base.protocol;
      return { protocol, bytes: Uint8Array.from([...b.slice(0, cutAt), ...tail]) };
    });
  const random = fc.record({
    protocol: fc.constantFrom(0x2d, 0x2f, 0x21, 0),
    bytes: fc.uint8Array({ maxLength: 1700 }),
  });
  const input = fc.oneof(
    { weight: 3, arbitrary: mutated },
    { weight: 2, arbitrary: fc.constantFrom(...frames) },
    { weight: 2, arbitrary: random },
    { weight: 1, arbitrary: fc.constant('toss' as const) },
  );

  it('random and mutated frames: nothing throws, output is bounded and well formed, and the link resynchronises', () => {
    fc.assert(
      fc.property(fc.array(input, { maxLength: 60 }), fc.boolean(), (inputs, compSlotId) => {
        const d = new VjDecompressor({ maxSlotId: 3, compSlotId, maxPacket: 1500 });
        let dropped = 0;
        let ok = 0;
        for (const f of inputs) {
          if (f === 'toss') {
            d.toss();
            continue;
          }
          const r = d.decompress(f.protocol, f.bytes);
          if (typeof r === 'string') {
            dropped++;
            continue;
          }
          ok++;
          expect(r.length).toBeLessThanOrEqual(1500);
          expect(r.length).toBeGreaterThanOrEqual(40);
          expect((r[2]! << 8) | r[3]!).toBe(r.length); // Total Length rebuilt
          expect(r[9]).toBe(6);
        }
        const s = d.stats;
        const errors = Object.values(s.errors).reduce((a, b) => a + b, 0);
        expect(s.compressed + s.uncompressed).toBe(ok);
        expect(s.tossed + errors).toBe(dropped);
        // Whatever came before, a new connection's UNCOMPRESSED_TCP resynchronises.
        const c = new VjCompressor({ maxSlotId: 3, compSlotId });
        for (let i = 0; i < 5; i++) {
          const p = tcpPacket({ seq: 1 + i * 50, ack: 9, id: 100 + i, payload: 50, srcPort: 4242 });
          const f = c.compress(p);
          const back = d.decompress(f.protocol, f.bytes);
          expect(back).toEqual(p);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('a frame claiming more than maxPacket is dropped, however the deltas say it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 40, max: 2000 }), fc.integer({ min: 0, max: 1700 }), (max, extra) => {
        const d = new VjDecompressor({ maxSlotId: 15, compSlotId: true, maxPacket: max });
        const p = tcpPacket({ seq: 1, ack: 1, id: 1 });
        const c = new VjCompressor();
        const f0 = c.compress(p);
        expect(d.decompress(f0.protocol, f0.bytes)).toEqual(p);
        const big = c.compress(tcpPacket({ seq: 1, ack: 2, id: 2, payload: extra }));
        const r = d.decompress(big.protocol, big.bytes);
        if (typeof r !== 'string') expect(r.length).toBeLessThanOrEqual(Math.min(max, 0xffff));
        else expect(40 + extra).toBeGreaterThan(Math.min(max, 0xffff));
      }),
      { numRuns: 200 },
    );
  });
});
