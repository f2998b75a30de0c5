import { ConfigError } from '../util/errors.js';
import { FCS16_GOOD, FCS16_INIT, fcs16 } from './fcs.js';

/**
 * PPP in HDLC-like framing over an asynchronous byte stream (RFC 1662 section 4): the Flag
 * Sequence delimits frames, the Control Escape octet makes the Flag, itself and the control
 * characters named by the ACCM transparent, and the 16-bit FCS (appendix C.2, `fcs.ts`) ends
 * every frame. Both halves are sans-I/O: `HdlcEncoder.encode()` turns one PPP frame into wire
 * bytes, `HdlcDecoder.push()` turns any chunking of wire bytes back into frames.
 *
 * A "frame" on the API is what RFC 1662 section 3.1 draws between the Flags minus the FCS:
 * Address 0xff, Control 0x03, Protocol, Information and Padding, or, when Address-and-Control-
 * Field-Compression is in use (RFC 1661 section 6.6), the frame starts at the Protocol field.
 *
 * Speed: the inner loops index typed arrays only (a 256-entry class table, the frame buffer),
 * keep their state in locals, allocate nothing per byte and have no data-dependent branch
 * (escapes are as random as the data). The encoder escapes in one pass straight into the
 * caller's buffer (`encodeInto`) or into a reused scratch array copied once into the result
 * (`encode`); the decoder unescapes in one pass into its frame buffer. The FCS runs as a
 * separate pass over the unescaped octets, eight at a time (`fcs16`, slicing-by-8), which is
 * faster than folding the table's serial dependency into the escape loop. Each result is one
 * array carved from a shared slab (`Slab`). `bench/hdlc.mjs` measures it.
 */

/** Flag Sequence (RFC 1662 section 4.1). */
export const HDLC_FLAG = 0x7e;
/** Control Escape octet (RFC 1662 section 4.2). */
export const HDLC_ESCAPE = 0x7d;
/** What an escaped octet is exclusive-or'd with (RFC 1662 section 4.2). */
export const HDLC_TRANS = 0x20;
/** The ACCM before LCP negotiates one: every control character escaped (RFC 1662 section 7.1). */
export const DEFAULT_ACCM = 0xffffffff;
/** The default MRU and the size every implementation must accept (RFC 1661 section 6.1). */
export const DEFAULT_MRU = 1500;
/**
 * The shortest valid frame between Flags, FCS included: "Frames which are too short (less than
 * 4 octets when using the 16-bit FCS) ... are silently discarded, and not counted as a FCS
 * error" (RFC 1662 section 4.3). That leaves at least two octets of content, enough for a
 * two-octet Protocol field, or a compressed one (PFC) and one octet of Information.
 */
export const MIN_FRAME = 4;
/** Octets a frame carries besides the Information field: Address, Control, Protocol (2), FCS (2). */
export const FRAME_OVERHEAD = 6;
/** The largest `maxFrame` accepted: the 16-bit MRU maximum plus the overhead. */
const MAX_MAX_FRAME = 0xffff + FRAME_OVERHEAD;

/**
 * The decoder's `maxFrame` for a negotiated MRU: `max(mru, 1500) + 6`, that is the Information
 * field (MRU), Address and Control (2), an uncompressed Protocol field (2) and the FCS (2).
 * RFC 1661 section 6.1 requires an implementation that asked for a smaller MRU to "still be
 * able to receive the full 1500 octet information field", hence the floor of 1500.
 * ACFC and PFC only make frames shorter, so the bound holds with or without them.
 */
export function maxFrameForMru(mru: number): number {
  if (!Number.isInteger(mru) || mru < 0 || mru > 0xffff)
    throw new ConfigError(`MRU ${mru} is not in 0..65535`);
  return Math.max(mru, DEFAULT_MRU) + FRAME_OVERHEAD;
}

/**
 * The most wire octets `encode()` can produce for a frame of `frameLength` octets: two Flags,
 * and every octet of the frame and of the FCS escaped.
 */
