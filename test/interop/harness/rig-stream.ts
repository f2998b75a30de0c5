import { createHash } from 'node:crypto';

/**
 * The rig stream: the concatenation of SHA-256("cellstack-rig" || uint32_be(i)) for
 * i = 0, 1, 2, ... (what the peer's `source` and `http /bytes/N` send). Incompressible, holds
 * every byte value (0x7e and 0x7d included), easy to regenerate anywhere.
 */
export function rigStream(offset: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  let i = Math.floor(offset / 32);
  let skip = offset % 32;
  let at = 0;
  const prefix = Buffer.from('cellstack-rig');
  const index = Buffer.alloc(4);
  while (at < length) {
    index.writeUInt32BE(i >>> 0);
    const d = createHash('sha256').update(prefix).update(index).digest();
    at += d.copy(out, at, skip);
    skip = 0;
    i++;
  }
  return out;
}

/** SHA-256 (hex) of rigStream(0, length), as the peer's services and the guest report it. */
export function rigStreamSha256(length: number): string {
  return createHash('sha256').update(rigStream(0, length)).digest('hex');
}
