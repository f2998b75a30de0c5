import { ConfigError } from '../util/errors.js';
import { mulberry32 } from '../util/prng.js';

/**
 * One direction of a shaped byte stream, sans-I/O: bytes go in with `push(bytes, now)`, wait
 * in a bounded queue, leave it at the line rate (a token bucket), travel for the one-way delay
 * plus jitter, and come out of `take(now)` in the order they went in. `nextDeadline()` says
 * when the next chunk is due. Time is milliseconds passed in; randomness comes from a seeded
 * PRNG, so the same calls give the same bytes at the same times.
 *
 * Model, in the order a byte meets it:
 * - **Queue** (`queueBytes`): the modem's buffer in front of the radio. Bytes not yet sent
 *   count against it; a push that does not fit is refused whole (`push` returns false, nothing
 *   is queued), which is the backpressure a shell turns into a late write callback. A chunk
 *   larger than the whole bound is taken when the queue is empty, so it cannot block forever.
 *   Bytes already sent (in flight for the delay) do not count: rate × delay bounds them.
 * - **Rate** (`rateBps`, `bitsPerByte`, `burstBytes`): a token bucket in its GCRA form (ITU-T
 *   I.371 virtual scheduling; the same bucket as Linux tc-tbf(8)), `burstBytes` deep, so an idle
 *   line saves up at most one burst. Chunks are cut into slices of at most `burstBytes`, so a
 *   long chunk arrives progressively, as on a real line.
 * - **Delay and jitter** (`delayMs`, `jitterMs`, `jitterDistribution`): each slice is late by
 *   `delayMs ± jitterMs` (netem's convention, tc-netem(8): `delay 100ms 20ms` is 80..120 ms),
 *   never below 0. Uniform draws evenly; normal draws with σ = jitterMs / 2 clipped to ± jitterMs
 *   (netem's normal table is unclipped with σ = jitter; we clip so the bound always holds).
 *   Unlike netem, jitter never reorders: a byte stream keeps its order, so a slice is delivered
 *   no earlier than the one before it (a later slice is delayed at least as much). Every slice
 *   still arrives within [sent + max(0, delay − jitter), sent + delay + jitter].
 * - **Loss and corruption.** A serial line (the USB or UART between host and modem, and the
 *   async HDLC framing PPP puts on it, RFC 1662) corrupts rather than loses: bytes are neither
 *   added nor removed, they change. So `loss` is the probability that a pushed chunk is "lost"
 *   by flipping one bit of one of its bytes: the peer's FCS-16 (RFC 1662 section C.2, which
 *   detects every single-bit error) drops the frame it belongs to, which is how a lost packet
 *   shows up on a PPP line. A flip that creates or destroys a Flag (0x7e) or Control Escape
 *   (0x7d) costs the frame (and perhaps its neighbour) just the same. A shell writes one PPP
 *   frame, or a small batch, per chunk, so `loss` is close to a frame loss rate. `corruption`
 *   is a per-byte probability (line noise, a bit error rate × 8): every byte independently has
 *   one bit flipped with that probability.
 * - **Faults**: `stall(untilMs)` holds everything (nothing is sent or delivered until then;
 *   the queue fills and pushes are refused, as in a radio fade); `corrupt(p, untilMs)` sets
 *   the per-byte corruption to `p` for bytes sent before `untilMs`; `cut()` drops everything
 *   queued and in flight and every byte pushed later (pushes still succeed: a dead line does
 *   not push back).
 */

export type JitterDistribution = 'uniform' | 'normal';

/** The shape of one direction. Every field is optional: the default is an ideal line. */
export interface LinkDirectionOptions {
  /** Line rate in bits per second. Omitted or `Infinity`: no rate limit. */
  rateBps?: number;
  /**
   * Line bits per byte of the stream. Default 8: profile rates are the radio bearer's payload
   * rate. 10 models an async serial line at 8N1 (a start and a stop bit per byte).
   */
  bitsPerByte?: number;
  /** Token bucket depth in bytes (the most sent at once). Default max(64, 20 ms of line). */
  burstBytes?: number;
  /** One-way delay in milliseconds. Default 0. */
  delayMs?: number;
  /** Jitter in milliseconds: each slice's delay is `delayMs ± jitterMs`. Default 0. */
  jitterMs?: number;
  /** Default `uniform`. */
  jitterDistribution?: JitterDistribution;
  /** Probability (0..1) that a pushed chunk is lost: one bit of one byte flipped. Default 0. */
  loss?: number;
  /** Probability (0..1) that any one byte has one bit flipped. Default 0. */
  corruption?: number;
  /** Bytes queued before pushes are refused. Default 65536. */
  queueBytes?: number;
}

