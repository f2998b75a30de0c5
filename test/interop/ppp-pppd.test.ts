import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { NetStack } from '../../src/ip/stack.js';
import { openSerialPort } from '../../src/modem/port.js';
import { PppLink, type PppLinkOptions } from '../../src/ppp/link.js';
import { runCli } from '../helpers/cli.js';
import { peer, which } from './harness/peers.js';
import { startPtyPair } from './harness/pty-pair.js';
import { tsharkDecode } from './harness/tshark.js';
import { startUmlPeer, type UmlPeer, type UmlPeerOptions, umlProblem } from './harness/uml.js';

/**
 * PPP against the real pppd 2.4.9 and the Linux kernel's PPP, inside user-mode Linux. The
 * guest's serial line is our stream; its pppd debug log is the other side's view.
 */
const uml = peer('uml', umlProblem());
const tshark = which('tshark') ? undefined : 'tshark is not installed (apt-get install tshark)';
const work = mkdtempSync(join(tmpdir(), 'cellstack-ppp-'));
const peers: UmlPeer[] = [];
const links: PppLink[] = [];

async function boot(options: UmlPeerOptions): Promise<UmlPeer> {
  const p = await startUmlPeer(options);
  peers.push(p);
  return p;
}

function link(p: UmlPeer, options: PppLinkOptions = {}): PppLink {
  const l = new PppLink(p.serial, options);
  links.push(l);
  return l.open();
}

const count = (log: string, re: RegExp) => log.split('\n').filter((l) => re.test(l)).length;

