import { describe, expect, it } from 'vitest';
import { emitIcmp, IcmpType, parseIcmp } from '../../src/ip/icmp.js';
import { emitIpv4Packet, IpProtocol, parseIpv4Packet } from '../../src/ip/ipv4.js';
import { chapMd5 } from '../../src/ppp/chap.js';
import { Protocol } from '../../src/ppp/frame.js';
import { IpcpOpt } from '../../src/ppp/ipcp.js';
import { LcpOpt } from '../../src/ppp/lcp.js';
import { type PppConfig, PppCore, type PppEvent } from '../../src/ppp/link-core.js';
import { Code } from '../../src/ppp/packet.js';
import { parseIpv4 } from '../../src/util/ipv4.js';
import { ScriptedPeer } from '../helpers/ppp-peer.js';

const PEER_MAGIC = [0x45, 0x3f, 0xfe, 0x1f];

function setup(config: PppConfig = {}) {
  let r = 0x1f331ed0;
  const core = new PppCore({ random: () => ++r, ...config });
  const peer = new ScriptedPeer();
  const events: PppEvent[] = [];
  const pump = () => {
    const got = peer.read(core.takeOutput());
    events.push(...core.takeEvents());
    return got;
  };
  const feed = (bytes: Uint8Array, now: number) => {
    core.receive(bytes, now);
    return pump();
  };
  return { core, peer, events, pump, feed };
}

/** Brings LCP up the way pppd 2.4.9 does (its ConfReq: asyncmap 0, [auth], magic, pcomp, accomp). */
function lcpUp(t: ReturnType<typeof setup>, auth?: number[]) {
  t.core.open(0);
  const [req] = t.pump();
  expect(req).toMatchObject({ protocol: Protocol.LCP, code: Code.ConfReq });
  const peerOpts = [
    { type: LcpOpt.ACCM, data: [0, 0, 0, 0] },
    ...(auth ? [{ type: LcpOpt.AuthProtocol, data: auth }] : []),
    { type: LcpOpt.MagicNumber, data: PEER_MAGIC },
    { type: LcpOpt.PFC, data: [] },
    { type: LcpOpt.ACFC, data: [] },
  ];
  const ack = t.feed(t.peer.configure(Protocol.LCP, Code.ConfReq, 1, peerOpts), 10);
  expect(ack[0]).toMatchObject({ protocol: Protocol.LCP, code: Code.ConfAck, id: 1 });
  t.feed(t.peer.packet(Protocol.LCP, Code.ConfAck, req!.id, req!.data), 20);
  return req!;
}

function ipcpUp(t: ReturnType<typeof setup>) {
  const sent = t.pump();
  const req = [...t.peer.seen]
    .reverse()
    .find((s) => s.protocol === Protocol.IPCP && s.code === Code.ConfReq)!;
  expect(req.options.map((o) => o.type)).toEqual([
    IpcpOpt.IpAddress,
    IpcpOpt.PrimaryDns,
    IpcpOpt.SecondaryDns,
  ]);
  // pppd: its own request with VJ and its address, then a Nak with our address and DNS.
  let got = t.feed(
    t.peer.configure(Protocol.IPCP, Code.ConfReq, 1, [
      { type: IpcpOpt.IpCompression, data: [0x00, 0x2d, 0x0f, 0x01] },
      { type: IpcpOpt.IpAddress, data: [10, 64, 0, 1] },
    ]),
    30,
  );
  expect(got[0]).toMatchObject({ protocol: Protocol.IPCP, code: Code.ConfRej });
  expect(got[0]!.options.map((o) => o.type)).toEqual([IpcpOpt.IpCompression]);
  got = t.feed(
    t.peer.configure(Protocol.IPCP, Code.ConfNak, req.id, [
      { type: IpcpOpt.IpAddress, data: [10, 64, 0, 2] },
      { type: IpcpOpt.PrimaryDns, data: [10, 64, 0, 1] },
      { type: IpcpOpt.SecondaryDns, data: [10, 64, 0, 1] },
    ]),
    40,
  );
  const req2 = got.find((s) => s.protocol === Protocol.IPCP && s.code === Code.ConfReq)!;
  t.feed(
    t.peer.configure(Protocol.IPCP, Code.ConfReq, 2, [{ type: IpcpOpt.IpAddress, data: [10, 64, 0, 1] }]),
    50,
  );
  t.feed(t.peer.packet(Protocol.IPCP, Code.ConfAck, req2.id, req2.data), 60);
  return sent;
}

