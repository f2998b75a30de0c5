import { describe, expect, it } from 'vitest';
import { Rcode, RRClass, RRType } from '../../src/ip/dns/constants.js';
import { emitDnsQuery, parseDnsMessage } from '../../src/ip/dns/message.js';
import { IcmpType, parseIcmp } from '../../src/ip/icmp.js';
import { emitIpv4Packet, IpProtocol, parseIpv4Packet } from '../../src/ip/ipv4.js';
import { NetStack } from '../../src/ip/stack.js';
import { emitUdpDatagram, parseUdpDatagram } from '../../src/ip/udp.js';
import { GatewayCore } from '../../src/sim/gateway/core.js';
import { emitTcpSegment, TcpFlag } from '../../src/tcp/segment.js';
import { parseIpv4 } from '../../src/util/ipv4.js';
import { ManualClock } from '../../src/util/manual-clock.js';
import { CoreLink } from './gateway-helpers.js';

/** The sans-I/O core alone: hand-made packets in, packets and events out, time passed in. */
const DEVICE = parseIpv4('10.0.0.2');
const GW = parseIpv4('10.0.0.1');
const LOOP = parseIpv4('127.0.0.1');

function udp(dst: number, dstPort: number, payload: Uint8Array, srcPort = 40000): Uint8Array {
  return emitIpv4Packet({
    source: DEVICE,
    destination: dst,
    protocol: IpProtocol.UDP,
    identification: 1,
    payload: emitUdpDatagram({ srcPort, dstPort, payload }, DEVICE, dst),
  });
}

function dnsAnswer(core: GatewayCore, name: string, type: number = RRType.A, klass: number = RRClass.IN) {
  core.input(udp(GW, 53, emitDnsQuery(0x1234, name, type, klass)), 0);
  const [out] = core.takeOutput();
  const ip = parseIpv4Packet(out!);
  expect(ip.source).toBe(GW);
  return parseDnsMessage(parseUdpDatagram(ip.payload, ip.source, ip.destination).payload);
}

