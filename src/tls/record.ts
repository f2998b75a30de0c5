import { ContentType, Limits, TLS12 } from './constants.js';
import { fail } from './errors.js';
import { NULL_PROTECTION, type RecordProtection } from './record-protection.js';

/** A TLSPlaintext after unprotection (RFC 5246 6.2.1). */
export interface TlsRecord {
  type: number;
  /** The version in the record header. */
  version: number;
  fragment: Uint8Array;
}

const HEADER = 5;
const SEQ_MAX = (1n << 64n) - 1n;

/**
 * The record layer of one connection (RFC 5246 6): splits the incoming byte stream into
 * records and unprotects them with the read state; fragments outgoing data to 2^14 and
 * protects it with the write state. Each direction has its own 64-bit sequence number, reset
 * to 0 when its ChangeCipherSpec takes effect (RFC 5246 6.1).
 */
export class RecordLayer {
  /** Received chunks not yet parsed (views of the transport's buffers, never changed). */
  private inbox: Buffer[] = [];
  private inboxLength = 0;
  private readonly headScratch = Buffer.alloc(HEADER);
  private readProtection: RecordProtection = NULL_PROTECTION;
  private writeProtection: RecordProtection = NULL_PROTECTION;
  private readSeq = 0n;
  private writeSeq = 0n;
  /** Set once ServerHello fixed it: every later record must carry exactly this version. */
  private expectedVersion: number | undefined;
  /** Whether the read side is protected (records past the server's ChangeCipherSpec). */
  readEncrypted = false;
  writeEncrypted = false;

