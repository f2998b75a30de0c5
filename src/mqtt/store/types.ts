/**
 * The outgoing store's contract, shared by the file store, the memory store and the MQTT
 * client core. See README.md in this folder for the guarantees and the file format.
 */

/** MQTT 5 PUBLISH properties worth keeping across a restart (topic alias is per connection). */
export interface StoredProperties {
  payloadFormatIndicator?: boolean;
  /** Seconds, as given by the caller; the client may subtract the time spent in the store. */
  messageExpiryInterval?: number;
  contentType?: string;
  responseTopic?: string;
  correlationData?: Uint8Array;
  userProperties?: Record<string, string | string[]>;
  subscriptionIdentifier?: number | number[];
}

/** Where a QoS≥1 publish is in its flow: waiting for PUBACK/PUBREC, or (QoS 2) for PUBCOMP. */
export type StoredState = 'publish' | 'pubrel';

/** What the client hands to `put()`: a publish the caller is about to be told is accepted. */
export interface PublishToStore {
  topic: string;
  payload: Uint8Array;
  qos: 1 | 2;
  retain: boolean;
  properties?: StoredProperties;
  /**
   * The packet identifier, when the client has already chosen one. Kept so that a client
   * reconnecting with sessionPresent=1 resends with the same id and DUP=1 (MQTT 3.1.1 §4.4,
   * 5.0 §4.4); with sessionPresent=0 the client may assign fresh ids (`setMessageId`).
   */
  messageId?: number;
  /** Milliseconds since the epoch; defaults to the store's clock at `put()`. */
  createdAt?: number;
}

/** A publish as the store holds it. */
export interface StoredPublish {
  /** Store sequence: positive, unique, increasing in the order `put()` was called. */
  key: number;
  topic: string;
  payload: Uint8Array;
  qos: 1 | 2;
  retain: boolean;
  properties?: StoredProperties;
  messageId?: number;
  state: StoredState;
  createdAt: number;
}

/** What `open()` found on disk. */
export interface StoreRecovery {
  /** Live entries recovered, in key order (the same as `entries()` right after `open()`). */
  entries: number;
  /** Damaged regions found before the last intact record (garbage in the middle). */
  corruptRecords: number;
  /** The file ended in a partial or damaged record (a torn write); it was cut away. */
  truncatedTail: boolean;
  /** Bytes skipped as damaged, in the middle and at the tail together. */
  bytesDiscarded: number;
  /** Where the damage was: byte offset and length of each discarded region. */
  damaged: { offset: number; length: number }[];
}

export interface StoreStats {
  /** Live entries (accepted by `put()`, not yet deleted). */
  entries: number;
  /** Encoded size of the live entries: what `maxBytes` bounds. */
  liveBytes: number;
  /** Current size of the log file (0 for the memory store). */
  fileBytes: number;
  /** Bytes in the file that a compaction would reclaim. */
  deadBytes: number;
  puts: number;
  updates: number;
  deletes: number;
  /** `put()` calls refused with StoreFullError. */
  rejectedFull: number;
  /** write() calls to the file: one per commit batch. */
  writes: number;
  /** fdatasync() calls: at most one per batch; batches holding only deletes skip it. */
  fsyncs: number;
  /** Commit batches, and the largest number of operations one batch carried. */
  batches: number;
  maxBatch: number;
  compactions: number;
}

/**
 * The outgoing store the MQTT client uses for QoS 1 and 2 publishes. Every method that
 * returns a promise is ordered: operations take effect in the order they were called.
 */
export interface OutgoingStore {
  /** Opens (locks, reads, repairs) the store. Must be called once before anything else. */
  open(): Promise<StoreRecovery>;
  /**
   * Stores a publish. The key is taken synchronously (call order = key order); the promise
   * resolves once the record is durable, and only then may the caller be told "accepted".
   * Rejects with StoreFullError (ESTOREFULL) when `maxEntries`/`maxBytes` would be exceeded.
   */
  put(publish: PublishToStore): Promise<StoredPublish>;
  /** Records the packet id chosen for an entry; durable when resolved. */
  setMessageId(key: number, messageId: number): Promise<void>;
  /**
   * QoS 2: PUBREC received, the flow moves to PUBREL. Resolve before sending PUBREL, so that
   * after a crash the client resends PUBREL and not PUBLISH. Optionally changes the id too.
   */
  markReleased(key: number, messageId?: number): Promise<void>;
  /** PUBACK (QoS 1) or PUBCOMP (QoS 2) received: forget the entry. Unknown keys are ignored. */
  delete(key: number): Promise<void>;
  /** Live entries in key order (a snapshot: later puts and deletes do not change it). */
  entries(): StoredPublish[];
  get(key: number): StoredPublish | undefined;
  /** Waits for pending operations, releases the lock. Later calls reject with ESTORECLOSED. */
  close(): Promise<void>;
  stats(): StoreStats;
}
