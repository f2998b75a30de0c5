import type { CipherSuite } from './cipher-suites.js';
import type { ClientContext } from './client-context.js';
import { fail } from './errors.js';
import { type ServerExtensions, sniName } from './extensions.js';
import type { HandshakeMessage } from './handshake.js';
import { parseNewSessionTicket } from './messages.js';
import { parseSession, type TlsSession } from './session.js';

/**
 * Session resumption (RFC 5246 7.3 figure 2 by session ID, RFC 5077 by ticket): which session
 * to offer, whether the server took it, its NewSessionTicket, and the session to keep after
 * the handshake.
 */

/** The session from the config, if it can be offered here: a suite we offer, EMS as required, the same server name, a live ticket. */
export function pickSession(ctx: ClientContext): TlsSession | undefined {
  const { config } = ctx;
  if (!config.session) return undefined;
  const s = parseSession(config.session);
  if (!s) return undefined;
  if (!ctx.suites.some((x) => x.id === s.cipherSuite)) return undefined;
  if (ctx.requireEms && !s.extendedMasterSecret) return undefined;
  const name = sniName(config.servername) ?? '';
  if (s.servername.toLowerCase() !== name.toLowerCase()) return undefined;
  if (s.ticket && s.ticketLifetime > 0 && ctx.now > s.createdAt + s.ticketLifetime * 1000) return undefined;
  if (!s.ticket && s.sessionId.length === 0) return undefined;
  return s;
}

/**
 * After ServerHello: true when the server resumed the offered session (it echoed the session
 * ID we sent), after checking that it kept the session's suite and extended master secret;
 * the abbreviated handshake then takes the session's master secret and chain.
 */
export function acceptResumption(
  ctx: ClientContext,
  serverSessionId: Buffer,
  suite: CipherSuite,
  ext: ServerExtensions,
): boolean {
  const s = ctx.offered;
  if (!s || ctx.sentSessionId.length === 0 || !serverSessionId.equals(ctx.sentSessionId)) return false;
  if (suite.id !== s.cipherSuite)
    throw fail('illegal_parameter', 'resumed session with another suite', 'old_session_cipher_not_returned');
  if (ext.extendedMasterSecret !== s.extendedMasterSecret) {
    // RFC 7627 5.3: the resumed and original sessions must agree.
    throw fail(
      'handshake_failure',
      'extended_master_secret differs from the resumed session',
      'inconsistent_extms',
    );
  }
  ctx.resumed = true;
  ctx.master = s.masterSecret;
  ctx.peerChain = s.peerChain;
  return true;
}

/** NewSessionTicket (RFC 5077 3.3), just before the server's ChangeCipherSpec. An empty ticket is none. */
export function onNewSessionTicket(ctx: ClientContext, m: HandshakeMessage): void {
  const t = parseNewSessionTicket(m.body);
  ctx.transcript.add(m.raw);
  if (t.ticket.length > 0) ctx.newTicket = { ticket: t.ticket, lifetime: t.lifetimeHint };
  ctx.state = 'wait_change_cipher_spec';
}

/**
 * The session to hand out once connected: after a full handshake (with the server's session
 * ID or a ticket), or after a resumption that brought a new ticket; undefined otherwise.
 */
export function sessionToKeep(ctx: ClientContext): TlsSession | undefined {
  const ticket = ctx.newTicket;
  if (ctx.resumed && !ticket) return undefined;
  const sessionId = ctx.resumed ? ctx.sentSessionId : ctx.serverSessionId;
  if (!ticket && sessionId.length === 0) return undefined;
  return {
    cipherSuite: ctx.suite!.id,
    sessionId,
    masterSecret: ctx.master!,
    extendedMasterSecret: ctx.ext!.extendedMasterSecret,
    ticket: ticket?.ticket,
    ticketLifetime: ticket?.lifetime ?? 0,
    createdAt: ctx.now,
    servername: sniName(ctx.config.servername) ?? '',
    alpnProtocol: ctx.ext!.alpnProtocol,
    peerChain: ctx.peerChain,
  };
}
