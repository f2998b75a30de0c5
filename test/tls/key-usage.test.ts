import { describe, expect, it } from 'vitest';
import { selectSuites } from '../../src/tls/cipher-suites.js';
import { TlsClientCore } from '../../src/tls/client-core.js';
import { ContentType, HandshakeType } from '../../src/tls/constants.js';
import { ecKey, issue, type KeyUsageName, rsaKey } from '../helpers/test-pki.js';
import { fakeServerFlight } from './fake-server.js';
import { errorOf } from './helpers.js';

/**
 * RFC 5246 7.4.2 / RFC 8422 5.3 / RFC 5280 4.2.1.3: a server certificate with a keyUsage
 * extension must allow what the key exchange does with its key.
 */
function run(suiteName: string, keyType: 'rsa' | 'ec', keyUsage: KeyUsageName[] | undefined) {
  const suite = selectSuites(suiteName, true)[0]!;
  const key = keyType === 'rsa' ? rsaKey('ku-leaf') : ecKey('ku-leaf');
  const leaf = issue({ subject: { CN: 'localhost' }, key, ca: false, dns: ['localhost'], keyUsage });
  const core = new TlsClientCore({ cipherSuites: [suite], servername: 'localhost' });
  core.start(0);
  const [hello] = core.takeOutput();
  core.input(
    fakeServerFlight({ clientHello: hello!, suite, chain: [leaf.der], key: key.privateKey }).bytes,
    1,
  );
  const out = core.takeOutput();
  return { core, err: errorOf(core.takeEvents()), out };
}

describe('the server certificate keyUsage against the key exchange', () => {
  const refused: Array<[string, 'rsa' | 'ec', KeyUsageName[], string]> = [
    ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ec', ['keyAgreement'], 'digitalSignature'],
    ['ECDHE-RSA-AES128-GCM-SHA256', 'rsa', ['keyEncipherment'], 'digitalSignature'],
    ['AES128-GCM-SHA256', 'rsa', ['digitalSignature'], 'keyEncipherment'],
  ];
  for (const [suite, keyType, ku, needed] of refused) {
    it(`${suite} with keyUsage ${ku.join(',')}: unsupported_certificate, nothing else sent`, () => {
      const { err, out, core } = run(suite, keyType, ku);
      expect(err).toMatchObject({
        name: 'TlsAlert',
        alert: 'unsupported_certificate',
        sent: true,
        code: 'ERR_SSL_KEY_USAGE_BIT_INCORRECT',
      });
      expect(err?.message).toContain(needed);
      expect(core.closed).toBe(true);
      // One plaintext fatal alert (2, 43), and no ClientKeyExchange before it.
      expect(out).toHaveLength(1);
      expect([...out[0]!]).toEqual([ContentType.alert, 3, 3, 0, 2, 2, 43]);
    });
  }

  const accepted: Array<[string, 'rsa' | 'ec', KeyUsageName[] | undefined]> = [
    ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ec', ['digitalSignature']],
    ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ec', undefined],
    ['ECDHE-RSA-AES128-GCM-SHA256', 'rsa', ['digitalSignature']],
    ['ECDHE-RSA-AES128-GCM-SHA256', 'rsa', ['digitalSignature', 'keyEncipherment']],
    ['AES128-GCM-SHA256', 'rsa', ['keyEncipherment']],
    ['AES128-GCM-SHA256', 'rsa', undefined],
  ];
  for (const [suite, keyType, ku] of accepted) {
    it(`${suite} with ${ku ? `keyUsage ${ku.join(',')}` : 'no keyUsage'}: our flight goes out`, () => {
      const { err, out, core } = run(suite, keyType, ku);
      expect(err).toBeUndefined();
      expect(core.closed).toBe(false);
      // ClientKeyExchange, ChangeCipherSpec, Finished.
      expect(out.map((r) => r[0])).toEqual([
        ContentType.handshake,
        ContentType.change_cipher_spec,
        ContentType.handshake,
      ]);
      expect(out[0]![5]).toBe(HandshakeType.client_key_exchange);
    });
  }
});
