import { seqDiff, seqGt, seqLt } from './seq.js';

/**
 * What the peer told us it holds above snd.una (SACK, RFC 2018), kept as disjoint sorted
 * ranges [start, end) of sequence numbers. The sender's loss recovery (RFC 6675 in spirit)
 * uses it to resend only the holes, and to skip what the peer has when it goes back after a
 * timeout.
 */
export class SackScoreboard {
  private ranges: [number, number][] = [];

  get empty(): boolean {
    return this.ranges.length === 0;
  }

  /** Adds the blocks of one ACK, ignoring those outside (una, max]. At most 4 blocks count. */
  update(blocks: readonly [number, number][], una: number, max: number): void {
    for (const [l, r] of blocks.slice(0, 4)) {
      if (!seqLt(l, r) || !seqGt(r, una) || seqGt(r, max)) continue;
      this.add(seqLt(l, una) ? una : l, r, una);
    }
  }

  /** Forgets everything below `una` (cumulatively acknowledged). */
  prune(una: number): void {
    const keep: [number, number][] = [];
    for (const [l, r] of this.ranges) {
      if (!seqGt(r, una)) continue;
      keep.push([seqLt(l, una) ? una : l, r]);
    }
    this.ranges = keep;
  }

  clear(): void {
    this.ranges = [];
  }

  /** The end of the SACKed range holding `seq`, if one does. */
  sackedEnd(seq: number): number | undefined {
    for (const [l, r] of this.ranges) if (!seqLt(seq, l) && seqLt(seq, r)) return r;
    return undefined;
  }

  /** The start of the first SACKed range after `seq`. */
  nextStart(seq: number): number | undefined {
    for (const [l] of this.ranges) if (seqGt(l, seq)) return l;
    return undefined;
  }

  /** The highest SACKed sequence number (exclusive end). */
  highest(): number | undefined {
    return this.ranges.at(-1)?.[1];
  }

  /** Octets SACKed below `limit`. */
  sackedBelow(limit: number): number {
    let n = 0;
    for (const [l, r] of this.ranges) {
      if (!seqLt(l, limit)) break;
      n += seqDiff(seqLt(r, limit) ? r : limit, l);
    }
    return n;
  }

  private add(l: number, r: number, una: number): void {
    const all = [...this.ranges, [l, r] as [number, number]].sort(
      (a, b) => seqDiff(a[0], una) - seqDiff(b[0], una),
    );
    const merged: [number, number][] = [];
    for (const [a, b] of all) {
      const last = merged.at(-1);
      if (last && !seqLt(last[1], a)) {
        if (seqGt(b, last[1])) last[1] = b;
      } else {
        merged.push([a, b]);
      }
    }
    this.ranges = merged;
  }
}