export function maxEncodedLength(frameLength: number): number {
  return 2 + 2 * (frameLength + 2);
}

function checkAccm(map: number, what: string): number {
  if (!Number.isInteger(map) || map < -0x80000000 || map > 0xffffffff) {
    throw new ConfigError(`${what} ${map} is not a 32-bit map`);
  }
  return map >>> 0;
}

/**
 * The escape table of a transmitter: 1 for every octet sent as Control Escape + octet ^ 0x20.
 * RFC 1662 section 4.2: the Flag and the Control Escape always, a control character 0x00-0x1f
 * when its bit is set in the ACCM (bit n stands for character n, section 7.1), and whatever
 * else the implementation chooses to escape (`extra`).
 */
function escapeTable(accm: number, extra: readonly number[]): Uint8Array {
  const table = new Uint8Array(256);
  for (let c = 0; c < 32; c++) table[c] = (accm >>> c) & 1;
  for (const c of extra) table[c] = 1;
  table[HDLC_FLAG] = 1;
  table[HDLC_ESCAPE] = 1;
  return table;
}

/**
 * Hands out frame-sized arrays carved from shared 16 KiB ArrayBuffers, the way
 * `Buffer.allocUnsafe` uses its pool: a new ArrayBuffer costs a trip into the engine (more than
 * encoding a short frame), a view onto an existing one does not. Arrays above 2 KiB get their
 * own ArrayBuffer, so a retained array pins at most 16 KiB. Each array is zeroed memory that no
 * other array overlaps; only `.buffer` is shared.
 */
export class Slab {
  static readonly SIZE = 16 * 1024;
  static readonly MAX_POOLED = 2 * 1024;
  private buffer = new ArrayBuffer(Slab.SIZE);
  private used = 0;

  take(n: number): Uint8Array {
    if (n > Slab.MAX_POOLED) return new Uint8Array(n);
    if (this.used + n > Slab.SIZE) {
      this.buffer = new ArrayBuffer(Slab.SIZE);
      this.used = 0;
    }
    const out = new Uint8Array(this.buffer, this.used, n);
    this.used += (n + 7) & ~7; // keep the next array 8-aligned
    return out;
  }

  /** A copy of `src[start..end)` in an array from `take()`. */
  copy(src: Uint8Array, start: number, end: number): Uint8Array {
    const out = this.take(end - start);
    out.set(src.subarray(start, end));
    return out;
  }
}

/** Counters of an `HdlcEncoder`. */
export interface HdlcEncoderStats {
  /** Frames encoded. */
  frames: number;
  /** Frame octets given to `encode()`/`encodeInto()` (without FCS). */
  bytesIn: number;
  /** Wire octets produced: Flags, escapes and FCS included. */
  bytesOut: number;
  /** Octets sent escaped (each cost one extra wire octet). */
  escapes: number;
}

export interface HdlcEncoderOptions {
  /**
   * The 32-bit ACCM the peer asked for: bit n set means control character n is sent escaped.
   * Default 0xffffffff (every control character escaped) until LCP negotiates the
   * Async-Control-Character-Map option (RFC 1662 section 7.1); then call `setAccm()`.
   */
  accm?: number;
  /**
   * More octets to escape whatever the ACCM says, like pppd's `escape` option, for a link that
   * mangles 0x7f or 0xff for example (a receiver unescapes any octet after a Control Escape,
   * RFC 1662 section 4.2, so a sender may escape more than the ACCM asks). 0x20-0x3f and 0x5e
   * cannot be listed: escaped, they would become a control character the receiver may delete
   * (its receive ACCM) or a Flag (0x5e ^ 0x20).
   */
  extraEscapes?: readonly number[];
  /**
   * Let back-to-back frames share one Flag: when true, a frame encoded right after another one
   * omits its opening Flag and relies on the previous frame's closing Flag ("Only one Flag
   * Sequence is required between two frames", RFC 1662 section 3.1). The first frame, and the
   * first after `markIdle()`, still opens with a Flag: call `markIdle()` when the line has been
   * quiet (section 4.4.2 suggests an opening Flag when about a second has passed since the last
   * one, as pppd and the BSD drivers do) so that noise received meanwhile ends up in a runt or
   * bad frame of its own instead of being glued to the front of the next frame.
   * Default false: every frame opens with its own Flag, which costs one octet per frame.
   */
  sharedFlags?: boolean;
  /**
   * Send LCP Configure-Request .. Code-Reject (codes 1-7) with every control character escaped
   * whatever the ACCM, as the Linux and BSD async PPP drivers do: such packets may be read by a
   * peer that has just restarted LCP and so is back to the default receive ACCM (RFC 1662
   * section 7.1, default all ones). Recognised by an uncompressed header 0xff 0x03 0xc0 0x21,
   * which LCP always has (RFC 1661 section 6.6). Default true.
   */
  lcpDefaultAccm?: boolean;
}

