/**
 * loadClientCredentials(): PEM/DER certificates and keys (PKCS#1, PKCS#8, SEC1, encrypted) and
 * PKCS#12 files written by `openssl pkcs12 -export`, modern (AES-256/PBKDF2/SHA-256) and
 * `-legacy` (3DES + RC2-40, SHA-1 MAC), RSA and EC. The PKCS#12 cases need the openssl CLI
 * (skipped without it, failed under CELLSTACK_REQUIRE_PEERS=1: see openssl-cli.ts).
 */
import { createPrivateKey, generateKeyPairSync, sign, verify, X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ClientCredentials, CredentialsError, loadClientCredentials } from '../../src/tls/x509/index.js';
import { CellstackError } from '../../src/util/errors.js';
import {
  ecKey,
  issue,
  makePki,
  opensslPkcs12,
  type Pki,
  rsaKey,
  type TestCert,
} from '../helpers/test-pki.js';
import { opensslCli } from './openssl-cli.js';

const openssl = opensslCli();
const PASS = 'correct horse battery staple';

let rsa: Pki;
let ec: Pki;
let clientRsa: TestCert;
let clientEc: TestCert;

beforeAll(() => {
  rsa = makePki('rsa', 'cred');
  ec = makePki('ec', 'credec');
  clientRsa = issue({
    subject: { CN: 'client rsa' },
    key: rsaKey('cred-client'),
    issuer: rsa.intermediate,
    eku: ['clientAuth'],
    keyUsage: ['digitalSignature'],
  });
  clientEc = issue({
    subject: { CN: 'client ec' },
    key: ecKey('credec-client'),
    issuer: ec.intermediate,
    eku: ['clientAuth'],
    keyUsage: ['digitalSignature'],
  });
});

/** The key really is the certificate's: sign with one, verify with the other. */
function assertUsable(creds: ClientCredentials | undefined): ClientCredentials {
  expect(creds).toBeDefined();
  const c = creds!;
  const leaf = new X509Certificate(c.chain[0]!);
  const data = Buffer.from('certificate verify');
  expect(verify('sha256', data, leaf.publicKey, sign('sha256', data, c.key))).toBe(true);
  return c;
}

function expectCode(fn: () => unknown, code: string): CredentialsError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CredentialsError);
    expect(err).toBeInstanceOf(CellstackError);
    expect((err as CredentialsError).code).toBe(code);
    // Never key material or the passphrase in what is shown.
    // The stack's frame lines name source files, whose paths depend on where
    // the clone lives; what the error itself says is the stack's head.
    const head = String((err as Error).stack)
      .split('\n')
      .filter((line) => !/^\s+at /.test(line))
      .join('\n');
    const text = `${(err as Error).message} ${head}`;
    expect(text).not.toContain(PASS);
    expect(text).not.toMatch(/[A-Za-z0-9+/]{40,}/);
    expect((err as Error).cause).toBeUndefined();
    return err as CredentialsError;
  }
  throw new Error(`expected ${code}`);
}

