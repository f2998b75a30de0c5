/**
 * Finds the modem's `NO CARRIER` in the data-mode byte stream (V.250 clause 5.7.1: the DCE
 * sends it when the connection is lost and returns to command state).
 *
 * PPP frames (RFC 1662) start and end with the flag 0x7E, and with an ACCM of 0 a frame may
 * carry CR, LF and the text "NO CARRIER" inside an IP payload. So the text only counts when
 * it starts right after a flag (or at the start of data mode), where a frame would begin with
 * its address, control or protocol field, never with CR, LF or 'N'. Bytes that might be the
 * start of the text are held back until they prove to be something else.
 */
const FLAG = 0x7e;
const CR = 0x0d;
const LF = 0x0a;
const TEXT = Uint8Array.from(Buffer.from('NO CARRIER', 'latin1'));
/** Leading CR/LF bytes tolerated before the text. */
const MAX_LEADING = 4;

export interface CarrierWatchResult {
  /** Data bytes, in order, to hand to the layer above. */
  data: Uint8Array[];
  /** Whether `NO CARRIER` was found; bytes after it are in `rest`. */
  lost: boolean;
  /** After a loss: the bytes that followed the result code (command-mode text). */
  rest?: Uint8Array;
}

export class CarrierWatch {
  private atFrameStart = true;
  /** Candidate bytes held from earlier chunks. */
  private held: number[] = [];
  /** Progress through the candidate: leading CR/LF count and matched text length. */
  private leading = 0;
  private matched = 0;
  private matching = false;

  /** Starts over as at the start of data mode. */
  reset(): void {
    this.atFrameStart = true;
    this.held = [];
    this.leading = 0;
    this.matched = 0;
    this.matching = false;
  }

  push(chunk: Uint8Array): CarrierWatchResult {
    const data: Uint8Array[] = [];
    const segStart = 0; // start of the pass-through segment in this chunk
    let candStart = this.matching ? -1 : 0; // -1: the candidate began in an earlier chunk
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (!this.matching) {
        if (!this.atFrameStart) {
          const f = chunk.indexOf(FLAG, i);
          if (f < 0) {
            i = n;
            break;
          }
          i = f + 1;
          this.atFrameStart = true;
          continue;
        }
        const b = chunk[i]!;
        if (b === CR || b === LF || b === TEXT[0]) {
          this.matching = true;
          this.leading = 0;
          this.matched = 0;
          candStart = i;
        } else {
          this.atFrameStart = b === FLAG;
          i++;
          continue;
        }
      }
      // Matching a candidate.
      const b = chunk[i]!;
      const verdict = this.step(b);
      if (verdict === 'more') {
        i++;
        continue;
      }
      if (verdict === 'lost') {
        if (candStart > segStart) data.push(chunk.subarray(segStart, candStart));
        this.held = [];
        this.matching = false;
        this.atFrameStart = true;
        return { data, lost: true, rest: chunk.subarray(i + 1) };
      }
      // Mismatch: the held bytes were data after all.
      if (candStart < 0 && this.held.length > 0) {
        data.push(Uint8Array.from(this.held));
      }
      this.held = [];
      this.matching = false;
      this.atFrameStart = b === FLAG;
      i++;
    }
    if (this.matching) {
      if (candStart >= 0) {
        if (candStart > segStart) data.push(chunk.subarray(segStart, candStart));
        for (let k = candStart; k < n; k++) this.held.push(chunk[k]!);
      } else {
        for (let k = 0; k < n; k++) this.held.push(chunk[k]!);
      }
    } else if (n > segStart) {
      data.push(chunk.subarray(segStart, n));
    }
    return { data, lost: false };
  }

  private step(b: number): 'more' | 'lost' | 'mismatch' {
    if (this.matched === 0 && (b === CR || b === LF)) {
      if (++this.leading > MAX_LEADING) return 'mismatch';
      return 'more';
    }
    if (this.matched < TEXT.length) {
      if (b !== TEXT[this.matched]) return 'mismatch';
      this.matched++;
      return 'more';
    }
    return b === CR || b === LF ? 'lost' : 'mismatch';
  }
}
