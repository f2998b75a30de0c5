/**
 * Tokeniser for AT information responses (ITU-T V.250 clause 5.7.2, 3GPP TS 27.007 clause 4):
 * `+NAME: <field>,<field>,...`, where a field may be a quoted string (which may hold commas
 * and parentheses) or a parenthesised list. Real modems add spaces, drop quotes and leave
 * fields out; every function here is liberal in what it accepts and never throws.
 */

export interface Field {
  /** The field's text without surrounding quotes and spaces. */
  text: string;
  /** Whether the modem sent it inside double quotes. */
  quoted: boolean;
}

/** Strips a `+NAME:` / `^NAME:` / `$NAME:` prefix (any case, spaces around the colon). */
export function stripPrefix(line: string, name?: string): string {
  const trimmed = line.trim();
  if (name !== undefined) {
    if (trimmed.toUpperCase().startsWith(name.toUpperCase())) {
      const rest = trimmed.slice(name.length).trimStart();
      return (rest.startsWith(':') ? rest.slice(1) : rest).trim();
    }
    return trimmed;
  }
  const m = /^[+^$#*!%][A-Za-z0-9_]+\s*:\s*/.exec(trimmed);
  return m ? trimmed.slice(m[0].length).trim() : trimmed;
}

/** Splits a field list on top-level commas (outside quotes and parentheses). */
export function splitFields(text: string): Field[] {
  const fields: Field[] = [];
  let depth = 0;
  let inQuote = false;
  let start = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = text[i];
    if (i === text.length || (c === ',' && depth === 0 && !inQuote)) {
      fields.push(toField(text.slice(start, i)));
      start = i + 1;
      continue;
    }
    if (c === '"') inQuote = !inQuote;
    else if (!inQuote && c === '(') depth++;
    else if (!inQuote && c === ')' && depth > 0) depth--;
  }
  return fields;
}

function toField(raw: string): Field {
  const t = raw.trim();
  if (t.length >= 2 && t.startsWith('"') && t.endsWith('"'))
    return { text: t.slice(1, -1).trim(), quoted: true };
  if (t.startsWith('"')) return { text: t.slice(1).trim(), quoted: true }; // unterminated quote
  return { text: t, quoted: false };
}

/** The fields of `+NAME: a,b,c` as plain strings. */
export function fieldsOf(line: string, name?: string): Field[] {
  const body = stripPrefix(line, name);
  return body.length === 0 ? [] : splitFields(body);
}

/** A decimal integer field, or `null` when empty or not a number. */
export function intField(field: Field | undefined): number | null {
  if (!field) return null;
  const t = field.text.trim();
  if (!/^[+-]?\d+$/.test(t)) return null;
  const n = Number.parseInt(t, 10);
  return Number.isSafeInteger(n) ? n : null;
}

/**
 * A hexadecimal field (27.007 gives lac, tac and ci as hex strings, quoted or not, sometimes
 * with a `0x` prefix), normalised to upper-case hex without leading zeros; `null` if empty.
 */
export function hexField(field: Field | undefined): string | null {
  if (!field) return null;
  let t = field.text.trim();
  if (/^0x/i.test(t)) t = t.slice(2);
  if (t.length === 0 || t.length > 16 || !/^[0-9a-fA-F]+$/.test(t)) return null;
  const stripped = t.replace(/^0+(?=.)/, '');
  return stripped.toUpperCase();
}

/**
 * Splits a parenthesised list `(a,b),(c,d),,(0-4)` into its groups' inner texts. Text outside
 * parentheses is ignored; an empty group between two commas is returned as `''` so callers
 * can see where a 27.007 list ends (`,,` before the supported modes in `+COPS=?`).
 */
export function parenGroups(text: string): string[] {
  const groups: string[] = [];
  let depth = 0;
  let inQuote = false;
  let start = -1;
  let sawCommaOutside = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') inQuote = !inQuote;
    if (inQuote) continue;
    if (c === '(') {
      if (depth === 0) {
        start = i + 1;
        sawCommaOutside = false;
      }
      depth++;
    } else if (c === ')' && depth > 0) {
      depth--;
      if (depth === 0) groups.push(text.slice(start, i));
    } else if (c === ',' && depth === 0) {
      if (sawCommaOutside) groups.push('');
      sawCommaOutside = true;
    }
  }
  return groups;
}
