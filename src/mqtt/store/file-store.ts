import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { createLogger } from '../../util/log.js';
import { StoreClosedError, StoreIoError, StoreVersionError } from './errors.js';
import { storeFileBase } from './file-name.js';
import { DEFAULT_LIMITS, StoreLedger, type StoreLimits } from './ledger.js';
import { acquireLock, type Lock } from './lock.js';
import { encodeRecord, type LogRecord } from './record.js';
import { replay, scanLog } from './scan.js';
import type { OutgoingStore, PublishToStore, StoredPublish, StoreRecovery, StoreStats } from './types.js';

const log = createLogger('mqtt:store');

export interface FileStoreOptions extends Partial<StoreLimits> {
  /** Folder of the store; created if missing. One log per client id: `<dir>/<id>.log`. */
  dir: string;
  clientId: string;
  /**
   * fdatasync before a put or state change resolves (default true). false keeps order and
   * survives a crash of the process (the bytes are in the kernel) but not a power loss.
   */
  fsync?: boolean;
  /** Compact when dead bytes exceed both this and the live bytes. Default 1 MiB. */
  compactMinBytes?: number;
  /** Milliseconds since the epoch for `createdAt`. Default Date.now. */
  now?: () => number;
}

interface Pending {
  bytes: Uint8Array;
  /** Puts and state changes must be durable before they resolve; deletes need not. */
  durable: boolean;
  resolve: () => void;
  reject: (e: unknown) => void;
}

type State = 'new' | 'opening' | 'open' | 'closing' | 'closed' | 'failed';

/**
 * The persistent outgoing store: an append-only log per client id with group commit.
 * Operations queue in call order; one writer at a time takes the whole queue as a batch,
 * writes it with one write() and one fdatasync(), then resolves every operation in it.
 * Operations that arrive while a batch is being synced form the next batch, so under load
 * many puts share one fsync and each still resolves only after its own bytes are durable.
 */
export class FileStore implements OutgoingStore {
  readonly path: string;
  private readonly ledger: StoreLedger;
  private readonly fsync: boolean;
  private readonly compactMinBytes: number;
  private readonly now: () => number;
  private state: State = 'new';
  private fh: FileHandle | undefined;
  private lock: Lock | undefined;
  private fileBytes = 0;
  private queue: Pending[] = [];
  private flushing: Promise<void> | undefined;
  private writing = false;
  private compactBackoffBytes = 0;
  private failure: unknown;
  private readonly counters = {
    puts: 0,
    updates: 0,
    deletes: 0,
    rejectedFull: 0,
    writes: 0,
    fsyncs: 0,
    batches: 0,
    maxBatch: 0,
    compactions: 0,
  };

  constructor(private readonly options: FileStoreOptions) {
    this.ledger = new StoreLedger({
      maxEntries: options.maxEntries ?? DEFAULT_LIMITS.maxEntries,
      maxBytes: options.maxBytes ?? DEFAULT_LIMITS.maxBytes,
    });
    this.fsync = options.fsync ?? true;
    this.compactMinBytes = options.compactMinBytes ?? 1024 * 1024;
    this.now = options.now ?? Date.now;
    this.path = join(options.dir, `${storeFileBase(options.clientId)}.log`);
  }

