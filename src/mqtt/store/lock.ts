import { promises as fs } from 'node:fs';
import { resolve } from 'node:path';
import { StoreLockedError } from './errors.js';

/**
 * One owner per store: a lock file created with O_EXCL holding the owner's pid. A lock whose
 * pid is not running (or is our own pid but not held by this process: a restarted container
 * often gets the same pid) is stale and taken over. An unreadable lock younger than
 * `freshMs` is taken as held (its owner may be between create and write).
 * Limits: pids are only meaningful on one host and pid namespace (do not share the store
 * directory between containers or over NFS); two processes taking over the same stale lock
 * at the same instant can race.
 */
const held = new Set<string>();

export interface Lock {
  readonly path: string;
  release(): Promise<void>;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function acquireLock(path: string, freshMs = 5_000): Promise<Lock> {
  const full = resolve(path);
  if (held.has(full)) throw new StoreLockedError(full, process.pid);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await fs.open(full, 'wx');
      try {
        await fh.writeFile(`${process.pid}\n`);
      } finally {
        await fh.close();
      }
      held.add(full);
      let released = false;
      return {
        path: full,
        release: async () => {
          if (released) return;
          released = true;
          held.delete(full);
          await fs.rm(full, { force: true });
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let text = '';
    let ageMs = Number.POSITIVE_INFINITY;
    try {
      text = await fs.readFile(full, 'utf8');
      ageMs = Date.now() - (await fs.stat(full)).mtimeMs;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw e;
    }
    const pid = /^\d+\s*$/.test(text) ? Number.parseInt(text, 10) : undefined;
    if (pid === undefined && ageMs < freshMs) throw new StoreLockedError(full, undefined);
    if (pid !== undefined && pid !== process.pid && isAlive(pid)) throw new StoreLockedError(full, pid);
    await fs.rm(full, { force: true });
  }
  throw new StoreLockedError(full, undefined);
}
