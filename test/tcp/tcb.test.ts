import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TcpFlag, type TcpOptions, type TcpSegment } from '../../src/tcp/segment.js';
import { seqAdd } from '../../src/tcp/seq.js';
import { Tcb, type TcbConfig, type TcbEvent } from '../../src/tcp/tcb.js';

/**
 * The TCP core driven one segment at a time with explicit times, in smoltcp's style: send
 * this segment at t, expect exactly these segments (and events) back.
 */
const { FIN, SYN, RST, PSH, ACK } = TcpFlag;
const LOCAL = 49152;
const REMOTE = 7;
const ISS = 1000;
const IRS = 5000;

function seg(p: Partial<TcpSegment> & { flags: number }): TcpSegment {
  return {
    srcPort: REMOTE,
    dstPort: LOCAL,
    seq: IRS + 1,
    ack: ISS + 1,
    window: 65535,
    urgent: 0,
    options: {},
    payload: new Uint8Array(0),
    ...p,
  };
}

const bytes = (n: number, fill = 0x61) => new Uint8Array(n).fill(fill);

function config(extra: Partial<TcbConfig> = {}): TcbConfig {
  return {
    localPort: LOCAL,
    remotePort: REMOTE,
    iss: ISS,
    mss: 1460,
    sack: true,
    windowScale: false,
    ...extra,
  };
}

interface Out {
  flags: number;
  seq: number;
  ack: number;
  len: number;
  window: number;
  options: TcpOptions;
}

function outs(t: Tcb): Out[] {
  return t.takeOutput().map((s) => ({
    flags: s.flags,
    seq: s.seq,
    ack: s.ack,
    len: s.payload.length,
    window: s.window,
    options: s.options,
  }));
}

/** An established active connection; the peer's window and MSS as given. */
function established(extra: Partial<TcbConfig> = {}, peer: { window?: number; mss?: number } = {}): Tcb {
  const t = Tcb.connect(config(extra), 0);
  t.takeOutput();
  t.input(
    seg({
      flags: SYN | ACK,
      seq: IRS,
      window: peer.window ?? 65535,
      options: { mss: peer.mss ?? 1460, sackPermitted: true },
    }),
    10,
  );
  t.takeOutput();
  t.takeEvents();
  return t;
}

function kinds(events: TcbEvent[]): string[] {
  return events.map((e) => (e.type === 'closed' ? `closed:${e.error ?? 'ok'}` : e.type));
}

