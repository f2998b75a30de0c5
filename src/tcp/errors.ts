import { CellstackError } from '../util/errors.js';

/** Socket errors carry Node's codes, so code written for net.Socket understands them. */
export type TcpErrorCode =
  | 'ECONNREFUSED'
  | 'ECONNRESET'
  | 'ETIMEDOUT'
  | 'EPIPE'
  | 'ENETUNREACH'
  | 'EHOSTUNREACH'
  | 'EADDRINUSE'
  | 'ECONNABORTED';

export class TcpError extends CellstackError {
  declare readonly code: TcpErrorCode;
  /** Node's errno-style name, like system errors carry. */
  readonly syscall: string;

  constructor(code: TcpErrorCode, message: string, syscall = 'connect') {
    super(code, message);
    this.name = 'TcpError';
    this.syscall = syscall;
  }
}
