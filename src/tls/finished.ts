import type { ClientContext } from './client-context.js';
import { sendChangeCipherSpecAndFinished } from './client-flight.js';
import { fail } from './errors.js';
import type { HandshakeMessage } from './handshake.js';
import { dropKeys, protectionFor } from './key-schedule.js';
import { constantTimeEqual, verifyData } from './prf.js';
import { sessionToKeep } from './resumption.js';
import { serializeSession } from './session.js';

/**
 * The end of the handshake: the server's ChangeCipherSpec (RFC 5246 7.1) switches our read
 * state, its Finished (RFC 5246 7.4.9) must verify; then we are connected (after our own
 * ChangeCipherSpec and Finished, in an abbreviated handshake) and hand out the session.
 */

export function onChangeCipherSpec(ctx: ClientContext, fragment: Buffer): void {
  if (ctx.state !== 'wait_change_cipher_spec')
    throw fail('unexpected_message', 'ChangeCipherSpec out of order', 'ccs_received_early');
  if (fragment.length !== 1 || fragment[0] !== 1)
    throw fail('decode_error', 'ChangeCipherSpec is not {1}', 'bad_change_cipher_spec');
  ctx.records.changeReadState(protectionFor(ctx, 'server'));
  ctx.state = 'wait_finished';
}

export function onFinished(ctx: ClientContext, m: HandshakeMessage): void {
  const suite = ctx.suite!;
  if (m.body.length !== 12) throw fail('decode_error', 'Finished is not 12 octets', 'bad_length');
  const expected = verifyData(suite.prf, ctx.master!, 'server', ctx.transcript.digest());
  if (!constantTimeEqual(expected, m.body))
    throw fail('decrypt_error', 'server Finished does not verify', 'digest_check_failed');
  ctx.transcript.add(m.raw);
  if (ctx.resumed) sendChangeCipherSpecAndFinished(ctx);
  ctx.state = 'connected';
  dropKeys(ctx);
  const ext = ctx.ext!;
  ctx.events.push({
    type: 'connected',
    result: {
      suite,
      alpnProtocol: ext.alpnProtocol,
      resumed: ctx.resumed,
      peerChain: ctx.peerChain,
      extendedMasterSecret: ext.extendedMasterSecret,
      encryptThenMac: ext.encryptThenMac,
      secureRenegotiation: ext.secureRenegotiation,
      certificateRequested: ctx.certRequest !== undefined,
      certificateSent: ctx.certificateSent,
    },
  });
  const session = sessionToKeep(ctx);
  if (session) ctx.events.push({ type: 'session', session: serializeSession(session) });
}
