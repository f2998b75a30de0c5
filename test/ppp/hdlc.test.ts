import { describe, expect, it } from 'vitest';
import { FCS16_GOOD, FCS16_INIT, FCS16_TABLE, fcs16 } from '../../src/ppp/fcs.js';
import {
  DEFAULT_MRU,
  HdlcDecoder,
  HdlcEncoder,
  MIN_FRAME,
  maxEncodedLength,
  maxFrameForMru,
  Slab,
} from '../../src/ppp/hdlc.js';
import { ConfigError } from '../../src/util/errors.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string =>
  Buffer.from(b)
    .toString('hex')
    .replace(/(..)(?!$)/g, '$1 ');
const latin1 = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'));
const concat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(Buffer.concat(parts));

/** The FCS bit by bit, straight from the polynomial: an independent check of the table code. */
function fcsBitwise(data: Uint8Array, fcs = 0xffff): number {
  let f = fcs;
  for (const b of data) {
    f ^= b;
    for (let k = 0; k < 8; k++) f = f & 1 ? (f >>> 1) ^ 0x8408 : f >>> 1;
  }
  return f;
}

/** A frame with its FCS appended as RFC 1662 section 3.1 sends it (complement, low octet first). */
function withFcs(frame: Uint8Array): Uint8Array {
  const f = ~fcsBitwise(frame) & 0xffff;
  return concat(frame, Uint8Array.of(f & 0xff, f >>> 8));
}

/** Escapes by the rules of RFC 1662 section 4.2, the slow obvious way. */
function escapeByHand(bytes: Uint8Array, accm = 0xffffffff): Uint8Array {
  const out: number[] = [];
  for (const b of bytes) {
    if (b === 0x7e || b === 0x7d || (b < 0x20 && (accm >>> b) & 1)) out.push(0x7d, b ^ 0x20);
    else out.push(b);
  }
  return Uint8Array.from(out);
}

/** flag, escaped frame + FCS, flag */
const wire = (frame: Uint8Array, accm = 0xffffffff): Uint8Array =>
  concat(Uint8Array.of(0x7e), escapeByHand(withFcs(frame), accm), Uint8Array.of(0x7e));

/** Decodes and returns frames and a copy of the stats. */
function decodeAll(bytes: Uint8Array, options?: ConstructorParameters<typeof HdlcDecoder>[0]) {
  const dec = new HdlcDecoder(options);
  const frames = dec.push(bytes);
  return { frames: frames.map(toHex), stats: { ...dec.stats }, dec };
}

const IP_FRAME = hex(
  'ff 03 00 21 45 00 00 1c 00 01 00 00 40 01 00 00 0a 00 00 01 0a 00 00 02 08 00 f7 ff 00 00 00 00',
);
const zeroStats = {
  frames: 0,
  fcsErrors: 0,
  oversize: 0,
  runts: 0,
  aborts: 0,
  discardedBytes: 0,
};

