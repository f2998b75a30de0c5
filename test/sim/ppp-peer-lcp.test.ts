import { describe, expect, it } from 'vitest';
import { Protocol, parsePppFrame } from '../../src/ppp/frame.js';
import { HdlcDecoder, HdlcEncoder } from '../../src/ppp/hdlc.js';
import { IpcpOpt } from '../../src/ppp/ipcp.js';
import { LcpOpt } from '../../src/ppp/lcp.js';
import { Code } from '../../src/ppp/packet.js';
import type { PppPeerConfig } from '../../src/sim/ppp-peer/config.js';
import { PppPeerCore } from '../../src/sim/ppp-peer/core.js';
import type { PppPeerEvent } from '../../src/sim/ppp-peer/events.js';
import { ScriptedPeer } from '../helpers/ppp-peer.js';
import { seededRandom } from '../helpers/seeded.js';

const DEVICE_MAGIC = [0x11, 0x22, 0x33, 0x44];
const PAP = [0xc0, 0x23];
const CHAP_MD5 = [0xc2, 0x23, 5];

/** The network side driven frame by frame by a hand-written device (`ScriptedPeer`). */
function setup(config: PppPeerConfig = {}) {
  const core = new PppPeerCore({ random: seededRandom(7), ...config });
  const device = new ScriptedPeer();
  const events: PppPeerEvent[] = [];
  const pump = () => {
    events.push(...core.takeEvents());
    return device.read(core.takeOutput());
  };
  const feed = (bytes: Uint8Array, now = 0) => {
    core.receive(bytes, now);
    return pump();
  };
  return { core, device, events, pump, feed };
}

type T = ReturnType<typeof setup>;

/** LCP up with the device Acking whatever we ask; returns our last ConfReq. */
function lcpUp(t: T) {
  t.core.open(0);
  const [req] = t.pump();
  expect(req).toMatchObject({ protocol: Protocol.LCP, code: Code.ConfReq });
  const ack = t.feed(
    t.device.configure(Protocol.LCP, Code.ConfReq, 1, [{ type: LcpOpt.MagicNumber, data: DEVICE_MAGIC }]),
  );
  expect(ack[0]).toMatchObject({ protocol: Protocol.LCP, code: Code.ConfAck });
  const after = t.feed(t.device.packet(Protocol.LCP, Code.ConfAck, req!.id, req!.data));
  return { req: req!, after };
}

function authOption(req: { options: { type: number; data: Uint8Array }[] }) {
  const o = req.options.find((x) => x.type === LcpOpt.AuthProtocol);
  return o ? [...o.data] : undefined;
}

