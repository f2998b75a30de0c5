import { MalformedPacket } from '../../util/errors.js';
import { crc32 } from './crc32.js';
import type { StoredProperties, StoredPublish, StoredState } from './types.js';

/**
 * The log's record codec (pure). Every record is framed so that a reader can tell an intact
 * record from a torn write or garbage and find the next intact record after damage:
 *
 *     0  magic   'CSQS' (4)         8  ... body length u32 BE (bytes 6..9)
 *     4  version u8 = 1             10 header CRC-32 over bytes 0..9
 *     5  type    u8 (1 put, 2 update, 3 delete)
 *     14 body CRC-32 over the body   18 body
 *
 * The header CRC makes a false match while resynchronising after garbage a 2^-32 event per
 * candidate and stops a damaged length from sending the reader far away. Integers are
 * big-endian; keys are u64 (within Number.MAX_SAFE_INTEGER).
 */
export const MAGIC = new Uint8Array([0x43, 0x53, 0x51, 0x53]); // 'CSQS'
export const VERSION = 1;
export const HEADER_BYTES = 18;

export type LogRecord =
  | { type: 'put'; entry: StoredPublish }
  | { type: 'update'; key: number; state: StoredState; messageId: number | undefined }
  | { type: 'delete'; key: number };

const TYPE_PUT = 1;
const TYPE_UPDATE = 2;
const TYPE_DELETE = 3;

const FLAG_RETAIN = 1;
const FLAG_PUBREL = 2;
const FLAG_MESSAGE_ID = 4;

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

function setU64(view: DataView, at: number, n: number): void {
  view.setUint32(at, Math.floor(n / 0x1_0000_0000));
  view.setUint32(at + 4, n >>> 0);
}

function getU64(view: DataView, at: number): number {
  return view.getUint32(at) * 0x1_0000_0000 + view.getUint32(at + 4);
}

function propertiesJson(p: StoredProperties | undefined): Uint8Array {
  if (p === undefined) return new Uint8Array(0);
  const { correlationData, ...rest } = p;
  const json: Record<string, unknown> = { ...rest };
  if (correlationData !== undefined)
    json['correlationData'] = Buffer.from(correlationData).toString('base64');
  return utf8.encode(JSON.stringify(json));
}

function isStringRecord(v: unknown): v is Record<string, string | string[]> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  return Object.values(v).every(
    (x) => typeof x === 'string' || (Array.isArray(x) && x.every((s) => typeof s === 'string')),
  );
}

function parseProperties(bytes: Uint8Array): StoredProperties {
  let raw: unknown;
  try {
    raw = JSON.parse(utf8Decoder.decode(bytes));
  } catch {
    throw new MalformedPacket('store record', 'properties are not JSON');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new MalformedPacket('store record', 'properties are not an object');
  }
  const o = raw as Record<string, unknown>;
  const out: StoredProperties = {};
  const bad = (name: string): never => {
    throw new MalformedPacket('store record', `property ${name}`);
  };
  for (const [k, v] of Object.entries(o)) {
    switch (k) {
      case 'payloadFormatIndicator':
        out.payloadFormatIndicator = typeof v === 'boolean' ? v : bad(k);
        break;
      case 'messageExpiryInterval':
        out.messageExpiryInterval = typeof v === 'number' ? v : bad(k);
        break;
      case 'contentType':
        out.contentType = typeof v === 'string' ? v : bad(k);
        break;
      case 'responseTopic':
        out.responseTopic = typeof v === 'string' ? v : bad(k);
        break;
      case 'correlationData':
        out.correlationData = typeof v === 'string' ? new Uint8Array(Buffer.from(v, 'base64')) : bad(k);
        break;
      case 'userProperties':
        out.userProperties = isStringRecord(v) ? v : bad(k);
        break;
      case 'subscriptionIdentifier':
        out.subscriptionIdentifier =
          typeof v === 'number' || (Array.isArray(v) && v.every((x) => typeof x === 'number'))
            ? (v as number | number[])
            : bad(k);
        break;
      default:
        bad(k);
    }
  }
  return out;
}

function frame(type: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + body.length);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  out[4] = VERSION;
  out[5] = type;
  view.setUint32(6, body.length);
  view.setUint32(10, crc32(out.subarray(0, 10)));
  view.setUint32(14, crc32(body));
  out.set(body, HEADER_BYTES);
  return out;
}

/** Size of the record `encodeRecord({ type: 'put', entry })` would make, without making it. */
export function putRecordBytes(p: {
  topic: string;
  payload: Uint8Array;
  properties?: StoredProperties;
}): number {
  return (
    HEADER_BYTES + 30 + Buffer.byteLength(p.topic) + propertiesJson(p.properties).length + p.payload.length
  );
}

