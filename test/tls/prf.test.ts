import { describe, expect, it } from 'vitest';
import { extendedMasterSecret, keyBlock, masterSecret, prf, verifyData } from '../../src/tls/prf.js';

const hex = (s: string) => Buffer.from(s.replace(/[\s:]/g, ''), 'hex');

/**
 * The TLS 1.2 PRF test vectors posted to the IETF TLS list (2009) and carried in OpenSSL's
 * evpkdf_tls12_prf.txt; checked again with `openssl kdf -keylen N -kdfopt digest:SHA256
 * -kdfopt hexsecret:.. -kdfopt seed:"test label" -kdfopt hexseed:.. TLS1-PRF`.
 */
const VECTORS = [
  {
    hash: 'sha256' as const,
    secret: '9bbe436ba940f017b17652849a71db35',
    seed: 'a0ba9f936cda311827a6f796ffd5198c',
    out:
      'e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af' +
      '0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff701' +
      '87347b66',
  },
  {
    hash: 'sha384' as const,
    secret: 'b80b733d6ceefcdc71566ea48e5567df',
    seed: 'cd665cf6a8447dd6ff8b27555edb7465',
    out:
      '7b0c18e9ced410ed1804f2cfa34a336a1c14dffb4900bb5fd7942107e81c83cde9ca0faa60be9fe34f82b1233c9146a0' +
      'e534cb400fed2700884f9dc236f80edd8bfa961144c9e8d792eca722a7b32fc3d416d473ebc2c5fd4abfdad05d918425' +
      '9b5bf8cd4d90fa0d31e2dec479e4f1a26066f2eea9a69236a3e52655c9e9aee691c8f3a26854308d5eaa3be85e099070' +
      '3d73e56f',
  },
];

describe('TLS 1.2 PRF (RFC 5246 5)', () => {
  for (const v of VECTORS) {
    it(`P_${v.hash.toUpperCase()} matches the published vector`, () => {
      const out = hex(v.out);
      expect(prf(v.hash, hex(v.secret), 'test label', hex(v.seed), out.length).toString('hex')).toBe(v.out);
      // Shorter outputs are prefixes.
      expect(prf(v.hash, hex(v.secret), 'test label', hex(v.seed), 13)).toEqual(out.subarray(0, 13));
    });
  }

  it('derives 48-octet master secrets, a key block and 12-octet verify_data', () => {
    const pms = Buffer.alloc(48, 1);
    const cr = Buffer.alloc(32, 2);
    const sr = Buffer.alloc(32, 3);
    const ms = masterSecret('sha256', pms, cr, sr);
    expect(ms).toHaveLength(48);
    expect(ms).toEqual(prf('sha256', pms, 'master secret', Buffer.concat([cr, sr]), 48));
    const ems = extendedMasterSecret('sha384', pms, Buffer.alloc(48, 4));
    expect(ems).toEqual(prf('sha384', pms, 'extended master secret', Buffer.alloc(48, 4), 48));
    // The key block takes server_random first (RFC 5246 6.3).
    expect(keyBlock('sha256', ms, cr, sr, 40)).toEqual(
      prf('sha256', ms, 'key expansion', Buffer.concat([sr, cr]), 40),
    );
    expect(verifyData('sha256', ms, 'client', Buffer.alloc(32))).toHaveLength(12);
    expect(verifyData('sha256', ms, 'client', Buffer.alloc(32))).not.toEqual(
      verifyData('sha256', ms, 'server', Buffer.alloc(32)),
    );
  });
});
