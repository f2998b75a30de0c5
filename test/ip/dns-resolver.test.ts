import type { LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RRClass, RRType } from '../../src/ip/dns/constants.js';
import { DnsError } from '../../src/ip/dns/errors.js';
import {
  type DnsMessage,
  type DnsRecord,
  emitDnsMessage,
  parseDnsMessage,
} from '../../src/ip/dns/message.js';
import type { ResolverOptions } from '../../src/ip/dns/resolver.js';
import { ResolverCore } from '../../src/ip/dns/resolver-core.js';
import { NetStack } from '../../src/ip/stack.js';
import type { UdpRemoteInfo, UdpSocket } from '../../src/ip/udp-socket.js';
import type { TcpSocket } from '../../src/tcp/socket.js';
import { parseIpv4 } from '../../src/util/ipv4.js';
import { ManualClock } from '../../src/util/manual-clock.js';
import { NetHub } from './net-hub.js';

/**
 * The stub resolver against scripted DNS servers: each server is a NetStack of its own on an
 * in-memory router (NetHub), answering from a UDP socket on port 53 and, for truncated
 * answers, a TCP listener on 53. A ManualClock drives every timeout.
 */

const a = (name: string, address: string, ttl = 300): DnsRecord => ({
  name,
  type: RRType.A,
  class: RRClass.IN,
  ttl,
  data: { kind: 'A', address },
});
const cname = (name: string, target: string, ttl = 300): DnsRecord => ({
  name,
  type: RRType.CNAME,
  class: RRClass.IN,
  ttl,
  data: { kind: 'CNAME', target },
});
const soa = (zone: string, minimum: number, ttl = 3600): DnsRecord => ({
  name: zone,
  type: RRType.SOA,
  class: RRClass.IN,
  ttl,
  data: {
    kind: 'SOA',
    mname: `ns.${zone}`,
    rname: `hostmaster.${zone}`,
    serial: 1,
    refresh: 3600,
    retry: 600,
    expire: 86400,
    minimum,
  },
});

interface Reply {
  rcode?: number;
  answers?: DnsRecord[];
  authorities?: DnsRecord[];
  tc?: boolean;
  /** Override the ID (default: the query's). */
  id?: number;
  /** Override the question (default: the query's). */
  questionName?: string;
  /** Send from this UDP port instead of 53. */
  fromPort?: number;
  /** Send these octets instead. */
  raw?: Uint8Array;
}

type Handler = (q: DnsMessage, via: 'udp' | 'tcp') => Reply | Reply[] | undefined;

interface Query {
  name: string;
  id: number;
  rd: boolean;
  via: 'udp' | 'tcp';
  port: number;
  at: number;
}

function encode(q: DnsMessage, r: Reply): Uint8Array {
  if (r.raw) return r.raw;
  const question = q.questions[0]!;
  return emitDnsMessage({
    header: {
      id: r.id ?? q.header.id,
      qr: true,
      opcode: 0,
      aa: false,
      tc: r.tc ?? false,
      rd: q.header.rd,
      ra: true,
      z: 0,
      rcode: r.rcode ?? 0,
    },
    questions: [{ ...question, name: r.questionName ?? question.name }],
    answers: r.answers ?? [],
    authorities: r.authorities ?? [],
    additionals: [],
  });
}

