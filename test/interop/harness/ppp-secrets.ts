/**
 * A user name or password for a pppd-style secrets file (pppd's, or slirp's copy of old pppd
 * code). Those parsers have quoting and comment rules of their own that differ between the two:
 * refuse anything that would need them rather than escape it.
 */
export function secretWord(what: string, s: string): string {
  if (!/^[\x21-\x7e]+$/.test(s) || /["'\\#]/.test(s)) {
    throw new Error(
      `${what} must be printable ASCII without spaces, quotes, '\\' or '#': ${JSON.stringify(s)}`,
    );
  }
  return s;
}