describe('GatewayCore', () => {
  it('answers DNS from the static map: A, NODATA for other types, NXDOMAIN, NOTIMP', () => {
    const core = new GatewayCore({ dns: { 'broker.local': '127.0.0.1' } });
    const a = dnsAnswer(core, 'BROKER.local');
    expect(a.header).toMatchObject({ id: 0x1234, qr: true, aa: true, ra: false, rcode: Rcode.NoError });
    expect(a.answers).toEqual([
      {
        name: 'BROKER.local',
        type: RRType.A,
        class: RRClass.IN,
        ttl: 60,
        data: { kind: 'A', address: '127.0.0.1' },
      },
    ]);
    const aaaa = dnsAnswer(core, 'broker.local', RRType.AAAA);
    expect(aaaa.header.rcode).toBe(Rcode.NoError);
    expect(aaaa.answers).toEqual([]);
    expect(aaaa.authorities[0]?.data.kind).toBe('SOA');
    const nx = dnsAnswer(core, 'example.com');
    expect(nx.header.rcode).toBe(Rcode.NXDomain);
    expect(nx.authorities[0]?.data).toMatchObject({ kind: 'SOA', minimum: 60 });
    expect(dnsAnswer(core, 'broker.local', RRType.A, 3).header.rcode).toBe(Rcode.NotImp);
    expect(core.stats().dns).toMatchObject({ queries: 4, answers: 1, nodata: 1, nxdomain: 1, notimp: 1 });
  });

  it('sends Port Unreachable for other gateway ports and Admin Prohibited elsewhere, rate limited', () => {
    const core = new GatewayCore({ icmpRate: 2 });
    core.input(udp(GW, 9999, new Uint8Array(4)), 0);
    const [port] = core.takeOutput();
    expect(parseIcmp(parseIpv4Packet(port!).payload)).toMatchObject({
      type: IcmpType.DestinationUnreachable,
      code: 3,
    });
    core.input(udp(parseIpv4('192.0.2.1'), 53, new Uint8Array(4)), 0);
    const [admin] = core.takeOutput();
    expect(parseIcmp(parseIpv4Packet(admin!).payload)).toMatchObject({ code: 13 });
    for (let i = 0; i < 5; i++) core.input(udp(parseIpv4('192.0.2.1'), 53, new Uint8Array(4)), 0);
    expect(core.takeOutput()).toEqual([]);
    expect(core.takeEvents()).toEqual([]);
    const s = core.stats();
    expect(s.udp.denied).toBe(7);
    expect(s.icmp).toMatchObject({ unreachableSent: 2, rateLimited: 5 });
  });

  it('opens a UDP flow per destination and expires it when idle', () => {
    const core = new GatewayCore({ udpIdleMs: 1000, limits: { udpFlows: 1 } });
    core.input(udp(LOOP, 7, Uint8Array.of(1, 2, 3)), 0);
    const [ev] = core.takeEvents();
    expect(ev).toEqual({
      type: 'udp-send',
      flow: 1,
      host: '127.0.0.1',
      port: 7,
      bytes: Uint8Array.of(1, 2, 3),
    });
    core.input(udp(LOOP, 8, Uint8Array.of(1)), 0);
    expect(core.takeEvents()).toEqual([]);
    expect(core.stats().udp.overLimit).toBe(1);
    core.udpReceive(1, Uint8Array.of(9), 500);
    const reply = parseIpv4Packet(core.takeOutput()[0]!);
    expect(reply.source).toBe(LOOP);
    expect(parseUdpDatagram(reply.payload, reply.source, reply.destination)).toMatchObject({
      srcPort: 7,
      dstPort: 40000,
    });
    expect(core.nextDeadline()).toBe(1500);
    core.tick(1500);
    expect(core.takeEvents()).toEqual([{ type: 'udp-close', flow: 1 }]);
    expect(core.stats().udp).toMatchObject({ flows: 0, expired: 1 });
  });

  it('drops and counts malformed packets without throwing', () => {
    const core = new GatewayCore();
    const good = udp(LOOP, 7, Uint8Array.of(1));
    const badIpSum = Uint8Array.from(good);
    badIpSum[10]! ^= 0xff;
    const badUdpSum = Uint8Array.from(good);
    badUdpSum[27]! ^= 0xff;
    const shortTcp = emitIpv4Packet({
      source: DEVICE,
      destination: LOOP,
      protocol: IpProtocol.TCP,
      identification: 2,
      payload: new Uint8Array(7),
    });
    const badIcmp = emitIpv4Packet({
      source: DEVICE,
      destination: GW,
      protocol: IpProtocol.ICMP,
      identification: 3,
      payload: Uint8Array.of(8, 0, 0, 0, 0, 0, 0, 1),
    });
    const junkDns = udp(GW, 53, Uint8Array.of(1, 2, 3));
    for (const p of [
      new Uint8Array(0),
      Uint8Array.of(0x45),
      new Uint8Array(40).fill(0xff),
      badIpSum,
      badUdpSum,
      shortTcp,
      badIcmp,
      junkDns,
    ])
      expect(() => core.input(p, 0)).not.toThrow();
    const fragment = Uint8Array.from(good);
    fragment[6] = 0x20; // More Fragments
    fragment[10] = 0;
    fragment[11] = 0;
    const sum = (() => {
      let s = 0;
      for (let i = 0; i < 20; i += 2) s += (fragment[i]! << 8) | fragment[i + 1]!;
      while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
      return ~s & 0xffff;
    })();
    fragment[10] = sum >> 8;
    fragment[11] = sum & 0xff;
    core.input(fragment, 0);
    expect(core.takeEvents()).toEqual([]);
    expect(core.takeOutput()).toEqual([]);
    const s = core.stats();
    expect(s.malformed).toBe(7);
    expect(s.dns.dropped).toBe(1);
    expect(s.fragments).toBe(1);
    expect(s.packetsIn).toBe(9);
  });

  it('resets a SYN to a denied destination without any event', () => {
    const core = new GatewayCore();
    const dst = parseIpv4('192.0.2.1');
    const syn = emitTcpSegment(
      {
        srcPort: 40000,
        dstPort: 80,
        seq: 1000,
        ack: 0,
        flags: TcpFlag.SYN,
        window: 65535,
        urgent: 0,
        options: { mss: 1460 },
        payload: new Uint8Array(0),
      },
      DEVICE,
      dst,
    );
    core.input(
      emitIpv4Packet({
        source: DEVICE,
        destination: dst,
        protocol: IpProtocol.TCP,
        identification: 4,
        payload: syn,
      }),
      0,
    );
    expect(core.takeEvents()).toEqual([]);
    const rst = parseIpv4Packet(core.takeOutput()[0]!);
    expect(rst.source).toBe(dst);
    expect(rst.payload[13]).toBe(TcpFlag.RST | TcpFlag.ACK);
    expect(core.stats().tcp).toMatchObject({ denied: 1, resetsSent: 1, connectRequests: 0 });
  });

  it('answers Host Unreachable when the real connection does not come up in connectTimeoutMs', async () => {
    const clock = new ManualClock();
    const core = new GatewayCore({ connectTimeoutMs: 1000 });
    const link = new CoreLink(core, clock);
    const stack = new NetStack(link, { clock });
    const c = stack.connect({ host: '127.0.0.1', port: 5 });
    let code: string | undefined;
    c.on('error', (e: Error & { code?: string }) => {
      code = e.code;
    });
    await clock.advanceUntil(() => code !== undefined, 5000, 50);
    expect(code).toBe('EHOSTUNREACH');
    expect(link.events.map((e) => e.type)).toEqual(['tcp-connect', 'tcp-close']);
    expect(link.events[1]).toEqual({ type: 'tcp-close', id: 1, error: 'ETIMEDOUT' });
    stack.close();
  });

  it('holds the device back until the shell reports its writes (backpressure)', async () => {
    const clock = new ManualClock();
    const core = new GatewayCore({ limits: { bufferBytes: 16_384 } });
    const link = new CoreLink(core, clock);
    const stack = new NetStack(link, { clock });
    let handed = 0;
    link.onEvent = (e) => {
      if (e.type === 'tcp-connect') core.tcpConnected(e.id, clock.now());
      if (e.type === 'tcp-data') handed += e.bytes.length;
    };
    const c = stack.connect({ host: '127.0.0.1', port: 80 });
    c.on('error', () => undefined);
    const total = 200_000;
    c.write(Buffer.alloc(total, 1));
    await clock.advance(5000);
    link.pump();
    // The shell has 16 KiB unacknowledged; the TCB holds at most another 16 KiB.
    expect(handed).toBe(16_384);
    expect(core.stats().tcp.bytesFromDevice).toBe(16_384);
    // Acknowledge as it comes: everything flows.
    link.onEvent = (e) => {
      if (e.type === 'tcp-data') {
        handed += e.bytes.length;
        core.tcpWritten(e.id, e.bytes.length, clock.now());
      }
    };
    core.tcpWritten(1, 16_384, clock.now());
    link.pump();
    await clock.advanceUntil(() => handed === total, 60_000, 20);
    expect(handed).toBe(total);
    // And the other way: tcpReceive says stop beyond bufferBytes, tcp-drain says go.
    expect(core.tcpReceive(1, new Uint8Array(40_000), clock.now())).toBe(false);
    link.pump();
    let read = 0;
    c.on('data', (d: Buffer) => {
      read += d.length;
    });
    await clock.advanceUntil(() => read === 40_000, 60_000, 20);
    expect(link.events.some((e) => e.type === 'tcp-drain')).toBe(true);
    stack.close();
  });
});
