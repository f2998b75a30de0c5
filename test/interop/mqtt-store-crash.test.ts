import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileStore } from '../../src/mqtt/store/index.js';

/**
 * The durability promise against a real crash: a child process (the built dist) puts entries
 * as fast as it can, printing each key once its put() resolved, and is SIGKILLed mid-run.
 * Every key it printed must be in the store when this process reopens it.
 */
const storeModule = pathToFileURL(
  fileURLToPath(new URL('../../dist/mqtt/store/index.js', import.meta.url)),
).href;
let dir = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cellstack-store-crash-'));
  writeFileSync(
    join(dir, 'writer.mjs'),
    `import { FileStore } from ${JSON.stringify(storeModule)};
const [dir, concurrency] = process.argv.slice(2);
const store = new FileStore({ dir, clientId: 'crash', maxEntries: 1_000_000, maxBytes: 1 << 30, compactMinBytes: 64 * 1024 });
await store.open();
process.stdout.write('open\\n');
let n = 0;
const worker = async () => {
  for (;;) {
    const i = n++;
    const e = await store.put({ topic: 't/' + i, payload: new Uint8Array(100 + (i % 50)).fill(i & 0xff), qos: 1, retain: false });
    // Acknowledge some, so deletes and compactions are in flight too.
    if (e.key % 3 === 0) { await store.delete(e.key); process.stdout.write('d' + e.key + '\\n'); }
    else process.stdout.write('k' + e.key + '\\n');
  }
};
await Promise.all(Array.from({ length: Number(concurrency) }, worker));
`,
  );
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function crashRun(
  concurrency: number,
  runMs: number,
): Promise<{ kept: Set<number>; deleted: Set<number> }> {
  const child = spawn(process.execPath, [join(dir, 'writer.mjs'), join(dir, 'store'), String(concurrency)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    out += s;
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    err += s;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const opened = await Promise.race([
    new Promise<boolean>((resolve) => {
      const check = (): void => {
        if (out.includes('open\n')) resolve(true);
        else setTimeout(check, 10);
      };
      check();
    }),
    exited.then(() => false),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 20_000)),
  ]);
  if (!opened) {
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
    throw new Error(`writer did not start: ${err}`);
  }
  await new Promise((r) => setTimeout(r, runMs));
  if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
  const kept = new Set<number>();
  const deleted = new Set<number>();
  for (const line of out.split('\n')) {
    if (line.startsWith('k')) kept.add(Number(line.slice(1)));
    if (line.startsWith('d')) deleted.add(Number(line.slice(1)));
  }
  return { kept, deleted };
}

describe('FileStore after SIGKILL', () => {
  it('holds every put that resolved, across repeated crashes, and stays consistent', async () => {
    const everKept = new Set<number>();
    for (const [concurrency, runMs] of [
      [1, 300],
      [64, 400],
      [8, 250],
    ] as const) {
      const { kept, deleted } = await crashRun(concurrency, runMs);
      expect(kept.size).toBeGreaterThan(0);
      for (const k of kept) everKept.add(k);
      for (const k of deleted) everKept.delete(k);
      // The stale lock of the killed writer is taken over.
      const store = new FileStore({
        dir: join(dir, 'store'),
        clientId: 'crash',
        maxEntries: 1_000_000,
        maxBytes: 1 << 30,
      });
      const recovery = await store.open();
      const present = new Set(store.entries().map((e) => e.key));
      const missing = [...everKept].filter((k) => !present.has(k));
      expect(missing).toEqual([]);
      expect(recovery.corruptRecords).toBe(0);
      for (const e of store.entries()) {
        expect(e.topic).toMatch(/^t\/\d+$/);
        expect(e.payload.length).toBeGreaterThanOrEqual(100);
      }
      await store.close();
    }
  });
});