describe('TCP core: opening', () => {
  it('sends SYN with MSS and SACK-permitted, completes on SYN-ACK with an ACK', () => {
    const t = Tcb.connect(config({ windowScale: true, recvBuffer: 256 * 1024 }), 0);
    const [syn] = outs(t);
    expect(syn).toMatchObject({
      flags: SYN,
      seq: ISS,
      len: 0,
      window: 65535,
      options: { mss: 1460, sackPermitted: true, windowScale: 3 },
    });
    t.input(
      seg({ flags: SYN | ACK, seq: IRS, options: { mss: 1400, windowScale: 3, sackPermitted: true } }),
      40,
    );
    // Our window field is scaled now: 256 KiB >> 3.
    expect(outs(t)).toEqual([{ flags: ACK, seq: ISS + 1, ack: IRS + 1, len: 0, window: 32768, options: {} }]);
    expect(kinds(t.takeEvents())).toEqual(['established']);
    expect(t.state).toBe('established');
    expect(t.effectiveMss).toBe(1400);
    expect(t.rtt.srtt).toBe(40);
  });

  it('retransmits the SYN with exponential backoff and gives up with ETIMEDOUT', () => {
    const t = Tcb.connect(config({ synRetries: 3 }), 0);
    outs(t);
    const times: number[] = [];
    let now = 0;
    for (let i = 0; i < 10 && t.state !== 'closed'; i++) {
      now = t.nextDeadline()!;
      t.tick(now);
      if (outs(t).some((o) => o.flags === SYN)) times.push(now);
    }
    expect(times).toEqual([1000, 3000, 7000]);
    expect(kinds(t.takeEvents())).toEqual(['closed:ETIMEDOUT']);
  });

  it('reports ECONNREFUSED on a RST answering the SYN', () => {
    const t = Tcb.connect(config(), 0);
    outs(t);
    t.input(seg({ flags: RST | ACK, seq: 0, ack: ISS + 1 }), 5);
    expect(kinds(t.takeEvents())).toEqual(['closed:ECONNREFUSED']);
    expect(t.state).toBe('closed');
  });

  it('answers a SYN-ACK with a bad ACK with a RST (RFC 9293 3.10.7.3)', () => {
    const t = Tcb.connect(config(), 0);
    outs(t);
    t.input(seg({ flags: SYN | ACK, seq: IRS, ack: ISS + 77 }), 5);
    expect(outs(t)).toMatchObject([{ flags: RST, seq: ISS + 77 }]);
    expect(t.state).toBe('syn-sent');
  });

  it('opens passively: SYN-ACK, then established on the ACK', () => {
    const t = Tcb.accept(
      config({ localPort: 80, remotePort: 40000 }),
      seg({ flags: SYN, seq: IRS, ack: 0, options: { mss: 1200 } }),
      0,
    );
    expect(outs(t)).toMatchObject([{ flags: SYN | ACK, seq: ISS, ack: IRS + 1, options: { mss: 1460 } }]);
    expect(t.effectiveMss).toBe(1200);
    t.input(seg({ flags: ACK }), 20);
    expect(kinds(t.takeEvents())).toEqual(['established']);
  });

  it('handles a simultaneous open (RFC 9293 figure 8)', () => {
    const t = Tcb.connect(config(), 0);
    outs(t);
    t.input(seg({ flags: SYN, seq: IRS, ack: 0 }), 5);
    expect(t.state).toBe('syn-received');
    expect(outs(t)).toMatchObject([{ flags: SYN | ACK, seq: ISS, ack: IRS + 1 }]);
    t.input(seg({ flags: SYN | ACK, seq: IRS, ack: ISS + 1 }), 10);
    // The SYN-ACK repeats the SYN: the peer's SYN is acknowledged, the state moves on.
    t.input(seg({ flags: ACK }), 12);
    expect(t.state).toBe('established');
  });

  it('queues writes while connecting and sends them once established', () => {
    const t = Tcb.connect(config(), 0);
    outs(t);
    expect(t.write(bytes(100), 1)).toBe(100);
    expect(outs(t)).toEqual([]);
    t.input(seg({ flags: SYN | ACK, seq: IRS, options: { mss: 1460 } }), 10);
    const o = outs(t);
    expect(o).toMatchObject([{ flags: ACK | PSH, seq: ISS + 1, len: 100 }]);
  });
});