/**
 * The transmitting half of RFC 1662 section 4: frame in, wire octets out.
 *
 * Each encoded frame is: opening Flag (unless shared), the frame's octets with the Flag, the
 * Control Escape and the ACCM's control characters escaped, the FCS (ones' complement, least
 * significant octet first, RFC 1662 section 3.1 and appendix C.2) escaped likewise, closing Flag.
 */
export class HdlcEncoder {
  readonly stats: HdlcEncoderStats = { frames: 0, bytesIn: 0, bytesOut: 0, escapes: 0 };

  private accmValue: number;
  private readonly extra: readonly number[];
  private table: Uint8Array;
  private readonly lcpTable: Uint8Array | undefined;
  private readonly sharedFlags: boolean;
  /** A closing Flag was the last octet sent and no `markIdle()` came since. */
  private flagOpen = false;
  private scratch = new Uint8Array(0);
  private readonly slab = new Slab();

  constructor(options: HdlcEncoderOptions = {}) {
    this.accmValue = checkAccm(options.accm ?? DEFAULT_ACCM, 'ACCM');
    const extra = [...new Set(options.extraEscapes ?? [])];
    for (const c of extra) {
      if (!Number.isInteger(c) || c < 0 || c > 0xff) throw new ConfigError(`escape ${c} is not an octet`);
      if ((c >= 0x20 && c <= 0x3f) || c === 0x5e) {
        throw new ConfigError(
          `octet 0x${c.toString(16)} cannot be escaped (it would arrive as 0x${(c ^ HDLC_TRANS).toString(16)})`,
        );
      }
    }
    this.extra = extra;
    this.table = escapeTable(this.accmValue, extra);
    this.lcpTable = options.lcpDefaultAccm === false ? undefined : escapeTable(DEFAULT_ACCM, extra);
    this.sharedFlags = options.sharedFlags ?? false;
  }

  /** The send ACCM in use. */
  get accm(): number {
    return this.accmValue;
  }

  /** Applies the ACCM the peer negotiated (its Async-Control-Character-Map, RFC 1662 section 7.1). */
  setAccm(map: number): void {
    this.accmValue = checkAccm(map, 'ACCM');
    this.table = escapeTable(this.accmValue, this.extra);
  }

  /** With `sharedFlags`: the line went idle, so the next frame opens with its own Flag again. */
  markIdle(): void {
    this.flagOpen = false;
  }

  /** The exact number of wire octets `encode(frame)` would produce now. */
  encodedLength(frame: Uint8Array): number {
    const table = this.tableFor(frame);
    const n = frame.length;
    let escapes = 0;
    for (let i = 0; i < n; i++) escapes += table[frame[i]!]!;
    const fcs = ~fcs16(FCS16_INIT, frame) & 0xffff;
    const opening = this.sharedFlags && this.flagOpen ? 0 : 1;
    return opening + n + escapes + 2 + table[fcs & 0xff]! + table[fcs >>> 8]! + 1;
  }

