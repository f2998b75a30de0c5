/** DNS parameters (RFC 1035 section 3.2 and 4.1.1; IANA "Domain Name System (DNS) Parameters"). */

/** Resource record TYPEs this stub reads or names (RFC 1035 3.2.2, RFC 3596, RFC 6891). */
export const RRType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  OPT: 41,
} as const;

/** CLASS values (RFC 1035 3.2.4). */
export const RRClass = { IN: 1 } as const;

/** OPCODE (RFC 1035 4.1.1): only standard queries are sent. */
export const Opcode = { QUERY: 0 } as const;

/** RCODE (RFC 1035 4.1.1). */
export const Rcode = {
  NoError: 0,
  FormErr: 1,
  ServFail: 2,
  NXDomain: 3,
  NotImp: 4,
  Refused: 5,
} as const;

/** The well-known port of a name server (RFC 1035 4.2). */
export const DNS_PORT = 53;

/** Limits of RFC 1035 2.3.4: a label is at most 63 octets, a name at most 255 on the wire. */
export const MAX_LABEL_OCTETS = 63;
export const MAX_NAME_OCTETS = 255;