describe('PppPeerCore LCP as the authenticator', () => {
  it('asks for the configured Authentication-Protocol, or none', () => {
    for (const [auth, want] of [
      ['none', undefined],
      ['pap', PAP],
      ['chap-md5', CHAP_MD5],
    ] as const) {
      const t = setup({ auth });
      t.core.open(0);
      const [req] = t.pump();
      expect(authOption(req!)).toEqual(want);
      expect(req!.options.map((o) => o.type)).toEqual([
        LcpOpt.ACCM,
        LcpOpt.MagicNumber,
        LcpOpt.PFC,
        LcpOpt.ACFC,
        ...(want ? [LcpOpt.AuthProtocol] : []),
      ]);
    }
  });

  it('falls back from CHAP to PAP when the device Naks CHAP suggesting PAP', () => {
    const t = setup({ auth: 'chap-md5', credentials: [{ user: 'u', password: 'p' }] });
    t.core.open(0);
    const [req] = t.pump();
    const [next] = t.feed(t.device.configure(Protocol.LCP, Code.ConfNak, req!.id, [{ type: 3, data: PAP }]));
    expect(next).toMatchObject({ protocol: Protocol.LCP, code: Code.ConfReq });
    expect(authOption(next!)).toEqual(PAP);
    t.feed(
      t.device.configure(Protocol.LCP, Code.ConfReq, 1, [{ type: LcpOpt.MagicNumber, data: DEVICE_MAGIC }]),
    );
    t.feed(t.device.packet(Protocol.LCP, Code.ConfAck, next!.id, next!.data));
    expect(t.core.phase).toBe('authenticate');
    // PAP Authenticate-Request: Peer-ID "u", Password "p" -> Ack, then IPCP starts.
    const out = t.feed(t.device.packet(Protocol.PAP, 1, 9, [1, 0x75, 1, 0x70]));
    expect(out[0]).toMatchObject({ protocol: Protocol.PAP, code: 2, id: 9 });
    expect(out[1]).toMatchObject({ protocol: Protocol.IPCP, code: Code.ConfReq });
    expect(t.core.phase).toBe('network');
  });

  it('terminates when the device refuses the authentication required', () => {
    const nak = setup({ auth: 'chap-md5', papFallback: false });
    nak.core.open(0);
    const [req] = nak.pump();
    const out = nak.feed(nak.device.configure(Protocol.LCP, Code.ConfNak, req!.id, [{ type: 3, data: PAP }]));
    expect(out.at(-1)).toMatchObject({ protocol: Protocol.LCP, code: Code.TermReq });
    expect(nak.events).toContainEqual(expect.objectContaining({ type: 'down', reason: 'auth-refused' }));

    const rej = setup({ auth: 'pap' });
    rej.core.open(0);
    const [req2] = rej.pump();
    const out2 = rej.feed(
      rej.device.configure(Protocol.LCP, Code.ConfRej, req2!.id, [{ type: 3, data: PAP }]),
    );
    expect(out2.at(-1)).toMatchObject({ protocol: Protocol.LCP, code: Code.TermReq });
    expect(rej.events).toContainEqual(expect.objectContaining({ type: 'down', reason: 'auth-refused' }));
  });

  it('rejects a device that asks the network to authenticate', () => {
    const t = setup();
    t.core.open(0);
    t.pump();
    const [rej] = t.feed(
      t.device.configure(Protocol.LCP, Code.ConfReq, 1, [
        { type: LcpOpt.AuthProtocol, data: PAP },
        { type: LcpOpt.MagicNumber, data: DEVICE_MAGIC },
      ]),
    );
    expect(rej).toMatchObject({ protocol: Protocol.LCP, code: Code.ConfRej });
    expect(rej!.options).toEqual([{ type: LcpOpt.AuthProtocol, data: Uint8Array.from(PAP) }]);
  });

  it('times out a device that never authenticates', () => {
    const t = setup({ auth: 'pap', authTimeoutMs: 5000 });
    lcpUp(t);
    t.core.tick(5000);
    t.pump();
    expect(t.events).toContainEqual(expect.objectContaining({ type: 'down', reason: 'auth-timeout' }));
    const auth = t.events.find((e) => e.type === 'auth');
    expect(auth?.type === 'auth' && auth.result).toMatchObject({ ok: false, timeout: true });
  });

  it('Acks a repeated PAP request whose Ack was lost', () => {
    const t = setup({ auth: 'pap', credentials: [{ user: 'u', password: 'p' }] });
    lcpUp(t);
    t.feed(t.device.packet(Protocol.PAP, 1, 1, [1, 0x75, 1, 0x70]));
    const again = t.feed(t.device.packet(Protocol.PAP, 1, 2, [1, 0x75, 1, 0x70]));
    expect(again).toEqual([expect.objectContaining({ protocol: Protocol.PAP, code: 2, id: 2 })]);
    expect(t.events.filter((e) => e.type === 'auth')).toHaveLength(1);
  });
});

describe('PppPeerCore IPCP server', () => {
  function ipcpStart(config: PppPeerConfig = {}) {
    const t = setup({ dns: ['10.0.0.53', '10.0.0.54'], ...config });
    const { after } = lcpUp(t);
    const req = after.find((p) => p.protocol === Protocol.IPCP && p.code === Code.ConfReq)!;
    expect(req.options).toEqual([{ type: IpcpOpt.IpAddress, data: Uint8Array.of(10, 0, 0, 1) }]);
    return { t, req };
  }

  it('Rejects VJ and NBNS, Naks 0.0.0.0 and DNS with the assigned values, then Acks', () => {
    const { t, req } = ipcpStart();
    const ask = (id: number, opts: { type: number; data: number[] }[]) =>
      t.feed(t.device.configure(Protocol.IPCP, Code.ConfReq, id, opts))[0]!;
    const rej = ask(1, [
      { type: IpcpOpt.IpCompression, data: [0x00, 0x2d, 0x0f, 0x01] },
      { type: IpcpOpt.IpAddress, data: [0, 0, 0, 0] },
      { type: IpcpOpt.PrimaryDns, data: [0, 0, 0, 0] },
      { type: IpcpOpt.PrimaryNbns, data: [0, 0, 0, 0] },
      { type: IpcpOpt.SecondaryDns, data: [0, 0, 0, 0] },
    ]);
    expect(rej.code).toBe(Code.ConfRej);
    expect(rej.options.map((o) => o.type)).toEqual([IpcpOpt.IpCompression, IpcpOpt.PrimaryNbns]);
    const nak = ask(2, [
      { type: IpcpOpt.IpAddress, data: [10, 9, 9, 9] },
      { type: IpcpOpt.PrimaryDns, data: [0, 0, 0, 0] },
      { type: IpcpOpt.SecondaryDns, data: [0, 0, 0, 0] },
    ]);
    expect(nak.code).toBe(Code.ConfNak);
    expect(nak.options.map((o) => [o.type, ...o.data])).toEqual([
      [IpcpOpt.IpAddress, 10, 0, 0, 2],
      [IpcpOpt.PrimaryDns, 10, 0, 0, 53],
      [IpcpOpt.SecondaryDns, 10, 0, 0, 54],
    ]);
    const ack = ask(3, [
      { type: IpcpOpt.IpAddress, data: [10, 0, 0, 2] },
      { type: IpcpOpt.PrimaryDns, data: [10, 0, 0, 53] },
      { type: IpcpOpt.SecondaryDns, data: [10, 0, 0, 54] },
    ]);
    expect(ack.code).toBe(Code.ConfAck);
    t.feed(t.device.packet(Protocol.IPCP, Code.ConfAck, req.id, req.data));
    expect(t.core.info).toMatchObject({ peerAddress: '10.0.0.2', dns: ['10.0.0.53', '10.0.0.54'] });
  });

  it('Naks a request without an address with the assigned one; Rejects a DNS it does not serve', () => {
    const { t } = ipcpStart({ dns: ['10.0.0.53'] });
    const [nak] = t.feed(t.device.configure(Protocol.IPCP, Code.ConfReq, 1, []));
    expect(nak).toMatchObject({ code: Code.ConfNak });
    expect(nak!.options.map((o) => [o.type, ...o.data])).toEqual([[IpcpOpt.IpAddress, 10, 0, 0, 2]]);
    const [rej] = t.feed(
      t.device.configure(Protocol.IPCP, Code.ConfReq, 2, [
        { type: IpcpOpt.IpAddress, data: [10, 0, 0, 2] },
        { type: IpcpOpt.SecondaryDns, data: [0, 0, 0, 0] },
      ]),
    );
    expect(rej).toMatchObject({ code: Code.ConfRej });
    expect(rej!.options.map((o) => o.type)).toEqual([IpcpOpt.SecondaryDns]);
  });
});

