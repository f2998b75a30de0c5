import { existsSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { SerialPort } from 'serialport';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { peer } from '../harness/peers.js';
import { alive, processTree } from '../harness/proc.js';
import { type SlirpPeer, slirpProblem, startSlirpPeer } from '../harness/slirp.js';
import { startUmlPeer, type UmlPeer, umlProblem } from '../harness/uml.js';

/**
 * Proves the real-peer harness itself, without a PPP client: one literal LCP frame goes in,
 * the peer's frames and logs come out, kill/restart works, and stop() leaves no process.
 * The framing below is the minimum to build that frame and to recognise replies.
 */

const LCP_HEADER = Buffer.from([0xff, 0x03, 0xc0, 0x21]);
const CONF_REQ = 1;
const CONF_ACK = 2;
const TERM_REQ = 5;
const TERM_ACK = 6;

const FCS_TABLE = Array.from({ length: 256 }, (_, b) => {
  let v = b;
  for (let i = 0; i < 8; i++) v = v & 1 ? (v >>> 1) ^ 0x8408 : v >>> 1;
  return v;
});

function fcs16(bytes: Iterable<number>): number {
  let f = 0xffff;
  for (const b of bytes) f = (f >>> 8) ^ FCS_TABLE[(f ^ b) & 0xff]!;
  return f;
}

/** One RFC 1662 frame, every control character escaped (the default ACCM both peers start with). */
function frame(body: number[]): Buffer {
  const f = fcs16(body) ^ 0xffff;
  const out = [0x7e];
  for (const b of [...body, f & 0xff, f >>> 8]) {
    if (b < 0x20 || b === 0x7d || b === 0x7e) out.push(0x7d, b ^ 0x20);
    else out.push(b);
  }
  out.push(0x7e);
  return Buffer.from(out);
}

/** LCP packets (code, id, length, options) found in `data` in frames whose FCS checks. */
function lcpPackets(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let cur: number[] = [];
  let esc = false;
  for (const byte of data) {
    if (byte === 0x7e) {
      const u = Buffer.from(cur);
      if (u.length >= 8 && fcs16(u) === 0xf0b8 && u.subarray(0, 4).equals(LCP_HEADER)) {
        out.push(u.subarray(4, -2));
      }
      cur = [];
      esc = false;
    } else if (byte === 0x7d) esc = true;
    else {
      cur.push(esc ? byte ^ 0x20 : byte);
      esc = false;
    }
  }
  return out;
}

/** LCP Configure-Request id 0x42 with one option: magic number 0x12345678. */
const OUR_CONF_REQ = frame([0xff, 0x03, 0xc0, 0x21, CONF_REQ, 0x42, 0, 10, 5, 6, 0x12, 0x34, 0x56, 0x78]);

/** Everything a stream delivers, and a bounded wait for an LCP packet in it. */
function collect(stream: Readable) {
  const chunks: Buffer[] = [];
  stream.on('data', (d: Buffer) => chunks.push(d));
  const packets = () => lcpPackets(Buffer.concat(chunks));
  return {
    packets,
    async waitFor(pred: (p: Buffer) => boolean, ms: number): Promise<Buffer> {
      const deadline = Date.now() + ms;
      for (;;) {
        const hit = packets().find(pred);
        if (hit) return hit;
        if (Date.now() > deadline) throw new Error(`no such LCP packet in ${ms} ms; got ${packets().length}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

/** Still in the process table, zombies included: stop() must leave nothing for PID 1 to reap. */
const present = (pid: number) => existsSync(`/proc/${pid}`);

const has = (p: Buffer, code: number, id?: number) => p[0] === code && (id === undefined || p[1] === id);

it('the test frame matches one built independently (the rig Python code, same bytes)', () => {
  expect(OUR_CONF_REQ.toString('hex')).toBe('7eff7d23c0217d21427d207d2a7d257d267d323456787d3d307e');
});

const uml = peer('uml', umlProblem());

describe.skipIf(uml.skip)('UML pppd peer', () => {
  let p: UmlPeer;
  let line: ReturnType<typeof collect>;

  beforeAll(async () => {
    p = await startUmlPeer();
    line = collect(p.serial);
    process.stderr.write(`UML peer ready in ${p.bootMs} ms\n`);
  }, 90_000);
  afterAll(() => p?.stop());

  it('is ready with pppd on ttyS0, sending its own ConfReqs (passive)', async () => {
    expect(p.sessions()).toBe(1);
    expect(p.pppdLog()).toMatch(/^Connect: ppp0 <--> \/dev\/ttyS0$/m);
    await p.waitForLog(
      /^sent \[LCP ConfReq id=0x1 <asyncmap 0x0> <magic 0x[0-9a-f]+> <pcomp> <accomp>\]/,
      5000,
    );
    await line.waitFor((q) => has(q, CONF_REQ, 1), 5000);
    expect(p.consoleLog()).toMatch(/^CELLSTACK@@BOOTED /m);
  });

  it('pppd receives a Configure-Request written to serial and acks it on serial', async () => {
    p.serial.write(OUR_CONF_REQ);
    await p.waitForLog(/^rcvd \[LCP ConfReq id=0x42 <magic 0x12345678>\]/, 5000);
    await p.waitForLog(/^sent \[LCP ConfAck id=0x42 <magic 0x12345678>\]/, 5000);
    const ack = await line.waitFor((q) => has(q, CONF_ACK, 0x42), 5000);
    expect(ack.subarray(4).toString('hex')).toBe('050612345678');
  });

  it('killPppd(KILL) ends the session and the guest starts the next one', async () => {
    const mark = p.logMark();
    await p.killPppd('KILL');
    expect(p.consoleLog()).toMatch(/^CELLSTACK@@PPPD-EXIT 1 137$/m);
    await p.waitForLog(/^Connect: ppp0 <--> \/dev\/ttyS0$/, 10_000, mark);
    expect(p.sessions()).toBe(2);
  });

  it('killPppd(TERM) makes pppd send a Terminate-Request; acking it lets pppd exit at once', async () => {
    const mark = p.logMark();
    const t0 = Date.now();
    const killed = p.killPppd('TERM');
    const req = await p.waitForLog(/^sent \[LCP TermReq id=0x[0-9a-f]+/, 5000, mark);
    const id = Number.parseInt(/id=0x([0-9a-f]+)/.exec(req)![1]!, 16);
    await line.waitFor((q) => has(q, TERM_REQ, id), 5000);
    p.serial.write(frame([0xff, 0x03, 0xc0, 0x21, TERM_ACK, id, 0, 4]));
    await killed;
    // Without the Ack pppd would retransmit and give up after ~6 s.
    expect(Date.now() - t0).toBeLessThan(3000);
    await p.waitForLog(/^rcvd \[LCP TermAck/, 1000, mark);
    expect(p.consoleLog()).toMatch(/^CELLSTACK@@PPPD-EXIT 2 \d+$/m);
  });

  it('stop() ends every process of the guest', async () => {
    const tree = processTree(p.pid, true);
    expect(tree.length).toBeGreaterThan(1);
    await p.stop();
    expect(tree.filter((q) => present(q.pid))).toEqual([]);
    await p.stop(); // idempotent
  });
});

describe.skipIf(uml.skip)('UML pppd peer with options', () => {
  let p: UmlPeer;

  beforeAll(async () => {
    p = await startUmlPeer({
      auth: 'chap',
      services: ['dns', 'echo'],
      netem: 'delay 20ms',
      pppdOptions: ['mru', '1400'],
      once: true,
    });
    process.stderr.write(`UML peer with services ready in ${p.bootMs} ms\n`);
  }, 90_000);
  afterAll(() => p?.stop());

  it('passes auth and extra options to pppd and starts the services', async () => {
    await p.waitForLog(/^sent \[LCP ConfReq id=0x1 <mru 1400> <asyncmap 0x0> <auth chap MD5> <magic/, 5000);
    const log = p.consoleLog();
    expect(log).toMatch(/^\[dns\] dnsmasq\[\d+\]: started/m);
    expect(log).toMatch(/^\[echo\] listening on 10\.64\.0\.1/m);
    expect(log).not.toMatch(/CELLSTACK@@ERROR/);
  });

  it('with `once`, the guest halts after the first session', async () => {
    await p.killPppd('KILL');
    const deadline = Date.now() + 10_000;
    while (alive(p.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(alive(p.pid)).toBe(false);
    expect(p.consoleLog()).toMatch(/^CELLSTACK@@POWEROFF$/m);
    expect(p.sessions()).toBe(1);
  });
});

const slirp = peer('slirp', slirpProblem());

describe.skipIf(slirp.skip)('slirp peer', () => {
  let s: SlirpPeer;
  let port: SerialPort;

  beforeAll(async () => {
    s = await startSlirpPeer({ auth: 'pap' });
    process.stderr.write(`slirp peer ready in ${s.bootMs} ms\n`);
  }, 30_000);
  afterAll(async () => {
    if (port?.isOpen) await new Promise((r) => port.close(r));
    await s?.stop();
  });

  it('answers a Configure-Request on its pty and asks for MRU 1500 and PAP', async () => {
    port = new SerialPort({ path: s.path, baudRate: 115200, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    const line = collect(port);
    port.write(OUR_CONF_REQ);
    const ack = await line.waitFor((q) => has(q, CONF_ACK, 0x42), 5000);
    expect(ack.subarray(4).toString('hex')).toBe('050612345678');
    const req = await line.waitFor((q) => has(q, CONF_REQ), 5000);
    const options = req.subarray(4).toString('hex');
    expect(options).toContain('010405dc'); // MRU 1500, from `mtu 1500`
    expect(options).toContain('0304c023'); // PAP, from `+pap`
    expect(s.log()).toMatch(/SLiRP Ready/);
    expect(s.log()).not.toMatch(/^Error/m);
  });

  it('stop() ends socat, slirp and the namespaces', async () => {
    const tree = processTree(s.pid, true);
    expect(tree.length).toBe(3); // timeout, socat, slirp
    await new Promise((r) => port.close(r));
    await s.stop();
    expect(tree.filter((q) => present(q.pid))).toEqual([]);
  });
});