afterEach(async () => {
  for (const l of links.splice(0)) await l.close().catch(() => undefined);
  for (const p of peers.splice(0)) await p.stop();
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.skipIf(uml.skip)('PPP against pppd in user-mode Linux', () => {
  it('comes up without auth with 10.64.0.2 and DNS, answers ping, negotiates without loops, terminates cleanly', async () => {
    const p = await boot({ auth: 'none' });
    const pcap = join(work, 'noauth.pcap');
    const l = link(p, { pcap });
    const info = await l.waitUp(20_000);
    expect(info).toEqual({
      localAddress: '10.64.0.2',
      peerAddress: '10.64.0.1',
      dns: ['10.64.0.1'],
      mtu: 1500,
    });
    const stack = new NetStack(l);
    // pppd brings ppp0 up a few ms after its last ConfAck: the first packets may be lost.
    let first: unknown;
    for (let i = 0; i < 10 && !first; i++)
      first = await stack.ping('10.64.0.1', { timeoutMs: 1000 }).catch(() => undefined);
    expect(first).toBeDefined();
    const results = await Promise.allSettled(
      [0, 1, 2].map((i) => delay(i * 100).then(() => stack.ping('10.64.0.1', { timeoutMs: 3000 }))),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    stack.close();
    const log = p.pppdLog();
    // One LCP round; IPCP: the first request (0.0.0.0 and DNS) is Nak'd, the second Acked.
    expect(count(log, /rcvd \[LCP ConfReq/)).toBe(1);
    expect(count(log, /rcvd \[IPCP ConfReq/)).toBe(2);
    expect(log).toMatch(
      /sent \[IPCP ConfNak id=0x\w+ <addr 10\.64\.0\.2> <ms-dns1 10\.64\.0\.1> <ms-dns2 10\.64\.0\.1>\]/,
    );
    // VJ header compression (RFC 1144) agreed both ways: pppd's defaults, and ours.
    expect(log).toMatch(/sent \[IPCP ConfAck id=0x\w+ <compress VJ 0f 01>/);
    expect(log).toMatch(/rcvd \[IPCP ConfAck id=0x\w+ <compress VJ 0f 01>/);
    expect(log).toMatch(/rcvd \[LCP ProtRej id=0x\w+ 80 57/); // IPv6CP rejected
    await l.close();
    await p.waitForLog(/rcvd \[LCP TermReq/, 5000);
    await p.waitForLog(/sent \[LCP TermAck/, 5000);
    await p.waitForLog(/Connection terminated/, 5000);
    expect(l.phase).toBe('dead');
    if (!tshark) {
      const d = tsharkDecode(pcap);
      expect(d.malformed).toEqual([]);
      const all = d.protocols.join('\n');
      for (const proto of ['ppp:lcp', 'ppp:ipcp', 'ppp:ip:icmp']) expect(all).toContain(proto);
    }
  });

  for (const auth of ['pap', 'chap'] as const) {
    it(`authenticates with ${auth.toUpperCase()} and fails fast with AUTH_FAILED on a wrong password`, async () => {
      const p = await boot({ auth });
      const pcap = join(work, `${auth}.pcap`);
      const good = link(p, { user: p.user, password: p.password, pcap });
      const info = await good.waitUp(20_000);
      expect(info.localAddress).toBe('10.64.0.2');
      expect(p.pppdLog()).toMatch(
        auth === 'pap' ? /PAP peer authentication succeeded|rcvd \[PAP AuthReq/ : /sent \[CHAP Success/,
      );
      await good.close();
      await p.waitForLog(/Connection terminated/, 5000);
      if (!tshark) {
        const d = tsharkDecode(pcap);
        expect(d.malformed).toEqual([]);
        expect(d.protocols.join('\n')).toContain(auth === 'pap' ? 'ppp:pap' : 'ppp:chap');
      }
      // The next session of pppd, with a wrong password.
      const mark = p.logMark();
      await p.waitForLog(/Connect: ppp\d <--> \/dev\/ttyS0/, 10_000, mark);
      const bad = link(p, { user: p.user, password: 'wrong-password' });
      const t0 = Date.now();
      const err = await bad.waitUp(20_000).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'AUTH_FAILED' });
      expect(Date.now() - t0).toBeLessThan(8000);
      expect(JSON.stringify(err)).not.toContain('wrong-password');
    });
  }

  it('detects a dead pppd as down within the keepalive bound', async () => {
    // `silent`: after the kill, the next pppd waits quietly; only keepalive can tell.
    const p = await boot({ auth: 'none', pppdOptions: ['silent'] });
    const l = link(p, { lcp: { echoIntervalMs: 1000, echoFailure: 3 } });
    await l.waitUp(20_000);
    const down = new Promise<{ code: string; at: number }>((resolve) =>
      l.once('down', (e) => resolve({ code: e.code, at: Date.now() })),
    );
    const killedAt = Date.now();
    await p.killPppd('KILL');
    const d = await down;
    expect(d.code).toBe('PEER_DEAD');
    // 3 unanswered Echo-Requests, 1 s apart, after the last answered one: at most ~4 s.
    expect(d.at - killedAt).toBeLessThan(4500);
  });

  it('cellstack ping --direct on a serial line that speaks PPP already (pty wired to pppd)', async () => {
    const p = await boot({ auth: 'pap' });
    const pty = await startPtyPair();
    const wire = await openSerialPort({ path: pty.a });
    wire.stream.on('data', (b: Buffer) => p.serial.write(b));
    p.serial.on('data', (b: Buffer) => wire.stream.write(b));
    try {
      const r = await runCli(
        ['ping', '10.64.0.1', '-c', '2', '--direct', '--device', pty.b, '--user', p.user],
        {
          env: { CELLSTACK_PASSWORD: p.password },
          timeoutMs: 60_000,
        },
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toMatch(/dialing/); // no AT stage
      expect(r.stdout).toMatch(/bytes from 10\.64\.0\.1: icmp_seq=\d+/);
      await p.waitForLog(/rcvd \[LCP TermReq/, 5000);
      expect(p.pppdLog()).toMatch(/rcvd \[PAP AuthReq id=0x\w+ user="cellstack" password=<hidden>\]/);
    } finally {
      await wire.close();
      await pty.stop();
    }
  });

  it('comes back up after pppd restarts and renegotiates on the same line', async () => {
    const p = await boot({ auth: 'none' });
    const l = link(p, { lcp: { echoIntervalMs: 0 } });
    await l.waitUp(20_000);
    const events: string[] = [];
    l.on('down', (e) => events.push(`down:${e.code}`));
    const upAgain = new Promise<void>((resolve) => l.once('up', () => resolve()));
    await p.killPppd('KILL');
    await upAgain;
    expect(events).toEqual(['down:RENEGOTIATING']);
    expect(l.info?.localAddress).toBe('10.64.0.2');
  });
});

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
