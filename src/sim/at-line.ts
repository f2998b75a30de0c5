/**
 * Assembles command lines from the bytes a DTE sends (ITU-T V.250 clause 5.2). A line ends
 * with the S3 character (CR); S5 (backspace) deletes the previous character (clause 5.2.2);
 * other control characters, LF among them, are ignored (clause 5.2.1). Characters before
 * the `AT` / `at` prefix are ignored. A line longer than the buffer is discarded and answered
 * with ERROR once it ends (clause 5.2.1: "If the maximum number of characters that the DCE
 * can accept in the body is exceeded, an ERROR result code shall be generated").
 */
export type LineResult =
  /** `line` from the prefix on (`AT+CSQ`), `body` after it (`+CSQ`). */
  | { kind: 'command'; line: string; body: string }
  | { kind: 'too-long' }
  /** A line without an `AT` prefix: a real DCE ignores it. */
  | { kind: 'no-prefix' };

export class CommandLineReader {
  private text = '';
  private overflow = false;

  constructor(private readonly maxBytes: number) {}

  /** Characters buffered so far (for tests). */
  get pending(): number {
    return this.text.length;
  }

  reset(): void {
    this.text = '';
    this.overflow = false;
  }

  /** Feeds one byte; returns a result when `byte` ends a line (is S3). */
  push(byte: number, s3: number, s5: number): LineResult | undefined {
    if (byte === s3) return this.end();
    if (byte === s5) {
      if (!this.overflow) this.text = this.text.slice(0, -1);
      return undefined;
    }
    if (byte < 0x20) return undefined;
    if (this.overflow) return undefined;
    if (this.text.length >= this.maxBytes) {
      this.overflow = true;
      this.text = '';
      return undefined;
    }
    this.text += String.fromCharCode(byte);
    return undefined;
  }

  private end(): LineResult {
    const text = this.text;
    const overflow = this.overflow;
    this.reset();
    if (overflow) return { kind: 'too-long' };
    const at = findPrefix(text);
    if (at < 0) return { kind: 'no-prefix' };
    return { kind: 'command', line: text.slice(at), body: text.slice(at + 2) };
  }
}

/** V.250 clause 5.2.1: the prefix is `AT` or `at` (mixed case is not a prefix). */
function findPrefix(text: string): number {
  const upper = text.indexOf('AT');
  const lower = text.indexOf('at');
  if (upper < 0) return lower;
  if (lower < 0) return upper;
  return Math.min(upper, lower);
}
