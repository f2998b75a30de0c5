import { CredentialsError } from '../../tls/x509/errors.js';
import type { RecoveryLevel } from './options.js';

/** The step of the chain that was running when something failed. */
export type Stage = 'modem' | 'dial' | 'transport' | 'connected';

export interface FailureContext {
  stage: Stage;
  /** Whether the PPP link was still up when the failure was seen (always true without a modem). */
  linkUp: boolean;
  /** Whether the modem's port is still open (always true without a modem). */
  portOpen: boolean;
  /** Whether there is a modem at all (false: this host's own network). */
  cellular: boolean;
}

/** What to do about a failure: start again at a level, or stop. */
export type Verdict = { retry: true; level: RecoveryLevel } | { retry: false };

/**
 * Codes that no retry can fix without a person: a SIM that needs its PUK or would be locked by
 * another PIN attempt, a PIN it refused, a broken configuration, a store another process holds.
 * Retrying these would at best loop and at worst lock the SIM (27.007 +CPIN: three wrong PINs).
 */
const FATAL = new Set([
  'SIM_PUK_REQUIRED',
  'SIM_PIN_REQUIRED',
  'SIM_LOCKED',
  'SIM_NOT_INSERTED',
  'PIN_REJECTED',
  'PIN_LAST_ATTEMPT',
  'PIN_RETRIES_UNKNOWN',
  'BAD_CONFIG',
  'ESTORELOCKED',
  'ESTOREVERSION',
]);

/** AT-level failures that mean the modem itself stopped answering: reopen the port. */
const MODEM_GONE = new Set(['TIMEOUT', 'NOT_RESPONDING', 'CLOSED', 'PORT_NOT_FOUND', 'BUSY_CHANNEL']);

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Decides how far down the chain to walk after `error`: only as far as needed. A broken MQTT,
 * TLS or TCP connection over a healthy link reconnects the transport; a link that went down
 * redials; a modem that stopped answering (or whose port vanished) is reopened. Failures while
 * the modem is being set up restart the modem stage. Escalation after repeated failures at one
 * level is the caller's (counted per level).
 */
export function classify(error: unknown, ctx: FailureContext): Verdict {
  const code = codeOf(error);
  if (error instanceof CredentialsError) return { retry: false };
  if (code !== undefined && FATAL.has(code)) return { retry: false };
  if (!ctx.cellular) return { retry: true, level: 'transport' };
  if (!ctx.portOpen) return { retry: true, level: 'modem' };
  switch (ctx.stage) {
    case 'modem':
      return { retry: true, level: 'modem' };
    case 'dial':
      return { retry: true, level: code !== undefined && MODEM_GONE.has(code) ? 'modem' : 'link' };
    case 'transport':
    case 'connected':
      return { retry: true, level: ctx.linkUp ? 'transport' : 'link' };
  }
}
