import { randomInt } from 'node:crypto';
import { MalformedPacket } from '../../util/errors.js';
import { formatIpv4, isIpv4, parseIpv4 } from '../../util/ipv4.js';
import { DnsCache } from './cache.js';
import { DNS_PORT, Opcode, Rcode, RRClass, RRType } from './constants.js';
import { DnsError, type DnsErrorCode } from './errors.js';
import { type DnsMessage, type DnsRecord, emitDnsQuery, parseDnsMessage } from './message.js';
import { normalizeHostname, sameName } from './name.js';

/** Tunables of the stub resolver; every one has a default. */
export interface ResolverConfig {
  /** Timeout of the first try, ms; it doubles with each round over the servers. Default 1000. */
  timeoutMs?: number;
  /** Tries per server: rounds over the server list (primary, secondary, primary...). Default 3. */
  attempts?: number;
  /** Limit for a whole lookup, CNAME re-queries and TCP included, ms. Default 15000. */
  overallTimeoutMs?: number;
  /** Limit for the TCP retry after a truncated answer, ms. Default 5000. */
  tcpTimeoutMs?: number;
  /** Longest CNAME chain followed. Default 8. */
  maxCnameChain?: number;
  /** Cached names, at most. Default 256; 0 disables the cache. */
  cacheSize?: number;
  /** TTLs are capped at this many seconds. Default 3600. */
  maxTtl?: number;
  /** Seconds a negative answer is cached when it carries no SOA (RFC 2308 5). Default 30. */
  negativeTtl?: number;
  /** The servers' port. Default 53. */
  port?: number;
  /** Picks an integer in [min, max) for query IDs: node:crypto's randomInt unless injected. */
  random?: (min: number, max: number) => number;
}

/** What `resolve` gives: the name asked, its IPv4 addresses, the CNAMEs followed, the TTL in seconds. */
export interface ResolveResult {
  name: string;
  addresses: string[];
  /** The canonical names passed through, in order (empty without CNAMEs). */
  cname: string[];
  /** Seconds the answer stays valid: the smallest TTL of the chain, capped; 0 for an address literal. */
  ttl: number;
}

export interface ResolverStats {
  /** `resolve` calls. */
  lookups: number;
  cacheHits: number;
  /** Queries sent over UDP, first tries and retries. */
  udpQueries: number;
  /** Retransmissions (to the same or the next server). */
  retries: number;
  /** Queries retried over TCP after a truncated answer. */
  tcpQueries: number;
  /** Answers accepted (matched to a query). */
  responses: number;
  /** Answers that did not parse. */
  malformed: number;
  /** Datagrams from an address or port we did not query. */
  wrongSource: number;
  /** Answers with another ID or question, or not answers. */
  mismatched: number;
  /** Arrivals for a transaction that is over. */
  stale: number;
  truncated: number;
  /** ICMP Port Unreachable from a server (or TCP refused). */
  refused: number;
  /** Tries that timed out. */
  timeouts: number;
}

export type ResolverAction =
  /** Send `message` over UDP from transaction `tx`'s own socket (a fresh random port). */
  | { type: 'send-udp'; tx: number; server: number; port: number; message: Uint8Array }
  /** Open a TCP connection for `tx` and send `message` with its 2-octet length (RFC 1035 4.2.2). */
  | { type: 'send-tcp'; tx: number; server: number; port: number; message: Uint8Array }
  /** Transaction `tx` is over: close its socket. */
  | { type: 'end'; tx: number }
  | { type: 'resolved'; key: number; result: ResolveResult }
  | { type: 'failed'; key: number; error: DnsError };

export type ResolveStart =
  | { type: 'done'; result: ResolveResult }
  | { type: 'failed'; error: DnsError }
  /** Wait for `resolved`/`failed` with this key (several callers may share one key). */
  | { type: 'pending'; key: number };

interface Lookup {
  key: number;
  /** The name asked, normalized. */
  name: string;
  servers: number[];
  deadline: number;
  cname: string[];
  /** Smallest TTL seen on the way, seconds. */
  ttl: number;
  /** Servers not to ask again in this question: they refused or failed it. */
  dead: Set<number>;
  /** Servers whose port was unreachable (ICMP, or TCP refused). */
  refused: Set<number>;
  rcodeError: DnsErrorCode | undefined;
  /** Position in the try schedule (round * servers + server index) of the last try. */
  step: number;
  tx: Tx | undefined;
}

