import { decodeRecordAt, HEADER_BYTES, type LogRecord, MAGIC } from './record.js';
import type { StoredPublish } from './types.js';

/**
 * Recovery (pure): reads a whole log image, keeps every intact record, and says what was
 * damaged. After a bad record the scanner resynchronises on the next offset that holds an
 * intact record (magic, header CRC, body CRC), so garbage in the middle costs only the bytes
 * it covers; damage with no intact record after it is a torn tail.
 */

/** The largest body the scanner accepts: MQTT's largest payload plus a topic and properties. */
export const MAX_BODY_BYTES = 268_435_455 + 2 * 65_536 + 1_048_576;

export interface ScanResult {
  records: { record: LogRecord; offset: number }[];
  /** End of the last intact record: where the next append goes. */
  validEnd: number;
  damaged: { offset: number; length: number }[];
  /** Damaged regions followed by an intact record. */
  corruptRecords: number;
  /** The image ends in damage (a partial or broken record). */
  truncatedTail: boolean;
  bytesDiscarded: number;
  /** Set when an intact record of another format version was found; scanning stopped there. */
  foreignVersion?: number;
}

function nextIntact(bytes: Uint8Array, from: number, maxBody: number): number {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = from;
  for (;;) {
    const i = buf.indexOf(MAGIC, at);
    if (i < 0 || bytes.length - i < HEADER_BYTES) return -1;
    const r = decodeRecordAt(bytes, i, maxBody);
    if (r.kind === 'ok' || r.kind === 'version') return i;
    at = i + 1;
  }
}

export function scanLog(bytes: Uint8Array, maxBodyBytes = MAX_BODY_BYTES): ScanResult {
  const out: ScanResult = {
    records: [],
    validEnd: 0,
    damaged: [],
    corruptRecords: 0,
    truncatedTail: false,
    bytesDiscarded: 0,
  };
  let pos = 0;
  while (pos < bytes.length) {
    const r = decodeRecordAt(bytes, pos, maxBodyBytes);
    if (r.kind === 'ok') {
      out.records.push({ record: r.record, offset: pos });
      pos = r.end;
      out.validEnd = pos;
      continue;
    }
    if (r.kind === 'version') {
      out.foreignVersion = r.version;
      return out;
    }
    const next = nextIntact(bytes, pos + 1, maxBodyBytes);
    const end = next < 0 ? bytes.length : next;
    out.damaged.push({ offset: pos, length: end - pos });
    out.bytesDiscarded += end - pos;
    if (next < 0) {
      out.truncatedTail = true;
      break;
    }
    out.corruptRecords++;
    pos = next;
  }
  return out;
}

export interface ReplayResult {
  /** Live entries in key order. */
  entries: StoredPublish[];
  /** The largest key any record names (0 if none): new keys start above it. */
  maxKey: number;
}

/** Applies records in file order: put adds (or replaces), update changes state and id, delete removes. */
export function replay(records: Iterable<LogRecord>): ReplayResult {
  const live = new Map<number, StoredPublish>();
  let maxKey = 0;
  for (const rec of records) {
    const key = rec.type === 'put' ? rec.entry.key : rec.key;
    if (key > maxKey) maxKey = key;
    if (rec.type === 'put') live.set(key, rec.entry);
    else if (rec.type === 'delete') live.delete(key);
    else {
      const e = live.get(key);
      if (e === undefined) continue;
      const next: StoredPublish = { ...e, state: rec.state };
      if (rec.messageId === undefined) delete next.messageId;
      else next.messageId = rec.messageId;
      live.set(key, next);
    }
  }
  return { entries: [...live.values()].sort((a, b) => a.key - b.key), maxKey };
}
