import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import { DnsError } from '../../../src/ip/index.js';
import { NetStack } from '../../../src/ip/stack.js';
import { type FrameTap, PppLink } from '../../../src/ppp/link.js';
import type { PeerLine, PeerUnderTest } from './peer.js';

/**
 * The client scenarios of issue 9, written once and run against every `PeerUnderTest`
 * (peers-alike.test.ts): pppd, slirp and the virtual modem must all pass them unchanged.
 * They share one PPP session per peer, in order: up, ping, TCP echo, refused port, DNS, close.
 */

/** LCP codes (RFC 1661 section 5). */
export const LCP_TERMINATE_REQUEST = 5;
export const LCP_TERMINATE_ACK = 6;

/** The LCP code of a PPP frame (as our link taps it: no FCS, maybe Address/Control), or undefined. */
export function lcpCode(frame: Uint8Array): number | undefined {
  let i = frame[0] === 0xff && frame[1] === 0x03 ? 2 : 0;
  if (frame[i] === 0xc0 && frame[i + 1] === 0x21) i += 2;
  else return undefined;
  return frame[i];
}

/** One client session against a peer: the line, our PppLink and NetStack, and the LCP codes seen. */
export class ClientSession {
  line: PeerLine | undefined;
  link: PppLink | undefined;
  stack: NetStack | undefined;
  readonly lcp: { direction: 'in' | 'out'; code: number }[] = [];

  constructor(readonly peer: PeerUnderTest) {}

  /** The stack and link, or a clear failure when an earlier scenario did not bring them up. */
  up(): { link: PppLink; stack: NetStack } {
    if (!this.link || !this.stack)
      throw new Error(`${this.peer.name}: the link is not up (scenario 1 failed)`);
    return { link: this.link, stack: this.stack };
  }

  /** Lets go of whatever is still open (after a failed scenario); bounded. */
  async dispose(): Promise<void> {
    this.stack?.close();
    if (this.link && this.link.phase !== 'dead') {
      await withTimeout(this.link.close(), 5000, 'link close').catch(() => this.link?.destroy());
    }
    await this.line?.close().catch(() => undefined);
    this.line = undefined;
  }
}

export type Scenario = (session: ClientSession) => Promise<void>;

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** (1) The link comes up: our address, the peer's and DNS servers from IPCP, as expected. */
export const linkComesUp: Scenario = async (s) => {
  const { peer } = s;
  s.line = await withTimeout(peer.openLine(), 20_000, `${peer.name}: opening the line`);
  const tap: FrameTap = {
    write: (direction, frame) => {
      const code = lcpCode(frame);
      if (code !== undefined) s.lcp.push({ direction, code });
    },
    close: () => undefined,
  };
  const link = new PppLink(s.line.stream, { ...peer.linkOptions, tap });
  s.link = link;
  link.open();
  const info = await link.waitUp(20_000);
  expect(info.localAddress).toBe(peer.expected.localAddress);
  expect(info.peerAddress).toBe(peer.expected.peerAddress);
  expect(info.dns).toEqual(peer.expected.dns);
  expect(info.mtu).toBeGreaterThanOrEqual(576);
  expect(link.phase).toBe('network');
  s.stack = new NetStack(link);
  expect(s.stack.localAddress).toBe(peer.expected.localAddress);
};

/** (2) Three echo requests to the peer's address (or its gateway), all answered by it. */
export const pingsThePeer: Scenario = async (s) => {
  const { stack } = s.up();
  const target = s.peer.pingAddress;
  // pppd brings ppp0 up a few ms after its last ConfAck: the very first packets may be lost.
  let warm = false;
  for (let i = 0; i < 10 && !warm; i++)
    warm = await stack.ping(target, { timeoutMs: 1000 }).then(
      () => true,
      () => false,
    );
  expect(warm).toBe(true);
  const results = [];
  for (let i = 0; i < 3; i++) results.push(await stack.ping(target, { timeoutMs: 3000, size: 56 + i * 100 }));
  expect(results.map((r) => r.address)).toEqual([target, target, target]);
  expect(new Set(results.map((r) => r.sequence)).size).toBe(3);
  for (const r of results) expect(r.rttMs).toBeLessThan(2000);
};

