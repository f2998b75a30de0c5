export { DNS_PORT, Opcode, Rcode, RRClass, RRType } from './constants.js';
export { DnsError, type DnsErrorCode, type DnsSyscall } from './errors.js';
export {
  type DnsHeader,
  type DnsMessage,
  type DnsQuestion,
  type DnsRecord,
  type DnsRecordData,
  emitDnsMessage,
  emitDnsQuery,
  parseDnsMessage,
} from './message.js';
export {
  type LookupAllCallback,
  type LookupOneCallback,
  Resolver,
  type ResolverHost,
  type ResolverOptions,
  type StackLookup,
} from './resolver.js';
export {
  type ResolveResult,
  type ResolverAction,
  type ResolverConfig,
  ResolverCore,
  type ResolverStats,
} from './resolver-core.js';
