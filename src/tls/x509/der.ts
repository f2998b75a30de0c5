/**
 * A small DER reader (ITU-T X.690 section 10, the distinguished encoding) for the parts of an
 * X.509 certificate (RFC 5280 section 4.1) that node:crypto's X509Certificate does not expose:
 * the raw names, the validity times, the signature algorithm and the v3 extensions.
 *
 * Views, not copies: every `Tlv` points into the buffer it was read from. Every length is
 * checked against its container; anything out of bounds throws `DerError`.
 */
import { CellstackError } from '../../util/errors.js';

/** Thrown by the DER reader for any encoding it cannot accept. */
export class DerError extends CellstackError {
  constructor(detail: string) {
    super('CERT_MALFORMED', `malformed DER: ${detail}`);
    this.name = 'DerError';
  }
}

/** Universal tags used here (X.680 section 8.4). */
export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8String: 0x0c,
  PrintableString: 0x13,
  T61String: 0x14,
  IA5String: 0x16,
  UTCTime: 0x17,
  GeneralizedTime: 0x18,
  VisibleString: 0x1a,
  UniversalString: 0x1c,
  BMPString: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** One tag-length-value element. `tag` is the whole identifier octet (class, P/C bit, number). */
export interface Tlv {
  readonly tag: number;
  /** The whole element, header included. */
  readonly bytes: Uint8Array;
  /** The contents octets. */
  readonly value: Uint8Array;
}

/** Long-form lengths of up to 4 octets (4 GiB) are plenty for anything a TLS peer can send. */
const MAX_LENGTH_OCTETS = 4;

/** Reads the element starting at `offset` of `buf`; returns it and the offset after it. */
export function readTlv(buf: Uint8Array, offset = 0): { tlv: Tlv; next: number } {
  if (offset + 2 > buf.length) throw new DerError('truncated header');
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError('high tag numbers are not used in certificates');
  let pos = offset + 1;
  const first = buf[pos++]!;
  let length: number;
  if (first < 0x80) {
    length = first;
  } else {
    const n = first & 0x7f;
    // 0x80 is the BER indefinite form, which DER forbids (X.690 section 10.1).
    if (n === 0 || n > MAX_LENGTH_OCTETS) throw new DerError('unsupported length form');
    if (pos + n > buf.length) throw new DerError('truncated length');
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[pos++]!;
  }
  const end = pos + length;
  if (end > buf.length) throw new DerError('length beyond its container');
  return {
    tlv: { tag, bytes: buf.subarray(offset, end), value: buf.subarray(pos, end) },
    next: end,
  };
}

/** Reads exactly one element filling `buf`. */
export function readOnly(buf: Uint8Array): Tlv {
  const { tlv, next } = readTlv(buf, 0);
  if (next !== buf.length) throw new DerError('trailing octets');
  return tlv;
}

/** The elements inside a constructed element (SEQUENCE, SET, explicit tag). */
export function children(tlv: Tlv): Tlv[] {
  if ((tlv.tag & 0x20) === 0) throw new DerError(`tag 0x${tlv.tag.toString(16)} is not constructed`);
  const out: Tlv[] = [];
  let pos = 0;
  while (pos < tlv.value.length) {
    const { tlv: child, next } = readTlv(tlv.value, pos);
    out.push(child);
    pos = next;
  }
  return out;
}

/** Checks the tag and returns the element, for readable parsers. */
export function expect(tlv: Tlv | undefined, tag: number, what: string): Tlv {
  if (tlv === undefined) throw new DerError(`${what} missing`);
  if (tlv.tag !== tag)
    throw new DerError(`${what}: tag 0x${tlv.tag.toString(16)}, wanted 0x${tag.toString(16)}`);
  return tlv;
}

