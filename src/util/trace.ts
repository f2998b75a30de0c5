import { ConfigError } from './errors.js';

/**
 * Byte traces of a serial line as JSON Lines (test/traces/README.md):
 *   {"cellstack":"at-trace","version":1,"source":"...","device":"...",...}   (header)
 *   {"t":12.5,"dir":"tx","data":"AT+CGMI\r"}                                (one per chunk)
 * `t` is milliseconds since the start, `dir` is `tx` (to the modem) or `rx` (from it), and
 * `data` holds one character per byte (latin1), so JSON escapes carry any binary.
 */
export interface TraceHeader {
  cellstack: 'at-trace';
  version: 1;
  family?: string;
  device?: string;
  source?: string;
  notes?: string;
  [key: string]: unknown;
}

export interface TraceEvent {
  t: number;
  dir: 'tx' | 'rx';
  data: string;
}

export interface Trace {
  header: TraceHeader;
  events: TraceEvent[];
}

export function parseTrace(text: string): Trace {
  const lines = text.split('\n').filter((l) => l.trim().length > 0);
  if (lines.length === 0) throw new ConfigError('empty trace');
  const header = JSON.parse(lines[0]!) as TraceHeader;
  if (header.cellstack !== 'at-trace' || header.version !== 1) {
    throw new ConfigError('not a cellstack at-trace version 1 file');
  }
  const events: TraceEvent[] = [];
  for (let i = 1; i < lines.length; i++) {
    const e = JSON.parse(lines[i]!) as TraceEvent;
    if ((e.dir !== 'tx' && e.dir !== 'rx') || typeof e.t !== 'number' || typeof e.data !== 'string') {
      throw new ConfigError(`trace line ${i + 1}: expected {t, dir, data}`);
    }
    for (let k = 0; k < e.data.length; k++) {
      if (e.data.charCodeAt(k) > 255)
        throw new ConfigError(`trace line ${i + 1}: data is not one byte per character`);
    }
    events.push(e);
  }
  return { header, events };
}

export function formatTraceEvent(e: TraceEvent): string {
  return JSON.stringify({ t: Math.round(e.t * 10) / 10, dir: e.dir, data: e.data });
}