  /**
   * Encodes one frame (no FCS: it is computed here) into a new array of its exact size. Small
   * results are carved from shared slabs (see `Slab`), so `.buffer` is not the frame alone.
   */
  encode(frame: Uint8Array): Uint8Array {
    const scratch = this.scratchFor(frame.length);
    const length = this.fill(frame, this.tableFor(frame), scratch, 0);
    const out = this.slab.take(length);
    out.set(scratch.subarray(0, length));
    this.commit(frame.length, length);
    return out;
  }

  /**
   * Encodes one frame into `out` at `offset` and returns the number of octets written, for a
   * shell that batches several frames into one write. Throws a `ConfigError` (and changes
   * nothing) when they do not fit; `maxEncodedLength()` gives a room that always fits.
   */
  encodeInto(frame: Uint8Array, out: Uint8Array, offset: number): number {
    if (!Number.isInteger(offset) || offset < 0 || offset > out.length) {
      throw new ConfigError(`offset ${offset} is outside an array of ${out.length}`);
    }
    const table = this.tableFor(frame);
    let length: number;
    if (out.length - offset >= maxEncodedLength(frame.length)) {
      length = this.fill(frame, table, out, offset);
    } else {
      // Not room for the worst case: encode aside, then copy if the actual length fits.
      const scratch = this.scratchFor(frame.length);
      length = this.fill(frame, table, scratch, 0);
      if (offset + length > out.length) {
        throw new ConfigError(`encoded frame of ${length} octets does not fit at ${offset} in ${out.length}`);
      }
      out.set(scratch.subarray(0, length), offset);
    }
    this.commit(frame.length, length);
    return length;
  }

  private tableFor(frame: Uint8Array): Uint8Array {
    const lcp = this.lcpTable;
    if (
      lcp !== undefined &&
      frame.length >= 5 &&
      frame[0] === 0xff &&
      frame[1] === 0x03 &&
      frame[2] === 0xc0 &&
      frame[3] === 0x21 &&
      frame[4]! >= 1 &&
      frame[4]! <= 7
    ) {
      return lcp;
    }
    return this.table;
  }

  /** A scratch array with room for the worst case of a frame of `n` octets (kept and reused). */
  private scratchFor(n: number): Uint8Array {
    const need = maxEncodedLength(n);
    if (this.scratch.length < need) this.scratch = new Uint8Array(Math.max(need, this.scratch.length * 2));
    return this.scratch;
  }

  /**
   * Writes opening Flag (unless shared), escaped frame, escaped FCS and closing Flag into `out`
   * from `offset`, which must have room for `maxEncodedLength(frame.length)`; returns the octets
   * written. Changes no state (see `commit()`).
   */
  private fill(frame: Uint8Array, table: Uint8Array, out: Uint8Array, offset: number): number {
    const n = frame.length;
    let o = offset;
    if (!(this.sharedFlags && this.flagOpen)) out[o++] = HDLC_FLAG;
    // Branch-free escaping (escapes are random in random data, so a branch would mispredict):
    // write Control Escape, then the octet either over it (e = 0) or after it, xor'd (e = 1).
    // A local constant: the loop reads no module binding.
    const esc = 0x7d;
    for (let i = 0; i < n; i++) {
      const b = frame[i]!;
      const e = table[b]!;
      out[o] = esc;
      out[o + e] = b ^ (e << 5);
      o += 1 + e;
    }
    // The FCS: ones' complement, least significant octet first (RFC 1662 section 3.1, C.2).
    const fcs = ~fcs16(FCS16_INIT, frame) & 0xffff;
    // Branch-free as well: a branch that is rarely taken has no type feedback, and the first
    // time it runs the optimised code is thrown away.
    const lo = fcs & 0xff;
    const hi = fcs >>> 8;
    let e = table[lo]!;
    out[o] = esc;
    out[o + e] = lo ^ (e << 5);
    o += 1 + e;
    e = table[hi]!;
    out[o] = esc;
    out[o + e] = hi ^ (e << 5);
    o += 1 + e;
    out[o] = HDLC_FLAG;
    return o + 1 - offset;
  }