  async open(): Promise<StoreRecovery> {
    if (this.state !== 'new') throw new StoreClosedError(`already ${this.state}`);
    this.state = 'opening';
    try {
      await fs.mkdir(this.options.dir, { recursive: true });
      this.lock = await acquireLock(`${this.path}.lock`);
      await fs.rm(`${this.path}.tmp`, { force: true });
      let created = false;
      try {
        this.fh = await fs.open(this.path, 'r+');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        this.fh = await fs.open(this.path, 'w+');
        created = true;
      }
      if (created) await this.syncDir();
      const image = await this.fh.readFile();
      const scan = scanLog(image);
      if (scan.foreignVersion !== undefined) throw new StoreVersionError(scan.foreignVersion);
      const { entries, maxKey } = replay(scan.records.map((r) => r.record));
      this.ledger.load(
        entries.map((e) => Object.freeze(e)),
        maxKey,
      );
      this.fileBytes = scan.validEnd;
      const recovery: StoreRecovery = {
        entries: entries.length,
        corruptRecords: scan.corruptRecords,
        truncatedTail: scan.truncatedTail,
        bytesDiscarded: scan.bytesDiscarded,
        damaged: scan.damaged,
      };
      if (scan.bytesDiscarded > 0) {
        log('%s: damaged log, %o; %d entries intact', this.path, recovery.damaged, entries.length);
      }
      if (
        scan.corruptRecords > 0 ||
        this.deadBytes() > Math.max(this.compactMinBytes, this.ledger.liveBytes)
      ) {
        // Rewrite without the damage so it is reported once, not at every open.
        await this.compact(true);
      } else if (scan.truncatedTail) {
        await this.fh.truncate(scan.validEnd);
        if (this.fsync) await this.fh.datasync();
      }
      this.state = 'open';
      return recovery;
    } catch (e) {
      this.state = 'failed';
      this.failure = e;
      await this.fh?.close().catch(() => undefined);
      this.fh = undefined;
      await this.lock?.release().catch(() => undefined);
      throw e;
    }
  }

  put(publish: PublishToStore): Promise<StoredPublish> {
    const refused = this.refuse();
    if (refused !== undefined) return Promise.reject(refused);
    let accepted: { entry: StoredPublish; record?: Uint8Array };
    try {
      accepted = this.ledger.put(publish, this.now(), true);
    } catch (e) {
      if ((e as { code?: unknown }).code === 'ESTOREFULL') this.counters.rejectedFull++;
      return Promise.reject(e);
    }
    this.counters.puts++;
    return this.enqueue(accepted.record!, true).then(() => accepted.entry);
  }

  setMessageId(key: number, messageId: number): Promise<void> {
    return this.change(() => this.ledger.update(key, undefined, messageId), true);
  }

  markReleased(key: number, messageId?: number): Promise<void> {
    return this.change(() => this.ledger.update(key, 'pubrel', messageId), true);
  }

  delete(key: number): Promise<void> {
    return this.change(() => this.ledger.delete(key), false);
  }

  entries(): StoredPublish[] {
    return this.ledger.entries();
  }

  get(key: number): StoredPublish | undefined {
    return this.ledger.get(key);
  }

  async close(): Promise<void> {
    if (this.state === 'closed' || this.state === 'closing') return;
    if (this.state === 'new' || this.state === 'opening') throw new StoreClosedError(this.state);
    const failed = this.state === 'failed';
    this.state = 'closing';
    if (!failed) await this.flushing;
    try {
      if (!failed && this.fsync && this.fh !== undefined) await this.fh.datasync();
    } finally {
      await this.fh?.close().catch(() => undefined);
      this.fh = undefined;
      await this.lock?.release();
      this.state = 'closed';
    }
  }

  stats(): StoreStats {
    return {
      entries: this.ledger.size,
      liveBytes: this.ledger.liveBytes,
      fileBytes: this.fileBytes,
      deadBytes: this.deadBytes(),
      ...this.counters,
    };
  }

  private deadBytes(): number {
    return Math.max(0, this.fileBytes - this.ledger.liveBytes);
  }

  private refuse(): Error | undefined {
    if (this.state === 'open') return undefined;
    if (this.state === 'failed' && this.failure instanceof StoreIoError) return this.failure;
    return new StoreClosedError(this.state === 'new' ? 'not open' : this.state);
  }

  private change(apply: () => LogRecord | undefined, durable: boolean): Promise<void> {
    const refused = this.refuse();
    if (refused !== undefined) return Promise.reject(refused);
    let rec: LogRecord | undefined;
    try {
      rec = apply();
    } catch (e) {
      return Promise.reject(e);
    }
    if (rec === undefined) return Promise.resolve();
    if (rec.type === 'delete') this.counters.deletes++;
    else this.counters.updates++;
    return this.enqueue(encodeRecord(rec), durable);
  }

