import { MalformedPacket } from '../util/errors.js';
import { internetChecksum, onesSum } from './checksum.js';

/** IPv4 (RFC 791). Header fields as the RFC names them. */
export const IpProtocol = { ICMP: 1, TCP: 6, UDP: 17 } as const;

export interface Ipv4Header {
  /** Header length in octets (IHL * 4). */
  headerLength: number;
  tos: number;
  totalLength: number;
  identification: number;
  dontFragment: boolean;
  moreFragments: boolean;
  /** Fragment offset in octets. */
  fragmentOffset: number;
  ttl: number;
  protocol: number;
  source: number;
  destination: number;
}

export interface Ipv4Packet extends Ipv4Header {
  /** The header as received (a view), options included: what an ICMP error quotes (RFC 792). */
  header: Uint8Array;
  /** The payload (a view into the packet), `totalLength - headerLength` octets. */
  payload: Uint8Array;
}

/** Parses and validates a datagram: version, IHL, Total Length and the header checksum. */
export function parseIpv4Packet(bytes: Uint8Array): Ipv4Packet {
  if (bytes.length < 20) throw new MalformedPacket('IPv4', `${bytes.length} octets, header needs 20`);
  const version = bytes[0]! >> 4;
  if (version !== 4) throw new MalformedPacket('IPv4', `version ${version}`);
  const headerLength = (bytes[0]! & 0x0f) * 4;
  if (headerLength < 20) throw new MalformedPacket('IPv4', `IHL ${headerLength / 4} < 5`);
  const totalLength = (bytes[2]! << 8) | bytes[3]!;
  if (totalLength < headerLength)
    throw new MalformedPacket('IPv4', `Total Length ${totalLength} < header ${headerLength}`);
  if (totalLength > bytes.length)
    throw new MalformedPacket('IPv4', `Total Length ${totalLength} > ${bytes.length} received`);
  if (onesSum(bytes, 0, headerLength) !== 0xffff) throw new MalformedPacket('IPv4', 'bad header checksum');
  const flagsFrag = (bytes[6]! << 8) | bytes[7]!;
  return {
    headerLength,
    tos: bytes[1]!,
    totalLength,
    identification: (bytes[4]! << 8) | bytes[5]!,
    dontFragment: (flagsFrag & 0x4000) !== 0,
    moreFragments: (flagsFrag & 0x2000) !== 0,
    fragmentOffset: (flagsFrag & 0x1fff) * 8,
    ttl: bytes[8]!,
    protocol: bytes[9]!,
    source: readU32(bytes, 12),
    destination: readU32(bytes, 16),
    header: bytes.subarray(0, headerLength),
    payload: bytes.subarray(headerLength, totalLength),
  };
}

export interface Ipv4Emit {
  source: number;
  destination: number;
  protocol: number;
  payload: Uint8Array;
  identification: number;
  ttl?: number;
  tos?: number;
  dontFragment?: boolean;
}

/** Builds a datagram with a 20-octet header and its checksum. */
export function emitIpv4Packet(p: Ipv4Emit): Uint8Array {
  const total = 20 + p.payload.length;
  if (total > 0xffff) throw new RangeError(`IPv4 datagram of ${total} octets`);
  const out = new Uint8Array(total);
  out[0] = 0x45;
  out[1] = p.tos ?? 0;
  out[2] = total >> 8;
  out[3] = total & 0xff;
  out[4] = (p.identification >> 8) & 0xff;
  out[5] = p.identification & 0xff;
  out[6] = p.dontFragment ? 0x40 : 0;
  out[8] = p.ttl ?? 64;
  out[9] = p.protocol;
  writeU32(out, 12, p.source);
  writeU32(out, 16, p.destination);
  const c = internetChecksum(out, 0, 20);
  out[10] = c >> 8;
  out[11] = c & 0xff;
  out.set(p.payload, 20);
  return out;
}

export function readU32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

export function writeU32(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 24) & 0xff;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
}