  private commit(frameLength: number, wireLength: number): void {
    const opening = this.sharedFlags && this.flagOpen ? 0 : 1;
    this.flagOpen = true;
    const stats = this.stats;
    stats.frames++;
    stats.bytesIn += frameLength;
    stats.bytesOut += wireLength;
    stats.escapes += wireLength - opening - frameLength - 3;
  }
}

/** Counters of an `HdlcDecoder`. Every dropped frame is counted in exactly one of the drop counters. */
export interface HdlcStats {
  /** Wire octets given to `push()`. */
  bytesIn: number;
  /** Frames delivered (a good FCS, at least `MIN_FRAME` octets, no larger than `maxFrame`). */
  frames: number;
  /** Frames dropped because the FCS did not check (RFC 1662 section 4.3, appendix C.2). */
  fcsErrors: number;
  /**
   * Frames dropped because they grew past `maxFrame` octets (after unescaping, FCS included);
   * counted when the limit is crossed, the rest is discarded up to the next Flag.
   */
  oversize: number;
  /** Frames dropped for being shorter than `MIN_FRAME` (4) octets with the FCS (RFC 1662 section 4.3). */
  runts: number;
  /**
   * Frames dropped because they ended in Control Escape followed by the Flag, the abort
   * sequence (RFC 1662 sections 4.2 and 4.3).
   */
  aborts: number;
  /**
   * Wire octets that did not end up in a delivered frame, Flags not counted: whatever came
   * before the first Flag (modem text such as `CONNECT`), every octet of a dropped frame, and
   * the receive-ACCM characters deleted from good frames (RFC 1662 section 4.2).
   */
  discardedBytes: number;
}

export interface HdlcDecoderOptions {
  /**
   * The largest frame accepted, in octets after unescaping and counting the FCS: from Address
   * (or Protocol with ACFC) to the last FCS octet. Default `maxFrameForMru(1500)` = 1506; when
   * LCP settles our MRU, set `maxFrameForMru(mru)` = max(MRU, 1500) + 6 (see there). The
   * decoder buffers no more than this.
   */
  maxFrame?: number;
  /**
   * Our receive ACCM: bit n set means control character n, when it arrives unescaped, was
   * inserted by equipment on the path (XON/XOFF flow control...) and is deleted before the FCS
   * is computed (RFC 1662 section 4.2). Default 0xffffffff, since the peer escapes every control
   * character until LCP negotiates our Async-Control-Character-Map (RFC 1662 section 7.1); then
   * call `setReceiveAccm()` with the map we asked for.
   */
  receiveAccm?: number;
}

/** Decoder states: before the first Flag or after an oversize frame, octets are discarded up to a Flag. */
const HUNT = 0;
const IN_FRAME = 1;
const DROP = 2;

/**
 * The receiving half of RFC 1662 section 4: wire octets in any chunking, frames out.
 *
 * Octets before the first Flag are discarded (the modem's `CONNECT` line and such). Between
 * two Flags, Control Escape is removed and the next octet exclusive-or'd with 0x20 (section
 * 4.2), and control characters in the receive ACCM that arrive unescaped are deleted. At the
 * closing Flag the frame is delivered without its FCS, or dropped and counted: abort sequence
 * (Control Escape then Flag), runt (fewer than 4 octets), FCS error. Two Flags in a row make an
 * empty frame, which is ignored and counted nowhere (section 3.1: "silently discarded, and not
 * counted as a FCS error"). A frame growing past `maxFrame` is counted as oversize and the
 * octets up to the next Flag are discarded. After any error the decoder is in step again at the
 * next Flag. Every dropped frame is counted in exactly one of `fcsErrors`, `oversize`, `runts`,
 * `aborts`; every octet in at most one of a delivered frame, `discardedBytes`, or a Flag.
 *
 * Control Escape followed by Control Escape is taken as the escaped octet 0x5d, as the Linux
 * driver does; no other escape is invalid (section 4.2 unescapes whatever octet follows), so
 * there is no separate escape-error counter: a damaged escape shows up as an FCS error.
 */
