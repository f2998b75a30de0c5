import { describe, expect, it } from 'vitest';
import { VjCompressor } from '../../src/ppp/vj/compressor.js';
import { VjDecompressor } from '../../src/ppp/vj/decompressor.js';
import {
  NEW_A,
  NEW_C,
  NEW_I,
  NEW_S,
  NEW_U,
  NEW_W,
  SPECIAL_D,
  SPECIAL_I,
  TCP_PUSH_BIT,
  type VjParams,
  VjProtocol,
} from '../../src/ppp/vj/wire.js';
import { ConfigError } from '../../src/util/errors.js';
import { fixIpChecksum, HOST, PEER, type Seg, TcpFlag, tcpPacket, udpPacket } from './vj-packets.js';

/**
 * RFC 1144 compressor and decompressor, case by case: each special encoding, deltas, slots,
 * connection-number omission, what must go uncompressed or as plain IP, and recovery (TOSS)
 * after a lost frame.
 */
const ACK = TcpFlag.ACK;
const PSH = TcpFlag.PSH;

function pair(params: VjParams = { maxSlotId: 15, compSlotId: true }) {
  const c = new VjCompressor(params);
  const d = new VjDecompressor(params);
  /** Compresses, decompresses, checks the round trip; returns the frame. */
  const send = (s: Seg | Uint8Array) => {
    const p = s instanceof Uint8Array ? s : tcpPacket(s);
    const out = c.compress(p);
    if (out.protocol === VjProtocol.Ip) {
      expect(out.bytes).toBe(p);
    } else {
      const back = d.decompress(out.protocol, out.bytes);
      expect(typeof back).not.toBe('string');
      expect(Buffer.from(back as Uint8Array).equals(Buffer.from(p))).toBe(true);
    }
    return out;
  };
  return { c, d, send };
}

