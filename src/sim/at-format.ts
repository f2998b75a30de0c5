import { cmeText } from '../modem/cme.js';

/**
 * Response formatting, ITU-T V.250 clause 5.7.1 with verbose responses (V1): information
 * text is `<S3><S4>text<S3><S4>` (lines of one response joined by `<S3><S4>`), and a result
 * code is `<S3><S4>code<S3><S4>`. V0 (numeric codes) is accepted and ignored.
 */
export function frame(lines: readonly string[], s3: number, s4: number): string {
  const eol = String.fromCharCode(s3, s4);
  return eol + lines.join(eol) + eol;
}

/**
 * `+CME ERROR: <err>` per the `+CMEE` setting (27.007 clause 9.1): 0 plain `ERROR`, 1 the
 * number, 2 the text of clause 9.2 (the number when the table has no text).
 */
export function cmeError(cause: number, cmee: number): string {
  if (cmee === 0) return 'ERROR';
  if (cmee === 1) return `+CME ERROR: ${cause}`;
  return `+CME ERROR: ${cmeText(cause) ?? cause}`;
}

/** Upper-case hex, zero-padded: lac/tac/ci of 27.007 clause 7.2 (`"1A2B"`, `"01A2B3C4"`). */
export function hex(value: number, digits: number): string {
  return (value >>> 0).toString(16).toUpperCase().padStart(digits, '0');
}

/** V.250 clause 5.3.2: an S-parameter reads as exactly three decimal digits. */
export function sParameterText(value: number): string {
  return String(value).padStart(3, '0');
}

/** Commands whose parameters are secrets (27.007 clauses 7.4, 7.5, 8.3); logged redacted. */
const SECRET = /([+^](?:CPIN2?|CLCK|CPWD)\s*=)[^;]*/gi;

/** A command line with PINs and passwords replaced, for logs. */
export function redactCommandLine(line: string): string {
  return line.replace(SECRET, '$1<redacted>');
}
