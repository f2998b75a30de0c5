import type { Duplex } from 'node:stream';
import { createDuplexPair } from '../../../src/sim/duplex-pair.js';
import { mulberry32 as prng } from '../../../src/util/prng.js';

/**
 * A serial line between two byte streams, in the test process: the client side (our PPP
 * stack, through `client`) and the guest side (a UML guest's ttyS0, `UmlPeer.serial`).
 *
 * - Pacing: each direction is a token bucket at baud / bitsPerByte bytes/s (8N1: baud / 10)
 *   with at most `burstMs` (20 ms) of credit and none saved up while the line is idle, like
 *   the rig's Bridge (riglib.py). Each direction holds at most `queueBytes` (a UART FIFO plus
 *   driver buffer); beyond that the source is paused, so the sender's kernel sees a slow line.
 * - Corruption: random bit flips in random bytes, reproducible from a seed, per direction.
 * - Loss of the line: `dropAfterMs` or cut() discards everything from then on; stall(ms) holds
 *   both directions (bytes wait, nothing is lost), as a modem's buffer does in a radio fade.
 *
 * 'up' is client -> guest, 'down' is guest -> client.
 */
export type LineDirection = 'up' | 'down';

export interface LineCorruption {
  /** Probability that a byte is corrupted (one random bit flipped), 0..1. */
  probability: number;
  /** PRNG seed: the same seed and the same byte sequence give the same corruption. */
  seed: number;
  /** Default both. */
  directions?: LineDirection[];
}

export interface LineBridgeOptions {
  /** The guest's serial line (e.g. UmlPeer.serial). */
  guest: Duplex;
  /** The other end (e.g. a second guest's serial). Default: an in-memory pair whose free end is `client`. */
  client?: Duplex;
  /** Bits per second; 0 or undefined = unpaced. */
  baud?: number;
  /** Line bits per byte: 10 for 8N1 (default). */
  bitsPerByte?: number;
  /** Token bucket depth in milliseconds of line time (default 20). */
  burstMs?: number;
  /** Bytes held per direction before the source is paused (default max(256, 10 ms of line) paced, 64 KiB unpaced). */
  queueBytes?: number;
  corrupt?: LineCorruption;
  /** Cut the line this long after construction: every later byte is dropped, both ways. */
  dropAfterMs?: number;
  /** Sees every chunk as it leaves the bridge (after corruption). */
  tap?: (direction: LineDirection, chunk: Buffer) => void;
}

export interface LineDirectionStats {
  /** Bytes read from the source. */
  bytesIn: number;
  /** Bytes delivered to the destination. */
  bytesOut: number;
  /** Bytes discarded because the line was cut. */
  dropped: number;
  /** Bytes that had a bit flipped (each has exactly one). */
  corrupted: number;
  /** Bytes waiting in the bridge now, and the most ever. */
  queued: number;
  maxQueued: number;
  /** Times the source was paused because the queue was full. */
  pauses: number;
}

class Corrupter {
  private readonly rand: () => number;
  /** Bytes to pass untouched before the next corrupted one. */
  private gap: number;

  constructor(
    private readonly p: number,
    seed: number,
  ) {
    this.rand = prng(seed);
    this.gap = this.nextGap();
  }

  /** Geometric gap: each byte is corrupted independently with probability p. */
  private nextGap(): number {
    if (this.p <= 0) return Number.POSITIVE_INFINITY;
    if (this.p >= 1) return 0;
    const u = 1 - this.rand(); // (0, 1]
    return Math.floor(Math.log(u) / Math.log(1 - this.p));
  }

  /** Corrupts `chunk` in place; returns how many bytes were hit. */
  apply(chunk: Buffer): number {
    let hits = 0;
    let i = 0;
    while (i + this.gap < chunk.length) {
      i += this.gap;
      chunk[i] = chunk[i]! ^ (1 << Math.floor(this.rand() * 8));
      hits++;
      i++;
      this.gap = this.nextGap();
    }
    this.gap -= chunk.length - i;
    return hits;
  }
}

function checkCorruption(c: LineCorruption | undefined): void {
  if (c && !(c.probability >= 0 && c.probability <= 1))
    throw new Error(`bad corruption probability ${c.probability}`);
}