/** OBJECT IDENTIFIER contents to dotted form (X.690 section 8.19). */
export function decodeOid(tlv: Tlv): string {
  const v = tlv.value;
  if (v.length === 0 || v.length > 64) throw new DerError('OID length');
  const arcs: number[] = [];
  let acc = 0;
  let started = false;
  for (let i = 0; i < v.length; i++) {
    const b = v[i]!;
    if (!started && b === 0x80) throw new DerError('OID arc with a leading zero');
    started = true;
    acc = acc * 128 + (b & 0x7f);
    if (acc > Number.MAX_SAFE_INTEGER / 128) throw new DerError('OID arc too large');
    if ((b & 0x80) === 0) {
      arcs.push(acc);
      acc = 0;
      started = false;
    }
  }
  if (started) throw new DerError('OID ends inside an arc');
  const head = arcs.shift()!;
  const first = head < 40 ? 0 : head < 80 ? 1 : 2;
  return [first, head - first * 40, ...arcs].join('.');
}

/** A non-negative INTEGER that fits in a JS number (pathLenConstraint, iteration counts...). */
export function decodeSmallUint(tlv: Tlv): number {
  const v = tlv.value;
  if (v.length === 0 || v.length > 6) throw new DerError('INTEGER size');
  if ((v[0]! & 0x80) !== 0) throw new DerError('negative INTEGER');
  let n = 0;
  for (const b of v) n = n * 256 + b;
  return n;
}

/** BOOLEAN contents: DER says 0x00 or 0xff; any non-zero is accepted as true, like OpenSSL. */
export function decodeBoolean(tlv: Tlv): boolean {
  if (tlv.value.length !== 1) throw new DerError('BOOLEAN size');
  return tlv.value[0] !== 0;
}

/** BIT STRING contents as (unused bit count, octets). */
export function decodeBitString(tlv: Tlv): { unused: number; bytes: Uint8Array } {
  const v = tlv.value;
  if (v.length === 0) throw new DerError('empty BIT STRING');
  const unused = v[0]!;
  if (unused > 7 || (v.length === 1 && unused !== 0)) throw new DerError('BIT STRING unused bits');
  return { unused, bytes: v.subarray(1) };
}

/** UTCTime / GeneralizedTime (RFC 5280 section 4.1.2.5) to ms since the epoch. */
export function decodeTime(tlv: Tlv): number {
  const s = latin1(tlv.value);
  let m: RegExpExecArray | null;
  let year: number;
  if (tlv.tag === Tag.UTCTime) {
    // RFC 5280 section 4.1.2.5.1: YYMMDDHHMMSSZ; YY >= 50 means 19YY. OpenSSL also takes no seconds.
    m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?Z$/.exec(s);
    if (m === null) throw new DerError('UTCTime format');
    const yy = Number(m[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
  } else if (tlv.tag === Tag.GeneralizedTime) {
    // RFC 5280 section 4.1.2.5.2: YYYYMMDDHHMMSSZ, no fractions.
    m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?Z$/.exec(s);
    if (m === null) throw new DerError('GeneralizedTime format');
    year = Number(m[1]);
  } else {
    throw new DerError('Time tag');
  }
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) {
    throw new DerError('Time out of range');
  }
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  if (new Date(ms).getUTCDate() !== day) throw new DerError('Time: no such day');
  return ms;
}

/** Decodes a directory string (X.520) to text; `undefined` for non-string types. */
export function decodeDirectoryString(tlv: Tlv): string | undefined {
  const v = tlv.value;
  switch (tlv.tag) {
    case Tag.UTF8String:
      return new TextDecoder('utf-8', { fatal: false }).decode(v);
    case Tag.PrintableString:
    case Tag.IA5String:
    case Tag.VisibleString:
    case Tag.T61String:
      return latin1(v);
    case Tag.BMPString: {
      let s = '';
      for (let i = 0; i + 1 < v.length; i += 2) s += String.fromCharCode((v[i]! << 8) | v[i + 1]!);
      return s;
    }
    case Tag.UniversalString: {
      let s = '';
      for (let i = 0; i + 3 < v.length; i += 4) {
        const cp = ((v[i]! << 24) | (v[i + 1]! << 16) | (v[i + 2]! << 8) | v[i + 3]!) >>> 0;
        s += cp <= 0x10ffff ? String.fromCodePoint(cp) : '\ufffd';
      }
      return s;
    }
    default:
      return undefined;
  }
}

export function latin1(v: Uint8Array): string {
  let s = '';
  for (const b of v) s += String.fromCharCode(b);
  return s;
}

export function toHex(v: Uint8Array): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