export function encodeRecord(rec: LogRecord): Uint8Array {
  switch (rec.type) {
    case 'put': {
      const e = rec.entry;
      const topic = utf8.encode(e.topic);
      if (topic.length > 0xffff) throw new MalformedPacket('store record', 'topic longer than 65535 bytes');
      const props = propertiesJson(e.properties);
      const body = new Uint8Array(30 + topic.length + props.length + e.payload.length);
      const view = new DataView(body.buffer);
      setU64(view, 0, e.key);
      view.setFloat64(8, e.createdAt);
      body[16] = e.qos;
      body[17] =
        (e.retain ? FLAG_RETAIN : 0) |
        (e.state === 'pubrel' ? FLAG_PUBREL : 0) |
        (e.messageId !== undefined ? FLAG_MESSAGE_ID : 0);
      view.setUint16(18, e.messageId ?? 0);
      view.setUint16(20, topic.length);
      body.set(topic, 22);
      let at = 22 + topic.length;
      view.setUint32(at, props.length);
      body.set(props, at + 4);
      at += 4 + props.length;
      view.setUint32(at, e.payload.length);
      body.set(e.payload, at + 4);
      return frame(TYPE_PUT, body);
    }
    case 'update': {
      const body = new Uint8Array(11);
      const view = new DataView(body.buffer);
      setU64(view, 0, rec.key);
      body[8] =
        (rec.state === 'pubrel' ? FLAG_PUBREL : 0) | (rec.messageId !== undefined ? FLAG_MESSAGE_ID : 0);
      view.setUint16(9, rec.messageId ?? 0);
      return frame(TYPE_UPDATE, body);
    }
    case 'delete': {
      const body = new Uint8Array(8);
      setU64(new DataView(body.buffer), 0, rec.key);
      return frame(TYPE_DELETE, body);
    }
  }
}

function checkKey(key: number): number {
  if (key < 1 || key > Number.MAX_SAFE_INTEGER) throw new MalformedPacket('store record', `key ${key}`);
  return key;
}

function decodeBody(type: number, body: Uint8Array): LogRecord {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const need = (n: number): void => {
    if (body.length < n) throw new MalformedPacket('store record', `body of ${body.length} bytes, need ${n}`);
  };
  if (type === TYPE_PUT) {
    need(30);
    const key = checkKey(getU64(view, 0));
    const createdAt = view.getFloat64(8);
    const qos = body[16]!;
    if (qos !== 1 && qos !== 2) throw new MalformedPacket('store record', `qos ${qos}`);
    const flags = body[17]!;
    const messageId = view.getUint16(18);
    const topicLen = view.getUint16(20);
    need(30 + topicLen);
    let topic: string;
    try {
      topic = utf8Decoder.decode(body.subarray(22, 22 + topicLen));
    } catch {
      throw new MalformedPacket('store record', 'topic is not UTF-8');
    }
    let at = 22 + topicLen;
    const propsLen = view.getUint32(at);
    need(at + 8 + propsLen);
    const properties = propsLen > 0 ? parseProperties(body.subarray(at + 4, at + 4 + propsLen)) : undefined;
    at += 4 + propsLen;
    const payloadLen = view.getUint32(at);
    if (at + 4 + payloadLen !== body.length) throw new MalformedPacket('store record', 'payload length');
    const entry: StoredPublish = {
      key,
      topic,
      payload: new Uint8Array(body.subarray(at + 4)),
      qos,
      retain: (flags & FLAG_RETAIN) !== 0,
      state: (flags & FLAG_PUBREL) !== 0 ? 'pubrel' : 'publish',
      createdAt,
    };
    if (properties !== undefined) entry.properties = properties;
    if ((flags & FLAG_MESSAGE_ID) !== 0) entry.messageId = messageId;
    return { type: 'put', entry };
  }
  if (type === TYPE_UPDATE) {
    if (body.length !== 11) throw new MalformedPacket('store record', 'update length');
    const flags = body[8]!;
    return {
      type: 'update',
      key: checkKey(getU64(view, 0)),
      state: (flags & FLAG_PUBREL) !== 0 ? 'pubrel' : 'publish',
      messageId: (flags & FLAG_MESSAGE_ID) !== 0 ? view.getUint16(9) : undefined,
    };
  }
  if (type === TYPE_DELETE) {
    if (body.length !== 8) throw new MalformedPacket('store record', 'delete length');
    return { type: 'delete', key: checkKey(getU64(view, 0)) };
  }
  throw new MalformedPacket('store record', `type ${type}`);
}

export type DecodeResult =
  | { kind: 'ok'; record: LogRecord; end: number }
  /** Not enough bytes at `offset` for what the header promises (or for a header). */
  | { kind: 'short' }
  /** Not an intact record: wrong magic, a CRC mismatch, an impossible length or body. */
  | { kind: 'bad' }
  /** An intact header of a format version this code does not read. */
  | { kind: 'version'; version: number };

/** Tries to read one record at `offset`. Never throws. */
export function decodeRecordAt(bytes: Uint8Array, offset: number, maxBodyBytes: number): DecodeResult {
  if (bytes.length - offset < HEADER_BYTES) {
    for (let i = 0; i < 4 && offset + i < bytes.length; i++)
      if (bytes[offset + i] !== MAGIC[i]) return { kind: 'bad' };
    return { kind: 'short' };
  }
  for (let i = 0; i < 4; i++) if (bytes[offset + i] !== MAGIC[i]) return { kind: 'bad' };
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, HEADER_BYTES);
  if (crc32(bytes.subarray(offset, offset + 10)) !== view.getUint32(10)) return { kind: 'bad' };
  const version = bytes[offset + 4]!;
  if (version !== VERSION) return { kind: 'version', version };
  const length = view.getUint32(6);
  if (length > maxBodyBytes) return { kind: 'bad' };
  const end = offset + HEADER_BYTES + length;
  if (end > bytes.length) return { kind: 'short' };
  const body = bytes.subarray(offset + HEADER_BYTES, end);
  if (crc32(body) !== view.getUint32(14)) return { kind: 'bad' };
  try {
    return { kind: 'ok', record: decodeBody(bytes[offset + 5]!, body), end };
  } catch {
    return { kind: 'bad' };
  }
}