/** A DNS server on `stack`: UDP (and TCP) port 53, answering with `handler`. */
function dnsServer(
  stack: NetStack,
  clock: ManualClock,
  handler: Handler,
  options: { udp?: boolean; tcp?: boolean } = {},
) {
  const queries: Query[] = [];
  const extra = new Map<number, UdpSocket>();
  if (options.udp !== false) {
    const socket = stack.createUdpSocket();
    socket.bind(53);
    socket.on('message', (msg: Buffer, rinfo: UdpRemoteInfo) => {
      const q = parseDnsMessage(msg);
      queries.push({
        name: q.questions[0]!.name,
        id: q.header.id,
        rd: q.header.rd,
        via: 'udp',
        port: rinfo.port,
        at: clock.now(),
      });
      const replies = handler(q, 'udp');
      for (const r of replies === undefined ? [] : Array.isArray(replies) ? replies : [replies]) {
        let from = socket;
        if (r.fromPort !== undefined) {
          from = extra.get(r.fromPort) ?? stack.createUdpSocket();
          if (!extra.has(r.fromPort)) {
            from.bind(r.fromPort);
            extra.set(r.fromPort, from);
          }
        }
        from.send(encode(q, r), rinfo.port, rinfo.address);
      }
    });
  }
  if (options.tcp) {
    stack
      .createServer((s: TcpSocket) => {
        let got = Buffer.alloc(0);
        s.on('data', (d: Buffer) => {
          got = Buffer.concat([got, d]);
          if (got.length < 2 || got.length < 2 + got.readUInt16BE(0)) return;
          const q = parseDnsMessage(got.subarray(2, 2 + got.readUInt16BE(0)));
          queries.push({
            name: q.questions[0]!.name,
            id: q.header.id,
            rd: q.header.rd,
            via: 'tcp',
            port: s.remotePort ?? 0,
            at: clock.now(),
          });
          const r = handler(q, 'tcp');
          const one = Array.isArray(r) ? r[0] : r;
          if (!one) return;
          const bytes = encode(q, one);
          const len = Buffer.alloc(2);
          len.writeUInt16BE(bytes.length);
          // In two pieces, to exercise the reassembly of the length-prefixed message.
          s.write(Buffer.concat([len, bytes.subarray(0, 3)]));
          s.end(bytes.subarray(3));
        });
      })
      .listen(53);
  }
  return { queries };
}

/** A recursive server's view of a small zone: A records, CNAMEs followed, NXDOMAIN otherwise. */
function zone(records: DnsRecord[], options: { negativeTtl?: number } = {}): Handler {
  return (q) => {
    let name = q.questions[0]!.name.toLowerCase();
    const answers: DnsRecord[] = [];
    for (let i = 0; i < 10; i++) {
      const own = records.filter((r) => r.name.toLowerCase() === name);
      if (own.length === 0) break;
      const as = own.filter((r) => r.type === RRType.A);
      if (as.length > 0) return { answers: [...answers, ...as] };
      const c = own.find((r) => r.type === RRType.CNAME);
      if (c?.data.kind !== 'CNAME') return { answers, authorities: [soa('test', options.negativeTtl ?? 60)] };
      answers.push(c);
      name = c.data.target.toLowerCase();
    }
    if (answers.length > 0) return { answers };
    return { rcode: 3, authorities: [soa('test', options.negativeTtl ?? 60)] };
  };
}

const ZONE: DnsRecord[] = [
  a('peer.test', '10.0.0.53'),
  a('multi.test', '192.0.2.1', 120),
  a('multi.test', '192.0.2.2', 60),
  cname('www.test', 'edge.test', 30),
  cname('edge.test', 'origin.test', 600),
  a('origin.test', '192.0.2.80', 90),
  {
    name: 'txt.test',
    type: RRType.TXT,
    class: 1,
    ttl: 60,
    data: { kind: 'raw', bytes: Uint8Array.of(1, 0x78) },
  },
];

function world(options: { dns?: string[]; resolver?: ResolverOptions } = {}) {
  const clock = new ManualClock();
  const hub = new NetHub();
  const client = new NetStack(hub.link('10.0.0.1', { dns: options.dns ?? ['10.0.0.53'] }), {
    clock,
    ...(options.resolver ? { dns: options.resolver } : {}),
  });
  const server = (address: string) => new NetStack(hub.link(address), { clock });
  return { clock, hub, client, server };
}

interface Settled<T> {
  value?: T;
  error?: DnsError;
  ms: number;
}

async function settle<T>(clock: ManualClock, p: Promise<T>, limitMs = 60_000): Promise<Settled<T>> {
  const t0 = clock.now();
  let out: Settled<T> | undefined;
  p.then(
    (value) => {
      out = { value, ms: clock.now() - t0 };
    },
    (e: unknown) => {
      if (!(e instanceof DnsError)) throw e;
      out = { error: e, ms: clock.now() - t0 };
    },
  );
  await clock.advanceUntil(() => out !== undefined, limitMs, 5);
  if (!out) throw new Error('did not settle');
  return out;
}

