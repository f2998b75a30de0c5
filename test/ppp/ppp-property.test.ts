import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChapClient } from '../../src/ppp/chap.js';
import { describeFrame } from '../../src/ppp/describe.js';
import { Protocol } from '../../src/ppp/frame.js';
import { Ipcp } from '../../src/ppp/ipcp.js';
import { Lcp } from '../../src/ppp/lcp.js';
import { PppCore } from '../../src/ppp/link-core.js';
import { Code, emitCpPacket } from '../../src/ppp/packet.js';
import { PapClient } from '../../src/ppp/pap.js';
import { ScriptedPeer } from '../helpers/ppp-peer.js';
import { seededRandom } from '../helpers/seeded.js';
import { splitAt } from '../helpers/split.js';

/** Valid control packets of every protocol, as pppd and slirp send them. */
const VALID: { protocol: number; bytes: number[] }[] = [
  {
    protocol: Protocol.LCP,
    bytes: [1, 1, 0, 24, 2, 6, 0, 0, 0, 0, 3, 5, 0xc2, 0x23, 5, 5, 6, 0x1f, 0x33, 0x1e, 0xd1, 7, 2, 8, 2],
  },
  { protocol: Protocol.LCP, bytes: [2, 1, 0, 14, 2, 6, 0, 0, 0, 0, 5, 6, 1, 2, 3, 4] },
  { protocol: Protocol.LCP, bytes: [3, 1, 0, 10, 5, 6, 9, 9, 9, 9] },
  { protocol: Protocol.LCP, bytes: [4, 1, 0, 6, 7, 2] },
  { protocol: Protocol.LCP, bytes: [5, 2, 0, 4] },
  { protocol: Protocol.LCP, bytes: [8, 3, 0, 10, 0x80, 0x57, 1, 1, 0, 4] },
  { protocol: Protocol.LCP, bytes: [9, 4, 0, 8, 1, 2, 3, 4] },
  { protocol: Protocol.IPCP, bytes: [1, 1, 0, 16, 2, 6, 0, 0x2d, 0x0f, 1, 3, 6, 10, 64, 0, 1] },
  {
    protocol: Protocol.IPCP,
    bytes: [3, 1, 0, 22, 3, 6, 10, 64, 0, 2, 129, 6, 10, 64, 0, 1, 131, 6, 10, 64, 0, 1],
  },
  { protocol: Protocol.PAP, bytes: [2, 1, 0, 7, 2, 0x4f, 0x4b] },
  { protocol: Protocol.CHAP, bytes: [1, 0x23, 0, 13, 4, 1, 2, 3, 4, 0x72, 0x69, 0x67, 0x21] },
  { protocol: Protocol.CHAP, bytes: [3, 0x23, 0, 6, 0x4f, 0x4b] },
];

/** Flips, truncates, extends or overwrites a valid packet. */
const mutated = fc
  .record({
    base: fc.constantFrom(...VALID),
    edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
    cut: fc.option(fc.nat()),
    tail: fc.uint8Array({ maxLength: 8 }),
  })
  .map(({ base, edits, cut, tail }) => {
    const b = [...base.bytes];
    for (const [at, v] of edits) if (b.length > 0) b[at % b.length] = v;
    const cutAt = cut === null ? b.length : cut % (b.length + 1);
    return { protocol: base.protocol, bytes: Uint8Array.from([...b.slice(0, cutAt), ...tail]) };
  });

function openedLcp() {
  const sent: Uint8Array[] = [];
  const lcp = new Lcp(
    { random: seededRandom(1), echoIntervalMs: 1000 },
    {
      send: (p) => sent.push(p),
      up: () => undefined,
      down: () => undefined,
      started: () => undefined,
      finished: () => undefined,
      protocolRejected: () => undefined,
      loopedBack: () => undefined,
      peerDead: () => undefined,
    },
  );
  lcp.fsm.open(0);
  lcp.fsm.up(0);
  return { lcp, sent };
}

