import { type Field, splitFields } from '../modem/parse/fields.js';

/**
 * Splits the body of a command line (what follows `AT`) into commands, per ITU-T V.250:
 * basic commands (clause 5.3.1: a letter, or `&` and a letter, and an optional number) may
 * follow one another directly (`E0V1`); S-parameters are `S<n>?` / `S<n>=<v>` (5.3.2);
 * extended commands (5.4) start with `+` (vendors use `^`, `$`, `#`, `%` too) and are
 * separated by `;` (`+CMEE=2;+CREG=2`); `D` takes the rest of the line (6.3.1). Spaces
 * outside quoted strings are ignored. Returns `undefined` on a syntax error.
 */
export type AtCommand =
  | { type: 'basic'; name: string; value: number | undefined; text: string }
  | { type: 's-read'; register: number; text: string }
  | { type: 's-set'; register: number; value: number; text: string }
  | { type: 'dial'; dialString: string; text: string }
  | ExtendedCommand;

export interface ExtendedCommand {
  type: 'extended';
  /** Upper case, with its prefix character: `+CREG`, `^ICCID`. */
  name: string;
  /** V.250 clause 5.4.2: action (`exec`), `set` (`=`), `read` (`?`), `test` (`=?`). */
  op: 'exec' | 'set' | 'read' | 'test';
  /** Parameters of a set command; `[]` for the other forms. */
  args: Field[];
  /** The command as written, without the separator: `+CGDCONT=1,"IP","apn"`. */
  text: string;
}

const EXTENDED_PREFIX = new Set(['+', '^', '$', '#', '%']);
/** V.250 clause 5.4.1: characters of an extended command name after its prefix. */
const NAME_CHAR = /[A-Za-z0-9!%\-./:_]/;

export function parseCommandLine(body: string): AtCommand[] | undefined {
  const out: AtCommand[] = [];
  let i = 0;
  // Each pass consumes at least one character, so this ends after body.length passes.
  while (i < body.length) {
    const c = body[i]!;
    if (c === ' ' || c === ';') {
      i++;
      continue;
    }
    const parsed = EXTENDED_PREFIX.has(c) ? parseExtended(body, i) : parseBasic(body, i);
    if (!parsed) return undefined;
    out.push(parsed.command);
    i = parsed.next;
  }
  return out;
}

interface Parsed {
  command: AtCommand;
  next: number;
}

function parseExtended(body: string, start: number): Parsed | undefined {
  let i = start + 1;
  while (i < body.length && NAME_CHAR.test(body[i]!)) i++;
  if (i === start + 1) return undefined;
  const name = body.slice(start, i).toUpperCase();
  i = skipSpaces(body, i);
  let op: ExtendedCommand['op'] = 'exec';
  let args: Field[] = [];
  if (body[i] === '?') {
    op = 'read';
    i++;
  } else if (body[i] === '=') {
    i = skipSpaces(body, i + 1);
    if (body[i] === '?') {
      op = 'test';
      i++;
    } else {
      op = 'set';
      const end = argsEnd(body, i);
      if (end === undefined) return undefined;
      args = splitFields(stripSpaces(body.slice(i, end)));
      i = end;
    }
  }
  const text = body.slice(start, i).trim();
  i = skipSpaces(body, i);
  if (i < body.length && body[i] !== ';') return undefined;
  return { command: { type: 'extended', name, op, args, text }, next: i + 1 };
}

/** Index of the `;` (or end) that ends a parameter list; `undefined` if a quote is left open. */
function argsEnd(body: string, start: number): number | undefined {
  let quoted = false;
  for (let i = start; i < body.length; i++) {
    const c = body[i];
    if (c === '"') quoted = !quoted;
    else if (c === ';' && !quoted) return i;
  }
  return quoted ? undefined : body.length;
}

/** V.250 clause 5.4.2.1: spaces are ignored except inside strings. */
function stripSpaces(text: string): string {
  let out = '';
  let quoted = false;
  for (const c of text) {
    if (c === '"') quoted = !quoted;
    if (c === ' ' && !quoted) continue;
    out += c;
  }
  return out;
}

function skipSpaces(body: string, i: number): number {
  let j = i;
  while (body[j] === ' ') j++;
  return j;
}

function parseBasic(body: string, start: number): Parsed | undefined {
  let i = start;
  let name = body[i]!.toUpperCase();
  i++;
  if (name === '&') {
    const letter = body[i];
    if (letter === undefined || !/[A-Za-z]/.test(letter)) return undefined;
    name += letter.toUpperCase();
    i++;
  } else if (!/[A-Z]/.test(name)) {
    return undefined;
  }
  if (name === 'D') {
    // V.250 clause 6.3.1: the dial string runs to the end of the command line.
    return {
      command: { type: 'dial', dialString: body.slice(i).trim(), text: body.slice(start).trim() },
      next: body.length,
    };
  }
  if (name === 'S') return parseSParameter(body, start, i);
  const digits = /^\d*/.exec(body.slice(i))![0];
  i += digits.length;
  const value = digits.length > 0 ? Number.parseInt(digits, 10) : undefined;
  return { command: { type: 'basic', name, value, text: body.slice(start, i) }, next: i };
}

/** V.250 clause 5.3.2: `S<n>?` reads, `S<n>=<value>` sets. */
function parseSParameter(body: string, start: number, from: number): Parsed | undefined {
  const m = /^(\d+)\s*(\?|=\s*(\d*))/.exec(body.slice(from));
  if (!m) return undefined;
  const register = Number.parseInt(m[1]!, 10);
  const next = from + m[0].length;
  const text = body.slice(start, next);
  if (m[2] === '?') return { command: { type: 's-read', register, text }, next };
  // "S<n>=" with no value sets 0 (V.250 clause 5.3.2: a missing value is 0).
  const value = m[3] ? Number.parseInt(m[3], 10) : 0;
  if (!Number.isSafeInteger(value)) return undefined;
  return { command: { type: 's-set', register, value, text }, next };
}