interface Tx {
  id: number;
  lookup: Lookup;
  transport: 'udp' | 'tcp';
  /** The DNS ID. */
  qid: number;
  qname: string;
  message: Uint8Array;
  /** The server of the current try. */
  server: number;
  /** Every server this transaction's query went to: answers from them are accepted. */
  sentTo: Set<number>;
  deadline: number;
}

const RCODE_ERRORS: Record<number, DnsErrorCode> = {
  [Rcode.FormErr]: 'EFORMERR',
  [Rcode.ServFail]: 'ESERVFAIL',
  [Rcode.NotImp]: 'ENOTIMP',
  [Rcode.Refused]: 'EREFUSED',
};

/** Which server failure the final error reports when several happened. */
const RCODE_RANK: DnsErrorCode[] = ['ESERVFAIL', 'EREFUSED', 'ENOTIMP', 'EFORMERR', 'EBADRESP'];

/**
 * A stub resolver (RFC 1034 5.3.1, RFC 1035 7) for A records, sans-I/O: the shell feeds it
 * the datagrams, TCP answers and ICMP errors of its transactions and the time, and carries
 * out its actions. Each question gets a random ID and its own transaction (a socket with a
 * random source port, RFC 5452 9.2); an answer counts only when it comes from a server the
 * query went to, from its port, with the same ID and question (RFC 5452 4.1-4.3). Tries go
 * round the servers with a timeout doubling each round (RFC 1035 4.2.1: retransmission with
 * backoff); SERVFAIL/REFUSED or a port unreachable skip to the next server at once; TC sends
 * the query again over TCP (RFC 7766 5). CNAMEs are followed, re-asking when the server
 * stopped at one (RFC 1034 3.6.2, 5.3.3). Answers are cached up to their TTL, NXDOMAIN and
 * NODATA for their SOA's negative TTL (RFC 2308 5).
 */
export class ResolverCore {
  readonly stats: ResolverStats = {
    lookups: 0,
    cacheHits: 0,
    udpQueries: 0,
    retries: 0,
    tcpQueries: 0,
    responses: 0,
    malformed: 0,
    wrongSource: 0,
    mismatched: 0,
    stale: 0,
    truncated: 0,
    refused: 0,
    timeouts: 0,
  };
  readonly cache: DnsCache;
  private readonly timeoutMs: number;
  private readonly attempts: number;
  private readonly overallTimeoutMs: number;
  private readonly tcpTimeoutMs: number;
  private readonly maxCnameChain: number;
  private readonly maxTtl: number;
  private readonly negativeTtl: number;
  readonly port: number;
  private readonly random: (min: number, max: number) => number;
  private readonly pending = new Map<string, Lookup>();
  private readonly txs = new Map<number, Tx>();
  private nextKey = 1;
  private nextTx = 1;
  private actions: ResolverAction[] = [];

  constructor(config: ResolverConfig = {}) {
    this.timeoutMs = config.timeoutMs ?? 1000;
    this.attempts = config.attempts ?? 3;
    this.overallTimeoutMs = config.overallTimeoutMs ?? 15_000;
    this.tcpTimeoutMs = config.tcpTimeoutMs ?? 5000;
    this.maxCnameChain = config.maxCnameChain ?? 8;
    this.maxTtl = config.maxTtl ?? 3600;
    this.negativeTtl = config.negativeTtl ?? 30;
    this.port = config.port ?? DNS_PORT;
    this.random = config.random ?? randomInt;
    this.cache = new DnsCache(config.cacheSize ?? 256);
  }

