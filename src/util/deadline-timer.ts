import type { Clock, TimerHandle } from './clock.js';

/**
 * The one timer a shell keeps for its core: armed at the core's `nextDeadline()`, re-armed
 * only when that changes, and firing `onDue` (which ticks the core and flushes).
 */
export class DeadlineTimer {
  private handle: TimerHandle | undefined;
  /** When the armed timer fires. */
  private at: number | undefined;
  /** When `onDue` is wanted (at or after `at`). */
  private want: number | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly onDue: () => void,
    /** Let the process exit while the timer is pending. */
    private unref = false,
  ) {}

  /** Whether a pending timer keeps the process alive (like `Timeout.ref`/`unref`). */
  setRef(ref: boolean): void {
    this.unref = !ref;
    if (this.handle) {
      if (ref) (this.handle as { ref?: () => void }).ref?.();
      else this.handle.unref?.();
    }
  }

  /**
   * Wakes at `at` (ms on the clock's scale); `undefined` disarms. A deadline that only moves
   * later (a keepalive pushed back by every packet sent) keeps the timer already set: when it
   * fires early it sets itself again for the deadline now wanted, so the common case costs no
   * timer churn per packet.
   */
  arm(at: number | undefined): void {
    if (at === undefined) {
      this.clear();
      return;
    }
    this.want = at;
    if (this.handle && this.at !== undefined && this.at <= at) return;
    this.set(at);
  }

  private set(at: number): void {
    if (this.handle) this.clock.clearTimer(this.handle);
    this.at = at;
    this.handle = this.clock.setTimer(
      () => {
        this.handle = undefined;
        this.at = undefined;
        const want = this.want;
        if (want === undefined) return;
        if (want > this.clock.now()) {
          this.set(want);
          return;
        }
        this.want = undefined;
        this.onDue();
      },
      Math.max(0, at - this.clock.now()),
    );
    if (this.unref) this.handle.unref?.();
  }

  clear(): void {
    if (this.handle) this.clock.clearTimer(this.handle);
    this.handle = undefined;
    this.at = undefined;
    this.want = undefined;
  }
}