/** Per direction, from its own seed (the two directions never corrupt in lockstep). */
function makeCorrupter(c: LineCorruption | undefined, dir: LineDirection): Corrupter | undefined {
  if (!c || !(c.probability > 0) || !(c.directions ?? ['up', 'down']).includes(dir)) return undefined;
  const salt = dir === 'up' ? 0x5a5a5a5a : 0xa5a5a5a5;
  return new Corrupter(c.probability, (c.seed ^ salt) >>> 0);
}

class Direction {
  readonly stats: LineDirectionStats = {
    bytesIn: 0,
    bytesOut: 0,
    dropped: 0,
    corrupted: 0,
    queued: 0,
    maxQueued: 0,
    pauses: 0,
  };
  private queue: Buffer[] = [];
  private credit = 0;
  private last = 0;
  private idle = true;
  private timer: NodeJS.Timeout | undefined;
  private waitingDrain = false;
  private paused = false;
  private closed = false;
  private readonly onData = (d: Buffer) => this.input(d);
  private readonly onDrain = () => {
    this.waitingDrain = false;
    this.pump();
  };

  constructor(
    readonly name: LineDirection,
    private readonly from: Duplex,
    private readonly to: Duplex,
    private readonly line: LineBridge,
    private readonly rate: number,
    private readonly cap: number,
    private readonly queueBytes: number,
    /** Replaced at run time by `LineBridge.setCorruption()`. */
    public corrupter: Corrupter | undefined,
    private readonly tap: LineBridgeOptions['tap'],
  ) {
    from.on('data', this.onData);
    to.on('drain', this.onDrain);
  }

  private input(d: Buffer): void {
    if (this.closed) return;
    this.stats.bytesIn += d.length;
    if (this.line.isCut()) {
      this.stats.dropped += d.length;
      return;
    }
    // Our own copy: corruption must not touch a buffer the writer may still hold.
    this.queue.push(Buffer.from(d));
    this.stats.queued += d.length;
    this.stats.maxQueued = Math.max(this.stats.maxQueued, this.stats.queued);
    if (this.stats.queued >= this.queueBytes && !this.paused) {
      this.paused = true;
      this.stats.pauses++;
      this.from.pause();
    }
    this.pump();
  }

  /** Drops what is queued (the line was cut). */
  flush(): void {
    this.stats.dropped += this.stats.queued;
    this.queue = [];
    this.stats.queued = 0;
    this.resumeIfRoom();
  }

  private resumeIfRoom(): void {
    if (this.paused && this.stats.queued < this.queueBytes / 2) {
      this.paused = false;
      if (!this.closed) this.from.resume();
    }
  }

  private take(n: number): Buffer {
    const parts: Buffer[] = [];
    let left = n;
    while (left > 0 && this.queue.length > 0) {
      const head = this.queue[0]!;
      if (head.length <= left) {
        parts.push(head);
        this.queue.shift();
        left -= head.length;
      } else {
        parts.push(head.subarray(0, left));
        this.queue[0] = head.subarray(left);
        left = 0;
      }
    }
    const out = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    this.stats.queued -= out.length;
    return out;
  }

  /** Restart the bucket after a stall or an idle line: no credit is saved up. */
  restart(now: number): void {
    this.credit = 0;
    this.last = now;
  }

  pump(): void {
    if (this.closed || this.timer || this.waitingDrain) return;
    if (this.line.isCut()) {
      this.flush();
      return;
    }
    const now = performance.now();
    const stallEnd = this.line.stallEnd();
    if (now < stallEnd) {
      this.schedule(stallEnd - now);
      return;
    }
    if (this.stats.queued === 0) {
      this.idle = true;
      return;
    }
    let n = this.stats.queued;
    if (this.rate > 0) {
      if (this.idle || this.last < stallEnd) this.restart(Math.max(now, stallEnd));
      this.idle = false;
      this.credit = Math.min(this.cap, this.credit + ((now - this.last) / 1000) * this.rate);
      this.last = now;
      n = Math.min(n, Math.floor(this.credit));
      if (n <= 0) {
        this.schedule(((1 - this.credit) / this.rate) * 1000);
        return;
      }
      this.credit -= n;
    }
    const chunk = this.take(n);
    if (this.corrupter) this.stats.corrupted += this.corrupter.apply(chunk);
    this.stats.bytesOut += chunk.length;
    this.tap?.(this.name, chunk);
    const more = this.to.write(chunk);
    this.resumeIfRoom();
    if (!more) {
      this.waitingDrain = true;
      return;
    }
    if (this.stats.queued > 0) {
      // The next byte's line time; timers fire no sooner than ~1 ms anyway.
      this.schedule(this.rate > 0 ? Math.max(1, ((1 - this.credit) / this.rate) * 1000) : 0);
    } else {
      // The line finished sending what it delivered: the next byte starts from an empty bucket.
      this.idle = true;
    }
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.pump();
      },
      Math.max(0, Math.ceil(ms)),
    );
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.from.off('data', this.onData);
    this.to.off('drain', this.onDrain);
    if (this.paused) this.from.resume();
  }
}

