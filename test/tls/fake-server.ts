/**
 * The first flight of a made-up TLS 1.2 server (ServerHello .. ServerHelloDone) for a given
 * suite and certificate chain, answering a ClientHello the core wrote: enough to drive the
 * core up to its own flight with certificates from test-pki.
 */
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import type { CipherSuite } from '../../src/tls/cipher-suites.js';
import { ContentType, HandshakeType } from '../../src/tls/constants.js';
import { handshakeMessage, record } from './helpers.js';

const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
const u24 = (n: number) => Buffer.from([n >> 16, (n >> 8) & 0xff, n & 0xff]);
const vec8 = (b: Uint8Array) => Buffer.concat([Buffer.from([b.length]), b]);
const vec16 = (b: Uint8Array) => Buffer.concat([u16(b.length), b]);
const vec24 = (b: Uint8Array) => Buffer.concat([u24(b.length), b]);

export interface FakeFlight {
  /** Records to feed the core. */
  bytes: Buffer;
  serverRandom: Buffer;
}

export function fakeServerFlight(opts: {
  /** The core's first output (the ClientHello record). */
  clientHello: Buffer;
  suite: CipherSuite;
  /** DER, leaf first. */
  chain: Uint8Array[];
  /** The leaf's private key (signs ServerKeyExchange for ECDHE suites). */
  key: KeyObject;
}): FakeFlight {
  const clientRandom = opts.clientHello.subarray(11, 43);
  const serverRandom = Buffer.alloc(32, 0x22);
  // renegotiation_info (empty) and extended_master_secret.
  const extensions = Buffer.concat([u16(0xff01), vec16(Buffer.from([0])), u16(23), vec16(Buffer.alloc(0))]);
  const serverHello = Buffer.concat([
    u16(0x0303),
    serverRandom,
    vec8(Buffer.alloc(0)),
    u16(opts.suite.id),
    Buffer.from([0]),
    vec16(extensions),
  ]);
  const certificate = vec24(Buffer.concat(opts.chain.map((c) => vec24(c))));
  const messages = [
    handshakeMessage(HandshakeType.server_hello, serverHello),
    handshakeMessage(HandshakeType.certificate, certificate),
  ];
  if (opts.suite.keyExchange !== 'RSA') {
    const share = generateKeyPairSync('x25519')
      .publicKey.export({ type: 'spki', format: 'der' })
      .subarray(-32);
    const params = Buffer.concat([Buffer.from([3]), u16(0x001d), vec8(share)]);
    const signed = Buffer.concat([clientRandom, serverRandom, params]);
    const ec = opts.key.asymmetricKeyType === 'ec';
    const signature = sign('sha256', signed, opts.key);
    messages.push(
      handshakeMessage(
        HandshakeType.server_key_exchange,
        Buffer.concat([params, u16(ec ? 0x0403 : 0x0401), vec16(signature)]),
      ),
    );
  }
  messages.push(handshakeMessage(HandshakeType.server_hello_done, Buffer.alloc(0)));
  return {
    bytes: Buffer.concat(messages.map((m) => record(ContentType.handshake, m))),
    serverRandom,
  };
}