/** `LinkDirectionOptions` with every default filled in (`rateBps` is `Infinity` when unlimited). */
export type ResolvedLinkDirection = Required<LinkDirectionOptions>;

export interface LinkShaperOptions extends LinkDirectionOptions {
  /** PRNG seed (any 32-bit integer). Default 1. */
  seed?: number;
  /**
   * A source of uniform numbers in [0, 1) used instead of the seeded PRNG (for every draw:
   * jitter, loss and corruption alike). The seeded PRNG keeps one stream per purpose, so turning
   * loss on does not change the jitter a seed gives.
   */
  random?: () => number;
}

export interface LinkShaperStats {
  /** Bytes and chunks accepted by `push` (including those dropped after a cut). */
  bytesIn: number;
  chunksIn: number;
  /** Bytes and chunks returned by `take`. */
  bytesOut: number;
  chunksOut: number;
  /** Pushes refused because the queue was full. */
  refused: number;
  /** Chunks hit by `loss`. */
  lostChunks: number;
  /** Bytes altered (by `loss`, `corruption` and `corrupt()` alike). */
  corruptedBytes: number;
  /** Bytes discarded by `cut()` or pushed after it. */
  droppedBytes: number;
  /** Bytes waiting to be sent, and the most ever. */
  queuedBytes: number;
  maxQueuedBytes: number;
  /** Bytes sent and not yet delivered. */
  inFlightBytes: number;
  /** `stall()` calls. */
  stalls: number;
  cut: boolean;
}

export const DEFAULT_QUEUE_BYTES = 65536;
const MIN_BURST_BYTES = 64;
const BURST_MS = 20;

export { mulberry32 };

const isProbability = (p: unknown): p is number => typeof p === 'number' && p >= 0 && p <= 1;
const isNonNegative = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/** Fills in defaults and checks every field; throws `ConfigError` naming `where`. */
export function resolveLinkDirection(o: LinkDirectionOptions = {}, where = 'link'): ResolvedLinkDirection {
  const rateBps = o.rateBps ?? Number.POSITIVE_INFINITY;
  if (!(typeof rateBps === 'number' && rateBps > 0))
    throw new ConfigError(`${where}: rateBps must be a positive number of bits per second`);
  const bitsPerByte = o.bitsPerByte ?? 8;
  if (!(Number.isInteger(bitsPerByte) && bitsPerByte >= 1 && bitsPerByte <= 16))
    throw new ConfigError(`${where}: bitsPerByte must be an integer 1..16`);
  const lineBurst = Number.isFinite(rateBps) ? Math.ceil(((rateBps / bitsPerByte) * BURST_MS) / 1000) : 0;
  const burstBytes = o.burstBytes ?? Math.max(MIN_BURST_BYTES, lineBurst);
  if (!(Number.isInteger(burstBytes) && burstBytes >= 1))
    throw new ConfigError(`${where}: burstBytes must be a positive integer`);
  const r: ResolvedLinkDirection = {
    rateBps,
    bitsPerByte,
    burstBytes,
    delayMs: o.delayMs ?? 0,
    jitterMs: o.jitterMs ?? 0,
    jitterDistribution: o.jitterDistribution ?? 'uniform',
    loss: o.loss ?? 0,
    corruption: o.corruption ?? 0,
    queueBytes: o.queueBytes ?? DEFAULT_QUEUE_BYTES,
  };
  if (!isNonNegative(r.delayMs)) throw new ConfigError(`${where}: delayMs must be a number >= 0`);
  if (!isNonNegative(r.jitterMs)) throw new ConfigError(`${where}: jitterMs must be a number >= 0`);
  if (r.jitterDistribution !== 'uniform' && r.jitterDistribution !== 'normal')
    throw new ConfigError(`${where}: jitterDistribution must be 'uniform' or 'normal'`);
  if (!isProbability(r.loss)) throw new ConfigError(`${where}: loss must be a probability 0..1`);
  if (!isProbability(r.corruption)) throw new ConfigError(`${where}: corruption must be a probability 0..1`);
  if (!(Number.isInteger(r.queueBytes) && r.queueBytes >= 1))
    throw new ConfigError(`${where}: queueBytes must be a positive integer`);
  return r;
}

interface Slice {
  bytes: Uint8Array;
  /** When it was pushed. */
  at: number;
}

interface Flight {
  bytes: Uint8Array;
  arrival: number;
}

/** A FIFO with O(1) shift (an index into an array compacted now and then). */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  peek(): T | undefined {
    return this.items[this.head];
  }

  push(item: T): void {
    this.items.push(item);
  }

  shift(): T | undefined {
    const item = this.items[this.head];
    if (item === undefined) return undefined;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  clear(): T[] {
    const out = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    return out;
  }
}

