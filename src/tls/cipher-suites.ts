import type { PrfHash } from './prf.js';

/** How the premaster secret is agreed and who signs: RFC 8422 (ECDHE) or RFC 5246 F.1.1.2 (RSA). */
export type KeyExchange = 'ECDHE_ECDSA' | 'ECDHE_RSA' | 'RSA';
export type BulkCipher = 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305' | 'aes-128-cbc' | 'aes-256-cbc';
export type MacAlgorithm = 'sha1' | 'sha256' | 'sha384';

export interface CipherSuite {
  id: number;
  /** OpenSSL's name, as `getCipher().name` gives it in node:tls. */
  name: string;
  /** The IANA name (`getCipher().standardName`). */
  standardName: string;
  keyExchange: KeyExchange;
  cipher: BulkCipher;
  /** AEAD suites: undefined (the AEAD authenticates); CBC suites: the HMAC (RFC 5246 6.2.3.1). */
  mac: MacAlgorithm | undefined;
  prf: PrfHash;
  /** enc_key_length. */
  keyLength: number;
  /** fixed_iv_length: the implicit part of the nonce (4 for GCM per RFC 5288, 12 for ChaCha20 per RFC 7905; 0 for CBC). */
  fixedIvLength: number;
  /** mac_key_length (0 for AEAD). */
  macKeyLength: number;
}

function suite(
  id: number,
  name: string,
  standardName: string,
  keyExchange: KeyExchange,
  cipher: BulkCipher,
  mac: MacAlgorithm | undefined,
  prf: PrfHash,
): CipherSuite {
  const keyLength = cipher === 'aes-128-gcm' || cipher === 'aes-128-cbc' ? 16 : 32;
  const fixedIvLength = cipher === 'chacha20-poly1305' ? 12 : mac === undefined ? 4 : 0;
  const macKeyLength = mac === 'sha1' ? 20 : mac === 'sha256' ? 32 : mac === 'sha384' ? 48 : 0;
  return { id, name, standardName, keyExchange, cipher, mac, prf, keyLength, fixedIvLength, macKeyLength };
}

/** AEAD suites, in the order we offer them: forward secrecy first, AES-128-GCM first. */
const AEAD_SUITES: CipherSuite[] = [
  suite(
    0xc02b,
    'ECDHE-ECDSA-AES128-GCM-SHA256',
    'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
    'ECDHE_ECDSA',
    'aes-128-gcm',
    undefined,
    'sha256',
  ),
  suite(
    0xc02f,
    'ECDHE-RSA-AES128-GCM-SHA256',
    'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
    'ECDHE_RSA',
    'aes-128-gcm',
    undefined,
    'sha256',
  ),
  suite(
    0xc02c,
    'ECDHE-ECDSA-AES256-GCM-SHA384',
    'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
    'ECDHE_ECDSA',
    'aes-256-gcm',
    undefined,
    'sha384',
  ),
  suite(
    0xc030,
    'ECDHE-RSA-AES256-GCM-SHA384',
    'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
    'ECDHE_RSA',
    'aes-256-gcm',
    undefined,
    'sha384',
  ),
  suite(
    0xcca9,
    'ECDHE-ECDSA-CHACHA20-POLY1305',
    'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256',
    'ECDHE_ECDSA',
    'chacha20-poly1305',
    undefined,
    'sha256',
  ),
  suite(
    0xcca8,
    'ECDHE-RSA-CHACHA20-POLY1305',
    'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256',
    'ECDHE_RSA',
    'chacha20-poly1305',
    undefined,
    'sha256',
  ),
  suite(
    0x009c,
    'AES128-GCM-SHA256',
    'TLS_RSA_WITH_AES_128_GCM_SHA256',
    'RSA',
    'aes-128-gcm',
    undefined,
    'sha256',
  ),
  suite(
    0x009d,
    'AES256-GCM-SHA384',
    'TLS_RSA_WITH_AES_256_GCM_SHA384',
    'RSA',
    'aes-256-gcm',
    undefined,
    'sha384',
  ),
];

