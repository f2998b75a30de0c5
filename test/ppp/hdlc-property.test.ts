import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FCS16_GOOD, FCS16_INIT, fcs16 } from '../../src/ppp/fcs.js';
import { HdlcDecoder, HdlcEncoder, type HdlcStats, MIN_FRAME, maxEncodedLength } from '../../src/ppp/hdlc.js';
import { splitAt } from '../helpers/split.js';

const toHex = (b: Uint8Array | number[]): string => Buffer.from(b).toString('hex');

function fcsBitwise(data: Uint8Array | number[]): number {
  let f = 0xffff;
  for (const b of data) {
    f ^= b;
    for (let k = 0; k < 8; k++) f = f & 1 ? (f >>> 1) ^ 0x8408 : f >>> 1;
  }
  return f;
}

interface Outcome {
  frames: string[];
  stats: HdlcStats;
  buffered: number;
}

/**
 * The decoder's specification written the slow, obvious way (RFC 1662 sections 4.1-4.3): find
 * the first Flag, cut at every Flag, then take each frame apart on its own, with an FCS computed
 * bit by bit.
 */
function reference(bytes: Uint8Array, receiveAccm: number, maxFrame: number): Outcome {
  const stats: HdlcStats = {
    bytesIn: bytes.length,
    frames: 0,
    fcsErrors: 0,
    oversize: 0,
    runts: 0,
    aborts: 0,
    discardedBytes: 0,
  };
  const frames: string[] = [];
  const first = bytes.indexOf(0x7e);
  if (first < 0) {
    stats.discardedBytes = bytes.length;
    return { frames, stats, buffered: 0 };
  }
  stats.discardedBytes += first;
  let start = first + 1;
  let buffered = 0;
  for (;;) {
    const end = bytes.indexOf(0x7e, start);
    const segment = bytes.subarray(start, end < 0 ? bytes.length : end);
    const content: number[] = [];
    let escaped = false;
    let deleted = 0;
    let overflow = false;
    for (const b of segment) {
      if (b < 0x20 && (receiveAccm >>> b) & 1) {
        deleted++;
        continue;
      }
      if (b === 0x7d && !escaped) {
        escaped = true;
        continue;
      }
      const octet = escaped ? b ^ 0x20 : b;
      escaped = false;
      if (content.length === maxFrame) {
        overflow = true;
        break;
      }
      content.push(octet);
    }
    if (overflow) {
      stats.oversize++;
      stats.discardedBytes += segment.length;
    } else if (end < 0) {
      buffered = content.length; // a frame still coming: nothing counted yet
    } else if (escaped) {
      stats.aborts++;
      stats.discardedBytes += segment.length;
    } else if (content.length === 0) {
      stats.discardedBytes += segment.length;
    } else if (content.length < MIN_FRAME) {
      stats.runts++;
      stats.discardedBytes += segment.length;
    } else if (fcsBitwise(content) !== FCS16_GOOD) {
      stats.fcsErrors++;
      stats.discardedBytes += segment.length;
    } else {
      stats.frames++;
      stats.discardedBytes += deleted;
      frames.push(toHex(content.slice(0, -2)));
    }
    if (end < 0) break;
    start = end + 1;
  }
  return { frames, stats, buffered };
}

/** Runs the real decoder over `chunks`, checking the memory bound after every push. */
function decodeChunks(chunks: Uint8Array[], receiveAccm: number, maxFrame: number): Outcome {
  const dec = new HdlcDecoder({ receiveAccm, maxFrame });
  const frames: string[] = [];
  for (const c of chunks) {
    for (const f of dec.push(c)) {
      expect(f.length).toBeLessThanOrEqual(maxFrame - 2);
      frames.push(toHex(f));
    }
    expect(dec.bufferedBytes).toBeLessThanOrEqual(maxFrame);
  }
  return { frames, stats: { ...dec.stats }, buffered: dec.bufferedBytes };
}

