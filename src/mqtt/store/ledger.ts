import { ConfigError } from '../../util/errors.js';
import { StoreFullError } from './errors.js';
import { encodeRecord, type LogRecord, putRecordBytes } from './record.js';
import type { PublishToStore, StoredPublish, StoredState } from './types.js';

/**
 * The store's logical state (pure, no I/O): live entries in key order, the key sequence, the
 * bounds and their accounting. Both stores apply every operation here at call time, so order
 * and limits are decided synchronously; the file store then makes the returned records durable.
 * Entries are immutable objects: a change replaces the object, so `entries()` snapshots stay put.
 */
export interface StoreLimits {
  /** Live entries at most. Default 10 000. */
  maxEntries: number;
  /** Encoded bytes of the live entries at most (a compacted file's size). Default 16 MiB. */
  maxBytes: number;
}

export const DEFAULT_LIMITS: StoreLimits = { maxEntries: 10_000, maxBytes: 16 * 1024 * 1024 };

function checkMessageId(id: number | undefined): void {
  if (id !== undefined && (!Number.isInteger(id) || id < 1 || id > 0xffff)) {
    throw new ConfigError(`messageId ${id} is not in 1..65535`);
  }
}

export class StoreLedger {
  private readonly live = new Map<number, { entry: StoredPublish; bytes: number }>();
  private nextKey = 1;
  liveBytes = 0;

  constructor(readonly limits: StoreLimits) {}

  /** Replaces the state with recovered entries (key order); new keys start above `maxKey`. */
  load(entries: StoredPublish[], maxKey: number): void {
    this.live.clear();
    this.liveBytes = 0;
    for (const e of entries) {
      const bytes = putRecordBytes(e);
      this.live.set(e.key, { entry: e, bytes });
      this.liveBytes += bytes;
    }
    this.nextKey = maxKey + 1;
  }

  get size(): number {
    return this.live.size;
  }

  /**
   * Accepts a publish or throws StoreFullError/ConfigError. With `encode`, also returns the
   * log record, and the entry's payload is a view into it (one copy of the caller's bytes).
   */
  put(p: PublishToStore, now: number, encode: boolean): { entry: StoredPublish; record?: Uint8Array } {
    checkMessageId(p.messageId);
    if (Buffer.byteLength(p.topic) > 0xffff) throw new ConfigError('topic longer than 65535 bytes');
    if (p.qos !== 1 && p.qos !== 2)
      throw new ConfigError(`qos ${String(p.qos)} is not stored (only 1 and 2)`);
    const bytes = putRecordBytes(p);
    if (this.live.size + 1 > this.limits.maxEntries) {
      throw new StoreFullError('maxEntries', `${this.live.size} entries, limit ${this.limits.maxEntries}`);
    }
    if (this.liveBytes + bytes > this.limits.maxBytes) {
      throw new StoreFullError(
        'maxBytes',
        `${this.liveBytes} bytes held, ${bytes} more asked, limit ${this.limits.maxBytes}`,
      );
    }
    const entry: StoredPublish = {
      key: this.nextKey++,
      topic: p.topic,
      payload: p.payload,
      qos: p.qos,
      retain: p.retain,
      state: 'publish',
      createdAt: p.createdAt ?? now,
    };
    if (p.properties !== undefined) entry.properties = structuredClone(p.properties);
    if (p.messageId !== undefined) entry.messageId = p.messageId;
    let record: Uint8Array | undefined;
    if (encode) {
      record = encodeRecord({ type: 'put', entry });
      entry.payload = record.subarray(record.length - p.payload.length);
    } else {
      entry.payload = p.payload.slice();
    }
    Object.freeze(entry);
    this.live.set(entry.key, { entry, bytes });
    this.liveBytes += bytes;
    return record === undefined ? { entry } : { entry, record };
  }

  /** Changes state and/or id; returns the record to log, or undefined for an unknown key. */
  update(key: number, state: StoredState | undefined, messageId: number | undefined): LogRecord | undefined {
    checkMessageId(messageId);
    const slot = this.live.get(key);
    if (slot === undefined) return undefined;
    const next: StoredPublish = { ...slot.entry, state: state ?? slot.entry.state };
    if (messageId !== undefined) next.messageId = messageId;
    slot.entry = Object.freeze(next);
    return { type: 'update', key, state: next.state, messageId: next.messageId };
  }

  /** Forgets an entry; returns the record to log, or undefined for an unknown key. */
  delete(key: number): LogRecord | undefined {
    const slot = this.live.get(key);
    if (slot === undefined) return undefined;
    this.live.delete(key);
    this.liveBytes -= slot.bytes;
    return { type: 'delete', key };
  }

  get(key: number): StoredPublish | undefined {
    return this.live.get(key)?.entry;
  }

  /** Live entries in key order (keys only grow and Map keeps insertion order). */
  entries(): StoredPublish[] {
    const out: StoredPublish[] = [];
    for (const slot of this.live.values()) out.push(slot.entry);
    return out;
  }
}
