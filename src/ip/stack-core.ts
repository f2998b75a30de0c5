import { MalformedPacket } from '../util/errors.js';
import { echoFields, emitIcmp, IcmpType, parseIcmp } from './icmp.js';
import { emitIpv4Packet, IpProtocol, type Ipv4Packet, parseIpv4Packet } from './ipv4.js';

/**
 * The IP layer's core, sans-I/O: validates received datagrams, answers ICMP Echo Requests
 * (RFC 1122 3.2.2.6), matches Echo Replies to our pings and times them out. Later layers
 * (UDP, TCP) plug in by protocol number. Fragments are not reassembled yet: they are dropped
 * and counted.
 */
export interface IpStackStats {
  packetsIn: number;
  packetsOut: number;
  /** Datagrams that failed validation (length, version, header checksum, ICMP checksum). */
  malformed: number;
  /** Datagrams for another address. */
  notForUs: number;
  fragmentsDropped: number;
  /** Datagrams of a protocol nobody handles. */
  unknownProtocol: number;
  echoRequestsAnswered: number;
  echoRepliesMatched: number;
  pingTimeouts: number;
}

export interface EchoReply {
  from: number;
  sequence: number;
  /** ICMP payload octets. */
  bytes: number;
  ttl: number;
  rttMs: number;
}

/** ICMP Destination Unreachable about a datagram we sent (RFC 792, RFC 1122 3.2.2.1). */
export interface Unreachable {
  code: number;
  /** The original datagram's protocol, destination and (for TCP/UDP) ports. */
  protocol: number;
  destination: number;
  sourcePort: number;
  destinationPort: number;
}

export type IpStackEvent =
  | { type: 'echo-reply'; key: number; reply: EchoReply }
  | { type: 'unreachable'; info: Unreachable }
  | { type: 'ping-timeout'; key: number; sequence: number }
  | { type: 'datagram'; packet: Ipv4Packet };

interface PendingPing {
  key: number;
  destination: number;
  sequence: number;
  sentAt: number;
  deadline: number;
}

export interface PingRequest {
  destination: number;
  /** Payload octets after the ICMP header. Default 56, like ping(8). */
  size?: number;
  timeoutMs?: number;
}

export class IpStackCore {
  readonly stats: IpStackStats = {
    packetsIn: 0,
    packetsOut: 0,
    malformed: 0,
    notForUs: 0,
    fragmentsDropped: 0,
    unknownProtocol: 0,
    echoRequestsAnswered: 0,
    echoRepliesMatched: 0,
    pingTimeouts: 0,
  };
  private ipId = 1;
  private nextKey = 1;
  private sequence = 0;
  private pings: PendingPing[] = [];
  private output: Uint8Array[] = [];
  private events: IpStackEvent[] = [];
  /** Protocols handled elsewhere (UDP, TCP): their datagrams go out as `datagram` events. */
  private readonly delegated = new Set<number>();

  constructor(
    readonly localAddress: number,
    private readonly echoIdentifier: number,
    private readonly maxPending = 64,
  ) {}

  /** Lets `datagram` events carry this protocol (a later layer reads them). */
  delegate(protocol: number): void {
    this.delegated.add(protocol);
  }

  receive(bytes: Uint8Array, now: number): void {
    this.stats.packetsIn++;
    let ip: Ipv4Packet;
    try {
      ip = parseIpv4Packet(bytes);
    } catch (err) {
      if (!(err instanceof MalformedPacket)) throw err;
      this.stats.malformed++;
      return;
    }
    if (ip.destination !== this.localAddress) {
      this.stats.notForUs++;
      return;
    }
    if (ip.moreFragments || ip.fragmentOffset !== 0) {
      this.stats.fragmentsDropped++;
      return;
    }
    if (ip.protocol === IpProtocol.ICMP) {
      this.receiveIcmp(ip, now);
      return;
    }
    if (this.delegated.has(ip.protocol)) {
      this.events.push({ type: 'datagram', packet: ip });
      return;
    }
    this.stats.unknownProtocol++;
  }