export class HdlcDecoder {
  readonly stats: HdlcStats = {
    bytesIn: 0,
    frames: 0,
    fcsErrors: 0,
    oversize: 0,
    runts: 0,
    aborts: 0,
    discardedBytes: 0,
  };

  private buf: Uint8Array;
  private maxFrameValue: number;
  private receiveAccmValue: number;
  /** Octet classes, see `buildKind()`. */
  private readonly kind = new Uint8Array(256);
  private readonly slab = new Slab();
  private state = HUNT;
  private len = 0;
  /** 1 after a Control Escape whose octet has not come yet. */
  private escaped = 0;
  /** Wire octets of the current frame seen in earlier chunks. */
  private carried = 0;
  /** Receive-ACCM characters deleted from the current frame. */
  private deleted = 0;

  constructor(options: HdlcDecoderOptions = {}) {
    this.maxFrameValue = HdlcDecoder.checkMaxFrame(options.maxFrame ?? maxFrameForMru(DEFAULT_MRU));
    this.buf = new Uint8Array(this.maxFrameValue);
    this.receiveAccmValue = checkAccm(options.receiveAccm ?? DEFAULT_ACCM, 'receive ACCM');
    this.buildKind();
  }

  get maxFrame(): number {
    return this.maxFrameValue;
  }

  get receiveAccm(): number {
    return this.receiveAccmValue;
  }

  /** Octets of the frame in progress held in the buffer (never more than `maxFrame`). */
  get bufferedBytes(): number {
    return this.len;
  }

  /**
   * Changes the largest frame accepted (see `maxFrameForMru()`). A frame in progress that is
   * already longer is dropped as oversize.
   */
  setMaxFrame(n: number): void {
    const max = HdlcDecoder.checkMaxFrame(n);
    if (max === this.maxFrameValue) return;
    const buf = new Uint8Array(max);
    if (this.state === IN_FRAME && this.len > max) {
      this.stats.oversize++;
      this.stats.discardedBytes += this.carried;
      this.state = DROP;
      this.len = 0;
    } else if (this.state === IN_FRAME) {
      buf.set(this.buf.subarray(0, this.len));
    }
    this.buf = buf;
    this.maxFrameValue = max;
  }

  /** Applies our negotiated receive ACCM (RFC 1662 sections 4.2 and 7.1). */
  setReceiveAccm(map: number): void {
    this.receiveAccmValue = checkAccm(map, 'receive ACCM');
    this.buildKind();
  }

  /** Forgets any frame in progress and waits for a Flag again (a new data session). */
  reset(): void {
    this.state = HUNT;
    this.len = 0;
    this.escaped = 0;
    this.carried = 0;
    this.deleted = 0;
  }

