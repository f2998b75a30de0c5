import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IcmpType, parseIcmp } from '../../src/ip/icmp.js';
import { emitIpv4Packet, IpProtocol, parseIpv4Packet } from '../../src/ip/ipv4.js';
import { NetStack } from '../../src/ip/stack.js';
import { emitUdpDatagram, MalformedUdp, parseUdpDatagram } from '../../src/ip/udp.js';
import { UdpError, UdpMux } from '../../src/ip/udp-mux.js';
import type { UdpRemoteInfo } from '../../src/ip/udp-socket.js';
import { MalformedPacket } from '../../src/util/errors.js';
import { parseIpv4 } from '../../src/util/ipv4.js';
import { ManualClock } from '../../src/util/manual-clock.js';
import { MemoryLink } from '../helpers/memory-link.js';

const A = parseIpv4('10.0.0.1');
const B = parseIpv4('10.0.0.2');

function udpPacket(srcPort: number, dstPort: number, payload: Uint8Array, from = B, to = A): Uint8Array {
  return emitIpv4Packet({
    source: from,
    destination: to,
    protocol: IpProtocol.UDP,
    identification: 9,
    payload: emitUdpDatagram({ srcPort, dstPort, payload }, from, to),
  });
}

function pair() {
  const clock = new ManualClock();
  const [la, lb] = MemoryLink.pair();
  const a = new NetStack(la, { clock });
  const b = new NetStack(lb, { clock });
  return { clock, a, b, la, lb };
}