describe('resolve (RFC 1035 stub resolver)', () => {
  it('resolves A records from the link DNS server, with a random ID and a fresh random port per query', async () => {
    const { clock, client, server } = world();
    const srv = dnsServer(server('10.0.0.53'), clock, zone(ZONE));
    const r = await settle(clock, client.resolve('Peer.Test.'));
    expect(r.value).toEqual({ name: 'Peer.Test', addresses: ['10.0.0.53'], cname: [], ttl: 300 });
    expect(r.ms).toBeLessThan(50);
    const m = await settle(clock, client.resolve('multi.test'));
    expect(m.value).toMatchObject({ addresses: ['192.0.2.1', '192.0.2.2'], ttl: 60 });
    expect(srv.queries.map((q) => [q.name, q.rd, q.via])).toEqual([
      ['Peer.Test', true, 'udp'],
      ['multi.test', true, 'udp'],
    ]);
    const [q1, q2] = srv.queries;
    expect(q1!.port).not.toBe(q2!.port);
    for (const q of srv.queries) expect(q.port).toBeGreaterThanOrEqual(49152);
    // The query's socket is gone once answered.
    expect(client.stats().udp.sockets).toBe(0);
    expect(client.stats().dns).toMatchObject({ udpQueries: 2, responses: 2, retries: 0 });
  });

  it('follows a CNAME chain in one answer (compressed names) and reports it', async () => {
    const { clock, client, server } = world();
    dnsServer(server('10.0.0.53'), clock, zone(ZONE));
    const r = await settle(clock, client.resolve('www.test'));
    expect(r.value).toEqual({
      name: 'www.test',
      addresses: ['192.0.2.80'],
      cname: ['edge.test', 'origin.test'],
      ttl: 30,
    });
  });

  it('asks again for the target when the server stops at a CNAME', async () => {
    const { clock, client, server } = world();
    const srv = dnsServer(server('10.0.0.53'), clock, (q) => {
      const name = q.questions[0]!.name;
      if (name === 'alias.test') return { answers: [cname('alias.test', 'far.example', 100)] };
      if (name === 'far.example') return { answers: [a('far.example', '198.51.100.9', 200)] };
      return { rcode: 3 };
    });
    const r = await settle(clock, client.resolve('alias.test'));
    expect(r.value).toEqual({
      name: 'alias.test',
      addresses: ['198.51.100.9'],
      cname: ['far.example'],
      ttl: 100,
    });
    expect(srv.queries.map((q) => q.name)).toEqual(['alias.test', 'far.example']);
    expect(srv.queries[0]!.id === srv.queries[1]!.id && srv.queries[0]!.port === srv.queries[1]!.port).toBe(
      false,
    );
  });

  it('gives up on a CNAME loop with EBADRESP', async () => {
    const { clock, client, server } = world();
    dnsServer(server('10.0.0.53'), clock, (q) => ({
      answers: [
        cname(q.questions[0]!.name, 'loop-b.test'),
        cname('loop-b.test', 'loop-a.test'),
        cname('loop-a.test', 'loop-b.test'),
      ],
    }));
    const r = await settle(clock, client.resolve('loop-a.test'));
    expect(r.error?.code).toBe('EBADRESP');
  });

  it('NXDOMAIN is ENOTFOUND, cached for the SOA minimum (RFC 2308)', async () => {
    const { clock, client, server } = world();
    const srv = dnsServer(server('10.0.0.53'), clock, zone(ZONE, { negativeTtl: 5 }));
    const r = await settle(clock, client.resolve('nope.test'));
    expect(r.error).toBeInstanceOf(DnsError);
    expect(r.error).toMatchObject({ code: 'ENOTFOUND', hostname: 'nope.test', syscall: 'queryA' });
    expect(r.error?.message).toMatch(/^queryA ENOTFOUND nope\.test/);
    expect((await settle(clock, client.resolve('NOPE.test'))).error?.code).toBe('ENOTFOUND');
    expect(srv.queries).toHaveLength(1);
    await clock.advance(5000);
    expect((await settle(clock, client.resolve('nope.test'))).error?.code).toBe('ENOTFOUND');
    expect(srv.queries).toHaveLength(2);
  });

  it('a name with no A record is ENODATA', async () => {
    const { clock, client, server } = world();
    dnsServer(server('10.0.0.53'), clock, zone(ZONE));
    expect((await settle(clock, client.resolve('txt.test'))).error?.code).toBe('ENODATA');
  });

  it('SERVFAIL moves on to the secondary at once; from both it is ESERVFAIL', async () => {
    const { clock, client, server } = world({ dns: ['10.0.0.53', '10.0.0.54'] });
    const primary = dnsServer(server('10.0.0.53'), clock, () => ({ rcode: 2 }));
    const secondary = dnsServer(server('10.0.0.54'), clock, zone(ZONE));
    const r = await settle(clock, client.resolve('peer.test'));
    expect(r.value?.addresses).toEqual(['10.0.0.53']);
    expect(r.ms).toBeLessThan(100);
    expect([primary.queries.length, secondary.queries.length]).toEqual([1, 1]);

    const w2 = world({ dns: ['10.0.0.53', '10.0.0.54'] });
    dnsServer(w2.server('10.0.0.53'), w2.clock, () => ({ rcode: 2 }));
    const s2 = dnsServer(w2.server('10.0.0.54'), w2.clock, () => ({ rcode: 2 }));
    const e = await settle(w2.clock, w2.client.resolve('peer.test'));
    expect(e.error?.code).toBe('ESERVFAIL');
    expect(e.ms).toBeLessThan(100);
    expect(s2.queries).toHaveLength(1);
  });

  it('REFUSED is EREFUSED', async () => {
    const { clock, client, server } = world();
    dnsServer(server('10.0.0.53'), clock, () => ({ rcode: 5 }));
    expect((await settle(clock, client.resolve('peer.test'))).error?.code).toBe('EREFUSED');
  });

  it('a silent primary times out after 1 s, then the secondary answers', async () => {
    const { clock, client, server } = world({ dns: ['10.0.0.99', '10.0.0.54'] });
    const secondary = dnsServer(server('10.0.0.54'), clock, zone(ZONE));
    const r = await settle(clock, client.resolve('peer.test'));
    expect(r.value?.addresses).toEqual(['10.0.0.53']);
    expect(r.ms).toBeGreaterThanOrEqual(1000);
    expect(r.ms).toBeLessThan(1100);
    expect(secondary.queries).toHaveLength(1);
    expect(client.stats().dns).toMatchObject({ timeouts: 1, retries: 1 });
  });

  it('silence everywhere is ETIMEOUT after the tries with backoff (1 s, 2 s, 4 s per server)', async () => {
    const { clock, client, server } = world({ dns: ['10.0.0.53'] });
    const srv = dnsServer(server('10.0.0.53'), clock, () => undefined);
    const r = await settle(clock, client.resolve('peer.test'));
    expect(r.error?.code).toBe('ETIMEOUT');
    expect(srv.queries.map((q) => q.at)).toEqual([0, 1000, 3000].map((t) => expect.closeTo(t, -2)));
    expect(r.ms).toBeGreaterThanOrEqual(7000);
    expect(r.ms).toBeLessThan(7100);
    // The same question is asked with the same ID from the same port: a late answer still counts.
    expect(new Set(srv.queries.map((q) => `${q.id}:${q.port}`)).size).toBe(1);
  });

  it('the overall timeout bounds a lookup', async () => {
    const { clock, client, server } = world({ resolver: { overallTimeoutMs: 2500 } });
    dnsServer(server('10.0.0.53'), clock, () => undefined);
    const r = await settle(clock, client.resolve('peer.test'));
    expect(r.error?.code).toBe('ETIMEOUT');
    expect(r.ms).toBeGreaterThanOrEqual(2500);
    expect(r.ms).toBeLessThan(2600);
  });

  it('drops answers with another ID, another question, or from another port, and counts them', async () => {
    const { clock, client, server } = world();
    dnsServer(server('10.0.0.53'), clock, (q) => [
      { id: (q.header.id + 1) & 0xffff, answers: [a(q.questions[0]!.name, '6.6.6.6')] },
      { questionName: 'evil.test', answers: [a('evil.test', '6.6.6.6')] },
      { fromPort: 5353, answers: [a(q.questions[0]!.name, '6.6.6.6')] },
      { raw: Uint8Array.of(1, 2, 3) },
      { answers: [a(q.questions[0]!.name, '192.0.2.33')] },
    ]);
    const r = await settle(clock, client.resolve('peer.test'));
    expect(r.value?.addresses).toEqual(['192.0.2.33']);
    expect(client.stats().dns).toMatchObject({ mismatched: 2, wrongSource: 1, malformed: 1, responses: 1 });
  });

  it('retries a truncated answer over TCP, to the same server', async () => {
    const { clock, client, server } = world();
    const many = Array.from({ length: 40 }, (_, i) => a('big.test', `198.18.0.${i + 1}`));
    const srv = dnsServer(
      server('10.0.0.53'),
      clock,
      (_q, via) => (via === 'udp' ? { tc: true, answers: many.slice(0, 5) } : { answers: many }),
      { tcp: true },
    );
    const r = await settle(clock, client.resolve('big.test'));
    expect(r.value?.addresses).toHaveLength(40);
    expect(srv.queries.map((q) => q.via)).toEqual(['udp', 'tcp']);
    expect(client.stats().dns).toMatchObject({ truncated: 1, tcpQueries: 1 });
    await clock.advance(1000);
    expect(client.stats().tcp.connections).toBe(0);
  });

  it('falls back to the next server when TCP is refused after a truncated answer', async () => {
    const { clock, client, server } = world({ dns: ['10.0.0.53', '10.0.0.54'] });
    dnsServer(server('10.0.0.53'), clock, () => ({ tc: true })); // no TCP listener: RST
    dnsServer(server('10.0.0.54'), clock, zone(ZONE));
    const r = await settle(clock, client.resolve('peer.test'));
    expect(r.value?.addresses).toEqual(['10.0.0.53']);
    expect(r.ms).toBeLessThan(200);
  });

  it('an ICMP Port Unreachable skips to the next server; from all of them it is ECONNREFUSED', async () => {
    const { clock, client, server } = world({ dns: ['10.0.0.53', '10.0.0.54'] });
    server('10.0.0.53'); // up, but nothing on port 53
    dnsServer(server('10.0.0.54'), clock, zone(ZONE));
    const r = await settle(clock, client.resolve('peer.test'));
    expect(r.value?.addresses).toEqual(['10.0.0.53']);
    expect(r.ms).toBeLessThan(100);
    expect(client.stats().dns.refused).toBe(1);

    const w2 = world({ dns: ['10.0.0.53', '10.0.0.54'] });
    w2.server('10.0.0.53');
    w2.server('10.0.0.54');
    const e = await settle(w2.clock, w2.client.resolve('peer.test'));
    expect(e.error?.code).toBe('ECONNREFUSED');
    expect(e.ms).toBeLessThan(100);
  });

  it('caches answers up to their TTL (capped), and the cache is bounded', async () => {
    const { clock, client, server } = world({ resolver: { cacheSize: 2, maxTtl: 100 } });
    const srv = dnsServer(server('10.0.0.53'), clock, zone([...ZONE, a('long.test', '192.0.2.99', 999_999)]));
    await settle(clock, client.resolve('multi.test'));
    await clock.advance(20_000);
    const hit = await settle(clock, client.resolve('multi.test'));
    expect(hit.value?.ttl).toBe(40);
    expect(hit.ms).toBe(0);
    expect(srv.queries).toHaveLength(1);
    await clock.advance(40_000);
    await settle(clock, client.resolve('multi.test'));
    expect(srv.queries).toHaveLength(2);
    expect((await settle(clock, client.resolve('long.test'))).value?.ttl).toBe(100);
    await settle(clock, client.resolve('peer.test')); // a third name: multi.test goes
    await settle(clock, client.resolve('multi.test'));
    expect(srv.queries.map((q) => q.name)).toEqual([
      'multi.test',
      'multi.test',
      'long.test',
      'peer.test',
      'multi.test',
    ]);
    expect(client.stats().dns).toMatchObject({ cacheHits: 1, cached: 2 });
  });

  it('asks once for concurrent lookups of one name', async () => {
    const { clock, client, server } = world();
    const srv = dnsServer(server('10.0.0.53'), clock, zone(ZONE));
    const [x, y] = await Promise.all([
      settle(clock, client.resolve('peer.test')),
      settle(clock, client.resolve('PEER.test')),
    ]);
    expect(x.value?.addresses).toEqual(['10.0.0.53']);
    expect(y.value?.name).toBe('PEER.test');
    expect(srv.queries).toHaveLength(1);
  });

  it('resolves an address to itself, refuses broken names, and sends even localhost to the server', async () => {
    const { clock, client, server } = world();
    const srv = dnsServer(server('10.0.0.53'), clock, zone([...ZONE, a('localhost', '10.9.9.9')]));
    expect((await settle(clock, client.resolve('192.0.2.4'))).value).toEqual({
      name: '192.0.2.4',
      addresses: ['192.0.2.4'],
      cname: [],
      ttl: 0,
    });
    for (const bad of ['a..b', 'a b', `${'x'.repeat(64)}.test`, '', '::1']) {
      const r = await settle(clock, client.resolve(bad));
      expect(r.error?.code, bad).toBe('EBADNAME');
    }
    expect(srv.queries).toHaveLength(0);
    expect((await settle(clock, client.resolve('localhost'))).value?.addresses).toEqual(['10.9.9.9']);
  });

  it('without DNS servers fails at once, and uses configured servers over the link ones', async () => {
    const { clock, client, server } = world({ dns: [] });
    expect((await settle(clock, client.resolve('peer.test'))).error?.code).toBe('ECONNREFUSED');
    dnsServer(server('10.0.0.53'), clock, zone(ZONE));
    client.resolver.setServers(['10.0.0.53']);
    expect(client.resolver.getServers()).toEqual(['10.0.0.53']);
    expect((await settle(clock, client.resolve('peer.test'))).value?.addresses).toEqual(['10.0.0.53']);
  });

  it('fails lookups under way with ECANCELLED when the stack closes', async () => {
    const { clock, client, server } = world();
    dnsServer(server('10.0.0.53'), clock, () => undefined);
    const p = client.resolve('peer.test');
    await clock.advance(10);
    client.close();
    expect((await settle(clock, p)).error?.code).toBe('ECANCELLED');
    expect((await settle(clock, client.resolve('peer.test'))).error?.code).toBe('ECANCELLED');
  });
});

