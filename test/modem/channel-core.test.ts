import { describe, expect, it } from 'vitest';
import { AtChannelCore, type AtChannelEvent } from '../../src/modem/channel-core.js';

const enc = (s: string) => new TextEncoder().encode(s);
const text = (chunks: Uint8Array[]) => chunks.map((c) => Buffer.from(c).toString('latin1')).join('');

function results(events: AtChannelEvent[]) {
  return events.filter((e) => e.type === 'response' || e.type === 'failure');
}

describe('AtChannelCore', () => {
  it('sends one command line with CR and completes it on OK, dropping the echo', () => {
    const core = new AtChannelCore();
    const id = core.enqueue({ text: 'AT+CGMI', timeoutMs: 1000 }, 0);
    expect(text(core.takeOutput())).toBe('AT+CGMI\r');
    core.receive(enc('AT+CGMI\r\r\nQuectel\r\n\r\nOK\r\n'), 5);
    const ev = results(core.takeEvents());
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({
      type: 'response',
      id,
      response: { lines: ['Quectel'], final: { kind: 'OK' } },
    });
    expect(core.stats.echoLines).toBe(1);
  });

  it('accepts bare CR and bare LF line endings and split chunks', () => {
    const core = new AtChannelCore();
    core.enqueue({ text: 'AT+CSQ', timeoutMs: 1000 }, 0);
    for (const part of ['\r+C', 'SQ: 2', '1,99\r', '\rO', 'K', '\r']) core.receive(enc(part), 1);
    const [ev] = results(core.takeEvents());
    expect(ev).toMatchObject({ type: 'response', response: { lines: ['+CSQ: 21,99'] } });
    const core2 = new AtChannelCore();
    core2.enqueue({ text: 'AT', timeoutMs: 1000 }, 0);
    core2.receive(enc('\nOK\n'), 1);
    expect(results(core2.takeEvents())[0]).toMatchObject({ type: 'response' });
  });

  it('keeps one command in flight and sends the next after the final result code', () => {
    const core = new AtChannelCore();
    core.enqueue({ text: 'AT+CGMM', timeoutMs: 1000 }, 0);
    core.enqueue({ text: 'AT+CGMR', timeoutMs: 1000 }, 0);
    expect(text(core.takeOutput())).toBe('AT+CGMM\r');
    expect(core.queued).toBe(1);
    core.receive(enc('\r\nEC25\r\n\r\nOK\r\n'), 3);
    expect(text(core.takeOutput())).toBe('AT+CGMR\r');
  });

  it('honours a quiet time between commands', () => {
    const core = new AtChannelCore({ interCommandDelayMs: 50 });
    core.enqueue({ text: 'AT', timeoutMs: 1000 }, 0);
    core.enqueue({ text: 'ATI', timeoutMs: 1000 }, 0);
    core.takeOutput();
    core.receive(enc('\r\nOK\r\n'), 10);
    expect(core.takeOutput()).toHaveLength(0);
    expect(core.nextDeadline()).toBe(60);
    core.tick(60);
    expect(text(core.takeOutput())).toBe('ATI\r');
  });

  it('recognises URCs between information lines and the final result code', () => {
    const core = new AtChannelCore();
    core.enqueue({ text: 'AT+COPS?', timeoutMs: 1000 }, 0);
    core.receive(
      enc('\r\n+COPS: 0,0,"Test",7\r\n\r\n+CREG: 1,"00C3","0000A13",7\r\n\r\nRING\r\n\r\nOK\r\n'),
      1,
    );
    const ev = core.takeEvents();
    const urcs = ev.filter((e) => e.type === 'urc');
    expect(urcs.map((u) => (u.type === 'urc' ? u.urc.kind : ''))).toEqual(['registration', 'ring']);
    const reg = urcs[0]!.type === 'urc' ? urcs[0]!.urc : undefined;
    expect(reg).toMatchObject({
      kind: 'registration',
      domain: 'cs',
      registration: { stat: 1, lac: 'C3', ci: 'A13' },
    });
    expect(results(ev)[0]).toMatchObject({ response: { lines: ['+COPS: 0,0,"Test",7'] } });
  });

  it('treats a line matching the read command as its response, not as a URC', () => {
    const core = new AtChannelCore();
    core.enqueue({ text: 'AT+CREG?', timeoutMs: 1000 }, 0);
    core.receive(enc('\r\n+CREG: 2,5,"1A2B","01C3D4E",2\r\n\r\nOK\r\n'), 1);
    const ev = core.takeEvents();
    expect(ev.some((e) => e.type === 'urc')).toBe(false);
    expect(results(ev)[0]).toMatchObject({ response: { lines: ['+CREG: 2,5,"1A2B","01C3D4E",2'] } });
  });

  it("reports a set command's registration line as a URC", () => {
    const core = new AtChannelCore();
    core.enqueue({ text: 'AT+CREG=2', timeoutMs: 1000 }, 0);
    core.receive(enc('\r\n+CREG: 1,"1A2B","01C3"\r\n\r\nOK\r\n'), 1);
    const ev = core.takeEvents();
    expect(ev.filter((e) => e.type === 'urc')).toHaveLength(1);
  });

  it('turns error final result codes into typed errors with the CME cause', () => {
    const core = new AtChannelCore();
    const a = core.enqueue({ text: 'AT+CIMI', timeoutMs: 1000 }, 0);
    core.receive(enc('\r\n+CME ERROR: 10\r\n'), 1);
    const b = core.enqueue({ text: 'AT+CPIN?', timeoutMs: 1000 }, 2);
    core.receive(enc('\r\n+CME ERROR: SIM PIN required\r\n'), 3);
    const c = core.enqueue({ text: 'AT+FOO', timeoutMs: 1000 }, 4);
    core.receive(enc('\r\nCOMMAND NOT SUPPORT\r\n'), 5);
    const d = core.enqueue({ text: 'AT+CMGS=1', timeoutMs: 1000 }, 6);
    core.receive(enc('\r\n+CMS ERROR: 500\r\n'), 7);
    const ev = results(core.takeEvents());
    const err = (id: number) => {
      const e = ev.find((x) => x.type === 'failure' && x.id === id);
      return e?.type === 'failure' ? e.error : undefined;
    };
    expect(err(a)).toMatchObject({ code: 'CME_ERROR', cmeCause: 10, command: 'AT+CIMI' });
    expect(err(a)?.message).toContain('SIM not inserted');
    expect(err(b)).toMatchObject({ code: 'CME_ERROR', cmeCause: 11 });
    expect(err(c)).toMatchObject({ code: 'ERROR' });
    expect(err(d)).toMatchObject({ code: 'CMS_ERROR', cmeCause: 500 });
  });

  it('times out a command, reports it, and moves on to the next', () => {
    const core = new AtChannelCore();
    const a = core.enqueue({ text: 'AT', timeoutMs: 500 }, 0);
    core.enqueue({ text: 'ATI', timeoutMs: 500 }, 0);
    core.takeOutput();
    expect(core.nextDeadline()).toBe(500);
    core.tick(499);
    expect(results(core.takeEvents())).toHaveLength(0);
    core.tick(500);
    const ev = results(core.takeEvents());
    expect(ev[0]).toMatchObject({ type: 'failure', id: a, error: { code: 'TIMEOUT' } });
    expect(text(core.takeOutput())).toBe('ATI\r');
    expect(core.stats.timeouts).toBe(1);
  });

  it('cancels a queued command at once and an in-flight one without losing sync', () => {
    const core = new AtChannelCore();
    const a = core.enqueue({ text: 'AT+COPS=?', timeoutMs: 180_000, abortOnCancel: true }, 0);
    const b = core.enqueue({ text: 'AT+CSQ', timeoutMs: 1000 }, 0);
    const c = core.enqueue({ text: 'AT+CGMI', timeoutMs: 1000 }, 0);
    core.takeOutput();
    core.cancel(b, 1);
    core.cancel(a, 2);
    let ev = results(core.takeEvents());
    expect(ev.map((e) => [e.id, e.type === 'failure' ? e.error.code : ''])).toEqual([
      [b, 'CANCELLED'],
      [a, 'CANCELLED'],
    ]);
    // The abort character went out; the modem's final code for the aborted scan must not
    // complete the next command.
    expect(text(core.takeOutput())).toBe('\r');
    core.receive(enc('\r\nOK\r\n'), 3);
    expect(text(core.takeOutput())).toBe('AT+CGMI\r');
    core.receive(enc('\r\nSIMCOM INCORPORATED\r\n\r\nOK\r\n'), 4);
    ev = results(core.takeEvents());
    expect(ev).toEqual([
      expect.objectContaining({
        type: 'response',
        id: c,
        response: expect.objectContaining({ lines: ['SIMCOM INCORPORATED'] }),
      }),
    ]);
  });

  it('switches to data mode on CONNECT and keeps the bytes of the same chunk', () => {
    const core = new AtChannelCore();
    const id = core.enqueue({ text: 'ATD*99***1#', timeoutMs: 60_000 }, 0);
    const lcp = [0x7e, 0xff, 0x7d, 0x23, 0xc0, 0x21, 0x7d, 0x21, 0x7e];
    core.receive(Uint8Array.from([...enc('\r\nCONNECT 150000000\r\n'), ...lcp]), 10);
    const ev = core.takeEvents();
    expect(ev.find((e) => e.type === 'connect')).toMatchObject({ id, text: 'CONNECT 150000000' });
    expect(results(ev)[0]).toMatchObject({
      type: 'response',
      response: { final: { kind: 'CONNECT', connectText: '150000000' } },
    });
    const data = ev.filter((e) => e.type === 'data').flatMap((e) => (e.type === 'data' ? [...e.bytes] : []));
    expect(data).toEqual(lcp);
    expect(core.mode).toBe('data');
  });

  it("skips the LF of CONNECT's CRLF even when it arrives in the next chunk", () => {
    const core = new AtChannelCore();
    core.enqueue({ text: 'ATD*99#', timeoutMs: 60_000 }, 0);
    core.receive(enc('\r\nCONNECT\r'), 1);
    core.receive(Uint8Array.from([0x0a, 0x7e, 0x01]), 2);
    const data = core
      .takeEvents()
      .filter((e) => e.type === 'data')
      .flatMap((e) => (e.type === 'data' ? [...e.bytes] : []));
    expect(data).toEqual([0x7e, 0x01]);
  });

  it('fails commands queued when the modem went to data mode, and refuses new ones', () => {
    const core = new AtChannelCore();
    core.enqueue({ text: 'ATD*99#', timeoutMs: 60_000 }, 0);
    const b = core.enqueue({ text: 'AT+CSQ', timeoutMs: 1000 }, 0);
    core.receive(enc('\r\nCONNECT\r\n'), 1);
    const c = core.enqueue({ text: 'AT', timeoutMs: 1000 }, 2);
    const fails = core.takeEvents().filter((e) => e.type === 'failure');
    expect(fails.map((f) => (f.type === 'failure' ? [f.id, f.error.code] : []))).toEqual([
      [b, 'BUSY_CHANNEL'],
      [c, 'BUSY_CHANNEL'],
    ]);
  });

  it('detects NO CARRIER after a flag in data mode and returns to command mode', () => {
    const core = new AtChannelCore();
    core.enqueue({ text: 'ATD*99#', timeoutMs: 60_000 }, 0);
    core.receive(enc('\r\nCONNECT\r\n'), 1);
    core.takeEvents();
    core.takeOutput();
    core.receive(Uint8Array.from([0x7e, 0x21, 0x45, 0x7e, ...enc('\r\nNO CARRIER\r\n')]), 2);
    const ev = core.takeEvents();
    expect(ev.some((e) => e.type === 'carrier-lost')).toBe(true);
    expect(core.mode).toBe('command');
    const data = ev.filter((e) => e.type === 'data').flatMap((e) => (e.type === 'data' ? [...e.bytes] : []));
    expect(data).toEqual([0x7e, 0x21, 0x45, 0x7e]);
    core.enqueue({ text: 'AT', timeoutMs: 1000 }, 3);
    expect(text(core.takeOutput())).toBe('AT\r');
  });

  it('passes "NO CARRIER" inside a frame through as data', () => {
    const core = new AtChannelCore();
    core.enqueue({ text: 'ATD*99#', timeoutMs: 60_000 }, 0);
    core.receive(enc('\r\nCONNECT\r\n'), 1);
    core.takeEvents();
    const frame = Uint8Array.from([0x7e, 0x21, 0x45, ...enc('\r\nNO CARRIER\r\n'), 0x7e]);
    core.receive(frame, 2);
    const ev = core.takeEvents();
    expect(ev.some((e) => e.type === 'carrier-lost')).toBe(false);
    const data = ev.filter((e) => e.type === 'data').flatMap((e) => (e.type === 'data' ? [...e.bytes] : []));
    expect(data).toEqual([...frame]);
  });

  it('bounds line length and drops control characters as noise', () => {
    const core = new AtChannelCore({ maxLineLength: 64 });
    core.enqueue({ text: 'ATI', timeoutMs: 1000 }, 0);
    core.receive(enc(`\r\n${'x'.repeat(500)}\r\nQuectel\x00\x01\r\nOK\r\n`), 1);
    const [ev] = results(core.takeEvents());
    expect(ev).toMatchObject({ response: { lines: ['Quectel'] } });
    expect(core.stats.overlongLines).toBe(1);
    expect(core.stats.noiseBytes).toBe(2);
  });

  it('reports lines with no command in flight as URCs and counts stray final codes', () => {
    const core = new AtChannelCore();
    core.receive(
      enc(
        '\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\nOK\r\n\r\n+QIND: "csq",21,99\r\n\r\nhello\r\n\r\nNO CARRIER\r\n',
      ),
      0,
    );
    const urcs = core.takeEvents().flatMap((e) => (e.type === 'urc' ? [e.urc] : []));
    expect(urcs.map((u) => u.kind)).toEqual(['modem-ready', 'sim-state', 'signal', 'unknown', 'no-carrier']);
    expect(urcs[2]).toMatchObject({ rssiDbm: -71, bars: 5 });
    expect(core.stats.strayFinals).toBe(1);
  });

  it('sends a body after the "> " prompt', () => {
    const core = new AtChannelCore();
    core.enqueue({ text: 'AT+CMGS="+1555"', timeoutMs: 1000, body: 'hi' }, 0);
    core.takeOutput();
    core.receive(enc('\r\n> '), 1);
    expect(text(core.takeOutput())).toBe('hi\x1a');
    core.receive(enc('\r\n+CMGS: 4\r\n\r\nOK\r\n'), 2);
    expect(results(core.takeEvents())[0]).toMatchObject({ response: { lines: ['+CMGS: 4'] } });
  });

  it('writes raw commands as they are and takes their OK', () => {
    const core = new AtChannelCore();
    const id = core.enqueue({ text: '+++', raw: true, timeoutMs: 3000 }, 0);
    expect(text(core.takeOutput())).toBe('+++');
    core.receive(enc('\r\nOK\r\n'), 1100);
    expect(results(core.takeEvents())[0]).toMatchObject({ type: 'response', id });
  });
});
