import { describe, expect, it } from 'vitest';
import { emitIcmp, IcmpType, parseIcmp } from '../../src/ip/icmp.js';
import { emitIpv4Packet, IpProtocol, parseIpv4Packet } from '../../src/ip/ipv4.js';
import { chapMd5 } from '../../src/ppp/chap.js';
import { Protocol } from '../../src/ppp/frame.js';
import { IpcpOpt } from '../../src/ppp/ipcp.js';
import { LcpOpt } from '../../src/ppp/lcp.js';
import { FLAG_IDLE_MS, type PppConfig, PppCore, type PppEvent } from '../../src/ppp/link-core.js';
import { Code } from '../../src/ppp/packet.js';
import { VjCompressor } from '../../src/ppp/vj/compressor.js';
import { VjDecompressor } from '../../src/ppp/vj/decompressor.js';
import { parseIpv4 } from '../../src/util/ipv4.js';
import { ScriptedPeer } from '../helpers/ppp-peer.js';
import { tcpPacket, udpPacket } from './vj-packets.js';

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

/**
 * IPCP the way pppd 2.4.9 does it: its own request with VJ (0x002d, Max-Slot-Id 15, Comp-Slot-Id
 * 1) and its address, then a Nak with our address and DNS. With `vj` (our default) we ask for
 * VJ too and Ack pppd's; without, we neither ask nor agree (ConfRej).
 */
function ipcpUp(t: ReturnType<typeof setup>, vj = true) {
  const sent = t.pump();
  const req = [...t.peer.seen]
    .reverse()
    .find((s) => s.protocol === Protocol.IPCP && s.code === Code.ConfReq)!;
  expect(req.options.map((o) => o.type)).toEqual([
    ...(vj ? [IpcpOpt.IpCompression] : []),
    IpcpOpt.IpAddress,
    IpcpOpt.PrimaryDns,
    IpcpOpt.SecondaryDns,
  ]);
  if (vj) expect([...req.options[0]!.data]).toEqual([0x00, 0x2d, 0x0f, 0x01]);
  let got = t.feed(
    t.peer.configure(Protocol.IPCP, Code.ConfReq, 1, [
      { type: IpcpOpt.IpCompression, data: [0x00, 0x2d, 0x0f, 0x01] },
      { type: IpcpOpt.IpAddress, data: [10, 64, 0, 1] },
    ]),
    30,
  );
  if (vj) {
    expect(got[0]).toMatchObject({ protocol: Protocol.IPCP, code: Code.ConfAck, id: 1 });
  } else {
    expect(got[0]).toMatchObject({ protocol: Protocol.IPCP, code: Code.ConfRej });
    expect(got[0]!.options.map((o) => o.type)).toEqual([IpcpOpt.IpCompression]);
  }
  got = t.feed(
    t.peer.configure(Protocol.IPCP, Code.ConfNak, req.id, [
      { type: IpcpOpt.IpAddress, data: [10, 64, 0, 2] },
      { type: IpcpOpt.PrimaryDns, data: [10, 64, 0, 1] },
      { type: IpcpOpt.SecondaryDns, data: [10, 64, 0, 1] },
    ]),
    40,
  );
  const req2 = got.find((s) => s.protocol === Protocol.IPCP && s.code === Code.ConfReq)!;
  if (!vj) {
    t.feed(
      t.peer.configure(Protocol.IPCP, Code.ConfReq, 2, [{ type: IpcpOpt.IpAddress, data: [10, 64, 0, 1] }]),
      50,
    );
  }
  t.feed(t.peer.packet(Protocol.IPCP, Code.ConfAck, req2.id, req2.data), 60);
  return sent;
}