describe('UDP datagrams (RFC 768)', () => {
  it('round-trips header and data, and verifies the pseudo-header checksum', () => {
    const bytes = emitUdpDatagram({ srcPort: 5353, dstPort: 53, payload: Uint8Array.of(1, 2, 3) }, A, B);
    expect([...bytes.subarray(0, 6)]).toEqual([0x14, 0xe9, 0, 53, 0, 11]);
    const d = parseUdpDatagram(bytes, A, B);
    expect(d).toMatchObject({ srcPort: 5353, dstPort: 53 });
    expect([...d.payload]).toEqual([1, 2, 3]);
    // The same octets between other addresses fail: the pseudo-header is covered.
    expect(() => parseUdpDatagram(bytes, A, parseIpv4('10.0.0.3'))).toThrow(MalformedUdp);
    const flipped = Uint8Array.from(bytes);
    flipped[9]! ^= 0x40;
    expect(() => parseUdpDatagram(flipped, A, B)).toThrow(/bad checksum/);
  });

  it('accepts a zero checksum as "none", and sends a computed zero as all ones', () => {
    const bytes = emitUdpDatagram({ srcPort: 1, dstPort: 2, payload: Uint8Array.of(9, 9) }, A, B);
    const none = Uint8Array.from(bytes);
    none[6] = 0;
    none[7] = 0;
    none[8] = 0x55; // data changed: no checksum, so nobody can tell
    expect(parseUdpDatagram(none, A, B).checksum).toBe(0);
    // Choose the data so the sum of everything else is 0xffff: the checksum computes to 0.
    const zero = emitUdpDatagram({ srcPort: 1, dstPort: 2, payload: Uint8Array.of(0, 0) }, A, B);
    const sumRest = ~((zero[6]! << 8) | zero[7]!) & 0xffff;
    const w = 0xffff - sumRest;
    const special = emitUdpDatagram(
      { srcPort: 1, dstPort: 2, payload: Uint8Array.of(w >> 8, w & 0xff) },
      A,
      B,
    );
    expect((special[6]! << 8) | special[7]!).toBe(0xffff);
    expect(parseUdpDatagram(special, A, B).checksum).toBe(0xffff);
  });

  it('refuses short datagrams and Length fields that do not fit, and ignores trailing octets', () => {
    const bytes = emitUdpDatagram({ srcPort: 1, dstPort: 2, payload: Uint8Array.of(7) }, A, B);
    expect(() => parseUdpDatagram(bytes.subarray(0, 7), A, B)).toThrow(/header needs 8/);
    expect(() => parseUdpDatagram(bytes.subarray(0, 8), A, B)).toThrow(/Length 9 > 8/);
    const short = Uint8Array.from(bytes);
    short[5] = 4;
    expect(() => parseUdpDatagram(short, A, B)).toThrow(/Length 4 < 8/);
    const padded = new Uint8Array(bytes.length + 3);
    padded.set(bytes);
    expect([...parseUdpDatagram(padded, A, B).payload]).toEqual([7]);
  });

  it('never throws anything but MalformedPacket on random or mutated datagrams', () => {
    const valid = [
      ...emitUdpDatagram({ srcPort: 53, dstPort: 40000, payload: Uint8Array.of(1, 2, 3, 4) }, B, A),
    ];
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 64 }),
          fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }).map((edits) => {
            const b = [...valid];
            for (const [at, v] of edits) b[at % b.length] = v;
            return Uint8Array.from(b);
          }),
        ),
        (bytes) => {
          try {
            const d = parseUdpDatagram(bytes, B, A);
            expect(d.payload.length).toBeLessThanOrEqual(bytes.length - 8);
          } catch (err) {
            expect(err).toBeInstanceOf(MalformedPacket);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('UdpMux', () => {
  it('binds ephemeral ports at random in 49152-65535 and refuses a taken port', () => {
    const mux = new UdpMux(A);
    const ports = new Set<number>();
    for (let i = 0; i < 50; i++) ports.add(mux.bind());
    expect(ports.size).toBe(50);
    for (const p of ports) expect(p >= 49152 && p <= 65535).toBe(true);
    expect(mux.bind(53)).toBe(53);
    expect(() => mux.bind(53)).toThrow(UdpError);
    try {
      mux.bind(53);
    } catch (err) {
      expect((err as UdpError).code).toBe('EADDRINUSE');
    }
    mux.unbind(53);
    expect(mux.bind(0)).toBeGreaterThanOrEqual(49152);
    expect(mux.bind(53)).toBe(53);
  });

  it('delivers to the bound port and answers an unbound one with ICMP Port Unreachable, rate limited', () => {
    const mux = new UdpMux(A, { icmpRate: 2 });
    mux.bind(7);
    mux.input(parseIpv4Packet(udpPacket(1000, 7, Uint8Array.of(1))), 0);
    expect(mux.takeEvents()).toEqual([
      { type: 'datagram', port: 7, source: B, sourcePort: 1000, payload: Uint8Array.of(1) },
    ]);
    const stray = udpPacket(1000, 9, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10));
    for (let i = 0; i < 3; i++) mux.input(parseIpv4Packet(stray), 0);
    const out = mux.takeOutput();
    expect(out).toHaveLength(2); // the third is over the rate
    const icmp = parseIcmp(out[0]!.bytes);
    expect(out[0]).toMatchObject({ destination: B, protocol: IpProtocol.ICMP });
    expect(icmp).toMatchObject({ type: IcmpType.DestinationUnreachable, code: 3 });
    // RFC 792: the offending header and the first 8 octets of its data.
    expect([...icmp.body]).toEqual([...stray.subarray(0, 28)]);
    expect(mux.stats).toMatchObject({ datagramsIn: 4, noPort: 3, unreachableSent: 2 });
    mux.input(parseIpv4Packet(stray), 1000); // a second later the bucket has refilled
    expect(mux.takeOutput()).toHaveLength(1);
  });

  it('counts bad checksums and truncated datagrams apart, and emits nothing for them', () => {
    const mux = new UdpMux(A);
    mux.bind(7);
    const good = udpPacket(1, 7, Uint8Array.of(1, 2));
    const bad = Uint8Array.from(good);
    bad[28] = 0x77; // the data changed under the checksum (the IP header checksum is untouched)
    mux.input(parseIpv4Packet(bad), 0);
    const cut = parseIpv4Packet(good);
    mux.input({ ...cut, payload: cut.payload.subarray(0, 9) }, 0);
    expect(mux.stats).toMatchObject({ badChecksum: 1, truncated: 1 });
    expect(mux.takeEvents()).toEqual([]);
    expect(mux.takeOutput()).toEqual([]);
  });
});

describe('UdpSocket over a NetStack', () => {
  it('sends and receives datagrams with dgram-shaped rinfo, listening and close events', async () => {
    const { clock, a, b } = pair();
    const server = b.createUdpSocket();
    const events: string[] = [];
    server.on('listening', () => events.push('listening'));
    server.on('message', (msg, rinfo) => {
      events.push(`got ${msg.toString()}`);
      server.send(Buffer.concat([Buffer.from('echo '), msg]), rinfo.port, rinfo.address);
    });
    server.bind(7);
    const client = a.createUdpSocket();
    const replies: [string, UdpRemoteInfo][] = [];
    client.on('message', (msg, rinfo) => replies.push([msg.toString(), rinfo]));
    let sent: number | undefined;
    client.send('hello', 7, '10.0.0.2', (err, bytes) => {
      expect(err).toBeNull();
      sent = bytes;
    });
    await clock.advance(10);
    expect(sent).toBe(5);
    expect(events).toEqual(['listening', 'got hello']);
    const port = client.address().port;
    expect(port).toBeGreaterThanOrEqual(49152);
    expect(replies).toEqual([['echo hello', { address: '10.0.0.2', family: 'IPv4', port: 7, size: 10 }]]);
    expect(server.address()).toEqual({ address: '10.0.0.2', family: 'IPv4', port: 7 });
    // offset/length form, and a list of chunks
    client.send(Buffer.from('xxabcxx'), 2, 3, 7, '10.0.0.2');
    client.send(['a', Buffer.from('b')], 7, '10.0.0.2');
    await clock.advance(10);
    expect(replies.map((r) => r[0])).toEqual(['echo hello', 'echo abc', 'echo ab']);
    let closed = false;
    client.close(() => {
      closed = true;
    });
    await clock.advance(1);
    expect(closed).toBe(true);
    expect(() => client.send('late', 7, '10.0.0.2')).toThrow(/closed/);
    expect(a.stats().udp).toMatchObject({ datagramsOut: 3, datagramsIn: 3, sockets: 0 });
  });

  it('reports EADDRINUSE as an error event and EMSGSIZE past the link MTU', async () => {
    const { clock, a } = pair();
    a.createUdpSocket().bind(5000);
    const second = a.createUdpSocket();
    let err: UdpError | undefined;
    second.on('error', (e) => {
      err = e as UdpError;
    });
    second.bind(5000);
    await clock.advance(1);
    expect(err?.code).toBe('EADDRINUSE');
    const big = a.createUdpSocket();
    let sendErr: (Error & { code?: string }) | null = null;
    big.send(Buffer.alloc(1473), 9, '10.0.0.2', (e) => {
      sendErr = e;
    });
    await clock.advance(1);
    expect(sendErr).toMatchObject({ code: 'EMSGSIZE' });
    let okBytes = 0;
    big.send(Buffer.alloc(1472), 9, '10.0.0.2', (_e, n) => {
      okBytes = n;
    });
    await clock.advance(1);
    expect(okBytes).toBe(1472);
  });

  it('turns an ICMP Port Unreachable into ECONNREFUSED on a connected socket, and filters its peer', async () => {
    const { clock, a, b } = pair();
    const s = a.createUdpSocket();
    let connected = false;
    s.connect(9999, '10.0.0.2', () => {
      connected = true;
    });
    await clock.advance(1);
    expect(connected).toBe(true);
    expect(s.remoteAddress()).toEqual({ address: '10.0.0.2', family: 'IPv4', port: 9999 });
    const errors: UdpError[] = [];
    s.on('error', (e) => errors.push(e as UdpError));
    s.send('anyone?');
    await clock.advance(10);
    expect(errors.map((e) => [e.code, e.address, e.port])).toEqual([['ECONNREFUSED', '10.0.0.2', 9999]]);
    expect(b.stats().udp).toMatchObject({ noPort: 1, unreachableSent: 1 });
    expect(a.stats().udp.unreachableReceived).toBe(1);
    // Only the connected peer's datagrams are delivered.
    const got: string[] = [];
    s.on('message', (m) => got.push(m.toString()));
    const other = b.createUdpSocket();
    other.bind(8888);
    other.send('not from the peer', s.address().port, '10.0.0.1');
    await clock.advance(10);
    expect(got).toEqual([]);
    expect(() => s.send('x', 1, '10.0.0.2')).toThrow(/connected/);
    s.disconnect();
    expect(() => s.remoteAddress()).toThrow(/not connected/);
  });

  it('an unconnected socket without an error listener is not crashed by a port unreachable', async () => {
    const { clock, a } = pair();
    const s = a.createUdpSocket();
    s.send('x', 9, '10.0.0.2');
    await clock.advance(10);
    expect(a.stats().udp.unreachableReceived).toBe(1);
    const errors: string[] = [];
    s.on('error', (e: Error & { code?: string }) => errors.push(e.code ?? ''));
    s.send('y', 9, '10.0.0.2');
    await clock.advance(10);
    expect(errors).toEqual(['ECONNREFUSED']);
  });

  it('drops datagrams whose checksum is wrong before any socket sees them', async () => {
    const { clock, a, la } = pair();
    const s = a.createUdpSocket();
    s.bind(4000);
    const got: Buffer[] = [];
    s.on('message', (m) => got.push(m));
    const good = udpPacket(1, 4000, Uint8Array.of(1, 2, 3));
    const bad = Uint8Array.from(good);
    bad[29] = 0xee;
    la.emit('ip', bad);
    la.emit('ip', good);
    await clock.advance(1);
    expect(got.map((g) => [...g])).toEqual([[1, 2, 3]]);
    expect(a.stats().udp.badChecksum).toBe(1);
  });

  it('closes its sockets when the stack closes', async () => {
    const { clock, a } = pair();
    const s = a.createSocket('udp4');
    s.bind(1234);
    let closed = false;
    s.on('close', () => {
      closed = true;
    });
    a.close();
    await clock.advance(1);
    expect(closed).toBe(true);
    const late = a.createUdpSocket();
    let err: (Error & { code?: string }) | undefined;
    late.on('error', (e) => {
      err = e;
    });
    late.bind(1);
    await clock.advance(1);
    expect(err?.code).toBe('ENETUNREACH');
  });
});