describe('TCP core: sending', () => {
  it('segments by MSS within cwnd, holds the small tail (Nagle), drains on ACKs', () => {
    const t = established({ sendBuffer: 100_000 });
    expect(t.write(bytes(3000), 20)).toBe(3000);
    expect(outs(t).map((o) => [o.seq - ISS - 1, o.len])).toEqual([
      [0, 1460],
      [1460, 1460],
    ]);
    t.input(seg({ flags: ACK, ack: ISS + 1 + 2920 }), 60);
    expect(outs(t).map((o) => [o.seq - ISS - 1, o.len])).toEqual([[2920, 80]]);
    expect(t.unacknowledged).toBe(80);
    expect(kinds(t.takeEvents())).toContain('writable');
  });

  it('holds small segments while data is in flight (Nagle), not with setNoDelay', () => {
    const t = established();
    t.write(bytes(10), 20);
    expect(outs(t)).toHaveLength(1);
    t.write(bytes(10), 21);
    t.write(bytes(10), 22);
    expect(outs(t)).toEqual([]);
    t.input(seg({ flags: ACK, ack: ISS + 11 }), 50);
    expect(outs(t)).toMatchObject([{ seq: ISS + 11, len: 20 }]);
    t.setNoDelay(true, 51);
    t.write(bytes(5), 52);
    expect(outs(t)).toMatchObject([{ seq: ISS + 31, len: 5 }]);
  });

  it('respects the peer window and probes a zero window without giving up', () => {
    const t = established({}, { window: 2920 });
    t.write(bytes(5000), 20);
    expect(outs(t).reduce((n, o) => n + o.len, 0)).toBe(2920);
    t.input(seg({ flags: ACK, ack: ISS + 2921, window: 0 }), 60);
    expect(outs(t)).toEqual([]);
    const probeAt = t.nextDeadline()!;
    t.tick(probeAt);
    const [probe] = outs(t);
    expect(probe).toMatchObject({ flags: ACK, seq: ISS + 2920, len: 0 }); // an old sequence number
    for (let i = 0; i < 20; i++) {
      t.tick(t.nextDeadline()!);
      outs(t);
    }
    expect(t.state).toBe('established'); // zero windows never time out (RFC 9293 3.8.6.1)
    t.input(seg({ flags: ACK, ack: ISS + 2921, window: 4000 }), 500_000);
    // One full segment; the 620-octet tail waits for its ACK (Nagle).
    expect(outs(t).reduce((n, o) => n + o.len, 0)).toBe(1460);
  });

  it('retransmits on RTO with backoff (Karn: no RTT sample from a retransmission)', () => {
    const t = established();
    t.write(bytes(100), 100);
    outs(t);
    const first = t.nextDeadline()!;
    expect(first - 100).toBe(t.rtt.rto);
    const srtt = t.rtt.srtt;
    t.tick(first);
    expect(outs(t)).toMatchObject([{ seq: ISS + 1, len: 100 }]);
    const second = t.nextDeadline()!;
    expect(second - first).toBe(2 * (first - 100));
    t.input(seg({ flags: ACK, ack: ISS + 101 }), second - 1);
    expect(t.rtt.srtt).toBe(srtt);
    expect(t.stats.timeouts).toBe(1);
  });

  it('gives up after the retransmission limit with ETIMEDOUT and a RST', () => {
    const t = established({ maxRetransmits: 3 });
    t.write(bytes(10), 20);
    outs(t);
    for (let i = 0; i < 10 && t.state !== 'closed'; i++) t.tick(t.nextDeadline()!);
    const o = outs(t);
    expect(o.filter((s) => s.len === 10)).toHaveLength(3);
    expect(o.at(-1)?.flags).toBe(RST);
    expect(kinds(t.takeEvents())).toContain('closed:ETIMEDOUT');
  });

  it('fast-retransmits after three duplicate ACKs and recovers with NewReno', () => {
    const t = established({ sendBuffer: 100_000 });
    t.write(bytes(10 * 1460), 20);
    expect(outs(t)).toHaveLength(10);
    const una = ISS + 1;
    // Segment 1 (offset 0) is lost; segments 2..10 arrive: duplicate ACKs.
    t.input(seg({ flags: ACK, ack: una }), 100);
    t.input(seg({ flags: ACK, ack: una }), 101);
    expect(outs(t)).toEqual([]);
    t.input(seg({ flags: ACK, ack: una }), 102);
    expect(outs(t)).toMatchObject([{ seq: una, len: 1460 }]);
    expect(t.stats.fastRetransmits).toBe(1);
    const cwndInRecovery = t.cc.cwnd;
    // A partial ACK (up to segment 5, say 4 was lost too) retransmits the next hole.
    t.input(seg({ flags: ACK, ack: una + 3 * 1460 }), 150);
    expect(outs(t)[0]).toMatchObject({ seq: una + 3 * 1460, len: 1460 });
    // The full ACK ends recovery with cwnd <= ssthresh.
    t.input(seg({ flags: ACK, ack: una + 10 * 1460 }), 200);
    expect(t.cc.cwnd).toBeLessThanOrEqual(t.cc.ssthresh);
    expect(t.cc.cwnd).toBeLessThan(cwndInRecovery);
    expect(t.unacknowledged).toBe(0);
  });
});

