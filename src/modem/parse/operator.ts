import { fieldsOf, intField, parenGroups, splitFields, stripPrefix } from './fields.js';
import { type AccessTechnology, accessTechnology } from './registration.js';

/** Operator selection, +COPS (3GPP TS 27.007 clause 7.3). */
export interface CopsStatus {
  /** `<mode>`: 0 automatic, 1 manual, 2 deregister, 3 set format only, 4 manual/automatic. */
  mode: number;
  /** `<format>`: 0 long alphanumeric, 1 short alphanumeric, 2 numeric; `null` when absent. */
  format: number | null;
  /** `<oper>` in that format; `null` when not registered. */
  operator: string | null;
  actRaw: number | null;
  act: AccessTechnology | null;
}

export function parseCopsQuery(line: string): CopsStatus | undefined {
  const f = fieldsOf(line, '+COPS');
  const mode = intField(f[0]);
  if (mode === null) return undefined;
  const format = intField(f[1]);
  const oper = ucs2(f[2]?.text ?? '');
  const actRaw = intField(f[3]);
  return {
    mode,
    format,
    operator: oper.length > 0 ? oper : null,
    actRaw,
    act: accessTechnology(actRaw),
  };
}

export type OperatorAvailability = 'unknown' | 'available' | 'current' | 'forbidden';

export interface CopsNetwork {
  availability: OperatorAvailability;
  longName: string | null;
  shortName: string | null;
  /** MCC and MNC digits, e.g. `26202`. */
  mccmnc: string | null;
  actRaw: number | null;
  act: AccessTechnology | null;
}

const AVAILABILITY: readonly OperatorAvailability[] = ['unknown', 'available', 'current', 'forbidden'];

/**
 * Parses `+COPS: (stat,"long","short","numeric"[,AcT]),...,,(modes),(formats)`. The list of
 * networks ends at the first empty group; groups that do not look like a network (the lists
 * of supported modes and formats) are skipped. Lines may be split over several lines.
 */
export function parseCopsTest(lines: string | readonly string[]): CopsNetwork[] {
  const text = (typeof lines === 'string' ? [lines] : lines)
    .map((l) => stripPrefix(l, '+COPS').replace(/,\s*$/, ''))
    .join(',')
    // Seen in ModemManager's test data: the AcT outside the tuple, `"310260"),2)`.
    .replace(/("\s*)\)\s*,\s*(\d+)\s*\)/g, '$1,$2)');
  const out: CopsNetwork[] = [];
  for (const group of parenGroups(text)) {
    if (group === '') break;
    const f = splitFields(group);
    if (f.length < 4) continue;
    const stat = intField(f[0]);
    if (stat === null) continue;
    const numeric = ucs2(f[3]!.text).replace(/\s+/g, '');
    if (!f[1]!.quoted && !f[3]!.quoted && !/^\d{5,7}$/.test(numeric)) continue;
    const actRaw = intField(f[4]);
    out.push({
      availability: AVAILABILITY[stat] ?? 'unknown',
      longName: ucs2(f[1]!.text) || null,
      shortName: ucs2(f[2]!.text) || null,
      mccmnc: /^\d{5,7}$/.test(numeric) ? numeric : null,
      actRaw,
      act: accessTechnology(actRaw),
    });
  }
  return out;
}

/**
 * A modem whose character set is UCS2 (+CSCS, 27.007 clause 5.5) sends strings as hex
 * UTF-16 code units (`004D006F...`). A field that reads as such, with only printable
 * characters, is decoded; anything else is returned as it is.
 */
export function ucs2(text: string): string {
  if (text.length < 8 || text.length % 4 !== 0 || !/^[0-9A-Fa-f]+$/.test(text)) return text;
  let out = '';
  for (let i = 0; i < text.length; i += 4) {
    const u = Number.parseInt(text.slice(i, i + 4), 16);
    if (u < 0x20 || (u >= 0x7f && u < 0xa0) || (u >= 0xd800 && u <= 0xdfff)) return text;
    out += String.fromCharCode(u);
  }
  return out;
}