describe('lookup (shaped like dns.lookup)', () => {
  function lookupWorld() {
    const w = world();
    dnsServer(w.server('10.0.0.53'), w.clock, zone(ZONE));
    return w;
  }

  it('is a net.LookupFunction and answers like dns.lookup: one address, all, family, literals', async () => {
    const { clock, client } = lookupWorld();
    const asNode: LookupFunction = client.lookup;
    expect(typeof asNode).toBe('function');
    const results: unknown[] = [];
    const { lookup } = client; // bound: works detached
    lookup('multi.test', (err, address, family) => results.push([err, address, family]));
    lookup('multi.test', { all: true }, (err, addresses) => results.push([err, addresses]));
    lookup('www.test', 4, (err, address, family) => results.push([err, address, family]));
    lookup('192.0.2.1', { family: 6 }, (err, address, family) => results.push([err, address, family]));
    lookup('::1', { all: true }, (err, addresses) => results.push([err, addresses]));
    asNode('peer.test', { family: 'IPv4' }, (err, address, family) => results.push([err, address, family]));
    await clock.advanceUntil(() => results.length === 6, 1000, 5);
    expect(results).toEqual(
      expect.arrayContaining([
        [null, '192.0.2.1', 4],
        [
          null,
          [
            { address: '192.0.2.1', family: 4 },
            { address: '192.0.2.2', family: 4 },
          ] satisfies LookupAddress[],
        ],
        [null, '192.0.2.80', 4],
        [null, '192.0.2.1', 4],
        [null, [{ address: '::1', family: 6 }]],
        [null, '10.0.0.53', 4],
      ]),
    );
  });

  it('reports errors as getaddrinfo does: ENOTFOUND for missing names, EAI_AGAIN when servers fail', async () => {
    const { clock, client } = lookupWorld();
    const errs: (NodeJS.ErrnoException & { hostname?: string })[] = [];
    client.lookup('nope.test', (err) => errs.push(err!));
    client.lookup('txt.test', {}, (err) => errs.push(err!));
    client.lookup('peer.test', { family: 6 }, (err) => errs.push(err!));
    client.lookup('bad..name', (err) => errs.push(err!));
    await clock.advanceUntil(() => errs.length === 4, 1000, 5);
    for (const e of errs) {
      expect(e).toBeInstanceOf(DnsError);
      expect(e).toMatchObject({ code: 'ENOTFOUND', syscall: 'getaddrinfo', errno: -3008 });
    }
    expect(errs.map((e) => e.hostname).sort()).toEqual(['bad..name', 'nope.test', 'peer.test', 'txt.test']);
    const w = world();
    dnsServer(w.server('10.0.0.53'), w.clock, () => ({ rcode: 2 }));
    let again: NodeJS.ErrnoException | null = null;
    w.client.lookup('peer.test', (err) => {
      again = err;
    });
    await w.clock.advanceUntil(() => again !== null, 1000, 5);
    expect(again).toMatchObject({ code: 'EAI_AGAIN', syscall: 'getaddrinfo' });
    expect((again as unknown as DnsError).cause).toMatchObject({ code: 'ESERVFAIL' });
  });
});

