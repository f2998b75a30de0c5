import { type KeyObject, X509Certificate } from 'node:crypto';
import { isCbc } from './cipher-suites.js';
import type { ClientContext } from './client-context.js';
import { sendClientFlight } from './client-flight.js';
import { TLS12 } from './constants.js';
import { fail, TlsAlert } from './errors.js';
import { checkServerExtensions } from './extensions.js';
import type { HandshakeMessage } from './handshake.js';
import { generateShare, groupByCode } from './key-exchange.js';
import {
  parseCertificate,
  parseCertificateRequest,
  parseServerHello,
  parseServerKeyExchange,
} from './messages.js';
import { acceptResumption } from './resumption.js';
import { verifySignature } from './signature.js';
import { leafKeyUsageAllows, parsePeerCertificate } from './x509/verify.js';

/**
 * The server's first flight (RFC 5246 7.3 figure 1): ServerHello, Certificate,
 * ServerKeyExchange (ECDHE), CertificateRequest, ServerHelloDone. Each handler checks its
 * message, hashes it, and moves the state on; ServerHelloDone hands over to our flight.
 */

/** ServerHello (RFC 5246 7.4.1.3): TLS 1.2, a suite and extensions we offered, no compression; a resumption or a full handshake. */
export function onServerHello(ctx: ClientContext, m: HandshakeMessage): void {
  const sh = parseServerHello(m.body);
  if (sh.version !== TLS12) {
    throw fail('protocol_version', `server chose version ${sh.version.toString(16)}`, 'unsupported_protocol');
  }
  const suite = ctx.suites.find((s) => s.id === sh.cipherSuite);
  if (!suite) {
    throw fail(
      'illegal_parameter',
      `server chose suite 0x${sh.cipherSuite.toString(16)}, which we did not offer`,
      'wrong_cipher_returned',
    );
  }
  if (sh.compressionMethod !== 0)
    throw fail('illegal_parameter', 'server chose compression', 'unsupported_compression_algorithm');
  const ext = checkServerExtensions(sh.extensions, ctx.offeredExtensions, ctx.config.alpnProtocols ?? []);
  if (!isCbc(suite)) ext.encryptThenMac = false; // RFC 7366 3: meaningless for AEAD
  ctx.suite = suite;
  ctx.ext = ext;
  ctx.serverRandom = Buffer.from(sh.random);
  ctx.serverSessionId = Buffer.from(sh.sessionId);
  ctx.records.lockVersion(TLS12);
  ctx.transcript.add(m.raw);
  ctx.transcript.start(suite.prf);
  if (acceptResumption(ctx, sh.sessionId, suite, ext)) {
    // Abbreviated handshake (RFC 5246 7.3 figure 2).
    ctx.transcript.dropRaw();
    ctx.state = ext.sessionTicket ? 'wait_new_session_ticket' : 'wait_change_cipher_spec';
    return;
  }
  if (!ext.extendedMasterSecret && ctx.requireEms) {
    throw fail(
      'handshake_failure',
      'the server does not support the extended master secret (RFC 7627)',
      'extended_master_secret_required',
    );
  }
  ctx.state = 'wait_certificate';
}

