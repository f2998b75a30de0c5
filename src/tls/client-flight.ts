import type { ClientContext } from './client-context.js';
import { ContentType, HandshakeType } from './constants.js';
import { rsaPremaster } from './key-exchange.js';
import { deriveMasterSecret, protectionFor } from './key-schedule.js';
import { emitCertificate, emitCertificateVerify, emitClientKeyExchange } from './messages.js';
import { verifyData } from './prf.js';
import { chooseClientScheme, signWith } from './signature.js';

/**
 * Our flight after ServerHelloDone (RFC 5246 7.3 figure 1): Certificate when asked,
 * ClientKeyExchange, CertificateVerify when we sent a certificate, ChangeCipherSpec and
 * Finished. Also our ChangeCipherSpec and Finished of an abbreviated handshake.
 */
export function sendClientFlight(ctx: ClientContext): void {
  const suite = ctx.suite!;
  // Certificate (RFC 5246 7.4.6): ours if it fits the request, else an empty list.
  let scheme: number | undefined;
  const creds = ctx.config.credentials;
  const request = ctx.certRequest;
  if (request) {
    const typeOk = creds && request.certificateTypes.includes(creds.keyType === 'rsa' ? 1 : 64);
    scheme =
      creds && typeOk
        ? chooseClientScheme(request.signatureSchemes, creds.keyType, creds.namedCurve)
        : undefined;
    ctx.sendHandshake(
      HandshakeType.certificate,
      emitCertificate(scheme !== undefined && creds ? creds.chain : []),
    );
    ctx.certificateSent = scheme !== undefined;
  }
  // ClientKeyExchange (RFC 5246 7.4.7).
  if (suite.keyExchange === 'RSA') {
    const { preMasterSecret, encrypted } = rsaPremaster(ctx.peerKey!, ctx.random);
    ctx.preMasterSecret = preMasterSecret;
    ctx.sendHandshake(HandshakeType.client_key_exchange, emitClientKeyExchange('rsa', encrypted));
  } else {
    ctx.sendHandshake(
      HandshakeType.client_key_exchange,
      emitClientKeyExchange('ecdhe', ctx.clientShare!.publicKey),
    );
  }
  deriveMasterSecret(ctx);
  // CertificateVerify over every message so far (RFC 5246 7.4.8).
  if (scheme !== undefined && creds) {
    const signature = signWith(scheme, creds.key, ctx.transcript.raw());
    ctx.sendHandshake(HandshakeType.certificate_verify, emitCertificateVerify(scheme, signature));
  }
  ctx.transcript.dropRaw();
  sendChangeCipherSpecAndFinished(ctx);
  ctx.state = ctx.ext!.sessionTicket ? 'wait_new_session_ticket' : 'wait_change_cipher_spec';
}

/** ChangeCipherSpec (RFC 5246 7.1), our write state switches, then Finished (RFC 5246 7.4.9) under it. */
export function sendChangeCipherSpecAndFinished(ctx: ClientContext): void {
  ctx.emitRecords(ContentType.change_cipher_spec, Buffer.from([1]));
  ctx.records.changeWriteState(protectionFor(ctx, 'client'));
  const vd = verifyData(ctx.suite!.prf, ctx.master!, 'client', ctx.transcript.digest());
  ctx.sendHandshake(HandshakeType.finished, vd);
}
