import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteQueue, Reassembly } from '../../src/tcp/buffers.js';
import { seqAdd, seqDiff, seqGt, seqInWindow, seqLt } from '../../src/tcp/seq.js';

describe('sequence arithmetic', () => {
  it('compares across the 2^32 wrap', () => {
    expect(seqLt(0xfffffff0, 0x10)).toBe(true);
    expect(seqGt(0x10, 0xfffffff0)).toBe(true);
    expect(seqDiff(0x10, 0xfffffff0)).toBe(0x20);
    expect(seqAdd(0xffffffff, 2)).toBe(1);
    expect(seqInWindow(0x5, 0xfffffffe, 0x10)).toBe(true);
    expect(seqInWindow(0x10, 0xfffffffe, 0x10)).toBe(false);
  });
});

describe('ByteQueue', () => {
  it('peeks across chunks, drops and takes', () => {
    const q = new ByteQueue();
    q.push(Uint8Array.of(1, 2, 3));
    q.push(Uint8Array.of(4, 5));
    q.push(Uint8Array.of(6, 7, 8, 9));
    expect([...q.peek(1, 5)]).toEqual([2, 3, 4, 5, 6]);
    q.drop(4);
    expect(q.length).toBe(5);
    expect([...q.peek(0, 10)]).toEqual([5, 6, 7, 8, 9]);
    expect(q.take(3).flatMap((c) => [...c])).toEqual([5, 6, 7]);
    expect(q.length).toBe(2);
  });
});

describe('Reassembly', () => {
  it('delivers out-of-order data once the hole is filled, whatever the overlaps', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(199), fc.integer({ min: 1, max: 60 })), { minLength: 1, maxLength: 30 }),
        (pieces) => {
          const stream = Uint8Array.from({ length: 260 }, (_, i) => i & 0xff);
          const r = new Reassembly();
          let delivered: number[] = [];
          let nxt = 0;
          const deliver = (offset: number, data: Uint8Array) => {
            // As the receiver does: in-order data goes up, the rest is stored.
            if (offset <= 0) {
              const fresh = data.subarray(-offset);
              if (fresh.length === 0) return;
              delivered.push(...fresh);
              nxt += fresh.length;
              for (const more of r.advance(fresh.length)) {
                delivered.push(...more);
                nxt += more.length;
              }
            } else {
              r.insert(offset, data);
            }
          };
          for (const [start, len] of pieces) deliver(start - nxt, stream.subarray(start, start + len));
          // Fill everything from the start: the result is the stream, in order, once.
          deliver(0, stream.subarray(nxt));
          expect(delivered).toEqual([...stream]);
          expect(r.empty).toBe(true);
          delivered = [];
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reports SACK blocks, highest first', () => {
    const r = new Reassembly();
    r.insert(10, new Uint8Array(5));
    r.insert(15, new Uint8Array(5));
    r.insert(40, new Uint8Array(10));
    expect(r.blocks(4)).toEqual([
      [40, 50],
      [10, 20],
    ]);
    expect(r.buffered).toBe(20);
  });
});
