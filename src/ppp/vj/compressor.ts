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
  SLOT_BYTES,
  SPECIAL_D,
  SPECIAL_I,
  TCP_PUSH_BIT,
  TH_ACK,
  TH_FIN,
  TH_PUSH,
  TH_RST,
  TH_SYN,
  TH_URG,
  type VjFrameProtocol,
  type VjParams,
  VjProtocol,
} from './wire.js';

/** Counters of a `VjCompressor`; every packet given to `compress()` is counted in exactly one of the first three. */
export interface VjCompressorStats {
  /** Packets sent as COMPRESSED_TCP. */
  compressed: number;
  /**
   * Packets sent as UNCOMPRESSED_TCP: the first of a connection (or one whose slot was taken
   * by another), a change the compressed form cannot express (TCP options, TOS, TTL...), a
   * jump of 64 KiB or more or backwards (a retransmission), or a repeat of the last header.
   */
  uncompressed: number;
  /**
   * Packets left as plain IP: not TCP, IP options, fragments, SYN, FIN, RST or no ACK, a
   * length or header checksum that does not check (RFC 1144 section 3.2.3).
   */
  ip: number;
  /** Header octets COMPRESSED_TCP saved: original IP+TCP header minus compressed header, summed. */
  savedOctets: number;
}

/** What `compress()` gives back: the PPP protocol to send with, and the information field. */
export interface VjOutput {
  protocol: VjFrameProtocol;
  /** The packet itself for TYPE_IP; a new array otherwise (the input is never modified). */
  bytes: Uint8Array;
}

/**
 * The sending half of RFC 1144 (section 3.2.3, appendix A.2), sans-I/O: an IPv4 packet in,
 * the PPP protocol and information field out. Each TCP connection (source and destination
 * address and port) gets one of `maxSlotId + 1` slots holding the last header sent on it; a
 * new connection takes the least recently used slot and goes out as UNCOMPRESSED_TCP, which
 * loads the peer's copy of the slot. Later segments go out as COMPRESSED_TCP: only what
 * changed, as deltas, and the slot number only when it differs from the last frame's and the
 * peer allowed leaving it out (RFC 1332 Comp-Slot-Id).
 *
 * Only 20-octet IP headers (no options) of unfragmented datagrams are compressed; TCP options
 * must be the same as in the slot's saved header. The TCP checksum is carried unchanged, so
 * the receiver's TCP still checks the reconstructed segment end to end.
 */
export class VjCompressor {
  readonly stats: VjCompressorStats = { compressed: 0, uncompressed: 0, ip: 0, savedOctets: 0 };

  private slotCount = 0;
  private compSlotId = false;
  /** Saved headers, `SLOT_BYTES` per slot. */
  private hdr = new Uint8Array(0);
  /** Length of each slot's saved header; 0 = slot unused. */
  private hlen = new Uint8Array(0);
  /** Source address, destination address, both ports of each slot's connection. */
  private key = new Uint32Array(0);
  /** When each slot was last used, in packets: the least recently used one is taken first. */
  private lastUse = new Float64Array(0);
  private useClock = 0;
  /** The slot of the last UNCOMPRESSED_TCP or COMPRESSED_TCP sent; -1 after a reset. */
  private lastXmit = -1;
  /** Deltas of the packet being compressed, in order U, W, A, S, I. */
  private readonly delta = new Uint8Array(15);
  private deltaLen = 0;
  /** Output arrays are carved from shared slabs (a new ArrayBuffer per packet costs more). */
  private readonly slab = new Slab();

  constructor(params: VjParams = { maxSlotId: 15, compSlotId: true }) {
    this.reset(params);
  }

  /** The parameters in use. */
  get params(): VjParams {
    return { maxSlotId: this.slotCount - 1, compSlotId: this.compSlotId };
  }

  /** Forgets every connection (IPCP came up again), optionally with new parameters. */
  reset(params: VjParams = this.params): void {
    const p = checkVjParams(params);
    const n = p.maxSlotId + 1;
    if (n !== this.slotCount) {
      this.slotCount = n;
      this.hdr = new Uint8Array(n * SLOT_BYTES);
      this.hlen = new Uint8Array(n);
      this.key = new Uint32Array(n * 3);
      this.lastUse = new Float64Array(n);
    } else {
      this.hlen.fill(0);
      this.lastUse.fill(0);
    }
    this.compSlotId = p.compSlotId;
    this.useClock = 0;
    this.lastXmit = -1;
  }

