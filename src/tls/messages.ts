import { EC_CURVE_TYPE_NAMED, ExtensionType, Limits, TLS12 } from './constants.js';
import { fail } from './errors.js';
import { WireReader, WireWriter } from './wire.js';

/** ClientHello (RFC 5246 7.4.1.2), with the extensions already encoded. */
export interface ClientHello {
  random: Uint8Array;
  sessionId: Uint8Array;
  cipherSuites: readonly number[];
  extensions: ReadonlyArray<{ type: number; data: Uint8Array }>;
}

export function emitClientHello(h: ClientHello): Buffer {
  const suites = new WireWriter();
  for (const s of h.cipherSuites) suites.u16(s);
  const ext = new WireWriter();
  for (const e of h.extensions) ext.u16(e.type).vec16(e.data);
  return new WireWriter()
    .u16(TLS12)
    .bytes(h.random)
    .vec8(h.sessionId)
    .vec16(suites.finish())
    .vec8(Buffer.from([0])) // compression_methods: null only
    .vec16(ext.finish())
    .finish();
}

/** ServerHello (RFC 5246 7.4.1.3). `extensions` in the order received; duplicates refused. */
export interface ServerHello {
  version: number;
  random: Buffer;
  sessionId: Buffer;
  cipherSuite: number;
  compressionMethod: number;
  extensions: Map<number, Buffer>;
}

export function parseServerHello(body: Uint8Array): ServerHello {
  const r = WireReader.of(body, 'ServerHello');
  const version = r.u16();
  const random = r.bytes(32);
  const sessionId = r.vec8();
  if (sessionId.length > 32) throw fail('illegal_parameter', 'ServerHello session_id longer than 32');
  const cipherSuite = r.u16();
  const compressionMethod = r.u8();
  const extensions = new Map<number, Buffer>();
  // The extensions block may be absent altogether (RFC 5246 7.4.1.3).
  if (r.remaining > 0) {
    const er = r.sub16('ServerHello extensions');
    while (er.remaining > 0) {
      const type = er.u16();
      const data = er.vec16();
      if (extensions.has(type)) throw fail('illegal_parameter', `ServerHello repeats extension ${type}`);
      extensions.set(type, data);
    }
  }
  r.end();
  return { version, random, sessionId, cipherSuite, compressionMethod, extensions };
}

/** Certificate (RFC 5246 7.4.2): the chain, leaf first, as DER; at most `Limits.certificates`. */
export function parseCertificate(body: Uint8Array): Buffer[] {
  const r = WireReader.of(body, 'Certificate');
  const list = new WireReader(r.vec24(), 'certificate_list');
  r.end();
  const chain: Buffer[] = [];
  while (list.remaining > 0) {
    chain.push(list.vec24(1));
    if (chain.length > Limits.certificates) {
      throw fail(
        'bad_certificate',
        `more than ${Limits.certificates} certificates`,
        'excessive_message_size',
      );
    }
  }
  return chain;
}

export function emitCertificate(chain: readonly Uint8Array[]): Buffer {
  const list = new WireWriter();
  for (const c of chain) list.vec24(c);
  return new WireWriter().vec24(list.finish()).finish();
}

/** ServerKeyExchange for ECDHE (RFC 8422 5.4): named curve, public point, signature. */
export interface ServerEcdhParams {
  namedCurve: number;
  publicKey: Buffer;
  /** The ServerECDHParams bytes, as signed. */
  params: Buffer;
  scheme: number;
  signature: Buffer;
}

export function parseServerKeyExchange(body: Uint8Array): ServerEcdhParams {
  const r = WireReader.of(body, 'ServerKeyExchange');
  const curveType = r.u8();
  if (curveType !== EC_CURVE_TYPE_NAMED)
    throw fail('illegal_parameter', `ECCurveType ${curveType}`, 'wrong_curve');
  const namedCurve = r.u16();
  const publicKey = r.vec8(1);
  const params = Buffer.from(body.subarray(0, 4 + publicKey.length));
  const scheme = r.u16();
  const signature = r.vec16(1);
  r.end();
  return { namedCurve, publicKey, params, scheme, signature };
}

/** CertificateRequest (RFC 5246 7.4.4). */
export interface CertificateRequest {
  certificateTypes: number[];
  signatureSchemes: number[];
  /** DistinguishedName DER values; we do not choose a certificate by them (we have one). */
  authorities: Buffer[];
}

export function parseCertificateRequest(body: Uint8Array): CertificateRequest {
  const r = WireReader.of(body, 'CertificateRequest');
  const certificateTypes = [...r.vec8(1)];
  const sr = r.sub16('supported_signature_algorithms', 2);
  const signatureSchemes: number[] = [];
  while (sr.remaining > 0) signatureSchemes.push(sr.u16());
  const ar = r.sub16('certificate_authorities');
  const authorities: Buffer[] = [];
  while (ar.remaining > 0) authorities.push(ar.vec16(1));
  r.end();
  return { certificateTypes, signatureSchemes, authorities };
}

/** NewSessionTicket (RFC 5077 3.3). */
export interface NewSessionTicket {
  lifetimeHint: number;
  ticket: Buffer;
}

export function parseNewSessionTicket(body: Uint8Array): NewSessionTicket {
  const r = WireReader.of(body, 'NewSessionTicket');
  const lifetimeHint = r.u32();
  const ticket = r.vec16();
  r.end();
  return { lifetimeHint, ticket: Buffer.from(ticket) };
}

/** ClientKeyExchange: ClientECDiffieHellmanPublic (RFC 8422 5.7) or EncryptedPreMasterSecret (RFC 5246 7.4.7.1). */
export function emitClientKeyExchange(kind: 'ecdhe' | 'rsa', value: Uint8Array): Buffer {
  const w = new WireWriter();
  return (kind === 'ecdhe' ? w.vec8(value) : w.vec16(value)).finish();
}

/** CertificateVerify (RFC 5246 7.4.8): SignatureAndHashAlgorithm + signature. */
export function emitCertificateVerify(scheme: number, signature: Uint8Array): Buffer {
  return new WireWriter().u16(scheme).vec16(signature).finish();
}

/** Checks an extension whose extension_data must be empty in ServerHello. */
export function expectEmpty(type: number, data: Uint8Array): void {
  if (data.length !== 0) throw fail('decode_error', `ServerHello extension ${type} is not empty`);
}

export { ExtensionType };