describe('TCP core: SACK loss recovery', () => {
  it('resends only the holes the peer reports, and skips SACKed data after a timeout', () => {
    const t = established({ sendBuffer: 100_000 });
    const una = ISS + 1;
    t.write(bytes(10 * 1460), 20);
    expect(outs(t)).toHaveLength(10);
    // Segments 1 and 4 are lost (offsets 0 and 3); the peer SACKs 2-3 and 5-10.
    const sack = (blocks: [number, number][]) => seg({ flags: ACK, ack: una, options: { sack: blocks } });
    const seg1 = una;
    const seg4 = una + 3 * 1460;
    t.input(sack([[una + 1460, una + 3 * 1460]]), 100);
    t.input(
      sack([
        [una + 1460, una + 3 * 1460],
        [seg4 + 1460, seg4 + 2 * 1460],
      ]),
      101,
    );
    t.input(
      sack([
        [una + 1460, una + 3 * 1460],
        [seg4 + 1460, una + 10 * 1460],
      ]),
      102,
    );
    const resent = outs(t).filter((o) => o.len > 0);
    // Both holes go out at once: the scoreboard knows them.
    expect(resent.map((o) => o.seq)).toEqual([seg1, seg4]);
    // A timeout now goes back to snd.una but skips what the peer holds.
    t.tick(t.nextDeadline()!);
    const again = outs(t).filter((o) => o.len > 0);
    expect(again.map((o) => o.seq)).toEqual([seg1]);
    t.input(seg({ flags: ACK, ack: una + 10 * 1460 }), 5000);
    expect(t.unacknowledged).toBe(0);
  });
});

describe('TCP core: SACK and FIN', () => {
  it('never sends the FIN before the end of the data while skipping SACKed ranges', () => {
    // More data than the peer's window: the FIN is still queued when the losses show.
    const t = established({ sendBuffer: 100_000 }, { window: 6 * 1460 });
    const una = ISS + 1;
    const end = una + 8 * 1460;
    t.write(bytes(8 * 1460), 20);
    t.shutdown(21);
    const first = outs(t);
    expect(first).toHaveLength(6);
    expect(first.some((o) => o.flags & FIN)).toBe(false);
    // The peer holds segments 3-4; 1, 2, 5, 6 and the FIN were lost.
    const held: [number, number][] = [[una + 2 * 1460, una + 4 * 1460]];
    t.input(seg({ flags: ACK, ack: una, window: 6 * 1460, options: { sack: held } }), 100);
    const sent: Out[] = [];
    let ack = una;
    for (let i = 0; i < 12 && ack !== end + 1; i++) {
      t.tick(t.nextDeadline()!);
      const o = outs(t);
      sent.push(...o);
      // The peer takes each resent segment in order and ACKs it, still reporting 3-4.
      for (const x of o) {
        if (x.seq === ack && x.len > 0) ack = x.seq + x.len;
        if (ack === una + 2 * 1460) ack = una + 4 * 1460;
        if (x.flags & FIN && x.seq + x.len === end) ack = end + 1;
      }
      t.input(
        seg({ flags: ACK, ack, window: 6 * 1460, options: ack < una + 2 * 1460 ? { sack: held } : {} }),
        200 + i,
      );
      for (const x of outs(t)) {
        sent.push(x);
        if (x.seq === ack && x.len > 0) ack = x.seq + x.len;
        if (ack === una + 2 * 1460) ack = una + 4 * 1460;
        if (x.flags & FIN && x.seq + x.len === end) ack = end + 1;
      }
    }
    for (const x of sent) if (x.flags & FIN) expect(x.seq + x.len).toBe(end);
    // Segments 3-4 were never sent again.
    expect(sent.filter((x) => x.len > 0 && x.seq >= una + 2 * 1460 && x.seq < una + 4 * 1460)).toEqual([]);
  });
});

