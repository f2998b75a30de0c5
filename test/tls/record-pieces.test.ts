import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ALL_SUITES, type CipherSuite } from '../../src/tls/cipher-suites.js';
import { ContentType } from '../../src/tls/constants.js';
import { RecordLayer } from '../../src/tls/record.js';
import { createProtection, keyBlockLength, splitKeyBlock } from '../../src/tls/record-protection.js';

/**
 * The record layer's zero-copy paths: `emit` given the data in pieces (coalesced writes, a
 * record taking octets of several pieces) and the reader given the wire in arbitrary chunks
 * (records spanning chunks, several records in one) must carry exactly the bytes written,
 * for every bulk cipher.
 */
const oneOfEach = [...new Map(ALL_SUITES.map((s) => [`${s.cipher}/${s.mac}`, s])).values()];

function pair(suite: CipherSuite): { writer: RecordLayer; reader: RecordLayer } {
  const keys = splitKeyBlock(suite, randomBytes(keyBlockLength(suite)));
  const options = { encryptThenMac: suite.cipher.endsWith('cbc'), random: (n: number) => randomBytes(n) };
  const writer = new RecordLayer();
  const reader = new RecordLayer();
  writer.changeWriteState(createProtection(suite, keys.client, options));
  reader.changeReadState(createProtection(suite, keys.client, options));
  return { writer, reader };
}

/** Splits `bytes` at the given fractions (sorted, deduplicated). */
function chunks(bytes: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => Math.floor(c * bytes.length)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const c of [...at, bytes.length]) {
    if (c > from) out.push(bytes.subarray(from, c));
    from = c;
  }
  return out;
}

describe('record layer: data in pieces, wire in chunks', () => {
  it.each(oneOfEach.map((s) => [s.name, s] as const))('%s carries every byte in order', (_name, suite) => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 40_000 }), { minLength: 1, maxLength: 6 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }),
        (sizes, cuts) => {
          const { writer, reader } = pair(suite);
          const pieces = sizes.map((n) => randomBytes(n));
          const whole = Buffer.concat(pieces);
          const { bytes, records } = writer.emit(ContentType.application_data, pieces);
          expect(records).toBe(Math.max(1, Math.ceil(whole.length / 16_384)));
          const got: Uint8Array[] = [];
          for (const c of chunks(bytes, cuts)) {
            reader.push(c);
            for (let r = reader.next(); r; r = reader.next()) got.push(r.fragment);
          }
          expect(reader.buffered).toBe(0);
          expect(Buffer.concat(got).equals(whole)).toBe(true);
        },
      ),
      { numRuns: 25 },
    );
  });
});
