import { CellstackError } from '../util/errors.js';

/** Stable codes of `PppError`: why a link could not come up, or went down. */
export type PppErrorCode =
  | 'AUTH_FAILED' // the peer rejected our credentials (PAP Authenticate-Nak, CHAP Failure)
  | 'AUTH_TIMEOUT' // the peer never answered our authentication
  | 'AUTH_UNSUPPORTED' // the peer insists on an authentication protocol we do not speak
  | 'NEGOTIATION_FAILED' // LCP or IPCP gave up (Max-Configure / Max-Failure, RFC 1661 4.6)
  | 'LOOPED_BACK' // our own Magic-Number came back (RFC 1661 6.4)
  | 'PEER_DEAD' // Echo-Requests went unanswered (keepalive)
  | 'PEER_TERMINATED' // the peer sent Terminate-Request
  | 'RENEGOTIATING' // the peer restarted LCP or IPCP: the link is negotiating again and may come back up
  | 'LOCAL_CLOSE' // close() was called
  | 'LINK_CLOSED' // the byte stream under the link ended (NO CARRIER, port closed)
  | 'NO_ADDRESS'; // IPCP opened without giving us an address

export class PppError extends CellstackError {
  declare readonly code: PppErrorCode;

  constructor(code: PppErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'PppError';
  }
}
