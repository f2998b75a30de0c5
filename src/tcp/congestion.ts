/**
 * Congestion control behind one interface (the shape of gVisor's reno.go next to snd.go):
 * the sender reports what happened, the controller keeps cwnd and ssthresh.
 */
export interface CongestionControl {
  readonly name: string;
  /** Congestion window in octets. */
  readonly cwnd: number;
  readonly ssthresh: number;
  /** New data acknowledged outside loss recovery. */
  onAck(ackedBytes: number, flightBytes: number): void;
  /** Three duplicate ACKs: loss recovery starts (RFC 6582 3.2 step 2). */
  onEnterRecovery(flightBytes: number): void;
  /** A further duplicate ACK during recovery (RFC 6582 3.2 step 3). */
  onDupAckInRecovery(): void;
  /** A partial ACK during recovery (RFC 6582 3.2 step 5). */
  onPartialAck(ackedBytes: number): void;
  /** The ACK covering the recovery point (RFC 6582 3.2 step 5, full acknowledgment). */
  onExitRecovery(flightBytes: number): void;
  /** The retransmission timer expired (RFC 5681 3.1 equation 4). */
  onTimeout(flightBytes: number): void;
  /** The connection was idle longer than an RTO (RFC 5681 4.1). */
  onIdle(): void;
}

export interface CongestionConfig {
  /** Sender maximum segment size. */
  smss: number;
  /** Initial window in segments (RFC 6928: 10; RFC 5681: 2-4). Default 10. */
  initialWindowSegments?: number;
}

export type CongestionFactory = (config: CongestionConfig) => CongestionControl;
