import { describe, expect, it } from 'vitest';
import { MemoryStore, Qos0Queue, StoreFullError } from '../../src/mqtt/store/index.js';

const pub = (i: number, size = 4) => ({
  topic: `t/${i}`,
  payload: new Uint8Array(size),
  qos: 1 as const,
  retain: false,
});

describe('MemoryStore', () => {
  it('has the FileStore contract: order, state, delete, bounds', async () => {
    const s = new MemoryStore({ maxEntries: 3, now: () => 42 });
    await expect(s.put(pub(0))).rejects.toMatchObject({ code: 'ESTORECLOSED' });
    await s.open();
    const a = await s.put(pub(1));
    const b = await s.put({ ...pub(2), qos: 2 });
    await s.put(pub(3));
    await expect(s.put(pub(4))).rejects.toBeInstanceOf(StoreFullError);
    await s.markReleased(b.key, 8);
    await s.delete(a.key);
    expect(s.entries().map((e) => [e.key, e.state, e.messageId, e.createdAt])).toEqual([
      [2, 'pubrel', 8, 42],
      [3, 'publish', undefined, 42],
    ]);
    expect(s.stats()).toMatchObject({ entries: 2, puts: 3, deletes: 1, updates: 1, rejectedFull: 1 });
    await s.close();
    await expect(s.put(pub(5))).rejects.toMatchObject({ code: 'ESTORECLOSED' });
  });
});

describe('Qos0Queue', () => {
  it("policy 'drop' queues nothing", () => {
    const q = new Qos0Queue({ policy: 'drop' });
    expect(q.push(pub(1))).toEqual({ outcome: 'dropped' });
    expect(q.length).toBe(0);
  });

  it("overflow 'drop-oldest' evicts the oldest; drain gives the rest in order", () => {
    const q = new Qos0Queue({ policy: 'queue', maxMessages: 3 });
    for (let i = 1; i <= 5; i++) q.push(pub(i));
    expect(q.counters).toMatchObject({ queued: 5, evicted: 2 });
    expect(q.drain().map((m) => m.topic)).toEqual(['t/3', 't/4', 't/5']);
    expect(q.length).toBe(0);
  });

  it("overflow 'reject' refuses the new message; byte bound counts topic and payload", () => {
    const q = new Qos0Queue({ policy: 'queue', maxBytes: 20, overflow: 'reject' });
    expect(q.push(pub(1, 10))).toEqual({ outcome: 'queued', evicted: 0 });
    expect(q.push(pub(2, 10))).toEqual({ outcome: 'rejected' });
    expect(q.push(pub(3, 100))).toEqual({ outcome: 'rejected' });
    expect(q.byteLength).toBe(13);
    expect(q.shift()?.topic).toBe('t/1');
    expect(q.shift()).toBeUndefined();
  });
});