  /**
   * Feeds wire octets; returns every frame completed by them that passed the checks, without
   * its FCS, each in its own new array (the chunk is not retained). State carries over between
   * calls, so any split of a byte stream gives the same frames.
   *
   * `badFrames`, when given, gets one entry per frame dropped in this call (FCS error, abort,
   * runt, oversize): the number of good frames returned before it. A receiver whose state
   * depends on every frame arriving (VJ header compression, RFC 1144 section 4) learns where
   * in the sequence a frame was lost.
   */
  push(chunk: Uint8Array, badFrames?: number[]): Uint8Array[] {
    const frames: Uint8Array[] = [];
    const stats = this.stats;
    const n = chunk.length;
    stats.bytesIn += n;
    const kind = this.kind;
    const buf = this.buf;
    const max = this.maxFrameValue;
    let state = this.state;
    let len = this.len;
    let escaped = this.escaped;
    let carried = this.carried;
    let deleted = this.deleted;
    /** Where the current frame's octets begin in this chunk. */
    let segStart = 0;
    let i = 0;
    while (i < n) {
      if (state !== IN_FRAME) {
        // HUNT or DROP: discard up to the next Flag, where frames begin again (RFC 1662 4.1, 4.3).
        const f = chunk.indexOf(HDLC_FLAG, i);
        if (f < 0) {
          stats.discardedBytes += n - i;
          i = n;
          break;
        }
        stats.discardedBytes += f - i;
        state = IN_FRAME;
        len = 0;
        escaped = 0;
        carried = 0;
        deleted = 0;
        i = f + 1;
        segStart = i;
        continue;
      }
      // The inner loop: ordinary octets and Control Escapes, branch-free (escapes are as random
      // as the data): the octet is stored xor'd with 0x20 when it follows a Control Escape, and
      // a Control Escape that is not itself escaped is stored over by the next octet. It stops at
      // a Flag or a receive-ACCM character, or after as many octets as `buf` still has room for.
      let stop = i + (max - len);
      if (stop > n) stop = n;
      for (; i < stop; i++) {
        const b = chunk[i]!;
        const k = kind[b]!;
        if (k > 1) break;
        buf[len] = b ^ (escaped << 5);
        const drop = k & (escaped ^ 1);
        len += drop ^ 1;
        escaped = drop;
      }
      if (i === n) break;
      const b = chunk[i]!;
      const k = kind[b]!;
      if (k <= 1) {
        // Stopped by the room left in `buf`.
        if (len < max) continue; // escapes took no room: go on
        if (k === 1 && escaped === 0) {
          escaped = 1; // may still be the abort sequence
          i++;
          continue;
        }
        // The frame grew past maxFrame: drop it, discard up to the next Flag.
        stats.oversize++;
        badFrames?.push(frames.length);
        stats.discardedBytes += carried + (i - segStart);
        state = DROP;
        len = 0;
        continue;
      }
      if (b !== HDLC_FLAG) {
        // A receive-ACCM character: inserted on the path, deleted (RFC 1662 section 4.2).
        deleted++;
        i++;
        continue;
      }
      // The closing Flag (RFC 1662 section 4.1); it also opens the next frame.
      const wire = carried + (i - segStart);
      if (escaped !== 0) {
        stats.aborts++;
        stats.discardedBytes += wire;
        badFrames?.push(frames.length);
      } else if (len === 0) {
        // Two Flags in a row (or only deleted characters between them): nothing to count.
        stats.discardedBytes += wire;
      } else if (len < MIN_FRAME) {
        stats.runts++;
        stats.discardedBytes += wire;
        badFrames?.push(frames.length);
      } else if (fcs16(FCS16_INIT, buf, 0, len) !== FCS16_GOOD) {
        stats.fcsErrors++;
        stats.discardedBytes += wire;
        badFrames?.push(frames.length);
      } else {
        stats.frames++;
        stats.discardedBytes += deleted;
        frames.push(this.slab.copy(buf, 0, len - 2));
      }
      len = 0;
      escaped = 0;
      carried = 0;
      deleted = 0;
      i++;
      segStart = i;
    }
    if (state === IN_FRAME) carried += n - segStart;
    this.state = state;
    this.len = len;
    this.escaped = escaped;
    this.carried = carried;
    this.deleted = deleted;
    return frames;
  }

  /** Octet classes for the inner loop: 0 ordinary, 1 Control Escape, 2 Flag or receive-ACCM character. */
  private buildKind(): void {
    const kind = this.kind;
    const map = this.receiveAccmValue;
    for (let c = 0; c < 32; c++) kind[c] = ((map >>> c) & 1) << 1;
    kind[HDLC_ESCAPE] = 1;
    kind[HDLC_FLAG] = 2;
  }

  private static checkMaxFrame(n: number): number {
    if (!Number.isInteger(n) || n < MIN_FRAME || n > MAX_MAX_FRAME) {
      throw new ConfigError(`maxFrame ${n} is not in ${MIN_FRAME}..${MAX_MAX_FRAME}`);
    }
    return n;
  }
}
