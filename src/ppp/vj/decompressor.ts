import { Slab } from '../hdlc.js';
import {
  checkVjParams,
  get16,
  get32,
  headerSum,
  IPPROTO_TCP,
  NEW_A,
  NEW_C,
  NEW_I,
  NEW_S,
  NEW_U,
  NEW_W,
  put16,
  put32,
  SLOT_BYTES,
  SPECIAL_D,
  SPECIAL_I,
  SPECIALS_MASK,
  TCP_PUSH_BIT,
  TH_PUSH,
  TH_URG,
  type VjParams,
  VjProtocol,
} from './wire.js';

/**
 * Why a frame was dropped:
 * - `tossed`: a COMPRESSED_TCP without a slot number while tossing after an error (RFC 1144
 *   section 4: the saved state may be stale until a frame names its slot again)
 * - `truncated`: the frame ends inside a header or a delta
 * - `bad-slot`: a slot number above the agreed Max-Slot-Id
 * - `unknown-slot`: COMPRESSED_TCP for a slot no UNCOMPRESSED_TCP has loaded
 * - `slot-id-required`: no slot number although we did not allow leaving it out (Comp-Slot-Id 0)
 * - `bad-header`: not a TCP/IPv4 header that checks (version, lengths, header checksum), or
 *   the unused change-mask bit set
 * - `too-long`: the rebuilt packet would exceed `maxPacket`
 */
export type VjDrop =
  | 'tossed'
  | 'truncated'
  | 'bad-slot'
  | 'unknown-slot'
  | 'slot-id-required'
  | 'bad-header'
  | 'too-long';

/** Counters of a `VjDecompressor`: every frame given to `decompress()` is counted once. */
export interface VjDecompressorStats {
  /** COMPRESSED_TCP frames rebuilt into packets. */
  compressed: number;
  /** UNCOMPRESSED_TCP frames accepted (each loads a slot and clears the toss state). */
  uncompressed: number;
  /** COMPRESSED_TCP frames discarded while tossing (RFC 1144 section 4.2). */
  tossed: number;
  /** Frames dropped as errors, by reason (all but `tossed`); each error starts tossing. */
  errors: Record<Exclude<VjDrop, 'tossed'>, number>;
  /** Times tossing began: an error above, or `toss()` from the framing layer. */
  tossEvents: number;
}

export interface VjDecompressorOptions extends VjParams {
  /**
   * The largest packet rebuilt, in octets; a frame that would give more is dropped
   * (`too-long`). Default 65535; the link sets max(MRU, 1500).
   */
  maxPacket?: number;
}

/**
 * The receiving half of RFC 1144 (section 3.2.4, appendix A.3), sans-I/O: the information
 * field of a PPP frame of protocol 0x002f or 0x002d in, the rebuilt IPv4 packet out (or why
 * it was dropped).
 *
 * UNCOMPRESSED_TCP carries a whole packet whose IP Protocol field holds the slot number: the
 * field is set back to TCP, the header checked and saved in the slot. COMPRESSED_TCP names a
 * slot (or reuses the last one), and its deltas are applied to the slot's saved header; the
 * IP Total Length and header checksum are computed afresh, the TCP checksum is the sender's.
 *
 * Errors (RFC 1144 section 4.2): once a frame is lost, deltas that follow would apply to stale
 * state and give wrong packets (which only the TCP checksum might catch). So after a framing
 * error reported by the link (`toss()`: FCS error, abort, runt) or a frame that does not
 * decode, COMPRESSED_TCP frames without a slot number are discarded until one names its slot
 * or an UNCOMPRESSED_TCP arrives; the sender's TCP retransmits, and retransmissions go out
 * uncompressed. The decompressor starts tossing, since it has no state yet.
 *
 * Every read is bounds-checked; a frame is decoded completely before the slot is updated, so a
 * bad frame leaves the saved state as it was. Nothing throws.
 */
export class VjDecompressor {
  readonly stats: VjDecompressorStats = {
    compressed: 0,
    uncompressed: 0,
    tossed: 0,
    errors: {
      truncated: 0,
      'bad-slot': 0,
      'unknown-slot': 0,
      'slot-id-required': 0,
      'bad-header': 0,
      'too-long': 0,
    },
    tossEvents: 0,
  };

