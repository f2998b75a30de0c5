import { ConfigError } from '../../util/errors.js';

/**
 * Van Jacobson TCP/IP header compression (RFC 1144) as PPP carries it (RFC 1332 section 3.2):
 * what the compressor (`compressor.ts`) and the decompressor (`decompressor.ts`) share. Both
 * are sans-I/O: packets in, packets out, counters, no clock.
 *
 * The three PPP protocols a TCP/IP packet may travel as once VJ is agreed (RFC 1332 section
 * 3.2, RFC 1144 section 3.2.2): plain IP (TYPE_IP), UNCOMPRESSED_TCP (the whole packet with the
 * IP Protocol field replaced by the slot number: it (re)loads the receiver's slot) and
 * COMPRESSED_TCP (a change mask, the slot number unless omitted, the TCP checksum and the
 * changed fields as deltas, then the TCP data).
 */
export const VjProtocol = {
  Ip: 0x0021,
  CompressedTcp: 0x002d,
  UncompressedTcp: 0x002f,
} as const;

export type VjFrameProtocol = (typeof VjProtocol)[keyof typeof VjProtocol];

/**
 * The change mask, first octet of a COMPRESSED_TCP header (RFC 1144 section 3.2.2 and its
 * appendix A.1 names): which fields follow, in the order U, W, A, S, I. Bit 0x80 is unused.
 */
export const NEW_C = 0x40; // the connection (slot) number follows
export const NEW_I = 0x20; // IP Identification delta (absent: the ID went up by one)
export const TCP_PUSH_BIT = 0x10; // PSH, carried as is
export const NEW_S = 0x08; // sequence number delta
export const NEW_A = 0x04; // acknowledgment number delta
export const NEW_W = 0x02; // window delta
export const NEW_U = 0x01; // urgent pointer (URG set)
/** Two combinations that cannot happen in real traffic stand for common cases (section 3.2.2). */
export const SPECIALS_MASK = NEW_S | NEW_A | NEW_W | NEW_U;
/** Echoed interactive traffic: seq and ack both advanced by the last packet's data length. */
export const SPECIAL_I = NEW_S | NEW_W | NEW_U;
/** Unidirectional data: seq advanced by the last packet's data length, nothing else changed. */
export const SPECIAL_D = NEW_S | NEW_A | NEW_W | NEW_U;

/**
 * Room for one saved header: IP (at most 60 octets) and TCP (at most 60). RFC 1144's sample
 * implementation keeps 128 octets per slot (MAX_HDR) as well.
 */
export const SLOT_BYTES = 128;
/** The largest COMPRESSED_TCP header: change mask, slot, checksum and five 3-octet deltas. */
export const MAX_COMPRESSED_HEADER = 1 + 1 + 2 + 5 * 3;

/** TCP flag bits (RFC 9293 section 3.1) the compressor and decompressor look at. */
export const TH_FIN = 0x01;
export const TH_SYN = 0x02;
export const TH_RST = 0x04;
export const TH_PUSH = 0x08;
export const TH_ACK = 0x10;
export const TH_URG = 0x20;
export const IPPROTO_TCP = 6;

/**
 * What was agreed for one direction with the IP-Compression-Protocol option (RFC 1332 section
 * 3.2): the highest slot number (Max-Slot-Id, one less than the number of slots) and whether
 * the slot number may be left out of a COMPRESSED_TCP header that uses the same slot as the
 * one before (Comp-Slot-Id).
 */
export interface VjParams {
  maxSlotId: number;
  compSlotId: boolean;
}

/** The lowest and highest Max-Slot-Id we use or accept (pppd's `vj-max-slots` floor is 2 slots). */
export const MIN_MAX_SLOT_ID = 2;
export const MAX_MAX_SLOT_ID = 255;

export function checkVjParams(p: VjParams): VjParams {
  if (!Number.isInteger(p.maxSlotId) || p.maxSlotId < MIN_MAX_SLOT_ID || p.maxSlotId > MAX_MAX_SLOT_ID) {
    throw new ConfigError(`VJ maxSlotId ${p.maxSlotId} is not in ${MIN_MAX_SLOT_ID}..${MAX_MAX_SLOT_ID}`);
  }
  return { maxSlotId: p.maxSlotId, compSlotId: p.compSlotId };
}

/** The one's complement sum of `n` octets of `b` from `at` as 16-bit words (RFC 1071), folded. */
export function headerSum(b: Uint8Array, at: number, n: number): number {
  let sum = 0;
  const end = at + n;
  for (let i = at; i < end; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

export function get16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

export function get32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

export function put16(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 8) & 0xff;
  b[at + 1] = v & 0xff;
}

export function put32(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 24) & 0xff;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
}