/** (3) 256 KiB of every byte value through the echo server, intact; we half-close, it echoes the rest, then closes. */
export const tcpEchoHalfClose: Scenario = async (s) => {
  const { stack } = s.up();
  const n = 256 * 1024;
  const payload = Buffer.alloc(n);
  for (let i = 0; i < n; i++) payload[i] = (i + (i >>> 8) * 7) & 0xff; // all 256 values, not periodic in 256
  expect(new Set(payload).size).toBe(256);
  const sock = stack.connect({ host: s.peer.echo.host, port: s.peer.echo.port, allowHalfOpen: true });
  const parts: Buffer[] = [];
  // Bytes that came after the peer had acknowledged our FIN (FIN-WAIT-2, RFC 9293 3.3.2).
  let afterOurFinAcked = 0;
  sock.on('data', (d: Buffer) => {
    parts.push(d);
    if (sock.connection?.tcb.state === 'fin-wait-2') afterOurFinAcked += d.length;
  });
  const outcome = new Promise<{ ended: boolean; hadError: boolean }>((resolve, reject) => {
    let ended = false;
    sock.once('end', () => {
      ended = true;
    });
    sock.once('error', reject);
    sock.once('close', (hadError: boolean) => resolve({ ended, hadError }));
  });
  await withTimeout(new Promise<void>((r) => sock.once('connect', () => r())), 10_000, 'echo connect');
  sock.end(payload); // data, then our FIN: the half-close
  const r = await withTimeout(outcome, 30_000, `${s.peer.name}: echo of ${n} bytes`);
  const back = Buffer.concat(parts);
  expect(back.length).toBe(n);
  expect(sha(back)).toBe(sha(payload));
  expect(r).toEqual({ ended: true, hadError: false });
  expect(sock.bytesWritten).toBe(n);
  // The half-close: the peer acknowledged our FIN while the echo was still coming, and the
  // rest of it came on the half-open connection before the peer's own FIN.
  expect(afterOurFinAcked).toBeGreaterThan(0);
};

/** (4) A port where nothing listens: the connection is refused with ECONNREFUSED, quickly. */
export const refusedPort: Scenario = async (s) => {
  const { stack } = s.up();
  const t0 = Date.now();
  const sock = stack.connect({ host: s.peer.closedPort.host, port: s.peer.closedPort.port });
  const err = await withTimeout(
    new Promise<NodeJS.ErrnoException>((resolve) => sock.once('error', resolve)),
    10_000,
    'refusal',
  );
  expect(err.code).toBe('ECONNREFUSED');
  expect(Date.now() - t0).toBeLessThan(5000);
  expect(sock.destroyed).toBe(true);
};

/** (5) DNS through the server IPCP gave: a known name, an unknown one (ENOTFOUND), and a connection by name. */
export const dnsThroughTheLink: Scenario = async (s) => {
  const { stack } = s.up();
  const dns = s.peer.dns;
  if (!dns) throw new Error(`${s.peer.name} has no DNS scenario: ${s.peer.dnsNotApplicable ?? '?'}`);
  const r = await withTimeout(stack.resolve(dns.name), 10_000, `resolving ${dns.name}`);
  expect(r.addresses).toEqual([dns.address]);
  const err = await withTimeout(
    stack.resolve(dns.unknown).then(
      () => undefined,
      (e: unknown) => e,
    ),
    10_000,
    `resolving ${dns.unknown}`,
  );
  expect(err).toBeInstanceOf(DnsError);
  expect((err as DnsError).code).toBe('ENOTFOUND');
  // The stack's lookup, as net.connect would use it: the name reaches the echo server.
  const sock = stack.connect({ host: dns.name, port: s.peer.echo.port, allowHalfOpen: true });
  const parts: Buffer[] = [];
  sock.on('data', (d: Buffer) => parts.push(d));
  const closed = new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.once('close', () => resolve());
  });
  sock.end(`hello ${dns.name}\n`);
  await withTimeout(closed, 10_000, 'echo by name');
  expect(Buffer.concat(parts).toString()).toBe(`hello ${dns.name}\n`);
  expect(sock.remoteAddress).toBe(dns.address);
};

/** (6) A clean close: our Terminate-Request is acknowledged, the link is dead, the peer's side ends. */
export const cleanClose: Scenario = async (s) => {
  const { link, stack } = s.up();
  stack.close();
  const t0 = Date.now();
  await withTimeout(link.close(), 10_000, 'LCP Terminate');
  expect(link.phase).toBe('dead');
  expect(
    s.lcp.filter((f) => f.direction === 'out' && f.code === LCP_TERMINATE_REQUEST).length,
  ).toBeGreaterThanOrEqual(1);
  expect(s.lcp.filter((f) => f.direction === 'in' && f.code === LCP_TERMINATE_ACK)).toHaveLength(1);
  // Acknowledged, not given up on after Max-Terminate restarts (3 s each).
  expect(Date.now() - t0).toBeLessThan(2500);
  const evidence = await s.peer.sessionEnded(10_000);
  expect(evidence).not.toBe('');
  await s.line?.close();
  s.line = undefined;
};

/** All of them, in the order they share the session. */
export const CLIENT_SCENARIOS: readonly { name: string; run: Scenario; needsDns?: boolean }[] = [
  {
    name: '(1) the link comes up with the address, peer address and DNS servers from IPCP',
    run: linkComesUp,
  },
  { name: '(2) pings the peer 3 times', run: pingsThePeer },
  { name: '(3) TCP echo of 256 KiB of every byte value, intact, with a half-close', run: tcpEchoHalfClose },
  { name: '(4) a closed port is ECONNREFUSED', run: refusedPort },
  {
    name: '(5) DNS: a name resolves through the link, an unknown name is ENOTFOUND',
    run: dnsThroughTheLink,
    needsDns: true,
  },
  { name: '(6) a clean close: Terminate acknowledged, the peer side ends', run: cleanClose },
];
