import { closeSync, openSync, writeSync } from 'node:fs';
import { Duplex } from 'node:stream';
import { latin1 } from '../util/bytes.js';
import { formatTraceEvent, type TraceHeader } from '../util/trace.js';
import type { ModemPort } from './port.js';

/**
 * Wraps a port so that every chunk both ways is appended to a trace file. Secrets given to
 * `addSecret` (by the modem driver, before it sends a PIN) are replaced by `*` in the file.
 */
export function recordPort(
  port: ModemPort,
  file: string,
  header: Partial<TraceHeader> = {},
  now: () => number = () => performance.now(),
): ModemPort {
  const fd = openSync(file, 'w');
  const start = now();
  const secrets = new Set<string>();
  let open = true;
  const write = (dir: 'tx' | 'rx', bytes: Uint8Array): void => {
    if (!open) return;
    let data = latin1(bytes);
    for (const s of secrets) data = data.split(s).join('*'.repeat(s.length));
    writeSync(fd, `${formatTraceEvent({ t: now() - start, dir, data })}\n`);
  };
  writeSync(
    fd,
    `${JSON.stringify({ cellstack: 'at-trace', version: 1, device: port.path, recorded: new Date().toISOString(), ...header })}\n`,
  );
  const inner = port.stream;
  const outer = new Duplex({
    read() {
      inner.resume();
    },
    write(chunk: Buffer, _enc, callback) {
      write('tx', chunk);
      inner.write(chunk, callback);
    },
    final(callback) {
      inner.end();
      callback();
    },
    destroy(err, callback) {
      inner.destroy(err ?? undefined);
      callback(err);
    },
  });
  inner.on('data', (chunk: Buffer) => {
    write('rx', chunk);
    if (!outer.push(chunk)) inner.pause();
  });
  inner.on('end', () => outer.push(null));
  inner.on('close', () => {
    if (!outer.destroyed) outer.destroy();
  });
  inner.on('error', (err) => outer.destroy(err));
  const wrapped: ModemPort = {
    path: port.path,
    stream: outer,
    addSecret: (s) => {
      if (s.length > 0) secrets.add(s);
      port.addSecret?.(s);
    },
    close: async () => {
      await port.close();
      if (open) {
        open = false;
        closeSync(fd);
      }
    },
  };
  if (port.setDtr) wrapped.setDtr = port.setDtr.bind(port);
  if (port.getSignals) wrapped.getSignals = port.getSignals.bind(port);
  return wrapped;
}
