import {
  type CipherChaCha20Poly1305,
  type CipherGCM,
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createSecretKey,
  type DecipherChaCha20Poly1305,
  type DecipherGCM,
  type KeyObject,
} from 'node:crypto';
import type { CipherSuite, MacAlgorithm } from './cipher-suites.js';
import { Limits, TLS12 } from './constants.js';
import { fail } from './errors.js';
import { constantTimeEqual } from './prf.js';

/** Keys of one direction, cut from the key_block (RFC 5246 6.3). */
export interface DirectionKeys {
  macKey: Buffer;
  key: Buffer;
  /** The fixed (implicit) IV: GCM's 4-octet salt (RFC 5288 3), ChaCha20's 12 octets (RFC 7905 2). */
  iv: Buffer;
}

/**
 * Protects or unprotects TLSPlaintext fragments of one direction (RFC 5246 6.2.3). `seq` is
 * the 64-bit sequence number, a bigint so it never wraps silently.
 */
export interface RecordProtection {
  encrypt(type: number, seq: bigint, plaintext: Uint8Array): Uint8Array;
  /**
   * Throws TlsAlert bad_record_mac (for every kind of failure) or record_overflow. Once keys
   * are in use (everything but NULL_PROTECTION) the plaintext returned is new memory the
   * caller owns; `fragment` may be a view of the transport's chunk and is not kept.
   */
  decrypt(type: number, seq: bigint, fragment: Uint8Array): Uint8Array;
  /** Ciphertext expansion at most, for sizing. */
  readonly overhead: number;
  /** The exact length of the protected fragment of `n` plaintext octets. */
  sealedLength(n: number): number;
  /**
   * Protects the plaintext made of `parts` (`length` octets in all) straight into `out` at
   * `offset`, writing exactly `sealedLength(length)` octets (the record's header is the
   * caller's). The same bytes `encrypt` gives for the concatenated parts.
   */
  seal(
    type: number,
    seq: bigint,
    parts: readonly Uint8Array[],
    length: number,
    out: Buffer,
    offset: number,
  ): void;
}

function copyParts(parts: readonly Uint8Array[], out: Buffer, offset: number): number {
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return offset;
}

/** The null protection before ChangeCipherSpec (RFC 5246 6.1: TLS_NULL_WITH_NULL_NULL). */
export const NULL_PROTECTION: RecordProtection = {
  encrypt: (_type, _seq, plaintext) => plaintext,
  decrypt: (_type, _seq, fragment) => fragment,
  overhead: 0,
  sealedLength: (n) => n,
  seal: (_type, _seq, parts, _length, out, offset) => {
    copyParts(parts, out, offset);
  },
};

/**
 * An AEAD direction's scratch: the 13 octets of additional data and the nonce, rewritten for
 * each record (node:crypto copies both when they are handed over), and the key imported once.
 */
interface AeadState {
  readonly key: KeyObject;
  readonly aad: Buffer;
  readonly nonce: Buffer;
}

function aeadState(keys: DirectionKeys): AeadState {
  const nonce = Buffer.alloc(12);
  nonce.set(keys.iv, 0);
  return { key: createSecretKey(keys.key), aad: Buffer.alloc(13), nonce };
}

/** Fills `st.aad` with the additional data of one record (RFC 5246 6.2.3.3) and returns it. */
function aad(st: AeadState, seq: bigint, type: number, length: number): Buffer {
  const b = st.aad;
  b.writeBigUInt64BE(seq, 0);
  b[8] = type;
  b[9] = TLS12 >> 8;
  b[10] = TLS12 & 0xff;
  b[11] = length >> 8;
  b[12] = length & 0xff;
  return b;
}

/** Encrypts `parts` with a fresh AEAD cipher into `out` at `offset`, then the 16-octet tag. */
function aeadSealInto(
  c: CipherGCM | CipherChaCha20Poly1305,
  parts: readonly Uint8Array[],
  out: Buffer,
  offset: number,
): void {
  let off = offset;
  for (const p of parts) {
    const ct = c.update(p);
    out.set(ct, off);
    off += ct.length;
  }
  const tail = c.final();
  if (tail.length > 0) {
    out.set(tail, off);
    off += tail.length;
  }
  out.set(c.getAuthTag(), off);
}

/** Decrypts an AEAD body whose tag and AAD are set; one buffer out, bad_record_mac on any failure. */
function aeadOpen(d: DecipherGCM | DecipherChaCha20Poly1305, body: Uint8Array): Buffer {
  try {
    const plain = d.update(body);
    const tail = d.final();
    return tail.length === 0 ? plain : Buffer.concat([plain, tail]);
  } catch {
    throw badMac();
  }
}

