import type { CongestionConfig, CongestionControl } from '../congestion.js';

/**
 * NewReno (RFC 5681 slow start and congestion avoidance, RFC 6582 fast recovery), with
 * appropriate byte counting (RFC 3465, L = 2) so that delayed ACKs do not halve the growth.
 */
export class NewReno implements CongestionControl {
  readonly name = 'newreno';
  cwnd: number;
  ssthresh = Number.MAX_SAFE_INTEGER;
  private readonly smss: number;
  private readonly initial: number;
  /** Octets acknowledged towards the next cwnd increase in congestion avoidance. */
  private caAcked = 0;

  constructor(config: CongestionConfig) {
    this.smss = config.smss;
    this.initial = (config.initialWindowSegments ?? 10) * config.smss;
    this.cwnd = this.initial;
  }

  onAck(ackedBytes: number): void {
    if (this.cwnd < this.ssthresh) {
      // Slow start (RFC 5681 3.1 equation 2, RFC 3465 with L = 2).
      this.cwnd += Math.min(ackedBytes, 2 * this.smss);
    } else {
      // Congestion avoidance: about one SMSS per RTT (RFC 5681 3.1 equation 3, byte counted).
      this.caAcked += ackedBytes;
      if (this.caAcked >= this.cwnd) {
        this.caAcked -= this.cwnd;
        this.cwnd += this.smss;
      }
    }
  }

  onEnterRecovery(flightBytes: number): void {
    this.ssthresh = Math.max(Math.floor(flightBytes / 2), 2 * this.smss); // RFC 5681 equation 4
    this.cwnd = this.ssthresh + 3 * this.smss;
  }

  onDupAckInRecovery(): void {
    this.cwnd += this.smss;
  }

  onPartialAck(ackedBytes: number): void {
    // RFC 6582 3.2 step 5: deflate by the amount acknowledged, add back one SMSS if that
    // amount was at least SMSS.
    this.cwnd = Math.max(this.smss, this.cwnd - ackedBytes + (ackedBytes >= this.smss ? this.smss : 0));
  }

  onExitRecovery(flightBytes: number): void {
    // RFC 6582 3.2 step 5, option (1) guarded against a burst: min(ssthresh, FlightSize + SMSS).
    this.cwnd = Math.min(this.ssthresh, Math.max(flightBytes, this.smss) + this.smss);
    this.caAcked = 0;
  }

  onTimeout(flightBytes: number): void {
    this.ssthresh = Math.max(Math.floor(flightBytes / 2), 2 * this.smss);
    this.cwnd = this.smss; // loss window (RFC 5681 3.1)
    this.caAcked = 0;
  }

  onIdle(): void {
    // RFC 5681 4.1: restart window = min(IW, cwnd).
    this.cwnd = Math.min(this.cwnd, this.initial);
  }
}
