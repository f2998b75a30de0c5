/** A repeatable 32-bit generator (an LCG): recorded sessions replay with the same magic numbers. */
export function seededRandom(seed: number): () => number {
  let r = seed >>> 0;
  return () => {
    r = (Math.imul(r, 1103515245) + 12345) >>> 0;
    return r;
  };
}
