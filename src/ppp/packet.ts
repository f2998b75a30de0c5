import { MalformedPacket } from '../util/errors.js';

/**
 * The packet format shared by LCP, IPCP, PAP and CHAP (RFC 1661 section 5, RFC 1334 section
 * 2.2, RFC 1994 section 4): Code, Identifier, Length, Data. Octets past Length are padding
 * and are ignored (RFC 1661 section 5).
 */
export const Code = {
  ConfReq: 1,
  ConfAck: 2,
  ConfNak: 3,
  ConfRej: 4,
  TermReq: 5,
  TermAck: 6,
  CodeRej: 7,
  ProtRej: 8,
  EchoReq: 9,
  EchoRep: 10,
  DiscReq: 11,
} as const;

export interface CpPacket {
  code: number;
  id: number;
  /** The Data field (a view into the received buffer). */
  data: Uint8Array;
}

export function parseCpPacket(bytes: Uint8Array): CpPacket {
  if (bytes.length < 4) throw new MalformedPacket('control packet', `${bytes.length} bytes, header needs 4`);
  const length = (bytes[2]! << 8) | bytes[3]!;
  if (length < 4) throw new MalformedPacket('control packet', `Length ${length} < 4`);
  if (length > bytes.length)
    throw new MalformedPacket('control packet', `Length ${length} > ${bytes.length} received`);
  return { code: bytes[0]!, id: bytes[1]!, data: bytes.subarray(4, length) };
}

export function emitCpPacket(code: number, id: number, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(4 + data.length);
  out[0] = code;
  out[1] = id & 0xff;
  out[2] = (out.length >> 8) & 0xff;
  out[3] = out.length & 0xff;
  out.set(data, 4);
  return out;
}

/** A configuration option (RFC 1661 section 6): Type, Length, Data. */
export interface CpOption {
  type: number;
  data: Uint8Array;
}

export function parseOptions(data: Uint8Array): CpOption[] {
  const out: CpOption[] = [];
  let i = 0;
  while (i < data.length) {
    if (i + 2 > data.length) throw new MalformedPacket('option', 'truncated header');
    const type = data[i]!;
    const len = data[i + 1]!;
    if (len < 2) throw new MalformedPacket('option', `type ${type} with Length ${len} < 2`);
    if (i + len > data.length) throw new MalformedPacket('option', `type ${type} runs past the packet`);
    out.push({ type, data: data.subarray(i + 2, i + len) });
    i += len;
  }
  return out;
}

/** `parseOptions`, or `undefined` when the list is malformed (the caller rejects or drops it). */
export function tryParseOptions(data: Uint8Array): CpOption[] | undefined {
  try {
    return parseOptions(data);
  } catch (err) {
    if (err instanceof MalformedPacket) return undefined;
    throw err;
  }
}

/** `parseCpPacket`, or `undefined` for a malformed packet (the caller counts and drops it). */
export function tryParseCpPacket(bytes: Uint8Array): CpPacket | undefined {
  try {
    return parseCpPacket(bytes);
  } catch (err) {
    if (err instanceof MalformedPacket) return undefined;
    throw err;
  }
}

export function emitOptions(options: readonly CpOption[]): Uint8Array {
  let n = 0;
  for (const o of options) n += 2 + o.data.length;
  const out = new Uint8Array(n);
  let i = 0;
  for (const o of options) {
    out[i] = o.type;
    out[i + 1] = 2 + o.data.length;
    out.set(o.data, i + 2);
    i += 2 + o.data.length;
  }
  return out;
}

export function u16(data: Uint8Array, at = 0): number {
  return (data[at]! << 8) | data[at + 1]!;
}

export function u32(data: Uint8Array, at = 0): number {
  return ((data[at]! << 24) | (data[at + 1]! << 16) | (data[at + 2]! << 8) | data[at + 3]!) >>> 0;
}

export function bytesU16(v: number): Uint8Array {
  return Uint8Array.of((v >> 8) & 0xff, v & 0xff);
}

export function bytesU32(v: number): Uint8Array {
  return Uint8Array.of((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
