/**
 * The retransmission timer (RFC 6298): SRTT and RTTVAR from samples, RTO = SRTT + 4 RTTVAR,
 * exponential backoff on timeout. Karn's rule is the caller's: no samples from retransmitted
 * segments.
 */
export interface RttConfig {
  /** RTO before the first sample (RFC 6298 2.1: 1 s). */
  initialRtoMs?: number;
  /**
   * Lower bound. RFC 6298 2.4 says 1 s; Linux uses 200 ms, and on cellular links with
   * 100-300 ms round trips 1 s makes every tail loss cost a second. Default 200 ms.
   */
  minRtoMs?: number;
  /** Upper bound (RFC 6298 2.5 allows 60 s or more). Default 60 s. */
  maxRtoMs?: number;
}

export class RttEstimator {
  srtt: number | undefined;
  rttvar = 0;
  private base: number;
  private backoffs = 0;
  private readonly min: number;
  private readonly max: number;

  constructor(config: RttConfig = {}) {
    this.min = config.minRtoMs ?? 200;
    this.max = config.maxRtoMs ?? 60_000;
    this.base = config.initialRtoMs ?? 1000;
  }

  /** The current RTO, backoff included. */
  get rto(): number {
    return Math.min(this.max, this.base * 2 ** this.backoffs);
  }

  get backoffCount(): number {
    return this.backoffs;
  }

  /** RFC 6298 2.2 and 2.3 (alpha = 1/8, beta = 1/4, G = 1 ms). */
  sample(rttMs: number): void {
    const r = Math.max(0, rttMs);
    if (this.srtt === undefined) {
      this.srtt = r;
      this.rttvar = r / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r);
      this.srtt = 0.875 * this.srtt + 0.125 * r;
    }
    this.base = Math.min(this.max, Math.max(this.min, this.srtt + Math.max(1, 4 * this.rttvar)));
    this.backoffs = 0;
  }

  /** RFC 6298 5.5: double the RTO after a timeout. */
  backoff(): void {
    if (this.rto < this.max) this.backoffs++;
  }

  /** New data was acknowledged: the backoff ends (RFC 6298 5.7 keeps the doubled value until a sample; Linux resets). */
  resetBackoff(): void {
    this.backoffs = 0;
  }
}
