import { ConfigError } from '../../util/errors.js';
import type { ReconnectOptions } from './options.js';

/**
 * Delay before the next attempt: exponential growth capped at `maxDelayMs`, with "full
 * jitter" (a uniform draw in [0, cap]) so that a fleet of devices losing the same cell does
 * not reconnect in lockstep (the AWS Architecture Blog's "Exponential Backoff And Jitter").
 * The first retry after a healthy connection is drawn from `initialDelayMs`, so a single blip
 * costs about a second. Pure: the caller passes the random source.
 */
export class Backoff {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly factor: number;
  private failures = 0;

  constructor(
    options: ReconnectOptions = {},
    private readonly random: () => number = Math.random,
  ) {
    this.initialDelayMs = options.initialDelayMs ?? 1000;
    this.maxDelayMs = options.maxDelayMs ?? 120_000;
    this.factor = options.factor ?? 2;
    if (!(this.initialDelayMs >= 0) || !Number.isFinite(this.initialDelayMs))
      throw new ConfigError('reconnect.initialDelayMs must be a finite number >= 0');
    if (!(this.maxDelayMs >= this.initialDelayMs) || !Number.isFinite(this.maxDelayMs))
      throw new ConfigError('reconnect.maxDelayMs must be finite and >= initialDelayMs');
    if (!(this.factor >= 1) || !Number.isFinite(this.factor))
      throw new ConfigError('reconnect.factor must be a finite number >= 1');
  }

  /** Failed attempts since the last success. */
  get attempts(): number {
    return this.failures;
  }

  /** The ceiling the next delay is drawn under. */
  ceiling(): number {
    return Math.min(this.maxDelayMs, this.initialDelayMs * this.factor ** this.failures);
  }

  /** Records a failure and returns the wait before the next attempt, ms. */
  next(): number {
    const cap = this.ceiling();
    this.failures++;
    const r = this.random();
    const u = r >= 0 && r < 1 ? r : 0;
    // Never 0 when a delay was asked for: a tight loop is what backoff exists to prevent.
    return Math.max(Math.min(cap, 50), Math.floor(u * cap));
  }

  /** A connection came up: start again from the first delay. */
  reset(): void {
    this.failures = 0;
  }
}