describe('loadClientCredentials: cert + key', () => {
  it('returns undefined when nothing is configured', () => {
    expect(loadClientCredentials({})).toBeUndefined();
    expect(loadClientCredentials({ passphrase: 'x' })).toBeUndefined();
  });

  it('loads a PEM chain and a PKCS#8 RSA key, leaf first', () => {
    const c = assertUsable(
      loadClientCredentials({ cert: clientRsa.pem + rsa.intermediate.pem, key: clientRsa.key.pem }),
    );
    expect(c.keyType).toBe('rsa');
    expect(c.namedCurve).toBeUndefined();
    expect(c.chain.map((d) => Buffer.from(d).equals(clientRsa.der))).toEqual([true, false]);
    expect(Buffer.from(c.chain[1]!).equals(rsa.intermediate.der)).toBe(true);
  });

  it('takes arrays, Buffers and DER certificates', () => {
    const c = assertUsable(
      loadClientCredentials({
        cert: [Buffer.from(clientRsa.pem), rsa.intermediate.der],
        key: Buffer.from(clientRsa.key.pem),
      }),
    );
    expect(c.chain).toHaveLength(2);
    assertUsable(loadClientCredentials({ cert: clientRsa.der, key: clientRsa.key.pem }));
  });

  it('reads PKCS#1, SEC1 and DER keys', () => {
    const pkcs1 = clientRsa.key.privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
    expect(pkcs1).toContain('BEGIN RSA PRIVATE KEY');
    assertUsable(loadClientCredentials({ cert: clientRsa.pem, key: pkcs1 }));
    const sec1 = clientEc.key.privateKey.export({ type: 'sec1', format: 'pem' }) as string;
    expect(sec1).toContain('BEGIN EC PRIVATE KEY');
    const c = assertUsable(loadClientCredentials({ cert: clientEc.pem, key: sec1 }));
    expect(c.keyType).toBe('ec');
    expect(c.namedCurve).toBe('P-256');
    for (const type of ['pkcs8', 'pkcs1'] as const) {
      const der = clientRsa.key.privateKey.export({ type, format: 'der' });
      assertUsable(loadClientCredentials({ cert: clientRsa.pem, key: der }));
    }
    assertUsable(
      loadClientCredentials({
        cert: clientEc.pem,
        key: clientEc.key.privateKey.export({ type: 'sec1', format: 'der' }),
      }),
    );
  });

  it('decrypts encrypted PKCS#8 and legacy encrypted PEM with the passphrase', () => {
    const cases = [
      { client: clientRsa, type: 'pkcs8', cipher: 'aes-256-cbc', marker: 'BEGIN ENCRYPTED PRIVATE KEY' },
      { client: clientEc, type: 'sec1', cipher: 'aes-128-cbc', marker: 'Proc-Type: 4,ENCRYPTED' },
    ] as const;
    for (const { client, type, cipher, marker } of cases) {
      const key = client.key.privateKey.export({ type, format: 'pem', cipher, passphrase: PASS }) as string;
      expect(key).toContain(marker);
      assertUsable(loadClientCredentials({ cert: client.pem, key, passphrase: PASS }));
      expectCode(() => loadClientCredentials({ cert: client.pem, key }), 'ERR_TLS_KEY_PASSPHRASE');
      for (const passphrase of [`${PASS}!`, 'nope'])
        expectCode(
          () => loadClientCredentials({ cert: client.pem, key, passphrase }),
          'ERR_TLS_KEY_PASSPHRASE',
        );
    }
  });

  it('names EC curves and refuses other key types', () => {
    for (const curve of ['P-384', 'P-521'] as const) {
      const k = ecKey(`cred-${curve}`, curve);
      const cert = issue({ subject: { CN: curve }, key: k, issuer: ec.intermediate });
      expect(assertUsable(loadClientCredentials({ cert: cert.pem, key: k.pem })).namedCurve).toBe(curve);
    }
    const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    expectCode(() => loadClientCredentials({ cert: clientEc.pem, key: k1 }), 'ERR_TLS_KEY_UNSUPPORTED');
    const ed = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' });
    expectCode(() => loadClientCredentials({ cert: clientEc.pem, key: ed }), 'ERR_TLS_KEY_UNSUPPORTED');
  });

  it('refuses a key that is not the certificate’s', () => {
    expectCode(
      () => loadClientCredentials({ cert: clientRsa.pem, key: rsa.root.key.pem }),
      'ERR_TLS_KEY_MISMATCH',
    );
    expectCode(
      () => loadClientCredentials({ cert: clientRsa.pem, key: clientEc.key.pem }),
      'ERR_TLS_KEY_MISMATCH',
    );
    // The leaf is the first certificate; the key of the second does not count.
    expectCode(
      () => loadClientCredentials({ cert: rsa.intermediate.pem + clientRsa.pem, key: clientRsa.key.pem }),
      'ERR_TLS_KEY_MISMATCH',
    );
  });

  it('says what is missing or broken', () => {
    expectCode(() => loadClientCredentials({ cert: clientRsa.pem }), 'ERR_TLS_KEY_MISSING');
    expectCode(() => loadClientCredentials({ key: clientRsa.key.pem }), 'ERR_TLS_CERT_MISSING');
    expectCode(
      () => loadClientCredentials({ cert: 'nothing here', key: clientRsa.key.pem }),
      'ERR_TLS_CERT_PARSE',
    );
    expectCode(
      () => loadClientCredentials({ cert: Buffer.from([0x30, 1, 2]), key: clientRsa.key.pem }),
      'ERR_TLS_CERT_PARSE',
    );
    expectCode(() => loadClientCredentials({ cert: clientRsa.pem, key: 'not a key' }), 'ERR_TLS_KEY_PARSE');
    expectCode(
      () => loadClientCredentials({ cert: clientRsa.pem, key: Buffer.from('00ff', 'hex') }),
      'ERR_TLS_KEY_PARSE',
    );
    const lines = clientRsa.key.pem.trim().split('\n');
    const brokenKey = [...lines.slice(0, 5), lines[lines.length - 1]].join('\n');
    expectCode(() => loadClientCredentials({ cert: clientRsa.pem, key: brokenKey }), 'ERR_TLS_KEY_PARSE');
    expectCode(
      () => loadClientCredentials({ cert: clientRsa.pem, key: clientRsa.key.pem, pfx: Buffer.alloc(4) }),
      'ERR_TLS_CREDENTIALS_CONFLICT',
    );
  });
});