  private enqueue(bytes: Uint8Array, durable: boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ bytes, durable, resolve, reject });
      // Start the writer after the current synchronous run, so a burst of calls is one batch.
      if (!this.writing) {
        this.writing = true;
        this.flushing = Promise.resolve().then(() => this.flushLoop());
      }
    });
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        try {
          this.counters.batches++;
          this.counters.maxBatch = Math.max(this.counters.maxBatch, batch.length);
          const dead = this.deadBytes();
          const compacted =
            dead > Math.max(this.compactMinBytes, this.ledger.liveBytes, this.compactBackoffBytes) &&
            (await this.compact(false));
          if (!compacted) await this.append(batch);
        } catch (e) {
          this.fail(e, batch);
          return;
        }
        for (const op of batch) op.resolve();
      }
    } finally {
      // Cleared in the same synchronous step that saw the queue empty: a call made after
      // this starts a new writer, a call made before it was taken by this one.
      this.writing = false;
    }
  }

  private async append(batch: Pending[]): Promise<void> {
    const fh = this.fh!;
    const data = batch.length === 1 ? batch[0]!.bytes : Buffer.concat(batch.map((op) => op.bytes));
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await fh.write(data, done, data.length - done, this.fileBytes + done);
      done += bytesWritten;
    }
    this.counters.writes++;
    this.fileBytes += data.length;
    if (this.fsync && batch.some((op) => op.durable)) {
      await fh.datasync();
      this.counters.fsyncs++;
    }
  }

  /**
   * Writes the live entries (the ledger: everything called so far, including the batch being
   * committed) to `<log>.tmp`, syncs it, renames it over the log and syncs the folder. A
   * failure before the rename leaves the old log whole: then the caller appends as usual and
   * compaction waits until the dead bytes double (returns false). `atOpen` rethrows instead.
   */
  private async compact(atOpen: boolean): Promise<boolean> {
    const tmpPath = `${this.path}.tmp`;
    const live = this.ledger.entries();
    let size = 0;
    let tmp: FileHandle | undefined;
    try {
      tmp = await fs.open(tmpPath, 'w');
      let chunk: Uint8Array[] = [];
      let chunkBytes = 0;
      const flush = async (): Promise<void> => {
        const data = Buffer.concat(chunk);
        let done = 0;
        while (done < data.length)
          done += (await tmp!.write(data, done, data.length - done, size + done)).bytesWritten;
        size += data.length;
        chunk = [];
        chunkBytes = 0;
      };
      for (const entry of live) {
        const rec = encodeRecord({ type: 'put', entry });
        chunk.push(rec);
        chunkBytes += rec.length;
        if (chunkBytes >= 1 << 20) await flush();
      }
      await flush();
      if (this.fsync) {
        await tmp.datasync();
        this.counters.fsyncs++;
      }
      await tmp.close();
      tmp = undefined;
      await fs.rename(tmpPath, this.path);
    } catch (e) {
      await tmp?.close().catch(() => undefined);
      await fs.rm(tmpPath, { force: true }).catch(() => undefined);
      if (atOpen) throw e;
      log('%s: compaction failed, appending instead: %s', this.path, (e as Error).message);
      this.compactBackoffBytes = 2 * this.deadBytes();
      return false;
    }
    // Past the rename the new log is the store: failures here fail the store.
    await this.syncDir();
    const old = this.fh;
    this.fh = await fs.open(this.path, 'r+');
    await old?.close().catch(() => undefined);
    this.fileBytes = size;
    this.compactBackoffBytes = 0;
    this.counters.compactions++;
    this.counters.writes++;
    log('%s: compacted to %d entries, %d bytes', this.path, live.length, size);
    return true;
  }

  private async syncDir(): Promise<void> {
    if (!this.fsync) return;
    let dir: FileHandle | undefined;
    try {
      dir = await fs.open(this.options.dir, 'r');
      await dir.sync();
    } catch (e) {
      // Some platforms (Windows) cannot open or sync a folder; there is nothing more to do.
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EACCES') throw e;
    } finally {
      await dir?.close().catch(() => undefined);
    }
  }

  private fail(e: unknown, batch: Pending[]): void {
    const err =
      e instanceof StoreIoError
        ? e
        : new StoreIoError(`outgoing store ${this.path}: ${(e as Error).message}`, e);
    log('%s: failed: %s', this.path, err.message);
    this.state = 'failed';
    this.failure = err;
    const all = batch.concat(this.queue);
    this.queue = [];
    for (const op of all) op.reject(err);
  }
}
