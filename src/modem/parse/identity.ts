import { stripPrefix } from './fields.js';

/**
 * Identity responses: +CGMI, +CGMM, +CGMR (27.007 clauses 5.1-5.3), +CGSN (5.4), +CIMI
 * (5.6) and the ICCID in its vendor spellings. Modems answer with or without the
 * `+NAME:` prefix, with or without quotes, sometimes with a label (`Revision: ...`).
 */

const LABELS = /^(manufacturer|model|revision|imei|imsi|iccid|ccid)\s*:\s*/i;

/** The text of the first non-empty response line, prefix, label and quotes removed. */
export function parseIdentityText(lines: readonly string[], name?: string): string | null {
  for (const raw of lines) {
    let t = name ? stripPrefix(raw, name) : raw.trim();
    if (name === undefined || t === raw.trim()) t = stripPrefix(t);
    t = t.replace(LABELS, '').trim();
    t = t.replace(/^"(.*)"$/, '$1').trim();
    if (t.length > 0) return t;
  }
  return null;
}

/** IMEI (14 digits plus check digit, or 16-digit IMEISV) from a +CGSN / ATI / +GSN answer. */
export function parseImei(lines: readonly string[]): string | null {
  for (const line of lines) {
    const m = /(?:^|[^0-9])(\d{15,17})(?![0-9])/.exec(line);
    if (m) return m[1]!;
    const short = /(?:^|[^0-9])(\d{14})(?![0-9])/.exec(line);
    if (short) return short[1]!;
  }
  return null;
}

/** IMSI (up to 15 digits, at least MCC+MNC+some MSIN) from a +CIMI answer. */
export function parseImsi(lines: readonly string[]): string | null {
  for (const line of lines) {
    const m = /(?:^|[^0-9])(\d{6,15})(?![0-9])/.exec(line);
    if (m) return m[1]!;
  }
  return null;
}

/**
 * ICCID from `+CCID`, `+ICCID`, `^ICCID`, `+QCCID`, `+CRSM` or a bare line. Some Huawei and
 * older firmware return the EF_ICCID bytes with their nibbles swapped (`98...` instead of
 * `89...`, ITU-T E.118 numbers start with 89); those are swapped back. Trailing `F` padding
 * is removed.
 */
export function parseIccid(lines: readonly string[]): string | null {
  for (const line of lines) {
    const body = stripPrefix(line).replace(/"/g, '').trim();
    const m = /([0-9A-Fa-f]{18,22})/.exec(body);
    if (!m) continue;
    let digits = m[1]!.toUpperCase();
    if (digits.startsWith('98') && digits.length % 2 === 0) digits = swapNibbles(digits);
    digits = digits.replace(/F+$/, '');
    // E.118: the issuer identification starts with the telecom MII 89; some issuers use
    // hex digits in the account part (ModemManager accepts `898602F9...` as it is).
    if (/^89[0-9A-F]{16,18}$/.test(digits)) return digits;
  }
  return null;
}

function swapNibbles(hex: string): string {
  let out = '';
  for (let i = 0; i + 1 < hex.length; i += 2) out += hex[i + 1]! + hex[i]!;
  return out;
}
