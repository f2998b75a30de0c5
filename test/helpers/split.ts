/** Splits `bytes` at the given cut points (taken modulo its length + 1): random chunking. */
export function splitAt<T extends { slice(start: number, end?: number): T; length: number }>(
  bytes: T,
  cuts: number[],
): T[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: T[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(bytes.slice(prev, p));
    prev = p;
  }
  out.push(bytes.slice(prev));
  return out;
}
