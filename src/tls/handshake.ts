import { Limits } from './constants.js';
import { fail } from './errors.js';

/** One handshake message (RFC 5246 7.4): its type, body, and the whole encoding (for the transcript). */
export interface HandshakeMessage {
  type: number;
  body: Buffer;
  /** msg_type + length + body, as hashed into the transcript. */
  raw: Buffer;
}

/** Frames a handshake message: HandshakeType(1) + uint24 length + body. */
export function frameHandshake(type: number, body: Uint8Array): Buffer {
  const head = Buffer.alloc(4);
  head[0] = type;
  head.writeUIntBE(body.length, 1, 3);
  return Buffer.concat([head, body]);
}

/**
 * Reassembles handshake messages from handshake records: a message may span records and a
 * record may hold several messages (RFC 5246 6.2.1). A message longer than `maxLength` is
 * refused before it is buffered.
 */
export class HandshakeReader {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly maxLength: number = Limits.handshakeMessage) {}

  /** True while part of a message is held: a ChangeCipherSpec or alert must not come now. */
  get partial(): boolean {
    return this.buf.length > 0;
  }

  push(fragment: Uint8Array): void {
    if (fragment.length === 0) throw fail('unexpected_message', 'empty handshake record');
    this.buf = this.buf.length === 0 ? Buffer.from(fragment) : Buffer.concat([this.buf, fragment]);
  }

  /** The next whole message, or undefined until more arrives. */
  next(): HandshakeMessage | undefined {
    if (this.buf.length < 4) return undefined;
    const length = this.buf.readUIntBE(1, 3);
    if (length > this.maxLength) {
      throw fail('illegal_parameter', `handshake message of ${length} octets`, 'excessive_message_size');
    }
    if (this.buf.length < 4 + length) return undefined;
    const raw = this.buf.subarray(0, 4 + length);
    this.buf = this.buf.subarray(4 + length);
    if (this.buf.length === 0) this.buf = Buffer.alloc(0);
    return { type: raw[0]!, body: raw.subarray(4), raw };
  }
}