describe('PppPeerCore robustness', () => {
  it('counts malformed frames and packets, Protocol-Rejects unknown protocols, and stays up', () => {
    const t = setup();
    lcpUp(t);
    const enc = new HdlcEncoder();
    const raw = (bytes: number[]) => enc.encode(Uint8Array.from(bytes));
    const out = [
      ...t.feed(raw([0xff, 0x03, 0xc0, 0x20, 1, 2])), // even Protocol: malformed frame
      ...t.feed(raw([0xff, 0x03, 0xc0, 0x21, 9, 1, 0x00, 0x40])), // LCP Length past the packet
      ...t.feed(raw([0xff, 0x03, 0xc0, 0x21, 1])), // LCP header cut short
      ...t.feed(raw([0xff, 0x03, 0x80, 0x57, 1, 1, 0, 4])), // IPv6CP: not spoken
      ...t.feed(raw([0xff, 0x03, 0x00, 0x2d, 1, 2, 3, 4])), // VJ (Rejected in IPCP)
      ...t.feed(raw([0xff, 0x03, 0xc0, 0x23, 1, 1, 0, 6, 9, 0])), // PAP not agreed: Protocol-Reject
    ];
    t.feed(Uint8Array.of(0x7e, 0x01, 0x02, 0x03, 0x7e, 0x7d, 0x7e, 0x7e)); // runt, abort
    t.feed(Uint8Array.of(0x7e, 0xff, 0x03, 0xc0, 0x21, 0x09, 0x01, 0x00, 0x08, 0x00, 0x00, 0x7e)); // bad FCS
    const s = t.core.stats();
    expect(s.malformed).toBe(1);
    expect(s.lcp.malformed).toBe(2);
    expect(s.protocolRejected).toBe(3);
    expect(out.filter((p) => p.protocol === Protocol.LCP && p.code === Code.ProtRej)).toHaveLength(3);
    expect(s.hdlc).toMatchObject({ runts: 1, aborts: 1, fcsErrors: 1 });
    expect(t.core.phase).toBe('network');
    // IPCP answers an option list that does not parse with a Configure-Reject of it whole.
    t.core.receive(raw([0xff, 0x03, 0x80, 0x21, 1, 1, 0, 7, 3, 9, 0]), 0);
    const frames = new HdlcDecoder().push(Uint8Array.of(0x7e, ...t.core.takeOutput().flatMap((b) => [...b])));
    expect(frames.map((f) => [...parsePppFrame(f).info])).toEqual([[Code.ConfRej, 1, 0, 7, 3, 9, 0]]);
  });

  it('counts malformed PAP and CHAP packets', () => {
    const pap = setup({ auth: 'pap' });
    lcpUp(pap);
    pap.feed(pap.device.packet(Protocol.PAP, 1, 1, [5, 0x75])); // Peer-ID runs past the packet
    pap.feed(pap.device.frame(Protocol.PAP, Uint8Array.of(1, 1, 0))); // header cut short
    expect(pap.core.stats().auth.malformed).toBe(2);
    expect(pap.core.phase).toBe('authenticate');

    const chap = setup({ auth: 'chap-md5' });
    lcpUp(chap);
    chap.feed(chap.device.packet(Protocol.CHAP, 2, 1, [16, 1, 2])); // Value-Size past the packet
    chap.feed(chap.device.packet(Protocol.CHAP, 2, 1, [0])); // Value-Size 0
    expect(chap.core.stats().auth.malformed).toBe(2);
    expect(chap.core.phase).toBe('authenticate');
  });
});
