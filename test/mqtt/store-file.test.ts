import { promises as fs, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  FileStore,
  type PublishToStore,
  StoreClosedError,
  StoreFullError,
  StoreLockedError,
  storeFileBase,
} from '../../src/mqtt/store/index.js';

let dir = '';
const open: FileStore[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cellstack-store-'));
});

afterEach(async () => {
  for (const s of open.splice(0)) await s.close().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

async function store(options: Partial<ConstructorParameters<typeof FileStore>[0]> = {}): Promise<FileStore> {
  const s = new FileStore({ dir, clientId: 'dev-1', ...options });
  open.push(s);
  return s;
}

function pub(i: number, extra: Partial<PublishToStore> = {}): PublishToStore {
  return {
    topic: `telemetry/${i}`,
    payload: new TextEncoder().encode(`{"n":${i}}`),
    qos: 1,
    retain: false,
    ...extra,
  };
}

async function reopen(s: FileStore, options: Partial<ConstructorParameters<typeof FileStore>[0]> = {}) {
  await s.close();
  const again = await store(options);
  const recovery = await again.open();
  return { store: again, recovery };
}

describe('FileStore', () => {
  it('round-trips entries across a reopen, in order, with properties and ids', async () => {
    const s = await store();
    expect(await s.open()).toEqual({
      entries: 0,
      corruptRecords: 0,
      truncatedTail: false,
      bytesDiscarded: 0,
      damaged: [],
    });
    const a = await s.put(pub(1, { messageId: 11, properties: { correlationData: new Uint8Array([1, 2]) } }));
    const b = await s.put(pub(2, { qos: 2, retain: true }));
    const c = await s.put(pub(3));
    expect([a.key, b.key, c.key]).toEqual([1, 2, 3]);
    const { store: t, recovery } = await reopen(s);
    expect(recovery.entries).toBe(3);
    expect(t.entries()).toEqual([a, b, c]);
    expect(t.get(1)?.properties?.correlationData).toEqual(new Uint8Array([1, 2]));
    // Keys continue above the recovered ones.
    expect((await t.put(pub(4))).key).toBe(4);
  });

  it('copies the caller payload and keeps entries() snapshots stable', async () => {
    const s = await store();
    await s.open();
    const payload = new Uint8Array([1, 2, 3]);
    const e = await s.put(pub(1, { payload, qos: 2 }));
    payload[0] = 9;
    expect(s.get(e.key)?.payload).toEqual(new Uint8Array([1, 2, 3]));
    const snap = s.entries();
    await s.markReleased(e.key, 5);
    await s.put(pub(2));
    expect(snap).toHaveLength(1);
    expect(snap[0]?.state).toBe('publish');
    expect(s.get(e.key)).toMatchObject({ state: 'pubrel', messageId: 5 });
  });

  it('delete forgets entries, and the deletion survives a reopen', async () => {
    const s = await store();
    await s.open();
    for (let i = 1; i <= 5; i++) await s.put(pub(i));
    await s.delete(2);
    await s.delete(4);
    await s.delete(42);
    expect(s.entries().map((e) => e.key)).toEqual([1, 3, 5]);
    const { store: t } = await reopen(s);
    expect(t.entries().map((e) => e.key)).toEqual([1, 3, 5]);
  });

  it('QoS 2 PUBREL state and reassigned ids survive a reopen', async () => {
    const s = await store();
    await s.open();
    const e = await s.put(pub(1, { qos: 2 }));
    await s.setMessageId(e.key, 300);
    await s.markReleased(e.key);
    const f = await s.put(pub(2, { qos: 2, messageId: 301 }));
    const { store: t } = await reopen(s);
    expect(t.entries().map((x) => [x.key, x.state, x.messageId])).toEqual([
      [e.key, 'pubrel', 300],
      [f.key, 'publish', 301],
    ]);
  });

  it('a put made during replay of entries() is not lost (MQTT.js #2015)', async () => {
    const s = await store();
    await s.open();
    for (let i = 1; i <= 3; i++) await s.put(pub(i));
    const replaying = s.entries();
    const fresh = s.put(pub(4));
    for (const e of replaying) await s.delete(e.key);
    await fresh;
    const { store: t } = await reopen(s);
    expect(t.entries().map((e) => e.topic)).toEqual(['telemetry/4']);
  });

  it('refuses puts past maxEntries and maxBytes with StoreFullError, writing nothing', async () => {
    const s = await store({ maxEntries: 3 });
    await s.open();
    for (let i = 1; i <= 3; i++) await s.put(pub(i));
    const before = s.stats().fileBytes;
    const err = await s.put(pub(4)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreFullError);
    expect(err).toMatchObject({ code: 'ESTOREFULL', limit: 'maxEntries' });
    expect(s.stats()).toMatchObject({ entries: 3, fileBytes: before, rejectedFull: 1 });
    await s.delete(1);
    await s.put(pub(5));
    await s.close();

    const b = new FileStore({ dir, clientId: 'bytes', maxBytes: 500 });
    open.push(b);
    await b.open();
    await b.put(pub(1, { payload: new Uint8Array(300) }));
    await expect(b.put(pub(2, { payload: new Uint8Array(300) }))).rejects.toMatchObject({
      code: 'ESTOREFULL',
      limit: 'maxBytes',
    });
    await b.put(pub(3, { payload: new Uint8Array(50) }));
    expect(b.stats().liveBytes).toBeLessThanOrEqual(500);
  });

  it('a second owner of the same store gets StoreLockedError; a stale lock is taken over', async () => {
    const s = await store();
    await s.open();
    const other = new FileStore({ dir, clientId: 'dev-1' });
    await expect(other.open()).rejects.toBeInstanceOf(StoreLockedError);
    await s.close();
    // A lock left by a dead process (a pid near Linux's largest pid_max, not running here).
    await fs.writeFile(`${s.path}.lock`, '4194301\n');
    const t = await store();
    await t.open();
    await expect(fs.readFile(`${s.path}.lock`, 'utf8')).resolves.toBe(`${process.pid}\n`);
    await t.close();
    await expect(fs.access(`${s.path}.lock`)).rejects.toMatchObject({ code: 'ENOENT' });
    // A live foreign pid (our parent) holds it.
    await fs.writeFile(`${s.path}.lock`, `${process.ppid}\n`);
    await expect((await store()).open()).rejects.toMatchObject({ code: 'ESTORELOCKED', pid: process.ppid });
  });

  it('group commit: 100 concurrent puts share far fewer than 100 fsyncs, each durable', async () => {
    const s = await store();
    await s.open();
    const done = await Promise.all(Array.from({ length: 100 }, (_, i) => s.put(pub(i))));
    expect(done.map((e) => e.key)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    const st = s.stats();
    expect(st.fsyncs).toBeLessThanOrEqual(5);
    expect(st.maxBatch).toBeGreaterThanOrEqual(50);
    // Deletes alone do not fsync.
    await Promise.all(done.map((e) => s.delete(e.key)));
    expect(s.stats().fsyncs).toBe(st.fsyncs);
    const { store: t } = await reopen(s);
    expect(t.entries()).toEqual([]);
  });

  it('compaction keeps every live entry and shrinks the file', async () => {
    const s = await store({ compactMinBytes: 4096 });
    await s.open();
    const keep: number[] = [];
    for (let round = 0; round < 20; round++) {
      const batch = await Promise.all(
        Array.from({ length: 20 }, (_, i) => s.put(pub(round * 20 + i, { payload: new Uint8Array(64) }))),
      );
      keep.push(batch[0]!.key);
      await s.markReleased(batch[1]!.key, 77);
      keep.push(batch[1]!.key);
      await Promise.all(batch.slice(2).map((e) => s.delete(e.key)));
    }
    await s.put(pub(999));
    const st = s.stats();
    expect(st.compactions).toBeGreaterThan(0);
    expect(st.fileBytes).toBeLessThan(st.liveBytes * 3 + 4096);
    const size = (await fs.stat(s.path)).size;
    expect(size).toBe(st.fileBytes);
    const live = s.entries();
    expect(live.map((e) => e.key)).toEqual([...keep, live.at(-1)!.key]);
    const { store: t, recovery } = await reopen(s);
    expect(recovery).toMatchObject({ corruptRecords: 0, truncatedTail: false });
    expect(t.entries()).toEqual(live);
    expect(t.get(keep[1]!)).toMatchObject({ state: 'pubrel', messageId: 77 });
  });

  it('a torn tail is reported and cut; garbage in the middle is reported once and the rest survives', async () => {
    const s = await store();
    await s.open();
    for (let i = 1; i <= 6; i++) await s.put(pub(i));
    await s.close();
    const good = await fs.readFile(s.path);
    const recLen = good.length / 6;
    // Torn tail: half of a seventh record.
    await fs.writeFile(s.path, Buffer.concat([good, good.subarray(0, recLen / 2)]));
    let t = await store();
    let rec = await t.open();
    expect(rec).toMatchObject({
      entries: 6,
      truncatedTail: true,
      corruptRecords: 0,
      bytesDiscarded: recLen / 2,
    });
    expect((await fs.stat(s.path)).size).toBe(good.length);
    await t.close();
    // Garbage over record 3.
    const bad = Buffer.from(good);
    bad.fill(0xee, 2 * recLen + 5, 2 * recLen + 20);
    await fs.writeFile(s.path, bad);
    t = await store();
    rec = await t.open();
    expect(rec).toMatchObject({
      entries: 5,
      truncatedTail: false,
      corruptRecords: 1,
      bytesDiscarded: recLen,
    });
    expect(t.entries().map((e) => e.key)).toEqual([1, 2, 4, 5, 6]);
    expect((await t.put(pub(7))).key).toBe(7);
    await t.close();
    t = await store();
    rec = await t.open();
    expect(rec).toMatchObject({ entries: 6, corruptRecords: 0, bytesDiscarded: 0 });
  });

  it('every truncation of the file keeps every record written before the cut', async () => {
    const s = await store();
    await s.open();
    for (let i = 1; i <= 4; i++) await s.put(pub(i));
    await s.close();
    const good = await fs.readFile(s.path);
    const recLen = good.length / 4;
    for (let cut = good.length - recLen; cut <= good.length; cut++) {
      await fs.writeFile(s.path, good.subarray(0, cut));
      const t = await store();
      const rec = await t.open();
      expect(rec.entries).toBe(cut === good.length ? 4 : 3);
      expect(rec.truncatedTail).toBe(cut !== good.length && cut !== good.length - recLen);
      await t.close();
    }
  });

  it('rejects use before open and after close', async () => {
    const s = await store();
    await expect(s.put(pub(1))).rejects.toBeInstanceOf(StoreClosedError);
    await s.open();
    const pending = s.put(pub(1));
    await s.close();
    await expect(pending).resolves.toMatchObject({ key: 1 });
    await expect(s.put(pub(2))).rejects.toMatchObject({ code: 'ESTORECLOSED' });
  });

  it('file names: one file per client id, nothing escapes the folder', () => {
    expect(storeFileBase('dev-1_A')).toBe('dev-1_A');
    expect(storeFileBase('../x/y')).toBe('%2E%2E%2Fx%2Fy');
    expect(storeFileBase('')).toBe('@empty');
    expect(storeFileBase('a.b')).not.toBe(storeFileBase('a%2Eb'));
    const long = storeFileBase('x'.repeat(1000));
    expect(long.length).toBeLessThanOrEqual(160);
    expect(long).not.toBe(storeFileBase(`${'x'.repeat(999)}y`));
  });
});
