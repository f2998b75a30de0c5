import { SimModemCore } from '../../src/sim/at-core.js';
import type { SimModemConfig } from '../../src/sim/config.js';
import { fromLatin1, latin1 } from '../../src/util/bytes.js';

/** A core with echo off unless asked, its boot output discarded. */
export function core(config: SimModemConfig = {}, now = 0): SimModemCore {
  const c = new SimModemCore({ echo: false, ...config }, now);
  c.takeOutput();
  return c;
}

/** Everything the core has queued for the host, as text. */
export function out(c: SimModemCore): string {
  return c
    .takeOutput()
    .map((b) => latin1(b))
    .join('');
}

/** Sends `text` (a CR is appended unless `raw`) at `now` and returns the answer text. */
export function at(c: SimModemCore, text: string, now = 0, raw = false): string {
  c.receive(fromLatin1(raw ? text : `${text}\r`), now);
  return out(c);
}

/** The lines of a response, without the empty ones. */
export function lines(text: string): string[] {
  return text.split('\r\n').filter((l) => l.length > 0);
}

/** A core registered (home) and ready to dial at `t` = 2000. */
export function registered(config: SimModemConfig = {}): SimModemCore {
  const c = core({ connectDelayMs: 0, ...config });
  c.tick(2000);
  c.takeOutput();
  return c;
}

export const bytes = fromLatin1;
