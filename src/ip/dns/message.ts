import { MalformedPacket } from '../../util/errors.js';
import { formatIpv4, parseIpv4 } from '../../util/ipv4.js';
import { RRType } from './constants.js';
import { nameLabels, readName } from './name.js';

/** DNS messages (RFC 1035 section 4): header, question, and the three record sections. */

export interface DnsHeader {
  id: number;
  /** QR: a response. */
  qr: boolean;
  opcode: number;
  /** AA: authoritative answer. */
  aa: boolean;
  /** TC: truncated (RFC 1035 4.2.1: retry over TCP). */
  tc: boolean;
  /** RD: recursion desired. */
  rd: boolean;
  /** RA: recursion available. */
  ra: boolean;
  /** The Z, AD and CD bits as received (RFC 1035 Z; RFC 4035 3.2 AD, CD). */
  z: number;
  rcode: number;
}

export interface DnsQuestion {
  name: string;
  type: number;
  class: number;
}

/** RDATA, decoded for the types a stub resolver uses; other types stay as octets. */
export type DnsRecordData =
  | { kind: 'A'; address: string }
  | { kind: 'CNAME'; target: string }
  | {
      kind: 'SOA';
      mname: string;
      rname: string;
      serial: number;
      refresh: number;
      retry: number;
      expire: number;
      /** The negative caching TTL (RFC 2308 section 4). */
      minimum: number;
    }
  | { kind: 'raw'; bytes: Uint8Array };

export interface DnsRecord {
  name: string;
  type: number;
  class: number;
  /** Seconds (RFC 2181 8: values with the top bit set are read as 0). */
  ttl: number;
  data: DnsRecordData;
}

export interface DnsMessage {
  header: DnsHeader;
  questions: DnsQuestion[];
  answers: DnsRecord[];
  authorities: DnsRecord[];
  additionals: DnsRecord[];
}

const HEADER_LENGTH = 12;
/** The fixed part of a resource record after its name: TYPE, CLASS, TTL, RDLENGTH. */
const RR_FIXED = 10;

/**
 * Parses a message, validating every count and length against what is there. Allocation is
 * bounded by the message: the section counts are only trusted while octets remain. Octets
 * after the last record are ignored. Throws `MalformedPacket`.
 */
export function parseDnsMessage(bytes: Uint8Array): DnsMessage {
  if (bytes.length < HEADER_LENGTH)
    throw new MalformedPacket('DNS', `${bytes.length} octets, header needs ${HEADER_LENGTH}`);
  const flags = u16(bytes, 2);
  const header: DnsHeader = {
    id: u16(bytes, 0),
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0x0f,
    aa: (flags & 0x0400) !== 0,
    tc: (flags & 0x0200) !== 0,
    rd: (flags & 0x0100) !== 0,
    ra: (flags & 0x0080) !== 0,
    z: (flags >> 4) & 0x07,
    rcode: flags & 0x0f,
  };
  const qdcount = u16(bytes, 4);
  const ancount = u16(bytes, 6);
  const nscount = u16(bytes, 8);
  const arcount = u16(bytes, 10);
  let pos = HEADER_LENGTH;
  const questions: DnsQuestion[] = [];
  for (let i = 0; i < qdcount; i++) {
    const { name, end } = readName(bytes, pos);
    if (end + 4 > bytes.length) throw new MalformedPacket('DNS', `question ${i} cut short`);
    questions.push({ name, type: u16(bytes, end), class: u16(bytes, end + 2) });
    pos = end + 4;
  }
  const section = (count: number, what: string): DnsRecord[] => {
    const out: DnsRecord[] = [];
    for (let i = 0; i < count; i++) {
      const r = readRecord(bytes, pos, `${what} ${i}`);
      out.push(r.record);
      pos = r.end;
    }
    return out;
  };
  const answers = section(ancount, 'answer');
  const authorities = section(nscount, 'authority');
  const additionals = section(arcount, 'additional');
  return { header, questions, answers, authorities, additionals };
}

function readRecord(bytes: Uint8Array, offset: number, what: string): { record: DnsRecord; end: number } {
  const { name, end: nameEnd } = readName(bytes, offset);
  if (nameEnd + RR_FIXED > bytes.length) throw new MalformedPacket('DNS', `${what} cut short`);
  const type = u16(bytes, nameEnd);
  const klass = u16(bytes, nameEnd + 2);
  const rawTtl = u32(bytes, nameEnd + 4);
  const rdlength = u16(bytes, nameEnd + 8);
  const start = nameEnd + RR_FIXED;
  const end = start + rdlength;
  if (end > bytes.length)
    throw new MalformedPacket('DNS', `${what}: RDLENGTH ${rdlength} runs past the message`);
  const record: DnsRecord = {
    name,
    type,
    class: klass,
    ttl: rawTtl > 0x7fffffff ? 0 : rawTtl,
    data: readData(bytes, type, start, end, what),
  };
  return { record, end };
}