/** CBC suites (RFC 5246, RFC 8422, RFC 5289): offered only when the caller enables them. */
const CBC_SUITES: CipherSuite[] = [
  suite(
    0xc023,
    'ECDHE-ECDSA-AES128-SHA256',
    'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256',
    'ECDHE_ECDSA',
    'aes-128-cbc',
    'sha256',
    'sha256',
  ),
  suite(
    0xc027,
    'ECDHE-RSA-AES128-SHA256',
    'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256',
    'ECDHE_RSA',
    'aes-128-cbc',
    'sha256',
    'sha256',
  ),
  suite(
    0xc024,
    'ECDHE-ECDSA-AES256-SHA384',
    'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384',
    'ECDHE_ECDSA',
    'aes-256-cbc',
    'sha384',
    'sha384',
  ),
  suite(
    0xc028,
    'ECDHE-RSA-AES256-SHA384',
    'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384',
    'ECDHE_RSA',
    'aes-256-cbc',
    'sha384',
    'sha384',
  ),
  suite(
    0xc009,
    'ECDHE-ECDSA-AES128-SHA',
    'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA',
    'ECDHE_ECDSA',
    'aes-128-cbc',
    'sha1',
    'sha256',
  ),
  suite(
    0xc013,
    'ECDHE-RSA-AES128-SHA',
    'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA',
    'ECDHE_RSA',
    'aes-128-cbc',
    'sha1',
    'sha256',
  ),
  suite(
    0xc00a,
    'ECDHE-ECDSA-AES256-SHA',
    'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA',
    'ECDHE_ECDSA',
    'aes-256-cbc',
    'sha1',
    'sha256',
  ),
  suite(
    0xc014,
    'ECDHE-RSA-AES256-SHA',
    'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA',
    'ECDHE_RSA',
    'aes-256-cbc',
    'sha1',
    'sha256',
  ),
  suite(0x003c, 'AES128-SHA256', 'TLS_RSA_WITH_AES_128_CBC_SHA256', 'RSA', 'aes-128-cbc', 'sha256', 'sha256'),
  suite(0x003d, 'AES256-SHA256', 'TLS_RSA_WITH_AES_256_CBC_SHA256', 'RSA', 'aes-256-cbc', 'sha256', 'sha256'),
  suite(0x002f, 'AES128-SHA', 'TLS_RSA_WITH_AES_128_CBC_SHA', 'RSA', 'aes-128-cbc', 'sha1', 'sha256'),
  suite(0x0035, 'AES256-SHA', 'TLS_RSA_WITH_AES_256_CBC_SHA', 'RSA', 'aes-256-cbc', 'sha1', 'sha256'),
];

const ALL = [...AEAD_SUITES, ...CBC_SUITES];
const BY_ID = new Map(ALL.map((s) => [s.id, s]));
const BY_NAME = new Map(
  ALL.flatMap((s) => [[s.name.toUpperCase(), s] as const, [s.standardName, s] as const]),
);

/** Every suite we implement, AEAD first. */
export const ALL_SUITES: readonly CipherSuite[] = ALL;

export function suiteById(id: number): CipherSuite | undefined {
  return BY_ID.get(id);
}

export function isCbc(s: CipherSuite): boolean {
  return s.mac !== undefined;
}

/**
 * The suites to offer. Without `ciphers`: the AEAD suites, then the CBC ones when
 * `enableCbc`. With `ciphers` (an OpenSSL-style list separated by `:`, `,` or spaces, of
 * OpenSSL or IANA names, plus the keywords `DEFAULT` (our AEAD list) and `CBC`): those we
 * implement, in the order given; names we do not implement are skipped, as OpenSSL does.
 * Returns an empty list when nothing matches (the caller reports it).
 */
export function selectSuites(ciphers: string | undefined, enableCbc: boolean): CipherSuite[] {
  if (ciphers === undefined) return enableCbc ? [...ALL] : [...AEAD_SUITES];
  const out: CipherSuite[] = [];
  const add = (s: CipherSuite) => {
    if (!out.includes(s)) out.push(s);
  };
  for (const raw of ciphers.split(/[:,\s]+/)) {
    const word = raw.trim();
    if (!word || word.startsWith('!') || word.startsWith('-') || word.startsWith('@')) continue;
    if (word === 'DEFAULT' || word === 'HIGH') {
      for (const s of AEAD_SUITES) add(s);
      if (enableCbc) for (const s of CBC_SUITES) add(s);
      continue;
    }
    if (word === 'CBC') {
      for (const s of CBC_SUITES) add(s);
      continue;
    }
    const s = BY_NAME.get(word.startsWith('TLS_') ? word : word.toUpperCase());
    if (s) add(s);
  }
  return out;
}
