import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32, crc32Table } from '../../src/mqtt/store/crc32.js';
import { decodeRecordAt, encodeRecord, HEADER_BYTES, type LogRecord } from '../../src/mqtt/store/record.js';
import { replay, scanLog } from '../../src/mqtt/store/scan.js';
import type { StoredPublish } from '../../src/mqtt/store/types.js';

function put(key: number, extra: Partial<StoredPublish> = {}): LogRecord {
  return {
    type: 'put',
    entry: {
      key,
      topic: `t/${key}`,
      payload: new Uint8Array([key & 0xff, 1, 2, 3]),
      qos: 1,
      retain: false,
      state: 'publish',
      createdAt: 1_700_000_000_000 + key,
      ...extra,
    },
  };
}

function image(records: LogRecord[]): { bytes: Uint8Array; ends: number[] } {
  const parts = records.map(encodeRecord);
  const ends: number[] = [];
  let n = 0;
  for (const p of parts) {
    n += p.length;
    ends.push(n);
  }
  return { bytes: new Uint8Array(Buffer.concat(parts)), ends };
}

const keysOf = (bytes: Uint8Array): number[] =>
  replay(scanLog(bytes).records.map((r) => r.record)).entries.map((e) => e.key);

describe('outgoing store: record codec', () => {
  it('crc32 matches the table implementation and the known check value', () => {
    const check = new TextEncoder().encode('123456789');
    expect(crc32(check)).toBe(0xcbf43926);
    expect(crc32Table(check)).toBe(0xcbf43926);
  });

  it('round-trips puts with properties, updates and deletes', () => {
    const recs: LogRecord[] = [
      put(1, {
        qos: 2,
        retain: true,
        messageId: 65535,
        topic: 'ü/ñ',
        properties: {
          contentType: 'application/json',
          correlationData: new Uint8Array([0, 255, 7]),
          userProperties: { a: 'b', c: ['d', 'e'] },
          messageExpiryInterval: 60,
          payloadFormatIndicator: true,
        },
      }),
      { type: 'update', key: 1, state: 'pubrel', messageId: 9 },
      { type: 'update', key: 2 ** 40, state: 'publish', messageId: undefined },
      { type: 'delete', key: Number.MAX_SAFE_INTEGER },
    ];
    for (const rec of recs) {
      const bytes = encodeRecord(rec);
      const r = decodeRecordAt(bytes, 0, 1 << 20);
      expect(r).toEqual({ kind: 'ok', record: rec, end: bytes.length });
    }
  });

  it('tells short, bad and foreign-version records apart', () => {
    const bytes = encodeRecord(put(1));
    expect(decodeRecordAt(bytes.subarray(0, 10), 0, 1 << 20).kind).toBe('short');
    expect(decodeRecordAt(bytes.subarray(0, bytes.length - 1), 0, 1 << 20).kind).toBe('short');
    const flipped = bytes.slice();
    flipped[HEADER_BYTES + 3]! ^= 1;
    expect(decodeRecordAt(flipped, 0, 1 << 20).kind).toBe('bad');
    expect(decodeRecordAt(bytes, 0, 4).kind).toBe('bad');
    const v2 = bytes.slice();
    v2[4] = 2;
    v2.set(encodeU32(crc32(v2.subarray(0, 10))), 10);
    expect(decodeRecordAt(v2, 0, 1 << 20)).toEqual({ kind: 'version', version: 2 });
  });
});

function encodeU32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