  /** Compresses one IPv4 packet if it can (see the class comment); never throws. */
  compress(p: Uint8Array): VjOutput {
    const n = p.length;
    // RFC 1144 section 3.2.3: only TCP, and here only 20-octet IP headers (0x45: version 4,
    // IHL 5) whose Total Length is the packet, not a fragment (MF or an offset), and whose
    // header checksum holds (the receiver rebuilds it, so a bad one would be repaired).
    if (n < 40 || p[0] !== 0x45 || p[9] !== IPPROTO_TCP || get16(p, 2) !== n) return this.asIp(p);
    if ((get16(p, 6) & 0x3fff) !== 0 || headerSum(p, 0, 20) !== 0xffff) return this.asIp(p);
    const doff = p[32]! >>> 4;
    const hlen = 20 + doff * 4;
    if (doff < 5 || hlen > n) return this.asIp(p);
    // SYN, FIN, RST and segments without ACK go as plain IP and leave the slot alone.
    const flags = p[33]!;
    if ((flags & (TH_SYN | TH_FIN | TH_RST | TH_ACK)) !== TH_ACK) return this.asIp(p);

    const src = get32(p, 12);
    const dst = get32(p, 16);
    const ports = get32(p, 20);
    let slot = this.find(src, dst, ports);
    if (slot < 0) {
      slot = this.leastRecentlyUsed();
      const k = slot * 3;
      this.key[k] = src;
      this.key[k + 1] = dst;
      this.key[k + 2] = ports;
      this.lastUse[slot] = ++this.useClock;
      return this.uncompressed(p, slot, hlen);
    }
    this.lastUse[slot] = ++this.useClock;

    const h = this.hdr;
    const base = slot * SLOT_BYTES;
    // Fields the compressed form does not carry must equal the saved header's (section
    // 3.2.3): version, IHL, TOS; flags and fragment offset; TTL (the protocol is TCP in both);
    // data offset and the reserved bits; ECE/CWR; every TCP option octet.
    if (
      this.hlen[slot] !== hlen ||
      p[1] !== h[base + 1] ||
      p[6] !== h[base + 6] ||
      p[7] !== h[base + 7] ||
      p[8] !== h[base + 8] ||
      p[32] !== h[base + 32] ||
      (flags & 0xc0) !== (h[base + 33]! & 0xc0) ||
      !sameOctets(p, 40, h, base + 40, hlen - 40)
    ) {
      return this.uncompressed(p, slot, hlen);
    }

    this.deltaLen = 0;
    let changes = 0;
    const urp = get16(p, 38);
    if ((flags & TH_URG) !== 0) {
      this.encode(urp);
      changes |= NEW_U;
    } else if (urp !== get16(h, base + 38)) {
      // The urgent pointer changed without URG: the compressed form cannot say so.
      return this.uncompressed(p, slot, hlen);
    }
    const dW = (get16(p, 34) - get16(h, base + 34)) & 0xffff;
    if (dW !== 0) {
      this.encode(dW);
      changes |= NEW_W;
    }
    const dA = (get32(p, 28) - get32(h, base + 28)) >>> 0;
    if (dA !== 0) {
      if (dA > 0xffff) return this.uncompressed(p, slot, hlen); // backwards, or a jump of 64 KiB
      this.encode(dA);
      changes |= NEW_A;
    }
    const dS = (get32(p, 24) - get32(h, base + 24)) >>> 0;
    if (dS !== 0) {
      if (dS > 0xffff) return this.uncompressed(p, slot, hlen); // a retransmission goes back
      this.encode(dS);
      changes |= NEW_S;
    }
    const lastTotal = get16(h, base + 2);
    const lastData = lastTotal - hlen;
    // The special encodings leave URG as the saved header has it in RFC 1144's decompressor
    // (appendix A.3): not usable when the last segment had URG and this one has not.
    const specials = (h[base + 33]! & TH_URG) === 0;
    switch (changes) {
      case 0:
        // Nothing changed. A segment with data right after a pure ACK is ordinary interactive
        // traffic and is compressed; anything else (a retransmission, a repeated ACK, a window
        // probe) goes uncompressed in case the peer lost the compressed one (section 3.2.3).
        if (n !== lastTotal && lastTotal === hlen) break;
        return this.uncompressed(p, slot, hlen);
      case SPECIAL_I:
      case SPECIAL_D:
        // Real changes that look like a special case cannot be sent compressed.
        return this.uncompressed(p, slot, hlen);
      case NEW_S | NEW_A:
        if (specials && dS === dA && dS === lastData) {
          changes = SPECIAL_I; // echoed terminal traffic: both advanced by the last data length
          this.deltaLen = 0;
        }
        break;
      case NEW_S:
        if (specials && dS === lastData) {
          changes = SPECIAL_D; // a bulk transfer: seq advanced by the last data length
          this.deltaLen = 0;
        }
        break;
      default:
        break;
    }
    const dI = (get16(p, 4) - get16(h, base + 4)) & 0xffff;
    if (dI !== 1) {
      this.encode(dI);
      changes |= NEW_I;
    }
    if ((flags & TH_PUSH) !== 0) changes |= TCP_PUSH_BIT;

    h.set(p.subarray(0, hlen), base);
    const withSlot = !this.compSlotId || this.lastXmit !== slot;
    this.lastXmit = slot;
    const dl = this.deltaLen;
    const head = (withSlot ? 4 : 3) + dl;
    const out = this.slab.take(head + n - hlen);
    let o = 0;
    if (withSlot) {
      out[o++] = changes | NEW_C;
      out[o++] = slot;
    } else {
      out[o++] = changes;
    }
    out[o++] = p[36]!; // the TCP checksum, verbatim
    out[o++] = p[37]!;
    for (let i = 0; i < dl; i++) out[o++] = this.delta[i]!;
    out.set(p.subarray(hlen), o);
    this.stats.compressed++;
    this.stats.savedOctets += hlen - head;
    return { protocol: VjProtocol.CompressedTcp, bytes: out };
  }

