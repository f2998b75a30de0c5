import { Duplex } from 'node:stream';
import { type Clock, systemClock, type TimerHandle } from '../util/clock.js';
import type { Trace, TraceEvent } from '../util/trace.js';
import type { ModemPort } from './port.js';

/**
 * Plays a recorded modem back: a `ModemPort` whose modem side is a trace. Each run of `tx`
 * events is what the driver must write next; once it has written those bytes, the `rx`
 * events that followed them in the recording are delivered with their recorded delays.
 * What the driver writes that the trace did not expect is recorded as a mismatch, and the
 * replay stops there (a real modem would not have answered the same way either).
 */
export interface ReplayOptions {
  clock?: Clock;
  /**
   * `cr`: accept a CR where the recording ends a command line with CR LF (some hosts send
   * CR LF; V.250 only needs S3 = CR). `exact` (default): byte for byte.
   */
  lineEnding?: 'exact' | 'cr';
  /** Ignore what the driver writes and deliver every `rx` event at its recorded time. */
  ignoreTx?: boolean;
}

export interface ReplayMismatch {
  /** Index of the first trace event of the expected run of writes. */
  event: number;
  expected: string;
  actual: string;
}

export class ReplayPort implements ModemPort {
  readonly path: string;
  readonly stream: Duplex;
  readonly mismatches: ReplayMismatch[] = [];
  /** Everything the driver wrote, in order (latin1). */
  written = '';
  private readonly clock: Clock;
  private readonly events: TraceEvent[];
  private next = 0;
  private pendingWrite = '';
  private timers = new Set<TimerHandle>();
  private stopped = false;
  private readonly options: ReplayOptions;

  constructor(trace: Trace, options: ReplayOptions = {}) {
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.path = `replay:${trace.header.device ?? 'trace'}`;
    this.events = trace.events.map((e) =>
      e.dir === 'tx' && options.lineEnding === 'cr' ? { ...e, data: e.data.replace(/\r\n$/, '\r') } : e,
    );
    this.stream = new Duplex({
      read: () => undefined,
      write: (chunk: Buffer, _enc, callback) => {
        this.onWrite(chunk.toString('latin1'));
        callback();
      },
      final: (callback) => {
        callback();
      },
    });
    if (options.ignoreTx) this.scheduleAll();
    else this.scheduleRx(0);
  }

  /** Whether every event of the trace has been played (and every expected write seen). */
  get finished(): boolean {
    return this.next >= this.events.length;
  }

  /** Index of the next event to play. */
  get position(): number {
    return this.next;
  }

  async close(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) this.clock.clearTimer(t);
    this.timers.clear();
    if (!this.stream.destroyed) {
      this.stream.push(null);
      this.stream.destroy();
    }
  }

  private onWrite(text: string): void {
    this.written += text;
    if (this.options.ignoreTx || this.stopped) return;
    // The driver may answer sooner than the recorded host did (it needs no LF after a final
    // result code): the modem's bytes still due from the last run are sent first.
    this.flushPendingRx();
    this.pendingWrite += text;
    for (;;) {
      const start = this.next;
      let expected = '';
      let i = start;
      while (i < this.events.length && this.events[i]!.dir === 'tx') expected += this.events[i++]!.data;
      if (expected.length === 0) {
        if (this.pendingWrite.length > 0) this.mismatch(start, '', this.pendingWrite);
        return;
      }
      if (this.pendingWrite.length < expected.length) {
        if (!expected.startsWith(this.pendingWrite)) this.mismatch(start, expected, this.pendingWrite);
        return;
      }
      if (!this.pendingWrite.startsWith(expected)) {
        this.mismatch(start, expected, this.pendingWrite);
        return;
      }
      this.pendingWrite = this.pendingWrite.slice(expected.length);
      this.next = i;
      this.scheduleRx(this.events[i - 1]!.t);
      if (this.pendingWrite.length === 0) return;
    }
  }

  private flushPendingRx(): void {
    for (const t of this.timers) this.clock.clearTimer(t);
    this.timers.clear();
    while (this.next < this.events.length && this.events[this.next]!.dir === 'rx') {
      this.stream.push(Buffer.from(this.events[this.next]!.data, 'latin1'));
      this.next++;
    }
  }

  private mismatch(event: number, expected: string, actual: string): void {
    this.mismatches.push({ event, expected, actual });
    this.stopped = true;
  }

  /** Delivers the run of rx events from `next`, each at its delay after `since`. */
  private scheduleRx(since: number): void {
    let i = this.next;
    while (i < this.events.length && this.events[i]!.dir === 'rx') i++;
    const run = this.events.slice(this.next, i);
    if (run.length === 0) return;
    const base = this.clock.now();
    let k = 0;
    const deliverDue = (): void => {
      while (k < run.length && !this.stopped) {
        const e = run[k]!;
        const due = base + Math.max(0, e.t - since);
        if (due > this.clock.now()) {
          const h = this.clock.setTimer(() => {
            this.timers.delete(h);
            deliverDue();
          }, due - this.clock.now());
          this.timers.add(h);
          return;
        }
        k++;
        this.next++;
        this.stream.push(Buffer.from(e.data, 'latin1'));
      }
    };
    deliverDue();
  }

  private scheduleAll(): void {
    for (const e of this.events) {
      if (e.dir !== 'rx') continue;
      const h = this.clock.setTimer(() => {
        this.timers.delete(h);
        if (!this.stopped) this.stream.push(Buffer.from(e.data, 'latin1'));
      }, e.t);
      this.timers.add(h);
    }
    this.next = this.events.length;
  }
}