describe('FCS-16 (RFC 1662 appendix C.2)', () => {
  it('builds the appendix table', () => {
    expect(FCS16_TABLE.length).toBe(256);
    // First and last rows of the table printed in RFC 1662 appendix C.2.
    expect([...FCS16_TABLE.subarray(0, 8)]).toEqual([
      0x0000, 0x1189, 0x2312, 0x329b, 0x4624, 0x57ad, 0x6536, 0x74bf,
    ]);
    expect([...FCS16_TABLE.subarray(248)]).toEqual([
      0x7bc7, 0x6a4e, 0x58d5, 0x495c, 0x3de3, 0x2c6a, 0x1ef1, 0x0f78,
    ]);
  });

  it('gives the CRC-16/X-25 check value for "123456789"', () => {
    // The X.25 FCS (the same CRC: init 0xffff, reflected 0x1021, complemented) of the standard
    // check string is 0x906e.
    expect(~fcs16(FCS16_INIT, latin1('123456789')) & 0xffff).toBe(0x906e);
    expect(fcs16(FCS16_INIT, new Uint8Array(0))).toBe(0xffff);
  });

  it('has the good-FCS property: a frame followed by its FCS checks to 0xf0b8', () => {
    for (const len of [0, 1, 2, 7, 8, 9, 15, 16, 17, 64, 1500]) {
      const data = Uint8Array.from({ length: len }, (_, i) => (i * 131 + len) & 0xff);
      expect(fcs16(FCS16_INIT, withFcs(data))).toBe(FCS16_GOOD);
    }
  });

  it('matches a bit-by-bit CRC for every length and chaining', () => {
    const data = Uint8Array.from({ length: 300 }, (_, i) => (i * 7919 + 13) & 0xff);
    for (let start = 0; start < 20; start++) {
      for (let end = start; end <= data.length; end += 1 + (end % 13)) {
        expect(fcs16(FCS16_INIT, data, start, end)).toBe(fcsBitwise(data.subarray(start, end)));
      }
    }
    const mid = fcs16(FCS16_INIT, data, 0, 123);
    expect(fcs16(mid, data, 123)).toBe(fcsBitwise(data));
  });
});

