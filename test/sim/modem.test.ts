import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createDuplexPair } from '../../src/sim/duplex-pair.js';
import { createSimPair, SimModem } from '../../src/sim/modem.js';
import { latin1 } from '../../src/util/bytes.js';
import { ManualClock } from '../../src/util/manual-clock.js';

function reader(stream: Duplex): { text: () => string; clear: () => void } {
  let buf = '';
  stream.on('data', (chunk: Buffer) => {
    buf += latin1(chunk);
  });
  return {
    text: () => buf,
    clear: () => {
      buf = '';
    },
  };
}

describe('createDuplexPair', () => {
  it('delivers asynchronously and in order, never inside write()', async () => {
    const [a, b] = createDuplexPair();
    const got: string[] = [];
    b.on('data', (c: Buffer) => got.push(latin1(c)));
    a.write('one');
    a.write('two');
    expect(got).toEqual([]);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(got.join('')).toBe('onetwo');
  });

  it('ending or destroying one end ends the other', async () => {
    const [a, b] = createDuplexPair();
    const ended = new Promise<void>((resolve) => b.on('end', resolve));
    b.resume();
    a.end();
    await ended;
    const [c, d] = createDuplexPair();
    const ended2 = new Promise<void>((resolve) => d.on('end', resolve));
    d.resume();
    c.destroy();
    await ended2;
    expect(() => d.write('x')).not.toThrow();
  });
});

describe('SimModem shell with a ManualClock', () => {
  it('answers AT through the in-process port, with echo', async () => {
    const clock = new ManualClock(0);
    const { sim, port } = createSimPair({}, { clock });
    const host = reader(port.stream);
    const commands: string[] = [];
    sim.on('command', (line) => commands.push(line));
    port.stream.write('AT+CGMI\r');
    expect(commands).toEqual([]);
    await clock.advance(0);
    expect(host.text()).toBe('AT+CGMI\r\r\ncellstack\r\n\r\nOK\r\n');
    expect(commands).toEqual(['AT+CGMI']);
    await port.close();
  });

  it('arms its timer for slow commands and registration URCs', async () => {
    const clock = new ManualClock(0);
    const { sim, port } = createSimPair({ echo: false }, { clock });
    const host = reader(port.stream);
    port.stream.write('AT+CREG=1\r');
    await clock.advance(0);
    host.clear();
    await clock.advance(1499);
    expect(host.text()).toBe('');
    await clock.advance(1);
    expect(host.text()).toBe('\r\n+CREG: 1\r\n');
    host.clear();
    port.stream.write('AT+COPS=?\r');
    await clock.advance(2000);
    expect(host.text()).toBe('');
    await clock.advance(500);
    expect(host.text()).toContain('+COPS: (2,"Cellstack Test Network"');
    expect(sim.mode).toBe('command');
    await port.close();
    expect(clock.pending).toBe(0);
  });

  it('carries a call: connect, data both ways, DTR drop, signals', async () => {
    const clock = new ManualClock(0);
    const { sim, port } = createSimPair({ echo: false, connectDelayMs: 100 }, { clock });
    const host = reader(port.stream);
    const events: string[] = [];
    const fromHost: string[] = [];
    sim.on('connect', (cid) => events.push(`connect ${cid}`));
    sim.on('hangup', (reason) => events.push(`hangup ${reason}`));
    sim.on('data', (b) => fromHost.push(latin1(b)));
    await clock.advance(1500);
    port.stream.write('ATD*99#\r');
    await clock.advance(100);
    expect(host.text()).toBe('\r\nCONNECT 150000000\r\n');
    expect(events).toEqual(['connect 1']);
    expect(await port.getSignals?.()).toEqual({ dcd: true, dsr: true, cts: true });
    host.clear();
    port.stream.write(Buffer.from('~\x7e\xff', 'latin1'));
    await clock.advance(0);
    expect(fromHost.join('')).toBe('~\x7e\xff');
    sim.sendData(Buffer.from('~ack~', 'latin1'));
    await clock.advance(0);
    expect(host.text()).toBe('~ack~');
    host.clear();
    const dtr = port.setDtr?.(false);
    await clock.advance(0);
    await dtr;
    await clock.advance(0);
    expect(host.text()).toBe('\r\nNO CARRIER\r\n');
    expect(events).toEqual(['connect 1', 'hangup dtr']);
    expect((await port.getSignals?.())?.dcd).toBe(false);
    await port.close();
  });

  it('escapes with +++ after the guard times on the clock', async () => {
    const clock = new ManualClock(0);
    const { sim, port } = createSimPair({ echo: false, connectDelayMs: 0 }, { clock });
    const host = reader(port.stream);
    let escaped = 0;
    sim.on('escape', () => escaped++);
    await clock.advance(1500);
    port.stream.write('ATD*99#\r');
    await clock.advance(1000);
    host.clear();
    port.stream.write('+++');
    await clock.advance(999);
    expect(sim.mode).toBe('data');
    await clock.advance(1);
    expect(sim.mode).toBe('online-command');
    expect(host.text()).toBe('\r\nOK\r\n');
    expect(escaped).toBe(1);
    await port.close();
  });

  it('close() stops the timer and detaches', async () => {
    const clock = new ManualClock(0);
    const { sim, port } = createSimPair({}, { clock });
    expect(clock.pending).toBe(1);
    sim.close();
    expect(clock.pending).toBe(0);
    expect(sim.closed).toBe(true);
    expect(() => sim.attach(port.stream)).toThrow(/closed/);
    await port.close();
  });

  it('stops writing under backpressure; the core keeps at most maxOutputBytes', async () => {
    const clock = new ManualClock(0);
    let written = 0;
    const sink = new Duplex({
      highWaterMark: 16,
      read() {},
      write(chunk: Buffer, _enc, _cb) {
        // Never calls back: the port never drains.
        written += chunk.length;
      },
    });
    const sim = new SimModem({ echo: true, limits: { maxOutputBytes: 1000 } }, { clock });
    sim.attach(sink);
    for (let i = 0; i < 200; i++) sink.push(Buffer.from('AT+CGMI;+CGMM;+CGMR\r'));
    await clock.advance(0);
    expect(written).toBeGreaterThan(0);
    expect(sim.core.outputQueued).toBeLessThanOrEqual(1000);
    expect(sim.core.stats().outputDropped).toBeGreaterThan(0);
    sim.close();
  });
});