export class LineBridge {
  /** The client's end of the line: hand it to a PppLink. */
  readonly client: Duplex;
  readonly rate: number;
  private readonly guest: Duplex;
  private readonly up: Direction;
  private readonly down: Direction;
  private readonly internal: Duplex | undefined;
  private cutAt = Number.POSITIVE_INFINITY;
  private stalledUntil = 0;
  private readonly t0 = performance.now();
  private dropTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly onGuestEnd = () => this.internal?.end();

  constructor(o: LineBridgeOptions) {
    this.guest = o.guest;
    const baud = o.baud ?? 0;
    if (!(baud >= 0) || !Number.isFinite(baud)) throw new Error(`bad baud ${baud}`);
    const bits = o.bitsPerByte ?? 10;
    this.rate = baud > 0 ? baud / bits : 0;
    const cap = Math.max(1, (this.rate * (o.burstMs ?? 20)) / 1000);
    const queueBytes = o.queueBytes ?? (this.rate > 0 ? Math.max(256, Math.floor(this.rate * 0.01)) : 65536);
    const c = o.corrupt;
    checkCorruption(c);
    let client = o.client;
    if (!client) {
      const [ours, theirs] = createDuplexPair();
      this.internal = ours;
      client = ours;
      this.client = theirs;
      // The guest died: the client sees the line end, as a port whose device went away.
      o.guest.once('end', this.onGuestEnd);
      o.guest.once('close', this.onGuestEnd);
    } else {
      this.client = client;
    }
    this.up = new Direction(
      'up',
      client,
      o.guest,
      this,
      this.rate,
      cap,
      queueBytes,
      makeCorrupter(c, 'up'),
      o.tap,
    );
    this.down = new Direction(
      'down',
      o.guest,
      client,
      this,
      this.rate,
      cap,
      queueBytes,
      makeCorrupter(c, 'down'),
      o.tap,
    );
    if (o.dropAfterMs !== undefined) this.dropTimer = setTimeout(() => this.cut(), o.dropAfterMs);
  }

  /** True once the line is cut (dropAfterMs, cut()). */
  isCut(): boolean {
    return performance.now() >= this.cutAt;
  }

  /** performance.now() until which both directions are held. */
  stallEnd(): number {
    return this.stalledUntil;
  }

  /** Cuts the line now: queued and later bytes are dropped in both directions. */
  cut(): void {
    if (this.cutAt !== Number.POSITIVE_INFINITY) return;
    this.cutAt = performance.now();
    this.up.flush();
    this.down.flush();
  }

  /**
   * Starts corrupting bytes from now on (a noisy stretch of line), or stops with `undefined`.
   * Replaces the constructor's `corrupt`; the same seed gives the same corruption of the same
   * bytes from this call on. Bytes already delivered are not touched.
   */
  setCorruption(c: LineCorruption | undefined): void {
    checkCorruption(c);
    this.up.corrupter = makeCorrupter(c, 'up');
    this.down.corrupter = makeCorrupter(c, 'down');
  }

  /** Holds both directions for `ms` (bytes wait; the sources are paused once the queues fill). */
  stall(ms: number): void {
    const now = performance.now();
    this.stalledUntil = Math.max(this.stalledUntil, now + ms);
    // A pump already scheduled runs, sees the stall and reschedules itself.
  }

  stats(): { up: LineDirectionStats; down: LineDirectionStats; elapsedMs: number; cut: boolean } {
    return {
      up: { ...this.up.stats },
      down: { ...this.down.stats },
      elapsedMs: performance.now() - this.t0,
      cut: this.isCut(),
    };
  }

  /** Stops moving bytes (both streams stay open; the in-memory client end is ended). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.dropTimer) clearTimeout(this.dropTimer);
    this.up.close();
    this.down.close();
    this.guest.off('end', this.onGuestEnd);
    this.guest.off('close', this.onGuestEnd);
    this.internal?.destroy();
  }
}