  /** Lookups under way. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /**
   * Starts resolving `name` to IPv4 addresses with `servers` (tried in order). An address
   * literal, a cached answer or an invalid name settle at once; otherwise the result comes
   * as an action with the returned key.
   */
  resolve(name: string, servers: readonly number[], now: number): ResolveStart {
    this.stats.lookups++;
    if (isIpv4(name)) {
      return { type: 'done', result: { name, addresses: [formatIpv4(parseIpv4(name))], cname: [], ttl: 0 } };
    }
    const norm = normalizeHostname(name);
    if (norm === undefined)
      return { type: 'failed', error: new DnsError('EBADNAME', name, 'queryA', 'not a valid host name') };
    const hit = this.cache.get(norm, now);
    if (hit) {
      this.stats.cacheHits++;
      if (hit.kind === 'negative')
        return { type: 'failed', error: new DnsError(hit.code, norm, 'queryA', 'cached') };
      return {
        type: 'done',
        result: {
          name: norm,
          addresses: [...hit.addresses],
          cname: [...hit.cname],
          ttl: Math.max(0, Math.ceil((hit.expires - now) / 1000)),
        },
      };
    }
    const same = this.pending.get(norm.toLowerCase());
    if (same) return { type: 'pending', key: same.key };
    if (servers.length === 0)
      return {
        type: 'failed',
        error: new DnsError('ECONNREFUSED', norm, 'queryA', 'no DNS servers configured'),
      };
    const l: Lookup = {
      key: this.nextKey++,
      name: norm,
      servers: [...servers],
      deadline: now + this.overallTimeoutMs,
      cname: [],
      ttl: Number.POSITIVE_INFINITY,
      dead: new Set(),
      refused: new Set(),
      rcodeError: undefined,
      step: -1,
      tx: undefined,
    };
    this.pending.set(norm.toLowerCase(), l);
    this.ask(l, norm, now);
    return { type: 'pending', key: l.key };
  }

  /** A datagram that arrived on transaction `tx`'s socket. Never throws on its content. */
  receiveUdp(txId: number, from: number, fromPort: number, bytes: Uint8Array, now: number): void {
    const tx = this.txs.get(txId);
    if (tx?.transport !== 'udp') {
      this.stats.stale++;
      return;
    }
    if (!tx.sentTo.has(from) || fromPort !== this.port) {
      this.stats.wrongSource++;
      return;
    }
    const msg = this.parse(bytes);
    if (!msg) return;
    if (!this.matches(tx, msg)) {
      this.stats.mismatched++;
      return;
    }
    this.answer(tx, from, msg, now);
  }

  /** The answer read from transaction `tx`'s TCP connection (without its length prefix). */
  receiveTcp(txId: number, bytes: Uint8Array, now: number): void {
    const tx = this.txs.get(txId);
    if (tx?.transport !== 'tcp') {
      this.stats.stale++;
      return;
    }
    const msg = this.parse(bytes);
    if (!msg || !this.matches(tx, msg)) {
      if (msg) this.stats.mismatched++;
      this.serverFailed(tx, 'EBADRESP', now);
      return;
    }
    this.answer(tx, tx.server, msg, now);
  }

  /** The TCP connection of `tx` failed before an answer (refused, reset, closed). */
  tcpFailed(txId: number, refused: boolean, now: number): void {
    const tx = this.txs.get(txId);
    if (tx?.transport !== 'tcp') return;
    if (refused) {
      this.stats.refused++;
      tx.lookup.refused.add(tx.server);
    }
    this.serverFailed(tx, undefined, now);
  }

  /** An ICMP Port Unreachable about a query `tx` sent to `server` (RFC 1122 4.1.3.3). */
  unreachable(txId: number, server: number, port: number, now: number): void {
    const tx = this.txs.get(txId);
    if (tx?.transport !== 'udp' || !tx.sentTo.has(server) || port !== this.port) return;
    const l = tx.lookup;
    this.stats.refused++;
    l.refused.add(server);
    l.dead.add(server);
    if (server === tx.server) this.advance(l, now);
  }

  tick(now: number): void {
    for (const l of [...this.pending.values()]) {
      if (now >= l.deadline) {
        this.stats.timeouts++;
        this.fail(l, this.exhausted(l), `no usable answer in ${this.overallTimeoutMs} ms`);
        continue;
      }
      const tx = l.tx;
      if (!tx || now < tx.deadline) continue;
      this.stats.timeouts++;
      if (tx.transport === 'tcp') this.serverFailed(tx, undefined, now);
      else this.advance(l, now);
    }
  }

  nextDeadline(): number | undefined {
    let best: number | undefined;
    for (const l of this.pending.values()) {
      const d = Math.min(l.deadline, l.tx?.deadline ?? l.deadline);
      if (best === undefined || d < best) best = d;
    }
    return best;
  }

  /** Fails every lookup under way with ECANCELLED. */
  cancelAll(): void {
    for (const l of [...this.pending.values()]) this.fail(l, 'ECANCELLED', 'cancelled');
  }

  takeActions(): ResolverAction[] {
    const a = this.actions;
    this.actions = [];
    return a;
  }