export class LinkShaperCore {
  readonly params: ResolvedLinkDirection;
  /** Line rate in bytes per millisecond (`Infinity` when unlimited). */
  private readonly bytesPerMs: number;
  private readonly pending = new Fifo<Slice>();
  private readonly flight = new Fifo<Flight>();
  private readonly jitterRandom: () => number;
  private readonly lossRandom: () => number;
  private readonly corruptRandom: () => number;
  /** GCRA theoretical arrival time: when the bucket is full again. */
  private tat = Number.NEGATIVE_INFINITY;
  private lastArrival = Number.NEGATIVE_INFINITY;
  private stalledUntil = Number.NEGATIVE_INFINITY;
  private window: { probability: number; until: number } | undefined;
  private isCut = false;
  private now = Number.NEGATIVE_INFINITY;
  private readonly counters: Omit<LinkShaperStats, 'cut'> = {
    bytesIn: 0,
    chunksIn: 0,
    bytesOut: 0,
    chunksOut: 0,
    refused: 0,
    lostChunks: 0,
    corruptedBytes: 0,
    droppedBytes: 0,
    queuedBytes: 0,
    maxQueuedBytes: 0,
    inFlightBytes: 0,
    stalls: 0,
  };

  constructor(options: LinkShaperOptions = {}) {
    this.params = resolveLinkDirection(options);
    this.bytesPerMs = this.params.rateBps / this.params.bitsPerByte / 1000;
    const seed = options.seed ?? 1;
    if (!Number.isFinite(seed)) throw new ConfigError('link: seed must be a finite number');
    // One stream per purpose, each from its own salted seed.
    this.jitterRandom = options.random ?? mulberry32(seed ^ 0x1b873593);
    this.lossRandom = options.random ?? mulberry32(seed ^ 0x5a5a5a5a);
    this.corruptRandom = options.random ?? mulberry32(seed ^ 0x27d4eb2f);
  }

  /**
   * Queues a copy of `bytes` sent at `now`. Returns false, queueing nothing, when the queue
   * cannot take them (try again after a `take`). After `cut()` the bytes are dropped and the
   * push succeeds.
   */
  push(bytes: Uint8Array, now: number): boolean {
    this.advance(now);
    if (bytes.length === 0) return true;
    if (this.isCut) {
      this.counters.bytesIn += bytes.length;
      this.counters.chunksIn++;
      this.counters.droppedBytes += bytes.length;
      return true;
    }
    const queued = this.counters.queuedBytes;
    if (queued > 0 && queued + bytes.length > this.params.queueBytes) {
      this.counters.refused++;
      return false;
    }
    const copy = bytes.slice();
    if (this.params.loss > 0 && this.lossRandom() < this.params.loss) {
      flipBit(copy, Math.floor(this.lossRandom() * copy.length), this.lossRandom());
      this.counters.lostChunks++;
      this.counters.corruptedBytes++;
    }
    const step = Number.isFinite(this.bytesPerMs) ? this.params.burstBytes : copy.length;
    for (let i = 0; i < copy.length; i += step) {
      this.pending.push({ bytes: copy.subarray(i, i + step), at: this.now });
    }
    this.counters.bytesIn += copy.length;
    this.counters.chunksIn++;
    this.counters.queuedBytes += copy.length;
    this.counters.maxQueuedBytes = Math.max(this.counters.maxQueuedBytes, this.counters.queuedBytes);
    this.advance(this.now); // what may go at once goes now
    return true;
  }

  /** The chunks delivered by `now`, oldest first. */
  take(now: number): Uint8Array[] {
    this.advance(now);
    const out: Uint8Array[] = [];
    if (this.now < this.stalledUntil) return out;
    for (let f = this.flight.peek(); f && f.arrival <= this.now; f = this.flight.peek()) {
      this.flight.shift();
      this.counters.inFlightBytes -= f.bytes.length;
      this.counters.bytesOut += f.bytes.length;
      this.counters.chunksOut++;
      out.push(f.bytes);
    }
    return out;
  }

  /** When `take` next has something to do (a slice to send or to deliver); undefined when idle. */
  nextDeadline(): number | undefined {
    if (this.isCut) return undefined;
    let next = this.flight.peek()?.arrival;
    const head = this.pending.peek();
    if (head) {
      const d = this.departure(head);
      if (next === undefined || d < next) next = d;
    }
    return next === undefined ? undefined : Math.max(next, this.stalledUntil);
  }

  /** Holds everything until `untilMs`: nothing is sent or delivered before. */
  stall(untilMs: number, now: number): void {
    if (!Number.isFinite(untilMs)) throw new ConfigError('link: stall needs a finite end time');
    this.advance(now);
    this.counters.stalls++;
    this.stalledUntil = Math.max(this.stalledUntil, untilMs);
  }