describe('PPP parsers and cores under random and mutated input', () => {
  it('LCP, IPCP, PAP and CHAP never throw on mutated packets, in any state, and stay bounded', () => {
    fc.assert(
      fc.property(fc.array(mutated, { maxLength: 30 }), (packets) => {
        const { lcp, sent } = openedLcp();
        const ipcp = new Ipcp(
          {},
          {
            send: (p) => sent.push(p),
            up: () => undefined,
            down: () => undefined,
            finished: () => undefined,
          },
        );
        ipcp.fsm.open(0);
        ipcp.fsm.up(0);
        const pap = new PapClient(
          { user: 'u', password: 'p' },
          (p) => sent.push(p),
          () => undefined,
        );
        pap.start(0);
        const chap = new ChapClient(
          { user: 'u', secret: 's' },
          { send: (p) => sent.push(p), result: () => undefined, failedLater: () => undefined },
        );
        chap.start(0);
        let now = 0;
        for (const p of packets) {
          now += 100;
          if (p.protocol === Protocol.LCP) lcp.fsm.input(p.bytes, now);
          else if (p.protocol === Protocol.IPCP) ipcp.fsm.input(p.bytes, now);
          else if (p.protocol === Protocol.PAP) pap.input(p.bytes, now);
          else chap.input(p.bytes, now);
          lcp.tick(now);
          ipcp.fsm.tick(now);
          expect(() => describeFrame(p.protocol, p.bytes)).not.toThrow();
        }
        // Every reply is bounded by what came in; nothing grows past a packet per input and timer.
        expect(sent.length).toBeLessThanOrEqual(4 * packets.length + 10);
        for (const s of sent) expect(s.length).toBeLessThanOrEqual(1500);
      }),
      { numRuns: 500 },
    );
  });

  it('the link core never throws on random bytes in random chunks, and counts every frame it got', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.uint8Array({ maxLength: 200 }),
            mutated.map((m) => new ScriptedPeer().packet(m.protocol, 1, 1, m.bytes)),
          ),
          {
            maxLength: 30,
          },
        ),
        fc.array(fc.nat(), { maxLength: 10 }),
        (chunks, cuts) => {
          const core = new PppCore({ random: seededRandom(7), lcp: { echoIntervalMs: 500 } });
          core.open(0);
          const stream = Uint8Array.from(chunks.flatMap((c) => [...c]));
          let now = 0;
          for (const part of splitAt(stream, cuts)) {
            now += 50;
            core.receive(part, now);
            core.tick(now);
            core.takeOutput();
            core.takeEvents();
          }
          const s = core.stats();
          expect(s.framesIn).toBe(s.hdlc.frames);
          expect(s.hdlc.bytesIn).toBe(stream.length);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a valid session gives the same outcome however its bytes are chunked', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 12 }), (cuts) => {
        const peer = new ScriptedPeer();
        const core = new PppCore({ random: seededRandom(3) });
        core.open(0);
        const req = peer.read(core.takeOutput())[0]!;
        const bytes = Uint8Array.from([
          ...Buffer.from('\r\nCONNECT 150000000\r\n'),
          ...peer.configure(Protocol.LCP, Code.ConfReq, 1, [
            { type: 2, data: [0, 0, 0, 0] },
            { type: 5, data: [1, 2, 3, 4] },
          ]),
          ...peer.packet(Protocol.LCP, Code.ConfAck, req.id, req.data),
          ...peer.frame(Protocol.LCP, emitCpPacket(Code.EchoReq, 9, Uint8Array.of(1, 2, 3, 4))),
        ]);
        for (const part of splitAt(bytes, cuts)) core.receive(part, 10);
        const out = peer.read(core.takeOutput());
        expect(core.phase).toBe('network');
        expect(out.map((s) => [s.protocol, s.code])).toEqual([
          [Protocol.LCP, Code.ConfAck],
          [Protocol.IPCP, Code.ConfReq],
          [Protocol.LCP, Code.EchoRep],
        ]);
        expect(core.stats().hdlc.discardedBytes).toBe(21); // the modem's CONNECT line before the first flag
      }),
      { numRuns: 200 },
    );
  });
});