describe('PppCore against a scripted peer', () => {
  it('negotiates LCP, agrees VJ both ways, learns address and DNS from Naks, comes up', () => {
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
    expect(t.core.vj).toEqual({
      send: { maxSlotId: 15, compSlotId: true },
      receive: { maxSlotId: 15, compSlotId: true },
    });
    const logs = t.events.filter((e) => e.type === 'log').map((e) => (e.type === 'log' ? e.line : ''));
    expect(logs).toContain('rcvd [IPCP ConfReq id=0x1 <compress VJ 0f 01> <addr 10.64.0.1>]');
    expect(logs).toContain('sent [IPCP ConfAck id=0x1 <compress VJ 0f 01> <addr 10.64.0.1>]');
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
    expect(req2.options.map((o) => o.type)).toEqual([IpcpOpt.IpCompression, IpcpOpt.IpAddress]);
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
    // After a second of silence the frame opens with its own Flag (RFC 1662 section 4.4.2).
    expect(t.core.sendIp(ping, 70 + FLAG_IDLE_MS)).toBe(true);
    const out = t.core.takeOutput();
    // ACFC and PFC agreed: the frame starts with the one-octet Protocol 0x21 right after the flag.
    expect([...out[0]!.subarray(0, 2)]).toEqual([0x7e, 0x21]);
    expect(out[0]!.at(-1)).toBe(0x7e);
    // Right after it, the next frame shares that closing Flag (section 3.1).
    expect(t.core.sendIp(ping, 80 + FLAG_IDLE_MS)).toBe(true);
    const next = t.core.takeOutput();
    expect(next[0]![0]).toBe(0x21);
    t.peer.read([...out, ...next]);
    expect(t.peer.ip).toHaveLength(2);
    expect(parseIcmp(parseIpv4Packet(t.peer.ip[0]!).payload).type).toBe(IcmpType.EchoRequest);
    expect([...t.peer.ip[1]!]).toEqual([...ping]);
  });

  it('opens every frame with a Flag when sharedFlags is false', () => {
    const t = setup({ sharedFlags: false });
    lcpUp(t);
    ipcpUp(t);
    const packet = emitIpv4Packet({
      source: parseIpv4('10.64.0.2'),
      destination: parseIpv4('10.64.0.1'),
      protocol: IpProtocol.ICMP,
      identification: 2,
      payload: emitIcmp({ type: IcmpType.EchoReply, code: 0, rest: 0, body: new Uint8Array(4) }),
    });
    t.core.sendIp(packet, 100);
    t.core.sendIp(packet, 101);
    const out = t.core.takeOutput();
    expect(out.map((b) => b[0])).toEqual([0x7e, 0x7e]);
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

describe('PppCore with VJ header compression (RFC 1144, RFC 1332 3.2)', () => {
  const bulk = (i: number, n = 100) => tcpPacket({ seq: 1 + n * i, ack: 77, id: 10 + i, payload: n });

  function peerFrames(packets: Uint8Array[], c = new VjCompressor()) {
    const peer = new ScriptedPeer();
    return packets.map((p) => {
      const out = c.compress(p);
      return peer.frame(out.protocol, out.bytes);
    });
  }

  function ipEvents(t: ReturnType<typeof setup>) {
    return t.events.flatMap((e) => (e.type === 'ip' ? [e.packet] : []));
  }

  it('sends TCP through the compressor, other IP as it is; the frames on the wire are the VJ frames', () => {
    const t = setup();
    lcpUp(t);
    ipcpUp(t);
    t.events.length = 0;
    for (let i = 0; i < 5; i++) expect(t.core.sendIp(bulk(i))).toBe(true);
    t.core.sendIp(udpPacket(1));
    t.pump();
    expect(t.peer.vj.map((f) => f.protocol)).toEqual([0x2f, 0x2d, 0x2d, 0x2d, 0x2d]);
    expect(t.peer.ip).toHaveLength(1);
    const d = new VjDecompressor();
    for (const [i, f] of t.peer.vj.entries()) expect(d.decompress(f.protocol, f.info)).toEqual(bulk(i));
    expect(t.core.stats().vj).toMatchObject({ compressedOut: 4, uncompressedOut: 1, ipOut: 1 });
    expect(t.core.stats().ipOut).toBe(6);
    // Captures see the real frames: PFC'd protocol 0x2d, then 3 octets of header and the data.
    const out = t.events.flatMap((e) => (e.type === 'frame' && e.direction === 'out' ? [e.frame] : []));
    expect(out.map((f) => f[0])).toEqual([0x2f, 0x2d, 0x2d, 0x2d, 0x2d, 0x21]);
    expect(out[1]!.length).toBe(1 + 3 + 100);
    // No log line per data frame.
    expect(t.events.filter((e) => e.type === 'log')).toEqual([]);
  });

  it("rebuilds the peer's VJ frames into the 'ip' event", () => {
    const t = setup();
    lcpUp(t);
    ipcpUp(t);
    t.events.length = 0;
    const pkts = [0, 1, 2, 3].map((i) => bulk(i));
    t.feed(Buffer.concat(peerFrames(pkts)), 100);
    expect(ipEvents(t)).toEqual(pkts);
    expect(t.core.stats().vj).toMatchObject({ compressedIn: 3, uncompressedIn: 1, tossed: 0, errors: 0 });
    expect(t.core.stats().ipIn).toBe(4);
  });

  it('tosses compressed frames after an FCS error, in order within one chunk, however the bytes are split', () => {
    const c = new VjCompressor();
    const pkts = [0, 1, 2, 3, 4].map((i) => bulk(i));
    const frames = peerFrames(pkts, c);
    const bad = Uint8Array.from(frames[2]!);
    bad[10]! ^= 0x01; // inside the data: the FCS fails
    // TCP retransmits segment 2: it goes uncompressed and resynchronises; segment 5 follows.
    const more = peerFrames([bulk(2), bulk(5)], c);
    const wire = Buffer.concat([frames[0]!, frames[1]!, bad, frames[3]!, frames[4]!, ...more]);
    for (const cut of [0, 5, 150, 230, 300, 420, wire.length - 3]) {
      const t = setup();
      lcpUp(t);
      ipcpUp(t);
      t.events.length = 0;
      t.feed(wire.subarray(0, cut), 100);
      t.feed(wire.subarray(cut), 101);
      expect(ipEvents(t)).toEqual([pkts[0], pkts[1], bulk(2), bulk(5)]);
      const s = t.core.stats();
      expect(s.hdlc.fcsErrors).toBe(1);
      expect(s.vj).toMatchObject({ tossed: 2, tossEvents: 1, compressedIn: 2, uncompressedIn: 2, errors: 0 });
    }
  });

  it('Protocol-Rejects VJ frames when VJ is not agreed', () => {
    const t = setup({ ipcp: { vjCompression: false } });
    lcpUp(t);
    ipcpUp(t, false);
    expect(t.core.vj).toEqual({ send: undefined, receive: undefined });
    const got = t.feed(peerFrames([bulk(0)])[0]!, 100);
    expect(got[0]).toMatchObject({ protocol: Protocol.LCP, code: Code.ProtRej });
    expect([...got[0]!.data.subarray(0, 2)]).toEqual([0x00, 0x2f]);
    // And sends plain IP.
    t.core.sendIp(bulk(0));
    t.pump();
    expect(t.peer.ip).toHaveLength(1);
    expect(t.core.stats().vj).toMatchObject({ compressedOut: 0, uncompressedOut: 0, ipOut: 0 });
  });

  it('starts afresh when IPCP comes up again: the old slots are gone on both sides', () => {
    const t = setup();
    lcpUp(t);
    ipcpUp(t);
    const c = new VjCompressor();
    t.feed(Buffer.concat(peerFrames([bulk(0), bulk(1)], c)), 100);
    t.core.sendIp(bulk(0));
    // The peer restarts IPCP (pppd after a renegotiation): ConfReq in Opened.
    t.feed(
      t.peer.configure(Protocol.IPCP, Code.ConfReq, 9, [
        { type: IpcpOpt.IpCompression, data: [0x00, 0x2d, 0x0f, 0x01] },
        { type: IpcpOpt.IpAddress, data: [10, 64, 0, 1] },
      ]),
      200,
    );
    expect(t.core.vj).toBeUndefined();
    const lastReq = () =>
      [...t.peer.seen].reverse().find((s) => s.protocol === Protocol.IPCP && s.code === Code.ConfReq)!;
    // A new negotiation starts from 0.0.0.0 again (RFC 1661: options reset): Nak, then Ack.
    t.feed(
      t.peer.configure(Protocol.IPCP, Code.ConfNak, lastReq().id, [
        { type: IpcpOpt.IpAddress, data: [10, 64, 0, 2] },
      ]),
      205,
    );
    const req = lastReq();
    t.feed(t.peer.packet(Protocol.IPCP, Code.ConfAck, req.id, req.data), 210);
    expect(t.core.vj?.receive).toBeDefined();
    t.events.length = 0;
    // The peer's compressor kept its state (it should not have): its next frame has no slot
    // number, and our fresh decompressor tosses it rather than guess.
    t.feed(peerFrames([bulk(2)], c)[0]!, 300);
    expect(ipEvents(t)).toEqual([]);
    expect(t.core.stats().vj.tossed).toBe(1);
    // Our compressor starts over: the next segment goes uncompressed.
    t.peer.vj.length = 0;
    t.core.sendIp(bulk(1));
    t.pump();
    expect(t.peer.vj.map((f) => f.protocol)).toEqual([0x2f]);
  });

  it('a small data segment costs 3 octets of header with VJ, 40 without', () => {
    const sizes: number[] = [];
    for (const vj of [true, false]) {
      const t = setup({ ipcp: { vjCompression: vj } });
      lcpUp(t);
      ipcpUp(t, vj);
      t.events.length = 0;
      for (let i = 0; i < 10; i++) t.core.sendIp(bulk(i, 10));
      t.pump();
      const frames = t.events.flatMap((e) => (e.type === 'frame' && e.direction === 'out' ? [e.frame] : []));
      sizes.push(frames.at(-1)!.length);
    }
    // One octet of (PFC'd) Protocol, then the header and 10 octets of data.
    expect(sizes).toEqual([1 + 3 + 10, 1 + 40 + 10]);
  });
});
