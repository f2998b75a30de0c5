import { randomInt } from 'node:crypto';
import { CellstackError } from '../util/errors.js';
import { emitDestinationUnreachable, UnreachableCode } from './icmp.js';
import { IpProtocol, type Ipv4Packet } from './ipv4.js';
import type { Unreachable } from './stack-core.js';
import { emitUdpDatagram, MalformedUdp, parseUdpDatagram } from './udp.js';

/** UDP socket errors carry Node's codes (dgram's), so code written for dgram understands them. */
export type UdpErrorCode =
  | 'EADDRINUSE'
  | 'EADDRNOTAVAIL'
  | 'ECONNREFUSED'
  | 'EHOSTUNREACH'
  | 'ENETUNREACH'
  | 'EMSGSIZE'
  | 'EINVAL'
  | 'ERR_SOCKET_BAD_PORT'
  | 'ERR_SOCKET_ALREADY_BOUND'
  | 'ERR_SOCKET_DGRAM_NOT_RUNNING'
  | 'ERR_SOCKET_DGRAM_IS_CONNECTED'
  | 'ERR_SOCKET_DGRAM_NOT_CONNECTED';

export class UdpError extends CellstackError {
  declare readonly code: UdpErrorCode;
  /** Node's name of the operation that failed ('bind', 'send', 'recv', 'connect'). */
  readonly syscall: string;
  /** For ECONNREFUSED/EHOSTUNREACH: the destination the ICMP error was about. */
  readonly address: string | undefined;
  readonly port: number | undefined;

  constructor(
    code: UdpErrorCode,
    message: string,
    syscall = 'send',
    where?: { address: string; port: number },
  ) {
    super(code, message);
    this.name = 'UdpError';
    this.syscall = syscall;
    this.address = where?.address;
    this.port = where?.port;
  }
}

export interface UdpStats {
  datagramsIn: number;
  datagramsOut: number;
  /** Datagrams whose checksum did not verify (RFC 1122 4.1.3.4: silently discarded). */
  badChecksum: number;
  /** Datagrams shorter than their header or their Length field, or with Length < 8. */
  truncated: number;
  /** Datagrams for a port nobody has bound. */
  noPort: number;
  /** ICMP Port Unreachable messages we sent about those (rate limited). */
  unreachableSent: number;
  /** ICMP Destination Unreachable messages received about datagrams we sent. */
  unreachableReceived: number;
}

export type UdpMuxEvent =
  | {
      type: 'datagram';
      /** Our port it was sent to. */
      port: number;
      source: number;
      sourcePort: number;
      payload: Uint8Array;
    }
  | {
      /** An ICMP Destination Unreachable about a datagram sent from `port`. */
      type: 'unreachable';
      port: number;
      destination: number;
      destinationPort: number;
      code: number;
    };

export interface UdpOutgoing {
  destination: number;
  protocol: number;
  bytes: Uint8Array;
}

/** The dynamic port range (RFC 6335 section 6), where ephemeral ports are picked at random (RFC 6056). */
const EPHEMERAL_LOW = 49152;
const EPHEMERAL_HIGH = 65535;

/**
 * The UDP layer of a stack, sans-I/O: ports bound by sockets, demultiplexing of received
 * datagrams to them (RFC 768), ICMP Port Unreachable for datagrams to an unbound port
 * (RFC 1122 3.2.2.1, 4.1.3.1) at a bounded rate (RFC 1812 4.3.2.8), and ICMP errors about
 * what we sent routed back to the sending port.
 */
export class UdpMux {
  readonly stats: UdpStats = {
    datagramsIn: 0,
    datagramsOut: 0,
    badChecksum: 0,
    truncated: 0,
    noPort: 0,
    unreachableSent: 0,
    unreachableReceived: 0,
  };
  private readonly ports = new Set<number>();
  private output: UdpOutgoing[] = [];
  private events: UdpMuxEvent[] = [];
  /** Token bucket for the ICMP errors we send. */
  private icmpTokens: number;
  private icmpRefilledAt = Number.NEGATIVE_INFINITY;

  constructor(
    public localAddress: number,
    private readonly options: {
      /** ICMP errors allowed per second (and burst). Default 10. */
      icmpRate?: number;
      /** Picks an integer in [min, max): node:crypto's randomInt unless a test injects one. */
      random?: (min: number, max: number) => number;
    } = {},
  ) {
    this.icmpTokens = options.icmpRate ?? 10;
  }