describe('PppCore against a scripted peer', () => {
  it('negotiates LCP, rejects VJ, learns address and DNS from Naks, comes up', () => {
    const t = setup();
    const req = lcpUp(t);
    expect(req.options.map((o) => o.type)).toEqual([
      LcpOpt.ACCM,
      LcpOpt.MagicNumber,
      LcpOpt.PFC,
      LcpOpt.ACFC,
    ]);
    expect(t.core.phase).toBe('network');
    ipcpUp(t);
    const up = t.events.find((e) => e.type === 'up');
    expect(up).toEqual({
      type: 'up',
      info: { localAddress: '10.64.0.2', peerAddress: '10.64.0.1', dns: ['10.64.0.1'], mtu: 1500 },
    });
    expect(t.core.lcpAgreement).toMatchObject({
      sendAccm: 0,
      sendPfc: true,
      sendAcfc: true,
      receiveAccm: 0,
      auth: null,
    });
    const magic = Buffer.from(req.options.find((o) => o.type === LcpOpt.MagicNumber)!.data)
      .toString('hex')
      .replace(/^0+/, '');
    expect(t.events.filter((e) => e.type === 'log').map((e) => (e.type === 'log' ? e.line : ''))).toContain(
      `sent [LCP ConfReq id=0x1 <asyncmap 0x0> <magic 0x${magic}> <pcomp> <accomp>]`,
    );
  });

  it('Protocol-Rejects IPv6CP and CCP, answers Echo-Request with its magic', () => {
    const t = setup();
    const req = lcpUp(t);
    const magic = [...req.options.find((o) => o.type === LcpOpt.MagicNumber)!.data];
    let got = t.feed(t.peer.packet(Protocol.IPV6CP, Code.ConfReq, 1, [1, 10, 0, 0, 0, 0, 0, 0, 0, 1]), 30);
    expect(got[0]).toMatchObject({ protocol: Protocol.LCP, code: Code.ProtRej });
    expect([...got[0]!.data.subarray(0, 2)]).toEqual([0x80, 0x57]);
    got = t.feed(t.peer.packet(Protocol.CCP, Code.ConfReq, 1, [0x12, 6, 0, 0, 0, 1]), 31);
    expect([...got[0]!.data.subarray(0, 2)]).toEqual([0x80, 0xfd]);
    got = t.feed(t.peer.packet(Protocol.LCP, Code.EchoReq, 7, [...PEER_MAGIC, 1, 2]), 32);
    expect(got[0]).toMatchObject({ protocol: Protocol.LCP, code: Code.EchoRep, id: 7 });
    expect([...got[0]!.data]).toEqual([...magic, 1, 2]);
    expect(t.core.stats().protocolRejected).toBe(2);
  });

  it('authenticates with PAP and fails fast with AUTH_FAILED on Authenticate-Nak', () => {
    const t = setup({ user: 'cellstack', password: 's3cret' });
    lcpUp(t, [0xc0, 0x23]);
    expect(t.core.phase).toBe('authenticate');
    const [auth] = t.pump().length
      ? t.peer.seen.slice(-1)
      : t.peer.seen.filter((s) => s.protocol === Protocol.PAP);
    expect(auth).toMatchObject({ protocol: Protocol.PAP, code: 1 });
    expect(Buffer.from(auth!.data).toString('latin1')).toBe('\x09cellstack\x06s3cret');
    const logs = t.events.filter((e) => e.type === 'log').map((e) => (e.type === 'log' ? e.line : ''));
    expect(logs.join('\n')).toContain('PAP AuthReq id=0x1 user="cellstack" password=<hidden>');
    expect(logs.join('\n')).not.toContain('s3cret');
    t.feed(t.peer.packet(Protocol.PAP, 3, auth!.id, [15, ...Buffer.from('Login incorrect')]), 100);
    const down = t.events.find((e) => e.type === 'down');
    expect(down?.type === 'down' && down.error.code).toBe('AUTH_FAILED');
    expect(down?.type === 'down' && down.error.message).toContain('Login incorrect');
    expect(t.peer.seen.at(-1)).toMatchObject({ protocol: Protocol.LCP, code: Code.TermReq });
  });

  it('retries PAP on the restart timer and gives up with AUTH_TIMEOUT', () => {
    const t = setup({ user: 'u', password: 'p', pap: { restartMs: 3000, maxRequests: 3 } });
    lcpUp(t, [0xc0, 0x23]);
    for (const now of [3020, 6020, 9020]) {
      t.core.tick(now);
      t.pump();
    }
    expect(t.peer.seen.filter((s) => s.protocol === Protocol.PAP)).toHaveLength(3);
    expect(t.events.find((e) => e.type === 'down')).toMatchObject({ error: { code: 'AUTH_TIMEOUT' } });
  });

  it('answers CHAP challenges (also re-challenges) with MD5(id || secret || challenge)', () => {
    const t = setup({ user: 'cellstack', password: 'chap-secret' });
    lcpUp(t, [0xc2, 0x23, 0x05]);
    const challenge = [0x2f, 0xf1, 0x36, 0xe2, 0x79, 0x31, 0xa3, 0x27];
    let got = t.feed(
      t.peer.packet(Protocol.CHAP, 1, 0x23, [challenge.length, ...challenge, ...Buffer.from('rig-peer')]),
      30,
    );
    expect(got[0]).toMatchObject({ protocol: Protocol.CHAP, code: 2, id: 0x23 });
    const expected = chapMd5(0x23, 'chap-secret', Uint8Array.from(challenge));
    expect([...got[0]!.data]).toEqual([16, ...expected, ...Buffer.from('cellstack')]);
    got = t.feed(t.peer.packet(Protocol.CHAP, 3, 0x23, [...Buffer.from('Access granted')]), 31);
    expect(t.core.phase).toBe('network');
    expect(got.some((s) => s.protocol === Protocol.IPCP)).toBe(true);
    got = t.feed(
      t.peer.packet(Protocol.CHAP, 1, 0x24, [challenge.length, ...challenge, ...Buffer.from('rig-peer')]),
      5000,
    );
    expect(got[0]).toMatchObject({ protocol: Protocol.CHAP, code: 2, id: 0x24 });
    t.feed(t.peer.packet(Protocol.CHAP, 4, 0x24, [...Buffer.from('nope')]), 5001);
    expect(t.events.find((e) => e.type === 'down')).toMatchObject({ error: { code: 'AUTH_FAILED' } });
  });

  it('Naks a peer that asks for address 0.0.0.0 with the configured hint (slirp does)', () => {
    const t = setup({ ipcp: { peerAddressHint: '10.0.2.2' } });
    lcpUp(t);
    t.pump();
    const got = t.feed(
      t.peer.configure(Protocol.IPCP, Code.ConfReq, 5, [{ type: IpcpOpt.IpAddress, data: [0, 0, 0, 0] }]),
      30,
    );
    expect(got[0]).toMatchObject({ protocol: Protocol.IPCP, code: Code.ConfNak, id: 5 });
    expect([...got[0]!.options[0]!.data]).toEqual([10, 0, 2, 2]);
  });

  it('carries on without DNS when the peer rejects the DNS options', () => {
    const t = setup();
    lcpUp(t);
    const req = t.peer.seen.find((s) => s.protocol === Protocol.IPCP && s.code === Code.ConfReq)!;
    let got = t.feed(
      t.peer.configure(Protocol.IPCP, Code.ConfRej, req.id, [
        { type: IpcpOpt.PrimaryDns, data: [0, 0, 0, 0] },
        { type: IpcpOpt.SecondaryDns, data: [0, 0, 0, 0] },
      ]),
      30,
    );
    const req2 = got.find((s) => s.protocol === Protocol.IPCP && s.code === Code.ConfReq)!;
    expect(req2.options.map((o) => o.type)).toEqual([IpcpOpt.IpAddress]);
    got = t.feed(
      t.peer.configure(Protocol.IPCP, Code.ConfNak, req2.id, [
        { type: IpcpOpt.IpAddress, data: [10, 0, 2, 15] },
      ]),
      40,
    );
    const req3 = got.find((s) => s.protocol === Protocol.IPCP && s.code === Code.ConfReq)!;
    t.feed(
      t.peer.configure(Protocol.IPCP, Code.ConfReq, 9, [{ type: IpcpOpt.IpAddress, data: [10, 0, 2, 2] }]),
      50,
    );
    t.feed(t.peer.packet(Protocol.IPCP, Code.ConfAck, req3.id, req3.data), 60);
    expect(t.events.find((e) => e.type === 'up')).toMatchObject({
      info: { localAddress: '10.0.2.15', dns: [] },
    });
  });

  it('passes IP packets up and down once IPCP is up, with compressed headers', () => {
    const t = setup();
    lcpUp(t);
    ipcpUp(t);
    const ping = emitIpv4Packet({
      source: parseIpv4('10.64.0.1'),
      destination: parseIpv4('10.64.0.2'),
      protocol: IpProtocol.ICMP,
      identification: 1,
      payload: emitIcmp({ type: IcmpType.EchoRequest, code: 0, rest: 0x00010001, body: new Uint8Array(8) }),
    });
    t.feed(t.peer.frame(Protocol.IPv4, ping), 70);
    const ip = t.events.find((e) => e.type === 'ip');
    expect(ip?.type === 'ip' && [...ip.packet]).toEqual([...ping]);
    expect(t.core.sendIp(ping)).toBe(true);
    const out = t.core.takeOutput();
    // ACFC and PFC agreed: the frame starts with the one-octet Protocol 0x21 right after the flag.
    expect([...out[0]!.subarray(0, 2)]).toEqual([0x7e, 0x21]);
    t.peer.read(out);
    expect(parseIcmp(parseIpv4Packet(t.peer.ip[0]!).payload).type).toBe(IcmpType.EchoRequest);
  });

  it('declares the peer dead after lcp-echo-failure unanswered Echo-Requests', () => {
    const t = setup({ lcp: { echoIntervalMs: 1000, echoFailure: 3 } });
    lcpUp(t);
    for (let now = 1020; now <= 5020; now += 1000) {
      t.core.tick(now);
      t.pump();
    }
    expect(t.peer.seen.filter((s) => s.code === Code.EchoReq && s.protocol === Protocol.LCP)).toHaveLength(3);
    expect(t.events.find((e) => e.type === 'down')).toMatchObject({ error: { code: 'PEER_DEAD' } });
  });

  it('terminates cleanly on close and reports LOCAL_CLOSE', () => {
    const t = setup();
    lcpUp(t);
    t.core.close(100);
    const term = t.pump().find((s) => s.code === Code.TermReq)!;
    t.feed(t.peer.packet(Protocol.LCP, Code.TermAck, term.id), 150);
    expect(t.events.filter((e) => e.type === 'down' || e.type === 'dead').map((e) => e.type)).toEqual([
      'down',
      'dead',
    ]);
    expect(t.events.find((e) => e.type === 'down')).toMatchObject({ error: { code: 'LOCAL_CLOSE' } });
    expect(t.core.phase).toBe('dead');
  });

  it('reports PEER_TERMINATED when the peer sends Terminate-Request', () => {
    const t = setup();
    lcpUp(t);
    const got = t.feed(t.peer.packet(Protocol.LCP, Code.TermReq, 0x10), 100);
    expect(got[0]).toMatchObject({ code: Code.TermAck, id: 0x10 });
    expect(t.events.find((e) => e.type === 'down')).toMatchObject({ error: { code: 'PEER_TERMINATED' } });
    t.core.tick(3200);
    t.pump();
    expect(t.core.phase).toBe('dead');
  });

  it('detects a looped-back line from its own Magic-Number', () => {
    const t = setup();
    t.core.open(0);
    let down: PppEvent | undefined;
    // A modem in loopback returns every byte: feed our own output back to us.
    for (let i = 0; i < 100 && !down; i++) {
      const out = t.core.takeOutput();
      if (out.length === 0) t.core.tick(i * 3000);
      for (const b of out) t.core.receive(b, i * 10);
      down = t.core.takeEvents().find((e) => e.type === 'down');
    }
    expect(down).toMatchObject({ error: { code: 'LOOPED_BACK' } });
  });
});

