import { fieldsOf, intField, splitFields, stripPrefix } from './fields.js';

/**
 * SIM state and PIN retry counters: +CPIN (3GPP TS 27.007 clause 8.3), +CPINR (clause 8.65)
 * and the vendor forms that predate +CPINR.
 */

/** The `<code>` of `+CPIN: <code>` as the modem says it, e.g. `READY`, `SIM PIN`, `SIM PUK`. */
export function parseCpin(line: string): string | undefined {
  const body = stripPrefix(line, '+CPIN');
  if (body === line.trim() && !/^\+CPIN/i.test(line.trim())) return undefined;
  const code = body.replace(/^"|"$/g, '').trim().replace(/\s+/g, ' ').toUpperCase();
  return code.length > 0 ? code : undefined;
}

/** Attempts left; `null` where the modem does not say. */
export interface PinRetries {
  pin: number | null;
  puk: number | null;
  pin2: number | null;
  puk2: number | null;
}

function retries(
  pin: number | null,
  puk: number | null,
  pin2: number | null,
  puk2: number | null,
): PinRetries {
  return { pin, puk, pin2, puk2 };
}

const CPINR_CODES: Readonly<Record<string, keyof PinRetries>> = {
  'SIM PIN': 'pin',
  'SIM PUK': 'puk',
  'SIM PIN2': 'pin2',
  'SIM PUK2': 'puk2',
};

/** `+CPINR: <code>,<retries>[,<default_retries>]`, one line per code. */
export function parseCpinr(lines: readonly string[]): PinRetries | undefined {
  const out = retries(null, null, null, null);
  let any = false;
  for (const line of lines) {
    if (!/^\s*\+CPINR\s*:/i.test(line)) continue;
    const f = fieldsOf(line, '+CPINR');
    const code = (f[0]?.text ?? '').toUpperCase().replace(/\s+/g, ' ');
    const n = intField(f[1]);
    if (n === null) continue;
    const key = CPINR_CODES[code];
    if (key === undefined) continue;
    out[key] = n;
    any = true;
  }
  return any ? out : undefined;
}

/** Huawei `^CPIN: <code>,[<times>],<puk_times>,<pin_times>,<puk2_times>,<pin2_times>`. */
export function parseHuaweiCpin(line: string): PinRetries | undefined {
  if (!/^\s*\^CPIN\s*:/i.test(line)) return undefined;
  const f = fieldsOf(line, '^CPIN');
  if (f.length < 6) return undefined;
  return retries(intField(f[3]), intField(f[2]), intField(f[5]), intField(f[4]));
}

/** Quectel `+QPINC: "SC",<pincounter>,<pukcounter>` and `+QPINC: "P2",...`. */
export function parseQuectelQpinc(lines: readonly string[]): PinRetries | undefined {
  const out = retries(null, null, null, null);
  let any = false;
  for (const line of lines) {
    if (!/^\s*\+QPINC\s*:/i.test(line)) continue;
    const f = fieldsOf(line, '+QPINC');
    const facility = (f[0]?.text ?? '').toUpperCase();
    if (facility === 'SC') {
      out.pin = intField(f[1]);
      out.puk = intField(f[2]);
      any = true;
    } else if (facility === 'P2') {
      out.pin2 = intField(f[1]);
      out.puk2 = intField(f[2]);
      any = true;
    }
  }
  return any ? out : undefined;
}

/** SIMCom `+SPIC: <pin1>,<puk1>,<pin2>,<puk2>`. */
export function parseSimcomSpic(line: string): PinRetries | undefined {
  if (!/^\s*\+SPIC\s*:/i.test(line)) return undefined;
  const f = fieldsOf(line, '+SPIC');
  if (f.length < 2) return undefined;
  return retries(intField(f[0]), intField(f[1]), intField(f[2]), intField(f[3]));
}

/** u-blox `+UPINCNT: <PIN1_attempts>,<PIN2_attempts>,<PUK1_attempts>,<PUK2_attempts>`. */
export function parseUbloxUpincnt(line: string): PinRetries | undefined {
  if (!/^\s*\+UPINCNT\s*:/i.test(line)) return undefined;
  const f = splitFields(stripPrefix(line, '+UPINCNT'));
  if (f.length < 3) return undefined;
  return retries(intField(f[0]), intField(f[2]), intField(f[1]), intField(f[3]));
}