  isBound(port: number): boolean {
    return this.ports.has(port);
  }

  /** Takes `port`, or a random free port of the dynamic range when 0 or absent. Throws EADDRINUSE. */
  bind(port?: number): number {
    if (port === undefined || port === 0) {
      const random = this.options.random ?? randomInt;
      for (let i = 0; i < 1000; i++) {
        const p = random(EPHEMERAL_LOW, EPHEMERAL_HIGH + 1);
        if (!this.ports.has(p)) {
          this.ports.add(p);
          return p;
        }
      }
      // Nearly full: walk the range from a random start.
      const start = random(EPHEMERAL_LOW, EPHEMERAL_HIGH + 1);
      for (let i = 0; i <= EPHEMERAL_HIGH - EPHEMERAL_LOW; i++) {
        const p = EPHEMERAL_LOW + ((start - EPHEMERAL_LOW + i) % (EPHEMERAL_HIGH - EPHEMERAL_LOW + 1));
        if (!this.ports.has(p)) {
          this.ports.add(p);
          return p;
        }
      }
      throw new UdpError('EADDRINUSE', 'no free ephemeral UDP port', 'bind');
    }
    if (!Number.isInteger(port) || port < 1 || port > 0xffff)
      throw new UdpError('ERR_SOCKET_BAD_PORT', `bad UDP port ${port}`, 'bind');
    if (this.ports.has(port)) throw new UdpError('EADDRINUSE', `UDP port ${port} is in use`, 'bind');
    this.ports.add(port);
    return port;
  }

  unbind(port: number): void {
    this.ports.delete(port);
  }

  /** Queues a datagram from our `sourcePort`. */
  send(sourcePort: number, destination: number, destinationPort: number, payload: Uint8Array): void {
    this.stats.datagramsOut++;
    this.output.push({
      destination,
      protocol: IpProtocol.UDP,
      bytes: emitUdpDatagram(
        { srcPort: sourcePort, dstPort: destinationPort, payload },
        this.localAddress,
        destination,
      ),
    });
  }

  /** A UDP datagram for us, as the IP layer validated it. */
  input(packet: Ipv4Packet, now: number): void {
    this.stats.datagramsIn++;
    let d: ReturnType<typeof parseUdpDatagram>;
    try {
      d = parseUdpDatagram(packet.payload, packet.source, packet.destination);
    } catch (err) {
      if (!(err instanceof MalformedUdp)) throw err;
      if (err.reason === 'checksum') this.stats.badChecksum++;
      else this.stats.truncated++;
      return;
    }
    if (!this.ports.has(d.dstPort)) {
      this.stats.noPort++;
      // RFC 1122 3.2.2.1 and 4.1.3.1: a datagram to a port nobody listens on gets a Port
      // Unreachable. Only for unicast to us (the IP layer passes nothing else) from a unicast
      // source (RFC 1122 3.2.2), and at a bounded rate.
      if (isUnicast(packet.source) && this.takeIcmpToken(now)) {
        this.stats.unreachableSent++;
        this.output.push({
          destination: packet.source,
          protocol: IpProtocol.ICMP,
          bytes: emitDestinationUnreachable(packet, UnreachableCode.Port),
        });
      }
      return;
    }
    this.events.push({
      type: 'datagram',
      port: d.dstPort,
      source: packet.source,
      sourcePort: d.srcPort,
      payload: d.payload,
    });
  }

  /** An ICMP Destination Unreachable quoting one of our UDP datagrams (RFC 1122 4.1.3.3). */
  unreachable(info: Unreachable): void {
    if (info.protocol !== IpProtocol.UDP || !this.ports.has(info.sourcePort)) return;
    this.stats.unreachableReceived++;
    this.events.push({
      type: 'unreachable',
      port: info.sourcePort,
      destination: info.destination,
      destinationPort: info.destinationPort,
      code: info.code,
    });
  }

  takeOutput(): UdpOutgoing[] {
    const o = this.output;
    this.output = [];
    return o;
  }

  takeEvents(): UdpMuxEvent[] {
    const e = this.events;
    this.events = [];
    return e;
  }

  private takeIcmpToken(now: number): boolean {
    const rate = this.options.icmpRate ?? 10;
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

/** Not 0.0.0.0/8 ("this network"), 127/8, multicast, class E or broadcast (RFC 1122 3.2.1.3). */
function isUnicast(address: number): boolean {
  const first = address >>> 24;
  return first !== 0 && first !== 127 && first < 224;
}