describe('PppCore renegotiation', () => {
  it('goes down with RENEGOTIATING when the peer restarts LCP, and comes back up', () => {
    const t = setup();
    lcpUp(t);
    ipcpUp(t);
    expect(t.events.filter((e) => e.type === 'up')).toHaveLength(1);
    // A restarted pppd sends a fresh Configure-Request on the same line.
    const restart = t.feed(
      t.peer.configure(Protocol.LCP, Code.ConfReq, 0x21, [
        { type: LcpOpt.ACCM, data: [0, 0, 0, 0] },
        { type: LcpOpt.MagicNumber, data: [1, 2, 3, 4] },
      ]),
      1000,
    );
    expect(t.events.find((e) => e.type === 'down')).toMatchObject({ error: { code: 'RENEGOTIATING' } });
    expect(t.core.phase).toBe('establish');
    const req = restart.find((s) => s.protocol === Protocol.LCP && s.code === Code.ConfReq)!;
    expect(restart.find((s) => s.code === Code.ConfAck)).toMatchObject({ id: 0x21 });
    t.feed(t.peer.packet(Protocol.LCP, Code.ConfAck, req.id, req.data), 1010);
    expect(t.core.phase).toBe('network');
    ipcpUp(t);
    expect(t.events.filter((e) => e.type === 'up')).toHaveLength(2);
    expect(t.events.filter((e) => e.type === 'dead')).toHaveLength(0);
  });
});