  private maxSlotId = 0;
  private compSlotId = false;
  private maxPacket = 0xffff;
  private hdr = new Uint8Array(0);
  /** Length of each slot's saved header; 0 = never loaded. */
  private hlen = new Uint8Array(0);
  private lastRecv = -1;
  private tossing = true;
  /** Read position in the frame being decoded. */
  private pos = 0;
  /** Rebuilt packets are carved from shared slabs (a new ArrayBuffer per packet costs more). */
  private readonly slab = new Slab();

  constructor(options: VjDecompressorOptions = { maxSlotId: 15, compSlotId: true }) {
    this.reset(options);
  }

  /** Whether COMPRESSED_TCP frames without a slot number are being discarded. */
  get isTossing(): boolean {
    return this.tossing;
  }

  get params(): VjParams {
    return { maxSlotId: this.maxSlotId, compSlotId: this.compSlotId };
  }

  /** Forgets every slot (IPCP came up again), optionally with new parameters. */
  reset(options: VjDecompressorOptions = this.params): void {
    const p = checkVjParams(options);
    if (p.maxSlotId !== this.maxSlotId || this.hdr.length === 0) {
      this.hdr = new Uint8Array((p.maxSlotId + 1) * SLOT_BYTES);
      this.hlen = new Uint8Array(p.maxSlotId + 1);
    } else {
      this.hlen.fill(0);
    }
    this.maxSlotId = p.maxSlotId;
    this.compSlotId = p.compSlotId;
    if (options.maxPacket !== undefined) this.maxPacket = Math.max(40, Math.min(0xffff, options.maxPacket));
    this.lastRecv = -1;
    this.tossing = true;
  }

  /** Changes the largest packet rebuilt (the link's MRU may change on renegotiation). */
  setMaxPacket(n: number): void {
    this.maxPacket = Math.max(40, Math.min(0xffff, Math.floor(n)));
  }

  /**
   * The framing layer dropped a frame (FCS error, abort, runt, oversize): it may have been
   * one of ours, so discard COMPRESSED_TCP frames until one names its slot (RFC 1144 section 4.2).
   */
  toss(): void {
    if (!this.tossing) this.stats.tossEvents++;
    this.tossing = true;
  }

  /** Rebuilds the packet of one frame of `protocol` 0x002d or 0x002f, or says why it was dropped. */
  decompress(protocol: number, info: Uint8Array): Uint8Array | VjDrop {
    if (protocol === VjProtocol.UncompressedTcp) return this.uncompressed(info);
    if (protocol === VjProtocol.CompressedTcp) return this.compressed(info);
    return this.error('bad-header');
  }

  private error(why: Exclude<VjDrop, 'tossed'>): VjDrop {
    this.stats.errors[why]++;
    this.toss();
    return why;
  }

  /** UNCOMPRESSED_TCP (section 3.2.4): restore the Protocol field, check, save the header. */
  private uncompressed(info: Uint8Array): Uint8Array | VjDrop {
    const n = info.length;
    if (n < 40) return this.error('truncated');
    const v0 = info[0]!;
    const ihl = (v0 & 0x0f) * 4;
    if (v0 >>> 4 !== 4 || ihl < 20) return this.error('bad-header');
    const slot = info[9]!;
    if (slot > this.maxSlotId) return this.error('bad-slot');
    if (ihl + 20 > n) return this.error('truncated');
    const doff = info[ihl + 12]! >>> 4;
    const hlen = ihl + doff * 4;
    if (doff < 5) return this.error('bad-header');
    if (hlen > n) return this.error('truncated');
    const total = get16(info, 2);
    // Octets past Total Length would be link padding; Total Length past the frame is a lie.
    if (total < hlen) return this.error('bad-header');
    if (total > n) return this.error('truncated');
    if (total > this.maxPacket) return this.error('too-long');
    const out = this.slab.copy(info, 0, total);
    out[9] = IPPROTO_TCP;
    if (headerSum(out, 0, ihl) !== 0xffff) return this.error('bad-header');
    this.hdr.set(out.subarray(0, hlen), slot * SLOT_BYTES);
    this.hlen[slot] = hlen;
    this.lastRecv = slot;
    this.tossing = false;
    this.stats.uncompressed++;
    return out;
  }

