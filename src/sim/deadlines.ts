interface Entry {
  at: number;
  seq: number;
  run: (now: number) => void;
}

/**
 * Named deadlines of a sans-I/O core: the core says when it next needs waking and runs what
 * is due when it is given the time. Setting a name again replaces its deadline.
 */
export class Deadlines {
  private readonly entries = new Map<string, Entry>();
  private seq = 0;

  set(name: string, at: number, run: (now: number) => void): void {
    this.entries.set(name, { at, seq: this.seq++, run });
  }

  clear(name: string): void {
    this.entries.delete(name);
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  next(): number | undefined {
    return this.earliest()?.[1].at;
  }

  /** Removes and returns the earliest entry due at `now`, if any. */
  takeDue(now: number): ((now: number) => void) | undefined {
    const e = this.earliest();
    if (!e || e[1].at > now) return undefined;
    this.entries.delete(e[0]);
    return e[1].run;
  }

  private earliest(): [string, Entry] | undefined {
    let best: [string, Entry] | undefined;
    for (const kv of this.entries) {
      if (!best || kv[1].at < best[1].at || (kv[1].at === best[1].at && kv[1].seq < best[1].seq)) best = kv;
    }
    return best;
  }
}
