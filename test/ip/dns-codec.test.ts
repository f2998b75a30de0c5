import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DnsCache } from '../../src/ip/dns/cache.js';
import { RRClass, RRType } from '../../src/ip/dns/constants.js';
import { type DnsMessage, emitDnsMessage, emitDnsQuery, parseDnsMessage } from '../../src/ip/dns/message.js';
import { nameLabels, normalizeHostname, readName } from '../../src/ip/dns/name.js';
import { MalformedPacket } from '../../src/util/errors.js';

const header = { id: 0x1234, qr: true, opcode: 0, aa: false, tc: false, rd: true, ra: true, z: 0, rcode: 0 };

function answerMessage(): DnsMessage {
  return {
    header,
    questions: [{ name: 'www.Example.com', type: RRType.A, class: RRClass.IN }],
    answers: [
      {
        name: 'www.example.com',
        type: RRType.CNAME,
        class: 1,
        ttl: 300,
        data: { kind: 'CNAME', target: 'edge.example.com' },
      },
      {
        name: 'edge.example.com',
        type: RRType.A,
        class: 1,
        ttl: 60,
        data: { kind: 'A', address: '192.0.2.7' },
      },
      {
        name: 'edge.example.com',
        type: RRType.TXT,
        class: 1,
        ttl: 60,
        data: { kind: 'raw', bytes: Uint8Array.of(2, 104, 105) },
      },
    ],
    authorities: [
      {
        name: 'example.com',
        type: RRType.SOA,
        class: 1,
        ttl: 900,
        data: {
          kind: 'SOA',
          mname: 'ns.example.com',
          rname: 'hostmaster.example.com',
          serial: 2024010101,
          refresh: 7200,
          retry: 900,
          expire: 1209600,
          minimum: 120,
        },
      },
    ],
    additionals: [],
  };
}