  /** The slot holding the connection, or -1. The last slot sent on is tried first. */
  private find(src: number, dst: number, ports: number): number {
    const key = this.key;
    const hlen = this.hlen;
    const last = this.lastXmit;
    if (
      last >= 0 &&
      hlen[last] !== 0 &&
      key[last * 3] === src &&
      key[last * 3 + 1] === dst &&
      key[last * 3 + 2] === ports
    ) {
      return last;
    }
    for (let s = 0; s < this.slotCount; s++) {
      const k = s * 3;
      if (hlen[s] !== 0 && key[k] === src && key[k + 1] === dst && key[k + 2] === ports) return s;
    }
    return -1;
  }

  /** An unused slot, else the one used longest ago. */
  private leastRecentlyUsed(): number {
    let best = 0;
    let bestUse = Number.POSITIVE_INFINITY;
    for (let s = 0; s < this.slotCount; s++) {
      if (this.hlen[s] === 0) return s;
      const u = this.lastUse[s]!;
      if (u < bestUse) {
        bestUse = u;
        best = s;
      }
    }
    return best;
  }

  /**
   * UNCOMPRESSED_TCP (section 3.2.3): the packet as it is, its IP Protocol field replaced by
   * the slot number; the header is saved as the slot's reference for the next segments.
   */
  private uncompressed(p: Uint8Array, slot: number, hlen: number): VjOutput {
    this.hdr.set(p.subarray(0, hlen), slot * SLOT_BYTES);
    this.hlen[slot] = hlen;
    this.lastXmit = slot;
    const out = this.slab.copy(p, 0, p.length);
    out[9] = slot;
    this.stats.uncompressed++;
    return { protocol: VjProtocol.UncompressedTcp, bytes: out };
  }

  private asIp(p: Uint8Array): VjOutput {
    this.stats.ip++;
    return { protocol: VjProtocol.Ip, bytes: p };
  }

  /**
   * One delta (section 3.2.2): 1..255 in one octet; 0 and 256..65535 as a zero octet and
   * the value in two (zero needs the long form, since a single zero octet marks it).
   */
  private encode(v: number): void {
    const d = this.delta;
    let i = this.deltaLen;
    if (v >= 1 && v <= 255) {
      d[i++] = v;
    } else {
      d[i++] = 0;
      d[i++] = (v >>> 8) & 0xff;
      d[i++] = v & 0xff;
    }
    this.deltaLen = i;
  }
}

function sameOctets(a: Uint8Array, at: number, b: Uint8Array, bt: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[at + i] !== b[bt + i]) return false;
  return true;
}
