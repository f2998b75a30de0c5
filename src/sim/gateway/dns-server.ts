import { Opcode, Rcode, RRClass, RRType } from '../../ip/dns/constants.js';
import {
  type DnsMessage,
  type DnsQuestion,
  type DnsRecord,
  emitDnsMessage,
  parseDnsMessage,
} from '../../ip/dns/message.js';
import { MalformedPacket } from '../../util/errors.js';
import { normalizeName } from './config.js';

/**
 * The gateway's DNS server: an authoritative answer from a static map, nothing forwarded
 * (RFC 1035 section 4, RFC 2308 negative answers). The choices:
 * - an A question (class IN or ANY) for a mapped name: NOERROR, AA, one A record;
 * - any other type for a mapped name: NOERROR with no answer (NODATA, RFC 2308 2.2), so a
 *   resolver that asks AAAA first falls back to A instead of giving up;
 * - a name not in the map: NXDOMAIN (RFC 2308 2.1);
 *   negative answers carry an SOA in the authority section whose MINIMUM is the negative TTL
 *   (RFC 2308 3), owned by the root of this private namespace;
 * - an opcode other than QUERY or a class other than IN/ANY: NOTIMP (RFC 1035 4.1.1);
 * - not exactly one question: FORMERR;
 * - a response (QR set) or octets that do not parse: no answer at all (dropped, counted).
 * Recursion is never available (RA clear); RD is copied from the query (RFC 1035 4.1.1).
 */
export type DnsOutcome = 'answer' | 'nodata' | 'nxdomain' | 'notimp' | 'formerr' | 'dropped';

export interface DnsReply {
  outcome: DnsOutcome;
  /** The response to send back, unless the query was dropped. */
  bytes: Uint8Array | undefined;
}

const CLASS_ANY = 255;

export function answerDnsQuery(
  query: Uint8Array,
  names: ReadonlyMap<string, string>,
  ttlSeconds: number,
): DnsReply {
  let msg: DnsMessage;
  try {
    msg = parseDnsMessage(query);
  } catch (err) {
    if (!(err instanceof MalformedPacket)) throw err;
    return { outcome: 'dropped', bytes: undefined };
  }
  if (msg.header.qr) return { outcome: 'dropped', bytes: undefined };
  const reply = (rcode: number, questions: DnsQuestion[], answers: DnsRecord[] = [], aa = true) =>
    emitDnsMessage({
      header: {
        id: msg.header.id,
        qr: true,
        opcode: msg.header.opcode,
        aa,
        tc: false,
        rd: msg.header.rd,
        ra: false,
        z: 0,
        rcode,
      },
      questions,
      answers,
      authorities:
        rcode === Rcode.NXDomain || (rcode === Rcode.NoError && answers.length === 0)
          ? [soa(ttlSeconds)]
          : [],
      additionals: [],
    });
  if (msg.header.opcode !== Opcode.QUERY)
    return { outcome: 'notimp', bytes: reply(Rcode.NotImp, msg.questions.slice(0, 1), [], false) };
  const q = msg.questions[0];
  if (msg.questions.length !== 1 || !q)
    return { outcome: 'formerr', bytes: reply(Rcode.FormErr, [], [], false) };
  if (q.class !== RRClass.IN && q.class !== CLASS_ANY)
    return { outcome: 'notimp', bytes: reply(Rcode.NotImp, [q], [], false) };
  const address = names.get(normalizeName(q.name));
  if (address === undefined) return { outcome: 'nxdomain', bytes: reply(Rcode.NXDomain, [q]) };
  if (q.type !== RRType.A && q.type !== 255) return { outcome: 'nodata', bytes: reply(Rcode.NoError, [q]) };
  const a: DnsRecord = {
    name: q.name,
    type: RRType.A,
    class: RRClass.IN,
    ttl: ttlSeconds,
    data: { kind: 'A', address },
  };
  return { outcome: 'answer', bytes: reply(Rcode.NoError, [q], [a]) };
}

/** The SOA of this private namespace's root; MINIMUM (and the TTL) give the negative TTL. */
function soa(ttl: number): DnsRecord {
  return {
    name: '',
    type: RRType.SOA,
    class: RRClass.IN,
    ttl,
    data: {
      kind: 'SOA',
      mname: 'gateway.cellstack.invalid',
      rname: 'hostmaster.cellstack.invalid',
      serial: 1,
      refresh: 3600,
      retry: 600,
      expire: 86_400,
      minimum: ttl,
    },
  };
}
