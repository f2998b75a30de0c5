import { describe, expect, it } from 'vitest';
import { describeFrame } from '../../src/ppp/describe.js';
import { Protocol } from '../../src/ppp/frame.js';
import { Ipcp, type IpcpConfig, IpcpOpt, type IpcpResult } from '../../src/ppp/ipcp.js';
import { Code, emitCpPacket, emitOptions, parseCpPacket, parseOptions } from '../../src/ppp/packet.js';
import { ConfigError } from '../../src/util/errors.js';

/**
 * The IP-Compression-Protocol option (RFC 1332 section 3.2) in IPCP: the option in a
 * Configure-Request says what its sender will receive, so our request asks the peer to send
 * us VJ, and the peer's request, once Acked, says how we send to it.
 */
type Opt = { type: number; data: number[] };
const VJ = (max: number, c: number): Opt => ({ type: IpcpOpt.IpCompression, data: [0x00, 0x2d, max, c] });
const ADDR = (a: number[]): Opt => ({ type: IpcpOpt.IpAddress, data: a });

function setup(config: IpcpConfig = {}) {
  const sent: Uint8Array[] = [];
  let up: IpcpResult | undefined;
  const ipcp = new Ipcp(
    { requestDns: false, ...config },
    {
      send: (p) => sent.push(p),
      up: (r) => {
        up = r;
      },
      down: () => undefined,
      finished: () => undefined,
    },
  );
  ipcp.fsm.open(0);
  ipcp.fsm.up(0);
  const take = () =>
    sent.splice(0).map((p) => ({ ...parseCpPacket(p), opts: parseOptions(parseCpPacket(p).data) }));
  const input = (code: number, id: number, opts: Opt[]) =>
    ipcp.fsm.input(
      emitCpPacket(code, id, emitOptions(opts.map((o) => ({ type: o.type, data: Uint8Array.from(o.data) })))),
      10,
    );
  const optsOf = (p: { opts: { type: number; data: Uint8Array }[] }) =>
    p.opts.map((o) => ({ type: o.type, data: [...o.data] }));
  return { ipcp, take, input, optsOf, result: () => up };
}

/** Our request Acked as it is, then the peer's `peerOpts` request: returns our answer. */
function finish(t: ReturnType<typeof setup>, peerOpts: Opt[]) {
  const [req] = t.take();
  t.input(Code.ConfAck, req!.id, t.optsOf(req!));
  t.input(Code.ConfReq, 0x42, peerOpts);
  return t.take()[0]!;
}

