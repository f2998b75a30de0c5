/**
 * The byte queues of a connection: what the application wrote and the peer has not yet
 * acknowledged, and what arrived in order and the application has not yet read. Both are
 * lists of chunks; reading a range copies only when it spans chunks.
 */
export class ByteQueue {
  private chunks: Uint8Array[] = [];
  private head = 0; // offset into chunks[0]
  private size = 0;

  get length(): number {
    return this.size;
  }

  push(data: Uint8Array): void {
    if (data.length === 0) return;
    this.chunks.push(data);
    this.size += data.length;
  }

  /** `length` octets from `offset` (relative to the front), as one array. */
  peek(offset: number, length: number): Uint8Array {
    const n = Math.max(0, Math.min(length, this.size - offset));
    if (n === 0) return new Uint8Array(0);
    let skip = offset + this.head;
    let i = 0;
    while (skip >= this.chunks[i]!.length) {
      skip -= this.chunks[i]!.length;
      i++;
    }
    const first = this.chunks[i]!;
    if (skip + n <= first.length) return first.subarray(skip, skip + n);
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[i++]!;
      const take = Math.min(c.length - skip, n - filled);
      out.set(c.subarray(skip, skip + take), filled);
      filled += take;
      skip = 0;
    }
    return out;
  }

  /** Drops `n` octets from the front. */
  drop(n: number): void {
    let left = Math.min(n, this.size);
    this.size -= left;
    while (left > 0) {
      const c = this.chunks[0]!;
      const avail = c.length - this.head;
      if (left < avail) {
        this.head += left;
        return;
      }
      left -= avail;
      this.chunks.shift();
      this.head = 0;
    }
  }

  /** Takes up to `max` octets from the front, as the chunks they were stored in. */
  take(max: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    let left = Math.min(max, this.size);
    while (left > 0) {
      const c = this.chunks[0]!;
      const part = c.subarray(this.head, this.head + Math.min(left, c.length - this.head));
      out.push(part);
      left -= part.length;
      this.drop(part.length);
    }
    return out;
  }
}

/**
 * Out-of-order segments (RFC 9293 3.10.7.4, "seventh, process the segment text"): kept in
 * sequence order, overlaps trimmed, bounded by the receive window the caller enforces.
 * Offsets are relative to rcv.nxt at insertion time and shifted as data is delivered.
 */
export class Reassembly {
  /** Sorted, non-overlapping [offset, data]. */
  private parts: { offset: number; data: Uint8Array }[] = [];
  private bytes = 0;

  get buffered(): number {
    return this.bytes;
  }

  get empty(): boolean {
    return this.parts.length === 0;
  }

  /** Stores `data` at `offset` octets past rcv.nxt (offset > 0), keeping what is new. */
  insert(offset: number, data: Uint8Array): void {
    let start = offset;
    let d = data;
    const out: { offset: number; data: Uint8Array }[] = [];
    for (const p of this.parts) {
      const pEnd = p.offset + p.data.length;
      if (d.length === 0) {
        out.push(p);
        continue;
      }
      const dEnd = start + d.length;
      if (pEnd <= start || p.offset >= dEnd) {
        if (p.offset >= dEnd && d.length > 0) {
          out.push({ offset: start, data: Uint8Array.from(d) });
          d = new Uint8Array(0);
        }
        out.push(p);
        continue;
      }
      // Overlap: keep the existing part, and the new octets before and after it.
      if (start < p.offset)
        out.push({ offset: start, data: Uint8Array.from(d.subarray(0, p.offset - start)) });
      out.push(p);
      if (dEnd > pEnd) {
        d = d.subarray(pEnd - start);
        start = pEnd;
      } else {
        d = new Uint8Array(0);
      }
    }
    if (d.length > 0) out.push({ offset: start, data: Uint8Array.from(d) });
    this.parts = out.sort((a, b) => a.offset - b.offset);
    this.bytes = this.parts.reduce((n, p) => n + p.data.length, 0);
  }

  /** After `n` octets were delivered in order: returns what now follows contiguously. */
  advance(n: number): Uint8Array[] {
    const ready: Uint8Array[] = [];
    const rest: { offset: number; data: Uint8Array }[] = [];
    let shift = n;
    // Parts are sorted and disjoint: the contiguous ones come first, and once a gap is met
    // `shift` stops growing, so every later offset is computed with its final value.
    for (const p of this.parts) {
      const off = p.offset - shift;
      const end = off + p.data.length;
      if (end <= 0) continue; // wholly delivered already
      if (off <= 0 && rest.length === 0) {
        const fresh = p.data.subarray(-off);
        ready.push(fresh);
        shift += fresh.length;
        continue;
      }
      rest.push({ offset: off, data: p.data });
    }
    this.parts = rest;
    this.bytes = rest.reduce((k, p) => k + p.data.length, 0);
    return ready;
  }

  /** SACK blocks (RFC 2018) as [offset, end) relative to rcv.nxt, the highest first. */
  blocks(max: number): [number, number][] {
    const merged: [number, number][] = [];
    for (const p of this.parts) {
      const last = merged.at(-1);
      if (last && last[1] === p.offset) last[1] += p.data.length;
      else merged.push([p.offset, p.offset + p.data.length]);
    }
    return merged.reverse().slice(0, max);
  }

  clear(): void {
    this.parts = [];
    this.bytes = 0;
  }
}
