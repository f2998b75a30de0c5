import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TlsClientEvent } from '../../src/tls/client-core.js';
import { CellstackError } from '../../src/util/errors.js';
import { hex, illustratedCore, X } from './helpers.js';

/** The recorded server side of the illustrated connection: its whole flight, then "pong". */
const FLIGHT = hex(
  X.serverhello +
    X.servercert +
    X.serverkeyexchange +
    X.serverhellodone +
    X.serverccs +
    X.serverfinished +
    X.serverdata,
);

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'cut'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; n: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 8 }) }),
);

function apply(buf: Buffer, ms: Mutation[]): Buffer {
  let b = Buffer.from(buf);
  for (const m of ms) {
    if (b.length === 0) break;
    const at = m.at % b.length;
    switch (m.kind) {
      case 'flip':
        b[at] = b[at]! ^ (1 << m.bit);
        break;
      case 'set':
        b[at] = m.value;
        break;
      case 'cut':
        b = b.subarray(0, at);
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.n)]);
        break;
    }
  }
  return b;
}

/** Feeds `bytes` in the given chunk sizes; input() must never throw. */
function run(bytes: Buffer, chunks: number[]): TlsClientEvent[] {
  const core = illustratedCore();
  core.start(0);
  const events: TlsClientEvent[] = [];
  let off = 0;
  let i = 0;
  while (off < bytes.length) {
    const n = Math.max(1, chunks[i++ % Math.max(1, chunks.length)] ?? bytes.length);
    core.input(bytes.subarray(off, off + n), 1);
    off += n;
    events.push(...core.takeEvents());
    core.takeOutput();
  }
  return events;
}

function checkEvents(events: TlsClientEvent[]): void {
  const errors = events.filter((e) => e.type === 'error');
  expect(errors.length).toBeLessThanOrEqual(1);
  for (const e of errors) {
    if (e.type !== 'error') continue;
    expect(e.error).toBeInstanceOf(CellstackError);
    expect(['TlsAlert', 'CertificateError']).toContain(e.error.name);
    // Nothing after a fatal error.
    expect(events.indexOf(e)).toBe(events.length - 1);
  }
  // Data only after the handshake.
  const connected = events.findIndex((e) => e.type === 'connected');
  const data = events.findIndex((e) => e.type === 'data');
  if (data >= 0) expect(connected).toBeGreaterThanOrEqual(0);
  if (data >= 0) expect(data).toBeGreaterThan(connected);
}

describe('fuzz: mutated real server flights into the core', () => {
  it('the unmutated flight connects and delivers "pong"', () => {
    const events = run(FLIGHT, []);
    expect(events.map((e) => e.type)).toEqual(['connected', 'data']);
  });

  it('no exception escapes; every failure is one typed alert', () => {
    fc.assert(
      fc.property(
        fc.array(mutation, { minLength: 1, maxLength: 6 }),
        fc.array(fc.integer({ min: 1, max: 400 }), { maxLength: 6 }),
        (ms, chunks) => {
          checkEvents(run(apply(FLIGHT, ms), chunks));
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('arbitrary bytes after the ClientHello', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
        checkEvents(run(Buffer.from(bytes), [97]));
      }),
      { numRuns: 500 },
    );
  });

  it('records with valid headers and random bodies', () => {
    const rec = fc
      .tuple(fc.integer({ min: 20, max: 23 }), fc.uint8Array({ maxLength: 300 }))
      .map(([t, body]) =>
        Buffer.concat([Buffer.from([t, 3, 3, body.length >> 8, body.length & 0xff]), body]),
      );
    fc.assert(
      fc.property(fc.array(rec, { maxLength: 5 }), (records) => {
        checkEvents(run(Buffer.concat([hex(X.serverhello), ...records]), []));
      }),
      { numRuns: 500 },
    );
  });
});
