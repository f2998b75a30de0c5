import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetStack } from '../../src/ip/stack.js';
import { openPppSession } from '../../src/ppp/session.js';
import { attachSimToSerialPort, type SerialSim } from '../../src/sim/modem.js';
import { BIN, runCli } from '../helpers/cli.js';
import { peer, which } from './harness/peers.js';
import { type PtyPair, startPtyPair } from './harness/pty-pair.js';
import { tsharkDecode } from './harness/tshark.js';
import { startUmlPeer, type UmlPeer, umlProblem } from './harness/uml.js';

/**
 * The whole path through a real serial device: serialport opens a pty; on its other end the
 * test modem answers AT, and after ATD it bridges the data call to pppd in user-mode Linux.
 * Then PPP (CHAP), IPCP, ping; then LCP Terminate and a +++ hang-up.
 */
const uml = peer('uml', umlProblem());
const socat = peer('socat', which('socat') ? undefined : 'socat is not installed (apt-get install socat)');
const tshark = which('tshark');

describe.skipIf(uml.skip || socat.skip)('modem + PPP: serialport -> test modem -> pppd in UML', () => {
  let pty: PtyPair;
  let sim: SerialSim;
  let guest: UmlPeer;
  const work = mkdtempSync(join(tmpdir(), 'cellstack-modem-ppp-'));

  beforeAll(async () => {
    guest = await startUmlPeer({ auth: 'chap' });
    pty = await startPtyPair();
    sim = await attachSimToSerialPort(pty.a, { flavour: 'quectel', network: { registerAfterMs: 300 } });
    // The data call carries pppd's line: bytes flow only while the modem is in data mode.
    guest.serial.on('data', (b: Buffer) => {
      if (sim.sim.mode === 'data') sim.sim.sendData(b);
    });
    sim.sim.on('data', (b: Uint8Array) => guest.serial.write(b));
  });

  afterAll(async () => {
    await sim?.close();
    await pty?.stop();
    await guest?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  /** Waits for the next pppd session to have opened its line. */
  async function nextSession(): Promise<void> {
    const mark = guest.logMark();
    if (guest.pppdLog().split('\n').at(-1)?.includes('Connect:')) return;
    await guest.waitForLog(/Connect: ppp\d <--> \/dev\/ttyS0/, 15_000, mark).catch(() => undefined);
  }

  it('dials through the modem and pings over PPP with the library', async () => {
    const phases: string[] = [];
    const session = await openPppSession({
      path: pty.b,
      apn: 'internet',
      user: guest.user,
      password: guest.password,
      onPhase: (p) => phases.push(p),
    });
    expect(session.info.localAddress).toBe('10.64.0.2');
    expect(session.info.dns).toEqual(['10.64.0.1']);
    expect(phases).toEqual(
      expect.arrayContaining([
        'registering',
        'setting-apn',
        'attaching',
        'dialing',
        'connected',
        'establish',
        'authenticate',
        'network',
        'up',
      ]),
    );
    const stack = new NetStack(session.link);
    const results = await Promise.allSettled(
      [0, 1, 2].map((i) => delay(i * 300).then(() => stack.ping('10.64.0.1'))),
    );
    expect(results.filter((r) => r.status === 'fulfilled').length).toBeGreaterThanOrEqual(2);
    stack.close();
    await session.close();
    await guest.waitForLog(/rcvd \[LCP TermReq/, 5000);
    expect(sim.sim.core.mode).toBe('command');
    expect(sim.sim.core.pdpContexts.find((c) => c.cid === 1)?.apn).toBe('internet');
  });

  it('cellstack ping through the modem, with a capture Wireshark decodes', async () => {
    await nextSession();
    const pcap = join(work, 'ping.pcap');
    const r = await runCli(
      ['ping', '10.64.0.1', '-c', '3', '--device', pty.b, '--user', guest.user, '--pcap', pcap],
      {
        env: { CELLSTACK_PASSWORD: guest.password },
        timeoutMs: 60_000,
      },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\d+ bytes from 10\.64\.0\.1: icmp_seq=\d+ ttl=64 time=[\d.]+ ms$/m);
    expect(r.stdout).toMatch(/3 packets transmitted, [23] received/);
    expect(r.stdout + r.stderr).not.toContain(guest.password);
    if (tshark) {
      const d = tsharkDecode(pcap);
      expect(d.malformed).toEqual([]);
      const all = d.protocols.join('\n');
      for (const proto of ['ppp:lcp', 'ppp:chap', 'ppp:ipcp', 'ppp:ip:icmp']) expect(all).toContain(proto);
    }
  });

  it('cellstack dial --json stays up until SIGINT, then terminates PPP and hangs up', async () => {
    await nextSession();
    const child = spawn(process.execPath, [BIN, 'dial', '--json', '--device', pty.b, '--user', guest.user], {
      env: { ...process.env, CELLSTACK_PASSWORD: guest.password },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    for (let i = 0; i < 400 && !out.includes('\n'); i++) await delay(50);
    expect(JSON.parse(out.trim())).toEqual({
      localAddress: '10.64.0.2',
      peerAddress: '10.64.0.1',
      dns: ['10.64.0.1'],
    });
    expect(err).toMatch(/^dialing$/m);
    const mark = guest.logMark();
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(code, err).toBe(0);
    await guest.waitForLog(/rcvd \[LCP TermReq/, 5000, mark);
    expect(sim.sim.core.mode).toBe('command');
  });
});

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