describe.skipIf(openssl.skip)('loadClientCredentials: PKCS#12 (openssl pkcs12 -export)', () => {
  for (const legacy of [false, true]) {
    const flavour = legacy ? '-legacy (3DES/RC2, SHA-1 MAC)' : 'default (AES-256-CBC, PBKDF2, SHA-256 MAC)';
    /** The client's key and certificate (and `chain`) through `openssl pkcs12 -export`, loaded back. */
    const viaPkcs12 = (client: TestCert, chain: TestCert[]) =>
      assertUsable(
        loadClientCredentials({
          pfx: opensslPkcs12({ key: client.key, cert: client, chain, passphrase: PASS, legacy }),
          passphrase: PASS,
        }),
      );

    it(`RSA key and chain, ${flavour}`, () => {
      const c = viaPkcs12(clientRsa, [rsa.root, rsa.intermediate]);
      expect(c.keyType).toBe('rsa');
      expect(c.chain.map((d) => Buffer.from(d))).toEqual([clientRsa.der, rsa.intermediate.der, rsa.root.der]);
    });

    it(`EC key (not parseable by forge itself), ${flavour}`, () => {
      const c = viaPkcs12(clientEc, [ec.intermediate]);
      expect(c.keyType).toBe('ec');
      expect(c.namedCurve).toBe('P-256');
      expect(c.chain.map((d) => Buffer.from(d))).toEqual([clientEc.der, ec.intermediate.der]);
      expect(c.key.export({ type: 'pkcs8', format: 'der' })).toEqual(
        createPrivateKey(clientEc.key.pem).export({ type: 'pkcs8', format: 'der' }),
      );
    });

    it(`wrong or missing passphrase, ${flavour}`, () => {
      const pfx = opensslPkcs12({ key: clientEc.key, cert: clientEc, passphrase: PASS, legacy });
      expectCode(() => loadClientCredentials({ pfx, passphrase: 'wrong' }), 'ERR_TLS_PFX_PARSE');
      expectCode(() => loadClientCredentials({ pfx }), 'ERR_TLS_PFX_PARSE');
    });
  }

  it('a pfx without a key, and junk', () => {
    const pfx = opensslPkcs12({ key: clientRsa.key, cert: clientRsa, passphrase: PASS, noKey: true });
    expectCode(() => loadClientCredentials({ pfx, passphrase: PASS }), 'ERR_TLS_PFX_INCOMPLETE');
    expectCode(
      () => loadClientCredentials({ pfx: Buffer.from('not a pfx'), passphrase: PASS }),
      'ERR_TLS_PFX_PARSE',
    );
    expectCode(() => loadClientCredentials({ pfx: Buffer.alloc(0) }), 'ERR_TLS_PFX_PARSE');
  });
});