  /** Corrupts each byte sent before `untilMs` with `probability` (replacing `corruption`). */
  corrupt(probability: number, untilMs: number, now: number): void {
    if (!isProbability(probability)) throw new ConfigError('link: corrupt probability must be 0..1');
    if (Number.isNaN(untilMs)) throw new ConfigError('link: corrupt needs an end time');
    this.advance(now);
    this.window = { probability, until: untilMs };
  }

  /** Drops everything queued and in flight, and every byte pushed from now on. */
  cut(now: number): void {
    this.advance(now);
    if (this.isCut) return;
    this.isCut = true;
    let dropped = 0;
    for (const s of this.pending.clear()) dropped += s.bytes.length;
    for (const f of this.flight.clear()) dropped += f.bytes.length;
    this.counters.droppedBytes += dropped;
    this.counters.queuedBytes = 0;
    this.counters.inFlightBytes = 0;
  }

  get cutOff(): boolean {
    return this.isCut;
  }

  /** Bytes waiting to be sent (what counts against `queueBytes`). */
  get queuedBytes(): number {
    return this.counters.queuedBytes;
  }

  /** Nothing queued and nothing in flight. */
  get idle(): boolean {
    return this.pending.length === 0 && this.flight.length === 0;
  }

  stats(): LinkShaperStats {
    return { ...this.counters, cut: this.isCut };
  }

  /** Sends every slice whose departure time has come by `now` (time never goes back). */
  private advance(now: number): void {
    if (Number.isNaN(now)) throw new ConfigError('link: now must be a number');
    if (now > this.now) this.now = now;
    if (this.isCut) return;
    for (let head = this.pending.peek(); head; head = this.pending.peek()) {
      const d = this.departure(head);
      if (d > this.now) break;
      this.pending.shift();
      this.send(head, d);
    }
  }

  /**
   * GCRA: a slice of L bytes may go when the bucket holds L tokens, i.e. at
   * tat − (burst − L) / rate; never before it was pushed, nor during a stall.
   */
  private departure(s: Slice): number {
    let d = s.at;
    if (Number.isFinite(this.bytesPerMs)) {
      d = Math.max(d, this.tat - (this.params.burstBytes - s.bytes.length) / this.bytesPerMs);
    }
    return Math.max(d, this.stalledUntil);
  }

  private send(s: Slice, d: number): void {
    if (Number.isFinite(this.bytesPerMs)) this.tat = Math.max(this.tat, d) + s.bytes.length / this.bytesPerMs;
    this.counters.queuedBytes -= s.bytes.length;
    const w = this.window;
    const p = w && d < w.until ? w.probability : this.params.corruption;
    if (p > 0) this.counters.corruptedBytes += this.corruptBytes(s.bytes, p);
    const arrival = Math.max(d + Math.max(0, this.params.delayMs + this.jitter()), this.lastArrival);
    this.lastArrival = arrival;
    this.flight.push({ bytes: s.bytes, arrival });
    this.counters.inFlightBytes += s.bytes.length;
  }

  /** A draw in [−jitterMs, +jitterMs]. */
  private jitter(): number {
    const j = this.params.jitterMs;
    if (j === 0) return 0;
    if (this.params.jitterDistribution === 'uniform') return (this.jitterRandom() * 2 - 1) * j;
    // Box–Muller (Box and Muller 1958), σ = j / 2, clipped to ± j (2σ: 95% of draws unclipped).
    const u1 = 1 - this.jitterRandom();
    const u2 = this.jitterRandom();
    const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    return Math.max(-j, Math.min(j, (z * j) / 2));
  }

  /**
   * Flips one bit in each byte hit with probability `p`, byte by byte independently: the gap to
   * the next hit is geometric, so the cost is one draw per hit, not per byte. Starting afresh at
   * each slice is exact, the geometric distribution being memoryless.
   */
  private corruptBytes(bytes: Uint8Array, p: number): number {
    let hits = 0;
    const logq = Math.log(1 - p);
    for (let i = this.gap(p, logq); i < bytes.length; i += 1 + this.gap(p, logq)) {
      flipBit(bytes, i, this.corruptRandom());
      hits++;
    }
    return hits;
  }

  private gap(p: number, logq: number): number {
    if (p >= 1) return 0;
    return Math.floor(Math.log(1 - this.corruptRandom()) / logq);
  }
}

/** Flips bit `floor(u * 8)` of `bytes[index]` (the byte always changes). */
function flipBit(bytes: Uint8Array, index: number, u: number): void {
  bytes[index] = bytes[index]! ^ (1 << Math.min(7, Math.floor(u * 8)));
}