/** seq_num + TLSCompressed.type + version + length: the AEAD additional_data and the MAC prefix (RFC 5246 6.2.3.1, 6.2.3.3). */
function header(seq: bigint, type: number, length: number): Buffer {
  const b = Buffer.alloc(13);
  b.writeBigUInt64BE(seq, 0);
  b[8] = type;
  b.writeUInt16BE(TLS12, 9);
  b.writeUInt16BE(length, 11);
  return b;
}

const badMac = () =>
  fail('bad_record_mac', 'record authentication failed', 'decryption_failed_or_bad_record_mac');

function checkPlainLength(n: number): void {
  if (n > Limits.plaintext)
    throw fail('record_overflow', `decrypted record of ${n} octets`, 'data_length_too_long');
}

const TAG = 16;

/** AES-GCM with a 4-octet salt and an 8-octet explicit nonce sent in each record (RFC 5288 3). */
function gcm(suite: CipherSuite, keys: DirectionKeys): RecordProtection {
  const algo = suite.cipher as 'aes-128-gcm' | 'aes-256-gcm';
  const st = aeadState(keys);
  const p: RecordProtection = {
    overhead: 8 + TAG,
    sealedLength: (n) => 8 + n + TAG,
    seal(type, seq, parts, length, out, offset) {
      // The explicit part is the sequence number: unique per key, as RFC 5288 3 requires.
      out.writeBigUInt64BE(seq, offset);
      st.nonce.writeBigUInt64BE(seq, 4);
      const c = createCipheriv(algo, st.key, st.nonce, { authTagLength: TAG });
      c.setAAD(aad(st, seq, type, length));
      aeadSealInto(c, parts, out, offset + 8);
    },
    encrypt(type, seq, plaintext) {
      const out = Buffer.allocUnsafe(8 + plaintext.length + TAG);
      p.seal(type, seq, [plaintext], plaintext.length, out, 0);
      return out;
    },
    decrypt(type, seq, fragment) {
      if (fragment.length < 8 + TAG) throw badMac();
      const body = fragment.subarray(8, fragment.length - TAG);
      checkPlainLength(body.length);
      st.nonce.set(fragment.subarray(0, 8), 4);
      const d = createDecipheriv(algo, st.key, st.nonce, { authTagLength: TAG });
      d.setAAD(aad(st, seq, type, body.length));
      d.setAuthTag(fragment.subarray(fragment.length - TAG));
      return aeadOpen(d, body);
    },
  };
  return p;
}

/** ChaCha20-Poly1305: nonce = fixed IV XOR the left-padded sequence number, nothing explicit (RFC 7905 2). */
function chacha(keys: DirectionKeys): RecordProtection {
  const st = aeadState(keys);
  const seqBytes = Buffer.alloc(8);
  const nonce = (seq: bigint) => {
    const n = st.nonce;
    seqBytes.writeBigUInt64BE(seq);
    for (let i = 0; i < 8; i++) n[4 + i] = keys.iv[4 + i]! ^ seqBytes[i]!;
    return n;
  };
  const p: RecordProtection = {
    overhead: TAG,
    sealedLength: (n) => n + TAG,
    seal(type, seq, parts, length, out, offset) {
      const c = createCipheriv('chacha20-poly1305', st.key, nonce(seq), { authTagLength: TAG });
      c.setAAD(aad(st, seq, type, length), { plaintextLength: length });
      aeadSealInto(c, parts, out, offset);
    },
    encrypt(type, seq, plaintext) {
      const out = Buffer.allocUnsafe(plaintext.length + TAG);
      p.seal(type, seq, [plaintext], plaintext.length, out, 0);
      return out;
    },
    decrypt(type, seq, fragment) {
      if (fragment.length < TAG) throw badMac();
      const body = fragment.subarray(0, fragment.length - TAG);
      checkPlainLength(body.length);
      const d = createDecipheriv('chacha20-poly1305', st.key, nonce(seq), { authTagLength: TAG });
      d.setAAD(aad(st, seq, type, body.length), { plaintextLength: body.length });
      d.setAuthTag(fragment.subarray(fragment.length - TAG));
      return aeadOpen(d, body);
    },
  };
  return p;
}

const BLOCK = 16;

/** Block size and length-field size of the hash under a CBC suite's HMAC (FIPS 180-4). */
const HASH_GEOMETRY: Record<MacAlgorithm, { block: number; lengthField: number }> = {
  sha1: { block: 64, lengthField: 8 },
  sha256: { block: 64, lengthField: 8 },
  sha384: { block: 128, lengthField: 16 },
};

