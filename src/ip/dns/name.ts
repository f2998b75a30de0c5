import { domainToASCII } from 'node:url';
import { MalformedPacket } from '../../util/errors.js';
import { MAX_LABEL_OCTETS, MAX_NAME_OCTETS } from './constants.js';

/**
 * Domain names (RFC 1035 3.1, 4.1.4). In text a name is its labels joined by dots, without
 * the root's trailing dot ('' is the root). A label octet that is not a printable ASCII
 * character, or is '.' or '\', is written as the master-file escape `\DDD` / `\.` / `\\`
 * (RFC 1035 5.1), so any wire name survives a round trip.
 */

/** Compression pointers followed in one name, at most. Each one must also point backwards. */
export const MAX_POINTERS = 64;

/**
 * Reads the name at `offset` of `msg`, following compression pointers (RFC 1035 4.1.4).
 * Guards: a pointer must point before the place where the current run of labels began
 * (so no cycle is possible), at most `MAX_POINTERS` of them, labels of 1-63 octets, the
 * name at most 255 octets uncompressed, label types 01/10 refused. Returns the name and the
 * offset just after it in the message (after the first pointer, if any).
 * Throws `MalformedPacket`.
 */
export function readName(msg: Uint8Array, offset: number): { name: string; end: number } {
  let pos = offset;
  let limit = offset;
  let end = -1;
  let pointers = 0;
  let octets = 0;
  let text = '';
  for (;;) {
    if (pos >= msg.length) throw new MalformedPacket('DNS', `name at ${offset} runs past the message`);
    const len = msg[pos]!;
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (pos + 1 >= msg.length) throw new MalformedPacket('DNS', `pointer at ${pos} cut short`);
      const target = ((len & 0x3f) << 8) | msg[pos + 1]!;
      if (end < 0) end = pos + 2;
      if (target >= limit)
        throw new MalformedPacket('DNS', `pointer at ${pos} to ${target} does not point back`);
      if (++pointers > MAX_POINTERS) throw new MalformedPacket('DNS', `more than ${MAX_POINTERS} pointers`);
      limit = target;
      pos = target;
      continue;
    }
    if (kind !== 0) throw new MalformedPacket('DNS', `label type 0x${kind.toString(16)} at ${pos}`);
    if (len === 0) {
      if (end < 0) end = pos + 1;
      return { name: text, end };
    }
    if (pos + 1 + len > msg.length) throw new MalformedPacket('DNS', `label at ${pos} runs past the message`);
    octets += 1 + len;
    if (octets + 1 > MAX_NAME_OCTETS)
      throw new MalformedPacket('DNS', `name longer than ${MAX_NAME_OCTETS} octets`);
    if (text.length > 0) text += '.';
    text += labelText(msg, pos + 1, len);
    pos += 1 + len;
  }
}

function labelText(msg: Uint8Array, start: number, len: number): string {
  let s = '';
  for (let i = start; i < start + len; i++) {
    const c = msg[i]!;
    if (c === 0x2e || c === 0x5c) s += `\\${String.fromCharCode(c)}`;
    else if (c > 0x20 && c < 0x7f) s += String.fromCharCode(c);
    else s += `\\${c.toString().padStart(3, '0')}`;
  }
  return s;
}

/**
 * The labels of a text name, as octets (escapes decoded). Throws `RangeError` for an empty
 * label, a label over 63 octets, a name over 255 octets, or a broken escape.
 */
export function nameLabels(name: string): Uint8Array[] {
  if (name === '' || name === '.') return [];
  const labels: Uint8Array[] = [];
  let cur: number[] = [];
  let octets = 1;
  const text = name;
  const finish = (): void => {
    if (cur.length === 0) throw new RangeError(`empty label in ${JSON.stringify(name)}`);
    if (cur.length > MAX_LABEL_OCTETS) throw new RangeError(`label of ${cur.length} octets in a name`);
    octets += 1 + cur.length;
    if (octets > MAX_NAME_OCTETS) throw new RangeError(`name longer than ${MAX_NAME_OCTETS} octets`);
    labels.push(Uint8Array.from(cur));
    cur = [];
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x2e) {
      finish();
      if (i === text.length - 1) return labels; // the root's dot
      continue;
    }
    if (ch === 0x5c) {
      const d = /^\d{3}/.exec(text.slice(i + 1, i + 4));
      if (d) {
        const v = Number(d[0]);
        if (v > 255) throw new RangeError(`escape \\${d[0]} in a name`);
        cur.push(v);
        i += 3;
      } else {
        if (i + 1 >= text.length) throw new RangeError('name ends with a backslash');
        const next = text.charCodeAt(i + 1);
        if (next > 0x7f) throw new RangeError('non-ASCII character in a name');
        cur.push(next);
        i += 1;
      }
      continue;
    }
    if (ch > 0x7f) throw new RangeError('non-ASCII character in a name');
    cur.push(ch);
  }
  finish();
  return labels;
}

/** Names compare without regard to ASCII case (RFC 1035 2.3.3; RFC 4343). */
export function sameName(a: string, b: string): boolean {
  return a.length === b.length && a.toLowerCase() === b.toLowerCase();
}

/**
 * A host name as a query may carry it (RFC 1123 2.1, RFC 952): one trailing dot dropped,
 * internationalized names converted to A-labels (UTS #46, as `url.domainToASCII`), then
 * labels of 1-63 letters, digits, hyphens or underscores, at most 253 characters.
 * Returns the name, or `undefined` if it is not one.
 */
export function normalizeHostname(input: string): string | undefined {
  let name = input.endsWith('.') ? input.slice(0, -1) : input;
  if (name.length === 0) return undefined;
  if (/[^\x00-\x7f]/.test(name)) {
    name = domainToASCII(name);
    if (name === '') return undefined;
  }
  if (name.length > MAX_NAME_OCTETS - 2) return undefined;
  for (const label of name.split('.')) {
    if (label.length === 0 || label.length > MAX_LABEL_OCTETS) return undefined;
    if (!/^[A-Za-z0-9_-]+$/.test(label)) return undefined;
  }
  return name;
}
