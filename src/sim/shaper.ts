import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import { toBuffer } from '../util/bytes.js';
import { type Clock, systemClock } from '../util/clock.js';
import { DeadlineTimer } from '../util/deadline-timer.js';
import { ConfigError } from '../util/errors.js';
import { type LinkProfileName, type LinkProfileSpec, resolveProfile } from './profiles.js';
import { LinkShaperCore, type LinkShaperStats } from './shaper-core.js';

/** `up` is host → far end (the modem), `down` is far end → host. */
export type LinkDirection = 'up' | 'down';

export type LinkFaultKind = 'drop-carrier' | 'stall' | 'corrupt' | 'cut';

/** One scripted fault. */
export interface LinkFault {
  /** Milliseconds after `shapeLink()` was called. */
  atMs: number;
  /**
   * - `drop-carrier`: only emits `'fault'`; the modem layer acts on it (e.g.
   *   `link.on('fault', (f) => f.fault === 'drop-carrier' && sim.dropCarrier())`).
   * - `stall`: holds the bytes for `durationMs` (nothing is lost).
   * - `corrupt`: flips bits of bytes with `probability` per byte for `durationMs`.
   * - `cut`: drops everything from then on, both ways.
   */
  fault: LinkFaultKind;
  durationMs?: number;
  /** Per-byte probability for `corrupt`, 0..1. */
  probability?: number;
  /** Which way a stall or corruption applies. Default both. */
  direction?: LinkDirection | 'both';
}

export interface ShapeLinkOptions {
  /** A named profile or one's own. Default: an ideal line (no rate limit, no delay). */
  profile?: LinkProfileName | LinkProfileSpec;
  /** PRNG seed; each direction gets its own stream from it. Default 1. */
  seed?: number;
  /** Faults to inject on schedule. */
  faults?: readonly LinkFault[];
  /** Time and timers; tests pass a `ManualClock`. Default `systemClock`. */
  clock?: Clock;
  /** Let the process exit while the link's timer is pending. Default false. */
  unref?: boolean;
}

export interface ShapedLinkEvents {
  /** A scripted fault took effect (for `drop-carrier`, the only thing that happens). */
  fault: [fault: LinkFault];
}

export interface ShapedLinkStats {
  up: LinkShaperStats;
  down: LinkShaperStats;
}

const DIRECTIONS: readonly (LinkDirection | 'both')[] = ['up', 'down', 'both'];
const KINDS: readonly LinkFaultKind[] = ['drop-carrier', 'stall', 'corrupt', 'cut'];

function checkFaults(faults: readonly LinkFault[]): LinkFault[] {
  const out = faults.map((f, i) => {
    const where = `link: faults[${i}]`;
    if (!KINDS.includes(f.fault)) throw new ConfigError(`${where}: unknown fault ${String(f.fault)}`);
    if (!(Number.isFinite(f.atMs) && f.atMs >= 0)) throw new ConfigError(`${where}: atMs must be >= 0`);
    if (f.direction !== undefined && !DIRECTIONS.includes(f.direction))
      throw new ConfigError(`${where}: direction must be up, down or both`);
    if (f.fault === 'stall' || f.fault === 'corrupt') {
      const d = f.durationMs;
      if (!(typeof d === 'number' && d > 0 && !Number.isNaN(d)))
        throw new ConfigError(`${where}: ${f.fault} needs durationMs > 0`);
    }
    if (f.fault === 'corrupt') {
      const p = f.probability;
      if (!(typeof p === 'number' && p >= 0 && p <= 1))
        throw new ConfigError(`${where}: corrupt needs a probability 0..1`);
    }
    return { ...f };
  });
  // Stable: faults at the same time apply in the order given.
  return out.sort((a, b) => a.atMs - b.atMs);
}

/**
 * A shaped line in front of a byte stream (the host's end of a modem: a sim pair's port, a
 * serial port): write to and read from `host`; bytes cross to `far` through two
 * `LinkShaperCore`s, `up` on the way out and `down` on the way in, timed by one
 * `DeadlineTimer`. Backpressure is real both ways: a write to `host` completes only when the up
 * queue takes it, and `far` is paused while the down queue is full.
 *
 * `far` ending ends `host` once the bytes in the down direction are delivered; `host` ending
 * ends `far` likewise. Destroying `host` closes the link and ends `far`.
 */
