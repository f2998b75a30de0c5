import { ConfigError } from '../../util/errors.js';

/**
 * QoS 0 publishes made while offline (pure, in memory only: QoS 0 promises nothing across a
 * restart). `policy: 'drop'` discards them at once; `'queue'` keeps them up to `maxMessages`
 * and `maxBytes` of payload, and on overflow either drops the oldest queued message
 * (`overflow: 'drop-oldest'`, the default: fresh telemetry beats stale) or refuses the new one
 * (`'reject'`). `push` says what happened so the client can resolve or reject publish().
 */
export interface Qos0QueueOptions<M extends Qos0Message = Qos0Message> {
  policy: 'queue' | 'drop';
  /** Default 1000. */
  maxMessages?: number;
  /** Payload bytes (plus topic bytes) at most. Default 1 MiB. */
  maxBytes?: number;
  overflow?: 'drop-oldest' | 'reject';
  /** Called with each message dropped to make room (overflow 'drop-oldest'). */
  onEvict?: (message: M) => void;
}

export type Qos0PushResult =
  /** Queued; `evicted` older messages were dropped to make room. */
  | { outcome: 'queued'; evicted: number }
  /** Not queued: the policy is 'drop', or the queue is full with overflow 'reject', or the message alone is too big. */
  | { outcome: 'dropped' | 'rejected' };

export interface Qos0Message {
  topic: string;
  payload: Uint8Array;
  retain: boolean;
}

export class Qos0Queue<M extends Qos0Message = Qos0Message> {
  private items: M[] = [];
  private head = 0;
  private bytes = 0;
  private readonly maxMessages: number;
  private readonly maxBytes: number;
  readonly counters = { queued: 0, dropped: 0, rejected: 0, evicted: 0 };

  constructor(private readonly options: Qos0QueueOptions<M>) {
    this.maxMessages = options.maxMessages ?? 1000;
    this.maxBytes = options.maxBytes ?? 1024 * 1024;
    if (this.maxMessages < 0 || this.maxBytes < 0)
      throw new ConfigError('Qos0Queue bounds must not be negative');
  }

  get length(): number {
    return this.items.length - this.head;
  }

  get byteLength(): number {
    return this.bytes;
  }

  push(message: M): Qos0PushResult {
    if (this.options.policy === 'drop') {
      this.counters.dropped++;
      return { outcome: 'dropped' };
    }
    const size = sizeOf(message);
    if (size > this.maxBytes || this.maxMessages === 0) {
      this.counters.rejected++;
      return { outcome: 'rejected' };
    }
    let evicted = 0;
    while (this.length + 1 > this.maxMessages || this.bytes + size > this.maxBytes) {
      if (this.options.overflow === 'reject') {
        this.counters.rejected++;
        return { outcome: 'rejected' };
      }
      const old = this.shift();
      evicted++;
      if (old) this.options.onEvict?.(old);
    }
    this.items.push(message);
    this.bytes += size;
    this.counters.queued++;
    this.counters.evicted += evicted;
    return { outcome: 'queued', evicted };
  }

  /** The oldest message, removed; undefined when empty. */
  shift(): M | undefined {
    if (this.head >= this.items.length) return undefined;
    const m = this.items[this.head]!;
    this.head++;
    this.bytes -= sizeOf(m);
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return m;
  }

  /** Takes everything, oldest first (on reconnect). */
  drain(): M[] {
    const out = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    this.bytes = 0;
    return out;
  }
}

function sizeOf(m: Qos0Message): number {
  return m.payload.length + Buffer.byteLength(m.topic);
}
