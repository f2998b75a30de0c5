import { describe, expect, it } from 'vitest';
import type { Clock, TimerHandle } from '../../src/util/clock.js';
import { DeadlineTimer } from '../../src/util/deadline-timer.js';
import { ManualClock } from '../../src/util/manual-clock.js';

/** A ManualClock that counts the timers set on it. */
function counting(): { clock: Clock & { advance(ms: number): Promise<void> }; sets: () => number } {
  const inner = new ManualClock();
  let sets = 0;
  const clock = {
    now: () => inner.now(),
    setTimer: (cb: () => void, ms: number): TimerHandle => {
      sets++;
      return inner.setTimer(cb, ms);
    },
    clearTimer: (h: TimerHandle) => inner.clearTimer(h),
    advance: (ms: number) => inner.advance(ms),
  };
  return { clock, sets: () => sets };
}

describe('DeadlineTimer', () => {
  it('a deadline pushed later keeps the timer set, and onDue comes once, at the last deadline', async () => {
    const { clock, sets } = counting();
    const due: number[] = [];
    const t = new DeadlineTimer(clock, () => due.push(clock.now()));
    t.arm(100);
    for (let at = 101; at <= 200; at++) t.arm(at); // a keepalive moved by each packet sent
    expect(sets()).toBe(1);
    await clock.advance(150);
    expect(due).toEqual([]);
    await clock.advance(50);
    expect(due).toEqual([200]);
    expect(sets()).toBe(2); // the early wake-up set itself again once
  });

  it('an earlier deadline moves the timer forward; clear() and arm(undefined) cancel', async () => {
    const { clock } = counting();
    const due: number[] = [];
    const t = new DeadlineTimer(clock, () => due.push(clock.now()));
    t.arm(500);
    t.arm(50);
    await clock.advance(60);
    expect(due).toEqual([50]);
    t.arm(200);
    t.arm(undefined);
    t.arm(300);
    t.clear();
    await clock.advance(1000);
    expect(due).toEqual([50]);
  });
});
