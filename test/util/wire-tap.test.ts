import { describe, expect, it } from 'vitest';
import { HdlcEncoder } from '../../src/ppp/hdlc.js';
import {
  classifyFrame,
  summarizeExchanges,
  VJ,
  vjCompressedHeaderLength,
  WireTap,
} from '../interop/harness/wire-tap.js';

/**
 * The wire tap's classifier (test/interop/harness/wire-tap.ts), the instrument of
 * bench/vj-wire.bench.ts, on synthetic frames: plain IPv4/TCP, RFC 1144 uncompressed and
 * hand-built compressed TCP headers, control frames, and wire sizes with escapes and shared
 * Flags, checked against what HdlcEncoder puts on the wire.
 */

const TCP_ACK = 0x10;
const TCP_PSH = 0x08;
const TCP_SYN = 0x02;
const TCP_FIN = 0x01;

/** An IPv4 + TCP packet (no checksums: the classifier does not check them). */
function ipTcp(o: { payload: number; flags?: number; options?: number; protoOrSlot?: number; ihl?: number }) {
  const ihl = o.ihl ?? 20;
  const doff = 20 + (o.options ?? 0);
  const total = ihl + doff + o.payload;
  const p = new Uint8Array(total);
  p[0] = 0x40 | (ihl / 4);
  p[2] = total >> 8;
  p[3] = total & 0xff;
  p[4] = 0x12; // IP ID
  p[6] = 0x40; // DF
  p[8] = 64;
  p[9] = o.protoOrSlot ?? 6;
  p.set([10, 64, 0, 2, 10, 64, 0, 1], 12);
  const t = ihl;
  p[t + 1] = 0xc0; // source port 49152 + ...
  p[t + 3] = 7; // destination port 7
  p[t + 12] = (doff / 4) << 4;
  p[t + 13] = o.flags ?? TCP_ACK | TCP_PSH;
  p[t + 14] = 0xff; // window
  p[t + 15] = 0xff;
  for (let i = 0; i < o.payload; i++) p[ihl + doff + i] = 0x61 + (i % 26);
  return p;
}

/** A PPP frame with Address/Control and Protocol compressed (ACFC + PFC), as pppd sends IP. */
const ppp = (protocol: number, info: Uint8Array): Uint8Array =>
  Uint8Array.from(protocol < 0x100 ? [protocol, ...info] : [protocol >> 8, protocol & 0xff, ...info]);

const letters = (n: number) => Array.from({ length: n }, (_, i) => 0x61 + (i % 26));

describe('vjCompressedHeaderLength (RFC 1144 compressed TCP, stateless)', () => {
  it('counts mask, connection, checksum and each delta (1 octet, or 0 + 2 octets)', () => {
    // C P A S: connection 5, checksum, A delta 32 (one octet), S delta 300 (0x00 0x01 0x2c).
    const h = [VJ.NEW_C | VJ.NEW_P | VJ.NEW_A | VJ.NEW_S, 5, 0x12, 0x34, 32, 0x00, 0x01, 0x2c];
    expect(vjCompressedHeaderLength(Uint8Array.from([...h, ...letters(32)]))).toBe(8);
    // No C: mask, checksum, U delta 0x00 0x00 0x05 (urgent pointer 5), W delta 1.
    expect(vjCompressedHeaderLength(Uint8Array.from([VJ.NEW_U | VJ.NEW_W, 0xab, 0xcd, 0, 0, 5, 1]))).toBe(7);
    // A pure ACK: mask A, checksum, ack delta 32.
    expect(vjCompressedHeaderLength(Uint8Array.from([VJ.NEW_A, 0, 0, 32]))).toBe(4);
    // W A S I all three-octet deltas.
    const big = [VJ.NEW_W | VJ.NEW_A | VJ.NEW_S | VJ.NEW_I, 1, 2, 0, 1, 0, 0, 2, 0, 0, 3, 0, 0, 4, 0];
    expect(vjCompressedHeaderLength(Uint8Array.from(big))).toBe(15);
  });

  it('takes SPECIAL_I (S+W+U) and SPECIAL_D (S+A+W+U) as carrying no deltas, but still an I delta', () => {
    expect(VJ.SPECIAL_I).toBe(VJ.NEW_S | VJ.NEW_W | VJ.NEW_U);
    expect(VJ.SPECIAL_D).toBe(VJ.NEW_S | VJ.NEW_A | VJ.NEW_W | VJ.NEW_U);
    // Echoed interactive traffic with C and P: mask, connection, checksum, then data.
    const i = [VJ.NEW_C | VJ.NEW_P | VJ.SPECIAL_I, 3, 0xee, 0xff, ...letters(32)];
    expect(vjCompressedHeaderLength(Uint8Array.from(i))).toBe(4);
    // Unidirectional data with an IP ID delta of 2: mask, checksum, I delta.
    const d = [VJ.NEW_I | VJ.SPECIAL_D, 0x00, 0x01, 2, ...letters(32)];
    expect(vjCompressedHeaderLength(Uint8Array.from(d))).toBe(4);
    // The first octets of the data must not be read as deltas: 0x00 would look like a long one.
    expect(vjCompressedHeaderLength(Uint8Array.from([VJ.SPECIAL_D, 1, 2, 0, 0, 0]))).toBe(3);
  });

  it('throws on a header that runs past the information field or a mask with bit 7', () => {
    expect(() => vjCompressedHeaderLength(new Uint8Array(0))).toThrow(/empty/);
    expect(() => vjCompressedHeaderLength(Uint8Array.from([VJ.NEW_C, 1, 2]))).toThrow(/header of 4/);
    expect(() => vjCompressedHeaderLength(Uint8Array.from([VJ.NEW_S, 1, 2]))).toThrow(/truncated/);
    expect(() => vjCompressedHeaderLength(Uint8Array.from([VJ.NEW_S, 1, 2, 0, 1]))).toThrow(/header of 6/);
    expect(() => vjCompressedHeaderLength(Uint8Array.from([0x80, 1, 2]))).toThrow(/bit 7/);
  });
});