/**
 * Lucky13 (AlFardan and Paterson, 2013): under MAC-then-encrypt the receiver MACs the record
 * minus its padding, so the time taken says how long the padding was. The countermeasure is
 * constant work: after the real HMAC, hash filler so the compression-function calls add up to
 * what the shortest padding (the longest content) costs. This returns that filler's length:
 * the inner hash of HMAC over `contentLength` octets of content (key block, 13 octets of
 * seq_num/type/version/length, the content, the 0x80 octet and the length field) takes
 * `blocks(contentLength)` calls; the filler is the difference to `blocks(maxContentLength)`,
 * in whole blocks. The outer hash is the same for every record. (Hashing the filler costs one
 * more call to finish, the same every time.)
 */
export function lucky13FillerLength(
  mac: MacAlgorithm,
  contentLength: number,
  maxContentLength: number,
): number {
  const { block, lengthField } = HASH_GEOMETRY[mac];
  const blocks = (n: number) => Math.ceil((block + 13 + n + 1 + lengthField) / block);
  return (blocks(maxContentLength) - blocks(contentLength)) * block;
}

/** Enough zeros for the largest filler: 256 octets of padding at most, plus a partial block. */
const FILLER = Buffer.alloc(512);

/**
 * AES-CBC with HMAC: MAC-then-encrypt (RFC 5246 6.2.3.2) or, when negotiated,
 * encrypt-then-MAC (RFC 7366 3). Each record carries a fresh random IV.
 *
 * Decryption gives the same alert, bad_record_mac, for bad padding and a bad MAC (RFC 5246
 * 6.2.3.2). Encrypt-then-MAC checks the MAC over the ciphertext first, so the padding is
 * only seen in authentic records. MAC-then-encrypt checks the padding without branching on
 * its contents (every one of the last 256 octets is looked at), always computes the MAC
 * (over the content the padding octet implies, or over all but the MAC when the padding
 * cannot fit), and then hashes filler so the number of hash compression-function calls
 * depends only on the record's length, never on its padding (`lucky13FillerLength`). Left
 * over: the JavaScript around node:crypto's HMAC (object set-up, copies whose length depends
 * on the padding) is not constant-time to the cycle, as OpenSSL's ssl3_cbc_digest_record
 * is; hence CBC stays opt-in.
 */