const accmArb = fc.oneof(
  fc.constant(0),
  fc.constant(0xffffffff),
  fc.constant(0x000a0000),
  fc.integer({ min: 0, max: 0xffffffff }),
);
/** Octets pppd's `escape` option may add (not 0x20-0x3f, not 0x5e). */
const extraArb = fc.subarray([0x7f, 0x80, 0x91, 0x93, 0xff, 0x00, 0x11, 0x5d, 0x9e]);
/** A PPP frame as the layer above hands it down, sometimes an LCP packet (sent with the default ACCM). */
const frameArb = fc.oneof(
  fc.uint8Array({ minLength: 2, maxLength: 300 }),
  fc
    .tuple(fc.integer({ min: 1, max: 11 }), fc.uint8Array({ maxLength: 40 }))
    .map(([code, rest]) => Uint8Array.from([0xff, 0x03, 0xc0, 0x21, code, 1, 0, 4 + rest.length, ...rest])),
);
/** Octets biased towards the ones framing cares about. */
const octetArb = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 255 }) },
  { weight: 2, arbitrary: fc.constantFrom(0x7e, 0x7d, 0x5e, 0x5d, 0x11, 0x13, 0x00, 0x03, 0xff, 0x20) },
);
const cutsArb = fc.array(fc.nat(), { maxLength: 12 });