describe('connect by name', () => {
  it('resolves, emits lookup, connects; writes made meanwhile go out; the addresses are set', async () => {
    const { clock, client, server } = world();
    const srv = server('10.0.0.53');
    dnsServer(srv, clock, zone([...ZONE, a('echo.test', '10.0.0.53')]));
    srv.createServer((s: TcpSocket) => s.pipe(s)).listen(7);
    const s = client.connect({ host: 'echo.test', port: 7 });
    expect(s.connecting).toBe(true);
    expect(s.remoteAddress).toBeUndefined();
    expect(s.address()).toEqual({});
    s.setNoDelay(true);
    const events: unknown[] = [];
    s.on('lookup', (err: Error | null, address: string, family: number, host: string) =>
      events.push(['lookup', err, address, family, host]),
    );
    s.on('connect', () => events.push(['connect']));
    const got: Buffer[] = [];
    s.on('data', (d: Buffer) => got.push(d));
    let closed: boolean | undefined;
    s.on('close', (hadError: boolean) => {
      closed = hadError;
    });
    s.write('hello ');
    s.end('by name');
    await clock.advanceUntil(() => closed !== undefined, 10_000, 5);
    expect(events).toEqual([['lookup', null, '10.0.0.53', 4, 'echo.test'], ['connect']]);
    expect(Buffer.concat(got).toString()).toBe('hello by name');
    expect(closed).toBe(false);
    expect(s.remoteAddress).toBe('10.0.0.53');
    expect(s.remotePort).toBe(7);
    expect(s.localAddress).toBe('10.0.0.1');
  });

  it('a name that does not exist destroys the socket with ENOTFOUND', async () => {
    const { clock, client, server } = world();
    dnsServer(server('10.0.0.53'), clock, zone(ZONE));
    const s = client.connect({ host: 'absent.test', port: 80 });
    let lookupErr: unknown;
    s.on('lookup', (err: Error | null) => {
      lookupErr = err;
    });
    let err: NodeJS.ErrnoException | undefined;
    s.on('error', (e) => {
      err = e;
    });
    let closed = false;
    s.on('close', () => {
      closed = true;
    });
    s.write('never sent');
    await clock.advanceUntil(() => closed, 5000, 5);
    expect(err).toBeInstanceOf(DnsError);
    expect(err).toMatchObject({ code: 'ENOTFOUND', hostname: 'absent.test', syscall: 'getaddrinfo' });
    expect(lookupErr).toBe(err);
    expect(client.stats().tcp.connections).toBe(0);
  });

  it('uses a lookup passed in the options, and can be destroyed while resolving', async () => {
    const { clock, client, server } = world();
    server('10.0.0.53')
      .createServer(() => undefined)
      .listen(80);
    const asked: string[] = [];
    const mine: LookupFunction = (hostname, _options, callback) => {
      asked.push(hostname);
      setImmediate(() => callback(null, [{ address: '10.0.0.53', family: 4 }]));
    };
    const s = client.connect({ host: 'anything.example', port: 80, lookup: mine });
    let connected = false;
    s.on('connect', () => {
      connected = true;
    });
    await clock.advanceUntil(() => connected, 5000, 5);
    expect(asked).toEqual(['anything.example']);
    expect(s.remoteAddress).toBe('10.0.0.53');
    s.destroy();

    const never: LookupFunction = () => undefined;
    const t = client.connect({ host: 'slow.example', port: 80, lookup: never });
    let closed = false;
    t.on('close', () => {
      closed = true;
    });
    t.destroy();
    await clock.advance(10);
    expect(closed).toBe(true);
  });
});