describe('outgoing store: recovery scanner', () => {
  it('replays puts, state changes and deletes in order', () => {
    const { bytes } = image([
      put(1),
      put(2, { qos: 2 }),
      put(3),
      { type: 'delete', key: 1 },
      { type: 'update', key: 2, state: 'pubrel', messageId: 7 },
      { type: 'update', key: 99, state: 'pubrel', messageId: 7 },
    ]);
    const scan = scanLog(bytes);
    expect(scan).toMatchObject({
      corruptRecords: 0,
      truncatedTail: false,
      bytesDiscarded: 0,
      validEnd: bytes.length,
    });
    const r = replay(scan.records.map((x) => x.record));
    expect(r.entries.map((e) => [e.key, e.state, e.messageId])).toEqual([
      [2, 'pubrel', 7],
      [3, 'publish', undefined],
    ]);
    expect(r.maxKey).toBe(99);
  });

  it('a torn last record at every byte offset: every earlier record survives, the tail is cut', () => {
    const { bytes, ends } = image([put(1), put(2), { type: 'delete', key: 1 }, put(3), put(4)]);
    const lastStart = ends[ends.length - 2]!;
    for (let cut = lastStart; cut < bytes.length; cut++) {
      const scan = scanLog(bytes.subarray(0, cut));
      expect(scan.validEnd).toBe(lastStart);
      expect(scan.truncatedTail).toBe(cut > lastStart);
      expect(scan.bytesDiscarded).toBe(cut - lastStart);
      expect(scan.corruptRecords).toBe(0);
      expect(replay(scan.records.map((r) => r.record)).entries.map((e) => e.key)).toEqual([2, 3]);
    }
  });

  it('any prefix of a log keeps exactly the records wholly inside it', () => {
    const recs = Array.from({ length: 12 }, (_, i) => put(i + 1));
    const { bytes, ends } = image(recs);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const whole = ends.filter((e) => e <= cut).length;
      expect(keysOf(bytes.subarray(0, cut))).toEqual(recs.slice(0, whole).map((_, i) => i + 1));
    }
  });

  it('garbage in the middle costs only the records it overwrote', () => {
    const recs = Array.from({ length: 10 }, (_, i) => put(i + 1));
    const { bytes, ends } = image(recs);
    const damaged = bytes.slice();
    // Garbage from the body of key 4, over key 5, into the header of key 6.
    damaged.fill(0xa5, ends[2]! + HEADER_BYTES + 2, ends[4]! + 6);
    const scan = scanLog(damaged);
    expect(scan.corruptRecords).toBe(1);
    expect(scan.truncatedTail).toBe(false);
    expect(scan.damaged).toEqual([{ offset: ends[2]!, length: ends[5]! - ends[2]! }]);
    expect(replay(scan.records.map((r) => r.record)).entries.map((e) => e.key)).toEqual([
      1, 2, 3, 7, 8, 9, 10,
    ]);
  });

  it('garbage inserted between records and zeroed pages are skipped', () => {
    const { bytes, ends } = image([put(1), put(2), put(3)]);
    const withJunk = Buffer.concat([
      bytes.subarray(0, ends[0]!),
      Buffer.from('CSQSCSQS junk CSQS\u0001\u0001'),
      new Uint8Array(4096),
      bytes.subarray(ends[0]!),
      new Uint8Array(100),
    ]);
    const scan = scanLog(withJunk);
    expect(scan.corruptRecords).toBe(1);
    expect(scan.truncatedTail).toBe(true);
    expect(replay(scan.records.map((r) => r.record)).entries.map((e) => e.key)).toEqual([1, 2, 3]);
  });

  it('fuzz: random bytes and mutated logs never throw, and intact records are kept', () => {
    const base = image(Array.from({ length: 8 }, (_, i) => put(i + 1, { payload: new Uint8Array(i * 7) })));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 2000 }),
          fc
            .array(fc.tuple(fc.nat(base.bytes.length - 1), fc.integer({ min: 0, max: 255 })), {
              maxLength: 20,
            })
            .map((muts) => {
              const b = base.bytes.slice();
              for (const [at, v] of muts) b[at] = v;
              return b;
            }),
          fc.tuple(fc.nat(base.bytes.length), fc.uint8Array({ maxLength: 300 })).map(([at, junk]) => {
            return new Uint8Array(Buffer.concat([base.bytes.subarray(0, at), junk, base.bytes.subarray(at)]));
          }),
        ),
        (bytes) => {
          const t0 = performance.now();
          const scan = scanLog(bytes);
          expect(performance.now() - t0).toBeLessThan(500);
          expect(scan.validEnd).toBeLessThanOrEqual(bytes.length);
          expect(scan.bytesDiscarded).toBeLessThanOrEqual(bytes.length);
          replay(scan.records.map((r) => r.record));
        },
      ),
      { numRuns: 400 },
    );
  });

  it('fuzz: flipping one byte loses at most the record holding it', () => {
    const recs = Array.from({ length: 6 }, (_, i) => put(i + 1));
    const { bytes, ends } = image(recs);
    fc.assert(
      fc.property(fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 255 }), (at, x) => {
        const b = bytes.slice();
        b[at]! ^= x;
        const hit = ends.findIndex((e) => at < e);
        const expected = recs.map((_, i) => i + 1).filter((k) => k !== hit + 1);
        expect(keysOf(b)).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });
});
