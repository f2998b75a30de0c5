/**
 * A FIFO of byte chunks with a bound on the bytes it holds. A chunk that does not fit is
 * dropped whole and counted: the core never grows without bound when nobody reads it.
 */
export class ByteQueue {
  private chunks: Uint8Array[] = [];
  private held = 0;

  constructor(private readonly maxBytes: number) {}

  /** Bytes queued. */
  get size(): number {
    return this.held;
  }

  /** Queues a copy of `chunk`; returns false (and queues nothing) if it would exceed the bound. */
  push(chunk: Uint8Array): boolean {
    if (chunk.length === 0) return true;
    if (this.held + chunk.length > this.maxBytes) return false;
    this.chunks.push(chunk.slice());
    this.held += chunk.length;
    return true;
  }

  /** Puts bytes back at the head (for input not yet consumed); ignores the bound. */
  unshift(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.unshift(chunk);
    this.held += chunk.length;
  }

  shift(): Uint8Array | undefined {
    const c = this.chunks.shift();
    if (c) this.held -= c.length;
    return c;
  }

  /** Empties the queue and returns what it held, oldest first. */
  drain(): Uint8Array[] {
    const out = this.chunks;
    this.chunks = [];
    this.held = 0;
    return out;
  }
}
