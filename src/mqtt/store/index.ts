/**
 * The MQTT client's outgoing store (issue 8). The client uses `OutgoingStore`:
 *
 *     const store = new FileStore({ dir, clientId });   // or new MemoryStore()
 *     const recovery = await store.open();                // StoreRecovery: what was found/repaired
 *     publish(qos≥1): const e = await store.put({...});   // durable → tell the caller "accepted"
 *                     send PUBLISH (id = e.messageId, or assign one and setMessageId)
 *     PUBACK:         await store.delete(e.key)
 *     PUBREC:         await store.markReleased(e.key); then send PUBREL
 *     PUBCOMP:        await store.delete(e.key)
 *     connect:        for (const e of store.entries()) resend in key order (PUBLISH DUP=1, or PUBREL)
 *
 * QoS 0 while offline: `Qos0Queue` (memory only). Guarantees and file format: README.md.
 */

export {
  StoreClosedError,
  StoreError,
  StoreFullError,
  StoreIoError,
  StoreLockedError,
  StoreVersionError,
} from './errors.js';
export { storeFileBase } from './file-name.js';
export { FileStore, type FileStoreOptions } from './file-store.js';
export { DEFAULT_LIMITS, type StoreLimits } from './ledger.js';
export { MemoryStore, type MemoryStoreOptions } from './memory-store.js';
export { type Qos0Message, type Qos0PushResult, Qos0Queue, type Qos0QueueOptions } from './qos0-queue.js';
export { decodeRecordAt, encodeRecord, type LogRecord } from './record.js';
export { replay, type ScanResult, scanLog } from './scan.js';
export type {
  OutgoingStore,
  PublishToStore,
  StoredProperties,
  StoredPublish,
  StoredState,
  StoreRecovery,
  StoreStats,
} from './types.js';
