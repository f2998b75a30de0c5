import { createPrivateKey, createPublicKey, diffieHellman } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { selectSuites } from '../../src/tls/cipher-suites.js';
import { TlsClientCore, type TlsClientEvent } from '../../src/tls/client-core.js';
import { x25519Share } from '../../src/tls/key-exchange.js';
import { masterSecret } from '../../src/tls/prf.js';
import { ILLUSTRATED as X } from './fixtures/illustrated-tls12.js';

const hex = (s: string) => Buffer.from(s, 'hex');

/** A random source that hands out the given octet strings in order (the published IVs). */
function scripted(...chunks: string[]): (n: number) => Uint8Array {
  const queue = chunks.map(hex);
  return (n) => {
    const next = queue.shift();
    if (!next || next.length !== n) throw new Error(`unexpected random(${n})`);
    return next;
  };
}

function newCore(): TlsClientCore {
  return new TlsClientCore({
    cipherSuites: selectSuites('ECDHE-RSA-AES128-SHA', true),
    requireExtendedMasterSecret: false, // the recorded server (Go) did not do RFC 7627
    recordedClientHello: hex(X.clienthello).subarray(5),
    keyShare: () => x25519Share(hex(X.clientX25519Private)),
    random: scripted(
      '404142434445464748494a4b4c4d4e4f', // IV of the client Finished record
      '000102030405060708090a0b0c0d0e0f', // IV of the "ping" record
      '101112131415161718191a1b1c1d1e1f', // IV of the close_notify record
    ),
  });
}

describe('The Illustrated TLS 1.2 Connection (TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA)', () => {
  it('has the published master secret for its x25519 exchange', () => {
    const priv = createPrivateKey({
      key: Buffer.concat([hex('302e020100300506032b656e04220420'), hex(X.clientX25519Private)]),
      format: 'der',
      type: 'pkcs8',
    });
    // The server's public value sits in ServerKeyExchange after 5 + 4 + 4 octets.
    const serverPublic = hex(X.serverkeyexchange).subarray(13, 45);
    const pms = diffieHellman({
      privateKey: priv,
      publicKey: createPublicKey({
        key: Buffer.concat([hex('302a300506032b656e032100'), serverPublic]),
        format: 'der',
        type: 'spki',
      }),
    });
    const ms = masterSecret('sha256', pms, hex(X.clientRandom), hex(X.serverhello).subarray(11, 43));
    expect(ms.toString('hex')).toBe(X.masterSecret);
  });

  it('replays the whole connection byte for byte', () => {
    const core = newCore();
    core.start(0);
    expect(Buffer.concat(core.takeOutput()).toString('hex')).toBe(X.clienthello);

    core.input(hex(X.serverhello + X.servercert + X.serverkeyexchange + X.serverhellodone), 1);
    const flight = Buffer.concat(core.takeOutput()).toString('hex');
    expect(core.takeEvents()).toEqual([]);
    // ClientKeyExchange (our x25519 public value), ChangeCipherSpec, then the encrypted
    // Finished: its verify_data over the recorded transcript, MAC, padding, the given IV.
    expect(flight).toBe(X.clientkeyexchange + X.clientccs + X.clientfinished);

    core.input(hex(X.serverccs + X.serverfinished), 2);
    const events = core.takeEvents();
    expect(events.map((e) => e.type)).toEqual(['connected']);
    const connected = events[0] as Extract<TlsClientEvent, { type: 'connected' }>;
    expect(connected.result.suite.standardName).toBe('TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA');
    expect(connected.result.extendedMasterSecret).toBe(false);
    expect(connected.result.encryptThenMac).toBe(false);
    expect(connected.result.secureRenegotiation).toBe(true);

    core.write(Buffer.from('ping'));
    expect(Buffer.concat(core.takeOutput()).toString('hex')).toBe(X.clientdata);

    core.input(hex(X.serverdata), 3);
    expect(core.takeEvents()).toEqual([{ type: 'data', data: Buffer.from('pong') }]);

    core.close();
    expect(Buffer.concat(core.takeOutput()).toString('hex')).toBe(X.clientalert);
  });

  it('refuses a server Finished record with one bit changed: bad_record_mac', () => {
    const core = newCore();
    core.start(0);
    core.input(hex(X.serverhello + X.servercert + X.serverkeyexchange + X.serverhellodone), 1);
    core.takeOutput();
    const fin = hex(X.serverfinished);
    fin[fin.length - 1] = fin[fin.length - 1]! ^ 1;
    core.input(Buffer.concat([hex(X.serverccs), fin]), 2);
    const [ev] = core.takeEvents();
    expect(ev?.type).toBe('error');
    expect((ev as unknown as { error: { code: string } }).error.code).toBe(
      'ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC',
    );
    // The alert went out, encrypted under the new keys.
    const out = Buffer.concat(core.takeOutput());
    expect(out[0]).toBe(21);
  });

  it('accepts the server flight split into 1-octet pieces', () => {
    const core = newCore();
    core.start(0);
    core.takeOutput();
    for (const b of hex(X.serverhello + X.servercert + X.serverkeyexchange + X.serverhellodone))
      core.input(Buffer.from([b]), 1);
    expect(Buffer.concat(core.takeOutput()).toString('hex')).toBe(
      X.clientkeyexchange + X.clientccs + X.clientfinished,
    );
  });
});
