import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LineBridge } from '../harness/line.js';
import { peer } from '../harness/peers.js';
import { rigStream } from '../harness/rig-stream.js';
import { startUmlPeer, type UmlPeer, umlProblem } from '../harness/uml.js';
import { startUmlClient, type UmlClient } from '../harness/uml-client.js';

/**
 * The peer's services, control commands and the line bridge, checked with a known-good
 * client: the Linux kernel in a second UML guest (pppd as client), joined to the peer by a
 * LineBridge in this process. Independent of cellstack's own TCP.
 */
const uml = peer('uml', umlProblem());

const ALL = [
  'echo',
  'discard',
  'chargen',
  'source',
  'sink',
  'http',
  'tls',
  'tls-echo',
  'mqtt',
  'mqtts',
] as const;

describe.skipIf(uml.skip)('UML peer services, through a kernel client guest', () => {
  let p: UmlPeer;
  let c: UmlClient;
  let line: LineBridge;

  beforeAll(async () => {
    p = await startUmlPeer({
      services: [...ALL],
      pppdOptions: ['novj', 'noccp'],
      lcpEchoInterval: 0,
      once: true,
    });
    c = await startUmlClient({
      job: { kind: 'probe', services: [...ALL] },
      listen: ['7001:greet', '7007:echo'],
      caFile: p.certs!.ca,
      stayUp: true,
    });
    line = new LineBridge({ guest: p.serial, client: c.serial });
    await c.waitForConsole(/^CELLSTACK@@LINK-UP/, 30_000);
    process.stderr.write(`peer ready in ${p.bootMs} ms, link up\n`);
  }, 90_000);

  afterAll(async () => {
    if (process.env['CELLSTACK_DUMP']) {
      writeFileSync(`${process.env['CELLSTACK_DUMP']}-peer.log`, p?.consoleLog() ?? '');
      writeFileSync(`${process.env['CELLSTACK_DUMP']}-client.log`, c?.consoleLog() ?? '');
    }
    line?.close();
    await c?.stop();
    await p?.stop();
  });

  it('makes the test CA and certificates with the SANs tests rely on', () => {
    const certs = p.certs!;
    for (const f of Object.values(certs)) expect(existsSync(f)).toBe(true);
    const text = readFileSync(certs.serverCert, 'latin1');
    expect(text).toMatch(/^-----BEGIN CERTIFICATE-----/);
  });

  it('every service answers the kernel client correctly', async () => {
    const results: Record<string, string> = {};
    for (const name of ALL) {
      const l = await c.waitForConsole(new RegExp(`^CELLSTACK@@PROBE ${name} `), 40_000);
      results[name] = l.replace(/^CELLSTACK@@PROBE /, '');
    }
    const failed = Object.values(results).filter((r) => / fail /.test(r));
    expect(failed, `${JSON.stringify(results, null, 1)}\n${p.consoleLog().slice(-3000)}`).toEqual([]);
    expect(results['tls']).toBe('tls ok TLSv1.2');
    const log = p.consoleLog();
    expect(log).toMatch(/^\[sink\] OK bytes=50000 sha256=[0-9a-f]{64} secs=/m);
    expect(log).toMatch(/^\[http\] 10\.64\.0\.2 "GET \/bytes\/70000 HTTP\/1\.1" 200/m);
    expect(log).toMatch(/^\[mosquitto\] New client connected from 10\.64\.0\.2/m);
  });

  it('tcpStats() parses the guest kernel counters', async () => {
    const s = await p.tcpStats();
    expect(s.Tcp['ActiveOpens']).toBeGreaterThanOrEqual(0);
    expect(s.Tcp['PassiveOpens']).toBeGreaterThanOrEqual(ALL.length);
    expect(s.Tcp['InSegs']).toBeGreaterThan(100);
    expect(typeof s.Tcp['RetransSegs']).toBe('number');
    for (const k of ['TCPTimeouts', 'TCPLostRetransmit', 'TCPFastRetrans', 'TCPSackRecovery']) {
      expect(typeof s.TcpExt[k], k).toBe('number');
    }
    expect(Object.keys(s.groups)).toEqual(expect.arrayContaining(['Ip', 'Tcp', 'Udp', 'TcpExt', 'IpExt']));
  });

  it('connectFromGuest() reaches a listener on the client side and reports what it read', async () => {
    await c.waitForConsole(/^CELLSTACK@@LISTENING/, 10_000);
    const greet = await p.connectFromGuest(7001);
    expect(greet.bytes).toBe(100_000);
    expect(greet.sha256).toBe(createHash('sha256').update(rigStream(0, 100_000)).digest('hex'));
    expect(greet.head).toEqual(rigStream(0, 256));
    expect(greet.from).toMatch(/^10\.64\.0\.1:\d+$/);
    const payload = Buffer.from('half-closed echo payload \x00\x7e\x7d\xff');
    const echo = await p.connectFromGuest(7007, '10.64.0.2', payload, { halfClose: true });
    expect(echo.bytes).toBe(payload.length);
    expect(echo.head).toEqual(payload);
    // Nothing listens there: refused, reported as an error.
    await expect(p.connectFromGuest(7999, '10.64.0.2', 'x', { timeoutMs: 5000 })).rejects.toThrow(
      /connect-error .*refused/i,
    );
  });

  it('setNetem() impairs ppp0 at run time and removes it again', async () => {
    const from = p.consoleMark();
    await p.setNetem('delay 50ms');
    await p.waitForConsole(/^CELLSTACK@@NETEM egress ppp0 delay 50ms$/, 5000, from);
    await p.waitForConsole(/^CELLSTACK@@NETEM ingress ppp0 delay 50ms$/, 5000, from);
    const t0 = Date.now();
    const r = await p.connectFromGuest(7001);
    expect(r.bytes).toBe(100_000);
    await p.setNetem(null);
    await p.waitForConsole(/^CELLSTACK@@NETEM off ppp0$/, 5000, from);
    await expect(p.setNetem('delay 1ms; reboot')).rejects.toThrow(/unexpected characters/);
    expect(Date.now() - t0).toBeLessThan(30_000);
  });

  it('the bridge counted the bytes both ways', () => {
    const s = line.stats();
    expect(s.up.bytesOut).toBe(s.up.bytesIn);
    expect(s.down.bytesOut).toBe(s.down.bytesIn);
    expect(s.down.bytesOut).toBeGreaterThan(200_000);
    expect(s.up.corrupted + s.down.corrupted).toBe(0);
  });
});
