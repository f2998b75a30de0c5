import { MalformedPacket } from '../util/errors.js';

/**
 * The PPP frame inside the HDLC-like framing (RFC 1661 section 2, RFC 1662 section 3):
 * Address 0xFF, Control 0x03 (both left out with ACFC), Protocol (one octet with PFC when
 * its value allows), Information.
 */
export const Protocol = {
  IPv4: 0x0021,
  VjCompressed: 0x002d,
  VjUncompressed: 0x002f,
  IPCP: 0x8021,
  IPV6CP: 0x8057,
  CCP: 0x80fd,
  LCP: 0xc021,
  PAP: 0xc023,
  LQR: 0xc025,
  CHAP: 0xc223,
} as const;

export interface PppFrame {
  protocol: number;
  /** A view into the frame. */
  info: Uint8Array;
}

/** Parses a frame, with or without Address/Control, with a one- or two-octet Protocol. */
export function parsePppFrame(frame: Uint8Array): PppFrame {
  let i = 0;
  if (frame.length >= 2 && frame[0] === 0xff && frame[1] === 0x03) i = 2;
  if (i >= frame.length) throw new MalformedPacket('PPP frame', 'no Protocol field');
  let protocol = frame[i]!;
  // RFC 1661 section 2: Protocol values are odd in the low octet and even in the high one;
  // an odd first octet is a compressed (one-octet) field.
  if ((protocol & 1) === 0) {
    if (i + 1 >= frame.length) throw new MalformedPacket('PPP frame', 'truncated Protocol field');
    protocol = (protocol << 8) | frame[i + 1]!;
    if ((protocol & 1) === 0)
      throw new MalformedPacket('PPP frame', `Protocol 0x${protocol.toString(16)} is even`);
    i += 2;
  } else {
    i += 1;
  }
  return { protocol, info: frame.subarray(i) };
}

export interface HeaderCompression {
  /** Address-and-Control-Field-Compression agreed (RFC 1661 section 6.6). */
  acfc: boolean;
  /** Protocol-Field-Compression agreed (RFC 1661 section 6.5). */
  pfc: boolean;
}

/**
 * Builds a frame. LCP always goes with the full header (RFC 1661 sections 6.5, 6.6: the
 * compressions apply only once LCP is up, and never to LCP packets).
 */
export function emitPppFrame(protocol: number, info: Uint8Array, c: HeaderCompression): Uint8Array {
  const full = protocol === Protocol.LCP;
  const acfc = c.acfc && !full;
  const short = c.pfc && !full && protocol < 0x100;
  const head = (acfc ? 0 : 2) + (short ? 1 : 2);
  const out = new Uint8Array(head + info.length);
  let i = 0;
  if (!acfc) {
    out[i++] = 0xff;
    out[i++] = 0x03;
  }
  if (!short) out[i++] = (protocol >> 8) & 0xff;
  out[i++] = protocol & 0xff;
  out.set(info, i);
  return out;
}

export function protocolName(protocol: number): string {
  switch (protocol) {
    case Protocol.IPv4:
      return 'IP';
    case Protocol.VjCompressed:
      return 'VJC';
    case Protocol.VjUncompressed:
      return 'VJUC';
    case Protocol.IPCP:
      return 'IPCP';
    case Protocol.IPV6CP:
      return 'IPV6CP';
    case Protocol.CCP:
      return 'CCP';
    case Protocol.LCP:
      return 'LCP';
    case Protocol.PAP:
      return 'PAP';
    case Protocol.CHAP:
      return 'CHAP';
    default:
      return `0x${protocol.toString(16).padStart(4, '0')}`;
  }
}
