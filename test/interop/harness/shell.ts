/** Quotes one word for /bin/sh: generated scripts never let a value be parsed as syntax. */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
