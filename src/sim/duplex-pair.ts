import { Duplex } from 'node:stream';

/**
 * Two connected in-memory Duplex ends, like the two sides of a serial cable: bytes written on
 * one end are read on the other, in order, and never delivered inside `write()` (delivery
 * waits for `setImmediate`, as a real port's bytes wait for the event loop). Ending or
 * destroying one end ends the other's readable side; bytes written towards a destroyed end
 * are lost, as on a cable with nobody at the other end.
 */
export function createDuplexPair(): [Duplex, Duplex] {
  const a = new PairEnd();
  const b = new PairEnd();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

class PairEnd extends Duplex {
  peer: PairEnd | undefined;
  private eof = false;

  override _read(): void {
    // Bytes are pushed by the peer's _write; there is nothing to pull.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const peer = this.peer;
    setImmediate(() => {
      peer?.deliver(chunk);
      callback();
    });
  }

  override _final(callback: (error?: Error | null) => void): void {
    const peer = this.peer;
    setImmediate(() => {
      peer?.endReadable();
      callback();
    });
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const peer = this.peer;
    this.peer = undefined;
    if (peer) {
      peer.peer = undefined;
      setImmediate(() => peer.endReadable());
    }
    callback(error);
  }

  private deliver(chunk: Buffer): void {
    if (!this.destroyed && !this.eof) this.push(chunk);
  }

  private endReadable(): void {
    if (this.destroyed || this.eof) return;
    this.eof = true;
    this.push(null);
  }
}