/** Certificate (RFC 5246 7.4.2): a leaf whose key fits the suite, then the caller's chain check. */
export function onCertificate(ctx: ClientContext, m: HandshakeMessage): void {
  const chain = parseCertificate(m.body);
  ctx.transcript.add(m.raw);
  if (chain.length === 0)
    throw fail('handshake_failure', 'the server sent no certificate', 'no_certificate_returned');
  // Our copies: the chain check and the keyUsage check see these same buffers, and parse
  // each certificate once between them (parsePeerCertificate).
  const peerChain = chain.map((c) => Buffer.from(c));
  let key: KeyObject;
  try {
    key = parsePeerCertificate(peerChain[0]!)?.publicKey ?? new X509Certificate(peerChain[0]!).publicKey;
  } catch (err) {
    throw new TlsAlert('bad_certificate', {
      sent: true,
      detail: 'the leaf certificate does not parse',
      cause: err,
    });
  }
  const kx = ctx.suite!.keyExchange;
  const want = kx === 'ECDHE_ECDSA' ? 'ec' : 'rsa';
  if (key.asymmetricKeyType !== want) {
    throw fail(
      'unsupported_certificate',
      `${kx} needs an ${want.toUpperCase()} certificate`,
      'wrong_certificate_type',
    );
  }
  ctx.peerChain = peerChain;
  ctx.peerKey = key;
  const rejection = ctx.config.verifyPeer?.(ctx.peerChain);
  if (rejection) {
    ctx.terminate(rejection.error, rejection.alert);
    return;
  }
  ctx.state = kx === 'RSA' ? 'wait_certificate_request_or_done' : 'wait_server_key_exchange';
}

/** ServerKeyExchange (RFC 8422 5.4): a curve we offered, signed by the certificate's key; makes our share. */
export function onServerKeyExchange(ctx: ClientContext, m: HandshakeMessage): void {
  const ske = parseServerKeyExchange(m.body);
  const group = groupByCode(ske.namedCurve);
  if (!group)
    throw fail(
      'illegal_parameter',
      `server chose curve ${ske.namedCurve}, which we did not offer`,
      'wrong_curve',
    );
  // The signature covers ClientHello.random + ServerHello.random + ServerECDHParams (RFC 8422 5.4).
  verifySignature(
    ske.scheme,
    ctx.peerKey!,
    Buffer.concat([ctx.clientRandom, ctx.serverRandom, ske.params]),
    ske.signature,
  );
  const share = (ctx.config.keyShare ?? generateShare)(group);
  ctx.preMasterSecret = share.computeSecret(ske.publicKey);
  ctx.clientShare = share;
  ctx.transcript.add(m.raw);
  ctx.state = 'wait_certificate_request_or_done';
}

/** CertificateRequest (RFC 5246 7.4.4): remembered for our Certificate and CertificateVerify. */
export function onCertificateRequest(ctx: ClientContext, m: HandshakeMessage): void {
  ctx.certRequest = parseCertificateRequest(m.body);
  ctx.transcript.add(m.raw);
  ctx.state = 'wait_server_hello_done';
}

/** ServerHelloDone (RFC 5246 7.4.5): the flight is complete; check the certificate's use, then answer. */
export function onServerHelloDone(ctx: ClientContext, m: HandshakeMessage): void {
  if (m.body.length !== 0) throw fail('decode_error', 'ServerHelloDone is not empty');
  ctx.transcript.add(m.raw);
  checkKeyUsage(ctx);
  sendClientFlight(ctx);
}

/**
 * The leaf's keyUsage, when it has one, must allow what the key exchange does with its key
 * (RFC 5246 7.4.2, RFC 8422 5.3, RFC 5280 4.2.1.3): digitalSignature to sign the ECDHE
 * parameters, keyEncipherment to encrypt the RSA premaster secret. Checked once the server's
 * flight is complete, where OpenSSL and BoringSSL check it, before anything of ours goes out.
 * The alert is unsupported_certificate, as for a certificate of the wrong key type and for
 * the chain check's INVALID_PURPOSE; the code is BoringSSL's KEY_USAGE_BIT_INCORRECT. (OpenSSL
 * 3.0 checks EC leaves only, and sends handshake_failure with BAD_ECC_CERT.)
 */
function checkKeyUsage(ctx: ClientContext): void {
  const use = ctx.suite!.keyExchange === 'RSA' ? 'keyEncipherment' : 'digitalSignature';
  const leaf = ctx.peerChain[0];
  if (leaf === undefined || leafKeyUsageAllows(leaf, use)) return;
  throw fail(
    'unsupported_certificate',
    `the server certificate's keyUsage does not allow ${use} (needed by ${ctx.suite!.keyExchange})`,
    'key_usage_bit_incorrect',
  );
}
