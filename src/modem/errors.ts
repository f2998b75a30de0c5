import { CellstackError } from '../util/errors.js';

/**
 * Stable codes of `ModemError`. Programs switch on `code`; `cause` carries the 27.007 cause
 * number of a `+CME ERROR` / `+CMS ERROR` when there is one.
 */
export type ModemErrorCode =
  | 'ERROR' // plain ERROR final result code
  | 'CME_ERROR' // +CME ERROR: <err>
  | 'CMS_ERROR' // +CMS ERROR: <err>
  | 'NO_CARRIER'
  | 'BUSY'
  | 'NO_ANSWER'
  | 'NO_DIALTONE'
  | 'TIMEOUT' // a command got no final result code in time
  | 'CANCELLED'
  | 'CLOSED' // the port closed under us
  | 'BUSY_CHANNEL' // the channel is in data mode, AT commands cannot be sent
  | 'NOT_RESPONDING' // synchronisation failed
  | 'SIM_NOT_INSERTED'
  | 'SIM_FAILURE'
  | 'SIM_PIN_REQUIRED'
  | 'SIM_PUK_REQUIRED'
  | 'SIM_LOCKED' // another lock (PH-SIM PIN, network personalisation...) we cannot open
  | 'PIN_REJECTED'
  | 'PIN_LAST_ATTEMPT'
  | 'PIN_RETRIES_UNKNOWN'
  | 'REGISTRATION_DENIED'
  | 'REGISTRATION_TIMEOUT'
  | 'ATTACH_FAILED'
  | 'DIAL_FAILED'
  | 'HANGUP_FAILED'
  | 'UNEXPECTED_RESPONSE'
  | 'PORT_NOT_FOUND'
  | 'BAD_CONFIG';

export class ModemError extends CellstackError {
  declare readonly code: ModemErrorCode;
  /**
   * Numeric cause of `+CME ERROR` (27.007 clause 9.2) or `+CMS ERROR` (27.005 clause 3.2.5),
   * when the modem gave one (as a number, or as a text we know).
   */
  readonly cmeCause?: number;
  /** The command that failed, with secrets already redacted. */
  readonly command?: string;

  constructor(
    code: ModemErrorCode,
    message: string,
    details: { cause?: number; command?: string; error?: unknown } = {},
  ) {
    super(code, message, details.error === undefined ? undefined : { cause: details.error });
    this.name = 'ModemError';
    if (details.cause !== undefined) this.cmeCause = details.cause;
    if (details.command !== undefined) this.command = details.command;
  }
}