describe('classifyFrame', () => {
  it('plain IPv4/TCP (0x0021): payload, header, flags; with ACFC/PFC or the full header', () => {
    const c = classifyFrame(ppp(0x21, ipTcp({ payload: 32 })));
    expect(c).toEqual({ kind: 'ip-tcp', protocol: 0x21, tcpPayload: 32, headerBytes: 40, tcpFlags: 0x18 });
    const full = Uint8Array.from([
      0xff,
      0x03,
      0x00,
      0x21,
      ...ipTcp({ payload: 0, flags: TCP_SYN, options: 20 }),
    ]);
    expect(classifyFrame(full)).toMatchObject({
      kind: 'ip-tcp',
      tcpPayload: 0,
      headerBytes: 60,
      tcpFlags: 2,
    });
    // Timestamps (12 octets of options) and IP options count as header.
    expect(classifyFrame(ppp(0x21, ipTcp({ payload: 32, options: 12, ihl: 24 })))).toMatchObject({
      tcpPayload: 32,
      headerBytes: 56,
    });
    // Padding after the IP total length (a link may pad) is not payload.
    const padded = Uint8Array.from([...ppp(0x21, ipTcp({ payload: 5 })), 0, 0, 0]);
    expect(classifyFrame(padded)).toMatchObject({ tcpPayload: 5 });
  });

  it('other IP (ICMP), control protocols, unknown protocols, and what does not parse', () => {
    expect(classifyFrame(ppp(0x21, ipTcp({ payload: 8, protoOrSlot: 1 })))).toEqual({
      kind: 'ip-other',
      protocol: 0x21,
    });
    const lcp = Uint8Array.from([0xff, 0x03, 0xc0, 0x21, 0x09, 0x01, 0x00, 0x08, 0, 0, 0, 0]);
    expect(classifyFrame(lcp)).toEqual({ kind: 'control', protocol: 0xc021 });
    expect(classifyFrame(ppp(0x8021, Uint8Array.of(1, 1, 0, 4)))).toEqual({
      kind: 'control',
      protocol: 0x8021,
    });
    expect(classifyFrame(ppp(0x57, Uint8Array.of(0x60, 0)))).toEqual({ kind: 'other', protocol: 0x57 });
    expect(classifyFrame(ppp(0x21, Uint8Array.of(0x45, 0, 0)))).toEqual({ kind: 'bad', protocol: 0x21 });
    expect(classifyFrame(Uint8Array.of(0x00, 0x20))).toEqual({ kind: 'bad', protocol: -1 });
  });

  it('VJ uncompressed (0x002f): the IP protocol octet is the slot', () => {
    const c = classifyFrame(ppp(0x2f, ipTcp({ payload: 32, protoOrSlot: 3 })));
    expect(c).toEqual({
      kind: 'vj-uncompressed',
      protocol: 0x2f,
      tcpPayload: 32,
      headerBytes: 40,
      tcpFlags: 0x18,
      vjSlot: 3,
    });
    // Slot 6 is still VJ, not "TCP".
    expect(classifyFrame(ppp(0x2f, ipTcp({ payload: 1, protoOrSlot: 6 })))).toMatchObject({ vjSlot: 6 });
  });

  it('VJ compressed (0x002d), built by hand per RFC 1144: payload = info - compressed header', () => {
    const info = Uint8Array.from([
      VJ.NEW_C | VJ.NEW_P | VJ.NEW_A | VJ.NEW_S,
      2,
      0x7e,
      0x7d,
      32,
      32,
      ...letters(32),
    ]);
    expect(classifyFrame(ppp(0x2d, info))).toEqual({
      kind: 'vj-compressed',
      protocol: 0x2d,
      tcpPayload: 32,
      headerBytes: 6,
      vjChanges: 0x5c,
      vjSlot: 2,
    });
    const ack = classifyFrame(ppp(0x2d, Uint8Array.of(VJ.NEW_A, 0x01, 0x02, 32)));
    expect(ack).toEqual({
      kind: 'vj-compressed',
      protocol: 0x2d,
      tcpPayload: 0,
      headerBytes: 4,
      vjChanges: 4,
    });
    expect(classifyFrame(ppp(0x2d, Uint8Array.of(VJ.NEW_S, 1)))).toEqual({ kind: 'bad', protocol: 0x2d });
  });
});