export class ShapedLink extends EventEmitter<ShapedLinkEvents> {
  /** The host's side: hand it to the modem driver as the port's stream. */
  readonly host: Duplex;
  readonly up: LinkShaperCore;
  readonly down: LinkShaperCore;
  private readonly clock: Clock;
  private readonly timer: DeadlineTimer;
  private readonly t0: number;
  private readonly faults: LinkFault[];
  private nextFault = 0;
  /** A host write the up queue refused, waiting for room. */
  private waitingWrite: { chunk: Buffer; callback: (error?: Error | null) => void } | undefined;
  /** Chunks from `far` the down queue refused (`far` is paused meanwhile). */
  private readonly waitingRead: Buffer[] = [];
  private farBlocked = false;
  private hostBlocked = false;
  private farEnded = false;
  private hostEnded: ((error?: Error | null) => void) | undefined;
  private closed = false;

  constructor(
    private readonly far: Duplex,
    options: ShapeLinkOptions = {},
  ) {
    super();
    const profile = resolveProfile(options.profile ?? {});
    const seed = options.seed ?? 1;
    this.faults = checkFaults(options.faults ?? []);
    this.up = new LinkShaperCore({ ...profile.up, seed: (seed * 2 + 1) | 0 });
    this.down = new LinkShaperCore({ ...profile.down, seed: (seed * 2 + 2) | 0 });
    this.clock = options.clock ?? systemClock;
    this.t0 = this.clock.now();
    this.timer = new DeadlineTimer(this.clock, () => this.pump(), options.unref ?? false);
    this.host = new HostEnd(this);
    far.on('data', this.onFarData);
    far.on('drain', this.onFarDrain);
    far.on('end', this.onFarEnd);
    far.on('error', this.onFarError);
    this.pump();
  }

  /** Holds the bytes for `ms` (default both directions). */
  stall(ms: number, direction: LinkDirection | 'both' = 'both'): void {
    const now = this.clock.now();
    for (const core of this.cores(direction)) core.stall(now + ms, now);
    this.pump();
  }

  /** Corrupts each byte with `probability` for `ms` (default both directions). */
  corrupt(probability: number, ms: number, direction: LinkDirection | 'both' = 'both'): void {
    const now = this.clock.now();
    for (const core of this.cores(direction)) core.corrupt(probability, now + ms, now);
    this.pump();
  }

  /** Drops everything from now on, both ways. */
  cut(): void {
    const now = this.clock.now();
    this.up.cut(now);
    this.down.cut(now);
    this.pump();
  }

  stats(): ShapedLinkStats {
    return { up: this.up.stats(), down: this.down.stats() };
  }

  /** Stops moving bytes and the timer; `host` is destroyed, `far` is left as it is. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.timer.clear();
    this.far.off('data', this.onFarData);
    this.far.off('drain', this.onFarDrain);
    this.far.off('end', this.onFarEnd);
    this.far.off('error', this.onFarError);
    if (this.farBlocked) this.far.resume();
    const w = this.waitingWrite;
    this.waitingWrite = undefined;
    w?.callback();
    if (!this.host.destroyed) this.host.destroy();
  }

  /** From `HostEnd._write`. */
  hostWrite(chunk: Buffer, callback: (error?: Error | null) => void): void {
    if (this.closed) {
      callback();
      return;
    }
    this.waitingWrite = { chunk, callback };
    this.pump();
  }

  /** From `HostEnd._final`. */
  hostFinal(callback: (error?: Error | null) => void): void {
    this.hostEnded = callback;
    this.pump();
  }

  /** From `HostEnd._read`: the host reads again. */
  hostRead(): void {
    if (!this.hostBlocked) return;
    this.hostBlocked = false;
    this.pump();
  }

