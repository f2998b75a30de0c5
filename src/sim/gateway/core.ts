import { DNS_PORT } from '../../ip/dns/constants.js';
import {
  emitDestinationUnreachable,
  emitIcmp,
  type IcmpMessage,
  IcmpType,
  parseIcmp,
  UnreachableCode,
} from '../../ip/icmp.js';
import { emitIpv4Packet, IpProtocol, type Ipv4Packet, parseIpv4Packet, readU32 } from '../../ip/ipv4.js';
import { emitUdpDatagram, parseUdpDatagram, type UdpDatagram } from '../../ip/udp.js';
import type { TcpErrorCode } from '../../tcp/errors.js';
import { MalformedPacket } from '../../util/errors.js';
import { inAny, isMartianSource, isNonUnicastDestination } from './cidr.js';
import { type GatewayConfig, type ResolvedGatewayConfig, resolveGatewayConfig } from './config.js';
import { answerDnsQuery } from './dns-server.js';
import { emptyStats, type GatewayEvent, type GatewayStats } from './events.js';
import type { RelayHost } from './host.js';
import { TcpRelay } from './tcp-relay.js';
import { UdpRelay } from './udp-relay.js';

/** RFC 1812 5.2.7.1: Communication Administratively Prohibited. */
const ADMIN_PROHIBITED = 13;

/**
 * The virtual network's gateway, sans-I/O (issue 9: "a userspace gateway in the spirit of
 * slirp"). IPv4 packets from the device go in through `input`; packets for the device come
 * out of `takeOutput`; what needs real sockets comes out of `takeEvents` and the shell
 * reports back (`tcpConnected`, `tcpReceive`, `udpReceive`...). Time from the caller.
 *
 * - TCP to an allowed destination is terminated here and relayed (see `TcpRelay`); to any
 *   other destination it gets a RST and no event ever.
 * - UDP to an allowed destination is relayed per flow (`UdpRelay`); to the gateway's port 53
 *   it is answered from the static name map (`answerDnsQuery`), never forwarded; anything
 *   else gets ICMP Port Unreachable (the gateway's own ports, RFC 1122 4.1.3.1) or
 *   Communication Administratively Prohibited (elsewhere, RFC 1812 5.2.7.1), rate limited
 *   (RFC 1812 4.3.2.8).
 * - ICMP Echo to the gateway or an allowed destination is answered here (RFC 1122 3.2.2.6).
 * - Malformed packets, fragments, martians and other protocols are dropped and counted.
 */
export class GatewayCore {
  readonly config: ResolvedGatewayConfig;
  private readonly counters: GatewayStats = emptyStats();
  private readonly tcp: TcpRelay;
  private readonly udp: UdpRelay;
  private output: Uint8Array[] = [];
  private events: GatewayEvent[] = [];
  private ipId = 0;
  private icmpTokens: number;
  private icmpRefilledAt = 0;

  constructor(config: GatewayConfig = {}) {
    this.config = resolveGatewayConfig(config);
    this.icmpTokens = this.config.icmpRate;
    const host: RelayHost = {
      config: this.config,
      stats: this.counters,
      send: (s, d, p, payload) => this.send(s, d, p, payload),
      unreachable: (original, code, now) => this.unreachable(original, code, now),
      event: (e) => this.events.push(e),
    };
    this.tcp = new TcpRelay(host);
    this.udp = new UdpRelay(host);
  }

  /** An IPv4 packet from the device. Never throws for what the device sends. */
  input(packet: Uint8Array, now: number): void {
    const stats = this.counters;
    stats.packetsIn++;
    let ip: Ipv4Packet;
    try {
      ip = parseIpv4Packet(packet);
    } catch (err) {
      if (!(err instanceof MalformedPacket)) throw err;
      stats.malformed++;
      return;
    }
    if (ip.moreFragments || ip.fragmentOffset !== 0) {
      stats.fragments++;
      return;
    }
    if (isMartianSource(ip.source) || isNonUnicastDestination(ip.destination)) {
      stats.martians++;
      return;
    }
    switch (ip.protocol) {
      case IpProtocol.TCP:
        this.tcp.input(ip, now);
        return;
      case IpProtocol.UDP:
        this.inputUdp(ip, now);
        return;
      case IpProtocol.ICMP:
        this.inputIcmp(ip);
        return;
      default:
        stats.unknownProtocol++;
    }
  }

  /** The real connection for `tcp-connect` `id` is up: the device gets its SYN-ACK. */
  tcpConnected(id: number, now: number): void {
    this.tcp.connected(id, now);
  }

  /** The real connection failed (`code` as net reports it): RST (or ICMP unreachable) to the device. */
  tcpFailed(id: number, code: TcpErrorCode | string, now: number): void {
    this.tcp.failed(id, code, now);
  }

  /** The real socket was reset or errored: RST to the device; no more events for `id`. */
  tcpReset(id: number, now: number): void {
    this.tcp.reset(id, now);
  }

  /**
   * Data from the real socket for the device; the core keeps `bytes` (do not reuse them).
   * Returns false once `limits.bufferBytes` wait: pause the socket until `tcp-drain`.
   */
  tcpReceive(id: number, bytes: Uint8Array, now: number): boolean {
    return this.tcp.receive(id, bytes, now);
  }

  /** The real socket's peer ended its side: FIN to the device after the data (half-close). */
  tcpEnd(id: number, now: number): void {
    this.tcp.end(id, now);
  }

