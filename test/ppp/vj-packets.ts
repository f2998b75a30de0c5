import { emitIpv4Packet, IpProtocol } from '../../src/ip/ipv4.js';
import { emitTcpSegment, TcpFlag, type TcpOptions } from '../../src/tcp/segment.js';
import { parseIpv4 } from '../../src/util/ipv4.js';

/** TCP/IPv4 packets for the VJ tests, built with the stack's own emitters. */
export const HOST = parseIpv4('10.64.0.2');
export const PEER = parseIpv4('10.64.0.1');
export { TcpFlag };

export interface Seg {
  seq: number;
  ack: number;
  id: number;
  flags?: number;
  window?: number;
  urgent?: number;
  payload?: Uint8Array | number;
  srcPort?: number;
  dstPort?: number;
  src?: number;
  dst?: number;
  options?: TcpOptions;
  ttl?: number;
  tos?: number;
}

export function tcpPacket(s: Seg): Uint8Array {
  const src = s.src ?? HOST;
  const dst = s.dst ?? PEER;
  const payload =
    typeof s.payload === 'number'
      ? Uint8Array.from({ length: s.payload }, (_, i) => (i * 7 + s.seq) & 0xff)
      : (s.payload ?? new Uint8Array(0));
  const seg = emitTcpSegment(
    {
      srcPort: s.srcPort ?? 40000,
      dstPort: s.dstPort ?? 5001,
      seq: s.seq >>> 0,
      ack: s.ack >>> 0,
      flags: s.flags ?? TcpFlag.ACK,
      window: s.window ?? 64240,
      urgent: s.urgent ?? 0,
      options: s.options ?? {},
      payload,
    },
    src,
    dst,
  );
  const ip: Parameters<typeof emitIpv4Packet>[0] = {
    source: src,
    destination: dst,
    protocol: IpProtocol.TCP,
    identification: s.id & 0xffff,
    payload: seg,
  };
  if (s.ttl !== undefined) ip.ttl = s.ttl;
  if (s.tos !== undefined) ip.tos = s.tos;
  return emitIpv4Packet(ip);
}

/** A UDP-ish datagram (not TCP): the compressor leaves it alone. */
export function udpPacket(id: number): Uint8Array {
  return emitIpv4Packet({
    source: HOST,
    destination: PEER,
    protocol: IpProtocol.UDP,
    identification: id,
    payload: Uint8Array.of(0x13, 0x88, 0x00, 0x35, 0, 12, 0, 0, 1, 2, 3, 4),
  });
}

/** The IPv4 header checksum, recomputed after editing a header in a test. */
export function fixIpChecksum(p: Uint8Array): Uint8Array {
  p[10] = 0;
  p[11] = 0;
  const ihl = (p[0]! & 0x0f) * 4;
  let sum = 0;
  for (let i = 0; i < ihl; i += 2) sum += (p[i]! << 8) | p[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const c = ~sum & 0xffff;
  p[10] = c >> 8;
  p[11] = c & 0xff;
  return p;
}