describe('UDP sockets with names', () => {
  it('send and connect resolve names through the stack', async () => {
    const { clock, client, server } = world();
    const srv = server('10.0.0.53');
    dnsServer(srv, clock, zone(ZONE));
    const echo = srv.createUdpSocket();
    echo.bind(7);
    echo.on('message', (m, r) => echo.send(m, r.port, r.address));
    const s = client.createUdpSocket();
    const got: string[] = [];
    s.on('message', (m, r) => got.push(`${m.toString()} from ${r.address}:${r.port}`));
    s.send('one', 7, 'peer.test');
    await clock.advanceUntil(() => got.length === 1, 1000, 5);
    const c = client.createUdpSocket();
    c.on('message', (m) => got.push(`${m.toString()} (connected)`));
    let connected = false;
    c.connect(7, 'peer.test', () => {
      connected = true;
    });
    await clock.advanceUntil(() => connected, 1000, 5);
    c.send('two');
    await clock.advanceUntil(() => got.length === 2, 1000, 5);
    expect(got).toEqual(['one from 10.0.0.53:7', 'two (connected)']);
    let err: (Error & { code?: string }) | null = null;
    s.send('three', 7, 'nope.test', (e) => {
      err = e;
    });
    await clock.advanceUntil(() => err !== null, 1000, 5);
    expect(err).toMatchObject({ code: 'ENOTFOUND' });
  });
});

