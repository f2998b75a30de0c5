import { IpProtocol, type Ipv4Packet } from '../../ip/ipv4.js';
import { emitUdpDatagram, type UdpDatagram } from '../../ip/udp.js';
import { formatIpv4 } from '../../util/ipv4.js';
import type { RelayHost } from './host.js';

interface Flow {
  readonly id: number;
  readonly key: string;
  readonly device: number;
  readonly devicePort: number;
  readonly remote: number;
  readonly remotePort: number;
  lastActive: number;
}

/**
 * UDP from the device to allowed destinations, relayed through one real socket per flow
 * (device address and port to one destination address and port), like slirp's and a NAT's
 * UDP mappings (RFC 4787 4.3: an idle timer, here `udpIdleMs`, refreshed both ways). Replies
 * come back from the destination's address and port.
 */
export class UdpRelay {
  private readonly byKey = new Map<string, Flow>();
  private readonly byId = new Map<number, Flow>();
  private nextId = 1;

  constructor(private readonly host: RelayHost) {}

  get size(): number {
    return this.byId.size;
  }

  /** A datagram to an allowed destination (the core checked `allow`). */
  input(ip: Ipv4Packet, d: UdpDatagram, now: number): void {
    const stats = this.host.stats.udp;
    const key = `${ip.source}:${d.srcPort}>${ip.destination}:${d.dstPort}`;
    let flow = this.byKey.get(key);
    if (!flow) {
      if (this.byId.size >= this.host.config.udpFlows) {
        stats.overLimit++;
        return;
      }
      flow = {
        id: this.nextId++,
        key,
        device: ip.source,
        devicePort: d.srcPort,
        remote: ip.destination,
        remotePort: d.dstPort,
        lastActive: now,
      };
      this.byKey.set(key, flow);
      this.byId.set(flow.id, flow);
    }
    flow.lastActive = now;
    stats.datagramsFromDevice++;
    this.host.event({
      type: 'udp-send',
      flow: flow.id,
      host: formatIpv4(flow.remote),
      port: flow.remotePort,
      bytes: Uint8Array.from(d.payload),
    });
  }

  /** A reply the flow's real socket received from its destination. */
  receive(id: number, bytes: Uint8Array, now: number): void {
    const flow = this.byId.get(id);
    if (!flow) return;
    const stats = this.host.stats.udp;
    // No fragmentation: the datagram must fit the link MTU with its IP and UDP headers.
    if (bytes.length > this.host.config.mtu - 28) {
      stats.oversize++;
      return;
    }
    flow.lastActive = now;
    stats.datagramsToDevice++;
    this.host.send(
      flow.remote,
      flow.device,
      IpProtocol.UDP,
      emitUdpDatagram(
        { srcPort: flow.remotePort, dstPort: flow.devicePort, payload: bytes },
        flow.remote,
        flow.device,
      ),
    );
  }

  /** The shell's socket for the flow failed: forget the flow (a new datagram opens a new one). */
  close(id: number): void {
    const flow = this.byId.get(id);
    if (!flow) return;
    this.byKey.delete(flow.key);
    this.byId.delete(id);
  }

  tick(now: number): void {
    const idle = this.host.config.udpIdleMs;
    for (const flow of [...this.byId.values()]) {
      if (now - flow.lastActive >= idle) {
        this.close(flow.id);
        this.host.stats.udp.expired++;
        this.host.event({ type: 'udp-close', flow: flow.id });
      }
    }
  }

  nextDeadline(): number | undefined {
    let best: number | undefined;
    for (const f of this.byId.values()) {
      const d = f.lastActive + this.host.config.udpIdleMs;
      if (best === undefined || d < best) best = d;
    }
    return best;
  }

  /** Ends every flow (the gateway is closing); the shell closes its sockets itself. */
  clear(): void {
    this.byKey.clear();
    this.byId.clear();
  }
}