  // ---- the steps of a lookup ------------------------------------------------------------

  /** Asks a question (the name, or a CNAME's target) from the start of the schedule. */
  private ask(l: Lookup, qname: string, now: number): void {
    l.step = -1;
    l.dead = new Set(l.refused);
    this.newUdpTx(l, qname, now);
    this.advance(l, now);
  }

  /** A fresh transaction (DNS ID, and so socket and source port) for `qname` over UDP. */
  private newUdpTx(l: Lookup, qname: string, now: number): void {
    this.endTx(l);
    const qid = this.random(0, 0x10000);
    const tx: Tx = {
      id: this.nextTx++,
      lookup: l,
      transport: 'udp',
      qid,
      qname,
      message: emitDnsQuery(qid, qname, RRType.A, RRClass.IN),
      server: 0,
      sentTo: new Set(),
      deadline: now,
    };
    this.txs.set(tx.id, tx);
    l.tx = tx;
  }

  /** The next try of the schedule over UDP, skipping dead servers; fails when none is left. */
  private advance(l: Lookup, now: number): void {
    const tx = l.tx;
    if (!tx) return;
    const n = l.servers.length;
    for (let step = l.step + 1; step < this.attempts * n; step++) {
      const server = l.servers[step % n]!;
      if (l.dead.has(server)) continue;
      l.step = step;
      if (tx.sentTo.size > 0) this.stats.retries++;
      tx.server = server;
      tx.sentTo.add(server);
      const round = Math.floor(step / n);
      tx.deadline = Math.min(now + this.timeoutMs * 2 ** round, l.deadline);
      this.stats.udpQueries++;
      this.actions.push({ type: 'send-udp', tx: tx.id, server, port: this.port, message: tx.message });
      return;
    }
    this.fail(l, this.exhausted(l), `no usable answer from ${l.servers.map(formatIpv4).join(', ')}`);
  }

  /** The current server cannot answer this question: on to the next, over UDP again. */
  private serverFailed(tx: Tx, code: DnsErrorCode | undefined, now: number): void {
    const l = tx.lookup;
    l.dead.add(tx.server);
    if (code) this.noteRcode(l, code);
    // After TCP, the rest of the schedule runs in a fresh UDP transaction.
    if (tx.transport === 'tcp') this.newUdpTx(l, tx.qname, now);
    this.advance(l, now);
  }

  private answer(tx: Tx, from: number, msg: DnsMessage, now: number): void {
    const l = tx.lookup;
    this.stats.responses++;
    if (msg.header.tc && tx.transport === 'udp') {
      // RFC 1035 4.2.1, RFC 7766 5: the answer did not fit; ask the same server over TCP.
      this.stats.truncated++;
      this.stats.tcpQueries++;
      this.endTx(l);
      const qid = this.random(0, 0x10000);
      const t: Tx = {
        id: this.nextTx++,
        lookup: l,
        transport: 'tcp',
        qid,
        qname: tx.qname,
        message: emitDnsQuery(qid, tx.qname, RRType.A, RRClass.IN),
        server: from,
        sentTo: new Set([from]),
        deadline: Math.min(now + this.tcpTimeoutMs, l.deadline),
      };
      this.txs.set(t.id, t);
      l.tx = t;
      this.actions.push({ type: 'send-tcp', tx: t.id, server: from, port: this.port, message: t.message });
      return;
    }
    switch (msg.header.rcode) {
      case Rcode.NoError:
        this.noError(tx, msg, now);
        return;
      case Rcode.NXDomain:
        this.negative(l, 'ENOTFOUND', msg, now);
        return;
      default: {
        // RFC 1034 5.3.3: a server failure or refusal moves on to the next server.
        const code = RCODE_ERRORS[msg.header.rcode] ?? 'EBADRESP';
        if (from === tx.server) this.serverFailed(tx, code, now);
        else {
          l.dead.add(from);
          this.noteRcode(l, code);
        }
      }
    }
  }