  /** Octets received and not yet parsed into a record. */
  get buffered(): number {
    return this.inboxLength;
  }

  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.inbox.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    this.inboxLength += bytes.length;
  }

  lockVersion(version: number): void {
    this.expectedVersion = version;
  }

  /**
   * The next whole record, unprotected, or undefined when more bytes are needed. Throws
   * TlsAlert: record_overflow for a length beyond 2^14+2048, unexpected_message for an
   * unknown content type, protocol_version for a bad version, bad_record_mac.
   */
  next(): TlsRecord | undefined {
    if (this.inboxLength < HEADER) return undefined;
    const head = this.peek(HEADER);
    const type = head[0]!;
    const version = head.readUInt16BE(1);
    const length = head.readUInt16BE(3);
    if (type < ContentType.change_cipher_spec || type > ContentType.application_data) {
      // Not TLS at all (an HTTP answer, a plain-text banner...): OpenSSL calls it "wrong version number".
      throw fail('unexpected_message', `record of unknown content type ${type}`, 'wrong_version_number');
    }
    if (head[1] !== 3)
      throw fail('protocol_version', `record version ${version.toString(16)}`, 'wrong_version_number');
    if (this.expectedVersion !== undefined && version !== this.expectedVersion) {
      throw fail('protocol_version', `record version ${version.toString(16)}`, 'wrong_version_number');
    }
    if (length > Limits.ciphertext)
      throw fail('record_overflow', `record of ${length} octets`, 'encrypted_length_too_long');
    if (!this.readEncrypted && length > Limits.plaintext) {
      throw fail('record_overflow', `plaintext record of ${length} octets`, 'data_length_too_long');
    }
    if (this.inboxLength < HEADER + length) return undefined;
    const whole = this.take(HEADER + length);
    const fragment = this.readProtection.decrypt(type, this.readSeq, whole.subarray(HEADER));
    this.readSeq = this.bump(this.readSeq);
    return { type, version, fragment };
  }

  /** Switches the read side to new keys (the peer's ChangeCipherSpec arrived). */
  changeReadState(p: RecordProtection): void {
    this.readProtection = p;
    this.readSeq = 0n;
    this.readEncrypted = true;
  }

  /** Switches the write side to new keys (our ChangeCipherSpec went out). */
  changeWriteState(p: RecordProtection): void {
    this.writeProtection = p;
    this.writeSeq = 0n;
    this.writeEncrypted = true;
  }

  /**
   * Records carrying `data` of content `type`, fragmented to 2^14 octets, protected with the
   * write state: all of them in one new Buffer (headers, explicit nonces, ciphertexts, tags
   * written in place, no further copy). `data` may be given in pieces (coalesced writes); a
   * record may take octets of several pieces. The caller owns the Buffer and must not change
   * it once handed on. `version` is the record version: TLS 1.0 for the ClientHello record,
   * as most clients send it for compatibility with old servers (RFC 5246 E.1), TLS 1.2
   * afterwards.
   */
  emit(
    type: number,
    data: Uint8Array | readonly Uint8Array[],
    version = TLS12,
  ): { bytes: Buffer; records: number } {
    const pieces: readonly Uint8Array[] = data instanceof Uint8Array ? [data] : data;
    let total = 0;
    for (const p of pieces) total += p.length;
    const p = this.writeProtection;
    const full = Math.floor(total / Limits.plaintext);
    const rest = total - full * Limits.plaintext;
    // An empty input still makes one (empty) record.
    const records = full + (rest > 0 || full === 0 ? 1 : 0);
    let size = full * (HEADER + p.sealedLength(Limits.plaintext));
    if (rest > 0 || full === 0) size += HEADER + p.sealedLength(rest);
    const out = Buffer.allocUnsafe(size);
    let at = 0;
    let piece = 0;
    let pieceOff = 0;
    for (let r = 0; r < records; r++) {
      const n = r < full ? Limits.plaintext : rest;
      // This record's plaintext: views of the pieces, never a copy.
      const parts: Uint8Array[] = [];
      let need = n;
      while (need > 0) {
        const cur = pieces[piece]!;
        const take = Math.min(need, cur.length - pieceOff);
        if (take > 0) parts.push(take === cur.length ? cur : cur.subarray(pieceOff, pieceOff + take));
        need -= take;
        pieceOff += take;
        if (pieceOff === cur.length) {
          piece++;
          pieceOff = 0;
        }
      }
      const sealed = p.sealedLength(n);
      out[at] = type;
      out[at + 1] = version >> 8;
      out[at + 2] = version & 0xff;
      out[at + 3] = sealed >> 8;
      out[at + 4] = sealed & 0xff;
      p.seal(type, this.writeSeq, parts, n, out, at + HEADER);
      this.writeSeq = this.bump(this.writeSeq);
      at += HEADER + sealed;
    }
    return { bytes: out, records };
  }

  private bump(seq: bigint): bigint {
    // RFC 5246 6.1: a sequence number must not wrap; renegotiation being refused, we stop.
    if (seq >= SEQ_MAX) throw fail('internal_error', 'sequence number exhausted');
    return seq + 1n;
  }

  /** The first `n` (<= HEADER) octets of the inbox, copied only when they span chunks. */
  private peek(n: number): Buffer {
    const first = this.inbox[0]!;
    if (first.length >= n) return first;
    const head = this.headScratch;
    let got = 0;
    for (const c of this.inbox) {
      const k = Math.min(n - got, c.length);
      head.set(c.subarray(0, k), got);
      got += k;
      if (got === n) break;
    }
    return head;
  }

  /**
   * The next `n` octets: a view of the first chunk when the record lies wholly inside it, else
   * exactly those octets copied once from the chunks they span.
   */
  private take(n: number): Buffer {
    const first = this.inbox[0]!;
    this.inboxLength -= n;
    if (first.length >= n) {
      if (first.length === n) this.inbox.shift();
      else this.inbox[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n) {
      const c = this.inbox[0]!;
      const k = Math.min(n - got, c.length);
      out.set(k === c.length ? c : c.subarray(0, k), got);
      got += k;
      if (k === c.length) this.inbox.shift();
      else this.inbox[0] = c.subarray(k);
    }
    return out;
  }
}
