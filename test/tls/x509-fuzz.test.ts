/**
 * Fuzzing (fast-check): random and mutated DER into verifyServerChain() and garbage PEM, DER
 * and PKCS#12 into loadClientCredentials(). Nothing may escape but the typed results: a
 * verdict with a CertificateError, or a thrown CredentialsError. The PKCS#12 seed comes from
 * the openssl CLI (that case is skipped without it, see openssl-cli.ts).
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { DerError } from '../../src/tls/x509/der.js';
import {
  CertificateError,
  CredentialsError,
  loadClientCredentials,
  parseCertificate,
  verifyServerChain,
} from '../../src/tls/x509/index.js';
import { makePki, opensslPkcs12, type Pki } from '../helpers/test-pki.js';
import { opensslCli } from './openssl-cli.js';

const openssl = opensslCli();

let pki: Pki;
let pfx: Buffer;
const PASS = 'fuzz';

beforeAll(() => {
  pki = makePki('rsa', 'fuzz');
  if (openssl.missing === undefined)
    pfx = opensslPkcs12({ key: pki.leaf.key, cert: pki.leaf, chain: [pki.intermediate], passphrase: PASS });
});

/** A mutation of a valid encoding: flip, overwrite, truncate, insert or delete bytes. */
function mutated(source: () => Uint8Array) {
  return fc
    .array(
      fc.oneof(
        fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
        fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
        fc.record({ op: fc.constant('cut' as const), at: fc.nat() }),
        fc.record({
          op: fc.constant('insert' as const),
          at: fc.nat(),
          bytes: fc.uint8Array({ maxLength: 8 }),
        }),
        fc.record({ op: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 8 }) }),
      ),
      { minLength: 1, maxLength: 4 },
    )
    .map((ops) => {
      let b = Buffer.from(source());
      for (const m of ops) {
        const at = b.length === 0 ? 0 : m.at % b.length;
        if (m.op === 'flip' && b.length > 0) b[at] = b[at]! ^ (1 << m.bit);
        else if (m.op === 'set' && b.length > 0) b[at] = m.value;
        else if (m.op === 'cut') b = b.subarray(0, at);
        else if (m.op === 'insert') b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
        else if (m.op === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.n)]);
      }
      return new Uint8Array(b);
    });
}

function assertVerdict(chain: Uint8Array[]): void {
  const r = verifyServerChain(chain, { ca: pki.root.pem, host: '127.0.0.1', now: Date.now() });
  expect(typeof r.authorized).toBe('boolean');
  if (r.authorized) expect(r.error).toBeUndefined();
  else expect(r.error).toBeInstanceOf(CertificateError);
  expect(Buffer.isBuffer(r.peerCertificate.raw)).toBe(true);
}

function assertCredentialsOutcome(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof CredentialsError)) throw err;
  }
}

describe('verifyServerChain fuzz', () => {
  it('random bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 600 }), { maxLength: 4 }), (chain) =>
        assertVerdict(chain),
      ),
      { numRuns: 500 },
    );
  });

  it('random DER-shaped bytes (a SEQUENCE header around junk)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (body) => {
        const der = new Uint8Array([0x30, 0x82, body.length >> 8, body.length & 0xff, ...body]);
        assertVerdict([der]);
      }),
      { numRuns: 500 },
    );
  });

  it('mutated leaf and intermediate: never authorized unless unchanged', () => {
    fc.assert(
      fc.property(
        mutated(() => pki.leaf.der),
        mutated(() => pki.intermediate.der),
        (leaf, int) => {
          assertVerdict([leaf, int]);
          assertVerdict([new Uint8Array(pki.leaf.der), int]);
          const r = verifyServerChain([leaf, new Uint8Array(pki.intermediate.der)], {
            ca: pki.root.pem,
            host: '127.0.0.1',
            now: Date.now(),
          });
          // A change to any signed byte must not pass.
          if (r.authorized)
            expect(Buffer.from(leaf).subarray(4, 4 + 500)).toEqual(pki.leaf.der.subarray(4, 4 + 500));
        },
      ),
      { numRuns: 400 },
    );
  });

  it('parseCertificate throws only DerError', () => {
    fc.assert(
      fc.property(
        mutated(() => pki.leaf.der),
        (der) => {
          try {
            parseCertificate(der);
          } catch (err) {
            expect(err).toBeInstanceOf(DerError);
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it('garbage trust anchors never throw', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
          mutated(() => pki.root.der),
        ),
        (ca) => {
          const r = verifyServerChain([new Uint8Array(pki.leaf.der)], {
            ca,
            host: '127.0.0.1',
            now: Date.now(),
          });
          expect(r.authorized).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('loadClientCredentials fuzz', () => {
  const pemOf = (label: string, b64: string) => `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
  const pemGarbage = fc
    .tuple(
      fc.constantFrom(
        'CERTIFICATE',
        'PRIVATE KEY',
        'RSA PRIVATE KEY',
        'EC PRIVATE KEY',
        'ENCRYPTED PRIVATE KEY',
      ),
      fc.uint8Array({ maxLength: 300 }),
    )
    .map(([label, bytes]) => pemOf(label, Buffer.from(bytes).toString('base64')));

  it('garbage PEM and DER for cert and key', () => {
    const input = fc.oneof(
      pemGarbage,
      fc.string(),
      fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
      mutated(() => Buffer.from(pki.leaf.key.pem)).map((b) => Buffer.from(b)),
    );
    fc.assert(
      fc.property(input, input, fc.option(fc.string()), (cert, key, passphrase) =>
        assertCredentialsOutcome(() =>
          loadClientCredentials({ cert, key, ...(passphrase === null ? {} : { passphrase }) }),
        ),
      ),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(
        mutated(() => Buffer.from(pki.leaf.key.pem)),
        (key) =>
          assertCredentialsOutcome(() =>
            loadClientCredentials({ cert: pki.leaf.pem, key: Buffer.from(key) }),
          ),
      ),
      { numRuns: 200 },
    );
  });

  it.skipIf(openssl.skip)('garbage and mutated PKCS#12', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 400 }),
          mutated(() => pfx),
        ),
        fc.constantFrom(PASS, 'other', undefined),
        (bytes, passphrase) =>
          assertCredentialsOutcome(() =>
            loadClientCredentials({
              pfx: Buffer.from(bytes),
              ...(passphrase === undefined ? {} : { passphrase }),
            }),
          ),
      ),
      { numRuns: 150 },
    );
  });
});
