import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CarrierWatch } from '../../src/modem/carrier-watch.js';
import { splitAt } from '../helpers/split.js';

const NO_CARRIER = [...Buffer.from('\r\nNO CARRIER\r\n', 'latin1')];

function run(chunks: number[][]): { data: number[]; lost: boolean; rest: number[] } {
  const w = new CarrierWatch();
  const data: number[] = [];
  for (let i = 0; i < chunks.length; i++) {
    const r = w.push(Uint8Array.from(chunks[i]!));
    for (const d of r.data) data.push(...d);
    if (r.lost) return { data, lost: true, rest: [...(r.rest ?? []), ...chunks.slice(i + 1).flat()] };
  }
  return { data, lost: false, rest: [] };
}

describe('CarrierWatch', () => {
  it('finds NO CARRIER at the start of data mode and after a flag, in any chunking', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (frame, cuts) => {
          const body = frame.filter((b) => b !== 0x7e);
          const stream = [0x7e, ...body, 0x7e, ...NO_CARRIER, 0x41, 0x54];
          const r = run(splitAt(stream, cuts));
          expect(r.lost).toBe(true);
          expect(r.data).toEqual([0x7e, ...body, 0x7e]);
          // The rest starts right after the CR that ends the text: its LF, then command-mode text.
          expect(r.rest).toEqual([0x0a, 0x41, 0x54]);
        },
      ),
    );
  });

  it('never loses or reorders data that holds no NO CARRIER after a flag', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x7e, 0x0d, 0x0a, 0x4e, 0x4f)), {
          maxLength: 200,
        }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (bytes, cuts) => {
          const text = Buffer.from(bytes).toString('latin1');
          fc.pre(!/(^|~)[\r\n]{0,4}NO CARRIER[\r\n]/.test(text));
          const r = run(splitAt(bytes, cuts));
          expect(r.lost).toBe(false);
          // Bytes of a trailing partial candidate may be held back; everything else is out, in order.
          expect(bytes.slice(0, r.data.length)).toEqual(r.data);
          const held = bytes.slice(r.data.length);
          expect(held.length).toBeLessThanOrEqual(4 + 10);
        },
      ),
    );
  });
});
