import { WireReader, WireWriter } from './wire.js';

/**
 * What a resumable session keeps (RFC 5246 7.4.1.2 session IDs, RFC 5077 tickets): enough to
 * offer it again and to report the peer as the first handshake saw it. Serialized as an
 * opaque Buffer, like node:tls's `getSession()`; it holds the master secret, so callers must
 * store it as they would a key.
 */
export interface TlsSession {
  cipherSuite: number;
  sessionId: Buffer;
  masterSecret: Buffer;
  extendedMasterSecret: boolean;
  /** The ticket (RFC 5077), if the server gave one. */
  ticket: Buffer | undefined;
  /** ticket_lifetime_hint, seconds (0: unspecified). */
  ticketLifetime: number;
  /** When the session was made (ms, the core's clock). */
  createdAt: number;
  servername: string;
  alpnProtocol: string | undefined;
  /** The server's chain as the full handshake received it (DER, leaf first). */
  peerChain: Buffer[];
}

const MAGIC = Buffer.from('cstls12\x01', 'latin1');

export function serializeSession(s: TlsSession): Buffer {
  const w = new WireWriter()
    .bytes(MAGIC)
    .u16(s.cipherSuite)
    .vec8(s.sessionId)
    .vec8(s.masterSecret)
    .u8(s.extendedMasterSecret ? 1 : 0)
    .vec16(s.ticket ?? Buffer.alloc(0))
    .bytes(u32(s.ticketLifetime))
    .bytes(u64(s.createdAt))
    .vec16(Buffer.from(s.servername, 'utf8'))
    .vec8(Buffer.from(s.alpnProtocol ?? '', 'latin1'));
  const chain = new WireWriter();
  for (const c of s.peerChain) chain.vec24(c);
  return w.vec24(chain.finish()).finish();
}

/** Parses a session made by `serializeSession`; undefined for anything else (it is then not offered). */
export function parseSession(data: Uint8Array): TlsSession | undefined {
  try {
    const r = WireReader.of(data, 'session');
    if (!r.bytes(MAGIC.length).equals(MAGIC)) return undefined;
    const cipherSuite = r.u16();
    const sessionId = Buffer.from(r.vec8());
    const masterSecret = Buffer.from(r.vec8());
    const extendedMasterSecret = r.u8() === 1;
    const ticket = Buffer.from(r.vec16());
    const ticketLifetime = r.u32();
    const createdAt = Number(r.bytes(8).readBigUInt64BE());
    const servername = r.vec16().toString('utf8');
    const alpn = r.vec8().toString('latin1');
    const cr = WireReader.of(r.vec24(), 'chain');
    r.end();
    const peerChain: Buffer[] = [];
    while (cr.remaining > 0) peerChain.push(Buffer.from(cr.vec24()));
    if (masterSecret.length !== 48 || sessionId.length > 32) return undefined;
    return {
      cipherSuite,
      sessionId,
      masterSecret,
      extendedMasterSecret,
      ticket: ticket.length > 0 ? ticket : undefined,
      ticketLifetime,
      createdAt,
      servername,
      alpnProtocol: alpn || undefined,
      peerChain,
    };
  } catch {
    return undefined;
  }
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
}

function u64(v: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(v))));
  return b;
}
