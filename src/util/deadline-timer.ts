import type { Clock, TimerHandle } from './clock.js';

/**
 * The one timer a shell keeps for its core: armed at the core's `nextDeadline()`, re-armed
 * only when that changes, and firing `onDue` (which ticks the core and flushes).
 */
export class DeadlineTimer {
  private handle: TimerHandle | undefined;
  private at: number | undefined;

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

  /** Wakes at `at` (ms on the clock's scale); `undefined` disarms. */
  arm(at: number | undefined): void {
    if (at === this.at) return;
    this.clear();
    if (at === undefined) return;
    this.at = at;
    this.handle = this.clock.setTimer(
      () => {
        this.handle = undefined;
        this.at = undefined;
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
  }
}
