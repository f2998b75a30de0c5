import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type CipherSuite, type MacAlgorithm, selectSuites } from '../../src/tls/cipher-suites.js';
import { ContentType } from '../../src/tls/constants.js';
import {
  createProtection,
  type DirectionKeys,
  lucky13FillerLength,
} from '../../src/tls/record-protection.js';
import { connectedIllustratedCore, errorOf, illustratedServerKeys, record } from './helpers.js';

const suite = (name: string) => selectSuites(name, true)[0]!;
const CBC_SUITES = ['ECDHE-RSA-AES128-SHA', 'AES128-SHA256', 'ECDHE-ECDSA-AES256-SHA384'].map(suite);

function header(seq: bigint, type: number, length: number): Buffer {
  const b = Buffer.alloc(13);
  b.writeBigUInt64BE(seq, 0);
  b[8] = type;
  b.writeUInt16BE(0x0303, 9);
  b.writeUInt16BE(length, 11);
  return b;
}

interface Forge {
  /** Total padding octets minus one (the padding_length value); default the least that fits. */
  padLen?: number;
  badPadding?: boolean;
  badMac?: boolean;
}

/** Builds one record fragment by hand under `keys`, broken as `f` says. */
type Fragment = (s: CipherSuite, keys: DirectionKeys, seq: bigint, content: Buffer, f?: Forge) => Buffer;

/** A random IV, then `plain` (already padded) encrypted in CBC mode. */
function cbcEncrypt(s: CipherSuite, key: Buffer, plain: Buffer): Buffer {
  const iv = randomBytes(16);
  const c = createCipheriv(s.cipher, key, iv);
  c.setAutoPadding(false);
  return Buffer.concat([iv, c.update(plain), c.final()]);
}

/** A MAC-then-encrypt record fragment (RFC 5246 6.2.3.2), built by hand, possibly broken. */
const mteFragment: Fragment = (s, keys, seq, content, f = {}) => {
  const type = ContentType.application_data;
  const mac = createHmac(s.mac!, keys.macKey)
    .update(header(seq, type, content.length))
    .update(content)
    .digest();
  if (f.badMac) mac[mac.length - 1] = mac[mac.length - 1]! ^ 1;
  const least = (16 - ((content.length + mac.length + 1) % 16)) % 16;
  const padLen = f.padLen ?? least;
  if ((content.length + mac.length + padLen + 1) % 16 !== 0)
    throw new Error('padding does not fill the block');
  const padding = Buffer.alloc(padLen + 1, padLen);
  if (f.badPadding) padding[0] = padding[0]! ^ 0x40; // a padding octet, not padding_length
  return cbcEncrypt(s, keys.key, Buffer.concat([content, mac, padding]));
};

/** An encrypt-then-MAC fragment (RFC 7366 3), possibly with bad padding under a good MAC. */
const etmFragment: Fragment = (s, keys, seq, content, f = {}) => {
  const padLen = f.padLen ?? 15 - (content.length % 16);
  if ((content.length + padLen + 1) % 16 !== 0) throw new Error('padding does not fill the block');
  const padding = Buffer.alloc(padLen + 1, padLen);
  if (f.badPadding && padLen > 0) padding[0] = padding[0]! ^ 0x40;
  const body = cbcEncrypt(s, keys.key, Buffer.concat([content, padding]));
  const mac = createHmac(s.mac!, keys.macKey)
    .update(header(seq, ContentType.application_data, body.length))
    .update(body)
    .digest();
  if (f.badMac) mac[0] = mac[0]! ^ 1;
  return Buffer.concat([body, mac]);
};

function keysFor(s: CipherSuite): DirectionKeys {
  return { macKey: randomBytes(s.macKeyLength), key: randomBytes(s.keyLength), iv: Buffer.alloc(0) };
}

/** What a failed decryption reports, in a comparable form. */
function failure(fn: () => unknown): Record<string, unknown> {
  try {
    fn();
  } catch (err) {
    const e = err as Error & { code: string; alert: string; sent: boolean; level: string };
    return { name: e.name, code: e.code, alert: e.alert, sent: e.sent, level: e.level, message: e.message };
  }
  throw new Error('decryption did not fail');
}