describe('HDLC under random input (fast-check)', () => {
  it('fcs16 equals the bit-by-bit CRC on any range', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(), fc.nat(), (data, a, b) => {
        const start = a % (data.length + 1);
        const end = start + (b % (data.length - start + 1));
        expect(fcs16(FCS16_INIT, data, start, end)).toBe(fcsBitwise(data.subarray(start, end)));
      }),
    );
  });

  it('decode(encode(frames)) gives the frames back for any ACCM, escapes, flag sharing and chunking', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(frameArb, fc.boolean()), { minLength: 1, maxLength: 8 }),
        accmArb,
        fc.integer({ min: 0, max: 0xffffffff }),
        extraArb,
        fc.boolean(),
        fc.option(fc.constantFrom('\r\nCONNECT 115200\r\n', 'ATD*99#\r\r\nCONNECT\r\n', '~')),
        cutsArb,
        (frames, accm, mask, extraEscapes, sharedFlags, noise, cuts) => {
          const enc = new HdlcEncoder({ accm, extraEscapes, sharedFlags });
          const parts: Uint8Array[] = noise === null ? [] : [Buffer.from(noise, 'latin1')];
          for (const [frame, idle] of frames) {
            if (idle) enc.markIdle();
            const out = enc.encode(frame);
            expect(out.length).toBeLessThanOrEqual(maxEncodedLength(frame.length));
            parts.push(out);
          }
          const bytes = Uint8Array.from(Buffer.concat(parts));
          // The receiver may only list characters the sender escapes: a subset of the ACCM.
          const receiveAccm = (accm & mask) >>> 0;
          const got = decodeChunks(splitAt(bytes, cuts), receiveAccm, 1506);
          expect(got.frames).toEqual(frames.map(([f]) => toHex(f)));
          expect(got.stats.frames).toBe(frames.length);
          expect(got.stats.fcsErrors + got.stats.oversize + got.stats.runts + got.stats.aborts).toBe(0);
          expect(got.stats.discardedBytes).toBe(noise === '~' ? 0 : (noise?.length ?? 0));
          expect(enc.stats.bytesOut).toBe(bytes.length - (noise?.length ?? 0));
        },
      ),
    );
  });

  it('never sends a raw octet the receiver would delete or take for framing', () => {
    fc.assert(
      fc.property(frameArb, accmArb, extraArb, (frame, accm, extraEscapes) => {
        const enc = new HdlcEncoder({ accm, extraEscapes, lcpDefaultAccm: false });
        const out = enc.encode(frame);
        expect(out.length).toBe(enc.encodedLength(frame));
        const inner = out.subarray(1, -1);
        expect(inner.includes(0x7e)).toBe(false);
        for (let i = 0; i < inner.length; i++) {
          const b = inner[i]!;
          if (b === 0x7d) {
            i++; // the escaped octet: 0x20-0x3f, 0x5d, 0x5e or an extra escape xor'd
            continue;
          }
          if (b < 0x20) expect((accm >>> b) & 1).toBe(0);
          expect(extraEscapes.includes(b)).toBe(false);
        }
      }),
    );
  });

  it('random octets never throw, match the reference decoder, and every segment is counted once', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.array(octetArb, { maxLength: 40 }).map((a) => Uint8Array.from(a)),
            frameArb.map((f) => new HdlcEncoder().encode(f)),
          ),
          { maxLength: 10 },
        ),
        fc.constantFrom(0, 0xffffffff, 0x000a0000),
        fc.integer({ min: 4, max: 80 }),
        cutsArb,
        (pieces, receiveAccm, maxFrame, cuts) => {
          const bytes = Uint8Array.from(Buffer.concat([...pieces, Uint8Array.of(0x7e)]));
          const got = decodeChunks(splitAt(bytes, cuts), receiveAccm, maxFrame);
          const want = reference(bytes, receiveAccm, maxFrame);
          expect(got).toEqual(want);
          // With a closing flag at the end, every non-empty segment between flags is counted in
          // exactly one counter (receive-ACCM characters do not make a segment non-empty).
          const first = bytes.indexOf(0x7e);
          let segments = 0;
          let seen = false;
          for (let i = first + 1; i < bytes.length; i++) {
            const b = bytes[i]!;
            if (b === 0x7e) {
              if (seen) segments++;
              seen = false;
            } else if (!(b < 0x20 && (receiveAccm >>> b) & 1)) {
              seen = true;
            }
          }
          const s = got.stats;
          expect(s.frames + s.fcsErrors + s.oversize + s.runts + s.aborts).toBe(segments);
          expect(s.discardedBytes).toBeLessThanOrEqual(s.bytesIn);
        },
      ),
    );
  });

  it('mutated valid streams never throw and never yield a frame the FCS does not vouch for', () => {
    const mutation = fc.record({
      kind: fc.constantFrom('flip', 'insert', 'delete'),
      at: fc.nat(),
      octet: octetArb,
      bit: fc.integer({ min: 0, max: 7 }),
    });
    fc.assert(
      fc.property(
        fc.array(frameArb, { minLength: 1, maxLength: 6 }),
        accmArb,
        fc.array(mutation, { minLength: 1, maxLength: 6 }),
        cutsArb,
        (frames, accm, mutations, cuts) => {
          const enc = new HdlcEncoder({ accm });
          const bytes = [...Buffer.concat(frames.map((f) => enc.encode(f)))];
          for (const m of mutations) {
            const at = m.at % (bytes.length + 1);
            if (m.kind === 'insert') bytes.splice(at, 0, m.octet);
            else if (at < bytes.length) {
              if (m.kind === 'delete') bytes.splice(at, 1);
              else bytes[at] = bytes[at]! ^ (1 << m.bit);
            }
          }
          const stream = Uint8Array.from(bytes);
          const got = decodeChunks(splitAt(stream, cuts), accm, 1506);
          // The reference delivers only frames whose FCS checks bit by bit.
          expect(got).toEqual(reference(stream, accm, 1506));
          // Frames that no mutation touched still come through.
          expect(got.stats.frames).toBeGreaterThanOrEqual(frames.length - 2 * mutations.length);
        },
      ),
    );
  });

  it('keeps memory bounded by maxFrame whatever arrives', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 4, max: 3000 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 5000 }), fc.constantFrom(0x41, 0x7d, 0x11, 0x7e)), {
          maxLength: 8,
        }),
        (maxFrame, runs) => {
          const dec = new HdlcDecoder({ maxFrame });
          for (const [n, octet] of runs) {
            for (const f of dec.push(new Uint8Array(n).fill(octet)))
              expect(f.length).toBeLessThanOrEqual(maxFrame - 2);
            expect(dec.bufferedBytes).toBeLessThanOrEqual(maxFrame);
          }
        },
      ),
    );
  });
});
