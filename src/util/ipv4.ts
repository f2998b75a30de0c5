/** IPv4 addresses as the dotted quads users write, and as the numbers the wire carries. */
export function parseIpv4(text: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text.trim());
  if (!m) throw new RangeError(`not an IPv4 address: ${JSON.stringify(text)}`);
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const part = Number(m[i]);
    if (part > 255) throw new RangeError(`not an IPv4 address: ${JSON.stringify(text)}`);
    n = n * 256 + part;
  }
  return n >>> 0;
}

export function formatIpv4(n: number): string {
  return `${(n >>> 24) & 0xff}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
}

export function isIpv4(text: string): boolean {
  try {
    parseIpv4(text);
    return true;
  } catch {
    return false;
  }
}
