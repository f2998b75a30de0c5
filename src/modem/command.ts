/**
 * What the channel needs to know about one AT command line (V.250 clause 5.1-5.4).
 */
export interface AtCommandRequest {
  /** The command line without the terminating CR, e.g. `AT+CGMI`. With `raw`, bytes to write as they are. */
  text: string;
  /** The form shown in logs and errors (secrets replaced). Defaults to `text`. */
  display?: string;
  /** Time allowed for the final result code, in milliseconds. */
  timeoutMs: number;
  /**
   * Prefixes of the information lines that belong to this command (`+CGPADDR`). By default
   * they are derived from read (`?`), test (`=?`) and action commands (`AT+CSQ`); lines that
   * start with another known URC name are then reported as URCs even mid-response.
   */
  expect?: string | readonly string[];
  /** Write `text` as is: no `AT` handling, no CR, no echo expected (the `+++` escape). */
  raw?: boolean;
  /** When cancelled while in flight, send a character to abort it (V.250 clause 5.6.1). */
  abortOnCancel?: boolean;
  /** Text sent after the `> ` prompt, followed by Ctrl-Z (27.005 +CMGS style). */
  body?: string;
}

/** Default timeouts: most commands answer within a second, some legitimately take minutes. */
export function defaultTimeoutMs(text: string, fallback = 10_000): number {
  const u = text.toUpperCase().replace(/\s+/g, '');
  if (u.startsWith('AT+COPS=?')) return 180_000; // network scan
  if (u.startsWith('AT+COPS=')) return 120_000; // manual or automatic registration
  if (u.startsWith('AT+CGATT=')) return 150_000; // 27.007 10.1.9: network-dependent
  if (u.startsWith('AT+CGACT=')) return 150_000;
  if (/^ATD/.test(u) || u.startsWith('AT+CGDATA')) return 60_000;
  if (u.startsWith('AT+CFUN=')) return 30_000;
  if (u.startsWith('AT+CPIN=') || u.startsWith('AT+CLCK')) return 20_000;
  if (u.startsWith('ATH') || u.startsWith('AT+CHUP')) return 20_000;
  return fallback;
}

/**
 * Response prefixes of a command: `AT+CREG?` -> `+CREG`, `AT+COPS=?` -> `+COPS`,
 * `AT^SYSINFOEX` -> `^SYSINFOEX`, `AT+CGMI` -> `+CGMI`. Set commands (`AT+CREG=2`) have
 * none: their information lines, if any, must be named with `expect`.
 */
export function responsePrefixes(text: string): string[] {
  const t = text.trim();
  if (!/^AT/i.test(t)) return [];
  const out: string[] = [];
  // V.250 clause 5.4.1: extended commands on one line are separated by semicolons.
  for (const part of t.slice(2).split(';')) {
    const m = /^\s*([+^$#*%!][A-Za-z0-9_]+)(.*)$/.exec(part);
    if (!m) continue;
    const rest = m[2]!.trim();
    if (rest === '' || rest === '?' || rest === '=?') out.push(m[1]!.toUpperCase());
  }
  return out;
}