describe('CBC decryption (Lucky13 countermeasures)', () => {
  it('the MAC work does not depend on the padding: content blocks + filler blocks are constant', () => {
    const geometry: Record<MacAlgorithm, { block: number; lengthField: number; mac: number }> = {
      sha1: { block: 64, lengthField: 8, mac: 20 },
      sha256: { block: 64, lengthField: 8, mac: 32 },
      sha384: { block: 128, lengthField: 16, mac: 48 },
    };
    for (const [alg, g] of Object.entries(geometry) as Array<[MacAlgorithm, (typeof geometry)['sha1']]>) {
      const innerBlocks = (n: number) => Math.ceil((g.block + 13 + n + 1 + g.lengthField) / g.block);
      const wrong: string[] = [];
      for (let n = 64; n <= 1024; n += 16) {
        const maxContent = n - 1 - g.mac;
        const want = innerBlocks(maxContent);
        for (let pad = 0; pad <= Math.min(255, maxContent); pad++) {
          const filler = lucky13FillerLength(alg, maxContent - pad, maxContent);
          const total = innerBlocks(maxContent - pad) + filler / g.block;
          if (filler % g.block !== 0 || filler > 512 || total !== want)
            wrong.push(`${alg} n=${n} pad=${pad}: filler ${filler}, ${total} blocks`);
        }
      }
      expect(wrong).toEqual([]);
    }
  });

  for (const s of CBC_SUITES) {
    describe(s.name, () => {
      const keys = keysFor(s);
      const mte = createProtection(s, keys, { encryptThenMac: false, random: randomBytes });
      const etm = createProtection(s, keys, { encryptThenMac: true, random: randomBytes });
      const content = Buffer.from('a record of application data, longer than one block');
      const type = ContentType.application_data;

      it('round trips, and takes any valid padding length (up to 255)', () => {
        for (const len of [0, 1, 15, 16, 17, 100, 1000]) {
          const data = randomBytes(len);
          expect(Buffer.from(mte.decrypt(type, 3n, mte.encrypt(type, 3n, data)))).toEqual(data);
          expect(Buffer.from(etm.decrypt(type, 3n, etm.encrypt(type, 3n, data)))).toEqual(data);
        }
        const least = (16 - ((content.length + s.macKeyLength + 1) % 16)) % 16;
        for (let padLen = least; padLen <= 255; padLen += 16) {
          expect(Buffer.from(mte.decrypt(type, 7n, mteFragment(s, keys, 7n, content, { padLen })))).toEqual(
            content,
          );
        }
      });

      it('MAC-then-encrypt: bad padding, a bad MAC, both, or padding that cannot fit give the identical alert', () => {
        const least = (16 - ((content.length + s.macKeyLength + 1) % 16)) % 16;
        const cases = [
          mteFragment(s, keys, 1n, content, { badPadding: true, padLen: least + 32 }),
          mteFragment(s, keys, 1n, content, { badMac: true, padLen: least + 32 }),
          mteFragment(s, keys, 1n, content, { badMac: true, badPadding: true, padLen: least + 32 }),
          mteFragment(s, keys, 1n, content, { badMac: true }),
          // The right MAC under another sequence number.
          mteFragment(s, keys, 2n, content),
        ];
        // padding_length larger than the record: change the last octet through the CBC IV trick
        // (flip the previous ciphertext block), which also garbles one block of the MAC.
        const tooLong = Buffer.from(mteFragment(s, keys, 1n, content));
        tooLong[tooLong.length - 17] = tooLong[tooLong.length - 17]! ^ 0xf0;
        cases.push(tooLong);
        const reports = cases.map((f) => failure(() => mte.decrypt(type, 1n, f)));
        expect(reports[0]).toEqual({
          name: 'TlsAlert',
          code: 'ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC',
          alert: 'bad_record_mac',
          sent: true,
          level: 'fatal',
          message: 'TLS alert bad_record_mac sent: record authentication failed',
        });
        for (const r of reports) expect(r).toEqual(reports[0]);
      });

      it('encrypt-then-MAC: a bad MAC and bad padding under a good MAC give the identical alert', () => {
        const badMac = failure(() =>
          etm.decrypt(type, 1n, etmFragment(s, keys, 1n, content, { badMac: true })),
        );
        const badPad = failure(() =>
          etm.decrypt(
            type,
            1n,
            etmFragment(s, keys, 1n, content, { badPadding: true, padLen: 15 - (content.length % 16) + 16 }),
          ),
        );
        expect(badPad).toEqual(badMac);
        expect(badMac['alert']).toBe('bad_record_mac');
      });
    });
  }

  it('the core: a record with bad padding and one with a bad MAC end the connection with the same bytes', () => {
    // The illustrated connection is ECDHE-RSA-AES128-SHA, MAC-then-encrypt.
    const { suite: s, keys: server } = illustratedServerKeys();
    expect(s.name).toBe('ECDHE-RSA-AES128-SHA');
    const run = (f: Forge) => {
      const core = connectedIllustratedCore();
      const content = Buffer.from('pong, and some more to fill two blocks');
      const least = (16 - ((content.length + 20 + 1) % 16)) % 16;
      // seq 1: the server's Finished was 0.
      core.input(
        record(
          ContentType.application_data,
          mteFragment(s, server, 1n, content, { padLen: least + 16, ...f }),
        ),
        2,
      );
      const err = errorOf(core.takeEvents());
      return {
        err: { code: err?.code, alert: err?.alert, message: err?.message },
        out: Buffer.concat(core.takeOutput()),
      };
    };
    const badPadding = run({ badPadding: true });
    const badMac = run({ badMac: true });
    expect(badPadding.err).toEqual({
      code: 'ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC',
      alert: 'bad_record_mac',
      message: 'TLS alert bad_record_mac sent: record authentication failed',
    });
    expect(badMac.err).toEqual(badPadding.err);
    // The same encrypted fatal alert (same IV from the scripted randomness), octet for octet.
    expect(badPadding.out.length).toBeGreaterThan(7);
    expect(badMac.out).toEqual(badPadding.out);
    expect(run({}).err.code).toBeUndefined();
  });
});