  /** `n` octets of `tcp-data` were written to the real socket: the device's window may open. */
  tcpWritten(id: number, n: number, now: number): void {
    this.tcp.written(id, n, now);
  }

  /** A datagram the flow's real socket received from its destination. */
  udpReceive(flow: number, bytes: Uint8Array, now: number): void {
    this.udp.receive(flow, bytes, now);
  }

  /** The flow's real socket failed: forget the flow. */
  udpClosed(flow: number): void {
    this.udp.close(flow);
  }

  tick(now: number): void {
    this.tcp.tick(now);
    this.udp.tick(now);
  }

  nextDeadline(): number | undefined {
    const a = this.tcp.nextDeadline();
    const b = this.udp.nextDeadline();
    return a === undefined ? b : b === undefined ? a : Math.min(a, b);
  }

  /** Resets every relayed connection towards the device and forgets the UDP flows. */
  close(now: number): void {
    this.tcp.close(now);
    this.udp.clear();
  }

  takeOutput(): Uint8Array[] {
    const o = this.output;
    this.output = [];
    return o;
  }

  takeEvents(): GatewayEvent[] {
    const e = this.events;
    this.events = [];
    return e;
  }

  stats(): GatewayStats {
    const s = structuredClone(this.counters);
    s.tcp.connections = this.tcp.live;
    s.udp.flows = this.udp.size;
    return s;
  }

  private inputUdp(ip: Ipv4Packet, now: number): void {
    let d: UdpDatagram;
    try {
      d = parseUdpDatagram(ip.payload, ip.source, ip.destination);
    } catch (err) {
      if (!(err instanceof MalformedPacket)) throw err;
      this.counters.malformed++;
      return;
    }
    if (ip.destination === this.config.address) {
      if (d.dstPort === DNS_PORT) {
        this.dns(ip, d);
        return;
      }
      this.counters.udp.denied++;
      this.unreachable(ip, UnreachableCode.Port, now);
      return;
    }
    if (!inAny(ip.destination, this.config.allow)) {
      this.counters.udp.denied++;
      this.unreachable(ip, ADMIN_PROHIBITED, now);
      return;
    }
    this.udp.input(ip, d, now);
  }

  private dns(ip: Ipv4Packet, d: UdpDatagram): void {
    const stats = this.counters.dns;
    stats.queries++;
    let reply: ReturnType<typeof answerDnsQuery>;
    try {
      reply = answerDnsQuery(d.payload, this.config.dns, this.config.dnsTtlSeconds);
    } catch (err) {
      if (!(err instanceof RangeError)) throw err;
      stats.dropped++; // a name the codec cannot write back
      return;
    }
    switch (reply.outcome) {
      case 'answer':
        stats.answers++;
        break;
      case 'dropped':
        stats.dropped++;
        break;
      default:
        stats[reply.outcome]++;
    }
    if (!reply.bytes) return;
    const out = emitUdpDatagram(
      { srcPort: DNS_PORT, dstPort: d.srcPort, payload: reply.bytes },
      ip.destination,
      ip.source,
    );
    this.send(ip.destination, ip.source, IpProtocol.UDP, out);
  }

  private inputIcmp(ip: Ipv4Packet): void {
    let m: IcmpMessage;
    try {
      m = parseIcmp(ip.payload);
    } catch (err) {
      if (!(err instanceof MalformedPacket)) throw err;
      this.counters.malformed++;
      return;
    }
    if (m.type !== IcmpType.EchoRequest || m.code !== 0) return; // errors about our packets: nothing to do
    const stats = this.counters.icmp;
    stats.echoRequests++;
    if (ip.destination !== this.config.address && !inAny(ip.destination, this.config.allow)) {
      stats.echoDenied++;
      return;
    }
    // RFC 1122 3.2.2.6: the reply carries the request's identifier, sequence and data.
    stats.echoReplies++;
    const reply = emitIcmp({ type: IcmpType.EchoReply, code: 0, rest: m.rest, body: m.body });
    this.send(ip.destination, ip.source, IpProtocol.ICMP, reply);
  }

  private send(source: number, destination: number, protocol: number, payload: Uint8Array): void {
    this.counters.packetsOut++;
    this.ipId = (this.ipId + 1) & 0xffff;
    this.output.push(emitIpv4Packet({ source, destination, protocol, payload, identification: this.ipId }));
  }

  /** Destination Unreachable from the gateway's address, at most `icmpRate` a second. */
  private unreachable(
    original: { header: Uint8Array; payload: Uint8Array },
    code: number,
    now: number,
  ): boolean {
    const stats = this.counters.icmp;
    if (!this.takeIcmpToken(now)) {
      stats.rateLimited++;
      return false;
    }
    stats.unreachableSent++;
    const source = readU32(original.header, 12);
    this.send(this.config.address, source, IpProtocol.ICMP, emitDestinationUnreachable(original, code));
    return true;
  }

  private takeIcmpToken(now: number): boolean {
    const rate = this.config.icmpRate;
    if (rate <= 0) return false;
    const elapsed = now - this.icmpRefilledAt;
    if (elapsed > 0) {
      this.icmpTokens = Math.min(rate, this.icmpTokens + (elapsed * rate) / 1000);
      this.icmpRefilledAt = now;
    }
    if (this.icmpTokens < 1) return false;
    this.icmpTokens--;
    return true;
  }
}