describe('VJ compressor and decompressor (RFC 1144)', () => {
  it('sends the first segment of a connection as UNCOMPRESSED_TCP with the slot in the Protocol field', () => {
    const { c, send } = pair();
    const p = tcpPacket({ seq: 1000, ack: 5000, id: 1, payload: 10 });
    const out = send(p);
    expect(out.protocol).toBe(VjProtocol.UncompressedTcp);
    expect(out.bytes[9]).toBe(0); // slot 0 instead of protocol 6
    expect([...out.bytes.subarray(10)]).toEqual([...p.subarray(10)]);
    expect(p[9]).toBe(6); // the caller's packet is untouched
    expect(c.stats).toMatchObject({ uncompressed: 1, compressed: 0, ip: 0 });
  });

  it('bulk data: SPECIAL_D, a 3-octet header without the slot, PUSH carried', () => {
    const { c, send } = pair();
    let seq = 1000;
    send({ seq, ack: 5000, id: 1, payload: 100 });
    const sizes: number[] = [];
    for (let i = 0; i < 20; i++) {
      seq += 100;
      const out = send({ seq, ack: 5000, id: 2 + i, payload: 100, flags: i % 2 ? ACK | PSH : ACK });
      expect(out.protocol).toBe(VjProtocol.CompressedTcp);
      expect(out.bytes[0]).toBe(SPECIAL_D | (i % 2 ? TCP_PUSH_BIT : 0));
      sizes.push(out.bytes.length - 100);
    }
    expect(new Set(sizes)).toEqual(new Set([3])); // change mask + TCP checksum
    expect(c.stats.compressed).toBe(20);
    expect(c.stats.savedOctets).toBe(20 * (40 - 3));
  });

  it('echoed interactive traffic: SPECIAL_I when seq and ack both advance by the last data length', () => {
    const { send } = pair();
    send({ seq: 1, ack: 900, id: 1, payload: 1 });
    const out = send({ seq: 2, ack: 901, id: 2, payload: 1 });
    expect(out.bytes[0]).toBe(SPECIAL_I);
    expect(out.bytes.length).toBe(3 + 1);
  });

  it('changes that look like a special case go uncompressed', () => {
    const { send } = pair();
    send({ seq: 100, ack: 100, id: 1, window: 1000, payload: 10 });
    // seq, ack, window changed and URG: S|W|U|A = SPECIAL_D as a real change mask.
    const p = send({
      seq: 120,
      ack: 150,
      id: 2,
      window: 2000,
      payload: 10,
      flags: ACK | TcpFlag.URG,
      urgent: 5,
    });
    expect(p.protocol).toBe(VjProtocol.UncompressedTcp);
    // S|W|U = SPECIAL_I as a real change mask.
    const q = send({
      seq: 140,
      ack: 150,
      id: 3,
      window: 2100,
      payload: 10,
      flags: ACK | TcpFlag.URG,
      urgent: 6,
    });
    expect(q.protocol).toBe(VjProtocol.UncompressedTcp);
  });

  it('pure ACKs: NEW_A with one-octet deltas up to 255, three octets from 256, IP ID +1 implied', () => {
    const { send } = pair();
    let ack = 10_000;
    send({ seq: 7, ack, id: 50 });
    ack += 255;
    let out = send({ seq: 7, ack, id: 51 });
    expect([...out.bytes.subarray(0, 1)]).toEqual([NEW_A]);
    expect(out.bytes.length).toBe(3 + 1);
    ack += 256;
    out = send({ seq: 7, ack, id: 52 });
    expect(out.bytes.length).toBe(3 + 3);
    expect([...out.bytes.subarray(3)]).toEqual([0, 1, 0]);
    ack += 1460 * 2;
    out = send({ seq: 7, ack, id: 53 });
    expect([...out.bytes.subarray(3)]).toEqual([0, 0x0b, 0x68]);
  });

  it('window: a shrinking window is a 16-bit wrapped delta in the long form', () => {
    const { send } = pair();
    send({ seq: 1, ack: 1, id: 1, window: 30000 });
    const out = send({ seq: 1, ack: 1, id: 2, window: 29999 });
    expect(out.bytes[0]).toBe(NEW_W);
    expect([...out.bytes.subarray(3)]).toEqual([0, 0xff, 0xff]);
  });

  it('IP ID: +1 is implied, any other step is NEW_I, a zero step takes the long form', () => {
    const { send } = pair();
    send({ seq: 1, ack: 1, id: 100 });
    let out = send({ seq: 1, ack: 20, id: 105 });
    expect(out.bytes[0]).toBe(NEW_A | NEW_I);
    expect([...out.bytes.subarray(3)]).toEqual([19, 5]);
    out = send({ seq: 1, ack: 40, id: 105 });
    expect([...out.bytes.subarray(3)]).toEqual([20, 0, 0, 0]);
    out = send({ seq: 1, ack: 60, id: 104 }); // backwards: 0xffff
    expect([...out.bytes.subarray(3)]).toEqual([20, 0, 0xff, 0xff]);
  });

  it('urgent data: NEW_U carries the pointer (zero in the long form); URG gone with a changed pointer goes uncompressed', () => {
    const { send } = pair();
    send({ seq: 1, ack: 1, id: 1, payload: 5 });
    let out = send({ seq: 6, ack: 1, id: 2, payload: 5, flags: ACK | TcpFlag.URG, urgent: 3 });
    expect(out.bytes[0]).toBe(NEW_U | NEW_S);
    expect([...out.bytes.subarray(3, 5)]).toEqual([3, 5]);
    out = send({ seq: 11, ack: 1, id: 3, payload: 5, flags: ACK | TcpFlag.URG, urgent: 0 });
    expect([...out.bytes.subarray(3, 7)]).toEqual([0, 0, 0, 5]);
    // URG cleared, pointer back to 7: not expressible.
    out = send({ seq: 16, ack: 1, id: 4, payload: 5, urgent: 7 });
    expect(out.protocol).toBe(VjProtocol.UncompressedTcp);
    // URG cleared with the pointer kept: compressed, and not as SPECIAL_D (the last header had
    // URG; RFC 1144's decompressor would keep it for a special case).
    send({ seq: 21, ack: 1, id: 5, payload: 5, urgent: 7, flags: ACK | TcpFlag.URG });
    out = send({ seq: 26, ack: 1, id: 6, payload: 5, urgent: 7 });
    expect(out.protocol).toBe(VjProtocol.CompressedTcp);
    expect(out.bytes[0]).toBe(NEW_S);
  });

  it('nothing changed: data right after a pure ACK compresses; a repeat (retransmission) goes uncompressed', () => {
    const { send } = pair();
    send({ seq: 500, ack: 9, id: 1 }); // pure ACK
    let out = send({ seq: 500, ack: 9, id: 2, payload: 20 });
    expect(out.protocol).toBe(VjProtocol.CompressedTcp);
    expect(out.bytes[0]).toBe(0);
    out = send({ seq: 500, ack: 9, id: 3, payload: 20 }); // the same segment again
    expect(out.protocol).toBe(VjProtocol.UncompressedTcp);
    out = send({ seq: 500, ack: 9, id: 4 }); // a repeated ACK
    out = send({ seq: 500, ack: 9, id: 5 });
    expect(out.protocol).toBe(VjProtocol.UncompressedTcp);
  });

  it('sequence numbers going back or jumping 64 KiB go uncompressed; wrap-around compresses', () => {
    const { send } = pair();
    send({ seq: 0xffffff00, ack: 0xfffffff0, id: 1, payload: 100 });
    let out = send({ seq: 0xffffff64, ack: 0xfffffff0, id: 2, payload: 100 });
    expect(out.bytes[0]).toBe(SPECIAL_D);
    out = send({ seq: 0xffffffc8, ack: 0x10, id: 3, payload: 100 }); // ack wraps: +0x20
    expect(out.bytes[0]).toBe(NEW_A | NEW_S);
    out = send({ seq: 0xffffff64, ack: 0x10, id: 4, payload: 100 }); // back: retransmission
    expect(out.protocol).toBe(VjProtocol.UncompressedTcp);
    out = send({ seq: 0x10000 + 0xffffff64, ack: 0x10, id: 5, payload: 100 });
    expect(out.protocol).toBe(VjProtocol.UncompressedTcp);
    out = send({ seq: 0xffffff64, ack: 0x10, id: 6, payload: 100 }); // back again
    out = send({ seq: 0xffffff64, ack: 0x10 - 1, id: 7, payload: 100 }); // ack back
    expect(out.protocol).toBe(VjProtocol.UncompressedTcp);
  });

  it('SYN, FIN, RST, no ACK, non-TCP, IP options, fragments and bad headers go as plain IP and touch no slot', () => {
    const { c, send } = pair();
    for (const flags of [
      TcpFlag.SYN,
      TcpFlag.SYN | ACK,
      TcpFlag.FIN | ACK,
      TcpFlag.RST,
      TcpFlag.RST | ACK,
      PSH,
      0,
    ]) {
      expect(send({ seq: 1, ack: 1, id: 1, flags }).protocol).toBe(VjProtocol.Ip);
    }
    expect(send(udpPacket(3)).protocol).toBe(VjProtocol.Ip);
    const frag = tcpPacket({ seq: 1, ack: 1, id: 1, payload: 8 });
    frag[6] = 0x20; // MF
    expect(send(fixIpChecksum(frag)).protocol).toBe(VjProtocol.Ip);
    const df = tcpPacket({ seq: 1, ack: 1, id: 1, payload: 8 });
    df[6] = 0x40; // DF alone is not a fragment
    expect(send(fixIpChecksum(df)).protocol).toBe(VjProtocol.UncompressedTcp);
    const badSum = tcpPacket({ seq: 1, ack: 1, id: 9, payload: 8 });
    badSum[10]! ^= 1;
    expect(send(badSum).protocol).toBe(VjProtocol.Ip);
    const short = tcpPacket({ seq: 1, ack: 1, id: 9 }).subarray(0, 39);
    expect(send(short).protocol).toBe(VjProtocol.Ip);
    // IP options: 24-octet header (one NOP word), Total Length adjusted.
    const plain = tcpPacket({ seq: 1, ack: 1, id: 9 });
    const opt = new Uint8Array(plain.length + 4);
    opt.set(plain.subarray(0, 20));
    opt.set([1, 1, 1, 0], 20);
    opt.set(plain.subarray(20), 24);
    opt[0] = 0x46;
    opt[3] = opt.length;
    expect(send(fixIpChecksum(opt)).protocol).toBe(VjProtocol.Ip);
    expect(c.stats.ip).toBe(12);
  });

  it('TCP options: the same options compress, changed options go uncompressed', () => {
    const { send } = pair();
    send({ seq: 1, ack: 100, id: 1, options: { sack: [[200, 300]] } });
    let out = send({ seq: 1, ack: 110, id: 2, options: { sack: [[200, 300]] } });
    expect(out.protocol).toBe(VjProtocol.CompressedTcp);
    out = send({ seq: 1, ack: 120, id: 3, options: { sack: [[200, 400]] } });
    expect(out.protocol).toBe(VjProtocol.UncompressedTcp);
    out = send({ seq: 1, ack: 130, id: 4 }); // options gone: data offset changed
    expect(out.protocol).toBe(VjProtocol.UncompressedTcp);
  });

  it('TTL, TOS and ECN flag changes go uncompressed', () => {
    const { send } = pair();
    send({ seq: 1, ack: 1, id: 1 });
    expect(send({ seq: 1, ack: 2, id: 2, ttl: 63 }).protocol).toBe(VjProtocol.UncompressedTcp);
    expect(send({ seq: 1, ack: 3, id: 3, ttl: 63, tos: 0x10 }).protocol).toBe(VjProtocol.UncompressedTcp);
    expect(send({ seq: 1, ack: 4, id: 4, ttl: 63, tos: 0x10, flags: ACK | TcpFlag.ECE }).protocol).toBe(
      VjProtocol.UncompressedTcp,
    );
    expect(send({ seq: 1, ack: 5, id: 5, ttl: 63, tos: 0x10, flags: ACK | TcpFlag.ECE }).protocol).toBe(
      VjProtocol.CompressedTcp,
    );
  });

  it('slots: one per connection, the least recently used one is reused, the slot number is sent when it changes', () => {
    const { c, send } = pair({ maxSlotId: 2, compSlotId: true });
    const conn = (port: number, seq: number, id: number) => ({ seq, ack: 1, id, srcPort: port, payload: 4 });
    expect(send(conn(1, 0, 1)).bytes[9]).toBe(0);
    expect(send(conn(2, 0, 2)).bytes[9]).toBe(1);
    expect(send(conn(3, 0, 3)).bytes[9]).toBe(2);
    // Connection 1 again: slot 0, named (the last frame was slot 2).
    let out = send(conn(1, 4, 4));
    expect([out.bytes[0]! & NEW_C, out.bytes[1]]).toEqual([NEW_C, 0]);
    // Again on connection 1: the slot number is left out.
    out = send(conn(1, 8, 5));
    expect(out.bytes[0]! & NEW_C).toBe(0);
    expect(out.bytes.length).toBe(3 + 4);
    // A fourth connection takes the least recently used slot: 1 (connection 2).
    expect(send(conn(4, 0, 6)).bytes[9]).toBe(1);
    // Connection 2 lost its slot: uncompressed again, into slot 2 (connection 3's, now oldest).
    out = send(conn(2, 4, 7));
    expect(out.protocol).toBe(VjProtocol.UncompressedTcp);
    expect(out.bytes[9]).toBe(2);
    // Connection 1 kept slot 0 throughout.
    out = send(conn(1, 12, 8));
    expect(out.protocol).toBe(VjProtocol.CompressedTcp);
    expect(out.bytes[1]).toBe(0);
    expect(c.stats).toMatchObject({ uncompressed: 5, compressed: 3 });
  });

  it('connections in both directions of one pair of hosts use separate slots', () => {
    const { send } = pair();
    expect(send({ seq: 1, ack: 1, id: 1, payload: 3 }).bytes[9]).toBe(0);
    expect(send({ seq: 1, ack: 1, id: 1, payload: 3, src: PEER, dst: HOST }).bytes[9]).toBe(1);
  });

  it('Comp-Slot-Id 0: every compressed header names its slot', () => {
    const { send } = pair({ maxSlotId: 15, compSlotId: false });
    send({ seq: 1, ack: 1, id: 1, payload: 10 });
    for (let i = 1; i < 5; i++) {
      const out = send({ seq: 1 + 10 * i, ack: 1, id: 1 + i, payload: 10 });
      expect(out.bytes[0]).toBe(NEW_C | SPECIAL_D);
      expect(out.bytes.length).toBe(4 + 10);
    }
  });

  it('the decompressor refuses a header without slot number when it did not allow leaving it out', () => {
    const c = new VjCompressor({ maxSlotId: 15, compSlotId: true });
    const d = new VjDecompressor({ maxSlotId: 15, compSlotId: false });
    const a = c.compress(tcpPacket({ seq: 1, ack: 1, id: 1, payload: 10 }));
    expect(d.decompress(a.protocol, a.bytes)).toBeInstanceOf(Uint8Array);
    const b = c.compress(tcpPacket({ seq: 11, ack: 1, id: 2, payload: 10 }));
    expect(b.bytes[0]! & NEW_C).toBe(0);
    expect(d.decompress(b.protocol, b.bytes)).toBe('slot-id-required');
    expect(d.isTossing).toBe(true);
  });

  it('TOSS: after a lost frame, compressed frames without a slot number are dropped until an UNCOMPRESSED_TCP', () => {
    const c = new VjCompressor();
    const d = new VjDecompressor();
    const pkts = Array.from({ length: 8 }, (_, i) =>
      tcpPacket({ seq: 1 + 100 * i, ack: 1, id: i, payload: 100 }),
    );
    const frames = pkts.map((p) => c.compress(p));
    expect(frames.map((f) => f.protocol)).toEqual([0x2f, 0x2d, 0x2d, 0x2d, 0x2d, 0x2d, 0x2d, 0x2d]);
    expect(d.decompress(frames[0]!.protocol, frames[0]!.bytes)).toEqual(pkts[0]);
    expect(d.decompress(frames[1]!.protocol, frames[1]!.bytes)).toEqual(pkts[1]);
    // Frame 2 is lost with an FCS error: the link says so.
    d.toss();
    for (const f of frames.slice(3)) expect(d.decompress(f.protocol, f.bytes)).toBe('tossed');
    expect(d.stats).toMatchObject({ tossed: 5, tossEvents: 1, compressed: 1, uncompressed: 1 });
    // TCP retransmits frame 2's segment: seq goes back, so it goes uncompressed and resynchronises.
    const re = c.compress(pkts[2]!);
    expect(re.protocol).toBe(VjProtocol.UncompressedTcp);
    expect(d.decompress(re.protocol, re.bytes)).toEqual(pkts[2]);
    const next = tcpPacket({ seq: 801, ack: 1, id: 8, payload: 100 });
    const f = c.compress(next);
    expect(f.protocol).toBe(VjProtocol.CompressedTcp);
    expect(d.decompress(f.protocol, f.bytes)).toEqual(next);
  });

  it('TOSS: a frame naming its slot ends tossing', () => {
    const c = new VjCompressor();
    const d = new VjDecompressor();
    const a = (seq: number, id: number) => tcpPacket({ seq, ack: 1, id, payload: 10, srcPort: 1 });
    const b = (seq: number, id: number) => tcpPacket({ seq, ack: 1, id, payload: 10, srcPort: 2 });
    for (const p of [a(0, 1), b(0, 2)]) {
      const f = c.compress(p);
      d.decompress(f.protocol, f.bytes);
    }
    const lost = c.compress(b(10, 3)); // slot 1 without C (same as last): lost
    expect(lost.bytes[0]! & NEW_C).toBe(0);
    d.toss();
    const named = c.compress(a(10, 4)); // slot 0 named: decodes
    expect(named.bytes[0]! & NEW_C).toBe(NEW_C);
    expect(d.decompress(named.protocol, named.bytes)).toEqual(a(10, 4));
    expect(d.isTossing).toBe(false);
  });

  it('without TOSS a lost frame would corrupt the next packet (why the link must report framing errors)', () => {
    const c = new VjCompressor();
    const d = new VjDecompressor();
    const p = (i: number) => tcpPacket({ seq: 1 + 100 * i, ack: 1, id: i, payload: 100 });
    for (const i of [0, 1]) {
      const f = c.compress(p(i));
      d.decompress(f.protocol, f.bytes);
    }
    c.compress(p(2)); // lost, not reported
    const f = c.compress(p(3));
    const got = d.decompress(f.protocol, f.bytes) as Uint8Array;
    expect(Buffer.from(got).equals(Buffer.from(p(3)))).toBe(false); // stale seq and IP ID
  });

  it('the decompressor starts tossing, and drops and counts malformed frames without touching its slots', () => {
    const c = new VjCompressor();
    const d = new VjDecompressor({ maxSlotId: 3, compSlotId: true, maxPacket: 1500 });
    const first = c.compress(tcpPacket({ seq: 1, ack: 1, id: 1, payload: 10 }));
    const second = c.compress(tcpPacket({ seq: 11, ack: 1, id: 2, payload: 10 }));
    expect(d.decompress(second.protocol, second.bytes)).toBe('tossed'); // nothing loaded yet
    expect(d.decompress(0x2d, Uint8Array.of(NEW_C | NEW_S, 1, 0, 0, 5))).toBe('unknown-slot');
    expect(d.decompress(0x2d, Uint8Array.of(NEW_C | NEW_S, 9, 0, 0, 5))).toBe('bad-slot');
    const bad = first.bytes.slice();
    bad[9] = 4; // slot 4 > Max-Slot-Id 3
    expect(d.decompress(0x2f, bad)).toBe('bad-slot');
    expect(d.decompress(first.protocol, first.bytes)).toBeInstanceOf(Uint8Array);
    // Truncated: in the checksum, in a delta, in the slot number.
    expect(d.decompress(0x2d, Uint8Array.of(NEW_S, 0))).toBe('truncated');
    expect(d.decompress(0x2d, Uint8Array.of(NEW_C | NEW_S, 0, 0xab, 0xcd))).toBe('truncated');
    expect(d.decompress(0x2d, Uint8Array.of(NEW_C | NEW_S, 0, 0xab, 0xcd, 0, 1))).toBe('truncated');
    expect(d.decompress(0x2d, Uint8Array.of(0x80 | NEW_C, 0, 0xab, 0xcd))).toBe('bad-header');
    // UNCOMPRESSED_TCP with a broken header checksum, bad version, short Total Length.
    const sum = first.bytes.slice();
    sum[8] = 1; // TTL changed, checksum not
    expect(d.decompress(0x2f, sum)).toBe('bad-header');
    const ver = first.bytes.slice();
    ver[0] = 0x65;
    expect(d.decompress(0x2f, ver)).toBe('bad-header');
    expect(d.decompress(0x2f, first.bytes.subarray(0, 45))).toBe('truncated');
    expect(d.decompress(0x2f, first.bytes.subarray(0, 39))).toBe('truncated');
    // Too long: 1500 octets of header + data would be rebuilt from a 1463-octet frame and more.
    expect(d.decompress(0x2d, new Uint8Array(1500).fill(0, 0, 4).fill(7, 4).fill(NEW_C, 0, 1))).toBe(
      'too-long',
    );
    expect(d.stats.errors).toEqual({
      truncated: 5,
      'bad-slot': 2,
      'unknown-slot': 1,
      'slot-id-required': 0,
      'bad-header': 3,
      'too-long': 1,
    });
    // Slot 0 is as the good UNCOMPRESSED_TCP left it: the next segment decodes once named.
    const third = c.compress(tcpPacket({ seq: 21, ack: 1, id: 3, payload: 10 }));
    expect(third.bytes[0]! & NEW_C).toBe(0);
    expect(d.decompress(third.protocol, third.bytes)).toBe('tossed');
    const named = new Uint8Array(third.bytes.length + 1);
    named[0] = third.bytes[0]! | NEW_C;
    named[1] = 0;
    named.set(third.bytes.subarray(1), 2);
    // Slot 0 still holds seq 1 (the second frame never decoded): seq 1 + 10 (SPECIAL_D), IP ID
    // 2; the TCP checksum and data are the frame's.
    const got = d.decompress(0x2d, named) as Uint8Array;
    const want = tcpPacket({ seq: 11, ack: 1, id: 2, payload: 10 });
    want[36] = third.bytes[1]!;
    want[37] = third.bytes[2]!;
    want.set(third.bytes.subarray(3), 40); // and its data
    expect(got).toEqual(want);
  });

  it('rejects parameters outside 2..255 slots ids', () => {
    expect(() => new VjCompressor({ maxSlotId: 1, compSlotId: true })).toThrow(ConfigError);
    expect(() => new VjDecompressor({ maxSlotId: 256, compSlotId: true })).toThrow(ConfigError);
    expect(new VjCompressor({ maxSlotId: 255, compSlotId: false }).params).toEqual({
      maxSlotId: 255,
      compSlotId: false,
    });
  });

  it('reset forgets the slots on both ends', () => {
    const { c, d, send } = pair();
    send({ seq: 1, ack: 1, id: 1, payload: 10 });
    c.reset();
    d.reset();
    expect(d.isTossing).toBe(true);
    expect(send({ seq: 11, ack: 1, id: 2, payload: 10 }).protocol).toBe(VjProtocol.UncompressedTcp);
  });

  it('a typical download: data in, pure ACKs out, headers shrink from 40 octets to 3 or 4', () => {
    // Our side of a bulk download sends only ACKs: every other segment, ack += 2 * 1460.
    const { c, send } = pair();
    let ack = 1;
    send({ seq: 100, ack, id: 1, window: 65535 });
    for (let i = 0; i < 50; i++) {
      ack += 2920;
      const out = send({ seq: 100, ack, id: 2 + i, window: 65535 });
      expect(out.bytes.length).toBeLessThanOrEqual(6);
    }
    // An ACK of 2920 octets is a 3-octet delta: 6 octets instead of 40.
    expect(c.stats.savedOctets).toBeGreaterThanOrEqual(50 * 34);
    expect(NEW_A).toBe(4);
    expect(NEW_S | NEW_A | NEW_W | NEW_U).toBe(SPECIAL_D);
  });
});