describe('IPCP IP-Compression-Protocol (VJ)', () => {
  it('asks for VJ with Max-Slot-Id 15 and Comp-Slot-Id 1 by default, and Acks pppd asking the same', () => {
    const t = setup();
    const [req] = t.take();
    expect(t.optsOf(req!)).toEqual([VJ(15, 1), ADDR([0, 0, 0, 0])]);
    expect(describeFrame(Protocol.IPCP, emitCpPacket(req!.code, req!.id, req!.data))).toBe(
      'IPCP ConfReq id=0x1 <compress VJ 0f 01> <addr 0.0.0.0>',
    );
    t.input(Code.ConfNak, req!.id, [ADDR([10, 64, 0, 2])]);
    const [req2] = t.take();
    expect(t.optsOf(req2!)).toEqual([VJ(15, 1), ADDR([10, 64, 0, 2])]);
    t.input(Code.ConfAck, req2!.id, t.optsOf(req2!));
    t.input(Code.ConfReq, 7, [VJ(15, 1), ADDR([10, 64, 0, 1])]);
    expect(t.take()[0]).toMatchObject({ code: Code.ConfAck, id: 7 });
    expect(t.result()).toEqual({
      localAddress: '10.64.0.2',
      peerAddress: '10.64.0.1',
      dns: [],
      vj: { send: { maxSlotId: 15, compSlotId: true }, receive: { maxSlotId: 15, compSlotId: true } },
    });
  });

  it('sends with what the peer asked: any Max-Slot-Id 2..255, with or without slot-id compression', () => {
    for (const [max, c] of [
      [2, 0],
      [255, 1],
      [7, 0],
    ] as const) {
      const t = setup();
      const ans = finish(t, [VJ(max, c), ADDR([10, 0, 0, 1])]);
      expect(ans.code).toBe(Code.ConfAck);
      expect(t.result()?.vj.send).toEqual({ maxSlotId: max, compSlotId: c === 1 });
    }
  });

  it('Naks what it cannot use with the nearest value it accepts', () => {
    const cases: [Opt, Opt][] = [
      [VJ(1, 1), VJ(2, 1)], // Max-Slot-Id below 2
      [VJ(0, 0), VJ(2, 0)],
      [VJ(15, 2), VJ(15, 1)], // Comp-Slot-Id not a boolean
      [{ type: 2, data: [0x00, 0x37] }, VJ(15, 1)], // RFC 1172's old VJ value
      [{ type: 2, data: [0x00, 0x61, 0x00, 0x0f] }, VJ(15, 1)], // IPHC (RFC 2509): not spoken
      [{ type: 2, data: [0x00, 0x2d, 0x0f] }, VJ(15, 1)], // wrong length
    ];
    for (const [asked, nak] of cases) {
      const t = setup();
      const ans = finish(t, [asked, ADDR([10, 0, 0, 1])]);
      expect(ans.code, JSON.stringify(asked)).toBe(Code.ConfNak);
      expect(t.optsOf(ans)).toEqual([nak]);
    }
    const t = setup();
    const ans = finish(t, [{ type: 2, data: [0x00, 0x37] }]);
    expect(describeFrame(Protocol.IPCP, emitCpPacket(ans.code, ans.id, ans.data))).toBe(
      'IPCP ConfNak id=0x42 <compress VJ 0f 01>',
    );
    expect(describeFrame(Protocol.IPCP, emitCpPacket(Code.ConfReq, 1, Uint8Array.of(2, 4, 0, 0x37)))).toBe(
      'IPCP ConfReq id=0x1 <compress old-VJ>',
    );
    expect(
      describeFrame(Protocol.IPCP, emitCpPacket(Code.ConfReq, 1, Uint8Array.of(2, 6, 0, 0x61, 0, 15))),
    ).toBe('IPCP ConfReq id=0x1 <compress 0x61 00 0f>');
  });

  it('compSlotId: false asks for Comp-Slot-Id 0 and Naks a peer that wants slot numbers left out', () => {
    const t = setup({ vjCompression: { compSlotId: false, maxSlotId: 7 } });
    const [req] = t.take();
    expect(t.optsOf(req!)[0]).toEqual(VJ(7, 0));
    t.input(Code.ConfAck, req!.id, t.optsOf(req!));
    t.input(Code.ConfReq, 1, [VJ(15, 1)]);
    const nak = t.take()[0]!;
    expect(nak.code).toBe(Code.ConfNak);
    expect(t.optsOf(nak)).toEqual([VJ(15, 0)]);
    t.input(Code.ConfReq, 2, [VJ(15, 0)]);
    expect(t.take()[0]!.code).toBe(Code.ConfAck);
    expect(t.result()?.vj).toEqual({
      send: { maxSlotId: 15, compSlotId: false },
      receive: { maxSlotId: 7, compSlotId: false },
    });
  });

  it('takes a smaller Max-Slot-Id and Comp-Slot-Id 0 from a Nak, keeps its own against a larger one', () => {
    const t = setup();
    let [req] = t.take();
    t.input(Code.ConfNak, req!.id, [VJ(31, 1)]);
    [req] = t.take();
    expect(t.optsOf(req!)[0]).toEqual(VJ(15, 1));
    t.input(Code.ConfNak, req!.id, [VJ(3, 0)]);
    [req] = t.take();
    expect(t.optsOf(req!)[0]).toEqual(VJ(3, 0));
    t.input(Code.ConfAck, req!.id, t.optsOf(req!));
    t.input(Code.ConfReq, 1, [ADDR([10, 0, 0, 1])]);
    t.take();
    expect(t.result()?.vj).toEqual({ receive: { maxSlotId: 3, compSlotId: false } });
  });

  it('stops asking after a Nak it cannot follow (old VJ, another protocol, out of range) or a Reject', () => {
    for (const nak of [
      { type: 2, data: [0x00, 0x37] },
      { type: 2, data: [0x00, 0x61, 0, 15] },
      VJ(1, 1),
      VJ(15, 9),
    ]) {
      const t = setup();
      let [req] = t.take();
      t.input(Code.ConfNak, req!.id, [nak]);
      [req] = t.take();
      expect(
        t.optsOf(req!).map((o) => o.type),
        JSON.stringify(nak),
      ).toEqual([IpcpOpt.IpAddress]);
    }
    const t = setup();
    let [req] = t.take();
    t.input(Code.ConfRej, req!.id, [VJ(15, 1)]);
    [req] = t.take();
    expect(t.optsOf(req!)).toEqual([ADDR([0, 0, 0, 0])]);
    t.input(Code.ConfNak, req!.id, [ADDR([10, 0, 0, 2]), VJ(15, 1)]); // a Nak suggesting VJ again: ignored
    [req] = t.take();
    expect(t.optsOf(req!)).toEqual([ADDR([10, 0, 0, 2])]);
    t.input(Code.ConfAck, req!.id, t.optsOf(req!));
    t.input(Code.ConfReq, 1, [VJ(15, 1)]);
    expect(t.take()[0]!.code).toBe(Code.ConfAck);
    // We did not get VJ towards us, but the peer asked for it towards itself.
    expect(t.result()?.vj).toEqual({ send: { maxSlotId: 15, compSlotId: true } });
  });

  it('vjCompression: false neither asks nor agrees: the peer option is Rejected', () => {
    const t = setup({ vjCompression: false });
    const [req] = t.take();
    expect(t.optsOf(req!)).toEqual([ADDR([0, 0, 0, 0])]);
    t.input(Code.ConfAck, req!.id, t.optsOf(req!));
    t.input(Code.ConfReq, 0x42, [VJ(15, 1), ADDR([10, 0, 0, 1])]);
    const ans = t.take()[0]!;
    expect(ans.code).toBe(Code.ConfRej);
    expect(t.optsOf(ans)).toEqual([VJ(15, 1)]);
  });

  it('Rejects the option twice in one request, and after Max-Failure Naks Rejects instead of Nak', () => {
    let t = setup();
    let ans = finish(t, [VJ(15, 1), VJ(7, 1)]);
    expect(ans.code).toBe(Code.ConfRej);
    expect(t.optsOf(ans)).toEqual([VJ(7, 1)]);
    t = setup({ maxFailure: 2 });
    const [req] = t.take();
    t.input(Code.ConfAck, req!.id, t.optsOf(req!));
    const codes: number[] = [];
    const peerReq = [ADDR([0, 0, 0, 0]), { type: 0x81, data: [0, 0, 0, 0] }, VJ(1, 1)];
    for (let id = 1; id <= 4; id++) {
      t.input(Code.ConfReq, id, id <= 2 ? [VJ(1, 1)] : peerReq);
      ans = t.take().find((p) => p.id === id)!;
      codes.push(ans.code);
    }
    expect(codes).toEqual([Code.ConfNak, Code.ConfNak, Code.ConfRej, Code.ConfRej]);
    // RFC 1661 5.4: the Reject carries the options as the peer sent them, in its order.
    expect(t.optsOf(ans)).toEqual(peerReq);
  });

  it('forgets what the peer asked when its next request leaves the option out', () => {
    const t = setup();
    finish(t, [VJ(15, 1), ADDR([10, 0, 0, 1])]);
    expect(t.result()?.vj.send).toBeDefined();
    // The peer renegotiates without VJ.
    t.input(Code.ConfReq, 0x43, [ADDR([10, 0, 0, 1])]);
    const out = t.take();
    const req = out.find((p) => p.code === Code.ConfReq)!;
    t.input(Code.ConfAck, req.id, t.optsOf(req));
    expect(t.result()?.vj.send).toBeUndefined();
  });

  it('rejects a configuration outside 2..255', () => {
    expect(() => setup({ vjCompression: { maxSlotId: 1 } })).toThrow(ConfigError);
    expect(() => setup({ vjCompression: { maxSlotId: 256 } })).toThrow(ConfigError);
    expect(() => setup({ vjCompression: { maxSlotId: 2.5 } })).toThrow(ConfigError);
  });
});
