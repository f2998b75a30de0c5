import { describe, expect, it } from 'vitest';
import { ContentType, HandshakeType } from '../../src/tls/constants.js';
import {
  connectedIllustratedCore,
  errorOf,
  handshakeMessage,
  hex,
  illustratedCore,
  illustratedServerProtection,
  REST_OF_FLIGHT,
  record,
  serverHelloBody,
  X,
} from './helpers.js';

function afterHello(body: Buffer, config = {}) {
  const core = illustratedCore(config);
  core.start(0);
  core.takeOutput();
  core.input(record(ContentType.handshake, handshakeMessage(HandshakeType.server_hello, body)), 1);
  return core;
}

/** Feeds the rest of the recorded flight and returns the error. */
function failure(body: Buffer, config = {}) {
  const core = afterHello(body, config);
  if (!core.closed) core.input(REST_OF_FLIGHT, 1);
  const out = Buffer.concat(core.takeOutput());
  return { err: errorOf(core.takeEvents()), out, core };
}

/** The server's ChangeCipherSpec, then a Finished with `verifyData`, protected as the server's first record. */
function serverCcsAndFinished(verifyData: Buffer): Buffer {
  const fin = handshakeMessage(HandshakeType.finished, verifyData);
  const server = illustratedServerProtection();
  return Buffer.concat([
    hex(X.serverccs),
    record(ContentType.handshake, server.encrypt(ContentType.handshake, 0n, fin)),
  ]);
}

/** The alert description in the (plaintext) alert record we sent. */
const sentAlert = (out: Buffer) => (out[0] === ContentType.alert ? out[6] : undefined);