function readData(bytes: Uint8Array, type: number, start: number, end: number, what: string): DnsRecordData {
  const rdlength = end - start;
  switch (type) {
    case RRType.A:
      if (rdlength !== 4) throw new MalformedPacket('DNS', `${what}: A RDATA of ${rdlength} octets`);
      return { kind: 'A', address: formatIpv4(u32(bytes, start)) };
    case RRType.CNAME: {
      const { name, end: after } = readName(bytes.subarray(0, end), start);
      if (after !== end) throw new MalformedPacket('DNS', `${what}: CNAME RDATA longer than its name`);
      return { kind: 'CNAME', target: name };
    }
    case RRType.SOA: {
      const within = bytes.subarray(0, end);
      const m = readName(within, start);
      const r = readName(within, m.end);
      if (r.end + 20 !== end) throw new MalformedPacket('DNS', `${what}: SOA RDATA of ${rdlength} octets`);
      return {
        kind: 'SOA',
        mname: m.name,
        rname: r.name,
        serial: u32(bytes, r.end),
        refresh: u32(bytes, r.end + 4),
        retry: u32(bytes, r.end + 8),
        expire: u32(bytes, r.end + 12),
        minimum: u32(bytes, r.end + 16),
      };
    }
    default:
      return { kind: 'raw', bytes: bytes.subarray(start, end) };
  }
}

export interface EmitDnsOptions {
  /** Compress names with pointers to earlier ones (RFC 1035 4.1.4). Default true. */
  compress?: boolean;
}

/**
 * Builds a message. Section counts come from the arrays; names are compressed unless told
 * otherwise. Throws `RangeError` for a name or field that cannot be encoded.
 */
export function emitDnsMessage(msg: DnsMessage, options: EmitDnsOptions = {}): Uint8Array {
  const w = new Writer(options.compress ?? true);
  const h = msg.header;
  w.u16(h.id);
  w.u16(
    (h.qr ? 0x8000 : 0) |
      ((h.opcode & 0x0f) << 11) |
      (h.aa ? 0x0400 : 0) |
      (h.tc ? 0x0200 : 0) |
      (h.rd ? 0x0100 : 0) |
      (h.ra ? 0x0080 : 0) |
      ((h.z & 0x07) << 4) |
      (h.rcode & 0x0f),
  );
  for (const n of [msg.questions, msg.answers, msg.authorities, msg.additionals]) {
    if (n.length > 0xffff) throw new RangeError(`${n.length} entries in a section`);
    w.u16(n.length);
  }
  for (const q of msg.questions) {
    w.name(q.name);
    w.u16(q.type);
    w.u16(q.class);
  }
  for (const r of [...msg.answers, ...msg.authorities, ...msg.additionals]) {
    w.name(r.name);
    w.u16(r.type);
    w.u16(r.class);
    w.u32(r.ttl);
    const lengthAt = w.length;
    w.u16(0);
    const d = r.data;
    switch (d.kind) {
      case 'A':
        w.u32(parseIpv4(d.address));
        break;
      case 'CNAME':
        w.name(d.target);
        break;
      case 'SOA':
        w.name(d.mname);
        w.name(d.rname);
        for (const v of [d.serial, d.refresh, d.retry, d.expire, d.minimum]) w.u32(v);
        break;
      case 'raw':
        w.bytes(d.bytes);
        break;
    }
    const rdlength = w.length - lengthAt - 2;
    if (rdlength > 0xffff) throw new RangeError(`RDATA of ${rdlength} octets`);
    w.patch16(lengthAt, rdlength);
  }
  return w.finish();
}

/** A query for one name (RFC 1035 4.1.1, 4.1.2), recursion desired. */
export function emitDnsQuery(id: number, name: string, type: number, klass: number): Uint8Array {
  return emitDnsMessage({
    header: { id, qr: false, opcode: 0, aa: false, tc: false, rd: true, ra: false, z: 0, rcode: 0 },
    questions: [{ name, type, class: klass }],
    answers: [],
    authorities: [],
    additionals: [],
  });
}

class Writer {
  private buf = new Uint8Array(512);
  length = 0;
  /** Lower-cased name suffixes already written, and where (for compression pointers). */
  private readonly names = new Map<string, number>();

  constructor(private readonly compress: boolean) {}

  u16(v: number): void {
    this.room(2);
    this.buf[this.length++] = (v >> 8) & 0xff;
    this.buf[this.length++] = v & 0xff;
  }

  u32(v: number): void {
    this.u16((v >>> 16) & 0xffff);
    this.u16(v & 0xffff);
  }

  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  patch16(at: number, v: number): void {
    this.buf[at] = (v >> 8) & 0xff;
    this.buf[at + 1] = v & 0xff;
  }

  name(name: string): void {
    const labels = nameLabels(name);
    for (let i = 0; i < labels.length; i++) {
      const key = suffixKey(labels, i);
      const at = this.names.get(key);
      if (this.compress && at !== undefined) {
        this.u16(0xc000 | at);
        return;
      }
      if (this.length <= 0x3fff) this.names.set(key, this.length);
      const label = labels[i]!;
      this.room(1 + label.length);
      this.buf[this.length++] = label.length;
      this.bytes(label);
    }
    this.room(1);
    this.buf[this.length++] = 0;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }
}

/** A suffix of a name as a map key: length-prefixed labels, ASCII letters folded to lower case. */
function suffixKey(labels: Uint8Array[], from: number): string {
  let key = '';
  for (let i = from; i < labels.length; i++) {
    const l = labels[i]!;
    key += String.fromCharCode(l.length);
    for (const c of l) key += String.fromCharCode(c >= 0x41 && c <= 0x5a ? c + 0x20 : c);
  }
  return key;
}

function u16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

function u32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}