describe('WireTap', () => {
  it('charges each frame its escaped octets, FCS and Flags, as HdlcEncoder put them on the wire', () => {
    const enc = new HdlcEncoder({ accm: 0 });
    // The checksum octets 0x7e 0x7d are escaped: two extra wire octets.
    const vjc = ppp(0x2d, Uint8Array.from([VJ.NEW_P | VJ.SPECIAL_I, 0x7e, 0x7d, ...letters(32)]));
    const frames = [ppp(0x21, ipTcp({ payload: 32 })), vjc, ppp(0x21, ipTcp({ payload: 0, flags: TCP_ACK }))];
    const wire = frames.map((f) => enc.encode(f));
    expect(wire[1]!.length).toBe(1 + vjc.length + 2 + 2 + 1); // Flags, content, FCS, two escapes
    const tap = new WireTap();
    tap.push('up', Buffer.concat(wire));
    expect(tap.frames.map((f) => f.wireBytes)).toEqual(wire.map((w) => w.length));
    expect(tap.frames.map((f) => f.frameBytes)).toEqual(frames.map((f) => f.length + 2));
    // Escapes counted from the wire; an escaped 0x7d (7d 5d) is one.
    expect(tap.frames[1]!.escapes).toBe(2);
    // The rest is two Flags each (this encoder shares none).
    expect(tap.frames.map((f) => f.wireBytes - f.frameBytes - f.escapes)).toEqual([2, 2, 2]);
    expect(tap.frames.map((f) => [f.kind, f.tcpPayload])).toEqual([
      ['ip-tcp', 32],
      ['vj-compressed', 32],
      ['ip-tcp', 0],
    ]);
    expect(tap.frames.map((f) => f.seq)).toEqual([0, 1, 2]);
  });

  it('shared Flags: a frame right after another is charged one Flag; extra Flags and noise go to the next frame', () => {
    const enc = new HdlcEncoder({ accm: 0, sharedFlags: true });
    const a = enc.encode(ppp(0x21, ipTcp({ payload: 32 })));
    const b = enc.encode(ppp(0x21, ipTcp({ payload: 32 })));
    expect(b.length).toBe(a.length - 1);
    const tap = new WireTap();
    const noise = Uint8Array.of(0x7e, 0x7e, 0x41, 0x42);
    const c = new HdlcEncoder({ accm: 0 }).encode(ppp(0x21, ipTcp({ payload: 7 })));
    const stream = Buffer.concat([a, b, noise, c]);
    // Byte by byte: chunking must not matter.
    for (const x of stream) tap.push('down', Uint8Array.of(x));
    expect(tap.frames.map((f) => [f.kind, f.wireBytes])).toEqual([
      ['ip-tcp', a.length],
      ['ip-tcp', b.length],
      ['bad', 5], // "AB": a runt, charged with the two Flags in front of it and c's opening Flag
      ['ip-tcp', c.length - 1],
    ]);
    expect(tap.frames.reduce((s, f) => s + f.wireBytes, 0)).toBe(stream.length);
    expect(tap.frames.every((f) => f.direction === 'down')).toBe(true);
  });

  it('accepts control characters sent unescaped (ACCM 0) and escaped (the default ACCM) alike', () => {
    const f = ppp(0x21, Uint8Array.from([...ipTcp({ payload: 4 }).subarray(0, 40), 0, 1, 2, 3]));
    const tap = new WireTap();
    const raw = new HdlcEncoder({ accm: 0 }).encode(f);
    const escaped = new HdlcEncoder().encode(f);
    expect(escaped.length).toBeGreaterThan(raw.length);
    tap.push('up', raw);
    tap.push('up', escaped);
    expect(tap.frames.map((x) => [x.kind, x.tcpPayload, x.wireBytes])).toEqual([
      ['ip-tcp', 4, raw.length],
      ['ip-tcp', 4, escaped.length],
    ]);
  });

  it('a frame with a bad FCS is recorded as bad with its wire octets', () => {
    const w = new HdlcEncoder({ accm: 0 }).encode(ppp(0x21, ipTcp({ payload: 32 })));
    w[10] = w[10]! ^ 0x01;
    const tap = new WireTap();
    tap.push('up', w);
    expect(tap.frames).toMatchObject([{ kind: 'bad', wireBytes: w.length, frameBytes: 0 }]);
  });

  it('keeps the directions apart, each with its own frame state', () => {
    const enc = new HdlcEncoder({ accm: 0 });
    const up = enc.encode(ppp(0x21, ipTcp({ payload: 32 })));
    const down = new HdlcEncoder({ accm: 0 }).encode(ppp(0x2f, ipTcp({ payload: 32, protoOrSlot: 0 })));
    const tap = new WireTap();
    tap.push('up', up.subarray(0, 20));
    tap.push('down', down.subarray(0, 30));
    tap.push('up', up.subarray(20));
    tap.push('down', down.subarray(30));
    expect(tap.frames.map((f) => [f.direction, f.kind, f.wireBytes])).toEqual([
      ['up', 'ip-tcp', up.length],
      ['down', 'vj-uncompressed', down.length],
    ]);
  });
});