  private noError(tx: Tx, msg: DnsMessage, now: number): void {
    const l = tx.lookup;
    let name = tx.qname;
    let ttl = l.ttl;
    const addresses: string[] = [];
    for (;;) {
      for (const r of msg.answers) {
        if (r.class === RRClass.IN && r.data.kind === 'A' && sameName(r.name, name)) {
          if (!addresses.includes(r.data.address)) addresses.push(r.data.address);
          ttl = Math.min(ttl, r.ttl);
        }
      }
      if (addresses.length > 0) break;
      const c = msg.answers.find(
        (r): r is DnsRecord & { data: { kind: 'CNAME'; target: string } } =>
          r.class === RRClass.IN && r.data.kind === 'CNAME' && sameName(r.name, name),
      );
      if (!c) break;
      if (l.cname.length >= this.maxCnameChain) {
        this.fail(l, 'EBADRESP', `CNAME chain longer than ${this.maxCnameChain}`);
        return;
      }
      l.cname.push(c.data.target);
      ttl = Math.min(ttl, c.ttl);
      name = c.data.target;
    }
    l.ttl = ttl;
    if (addresses.length > 0) {
      const capped = Math.min(ttl, this.maxTtl);
      if (capped > 0)
        this.cache.set(l.name, {
          kind: 'addresses',
          addresses,
          cname: [...l.cname],
          expires: now + capped * 1000,
        });
      this.finish(l, {
        type: 'resolved',
        key: l.key,
        result: { name: l.name, addresses, cname: l.cname, ttl: capped },
      });
      return;
    }
    if (!sameName(name, tx.qname) && !soaOf(msg)) {
      // The server gave the chain but not its end (RFC 1034 3.6.2): ask for the target.
      this.ask(l, name, now);
      return;
    }
    this.negative(l, 'ENODATA', msg, now);
  }

  /** NXDOMAIN or NODATA, cached for the SOA's negative TTL (RFC 2308 5). */
  private negative(l: Lookup, code: 'ENOTFOUND' | 'ENODATA', msg: DnsMessage, now: number): void {
    const soa = soaOf(msg);
    const ttl = Math.min(soa ? Math.min(soa.ttl, soa.minimum) : this.negativeTtl, this.maxTtl);
    if (ttl > 0) this.cache.set(l.name, { kind: 'negative', code, expires: now + ttl * 1000 });
    this.fail(l, code, code === 'ENOTFOUND' ? 'no such name' : 'no A record');
  }

  private noteRcode(l: Lookup, code: DnsErrorCode): void {
    const rank = (c: DnsErrorCode | undefined): number => (c === undefined ? 99 : RCODE_RANK.indexOf(c));
    if (rank(code) < rank(l.rcodeError)) l.rcodeError = code;
  }

  /** The error when every try is used up: a server's refusal, all ports closed, or silence. */
  private exhausted(l: Lookup): DnsErrorCode {
    if (l.rcodeError) return l.rcodeError;
    if (l.servers.every((s) => l.refused.has(s))) return 'ECONNREFUSED';
    return 'ETIMEOUT';
  }

  private fail(l: Lookup, code: DnsErrorCode, detail: string): void {
    this.finish(l, { type: 'failed', key: l.key, error: new DnsError(code, l.name, 'queryA', detail) });
  }

  private finish(l: Lookup, action: ResolverAction): void {
    this.endTx(l);
    this.pending.delete(l.name.toLowerCase());
    this.actions.push(action);
  }

  private endTx(l: Lookup): void {
    const tx = l.tx;
    if (!tx) return;
    this.txs.delete(tx.id);
    l.tx = undefined;
    this.actions.push({ type: 'end', tx: tx.id });
  }

  private parse(bytes: Uint8Array): DnsMessage | undefined {
    try {
      return parseDnsMessage(bytes);
    } catch (err) {
      if (!(err instanceof MalformedPacket)) throw err;
      this.stats.malformed++;
      return undefined;
    }
  }

  /** RFC 5452 4.1-4.3: a response to our query: same ID, a standard query, the same question. */
  private matches(tx: Tx, msg: DnsMessage): boolean {
    const h = msg.header;
    const q = msg.questions[0];
    return (
      h.qr &&
      h.id === tx.qid &&
      h.opcode === Opcode.QUERY &&
      msg.questions.length === 1 &&
      q !== undefined &&
      q.type === RRType.A &&
      q.class === RRClass.IN &&
      sameName(q.name, tx.qname)
    );
  }
}

function soaOf(msg: DnsMessage): (DnsRecord & { minimum: number }) | undefined {
  for (const r of msg.authorities) {
    if (r.data.kind === 'SOA') return { ...r, minimum: r.data.minimum };
  }
  return undefined;
}
