import { onesSum } from '../ip/checksum.js';
import { MalformedPacket } from '../util/errors.js';

/** The TCP header (RFC 9293 section 3.1) and its options (RFC 9293 3.2, RFC 7323, RFC 2018). */
export const TcpFlag = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
} as const;

export interface TcpOptions {
  /** Maximum Segment Size (kind 2), SYN only. */
  mss?: number;
  /** Window scale shift (kind 3, RFC 7323 section 2), SYN only. */
  windowScale?: number;
  /** SACK-permitted (kind 4, RFC 2018), SYN only. */
  sackPermitted?: boolean;
  /** SACK blocks (kind 5): [left, right) edges. */
  sack?: [number, number][];
  /** Timestamps (kind 8, RFC 7323 section 3). */
  timestamp?: { value: number; echo: number };
}

export interface TcpSegment {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  /** The window field as sent (not scaled). */
  window: number;
  urgent: number;
  options: TcpOptions;
  payload: Uint8Array;
}

export function hasFlag(seg: { flags: number }, flag: number): boolean {
  return (seg.flags & flag) !== 0;
}

/** Sequence space a segment occupies: its data, plus one for SYN and one for FIN. */
export function segLength(seg: TcpSegment): number {
  return seg.payload.length + (seg.flags & TcpFlag.SYN ? 1 : 0) + (seg.flags & TcpFlag.FIN ? 1 : 0);
}

/** The pseudo-header sum of RFC 9293 section 3.1 (source, destination, zero, protocol 6, length). */
function pseudoSum(src: number, dst: number, length: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + 6 + length;
}

/** Parses a segment; the checksum is verified against the pseudo-header (RFC 9293 3.1). */
export function parseTcpSegment(bytes: Uint8Array, src: number, dst: number): TcpSegment {
  if (bytes.length < 20) throw new MalformedPacket('TCP', `${bytes.length} octets, header needs 20`);
  const dataOffset = (bytes[12]! >> 4) * 4;
  if (dataOffset < 20 || dataOffset > bytes.length)
    throw new MalformedPacket('TCP', `data offset ${dataOffset}`);
  if (onesSum(bytes, 0, bytes.length, pseudoSum(src, dst, bytes.length)) !== 0xffff) {
    throw new MalformedPacket('TCP', 'bad checksum');
  }
  return {
    srcPort: (bytes[0]! << 8) | bytes[1]!,
    dstPort: (bytes[2]! << 8) | bytes[3]!,
    seq: ((bytes[4]! << 24) | (bytes[5]! << 16) | (bytes[6]! << 8) | bytes[7]!) >>> 0,
    ack: ((bytes[8]! << 24) | (bytes[9]! << 16) | (bytes[10]! << 8) | bytes[11]!) >>> 0,
    flags: bytes[13]!,
    window: (bytes[14]! << 8) | bytes[15]!,
    urgent: (bytes[18]! << 8) | bytes[19]!,
    options: parseOptions(bytes.subarray(20, dataOffset)),
    payload: bytes.subarray(dataOffset),
  };
}

function parseOptions(b: Uint8Array): TcpOptions {
  const o: TcpOptions = {};
  let i = 0;
  while (i < b.length) {
    const kind = b[i]!;
    if (kind === 0) break; // End of Option List
    if (kind === 1) {
      i++; // No-Operation
      continue;
    }
    if (i + 1 >= b.length) throw new MalformedPacket('TCP option', `kind ${kind} without length`);
    const len = b[i + 1]!;
    if (len < 2 || i + len > b.length) throw new MalformedPacket('TCP option', `kind ${kind} length ${len}`);
    const d = b.subarray(i + 2, i + len);
    switch (kind) {
      case 2:
        if (len === 4) o.mss = (d[0]! << 8) | d[1]!;
        break;
      case 3:
        if (len === 3) o.windowScale = Math.min(d[0]!, 14); // RFC 7323 2.3: values above 14 mean 14
        break;
      case 4:
        if (len === 2) o.sackPermitted = true;
        break;
      case 5:
        if ((len - 2) % 8 === 0) {
          o.sack = [];
          for (let k = 0; k + 8 <= d.length; k += 8) o.sack.push([u32(d, k), u32(d, k + 4)]);
        }
        break;
      case 8:
        if (len === 10) o.timestamp = { value: u32(d, 0), echo: u32(d, 4) };
        break;
      default:
        break; // unknown options are ignored (RFC 9293 3.2)
    }
    i += len;
  }
  return o;
}

function u32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

function optionBytes(o: TcpOptions): number[] {
  const out: number[] = [];
  if (o.mss !== undefined) out.push(2, 4, (o.mss >> 8) & 0xff, o.mss & 0xff);
  if (o.sackPermitted) out.push(4, 2);
  if (o.timestamp) {
    const { value: v, echo: e } = o.timestamp;
    out.push(...(o.sackPermitted ? [] : [1, 1]), 8, 10);
    out.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
    out.push((e >>> 24) & 0xff, (e >>> 16) & 0xff, (e >>> 8) & 0xff, e & 0xff);
  }
  if (o.windowScale !== undefined) out.push(1, 3, 3, o.windowScale);
  if (o.sack && o.sack.length > 0) {
    out.push(1, 1, 5, 2 + 8 * o.sack.length);
    for (const [l, r] of o.sack) {
      out.push((l >>> 24) & 0xff, (l >>> 16) & 0xff, (l >>> 8) & 0xff, l & 0xff);
      out.push((r >>> 24) & 0xff, (r >>> 16) & 0xff, (r >>> 8) & 0xff, r & 0xff);
    }
  }
  while (out.length % 4 !== 0) out.push(0);
  return out;
}

/** Octets the options of `o` take on the wire (a multiple of 4). */
export function optionsLength(o: TcpOptions): number {
  return optionBytes(o).length;
}

export function emitTcpSegment(seg: TcpSegment, src: number, dst: number): Uint8Array {
  const opts = optionBytes(seg.options);
  const header = 20 + opts.length;
  const out = new Uint8Array(header + seg.payload.length);
  out[0] = seg.srcPort >> 8;
  out[1] = seg.srcPort & 0xff;
  out[2] = seg.dstPort >> 8;
  out[3] = seg.dstPort & 0xff;
  out[4] = (seg.seq >>> 24) & 0xff;
  out[5] = (seg.seq >>> 16) & 0xff;
  out[6] = (seg.seq >>> 8) & 0xff;
  out[7] = seg.seq & 0xff;
  out[8] = (seg.ack >>> 24) & 0xff;
  out[9] = (seg.ack >>> 16) & 0xff;
  out[10] = (seg.ack >>> 8) & 0xff;
  out[11] = seg.ack & 0xff;
  out[12] = (header / 4) << 4;
  out[13] = seg.flags;
  out[14] = (seg.window >> 8) & 0xff;
  out[15] = seg.window & 0xff;
  out[18] = (seg.urgent >> 8) & 0xff;
  out[19] = seg.urgent & 0xff;
  out.set(opts, 20);
  out.set(seg.payload, header);
  const c = ~onesSum(out, 0, out.length, pseudoSum(src, dst, out.length)) & 0xffff;
  out[16] = c >> 8;
  out[17] = c & 0xff;
  return out;
}
