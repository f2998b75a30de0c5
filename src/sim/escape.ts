/**
 * The escape from online data state to online command state (the Hayes "+++" sequence; V.250
 * defines the online command state, clause 3, but leaves the escape to S2 and S12 of the
 * Hayes set): a guard time of silence, three escape characters (S2, `+`) each within a guard
 * time of the one before, then a guard time of silence. The guard time is S12 in units of
 * 1/50 s. The escape characters are still passed on as data, as real modems do.
 */
export class EscapeDetector {
  /** Escape characters seen in a row (0..3). */
  private count = 0;
  private lastByteAt = 0;
  private lastEscapeAt = 0;

  /** Entering online data state: the guard before the first `+` counts from here. */
  reset(now: number): void {
    this.count = 0;
    this.lastByteAt = now;
  }

  /** Looks at one byte the DTE sent in online data state. */
  onByte(byte: number, now: number, escapeChar: number, guardMs: number): void {
    if (escapeChar > 127) {
      // Hayes: an S2 above 127 disables the escape sequence.
      this.count = 0;
    } else if (byte !== escapeChar) {
      this.count = 0;
    } else if (this.count === 0 || this.count >= 3) {
      // A first escape character counts only after a guard time of silence; a fourth one
      // breaks the sequence (and may itself start a new one after silence).
      this.count = now - this.lastByteAt >= guardMs ? 1 : 0;
      this.lastEscapeAt = now;
    } else if (now - this.lastEscapeAt <= guardMs) {
      this.count++;
      this.lastEscapeAt = now;
    } else {
      this.count = now - this.lastByteAt >= guardMs ? 1 : 0;
      this.lastEscapeAt = now;
    }
    this.lastByteAt = now;
  }

  /** When the trailing guard time ends, if three escape characters are waiting for it. */
  deadline(guardMs: number): number | undefined {
    return this.count === 3 ? this.lastEscapeAt + guardMs : undefined;
  }

  /** Whether the escape is complete at `now` (three escape characters, then silence). */
  complete(now: number, guardMs: number): boolean {
    const at = this.deadline(guardMs);
    return at !== undefined && now >= at;
  }

  clear(): void {
    this.count = 0;
  }
}
