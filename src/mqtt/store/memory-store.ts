import { StoreClosedError } from './errors.js';
import { DEFAULT_LIMITS, StoreLedger, type StoreLimits } from './ledger.js';
import type { OutgoingStore, PublishToStore, StoredPublish, StoreRecovery, StoreStats } from './types.js';

export interface MemoryStoreOptions extends Partial<StoreLimits> {
  now?: () => number;
}

/**
 * The outgoing store without persistence: the same contract, order and bounds as FileStore,
 * but nothing survives the process (MQTT.js's default). For users who choose no disk.
 */
export class MemoryStore implements OutgoingStore {
  private readonly ledger: StoreLedger;
  private readonly now: () => number;
  private state: 'new' | 'open' | 'closed' = 'new';
  private readonly counters = { puts: 0, updates: 0, deletes: 0, rejectedFull: 0 };

  constructor(options: MemoryStoreOptions = {}) {
    this.ledger = new StoreLedger({
      maxEntries: options.maxEntries ?? DEFAULT_LIMITS.maxEntries,
      maxBytes: options.maxBytes ?? DEFAULT_LIMITS.maxBytes,
    });
    this.now = options.now ?? Date.now;
  }

  async open(): Promise<StoreRecovery> {
    if (this.state !== 'new') throw new StoreClosedError(`already ${this.state}`);
    this.state = 'open';
    return { entries: 0, corruptRecords: 0, truncatedTail: false, bytesDiscarded: 0, damaged: [] };
  }

  async put(publish: PublishToStore): Promise<StoredPublish> {
    this.check();
    try {
      const { entry } = this.ledger.put(publish, this.now(), false);
      this.counters.puts++;
      return entry;
    } catch (e) {
      if ((e as { code?: unknown }).code === 'ESTOREFULL') this.counters.rejectedFull++;
      throw e;
    }
  }

  async setMessageId(key: number, messageId: number): Promise<void> {
    this.check();
    if (this.ledger.update(key, undefined, messageId) !== undefined) this.counters.updates++;
  }

  async markReleased(key: number, messageId?: number): Promise<void> {
    this.check();
    if (this.ledger.update(key, 'pubrel', messageId) !== undefined) this.counters.updates++;
  }

  async delete(key: number): Promise<void> {
    this.check();
    if (this.ledger.delete(key) !== undefined) this.counters.deletes++;
  }

  entries(): StoredPublish[] {
    return this.ledger.entries();
  }

  get(key: number): StoredPublish | undefined {
    return this.ledger.get(key);
  }

  async close(): Promise<void> {
    this.state = 'closed';
  }

  stats(): StoreStats {
    return {
      entries: this.ledger.size,
      liveBytes: this.ledger.liveBytes,
      fileBytes: 0,
      deadBytes: 0,
      ...this.counters,
      writes: 0,
      fsyncs: 0,
      batches: 0,
      maxBatch: 0,
      compactions: 0,
    };
  }

  private check(): void {
    if (this.state !== 'open') throw new StoreClosedError(this.state === 'new' ? 'not open' : this.state);
  }
}
