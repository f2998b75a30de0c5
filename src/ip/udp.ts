import { MalformedPacket } from '../util/errors.js';
import { onesSum, pseudoHeaderSum } from './checksum.js';
import { IpProtocol } from './ipv4.js';

/** The UDP header (RFC 768): four 16-bit fields, then the data. */
export const UDP_HEADER_LENGTH = 8;

/** Largest UDP payload an IPv4 datagram can carry: 65535 - 20 (IP) - 8 (UDP). */
export const UDP_MAX_PAYLOAD = 65_507;

export interface UdpDatagram {
  srcPort: number;
  dstPort: number;
  /** The checksum field as received; 0 means the sender computed none (RFC 768). */
  checksum: number;
  /** The data (a view into the datagram), `Length - 8` octets. */
  payload: Uint8Array;
}

/** Why a datagram was refused, so the layer above can count each kind apart. */
export type UdpMalformedReason = 'truncated' | 'length' | 'checksum';

export class MalformedUdp extends MalformedPacket {
  constructor(
    readonly reason: UdpMalformedReason,
    detail: string,
  ) {
    super('UDP', detail);
    this.name = 'MalformedUdp';
  }
}

/**
 * Parses a UDP datagram received from `source` to `destination`. The Length field must fit in
 * what arrived (octets after it are ignored, as IP may pad); a nonzero checksum is verified
 * over the pseudo-header, header and data (RFC 768; RFC 1122 4.1.3.4: a bad one is dropped).
 * Throws `MalformedUdp` (a `MalformedPacket`).
 */
export function parseUdpDatagram(bytes: Uint8Array, source: number, destination: number): UdpDatagram {
  if (bytes.length < UDP_HEADER_LENGTH)
    throw new MalformedUdp('truncated', `${bytes.length} octets, header needs 8`);
  const length = (bytes[4]! << 8) | bytes[5]!;
  if (length < UDP_HEADER_LENGTH) throw new MalformedUdp('length', `Length ${length} < 8`);
  if (length > bytes.length)
    throw new MalformedUdp('truncated', `Length ${length} > ${bytes.length} received`);
  const checksum = (bytes[6]! << 8) | bytes[7]!;
  if (checksum !== 0) {
    const sum = onesSum(bytes, 0, length, pseudoHeaderSum(source, destination, IpProtocol.UDP, length));
    if (sum !== 0xffff) throw new MalformedUdp('checksum', 'bad checksum');
  }
  return {
    srcPort: (bytes[0]! << 8) | bytes[1]!,
    dstPort: (bytes[2]! << 8) | bytes[3]!,
    checksum,
    payload: bytes.subarray(UDP_HEADER_LENGTH, length),
  };
}

/**
 * Builds a UDP datagram from `source` to `destination` with its checksum; a computed checksum
 * of zero is sent as all ones (RFC 768), since zero on the wire means "none".
 */
export function emitUdpDatagram(
  d: { srcPort: number; dstPort: number; payload: Uint8Array },
  source: number,
  destination: number,
): Uint8Array {
  const length = UDP_HEADER_LENGTH + d.payload.length;
  if (length > 0xffff) throw new RangeError(`UDP datagram of ${length} octets`);
  const out = new Uint8Array(length);
  out[0] = d.srcPort >> 8;
  out[1] = d.srcPort & 0xff;
  out[2] = d.dstPort >> 8;
  out[3] = d.dstPort & 0xff;
  out[4] = length >> 8;
  out[5] = length & 0xff;
  out.set(d.payload, UDP_HEADER_LENGTH);
  const c = ~onesSum(out, 0, length, pseudoHeaderSum(source, destination, IpProtocol.UDP, length)) & 0xffff;
  const sent = c === 0 ? 0xffff : c;
  out[6] = sent >> 8;
  out[7] = sent & 0xff;
  return out;
}
