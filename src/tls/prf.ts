import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** The PRF hash of a cipher suite: SHA-256 unless the suite says SHA-384 (RFC 5246 5). */
export type PrfHash = 'sha256' | 'sha384';

const enc = new TextEncoder();

/**
 * P_hash(secret, seed) = HMAC(secret, A(1) + seed) + HMAC(secret, A(2) + seed) + ...,
 * A(0) = seed, A(i) = HMAC(secret, A(i-1)) (RFC 5246 5), cut to `length` octets.
 */
export function pHash(hash: PrfHash, secret: Uint8Array, seed: Uint8Array, length: number): Buffer {
  const out = Buffer.alloc(length);
  let a: Buffer = createHmac(hash, secret).update(seed).digest();
  let off = 0;
  while (off < length) {
    const block = createHmac(hash, secret).update(a).update(seed).digest();
    off += block.copy(out, off);
    a = createHmac(hash, secret).update(a).digest();
  }
  return out;
}

/** PRF(secret, label, seed) = P_<hash>(secret, label + seed) (RFC 5246 5). */
export function prf(
  hash: PrfHash,
  secret: Uint8Array,
  label: string,
  seed: Uint8Array,
  length: number,
): Buffer {
  return pHash(hash, secret, Buffer.concat([enc.encode(label), seed]), length);
}

/** master_secret = PRF(pre_master_secret, "master secret", ClientHello.random + ServerHello.random)[0..47] (RFC 5246 8.1). */
export function masterSecret(
  hash: PrfHash,
  preMasterSecret: Uint8Array,
  clientRandom: Uint8Array,
  serverRandom: Uint8Array,
): Buffer {
  return prf(hash, preMasterSecret, 'master secret', Buffer.concat([clientRandom, serverRandom]), 48);
}

/**
 * master_secret = PRF(pre_master_secret, "extended master secret", session_hash)[0..47]
 * (RFC 7627 4), session_hash being Hash(handshake messages up to and including ClientKeyExchange).
 */
export function extendedMasterSecret(
  hash: PrfHash,
  preMasterSecret: Uint8Array,
  sessionHash: Uint8Array,
): Buffer {
  return prf(hash, preMasterSecret, 'extended master secret', sessionHash, 48);
}

/** key_block = PRF(master_secret, "key expansion", server_random + client_random) (RFC 5246 6.3). */
export function keyBlock(
  hash: PrfHash,
  master: Uint8Array,
  clientRandom: Uint8Array,
  serverRandom: Uint8Array,
  length: number,
): Buffer {
  return prf(hash, master, 'key expansion', Buffer.concat([serverRandom, clientRandom]), length);
}

/** verify_data = PRF(master_secret, finished_label, Hash(handshake_messages))[0..11] (RFC 5246 7.4.9). */
export function verifyData(
  hash: PrfHash,
  master: Uint8Array,
  sender: 'client' | 'server',
  transcriptHash: Uint8Array,
): Buffer {
  return prf(hash, master, `${sender} finished`, transcriptHash, 12);
}

/** Compares two secrets without a data-dependent early exit (lengths are public). */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The running hash of the handshake messages (RFC 5246 7.4.9). The hash is only known once
 * ServerHello picks the suite, so messages are kept until then; afterwards the buffer is
 * dropped except when a CertificateVerify still has to sign the raw transcript.
 */
export class Transcript {
  private messages: Uint8Array[] = [];
  private hash: ReturnType<typeof createHash> | undefined;
  private keepRaw = true;

  add(message: Uint8Array): void {
    if (this.keepRaw) this.messages.push(message);
    this.hash?.update(message);
  }

  /** Fixes the hash function (after ServerHello). */
  start(hash: PrfHash): void {
    this.hash = createHash(hash);
    for (const m of this.messages) this.hash.update(m);
  }

  /** Stops keeping the raw messages (no CertificateVerify will need them). */
  dropRaw(): void {
    this.keepRaw = false;
    this.messages = [];
  }

  /** Hash of everything so far (the running hash continues). */
  digest(): Buffer {
    if (!this.hash) throw new RangeError('transcript hash not started');
    return this.hash.copy().digest();
  }

  /** Every message so far, concatenated (what CertificateVerify signs, RFC 5246 7.4.8). */
  raw(): Buffer {
    return Buffer.concat(this.messages);
  }
}