  /** COMPRESSED_TCP (section 3.2.4): apply the deltas to the slot's saved header. */
  private compressed(info: Uint8Array): Uint8Array | VjDrop {
    const n = info.length;
    if (n < 3) return this.error('truncated');
    const changes = info[0]!;
    if ((changes & 0x80) !== 0) return this.error('bad-header');
    let slot: number;
    let at = 1;
    if ((changes & NEW_C) !== 0) {
      slot = info[at++]!;
      if (slot > this.maxSlotId) return this.error('bad-slot');
      if (this.hlen[slot] === 0) return this.error('unknown-slot');
    } else {
      if (!this.compSlotId) return this.error('slot-id-required');
      if (this.tossing) {
        this.stats.tossed++;
        return 'tossed';
      }
      slot = this.lastRecv;
      if (slot < 0) return this.error('unknown-slot');
    }
    if (at + 2 > n) return this.error('truncated');
    const cksum = get16(info, at);
    at += 2;

    const h = this.hdr;
    const base = slot * SLOT_BYTES;
    const hlen = this.hlen[slot]!;
    const th = base + (h[base]! & 0x0f) * 4; // the TCP header in the saved header
    let seq = get32(h, th + 4);
    let ack = get32(h, th + 8);
    let win = get16(h, th + 14);
    let urp = get16(h, th + 18);
    let tflags = h[th + 13]!;
    let id = get16(h, base + 4);
    const lastData = get16(h, base + 2) - hlen;

    this.pos = at;
    switch (changes & SPECIALS_MASK) {
      case SPECIAL_I:
        seq = (seq + lastData) >>> 0;
        ack = (ack + lastData) >>> 0;
        tflags &= ~TH_URG;
        break;
      case SPECIAL_D:
        seq = (seq + lastData) >>> 0;
        tflags &= ~TH_URG;
        break;
      default: {
        if ((changes & NEW_U) !== 0) {
          const v = this.delta(info);
          if (v < 0) return this.error('truncated');
          tflags |= TH_URG;
          urp = v;
        } else {
          tflags &= ~TH_URG;
        }
        if ((changes & NEW_W) !== 0) {
          const v = this.delta(info);
          if (v < 0) return this.error('truncated');
          win = (win + v) & 0xffff;
        }
        if ((changes & NEW_A) !== 0) {
          const v = this.delta(info);
          if (v < 0) return this.error('truncated');
          ack = (ack + v) >>> 0;
        }
        if ((changes & NEW_S) !== 0) {
          const v = this.delta(info);
          if (v < 0) return this.error('truncated');
          seq = (seq + v) >>> 0;
        }
      }
    }
    if ((changes & NEW_I) !== 0) {
      const v = this.delta(info);
      if (v < 0) return this.error('truncated');
      id = (id + v) & 0xffff;
    } else {
      id = (id + 1) & 0xffff;
    }
    if ((changes & TCP_PUSH_BIT) !== 0) tflags |= TH_PUSH;
    else tflags &= ~TH_PUSH;
    at = this.pos;
    const total = hlen + (n - at);
    if (total > this.maxPacket) return this.error('too-long');

    // The frame decoded: only now does the slot change (a bad frame leaves it as it was).
    if ((changes & NEW_C) !== 0) {
      this.lastRecv = slot;
      this.tossing = false;
    }
    put16(h, base + 2, total);
    put16(h, base + 4, id);
    put16(h, base + 10, 0);
    put16(h, base + 10, ~headerSum(h, base, th - base) & 0xffff);
    put32(h, th + 4, seq);
    put32(h, th + 8, ack);
    h[th + 13] = tflags;
    put16(h, th + 14, win);
    put16(h, th + 16, cksum);
    put16(h, th + 18, urp);
    const out = this.slab.take(total);
    out.set(h.subarray(base, base + hlen));
    out.set(info.subarray(at), hlen);
    this.stats.compressed++;
    return out;
  }

  /** One delta at `pos` (section 3.2.2: one octet 1..255, or 0 then two octets); -1 if truncated. */
  private delta(info: Uint8Array): number {
    const i = this.pos;
    if (i >= info.length) return -1;
    const b = info[i]!;
    if (b !== 0) {
      this.pos = i + 1;
      return b;
    }
    if (i + 3 > info.length) return -1;
    this.pos = i + 3;
    return (info[i + 1]! << 8) | info[i + 2]!;
  }
}