describe('connect by name, ending early', () => {
  it('end() before the name resolves sends the FIN once connected', async () => {
    const { clock, client, server } = world();
    const srv = server('10.0.0.53');
    dnsServer(srv, clock, zone(ZONE));
    let ended = false;
    srv
      .createServer((s: TcpSocket) => {
        s.resume();
        s.on('end', () => {
          ended = true;
          s.end();
        });
      })
      .listen(9);
    const s = client.connect({ host: 'peer.test', port: 9 });
    s.setKeepAlive(true, 5000);
    s.setUserTimeout(10_000);
    s.resume();
    s.end();
    await clock.advanceUntil(() => ended, 5000, 5);
    expect(ended).toBe(true);
  });
});

describe('on the system clock', () => {
  it('resolves with real timers: a silent primary, then the secondary', async () => {
    const hub = new NetHub();
    const client = new NetStack(hub.link('10.0.0.1', { dns: ['10.0.0.99', '10.0.0.54'] }), {
      dns: { timeoutMs: 50 },
    });
    const srv = new NetStack(hub.link('10.0.0.54'));
    const socket = srv.createUdpSocket();
    socket.bind(53);
    socket.on('message', (msg, rinfo) => {
      const q = parseDnsMessage(msg);
      socket.send(encode(q, { answers: [a(q.questions[0]!.name, '192.0.2.5')] }), rinfo.port, rinfo.address);
    });
    const t0 = performance.now();
    const r = await client.resolve('real.test');
    expect(r.addresses).toEqual(['192.0.2.5']);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(45);
    client.close();
    srv.close();
  });
});