function cbc(
  suite: CipherSuite,
  keys: DirectionKeys,
  encryptThenMac: boolean,
  random: (n: number) => Uint8Array,
): RecordProtection {
  const algo = suite.cipher as 'aes-128-cbc' | 'aes-256-cbc';
  const mac = suite.mac!;
  const macLen = suite.macKeyLength;
  const hmac = (parts: Uint8Array[]) => {
    const h = createHmac(mac, keys.macKey);
    for (const p of parts) h.update(p);
    return h.digest();
  };
  const encryptBlocks = (iv: Uint8Array, data: Uint8Array) => {
    const c = createCipheriv(algo, keys.key, iv);
    c.setAutoPadding(false);
    return Buffer.concat([c.update(data), c.final()]);
  };
  const padding = (n: number) => {
    const padLen = BLOCK - 1 - (n % BLOCK);
    return Buffer.alloc(padLen + 1, padLen);
  };
  const p: RecordProtection = {
    overhead: BLOCK + macLen + BLOCK,
    // The padding is always the shortest (1 to 16 octets), so the length is known in advance.
    sealedLength: (n) =>
      encryptThenMac
        ? BLOCK + n + BLOCK - (n % BLOCK) + macLen
        : BLOCK + n + macLen + BLOCK - ((n + macLen) % BLOCK),
    seal(type, seq, parts, length, out, offset) {
      const plaintext = parts.length === 1 ? parts[0]! : Buffer.concat(parts, length);
      const fragment = p.encrypt(type, seq, plaintext);
      out.set(fragment, offset);
    },
    encrypt(type, seq, plaintext) {
      const iv = random(BLOCK);
      if (encryptThenMac) {
        const body = Buffer.concat([
          iv,
          encryptBlocks(iv, Buffer.concat([plaintext, padding(plaintext.length)])),
        ]);
        return Buffer.concat([body, hmac([header(seq, type, body.length), body])]);
      }
      const m = hmac([header(seq, type, plaintext.length), plaintext]);
      const inner = Buffer.concat([plaintext, m]);
      return Buffer.concat([iv, encryptBlocks(iv, Buffer.concat([inner, padding(inner.length)]))]);
    },
    decrypt(type, seq, fragment) {
      if (encryptThenMac) {
        if (fragment.length < BLOCK * 2 + macLen || (fragment.length - macLen) % BLOCK !== 0) throw badMac();
        const body = fragment.subarray(0, fragment.length - macLen);
        const expected = hmac([header(seq, type, body.length), body]);
        if (!constantTimeEqual(expected, fragment.subarray(body.length))) throw badMac();
        const d = createDecipheriv(algo, keys.key, body.subarray(0, BLOCK));
        d.setAutoPadding(false);
        const plain = Buffer.concat([d.update(body.subarray(BLOCK)), d.final()]);
        const padLen = plain[plain.length - 1]!;
        if (padLen + 1 > plain.length) throw badMac();
        let bad = 0;
        for (let i = plain.length - 1 - padLen; i < plain.length; i++) bad |= plain[i]! ^ padLen;
        if (bad !== 0) throw badMac();
        const out = plain.subarray(0, plain.length - padLen - 1);
        checkPlainLength(out.length);
        return out;
      }
      // The length checks only use what an eavesdropper sees anyway.
      if (fragment.length < BLOCK + Math.max(BLOCK, macLen + 1) || (fragment.length - BLOCK) % BLOCK !== 0) {
        throw badMac();
      }
      const d = createDecipheriv(algo, keys.key, fragment.subarray(0, BLOCK));
      d.setAutoPadding(false);
      const plain = Buffer.concat([d.update(fragment.subarray(BLOCK)), d.final()]);
      const n = plain.length;
      const padLen = plain[n - 1]!;
      // fits is 1 when the padding fits beside the MAC, else 0; pad is padLen or 0, by masking.
      const fits = ((n - (padLen + 1 + macLen)) >>> 31) ^ 1;
      const pad = padLen & -fits;
      // Check the last 256 octets (or all), counting only the ones inside the padding.
      let bad = fits ^ 1;
      for (let i = Math.max(0, n - 256); i < n; i++) {
        const inPad = ((i - (n - 1 - pad)) >>> 31) ^ 1;
        bad |= (plain[i]! ^ pad) & -inPad;
      }
      const maxContentLen = n - 1 - macLen;
      const contentLen = maxContentLen - pad;
      const content = plain.subarray(0, contentLen);
      const expected = hmac([header(seq, type, contentLen), content]);
      createHash(mac)
        .update(FILLER.subarray(0, lucky13FillerLength(mac, contentLen, maxContentLen)))
        .digest();
      const macOk = constantTimeEqual(expected, plain.subarray(contentLen, contentLen + macLen));
      if ((bad | (macOk ? 0 : 1)) !== 0) throw badMac();
      checkPlainLength(contentLen);
      return content;
    },
  };
  return p;
}

/** The protection a suite gives one direction once its ChangeCipherSpec has passed. */
export function createProtection(
  suite: CipherSuite,
  keys: DirectionKeys,
  options: { encryptThenMac: boolean; random: (n: number) => Uint8Array },
): RecordProtection {
  switch (suite.cipher) {
    case 'aes-128-gcm':
    case 'aes-256-gcm':
      return gcm(suite, keys);
    case 'chacha20-poly1305':
      return chacha(keys);
    case 'aes-128-cbc':
    case 'aes-256-cbc':
      return cbc(suite, keys, options.encryptThenMac, options.random);
  }
}

/** Cuts client_write_MAC_key, server_write_MAC_key, client_write_key, server_write_key, client_write_IV, server_write_IV (RFC 5246 6.3). */
export function splitKeyBlock(
  suite: CipherSuite,
  block: Uint8Array,
): { client: DirectionKeys; server: DirectionKeys } {
  const b = Buffer.from(block);
  let off = 0;
  const take = (n: number) => {
    const out = b.subarray(off, off + n);
    off += n;
    return out;
  };
  const cMac = take(suite.macKeyLength);
  const sMac = take(suite.macKeyLength);
  const cKey = take(suite.keyLength);
  const sKey = take(suite.keyLength);
  const cIv = take(suite.fixedIvLength);
  const sIv = take(suite.fixedIvLength);
  return { client: { macKey: cMac, key: cKey, iv: cIv }, server: { macKey: sMac, key: sKey, iv: sIv } };
}

export function keyBlockLength(suite: CipherSuite): number {
  return 2 * (suite.macKeyLength + suite.keyLength + suite.fixedIvLength);
}