  /** Sends an ICMP Echo Request; returns the key its reply or timeout will carry. */
  ping(req: PingRequest, now: number): number {
    const size = Math.max(0, Math.min(req.size ?? 56, 65_507 - 8));
    this.sequence = (this.sequence + 1) & 0xffff;
    const key = this.nextKey++;
    const body = new Uint8Array(size);
    for (let i = 0; i < size; i++) body[i] = (i + 0x10) & 0xff;
    const icmp = emitIcmp({
      type: IcmpType.EchoRequest,
      code: 0,
      rest: ((this.echoIdentifier << 16) | this.sequence) >>> 0,
      body,
    });
    this.send(req.destination, IpProtocol.ICMP, icmp);
    if (this.pings.length >= this.maxPending) this.pings.shift();
    this.pings.push({
      key,
      destination: req.destination,
      sequence: this.sequence,
      sentAt: now,
      deadline: now + (req.timeoutMs ?? 5000),
    });
    return key;
  }

  /** Sends a datagram of another protocol from our address. */
  send(destination: number, protocol: number, payload: Uint8Array, ttl?: number): void {
    this.stats.packetsOut++;
    this.ipId = (this.ipId + 1) & 0xffff;
    const p: Parameters<typeof emitIpv4Packet>[0] = {
      source: this.localAddress,
      destination,
      protocol,
      payload,
      identification: this.ipId,
    };
    if (ttl !== undefined) p.ttl = ttl;
    this.output.push(emitIpv4Packet(p));
  }

  tick(now: number): void {
    const keep: PendingPing[] = [];
    for (const p of this.pings) {
      if (now >= p.deadline) {
        this.stats.pingTimeouts++;
        this.events.push({ type: 'ping-timeout', key: p.key, sequence: p.sequence });
      } else keep.push(p);
    }
    this.pings = keep;
  }

  nextDeadline(): number | undefined {
    let best: number | undefined;
    for (const p of this.pings) if (best === undefined || p.deadline < best) best = p.deadline;
    return best;
  }

  takeOutput(): Uint8Array[] {
    const o = this.output;
    this.output = [];
    return o;
  }

  takeEvents(): IpStackEvent[] {
    const e = this.events;
    this.events = [];
    return e;
  }

  private receiveIcmp(ip: Ipv4Packet, now: number): void {
    let m: ReturnType<typeof parseIcmp>;
    try {
      m = parseIcmp(ip.payload);
    } catch (err) {
      if (!(err instanceof MalformedPacket)) throw err;
      this.stats.malformed++;
      return;
    }
    if (m.type === IcmpType.EchoRequest && m.code === 0) {
      // RFC 1122 3.2.2.6: the reply carries the request's identifier, sequence and data.
      this.stats.echoRequestsAnswered++;
      this.send(
        ip.source,
        IpProtocol.ICMP,
        emitIcmp({ type: IcmpType.EchoReply, code: 0, rest: m.rest, body: m.body }),
      );
      return;
    }
    if (m.type === IcmpType.EchoReply) {
      const { identifier, sequence } = echoFields(m);
      if (identifier !== this.echoIdentifier) return;
      const i = this.pings.findIndex((p) => p.sequence === sequence && p.destination === ip.source);
      if (i < 0) return;
      const [p] = this.pings.splice(i, 1);
      this.stats.echoRepliesMatched++;
      this.events.push({
        type: 'echo-reply',
        key: p!.key,
        reply: { from: ip.source, sequence, bytes: m.body.length, ttl: ip.ttl, rttMs: now - p!.sentAt },
      });
    }
    if (m.type === IcmpType.DestinationUnreachable && m.body.length >= 28) {
      // The body holds the original IP header and at least 8 octets of its payload.
      const ihl = (m.body[0]! & 0x0f) * 4;
      if (ihl < 20 || m.body.length < ihl + 4) return;
      const b = m.body;
      this.events.push({
        type: 'unreachable',
        info: {
          code: m.code,
          protocol: b[9]!,
          destination: ((b[16]! << 24) | (b[17]! << 16) | (b[18]! << 8) | b[19]!) >>> 0,
          sourcePort: (b[ihl]! << 8) | b[ihl + 1]!,
          destinationPort: (b[ihl + 2]! << 8) | b[ihl + 3]!,
        },
      });
    }
    // Other ICMP messages (redirects, time exceeded) are not acted on.
  }
}