describe('DNS messages (RFC 1035 4)', () => {
  it('builds a query as RFC 1035 4.1 lays it out', () => {
    const q = emitDnsQuery(0xbeef, 'a.bc', RRType.A, RRClass.IN);
    expect([...q]).toEqual([
      0xbe,
      0xef,
      0x01,
      0x00,
      0,
      1,
      0,
      0,
      0,
      0,
      0,
      0, // header: RD, one question
      1,
      0x61,
      2,
      0x62,
      0x63,
      0, // a.bc
      0,
      1,
      0,
      1, // A, IN
    ]);
  });

  it('round-trips a message with compression, and compression makes it smaller', () => {
    const msg = answerMessage();
    const compressed = emitDnsMessage(msg);
    const plain = emitDnsMessage(msg, { compress: false });
    expect(compressed.length).toBeLessThan(plain.length);
    for (const bytes of [compressed, plain]) {
      const back = parseDnsMessage(bytes);
      expect(back.header).toEqual(header);
      expect(back.questions).toEqual(msg.questions);
      const lower = (d: unknown) => JSON.parse(JSON.stringify(d).toLowerCase()) as unknown;
      // Compressed names share the first spelling of their suffix ("Example"): names ignore case.
      expect(back.answers.map((r) => lower(r.data))).toEqual(msg.answers.map((r) => lower(r.data)));
      expect(back.answers[0]!.name.toLowerCase()).toBe('www.example.com');
      expect(lower(back.authorities[0]!.data)).toEqual(lower(msg.authorities[0]!.data));
    }
  });

  it('follows pointers that point back, and refuses forward pointers, self pointers and cycles', () => {
    // "foo" at 0, then a name "bar" + pointer to 0 at 5.
    const msg = Uint8Array.of(3, 0x66, 0x6f, 0x6f, 0, 3, 0x62, 0x61, 0x72, 0xc0, 0);
    expect(readName(msg, 0)).toEqual({ name: 'foo', end: 5 });
    expect(readName(msg, 5)).toEqual({ name: 'bar.foo', end: 11 });
    expect(() => readName(Uint8Array.of(0xc0, 0), 0)).toThrow(/does not point back/);
    expect(() => readName(Uint8Array.of(0xc0, 2, 0), 0)).toThrow(/does not point back/);
    // a label at 0 and a pointer at 2 back to 0: reading from 0 would loop through it forever.
    expect(() => readName(Uint8Array.of(1, 0x61, 0xc0, 0), 0)).toThrow(/does not point back/);
    expect(() => readName(Uint8Array.of(0x40, 0), 0)).toThrow(/label type/);
    expect(() => readName(Uint8Array.of(3, 0x61), 0)).toThrow(/runs past/);
    expect(() => readName(Uint8Array.of(0xc0), 0)).toThrow(/cut short/);
  });

  it('bounds names: 63-octet labels, 255 octets in all, however they are compressed', () => {
    const l63 = 'a'.repeat(63);
    const long = [l63, l63, l63, 'b'.repeat(61)].join('.'); // 64*3 + 62 + 1 = 255 octets
    expect(nameLabels(long)).toHaveLength(4);
    expect(() => nameLabels(`${long}c`)).toThrow(/255/);
    expect(() => nameLabels(`${'a'.repeat(64)}.com`)).toThrow(/64 octets/);
    expect(() => nameLabels('a..b')).toThrow(/empty label/);
    const q = emitDnsQuery(1, long, RRType.A, RRClass.IN);
    expect(parseDnsMessage(q).questions[0]!.name).toBe(long);
    // A chain of pointers, each adding a label, that grows past 255 octets.
    const parts: number[] = [];
    const starts: number[] = [];
    for (let i = 0; i < 6; i++) {
      starts.push(parts.length);
      parts.push(50, ...new Array<number>(50).fill(0x61));
      if (i === 0) parts.push(0);
      else parts.push(0xc0, starts[i - 1]!);
    }
    const chain = Uint8Array.from(parts);
    expect(() => readName(chain, starts[5]!)).toThrow(/longer than 255/);
    expect(readName(chain, starts[3]!).name.split('.')).toHaveLength(4);
  });

  it('escapes label octets that are not printable, and reads them back', () => {
    const name = 'a\\.b\\\\c\\000\\255.x';
    const q = emitDnsQuery(1, name, RRType.A, RRClass.IN);
    expect([...q.subarray(12, 12 + 10)]).toEqual([7, 0x61, 0x2e, 0x62, 0x5c, 0x63, 0, 255, 1, 0x78]);
    expect(parseDnsMessage(q).questions[0]!.name).toBe(name);
  });

  it('refuses records whose RDATA does not fit their type or the message', () => {
    const good = emitDnsMessage(answerMessage(), { compress: false });
    expect(() => parseDnsMessage(good.subarray(0, good.length - 1))).toThrow(MalformedPacket);
    expect(() => parseDnsMessage(good.subarray(0, 11))).toThrow(/header needs 12/);
    const msg = answerMessage();
    msg.answers = [
      { name: 'x', type: RRType.A, class: 1, ttl: 1, data: { kind: 'raw', bytes: Uint8Array.of(1, 2, 3) } },
    ];
    expect(() => parseDnsMessage(emitDnsMessage(msg))).toThrow(/A RDATA of 3/);
    msg.answers = [
      {
        name: 'x',
        type: RRType.CNAME,
        class: 1,
        ttl: 1,
        data: { kind: 'raw', bytes: Uint8Array.of(1, 0x61, 0, 9) },
      },
    ];
    expect(() => parseDnsMessage(emitDnsMessage(msg))).toThrow(/CNAME RDATA longer/);
    // A TTL with the top bit set reads as 0 (RFC 2181 8).
    msg.answers = [
      { name: 'x', type: RRType.A, class: 1, ttl: 0x80000000, data: { kind: 'A', address: '1.2.3.4' } },
    ];
    expect(parseDnsMessage(emitDnsMessage(msg)).answers[0]!.ttl).toBe(0);
  });

  it('validates host names before any query', () => {
    expect(normalizeHostname('Example.COM.')).toBe('Example.COM');
    expect(normalizeHostname('_sip._udp.example.com')).toBe('_sip._udp.example.com');
    expect(normalizeHostname('bücher.example')).toBe('xn--bcher-kva.example');
    for (const bad of [
      '',
      '.',
      'a..b',
      'a b',
      'a/b',
      `${'a'.repeat(64)}.com`,
      `${'a.'.repeat(127)}a`,
      'x\u0000y',
    ])
      expect(normalizeHostname(bad), JSON.stringify(bad)).toBeUndefined();
  });

  it('never throws anything but MalformedPacket, and ends, on random or mutated messages', () => {
    const valid = [...emitDnsMessage(answerMessage())];
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc
            .array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 })
            .map((edits) => {
              const b = [...valid];
              for (const [at, v] of edits) b[at % b.length] = v;
              return Uint8Array.from(b);
            }),
          // Headers claiming many records over a body of pointers.
          fc.uint8Array({ minLength: 1, maxLength: 200 }).map((body) => {
            const b = Uint8Array.from([
              0,
              1,
              0x81,
              0x80,
              0xff,
              0xff,
              0xff,
              0xff,
              0xff,
              0xff,
              0xff,
              0xff,
              ...body,
            ]);
            for (let i = 12; i < b.length; i += 3) b[i] = 0xc0 | (b[i]! & 0x3f);
            return b;
          }),
        ),
        (bytes) => {
          try {
            const m = parseDnsMessage(bytes);
            // Allocation is bounded by the input: every record costs at least 11 octets.
            const records = m.answers.length + m.authorities.length + m.additionals.length;
            expect(records * 11 + m.questions.length * 5).toBeLessThanOrEqual(bytes.length);
            for (const r of m.answers) expect(r.name.length).toBeLessThan(4 * 255);
          } catch (err) {
            expect(err).toBeInstanceOf(MalformedPacket);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('DnsCache', () => {
  it('expires entries, and keeps at most maxEntries, dropping the least recently used', () => {
    const c = new DnsCache(2);
    const entry = (expires: number) => ({
      kind: 'addresses' as const,
      addresses: ['1.1.1.1'],
      cname: [],
      expires,
    });
    c.set('a', entry(1000));
    c.set('B', entry(1000));
    expect(c.get('b', 0)).toBeDefined(); // case-insensitive; b is now the most recent
    c.set('c', entry(1000));
    expect(c.get('a', 0)).toBeUndefined();
    expect(c.get('b', 0)).toBeDefined();
    expect(c.get('c', 999)).toBeDefined();
    expect(c.get('c', 1000)).toBeUndefined();
    expect(c.size).toBe(1);
  });
});