  /** From `HostEnd._destroy`. */
  hostDestroyed(): void {
    if (this.closed) return;
    this.close();
    if (this.far.writable) this.far.end();
  }

  private cores(direction: LinkDirection | 'both'): LinkShaperCore[] {
    if (direction === 'up') return [this.up];
    if (direction === 'down') return [this.down];
    return [this.up, this.down];
  }

  private readonly onFarData = (chunk: Buffer | string): void => {
    if (this.closed) return;
    const now = this.clock.now();
    const bytes = toBuffer(chunk);
    if (this.waitingRead.length > 0 || !this.down.push(bytes, now)) {
      this.waitingRead.push(bytes);
      if (!this.farBlocked) {
        this.farBlocked = true;
        this.far.pause();
      }
    }
    this.pump();
  };

  private readonly onFarDrain = (): void => {
    this.pump();
  };

  private readonly onFarEnd = (): void => {
    this.farEnded = true;
    this.pump();
  };

  private readonly onFarError = (error: Error): void => {
    if (!this.host.destroyed) this.host.destroy(error);
  };

  /** Applies due faults, moves bytes both ways, retries what waited, re-arms the timer. */
  private pump(): void {
    if (this.closed) return;
    const now = this.clock.now();
    this.runFaults(now);
    // Up: host → far.
    if (this.far.writable && !this.far.writableNeedDrain) {
      for (const chunk of this.up.take(now)) this.far.write(chunk);
    }
    const w = this.waitingWrite;
    if (w && this.up.push(w.chunk, now)) {
      this.waitingWrite = undefined;
      w.callback();
    }
    if (this.hostEnded && !this.waitingWrite && this.up.idle) {
      const done = this.hostEnded;
      this.hostEnded = undefined;
      if (this.far.writable) this.far.end();
      done();
    }
    // Down: far → host.
    if (!this.hostBlocked && !this.host.destroyed) {
      for (const chunk of this.down.take(now)) {
        if (!this.host.push(chunk)) this.hostBlocked = true;
      }
    }
    while (this.waitingRead.length > 0 && this.down.push(this.waitingRead[0]!, now)) this.waitingRead.shift();
    if (this.farBlocked && this.waitingRead.length === 0) {
      this.farBlocked = false;
      this.far.resume();
    }
    if (this.farEnded && this.waitingRead.length === 0 && this.down.idle && !this.host.destroyed) {
      this.farEnded = false;
      this.host.push(null);
    }
    this.arm();
  }

  private runFaults(now: number): void {
    for (let f = this.faults[this.nextFault]; f && this.t0 + f.atMs <= now; f = this.faults[this.nextFault]) {
      this.nextFault++;
      const at = this.t0 + f.atMs;
      const cores = this.cores(f.direction ?? 'both');
      if (f.fault === 'stall') for (const c of cores) c.stall(at + f.durationMs!, now);
      else if (f.fault === 'corrupt')
        for (const c of cores) c.corrupt(f.probability!, at + f.durationMs!, now);
      else if (f.fault === 'cut') for (const c of [this.up, this.down]) c.cut(now);
      this.emit('fault', f);
    }
  }

  private arm(): void {
    let next: number | undefined;
    const consider = (t: number | undefined): void => {
      if (t !== undefined && (next === undefined || t < next)) next = t;
    };
    // While a side is blocked its core waits; 'drain' or _read pumps again.
    if (!this.far.writableNeedDrain) consider(this.up.nextDeadline());
    if (!this.hostBlocked) consider(this.down.nextDeadline());
    const f = this.faults[this.nextFault];
    if (f) consider(this.t0 + f.atMs);
    this.timer.arm(next);
  }
}

class HostEnd extends Duplex {
  constructor(private readonly link: ShapedLink) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.link.hostWrite(chunk, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.link.hostFinal(callback);
  }

  override _read(): void {
    this.link.hostRead();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.link.hostDestroyed();
    callback(error);
  }
}

/** Puts a shaped line in front of `far`; the returned link's `host` is the end to use. */
export function shapeLink(far: Duplex, options: ShapeLinkOptions = {}): ShapedLink {
  return new ShapedLink(far, options);
}