describe('TlsClientCore: the rejection matrix (a typed alert, nothing else sent)', () => {
  it('ServerHello for TLS 1.1: protocol_version', () => {
    const { err, out } = failure(serverHelloBody({ version: 0x0302 }));
    expect(err).toMatchObject({
      name: 'TlsAlert',
      alert: 'protocol_version',
      sent: true,
      code: 'ERR_SSL_UNSUPPORTED_PROTOCOL',
    });
    expect(sentAlert(out)).toBe(70);
  });

  it('a suite we did not offer: illegal_parameter (wrong_cipher_returned)', () => {
    const { err, out } = failure(serverHelloBody({ suite: 0xc02f }));
    expect(err).toMatchObject({ alert: 'illegal_parameter', code: 'ERR_SSL_WRONG_CIPHER_RETURNED' });
    expect(sentAlert(out)).toBe(47);
  });

  it('compression: illegal_parameter', () => {
    expect(failure(serverHelloBody({ compression: 1 })).err?.alert).toBe('illegal_parameter');
  });

  it('an extension we did not offer: unsupported_extension', () => {
    const { err, out } = failure(serverHelloBody({ extensions: hex('ff01000100' + '00100000') }));
    // 0x0010 ALPN: not offered (no ALPN configured).
    expect(err?.alert).toBe('unsupported_extension');
    expect(sentAlert(out)).toBe(110);
  });

  it('a repeated extension: illegal_parameter; a bad renegotiation_info: handshake_failure', () => {
    expect(failure(serverHelloBody({ extensions: hex('ff01000100ff01000100') })).err?.alert).toBe(
      'illegal_parameter',
    );
    expect(failure(serverHelloBody({ extensions: hex('ff0100020100') })).err?.alert).toBe(
      'handshake_failure',
    );
  });

  it('no extended_master_secret while required: handshake_failure', () => {
    const { err } = failure(serverHelloBody(), { requireExtendedMasterSecret: true });
    expect(err).toMatchObject({
      alert: 'handshake_failure',
      code: 'ERR_SSL_EXTENDED_MASTER_SECRET_REQUIRED',
    });
  });

  it('a truncated ServerHello: decode_error', () => {
    expect(failure(serverHelloBody().subarray(0, 30)).err?.alert).toBe('decode_error');
  });

  it('HelloRequest during the handshake: unexpected_message', () => {
    const core = illustratedCore();
    core.start(0);
    core.takeOutput();
    core.input(
      record(ContentType.handshake, handshakeMessage(HandshakeType.hello_request, Buffer.alloc(0))),
      1,
    );
    expect(errorOf(core.takeEvents())).toMatchObject({
      alert: 'unexpected_message',
      code: 'ERR_SSL_NO_RENEGOTIATION',
    });
    expect(sentAlert(Buffer.concat(core.takeOutput()))).toBe(10);
  });

  it('a ServerKeyExchange signature with one bit changed: decrypt_error', () => {
    const core = illustratedCore();
    core.start(0);
    core.takeOutput();
    const ske = hex(X.serverkeyexchange);
    ske[ske.length - 5] = ske[ske.length - 5]! ^ 0x10;
    core.input(Buffer.concat([hex(X.serverhello + X.servercert), ske, hex(X.serverhellodone)]), 1);
    expect(errorOf(core.takeEvents())).toMatchObject({
      alert: 'decrypt_error',
      code: 'ERR_SSL_BAD_SIGNATURE',
    });
  });

  it('a forged server Finished (valid record, wrong verify_data): decrypt_error', () => {
    const core = illustratedCore();
    core.start(0);
    core.input(hex(X.serverhello), 1);
    core.input(REST_OF_FLIGHT, 1);
    core.takeOutput();
    core.input(serverCcsAndFinished(Buffer.alloc(12, 7)), 2);
    expect(errorOf(core.takeEvents())).toMatchObject({
      alert: 'decrypt_error',
      code: 'ERR_SSL_DIGEST_CHECK_FAILED',
    });
    // The alert is encrypted now: a record of type 21 but not 2 octets long.
    const out = Buffer.concat(core.takeOutput());
    expect(out[0]).toBe(ContentType.alert);
    expect(out.readUInt16BE(3)).toBeGreaterThan(2);
  });

  it('a truncated Finished: decode_error', () => {
    const core = illustratedCore();
    core.start(0);
    core.input(Buffer.concat([hex(X.serverhello), REST_OF_FLIGHT]), 1);
    core.input(serverCcsAndFinished(Buffer.alloc(11, 7)), 2);
    expect(errorOf(core.takeEvents())?.alert).toBe('decode_error');
  });

  it('ChangeCipherSpec before ServerHelloDone: unexpected_message', () => {
    const core = illustratedCore();
    core.start(0);
    core.input(Buffer.concat([hex(X.serverhello), hex(X.serverccs)]), 1);
    expect(errorOf(core.takeEvents())?.alert).toBe('unexpected_message');
  });

  it('application data before the handshake ends: unexpected_message', () => {
    const core = illustratedCore();
    core.start(0);
    core.input(record(ContentType.application_data, Buffer.from('hi')), 1);
    expect(errorOf(core.takeEvents())?.alert).toBe('unexpected_message');
  });

  it('not TLS at all (an HTTP answer): unexpected_message, ERR_SSL_WRONG_VERSION_NUMBER', () => {
    const core = illustratedCore();
    core.start(0);
    core.input(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'), 1);
    expect(errorOf(core.takeEvents())).toMatchObject({
      alert: 'unexpected_message',
      code: 'ERR_SSL_WRONG_VERSION_NUMBER',
    });
  });

  it('a record longer than 2^14+2048: record_overflow, before the body arrives', () => {
    const core = illustratedCore();
    core.start(0);
    const h = Buffer.from([22, 3, 3, 0, 0]);
    h.writeUInt16BE((1 << 14) + 2049, 3);
    core.input(h, 1);
    expect(errorOf(core.takeEvents())?.alert).toBe('record_overflow');
  });

  it('a handshake message announced above 64 KiB: refused before it is buffered', () => {
    const core = illustratedCore();
    core.start(0);
    core.input(record(ContentType.handshake, hex('0b100000')), 1);
    expect(errorOf(core.takeEvents())?.alert).toBe('illegal_parameter');
  });

  it('a fatal alert from the server: TlsAlert received, with node:tls code', () => {
    const core = illustratedCore();
    core.start(0);
    core.takeOutput();
    core.input(record(ContentType.alert, Buffer.from([2, 40])), 1);
    expect(errorOf(core.takeEvents())).toMatchObject({
      alert: 'handshake_failure',
      sent: false,
      code: 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE',
    });
    expect(core.takeOutput()).toEqual([]);
  });

  it('HelloRequest once connected: a no_renegotiation warning, and the connection goes on', () => {
    const core = connectedIllustratedCore();
    const server = illustratedServerProtection();
    const hr = handshakeMessage(HandshakeType.hello_request, Buffer.alloc(0));
    core.input(record(ContentType.handshake, server.encrypt(ContentType.handshake, 1n, hr)), 3);
    expect(core.takeEvents()).toEqual([{ type: 'warning', alert: 'no_renegotiation', sent: true }]);
    expect(core.takeOutput()).toHaveLength(1);
    core.input(
      record(
        ContentType.application_data,
        server.encrypt(ContentType.application_data, 2n, Buffer.from('still here')),
      ),
      4,
    );
    expect(core.takeEvents()).toEqual([{ type: 'data', data: Buffer.from('still here') }]);
  });

  it('close_notify from the server: end', () => {
    const core = connectedIllustratedCore();
    const server = illustratedServerProtection();
    core.input(record(ContentType.alert, server.encrypt(ContentType.alert, 1n, Buffer.from([1, 0]))), 2);
    expect(core.takeEvents()).toEqual([{ type: 'end' }]);
  });
});
