import { fail } from './errors.js';

/**
 * A bounds-checked cursor over a received structure (RFC 5246 4: vectors with 1-, 2- or
 * 3-octet length prefixes). Every overrun is a decode_error alert.
 */
export class WireReader {
  private off = 0;

  constructor(
    private readonly buf: Buffer,
    private readonly what: string,
  ) {}

  static of(bytes: Uint8Array, what: string): WireReader {
    return new WireReader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), what);
  }

  get remaining(): number {
    return this.buf.length - this.off;
  }

  private need(n: number): void {
    if (n > this.remaining) throw fail('decode_error', `${this.what} is truncated`, 'length_mismatch');
  }

  u8(): number {
    this.need(1);
    return this.buf[this.off++]!;
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.off);
    this.off += 2;
    return v;
  }

  u24(): number {
    this.need(3);
    const v = this.buf.readUIntBE(this.off, 3);
    this.off += 3;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.off);
    this.off += 4;
    return v;
  }

  bytes(n: number): Buffer {
    this.need(n);
    const v = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return v;
  }

  /** opaque x<lo..2^8-1>. */
  vec8(min = 0): Buffer {
    return this.checkMin(this.bytes(this.u8()), min);
  }

  /** opaque x<lo..2^16-1>. */
  vec16(min = 0): Buffer {
    return this.checkMin(this.bytes(this.u16()), min);
  }

  /** opaque x<lo..2^24-1>. */
  vec24(min = 0): Buffer {
    return this.checkMin(this.bytes(this.u24()), min);
  }

  /** A nested reader over a vector. */
  sub16(what: string, min = 0): WireReader {
    return new WireReader(this.vec16(min), what);
  }

  rest(): Buffer {
    return this.bytes(this.remaining);
  }

  /** The structure must end here (RFC 5246 7.4.1.2: trailing data is a decode_error). */
  end(): void {
    if (this.remaining !== 0)
      throw fail('decode_error', `${this.what} has ${this.remaining} trailing octets`, 'length_mismatch');
  }

  private checkMin(v: Buffer, min: number): Buffer {
    if (v.length < min) throw fail('decode_error', `${this.what} has an empty vector`, 'length_mismatch');
    return v;
  }
}

/** Builds a structure; `vecN` prefixes a length. */
export class WireWriter {
  private parts: Buffer[] = [];

  u8(v: number): this {
    this.parts.push(Buffer.from([v]));
    return this;
  }

  u16(v: number): this {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(v);
    this.parts.push(b);
    return this;
  }

  u24(v: number): this {
    const b = Buffer.alloc(3);
    b.writeUIntBE(v, 0, 3);
    this.parts.push(b);
    return this;
  }

  bytes(v: Uint8Array): this {
    this.parts.push(Buffer.from(v.buffer, v.byteOffset, v.byteLength));
    return this;
  }

  vec8(v: Uint8Array): this {
    if (v.length > 0xff) throw new RangeError('vector too long');
    return this.u8(v.length).bytes(v);
  }

  vec16(v: Uint8Array): this {
    if (v.length > 0xffff) throw new RangeError('vector too long');
    return this.u16(v.length).bytes(v);
  }

  vec24(v: Uint8Array): this {
    if (v.length > 0xffffff) throw new RangeError('vector too long');
    return this.u24(v.length).bytes(v);
  }

  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}