describe('TCP core: receiving', () => {
  it('delivers data in order, ACKs every second segment, delays a lone one at most 200 ms', () => {
    const t = established({ delayedAckMs: 150 });
    t.input(seg({ flags: ACK | PSH, payload: bytes(1460) }), 100);
    expect(outs(t)).toEqual([]);
    expect(t.nextDeadline()).toBe(250);
    t.input(seg({ flags: ACK | PSH, seq: IRS + 1461, payload: bytes(1460) }), 120);
    expect(outs(t)).toMatchObject([{ flags: ACK, ack: IRS + 1 + 2920 }]);
    t.input(seg({ flags: ACK | PSH, seq: IRS + 2921, payload: bytes(10) }), 130);
    expect(outs(t)).toEqual([]);
    t.tick(280);
    expect(outs(t)).toMatchObject([{ flags: ACK, ack: IRS + 2931 }]);
    expect(t.read(10_000, 300).reduce((n, c) => n + c.length, 0)).toBe(2930);
  });

  it('keeps out-of-order data, ACKs at once with SACK blocks, and ACKs everything when the hole fills', () => {
    const t = established();
    t.input(seg({ flags: ACK, seq: IRS + 1 + 1000, payload: bytes(500, 2) }), 100);
    expect(outs(t)).toEqual([
      {
        flags: ACK,
        seq: ISS + 1,
        ack: IRS + 1,
        len: 0,
        window: 65535,
        options: { sack: [[IRS + 1001, IRS + 1501]] },
      },
    ]);
    t.input(seg({ flags: ACK, seq: IRS + 1, payload: bytes(1000, 1) }), 110);
    expect(outs(t)).toMatchObject([{ flags: ACK, ack: IRS + 1501, options: {} }]);
    const data = Buffer.concat(t.read(5000, 120));
    expect(data.length).toBe(1500);
    expect([data[999], data[1000]]).toEqual([1, 2]);
  });

  it('lets the window follow the reader: zero when full, a window update when read', () => {
    const t = established({ recvBuffer: 4096 });
    t.input(seg({ flags: ACK, payload: bytes(1460) }), 10);
    t.input(seg({ flags: ACK, seq: IRS + 1461, payload: bytes(1460) }), 11);
    t.input(seg({ flags: ACK, seq: IRS + 2921, payload: bytes(1176) }), 12);
    t.tick(t.nextDeadline() ?? 300);
    const acks = outs(t);
    expect(acks.at(-1)).toMatchObject({ ack: IRS + 4097, window: 0 });
    // Beyond the window: not accepted, answered with an ACK.
    t.input(seg({ flags: ACK, seq: IRS + 4097, payload: bytes(100) }), 20);
    expect(outs(t)).toMatchObject([{ ack: IRS + 4097, window: 0 }]);
    expect(t.stats.unacceptable).toBe(1);
    t.read(3000, 30);
    expect(outs(t)).toMatchObject([{ flags: ACK, ack: IRS + 4097, window: 3000 }]);
  });

  it('half-closes: after our FIN the peer may still send', () => {
    const t = established();
    t.shutdown(20);
    expect(outs(t)).toMatchObject([{ flags: ACK | FIN, seq: ISS + 1 }]);
    expect(t.state).toBe('fin-wait-1');
    t.input(seg({ flags: ACK, ack: ISS + 2 }), 30);
    expect(t.state).toBe('fin-wait-2');
    t.input(seg({ flags: ACK | PSH, ack: ISS + 2, payload: bytes(300) }), 40);
    expect(t.readableLength).toBe(300);
    t.input(seg({ flags: ACK | FIN, seq: IRS + 301, ack: ISS + 2 }), 50);
    expect(t.state).toBe('time-wait');
    expect(outs(t)).toMatchObject([{ flags: ACK, ack: IRS + 302 }]);
    t.read(1000, 60);
    expect(kinds(t.takeEvents())).toEqual(['readable', 'closed:ok', 'eof']);
    // TIME-WAIT answers a retransmitted FIN, then lasts 2 MSL.
    t.input(seg({ flags: ACK | FIN, seq: IRS + 301, ack: ISS + 2 }), 1000);
    expect(outs(t)).toMatchObject([{ flags: ACK, ack: IRS + 302 }]);
    t.tick(60_050);
    expect(t.state).toBe('closed');
  });

  it('closes passively: CLOSE-WAIT, our FIN, LAST-ACK, CLOSED', () => {
    const t = established();
    t.input(seg({ flags: ACK | FIN }), 20);
    expect(t.state).toBe('close-wait');
    expect(kinds(t.takeEvents())).toEqual(['eof']);
    t.write(bytes(50), 30);
    t.shutdown(31);
    expect(outs(t).filter((o) => o.flags & FIN)).toMatchObject([{ seq: ISS + 51 }]);
    expect(t.state).toBe('last-ack');
    t.input(seg({ flags: ACK, seq: IRS + 2, ack: ISS + 52 }), 40);
    expect(t.state).toBe('closed');
    expect(kinds(t.takeEvents())).toContain('closed:ok');
  });

  it('handles a simultaneous close through CLOSING', () => {
    const t = established();
    t.shutdown(20);
    outs(t);
    t.input(seg({ flags: ACK | FIN, ack: ISS + 1 }), 25);
    expect(t.state).toBe('closing');
    t.input(seg({ flags: ACK, seq: IRS + 2, ack: ISS + 2 }), 30);
    expect(t.state).toBe('time-wait');
  });
});

