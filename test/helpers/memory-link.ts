import { EventEmitter } from 'node:events';
import type { IpLink } from '../../src/ip/stack.js';

/**
 * Two IP endpoints joined in memory, for unit tests of the stack above IP: packets cross on
 * the next turn of the event loop (a ManualClock's advance lets them), optionally through a
 * filter that drops or delays them.
 */
export class MemoryLink extends EventEmitter implements IpLink {
  peer: MemoryLink | undefined;
  sent = 0;
  filter: ((packet: Uint8Array, index: number) => boolean) | undefined;

  constructor(readonly info: { localAddress: string; peerAddress: string; dns: string[]; mtu: number }) {
    super();
  }

  sendIp(packet: Uint8Array): boolean {
    const i = this.sent++;
    if (this.filter && !this.filter(packet, i)) return true;
    const copy = Uint8Array.from(packet);
    setImmediate(() => this.peer?.emit('ip', copy));
    return true;
  }

  static pair(mtu = 1500): [MemoryLink, MemoryLink] {
    const a = new MemoryLink({ localAddress: '10.0.0.1', peerAddress: '10.0.0.2', dns: [], mtu });
    const b = new MemoryLink({ localAddress: '10.0.0.2', peerAddress: '10.0.0.1', dns: [], mtu });
    a.peer = b;
    b.peer = a;
    return [a, b];
  }
}
