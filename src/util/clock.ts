/**
 * Time for the shells. Cores never read a clock: they are given `now` (milliseconds) and say
 * when they next need to be woken. Shells take a `Clock` so tests can drive them with
 * `ManualClock` and production uses `systemClock`.
 */
export interface Clock {
  /** Milliseconds on a monotonic scale. */
  now(): number;
  setTimer(callback: () => void, delayMs: number): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

export interface TimerHandle {
  /** Lets the process exit while this timer is pending (like `Timeout.unref`). */
  unref?(): void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer: (callback, delayMs) => setTimeout(callback, Math.max(0, delayMs)),
  clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * Wall-clock milliseconds (`Date.now`) with real timers: for shells whose cores stamp state
 * that outlives the process (TLS sessions, stored MQTT publishes), where a monotonic scale
 * would not survive a restart.
 */
export const wallClock: Clock = {
  now: () => Date.now(),
  setTimer: (callback, delayMs) => setTimeout(callback, Math.max(0, delayMs)),
  clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Resolves after `ms` on `clock`. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clock.clearTimer(handle);
      reject(signal?.reason);
    };
    const handle = clock.setTimer(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
