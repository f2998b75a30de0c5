import { describe, expect, it } from 'vitest';
import { IsnGenerator } from '../../src/tcp/isn.js';
import { TcpMux } from '../../src/tcp/mux.js';
import { emitTcpSegment, parseTcpSegment, TcpFlag, type TcpSegment } from '../../src/tcp/segment.js';
import { parseIpv4 } from '../../src/util/ipv4.js';

const US = parseIpv4('10.64.0.2');
const PEER = parseIpv4('10.64.0.1');

function segment(p: Partial<TcpSegment> & { flags: number }): Uint8Array {
  return emitTcpSegment(
    {
      srcPort: 40000,
      dstPort: 80,
      seq: 100,
      ack: 0,
      window: 65535,
      urgent: 0,
      options: {},
      payload: new Uint8Array(0),
      ...p,
    },
    PEER,
    US,
  );
}

function sent(mux: TcpMux): TcpSegment[] {
  return mux.takeOutput().map((o) => parseTcpSegment(o.bytes, US, o.destination));
}

describe('TcpMux', () => {
  it('resets segments for no connection (RFC 9293 3.10.7.1), never a RST', () => {
    const mux = new TcpMux(US, 1460);
    mux.input(PEER, segment({ flags: TcpFlag.SYN, seq: 100 }), 0);
    expect(sent(mux)).toMatchObject([
      { flags: TcpFlag.RST | TcpFlag.ACK, seq: 0, ack: 101, srcPort: 80, dstPort: 40000 },
    ]);
    mux.input(PEER, segment({ flags: TcpFlag.ACK, seq: 100, ack: 777 }), 0);
    expect(sent(mux)).toMatchObject([{ flags: TcpFlag.RST, seq: 777 }]);
    mux.input(PEER, segment({ flags: TcpFlag.RST, seq: 100 }), 0);
    expect(sent(mux)).toEqual([]);
    expect(mux.stats).toMatchObject({ noConnection: 3, resetsSent: 2 });
  });

  it('drops segments with a bad checksum and counts them', () => {
    const mux = new TcpMux(US, 1460);
    const bad = segment({ flags: TcpFlag.SYN });
    bad[16] = bad[16]! ^ 0xff;
    mux.input(PEER, bad, 0);
    expect(mux.stats.malformed).toBe(1);
    expect(sent(mux)).toEqual([]);
  });

  it('answers SYNs on a listening port and hands the connection up once established', () => {
    const mux = new TcpMux(US, 1460);
    mux.listen(80, 2, {});
    mux.input(PEER, segment({ flags: TcpFlag.SYN, seq: 100, options: { mss: 1400 } }), 0);
    const [synAck] = sent(mux);
    expect(synAck).toMatchObject({ flags: TcpFlag.SYN | TcpFlag.ACK, ack: 101, options: { mss: 1460 } });
    mux.input(PEER, segment({ flags: TcpFlag.ACK, seq: 101, ack: (synAck!.seq + 1) >>> 0 }), 10);
    const ev = mux.takeEvents();
    expect(ev.map((e) => e.type)).toEqual(['accept']);
    expect(mux.stats.connectionsAccepted).toBe(1);
  });

  it('drops SYNs beyond the backlog (the peer retries), and frees the place when one dies', () => {
    const mux = new TcpMux(US, 1460);
    mux.listen(80, 1, { synRetries: 0 });
    mux.input(PEER, segment({ flags: TcpFlag.SYN, srcPort: 1000 }), 0);
    mux.input(PEER, segment({ flags: TcpFlag.SYN, srcPort: 1001 }), 0);
    expect(sent(mux)).toHaveLength(1);
    expect(mux.stats.backlogDrops).toBe(1);
    // The half-open one times out (no retries configured), so a new SYN gets in.
    for (let t = 1000; t < 5000; t += 500) mux.tick(t);
    sent(mux);
    mux.input(PEER, segment({ flags: TcpFlag.SYN, srcPort: 1002 }), 6000);
    expect(sent(mux)).toMatchObject([{ flags: TcpFlag.SYN | TcpFlag.ACK, dstPort: 1002 }]);
  });

  it('picks random ephemeral ports and RFC 6528 initial sequence numbers', () => {
    const mux = new TcpMux(US, 1460);
    const ports = new Set<number>();
    for (let i = 0; i < 20; i++) ports.add(mux.connect(PEER, 80, {}, 0).localPort);
    expect(ports.size).toBe(20);
    for (const p of ports) expect(p).toBeGreaterThanOrEqual(49152);
    const isn = new IsnGenerator(new Uint8Array(16));
    const a = isn.isn(US, 50000, PEER, 80, 0);
    expect(isn.isn(US, 50000, PEER, 80, 1)).toBe((a + 250) >>> 0); // 4 us ticks
    expect(isn.isn(US, 50001, PEER, 80, 0)).not.toBe(a);
    expect(new IsnGenerator(new Uint8Array(16).fill(1)).isn(US, 50000, PEER, 80, 0)).not.toBe(a);
  });
});
