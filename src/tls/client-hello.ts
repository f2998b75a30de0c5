import { isCbc } from './cipher-suites.js';
import type { ClientContext } from './client-context.js';
import { ContentType, HandshakeType, TLS10 } from './constants.js';
import { clientHelloExtensions } from './extensions.js';
import { frameHandshake } from './handshake.js';
import { emitClientHello } from './messages.js';
import { pickSession } from './resumption.js';

/**
 * Queues the ClientHello (RFC 5246 7.4.1.2): our suites in order, the extensions they need,
 * and a session to resume when the config has one that may be offered here.
 */
export function sendClientHello(ctx: ClientContext): void {
  const { config, suites } = ctx;
  const offered = pickSession(ctx);
  ctx.offered = offered;
  const tickets = config.sessionTickets ?? true;
  if (offered?.ticket)
    ctx.sentSessionId = Buffer.from(ctx.random(32)); // RFC 5077 3.4
  else if (offered) ctx.sentSessionId = offered.sessionId;
  const extensions = clientHelloExtensions({
    servername: config.servername,
    alpnProtocols: config.alpnProtocols ?? [],
    ecdhe: suites.some((s) => s.keyExchange !== 'RSA'),
    cbc: suites.some(isCbc),
    ticket: tickets ? (offered?.ticket ?? new Uint8Array(0)) : undefined,
  });
  ctx.offeredExtensions = new Set(extensions.map((e) => e.type));
  const recorded = config.recordedClientHello;
  let raw: Buffer;
  if (recorded) {
    raw = Buffer.from(recorded);
    ctx.clientRandom = raw.subarray(6, 38);
  } else {
    ctx.clientRandom = Buffer.from(ctx.random(32));
    raw = frameHandshake(
      HandshakeType.client_hello,
      emitClientHello({
        random: ctx.clientRandom,
        sessionId: ctx.sentSessionId,
        cipherSuites: suites.map((s) => s.id),
        extensions,
      }),
    );
  }
  ctx.transcript.add(raw);
  // The first record says TLS 1.0, as OpenSSL and most clients send it (RFC 5246 E.1).
  ctx.emitRecords(ContentType.handshake, raw, TLS10);
  ctx.state = 'wait_server_hello';
}
