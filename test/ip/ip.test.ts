import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { internetChecksum } from '../../src/ip/checksum.js';
import { emitIcmp, IcmpType, parseIcmp } from '../../src/ip/icmp.js';
import { emitIpv4Packet, IpProtocol, parseIpv4Packet } from '../../src/ip/ipv4.js';
import { IpStackCore } from '../../src/ip/stack-core.js';
import { formatIpv4, parseIpv4 } from '../../src/util/ipv4.js';

const US = parseIpv4('10.64.0.2');
const PEER = parseIpv4('10.64.0.1');

function echoRequest(id: number, seq: number, data: number[], ttl = 64): Uint8Array {
  return emitIpv4Packet({
    source: PEER,
    destination: US,
    protocol: IpProtocol.ICMP,
    identification: 7,
    ttl,
    payload: emitIcmp({
      type: IcmpType.EchoRequest,
      code: 0,
      rest: ((id << 16) | seq) >>> 0,
      body: Uint8Array.from(data),
    }),
  });
}

describe('IPv4 and ICMP', () => {
  it('computes the RFC 1071 checksum (its worked example)', () => {
    // RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2; the checksum is its complement.
    expect(internetChecksum(Uint8Array.of(0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7))).toBe(
      ~0xddf2 & 0xffff,
    );
  });

  it('round-trips a datagram and rejects a bad header checksum, version, lengths', () => {
    const p = echoRequest(1, 2, [1, 2, 3]);
    const ip = parseIpv4Packet(p);
    expect(ip).toMatchObject({
      headerLength: 20,
      protocol: IpProtocol.ICMP,
      ttl: 64,
      source: PEER,
      destination: US,
    });
    expect(formatIpv4(ip.source)).toBe('10.64.0.1');
    const bad = Uint8Array.from(p);
    bad[8] = 1; // TTL changed, checksum not updated
    expect(() => parseIpv4Packet(bad)).toThrow(/checksum/);
    const v6 = Uint8Array.from(p);
    v6[0] = 0x65;
    expect(() => parseIpv4Packet(v6)).toThrow(/version/);
    expect(() => parseIpv4Packet(p.subarray(0, 19))).toThrow(/header needs 20/);
    expect(() => parseIpv4Packet(p.subarray(0, 25))).toThrow(/Total Length/);
    expect(() => parseIcmp(Uint8Array.of(8, 0, 0, 0, 0, 0, 0, 1))).toThrow(/checksum/);
  });

  it('answers an Echo Request with the same identifier, sequence and data', () => {
    const core = new IpStackCore(US, 0x1234);
    core.receive(echoRequest(0xbeef, 9, [5, 6, 7, 8]), 0);
    const [out] = core.takeOutput();
    const ip = parseIpv4Packet(out!);
    expect([ip.source, ip.destination]).toEqual([US, PEER]);
    const icmp = parseIcmp(ip.payload);
    expect(icmp).toMatchObject({ type: IcmpType.EchoReply, code: 0, rest: ((0xbeef << 16) | 9) >>> 0 });
    expect([...icmp.body]).toEqual([5, 6, 7, 8]);
    expect(core.stats.echoRequestsAnswered).toBe(1);
  });

  it('times a ping, matches its reply, and times out a lost one', () => {
    const core = new IpStackCore(US, 0x1234);
    const a = core.ping({ destination: PEER, timeoutMs: 1000 }, 100);
    const b = core.ping({ destination: PEER, timeoutMs: 1000 }, 200);
    const [reqA] = core.takeOutput();
    const icmpA = parseIcmp(parseIpv4Packet(reqA!).payload);
    const reply = emitIpv4Packet({
      source: PEER,
      destination: US,
      protocol: IpProtocol.ICMP,
      identification: 1,
      ttl: 63,
      payload: emitIcmp({ type: IcmpType.EchoReply, code: 0, rest: icmpA.rest, body: icmpA.body }),
    });
    core.receive(reply, 145);
    expect(core.takeEvents()).toEqual([
      { type: 'echo-reply', key: a, reply: { from: PEER, sequence: 1, bytes: 56, ttl: 63, rttMs: 45 } },
    ]);
    expect(core.nextDeadline()).toBe(1200);
    core.tick(1200);
    expect(core.takeEvents()).toEqual([{ type: 'ping-timeout', key: b, sequence: 2 }]);
    // A reply for someone else's identifier is not ours.
    core.receive(reply, 1300);
    expect(core.takeEvents()).toEqual([]);
  });

  it('drops and counts what is not for us, fragments and garbage', () => {
    const core = new IpStackCore(US, 1);
    const other = emitIpv4Packet({
      source: PEER,
      destination: parseIpv4('10.64.0.9'),
      protocol: 1,
      identification: 1,
      payload: new Uint8Array(8),
    });
    core.receive(other, 0);
    const frag = Uint8Array.from(echoRequest(1, 1, [1]));
    frag[6] = 0x20; // More Fragments
    frag[10] = 0;
    frag[11] = 0;
    const c = internetChecksum(frag, 0, 20);
    frag[10] = c >> 8;
    frag[11] = c & 0xff;
    core.receive(frag, 0);
    core.receive(Uint8Array.of(1, 2, 3), 0);
    expect(core.stats).toMatchObject({ notForUs: 1, fragmentsDropped: 1, malformed: 1, packetsIn: 3 });
    expect(core.takeOutput()).toEqual([]);
  });

  it('never throws on random or mutated datagrams', () => {
    const valid = [...echoRequest(3, 4, [9, 9, 9])];
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 100 }),
          fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 5 }).map((edits) => {
            const b = [...valid];
            for (const [at, v] of edits) b[at % b.length] = v;
            return Uint8Array.from(b);
          }),
        ),
        (bytes) => {
          const core = new IpStackCore(US, 1);
          core.receive(bytes, 0);
          const s = core.stats;
          expect(
            s.malformed + s.notForUs + s.fragmentsDropped + s.unknownProtocol + s.echoRequestsAnswered,
          ).toBeLessThanOrEqual(1);
          expect(core.takeOutput().length).toBeLessThanOrEqual(1);
        },
      ),
      { numRuns: 500 },
    );
  });
});
