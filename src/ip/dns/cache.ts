/**
 * The resolver's answer cache: one entry per queried name (lower case), positive (the
 * addresses and the CNAME chain that led to them) or negative (RFC 2308: NXDOMAIN or NODATA),
 * expiring after its TTL. Bounded: the least recently used entry goes first.
 */
export type CacheEntry =
  | { kind: 'addresses'; addresses: string[]; cname: string[]; expires: number }
  | { kind: 'negative'; code: 'ENOTFOUND' | 'ENODATA'; expires: number };

export class DnsCache {
  /** Insertion order is recency order: a hit moves the entry to the end. */
  private readonly entries = new Map<string, CacheEntry>();

  constructor(readonly maxEntries: number) {}

  get size(): number {
    return this.entries.size;
  }

  /** The live entry for `name`, or undefined (an expired one is dropped). */
  get(name: string, now: number): CacheEntry | undefined {
    const key = name.toLowerCase();
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.entries.delete(key);
    if (now >= e.expires) return undefined;
    this.entries.set(key, e);
    return e;
  }

  set(name: string, entry: CacheEntry): void {
    if (this.maxEntries <= 0) return;
    const key = name.toLowerCase();
    this.entries.delete(key);
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(key, entry);
  }

  clear(): void {
    this.entries.clear();
  }
}
