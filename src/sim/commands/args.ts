import type { Field } from '../../modem/parse/fields.js';

/** A decimal parameter: `undefined` when omitted (V.250 clause 5.4.2.1), `NaN` when not a number. */
export function intParam(args: readonly Field[], i: number): number | undefined {
  const f = args[i];
  if (!f || (f.text === '' && !f.quoted)) return undefined;
  if (f.quoted || !/^\d{1,9}$/.test(f.text)) return Number.NaN;
  return Number.parseInt(f.text, 10);
}

/** A string parameter, quoted or not; `undefined` when omitted. */
export function strParam(args: readonly Field[], i: number): string | undefined {
  const f = args[i];
  if (!f || (f.text === '' && !f.quoted)) return undefined;
  return f.text;
}

/** Whether `v` is an integer in `lo..hi`. */
export function inRange(v: number | undefined, lo: number, hi: number): v is number {
  return v !== undefined && Number.isInteger(v) && v >= lo && v <= hi;
}
