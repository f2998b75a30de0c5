import { expect } from 'vitest';
import { type CipherSuite, selectSuites } from '../../src/tls/cipher-suites.js';
import { type TlsClientConfig, TlsClientCore, type TlsClientEvent } from '../../src/tls/client-core.js';
import { x25519Share } from '../../src/tls/key-exchange.js';
import { keyBlock } from '../../src/tls/prf.js';
import {
  createProtection,
  type DirectionKeys,
  keyBlockLength,
  splitKeyBlock,
} from '../../src/tls/record-protection.js';
import { ILLUSTRATED as X } from './fixtures/illustrated-tls12.js';

export const hex = (s: string) => Buffer.from(s, 'hex');

/** The illustrated connection's client: fixed random, key and IVs (see illustrated.test.ts). */
export function illustratedCore(config: Partial<TlsClientConfig> = {}): TlsClientCore {
  const ivs = [0x40, 0x00, 0x10, 0x20, 0x30, 0x50, 0x60, 0x70];
  return new TlsClientCore({
    cipherSuites: selectSuites('ECDHE-RSA-AES128-SHA', true),
    requireExtendedMasterSecret: false,
    recordedClientHello: hex(X.clienthello).subarray(5),
    keyShare: () => x25519Share(hex(X.clientX25519Private)),
    random: (n) => Buffer.alloc(n, ivs.shift() ?? 0x99),
    ...config,
  });
}

/** A record: type, version 0x0303, length, fragment. */
export function record(type: number, fragment: Uint8Array, version = 0x0303): Buffer {
  const h = Buffer.alloc(5);
  h[0] = type;
  h.writeUInt16BE(version, 1);
  h.writeUInt16BE(fragment.length, 3);
  return Buffer.concat([h, fragment]);
}

/** A handshake message: type, uint24 length, body. */
export function handshakeMessage(type: number, body: Uint8Array): Buffer {
  const h = Buffer.alloc(4);
  h[0] = type;
  h.writeUIntBE(body.length, 1, 3);
  return Buffer.concat([h, body]);
}

/** The recorded ServerHello body with changes. */
export function serverHelloBody(
  o: { version?: number; suite?: number; extensions?: Buffer; compression?: number } = {},
): Buffer {
  const orig = hex(X.serverhello).subarray(9); // record header + handshake header
  const b = Buffer.from(orig.subarray(0, 2 + 32 + 1 + 0 + 2 + 1));
  if (o.version !== undefined) b.writeUInt16BE(o.version, 0);
  if (o.suite !== undefined) b.writeUInt16BE(o.suite, 35);
  if (o.compression !== undefined) b[37] = o.compression;
  const ext = o.extensions ?? hex('ff01000100');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(ext.length);
  return Buffer.concat([b, len, ext]);
}

/** The server flight after ServerHello, as recorded. */
export const REST_OF_FLIGHT = hex(X.servercert + X.serverkeyexchange + X.serverhellodone);

/** The illustrated connection's suite (ECDHE-RSA-AES128-SHA) and the server's record keys. */
export function illustratedServerKeys(): { suite: CipherSuite; keys: DirectionKeys } {
  const suite = selectSuites('ECDHE-RSA-AES128-SHA', true)[0]!;
  const block = keyBlock(
    'sha256',
    hex(X.masterSecret),
    hex(X.clientRandom),
    hex(X.serverhello).subarray(11, 43),
    keyBlockLength(suite),
  );
  return { suite, keys: splitKeyBlock(suite, block).server };
}

/** Server-side record protection for the illustrated connection (to forge server records). */
export function illustratedServerProtection() {
  const { suite, keys } = illustratedServerKeys();
  return createProtection(suite, keys, {
    encryptThenMac: false,
    random: (n) => Buffer.alloc(n, 0x5a),
  });
}

/** The illustrated client after the whole recorded server flight: connected, output and events taken. */
export function connectedIllustratedCore(): TlsClientCore {
  const core = illustratedCore();
  core.start(0);
  core.input(Buffer.concat([hex(X.serverhello), REST_OF_FLIGHT, hex(X.serverccs + X.serverfinished)]), 1);
  expect(core.connected).toBe(true);
  core.takeOutput();
  core.takeEvents();
  return core;
}

export function errorOf(
  events: TlsClientEvent[],
): (Error & { code: string; alert?: string; sent?: boolean }) | undefined {
  const e = events.find((x) => x.type === 'error');
  return e?.type === 'error' ? (e.error as Error & { code: string }) : undefined;
}

export { X };
