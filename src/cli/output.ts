import { CellstackError } from '../util/errors.js';
import { UsageError } from './args.js';

/** Where a command writes; tests pass their own. */
export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

export function processIo(): Io {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };
}

/** One line on stderr and the exit status: 2 for usage mistakes, 1 for everything else. */
export function reportError(io: Io, err: unknown): number {
  if (err instanceof UsageError) {
    io.stderr.write(`cellstack: ${err.message}\n(try --help)\n`);
    return 2;
  }
  if (err instanceof CellstackError) {
    io.stderr.write(`cellstack: ${err.code}: ${oneLine(err.message)}\n`);
    return 1;
  }
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? `${e.code}: ` : '';
  io.stderr.write(`cellstack: ${code}${oneLine(String(e?.message ?? err))}\n`);
  return 1;
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}