describe('HdlcEncoder (RFC 1662 section 4)', () => {
  /** The first `n` octets after the opening flag. */
  const head = (out: Uint8Array, n: number) => toHex(out.subarray(1, 1 + n));

  it('escapes the examples of RFC 1662 section 4.2', () => {
    const enc = new HdlcEncoder({ accm: 0xffffffff });
    expect(head(enc.encode(Uint8Array.of(0x7e)), 2)).toBe('7d 5e'); // Flag Sequence
    expect(head(enc.encode(Uint8Array.of(0x7d)), 2)).toBe('7d 5d'); // Control Escape
    expect(head(enc.encode(Uint8Array.of(0x03)), 2)).toBe('7d 23'); // ETX
    for (const b of [0x7e, 0x7d, 0x03])
      expect(toHex(enc.encode(Uint8Array.of(b)))).toBe(toHex(wire(Uint8Array.of(b))));
    // DC1/DC3 with an ACCM of 0x000a0000, and their parity-set forms through extra escapes.
    const xonxoff = new HdlcEncoder({ accm: 0x000a0000, extraEscapes: [0x91, 0x93] });
    const out = xonxoff.encode(Uint8Array.of(0x11, 0x13, 0x91, 0x93, 0x03, 0x10, 0x12));
    expect(toHex(out.subarray(1, 12))).toBe('7d 31 7d 33 7d b1 7d b3 03 10 12');
  });

  it('frames with opening and closing flags and the FCS low octet first', () => {
    const enc = new HdlcEncoder({ accm: 0 });
    const frame = hex('ff 03 c0 21 09 07 00 08 11 22 33 44');
    const out = enc.encode(frame);
    expect(out[0]).toBe(0x7e);
    expect(out[out.length - 1]).toBe(0x7e);
    expect(out.subarray(1, -1).includes(0x7e)).toBe(false);
    const fcs = ~fcsBitwise(frame) & 0xffff;
    expect(toHex(out)).toBe(
      toHex(concat(Uint8Array.of(0x7e), escapeByHand(withFcs(frame), 0), Uint8Array.of(0x7e))),
    );
    expect(out[out.length - 3]).toBe(fcs & 0xff);
    expect(out[out.length - 2]).toBe(fcs >>> 8);
  });

  it('escapes exactly the control characters of the ACCM, plus 0x7d and 0x7e', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const frame = concat(hex('ff 03 00 21'), all);
    for (let bit = 0; bit < 32; bit++) {
      const accm = (1 << bit) >>> 0;
      const out = new HdlcEncoder({ accm }).encode(frame);
      expect(toHex(out)).toBe(toHex(wire(frame, accm)));
    }
    for (const accm of [0, 0xffffffff, 0x000a0000, 0xdeadbeef]) {
      expect(toHex(new HdlcEncoder({ accm }).encode(frame))).toBe(toHex(wire(frame, accm)));
    }
    // setAccm rebuilds the table.
    const enc = new HdlcEncoder();
    expect(toHex(enc.encode(frame))).toBe(toHex(wire(frame)));
    enc.setAccm(0);
    expect(enc.accm).toBe(0);
    expect(toHex(enc.encode(frame))).toBe(toHex(wire(frame, 0)));
    enc.setAccm(-1); // a map built with 32-bit operators
    expect(enc.accm).toBe(0xffffffff);
  });

  it('escapes extra octets and refuses the ones that would turn into controls or a flag', () => {
    const enc = new HdlcEncoder({ accm: 0, extraEscapes: [0x7f, 0xff] });
    expect(toHex(enc.encode(hex('7f ff 20')).subarray(1, 6))).toBe('7d 5f 7d df 20');
    expect(() => new HdlcEncoder({ extraEscapes: [0x20] })).toThrow(ConfigError);
    expect(() => new HdlcEncoder({ extraEscapes: [0x3f] })).toThrow(ConfigError);
    expect(() => new HdlcEncoder({ extraEscapes: [0x5e] })).toThrow(ConfigError);
    expect(() => new HdlcEncoder({ extraEscapes: [256] })).toThrow(ConfigError);
    expect(() => new HdlcEncoder({ accm: 2 ** 32 })).toThrow(ConfigError);
    expect(() => new HdlcEncoder().setAccm(0.5)).toThrow(ConfigError);
  });

  it('sends LCP Configure-Request..Code-Reject with the default ACCM, other LCP codes with the negotiated one', () => {
    const enc = new HdlcEncoder({ accm: 0 });
    const termReq = hex('ff 03 c0 21 05 02 00 04');
    const echoReq = hex('ff 03 c0 21 09 02 00 08 00 00 00 00');
    expect(toHex(enc.encode(termReq))).toBe(toHex(wire(termReq, 0xffffffff)));
    expect(toHex(enc.encode(echoReq))).toBe(toHex(wire(echoReq, 0)));
    const plain = new HdlcEncoder({ accm: 0, lcpDefaultAccm: false });
    expect(toHex(plain.encode(termReq))).toBe(toHex(wire(termReq, 0)));
  });

  it('builds the LCP Configure-Request pppd 2.4.9 sends first, byte for byte', () => {
    // Configure-Request id 1: Async-Control-Character-Map 0, Magic-Number 0x7e1a9e22,
    // Protocol-Field-Compression, Address-and-Control-Field-Compression; sent before any
    // negotiation, so with every control character escaped. FCS 0xfd6c (computed bit by bit
    // here too), sent 6c fd.
    const confReq = hex('ff 03 c0 21 01 01 00 14 02 06 00 00 00 00 05 06 7e 1a 9e 22 07 02 08 02');
    expect(~fcsBitwise(confReq) & 0xffff).toBe(0xfd6c);
    const onTheWire = hex(
      '7e ff 7d 23 c0 21 7d 21 7d 21 7d 20 7d 34 7d 22 7d 26 7d 20 7d 20 7d 20 7d 20 7d 25 7d 26' +
        ' 7d 5e 7d 3a 9e 22 7d 27 7d 22 7d 28 7d 22 6c fd 7e',
    );
    expect(toHex(new HdlcEncoder().encode(confReq))).toBe(toHex(onTheWire));
    expect(decodeAll(onTheWire).frames).toEqual([toHex(confReq)]);
  });

  it('shares flags between back-to-back frames when asked, and opens again after markIdle()', () => {
    const enc = new HdlcEncoder({ accm: 0, sharedFlags: true });
    const a = enc.encode(IP_FRAME);
    const b = enc.encode(IP_FRAME);
    expect(a[0]).toBe(0x7e);
    expect(b[0]).not.toBe(0x7e);
    expect(b.length).toBe(a.length - 1);
    enc.markIdle();
    const c = enc.encode(IP_FRAME);
    expect(c[0]).toBe(0x7e);
    expect(decodeAll(concat(a, b, c), { receiveAccm: 0 }).frames).toEqual([
      toHex(IP_FRAME),
      toHex(IP_FRAME),
      toHex(IP_FRAME),
    ]);
    // Default: every frame has both flags.
    const plain = new HdlcEncoder({ accm: 0 });
    plain.encode(IP_FRAME);
    expect(plain.encode(IP_FRAME)[0]).toBe(0x7e);
  });

  it('encodes into a caller buffer at an offset, or refuses without side effects', () => {
    const enc = new HdlcEncoder({ accm: 0, sharedFlags: true });
    const expected = new HdlcEncoder({ accm: 0 }).encode(IP_FRAME);
    expect(enc.encodedLength(IP_FRAME)).toBe(expected.length);
    const out = new Uint8Array(100).fill(0xaa);
    expect(() => enc.encodeInto(IP_FRAME, out, 100 - expected.length + 1)).toThrow(ConfigError);
    expect(enc.stats.frames).toBe(0);
    // Exactly enough room (less than the worst case): goes through the scratch path.
    const n = enc.encodeInto(IP_FRAME, out, 100 - expected.length);
    expect(n).toBe(expected.length);
    expect(toHex(out.subarray(100 - n))).toBe(toHex(expected));
    expect(out[100 - n - 1]).toBe(0xaa);
    // Room for the worst case: written in place, and the flag is now shared.
    const big = new Uint8Array(maxEncodedLength(IP_FRAME.length) + 5);
    const m = enc.encodeInto(IP_FRAME, big, 5);
    expect(m).toBe(expected.length - 1);
    expect(toHex(big.subarray(5, 5 + m))).toBe(toHex(expected.subarray(1)));
    expect(() => enc.encodeInto(IP_FRAME, big, -1)).toThrow(ConfigError);
    expect(enc.stats).toEqual({
      frames: 2,
      bytesIn: 2 * IP_FRAME.length,
      bytesOut: n + m,
      escapes: 2 * (expected.length - 4 - IP_FRAME.length),
    });
  });

  it('fills the worst case exactly when everything is escaped', () => {
    const frame = new Uint8Array(50).fill(0x7e);
    // FCS of 50 flags is whatever it is; make the encoder escape it too by escaping all controls.
    const out = new HdlcEncoder().encode(frame);
    expect(out.length).toBeLessThanOrEqual(maxEncodedLength(frame.length));
    expect(out.length).toBeGreaterThanOrEqual(2 + 100 + 2);
  });
});