describe('summarizeExchanges', () => {
  it('per segment over frames with the payload size; per exchange over the TCP frames from the first to the last', () => {
    const enc = { up: new HdlcEncoder({ accm: 0 }), down: new HdlcEncoder({ accm: 0 }) };
    const tap = new WireTap();
    const send = (d: 'up' | 'down', f: Uint8Array) => {
      const w = enc[d].encode(f);
      tap.push(d, w);
      return w.length;
    };
    const lcp = Uint8Array.from([0xff, 0x03, 0xc0, 0x21, 0x09, 0x01, 0x00, 0x08, 0, 0, 0, 0]);
    send('up', lcp);
    send('up', ppp(0x21, ipTcp({ payload: 0, flags: TCP_SYN, options: 4 })));
    send('down', ppp(0x21, ipTcp({ payload: 0, flags: TCP_SYN | TCP_ACK, options: 4 })));
    send('up', ppp(0x21, ipTcp({ payload: 0, flags: TCP_ACK })));
    // Exchange 1 in plain IP with a pure ACK; exchanges 2 and 3 VJ compressed; an LCP echo in between.
    let phase = 0;
    const plain = send('up', ppp(0x21, ipTcp({ payload: 32 })));
    phase += plain;
    phase += send('down', ppp(0x21, ipTcp({ payload: 32 })));
    phase += send('up', ppp(0x21, ipTcp({ payload: 0, flags: TCP_ACK })));
    send('down', lcp);
    const vjData = ppp(0x2d, Uint8Array.from([VJ.NEW_P | VJ.SPECIAL_I, 0x11, 0x22, ...letters(32)]));
    for (let i = 0; i < 4; i++) phase += send(i % 2 === 0 ? 'up' : 'down', vjData);
    // After the phase: the last ACK and the close, not counted.
    send('up', ppp(0x2d, Uint8Array.of(VJ.NEW_A, 0x11, 0x22, 32)));
    send('up', ppp(0x21, ipTcp({ payload: 0, flags: TCP_FIN | TCP_ACK })));
    const s = summarizeExchanges(tap.frames, 32, 3);
    const vjWire = 1 + (vjData.length + 2) + 1;
    expect(s.segments).toEqual({ up: 3, down: 3 });
    expect(s.perSegment).toBeCloseTo((2 * plain + 4 * vjWire) / 6, 9);
    expect(s.perSegmentUp).toBeCloseTo((plain + 2 * vjWire) / 3, 9);
    expect(s.overheadPerSegment).toBeCloseTo(s.perSegment - 32, 9);
    expect(s.escapesPerSegment).toBe(0);
    expect(s.phaseFrames).toBe(7);
    expect(s.pureAcks).toBe(1);
    expect(s.phaseBytes).toBe(phase);
    expect(s.perExchange).toBeCloseTo(phase / 3, 9);
    expect(s.kinds).toEqual({ 'ip-tcp': 3, 'vj-uncompressed': 0, 'vj-compressed': 4 });
    expect(s.otherInPhase).toBe(1);
    expect(s.vj).toEqual({ up: true, down: true });
    expect(s.bad).toBe(0);
  });

  it('reports NaN, not zero, when no segment of that size passed', () => {
    const s = summarizeExchanges([], 32, 0);
    expect(s.segments).toEqual({ up: 0, down: 0 });
    expect(Number.isNaN(s.perSegment)).toBe(true);
    expect(s.vj).toEqual({ up: false, down: false });
  });
});
