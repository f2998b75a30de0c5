import { MalformedPacket } from '../util/errors.js';
import { internetChecksum, onesSum } from './checksum.js';

/** ICMP (RFC 792): the messages the stack reads and writes. */
export const IcmpType = {
  EchoReply: 0,
  DestinationUnreachable: 3,
  SourceQuench: 4,
  Redirect: 5,
  EchoRequest: 8,
  TimeExceeded: 11,
  ParameterProblem: 12,
} as const;

export interface IcmpMessage {
  type: number;
  code: number;
  /** The 4 octets after the checksum (Identifier and Sequence Number for echo). */
  rest: number;
  /** What follows (echo data, or the offending datagram's header and 8 octets). */
  body: Uint8Array;
}

export function parseIcmp(bytes: Uint8Array): IcmpMessage {
  if (bytes.length < 8) throw new MalformedPacket('ICMP', `${bytes.length} octets < 8`);
  if (onesSum(bytes) !== 0xffff) throw new MalformedPacket('ICMP', 'bad checksum');
  return {
    type: bytes[0]!,
    code: bytes[1]!,
    rest: ((bytes[4]! << 24) | (bytes[5]! << 16) | (bytes[6]! << 8) | bytes[7]!) >>> 0,
    body: bytes.subarray(8),
  };
}

export function emitIcmp(m: IcmpMessage): Uint8Array {
  const out = new Uint8Array(8 + m.body.length);
  out[0] = m.type;
  out[1] = m.code;
  out[4] = (m.rest >>> 24) & 0xff;
  out[5] = (m.rest >>> 16) & 0xff;
  out[6] = (m.rest >>> 8) & 0xff;
  out[7] = m.rest & 0xff;
  out.set(m.body, 8);
  const c = internetChecksum(out);
  out[2] = c >> 8;
  out[3] = c & 0xff;
  return out;
}

export function echoFields(m: IcmpMessage): { identifier: number; sequence: number } {
  return { identifier: m.rest >>> 16, sequence: m.rest & 0xffff };
}

/** Destination Unreachable codes (RFC 792). */
export const UnreachableCode = {
  Net: 0,
  Host: 1,
  Protocol: 2,
  Port: 3,
  FragmentationNeeded: 4,
} as const;

/**
 * A Destination Unreachable about a datagram we received (RFC 792; RFC 1122 3.2.2.1): the body
 * quotes the offending datagram's header and the first 8 octets of its data.
 */
export function emitDestinationUnreachable(
  original: { header: Uint8Array; payload: Uint8Array },
  code: number,
): Uint8Array {
  const quoted = Math.min(8, original.payload.length);
  const body = new Uint8Array(original.header.length + quoted);
  body.set(original.header, 0);
  body.set(original.payload.subarray(0, quoted), original.header.length);
  return emitIcmp({ type: IcmpType.DestinationUnreachable, code, rest: 0, body });
}