describe('TCP core: RFC 5961', () => {
  it('resets only on an exact RST; an in-window RST gets a challenge ACK', () => {
    const t = established();
    t.input(seg({ flags: RST, seq: IRS + 100 }), 20);
    expect(outs(t)).toMatchObject([{ flags: ACK, ack: IRS + 1 }]);
    expect(t.state).toBe('established');
    t.input(seg({ flags: RST, seq: IRS + 1 }), 30);
    expect(kinds(t.takeEvents())).toEqual(['closed:ECONNRESET']);
  });

  it('answers a SYN in a synchronized state with a challenge ACK, and rate-limits them', () => {
    const t = established();
    for (let i = 0; i < 20; i++) t.input(seg({ flags: SYN, seq: IRS + 10 + i }), 20);
    expect(outs(t).filter((o) => o.flags === ACK)).toHaveLength(10);
    expect(t.state).toBe('established');
  });

  it('challenges an ACK older than the window and ignores data that comes with it', () => {
    const t = established({}, { window: 1000 });
    t.write(bytes(100), 20);
    outs(t);
    t.input(seg({ flags: ACK, ack: seqAdd(ISS, -50_000), payload: bytes(10) }), 30);
    expect(outs(t)).toMatchObject([{ flags: ACK }]);
    expect(t.readableLength).toBe(0);
    expect(t.stats.challengeAcks).toBe(1);
  });
});

describe('TCP core: keepalive and user timeout', () => {
  it('probes an idle connection and times out when the probes go unanswered', () => {
    const t = established({ keepalive: { idleMs: 10_000, intervalMs: 1000, probes: 3 } });
    t.setKeepalive({ idleMs: 10_000, intervalMs: 1000, probes: 3 }, 10);
    t.tick(10_010);
    expect(outs(t)).toMatchObject([{ flags: ACK, seq: ISS, len: 0 }]);
    t.input(seg({ flags: ACK }), 10_100); // answered: idle again
    t.tick(20_100);
    outs(t);
    for (const at of [21_100, 22_100, 23_100]) t.tick(at);
    expect(kinds(t.takeEvents())).toContain('closed:ETIMEDOUT');
  });

  it('gives up when data stays unacknowledged past the user timeout', () => {
    const t = established({ userTimeoutMs: 5000 });
    t.write(bytes(10), 100);
    for (let i = 0; i < 20 && t.state !== 'closed'; i++) t.tick(t.nextDeadline()!);
    const closed = t.takeEvents().find((e) => e.type === 'closed');
    expect(closed).toMatchObject({ error: 'ETIMEDOUT' });
    expect(closed?.type === 'closed' && closed.message).toMatch(/user timeout/);
  });
});

describe('TCP core under random segments', () => {
  it('never throws, never loses in-order data, never grows past its buffers', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            flags: fc.integer({ min: 0, max: 0x3f }),
            seqOff: fc.integer({ min: -70_000, max: 70_000 }),
            ackOff: fc.integer({ min: -70_000, max: 70_000 }),
            len: fc.nat(3000),
            window: fc.nat(0xffff),
            dt: fc.nat(5000),
          }),
          { maxLength: 40 },
        ),
        (segs) => {
          const t = established({ recvBuffer: 16_384, sendBuffer: 16_384 });
          t.write(bytes(20_000), 20);
          let now = 20;
          for (const s of segs) {
            now += s.dt;
            t.input(
              seg({
                flags: s.flags,
                seq: seqAdd(IRS + 1, s.seqOff),
                ack: seqAdd(ISS + 1, s.ackOff),
                window: s.window,
                payload: bytes(s.len),
              }),
              now,
            );
            t.tick(now);
            for (const o of t.takeOutput()) expect(o.payload.length).toBeLessThanOrEqual(1460);
            t.takeEvents();
            expect(t.readableLength).toBeLessThanOrEqual(16_384);
            expect(t.unacknowledged).toBeLessThanOrEqual(16_384);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