describe('HdlcDecoder (RFC 1662 section 4)', () => {
  it('decodes a byte string built by hand from the RFC rules', () => {
    // IPCP Configure-Ack id 1, IP-Address 10.64.0.1, as the peer sends it before LCP settles an
    // ACCM: FCS 0x972b computed bit by bit, sent 2b 97; control characters escaped.
    const ack = hex('ff 03 80 21 02 01 00 0a 03 06 0a 40 00 01');
    expect(~fcsBitwise(ack) & 0xffff).toBe(0x972b);
    const bytes = hex('7e ff 7d 23 80 21 7d 22 7d 21 7d 20 7d 2a 7d 23 7d 26 7d 2a 40 7d 20 7d 21 2b 97 7e');
    const { frames, stats } = decodeAll(bytes);
    expect(frames).toEqual([toHex(ack)]);
    expect(stats).toEqual({ ...zeroStats, bytesIn: bytes.length, frames: 1 });
  });

  it('round-trips frames of every octet value with every single-bit ACCM, 0 and all ones', () => {
    const all = concat(
      hex('ff 03 00 21'),
      Uint8Array.from({ length: 256 }, (_, i) => i),
    );
    const maps = [0, 0xffffffff, 0x000a0000, ...Array.from({ length: 32 }, (_, b) => (1 << b) >>> 0)];
    for (const accm of maps) {
      const enc = new HdlcEncoder({ accm });
      const dec = new HdlcDecoder({ receiveAccm: accm });
      const bytes = concat(enc.encode(all), enc.encode(IP_FRAME), enc.encode(all));
      expect(dec.push(bytes).map(toHex)).toEqual([toHex(all), toHex(IP_FRAME), toHex(all)]);
      expect(dec.stats.frames).toBe(3);
      expect(dec.stats.discardedBytes).toBe(0);
    }
  });

  it('drops and counts a frame with a bad FCS, then decodes the next one', () => {
    const good = wire(IP_FRAME);
    const bad = good.slice();
    bad[10]! ^= 0x01;
    const { frames, stats } = decodeAll(concat(bad, good));
    expect(frames).toEqual([toHex(IP_FRAME)]);
    expect(stats).toEqual({
      ...zeroStats,
      bytesIn: bad.length + good.length,
      frames: 1,
      fcsErrors: 1,
      discardedBytes: bad.length - 2, // every octet of the bad frame but its two flags
    });
  });

  it('reports where in the frame sequence each dropped frame was (for VJ TOSS, RFC 1144 section 4)', () => {
    const good = wire(IP_FRAME);
    const bad = good.slice();
    bad[10]! ^= 0x01;
    const runt = hex('7e 21 7e');
    const aborted = hex('7e ff 03 7d 7e');
    const d = new HdlcDecoder({ maxFrame: 40 });
    const oversize = concat(hex('7e'), new Uint8Array(50).fill(0x41), hex('7e'));
    const bytes = concat(good, bad, good, runt, aborted, good, oversize, good, bad);
    const badFrames: number[] = [];
    const frames = d.push(bytes, badFrames);
    expect(frames).toHaveLength(4);
    // Good frames before each drop: FCS error after 1, runt and abort after 2, oversize after 3,
    // FCS error after 4.
    expect(badFrames).toEqual([1, 2, 2, 3, 4]);
    // Split anywhere, the drops land in the same places relative to the frames.
    const e = new HdlcDecoder({ maxFrame: 40 });
    let seen = 0;
    const where: number[] = [];
    for (let i = 0; i < bytes.length; i += 7) {
      const marks: number[] = [];
      const got = e.push(bytes.subarray(i, i + 7), marks);
      for (const m of marks) where.push(seen + m);
      seen += got.length;
    }
    expect(where).toEqual([1, 2, 2, 3, 4]);
  });

  it('accepts a frame of exactly maxFrame octets and drops a longer one as oversize', () => {
    const maxFrame = 12; // content 10 + FCS 2
    const fits = hex('ff 03 00 21 01 02 03 04 05 06');
    const tooLong = hex('ff 03 00 21 01 02 03 04 05 06 07');
    const bytes = concat(wire(tooLong), wire(fits), wire(tooLong).subarray(1));
    const { frames, stats, dec } = decodeAll(bytes, { maxFrame });
    expect(frames).toEqual([toHex(fits)]);
    expect(stats.oversize).toBe(2);
    expect(stats.frames).toBe(1);
    expect(stats.discardedBytes).toBe(2 * (wire(tooLong).length - 2));
    expect(dec.bufferedBytes).toBe(0);
    expect(dec.maxFrame).toBe(maxFrame);
  });

  it('counts an oversize frame as soon as it crosses the limit and buffers no more', () => {
    const dec = new HdlcDecoder({ maxFrame: 100 });
    dec.push(Uint8Array.of(0x7e));
    dec.push(new Uint8Array(99).fill(0x41));
    expect(dec.bufferedBytes).toBe(99);
    dec.push(Uint8Array.of(0x41, 0x7d)); // 100 octets: fits; an escape needs no room
    expect(dec.stats.oversize).toBe(0);
    expect(dec.bufferedBytes).toBe(100);
    dec.push(Uint8Array.of(0x61)); // the escaped 0x41 would be octet 101
    expect(dec.stats.oversize).toBe(1);
    expect(dec.bufferedBytes).toBe(0);
    dec.push(new Uint8Array(10_000).fill(0x41));
    expect(dec.bufferedBytes).toBe(0);
    expect(dec.push(wire(IP_FRAME)).map(toHex)).toEqual([toHex(IP_FRAME)]);
    expect(dec.stats.discardedBytes).toBe(101 + 1 + 10_000);
  });

  it('takes Control Escape then Flag at the limit as an abort, not oversize', () => {
    const dec = new HdlcDecoder({ maxFrame: 4 });
    dec.push(hex('7e 01 02 03 04 7d 7e'));
    expect(dec.stats.aborts).toBe(1);
    expect(dec.stats.oversize).toBe(0);
  });

  it('drops runts: fewer than 4 octets with the FCS, even with a good FCS (RFC 1662 section 4.3)', () => {
    expect(MIN_FRAME).toBe(4);
    const one = withFcs(Uint8Array.of(0x21)); // 3 octets, FCS good
    const two = withFcs(Uint8Array.of(0xc0, 0x21)); // 4 octets, FCS good: the shortest frame
    const bytes = concat(
      hex('7e 41 7e'),
      hex('41 42 7e'),
      Uint8Array.of(...escapeByHand(one)),
      hex('7e'),
      escapeByHand(two),
      hex('7e'),
    );
    const { frames, stats } = decodeAll(bytes);
    expect(frames).toEqual(['c0 21']);
    expect(stats).toEqual({
      ...zeroStats,
      bytesIn: bytes.length,
      frames: 1,
      runts: 3,
      discardedBytes: 1 + 2 + escapeByHand(one).length,
    });
  });

  it('counts the abort sequence (Control Escape, Flag) and keeps the flag as the next opening one', () => {
    const aborted = hex('7e ff 03 c0 21 01 7d 7e');
    const next = escapeByHand(withFcs(IP_FRAME));
    const bytes = concat(aborted, next, hex('7e'));
    const { frames, stats } = decodeAll(bytes);
    expect(frames).toEqual([toHex(IP_FRAME)]);
    expect(stats).toEqual({ ...zeroStats, bytesIn: bytes.length, frames: 1, aborts: 1, discardedBytes: 6 });
    // An abort right after a flag is still an abort (a segment holding just the escape).
    expect(decodeAll(hex('7e 7d 7e')).stats.aborts).toBe(1);
  });

  it('discards modem text before the first flag', () => {
    const text = latin1('\r\nCONNECT 115200\r\n');
    const bytes = concat(text, wire(IP_FRAME));
    const { frames, stats } = decodeAll(bytes);
    expect(frames).toEqual([toHex(IP_FRAME)]);
    expect(stats).toEqual({ ...zeroStats, bytesIn: bytes.length, frames: 1, discardedBytes: text.length });
    // Garbage with no flag at all is counted as it arrives.
    const dec = new HdlcDecoder();
    expect(dec.push(latin1('NO CARRIER\r\n'))).toEqual([]);
    expect(dec.stats.discardedBytes).toBe(12);
    expect(dec.bufferedBytes).toBe(0);
  });

  it('decodes back-to-back frames sharing one flag', () => {
    const one = escapeByHand(withFcs(IP_FRAME));
    const bytes = concat(hex('7e'), one, hex('7e'), one, hex('7e'), one, hex('7e'));
    const { frames, stats } = decodeAll(bytes);
    expect(frames).toEqual([toHex(IP_FRAME), toHex(IP_FRAME), toHex(IP_FRAME)]);
    expect(stats.frames).toBe(3);
  });

  it('ignores empty frames: repeated flags are not errors', () => {
    const bytes = concat(hex('7e 7e 7e 7e'), wire(IP_FRAME), hex('7e 7e'), wire(IP_FRAME));
    const { frames, stats } = decodeAll(bytes);
    expect(frames).toHaveLength(2);
    expect(stats).toEqual({ ...zeroStats, bytesIn: bytes.length, frames: 2 });
  });

  it('deletes unescaped receive-ACCM characters (XON/XOFF inserted on the path) before the FCS', () => {
    const clean = escapeByHand(withFcs(IP_FRAME));
    const dirty = concat(
      hex('7e'),
      clean.subarray(0, 5),
      hex('11'),
      clean.subarray(5, 9),
      hex('13 13'),
      clean.subarray(9),
      hex('7e'),
    );
    const { frames, stats } = decodeAll(dirty);
    expect(frames).toEqual([toHex(IP_FRAME)]);
    expect(stats).toEqual({ ...zeroStats, bytesIn: dirty.length, frames: 1, discardedBytes: 3 });
    // The same between Control Escape and its octet: the escape still applies.
    const split = concat(
      hex('7e ff 7d 11 23'),
      escapeByHand(withFcs(hex('ff 03 c0 21 09 01 00 04')).subarray(2)),
      hex('7e'),
    );
    expect(decodeAll(split).frames).toEqual(['ff 03 c0 21 09 01 00 04']);
    // Only the characters in the map: with a receive ACCM of 0 they are data, and the FCS fails.
    expect(decodeAll(dirty, { receiveAccm: 0 }).stats.fcsErrors).toBe(1);
    // A frame of nothing but deleted characters is an empty frame.
    expect(decodeAll(hex('7e 11 13 7e')).stats).toEqual({ ...zeroStats, bytesIn: 4, discardedBytes: 2 });
  });

  it('takes Control Escape twice as the escaped octet 0x5d', () => {
    const frame = hex('ff 03 00 21 5d 41');
    const bytes = concat(
      hex('7e ff 7d 23 7d 20 21 7d 7d 41'),
      escapeByHand(withFcs(frame).subarray(6)),
      hex('7e'),
    );
    expect(decodeAll(bytes).frames).toEqual([toHex(frame)]);
  });

  it('gives the same frames and counters however the input is split', () => {
    const bytes = concat(
      latin1('\r\nCONNECT\r\n'),
      wire(IP_FRAME),
      hex('7e 01 7e'),
      wire(hex('ff 03 c0 21 09 01 00 08 7e 7d 11 03')),
      hex('ff 03 7d 7e'),
      escapeByHand(withFcs(IP_FRAME)),
      hex('11 7e'),
    );
    const whole = decodeAll(bytes);
    expect(whole.frames).toHaveLength(3);
    for (let cut = 0; cut <= bytes.length; cut++) {
      for (const second of [cut, Math.min(bytes.length, cut + 1), Math.min(bytes.length, cut + 7)]) {
        const dec = new HdlcDecoder();
        const frames = [
          ...dec.push(bytes.subarray(0, cut)),
          ...dec.push(bytes.subarray(cut, second)),
          ...dec.push(bytes.subarray(second)),
        ].map(toHex);
        expect(frames).toEqual(whole.frames);
        expect(dec.stats).toEqual(whole.stats);
      }
    }
    // One octet at a time.
    const dec = new HdlcDecoder();
    const frames: string[] = [];
    for (const b of bytes) frames.push(...dec.push(Uint8Array.of(b)).map(toHex));
    expect(frames).toEqual(whole.frames);
    expect(dec.stats).toEqual(whole.stats);
  });

  it('hands out each frame in its own memory, not the decoder buffer or the input', () => {
    const bytes = concat(wire(IP_FRAME), wire(IP_FRAME));
    const dec = new HdlcDecoder();
    const [a, b] = dec.push(bytes);
    a![4] = 0;
    expect(toHex(b!)).toBe(toHex(IP_FRAME));
    bytes.fill(0);
    dec.push(wire(hex('ff 03 c0 21 09 01 00 04')));
    expect(toHex(b!)).toBe(toHex(IP_FRAME));
  });

  it('resets to hunting for a flag', () => {
    const dec = new HdlcDecoder();
    dec.push(concat(hex('7e'), escapeByHand(IP_FRAME)));
    expect(dec.bufferedBytes).toBe(IP_FRAME.length);
    dec.reset();
    expect(dec.bufferedBytes).toBe(0);
    // The tail of the old frame is garbage now, up to the next flag.
    expect(dec.push(concat(hex('01 02 03'), wire(IP_FRAME))).map(toHex)).toEqual([toHex(IP_FRAME)]);
    expect(dec.stats.runts + dec.stats.fcsErrors).toBe(0);
  });

  it('changes maxFrame and the receive ACCM on the fly', () => {
    const dec = new HdlcDecoder();
    expect(dec.maxFrame).toBe(1506);
    expect(dec.receiveAccm).toBe(0xffffffff);
    const frame = concat(hex('ff 03 00 21'), new Uint8Array(1600).fill(0x41));
    dec.setMaxFrame(maxFrameForMru(1600));
    expect(dec.push(wire(frame)).map(toHex)).toEqual([toHex(frame)]);
    // Shrinking below the frame in progress drops it as oversize; growing keeps it.
    dec.push(concat(hex('7e'), escapeByHand(frame.subarray(0, 1550))));
    dec.setMaxFrame(maxFrameForMru(1600) + 10);
    expect(dec.bufferedBytes).toBe(1550);
    dec.setMaxFrame(1506);
    expect(dec.stats.oversize).toBe(1);
    expect(dec.bufferedBytes).toBe(0);
    expect(dec.push(concat(new Uint8Array(100).fill(0x41), wire(IP_FRAME))).map(toHex)).toEqual([
      toHex(IP_FRAME),
    ]);
    dec.setReceiveAccm(0);
    expect(dec.receiveAccm).toBe(0);
    expect(dec.push(wire(IP_FRAME, 0)).map(toHex)).toEqual([toHex(IP_FRAME)]);
    expect(() => dec.setMaxFrame(3)).toThrow(ConfigError);
    expect(() => dec.setMaxFrame(1e9)).toThrow(ConfigError);
    expect(() => dec.setReceiveAccm(Number.NaN)).toThrow(ConfigError);
  });

  it('sizes maxFrame from the MRU: max(MRU, 1500) + Address, Control, Protocol, FCS', () => {
    expect(DEFAULT_MRU).toBe(1500);
    expect(maxFrameForMru(1500)).toBe(1506);
    expect(maxFrameForMru(296)).toBe(1506); // RFC 1661 section 6.1: still accept 1500
    expect(maxFrameForMru(4000)).toBe(4006);
    expect(() => maxFrameForMru(70_000)).toThrow(ConfigError);
    // The largest uncompressed frame an MRU of 1500 allows fits exactly.
    const biggest = concat(hex('ff 03 00 21'), new Uint8Array(1500).fill(0x7e));
    expect(decodeAll(wire(biggest)).frames).toHaveLength(1);
  });
});

describe('Slab', () => {
  it('hands out distinct zeroed views, pooling small ones', () => {
    const slab = new Slab();
    const a = slab.take(10);
    const b = slab.take(10);
    expect(a.buffer).toBe(b.buffer);
    expect(b.byteOffset).toBeGreaterThanOrEqual(a.byteOffset + 10);
    a.fill(1);
    expect([...b]).toEqual(new Array(10).fill(0));
    const big = slab.take(Slab.MAX_POOLED + 1);
    expect(big.byteOffset).toBe(0);
    expect(big.buffer.byteLength).toBe(Slab.MAX_POOLED + 1);
    for (let i = 0; i < 20; i++) expect(slab.take(2000).length).toBe(2000);
  });
});