describe('ResolverCore on hostile input', () => {
  it('never throws and never accepts an answer it did not ask for', () => {
    const server = parseIpv4('10.0.0.53');
    const core = new ResolverCore({ random: () => 0x4242 });
    const start = core.resolve('peer.test', [server], 0);
    expect(start.type).toBe('pending');
    const sent = core.takeActions().find((x) => x.type === 'send-udp');
    if (sent?.type !== 'send-udp') throw new Error('no query');
    const good = [
      ...emitDnsMessage({
        header: { id: 0x4242, qr: true, opcode: 0, aa: false, tc: false, rd: true, ra: true, z: 0, rcode: 0 },
        questions: [{ name: 'peer.test', type: 1, class: 1 }],
        answers: [cname('peer.test', 'x.test'), a('x.test', '10.1.1.1')],
        authorities: [],
        additionals: [],
      }),
    ];
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 120 }),
          fc
            .array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 })
            .map((edits) => {
              const b = [...good];
              for (const [at, v] of edits) b[at % b.length] = v;
              return Uint8Array.from(b);
            }),
        ),
        fc.constantFrom(53, 5353),
        (bytes, port) => {
          const c = new ResolverCore({ random: () => 0x4242 });
          c.resolve('peer.test', [server], 0);
          const sendAction = c.takeActions().find((x) => x.type === 'send-udp');
          if (sendAction?.type !== 'send-udp') throw new Error('no query');
          c.receiveUdp(sendAction.tx, server, port, bytes, 10);
          for (const act of c.takeActions()) {
            if (act.type === 'resolved') {
              // Whatever got through matched the ID and question, from port 53.
              expect(port).toBe(53);
              expect(bytes[0]).toBe(0x42);
              expect(act.result.addresses.length).toBeGreaterThan(0);
            }
          }
          c.tick(100_000);
        },
      ),
      { numRuns: 2000 },
    );
    core.receiveUdp(sent.tx, server, 53, Uint8Array.from(good), 5);
    const done = core.takeActions().find((x) => x.type === 'resolved');
    expect(done).toMatchObject({ result: { addresses: ['10.1.1.1'], cname: ['x.test'] } });
  });
});
