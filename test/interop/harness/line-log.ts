import type { Readable } from 'node:stream';

interface Waiter {
  re: RegExp;
  from: number;
  resolve(line: string): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * The lines a peer writes (pppd's debug log, a guest console), kept in memory so tests can
 * assert on them and wait for one. A wait is always bounded, and fails early once the source
 * has ended: a peer that died cannot log the awaited line any more.
 */
export class LineLog {
  readonly lines: string[] = [];
  private partial = '';
  private waiters = new Set<Waiter>();
  private ended: string | undefined;

  constructor(private readonly name: string) {}

  /** Reads `stream` until it ends; several streams may feed one log (stdout and stderr). */
  follow(stream: Readable): void {
    stream.on('data', (d: Buffer) => this.write(d.toString('utf8')));
    stream.on('error', () => {
      // The far end vanished with the process; its exit is reported by whoever owns it.
    });
  }

  write(text: string): void {
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop() ?? '';
    // Guest ttys add '\r' (ONLCR); it is noise in assertions.
    for (const p of parts) this.push(p.replace(/\r/g, ''));
  }

  private push(line: string): void {
    this.lines.push(line);
    const index = this.lines.length - 1;
    for (const w of this.waiters) {
      if (index >= w.from && w.re.test(line)) this.settle(w, () => w.resolve(line));
    }
  }

  /** Marks the source as gone: pending and future waits for unseen lines fail with `why`. */
  end(why: string): void {
    if (this.partial) this.push(this.partial.replace(/\r/g, ''));
    this.partial = '';
    this.ended ??= why;
    for (const w of this.waiters) this.settle(w, () => w.reject(this.failure(w.re, why)));
  }

  text(): string {
    return this.lines.join('\n') + (this.lines.length > 0 ? '\n' : '') + this.partial;
  }

  /** The first line at index >= `from` matching `re` (lines already seen count). */
  waitFor(pattern: RegExp, timeoutMs: number, from = 0): Promise<string> {
    // A global or sticky RegExp keeps state between test() calls: use a stateless copy.
    const re = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
    const seen = this.lines.slice(from).find((l) => re.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    if (this.ended !== undefined) return Promise.reject(this.failure(re, this.ended));
    return new Promise<string>((resolve, reject) => {
      const w: Waiter = {
        re,
        from,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.settle(w, () => reject(this.failure(re, `timed out after ${timeoutMs} ms`)));
        }, timeoutMs),
      };
      this.waiters.add(w);
    });
  }

  private settle(w: Waiter, fn: () => void): void {
    if (!this.waiters.delete(w)) return;
    clearTimeout(w.timer);
    fn();
  }

  private failure(re: RegExp, why: string): Error {
    const tail = this.lines.slice(-25).join('\n');
    return new Error(`no ${this.name} line matching ${re} (${why}); last lines:\n${tail}`);
  }
}
