import { EventEmitter } from 'node:events';
import type { IpLink } from '../../src/ip/stack.js';
import { formatIpv4 } from '../../src/util/ipv4.js';

/**
 * Several IP endpoints on one in-memory "router": a packet goes to the endpoint that owns its
 * destination address on the next turn of the event loop (a ManualClock's advance lets it),
 * and is dropped when nobody does. Each endpoint may filter what it sends.
 */
export class NetHub {
  private readonly links = new Map<string, HubLink>();

  link(address: string, options: { dns?: string[]; mtu?: number } = {}): HubLink {
    const l = new HubLink(this, {
      localAddress: address,
      peerAddress: '10.0.0.254',
      dns: options.dns ?? [],
      mtu: options.mtu ?? 1500,
    });
    this.links.set(address, l);
    return l;
  }

  /** @internal */
  route(packet: Uint8Array): void {
    if (packet.length < 20) return;
    const destination = formatIpv4(
      ((packet[16]! << 24) | (packet[17]! << 16) | (packet[18]! << 8) | packet[19]!) >>> 0,
    );
    const to = this.links.get(destination);
    if (!to) return;
    const copy = Uint8Array.from(packet);
    setImmediate(() => to.emit('ip', copy));
  }
}

export class HubLink extends EventEmitter implements IpLink {
  sent = 0;
  /** Return false to drop a packet we send. */
  filter: ((packet: Uint8Array, index: number) => boolean) | undefined;

  constructor(
    private readonly hub: NetHub,
    readonly info: { localAddress: string; peerAddress: string; dns: string[]; mtu: number },
  ) {
    super();
  }

  sendIp(packet: Uint8Array): boolean {
    const i = this.sent++;
    if (this.filter && !this.filter(packet, i)) return true;
    this.hub.route(packet);
    return true;
  }
}
