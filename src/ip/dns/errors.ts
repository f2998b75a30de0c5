import { CellstackError } from '../../util/errors.js';

/**
 * Node's DNS error codes (`dns.NOTFOUND`...), so code written for `dns` understands ours:
 * ENOTFOUND (NXDOMAIN), ENODATA (no A record), ESERVFAIL, EREFUSED, EFORMERR, ENOTIMP (the
 * server's RCODE), EBADNAME (not a valid host name: nothing was sent), EBADRESP (an answer
 * that cannot be used, e.g. an endless CNAME chain), ECONNREFUSED (every server's port is
 * unreachable), ETIMEOUT (no server answered), ECANCELLED (the stack was closed), and
 * EAI_AGAIN (what `lookup` reports, like getaddrinfo, for temporary failures).
 */
export type DnsErrorCode =
  | 'ENOTFOUND'
  | 'ENODATA'
  | 'ESERVFAIL'
  | 'EREFUSED'
  | 'EFORMERR'
  | 'ENOTIMP'
  | 'EBADNAME'
  | 'EBADRESP'
  | 'ECONNREFUSED'
  | 'ETIMEOUT'
  | 'ECANCELLED'
  | 'EAI_AGAIN';

/** The operation, as Node names it: `queryA` for `resolve`, `getaddrinfo` for `lookup`. */
export type DnsSyscall = 'queryA' | 'getaddrinfo';

/** libuv's errno values for the codes getaddrinfo errors carry in Node. */
const ERRNO: Partial<Record<DnsErrorCode, number>> = { ENOTFOUND: -3008, EAI_AGAIN: -3001 };

export class DnsError extends CellstackError {
  declare readonly code: DnsErrorCode;
  readonly hostname: string;
  readonly syscall: DnsSyscall;
  /** Set for `getaddrinfo` errors, as Node's are. */
  readonly errno: number | undefined;

  /** The message reads as Node's (`queryA ENOTFOUND example.com`), with detail after it. */
  constructor(
    code: DnsErrorCode,
    hostname: string,
    syscall: DnsSyscall = 'queryA',
    detail?: string,
    options?: { cause?: unknown },
  ) {
    super(code, `${syscall} ${code} ${hostname}${detail ? ` (${detail})` : ''}`, options);
    this.name = 'DnsError';
    this.hostname = hostname;
    this.syscall = syscall;
    this.errno = syscall === 'getaddrinfo' ? ERRNO[code] : undefined;
  }
}
