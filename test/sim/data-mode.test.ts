import { describe, expect, it } from 'vitest';
import { latin1 } from '../../src/util/bytes.js';
import { at, bytes, lines, out, registered } from './helpers.js';

function connected(config = {}) {
  const c = registered(config);
  expect(at(c, 'ATD*99#', 2000)).toContain('CONNECT');
  return c;
}

function data(c: ReturnType<typeof registered>): string {
  return c
    .takeData()
    .map((b) => latin1(b))
    .join('');
}

describe('online data state', () => {
  it('passes host bytes to takeData and network bytes to the host, unframed', () => {
    const c = connected();
    c.receive(bytes('~\xff\x7d\x23AT\r'), 2100);
    expect(data(c)).toBe('~\xff\x7d\x23AT\r');
    expect(out(c)).toBe('');
    c.sendData(bytes('~reply~'));
    expect(out(c)).toBe('~reply~');
    expect(c.stats()).toMatchObject({ dataBytesIn: 7, dataBytesOut: 7 });
  });

  it('holds URCs while in data mode and sends them after leaving it', () => {
    const c = connected();
    at(c, 'AT+CREG=1', 2000);
    c.emitUrc('RING', 2100);
    expect(out(c)).toBe('');
    c.dropCarrier(2200);
    expect(lines(out(c))).toEqual(['NO CARRIER', 'RING']);
  });

  it('drops network bytes when there is no call', () => {
    const c = registered();
    c.sendData(bytes('x'));
    expect(out(c)).toBe('');
    expect(c.stats().dataDropped).toBe(1);
  });
});

describe('+++ escape (S2, S12 guard time)', () => {
  it('escapes after guard, +++, guard: OK and online command state, call still up', () => {
    const c = connected();
    c.receive(bytes('data'), 2100);
    c.receive(bytes('+++'), 3100);
    expect(c.nextDeadline()).toBe(4100);
    c.tick(4099);
    expect(c.mode).toBe('data');
    c.tick(4100);
    expect(out(c)).toBe('\r\nOK\r\n');
    expect(c.mode).toBe('online-command');
    expect(c.carrier).toBe(true);
    // The escape characters were passed on, as real modems do.
    expect(data(c)).toBe('data+++');
    expect(c.takeEvents()).toContainEqual({ type: 'escape' });
  });

  it('counts the leading guard from CONNECT', () => {
    const c = connected();
    c.receive(bytes('+++'), 2500);
    c.tick(10_000);
    expect(c.mode).toBe('data');
    c.receive(bytes('+++'), 11_000);
    c.tick(12_000);
    expect(c.mode).toBe('online-command');
  });

  it('a too-short leading guard does not escape', () => {
    const c = connected();
    c.receive(bytes('x'), 5000);
    c.receive(bytes('+++'), 5999);
    c.tick(8000);
    expect(c.mode).toBe('data');
    expect(out(c)).toBe('');
  });

  it('a byte in the trailing guard cancels the escape', () => {
    const c = connected();
    c.receive(bytes('+++'), 5000);
    c.receive(bytes('a'), 5500);
    c.tick(8000);
    expect(c.mode).toBe('data');
    expect(data(c)).toBe('+++a');
  });

  it('+ characters too far apart, or four of them, do not escape', () => {
    const c = connected();
    c.receive(bytes('+'), 5000);
    c.receive(bytes('+'), 6100);
    c.receive(bytes('+'), 6200);
    c.tick(9000);
    expect(c.mode).toBe('data');
    c.receive(bytes('++++'), 12_000);
    c.tick(15_000);
    expect(c.mode).toBe('data');
  });

  it('+++ in the middle of data passes through', () => {
    const c = connected();
    c.receive(bytes('abc+++def'), 5000);
    c.tick(9000);
    expect(c.mode).toBe('data');
    expect(data(c)).toBe('abc+++def');
  });

  it('follows S12 and S2', () => {
    const c = connected({ echo: false });
    c.dropCarrier(2000);
    out(c);
    at(c, 'ATS12=5;S2=42;D*99#', 2000); // 100 ms guard, '*' escapes
    c.receive(bytes('+++'), 2200);
    c.tick(2400);
    expect(c.mode).toBe('data');
    c.receive(bytes('***'), 2600);
    c.tick(2700);
    expect(c.mode).toBe('online-command');
  });

  it('takes commands in online command state; ATO goes back with CONNECT', () => {
    const c = connected();
    c.receive(bytes('+++'), 3100);
    c.tick(4100);
    out(c);
    expect(lines(at(c, 'AT+CGPADDR=1;+CSQ', 4200))).toEqual(['+CGPADDR: 1,"10.64.0.2"', '+CSQ: 20,99', 'OK']);
    c.sendData(bytes('held'));
    expect(out(c)).toBe('');
    expect(at(c, 'ATO', 4300)).toBe('\r\nCONNECT 150000000\r\nheld');
    expect(c.mode).toBe('data');
    c.receive(bytes('ppp'), 4400);
    expect(data(c)).toBe('+++ppp');
  });

  it('ATH in online command state hangs up with OK', () => {
    const c = connected();
    c.receive(bytes('+++'), 3100);
    c.tick(4100);
    out(c);
    expect(at(c, 'ATH', 4200)).toBe('\r\nOK\r\n');
    expect(c.mode).toBe('command');
    expect(c.carrier).toBe(false);
    expect(c.pdpContexts[0]?.active).toBe(false);
    expect(at(c, 'ATO', 4300)).toBe('\r\nNO CARRIER\r\n');
    expect(c.takeEvents()).toContainEqual({ type: 'hangup', reason: 'ath' });
  });

  it('ATH without a call is OK; ATD in a call is refused', () => {
    const c = registered({ cmee: 1 });
    expect(at(c, 'ATH', 2000)).toBe('\r\nOK\r\n');
    at(c, 'ATD*99#', 2000);
    c.receive(bytes('+++'), 3100);
    c.tick(4100);
    out(c);
    expect(at(c, 'ATD*99#', 4200)).toBe('\r\n+CME ERROR: 3\r\n');
  });
});

describe('DTR (V.250 clause 6.2.9) and carrier loss', () => {
  it('&D2 (default): DTR off hangs up with NO CARRIER', () => {
    const c = connected();
    c.setDtr(false, 2500);
    expect(out(c)).toBe('\r\nNO CARRIER\r\n');
    expect(c.mode).toBe('command');
    expect(c.takeEvents()).toContainEqual({ type: 'hangup', reason: 'dtr' });
    c.setDtr(true, 2600);
    expect(at(c, 'AT', 2700)).toBe('\r\nOK\r\n');
  });

  it('&D2 with the Hayes result code', () => {
    const c = connected({ dtrHangupResult: 'OK' });
    c.setDtr(false, 2500);
    expect(out(c)).toBe('\r\nOK\r\n');
    expect(c.mode).toBe('command');
  });

  it('&D1: DTR off goes to online command state with OK, the call stays', () => {
    const c = registered();
    at(c, 'AT&D1', 2000);
    at(c, 'ATD*99#', 2000);
    c.setDtr(false, 2500);
    expect(out(c)).toBe('\r\nOK\r\n');
    expect(c.mode).toBe('online-command');
    expect(c.carrier).toBe(true);
  });

  it('&D0: DTR is ignored', () => {
    const c = registered();
    at(c, 'AT&D0', 2000);
    at(c, 'ATD*99#', 2000);
    c.setDtr(false, 2500);
    expect(out(c)).toBe('');
    expect(c.mode).toBe('data');
  });

  it('DTR off while dialling aborts the call with NO CARRIER', () => {
    const c = registered({ connectDelayMs: 1000 });
    at(c, 'ATD*99#', 2000);
    c.setDtr(false, 2500);
    expect(out(c)).toBe('\r\nNO CARRIER\r\n');
    c.tick(5000);
    expect(out(c)).toBe('');
    expect(c.mode).toBe('command');
  });

  it('dropCarrier: NO CARRIER and back to command state, in data and online command state', () => {
    const c = connected();
    c.dropCarrier(2500);
    expect(out(c)).toBe('\r\nNO CARRIER\r\n');
    expect(c.mode).toBe('command');
    expect(c.takeEvents()).toContainEqual({ type: 'hangup', reason: 'carrier' });
    at(c, 'ATD*99#', 3000);
    c.receive(bytes('+++'), 4000);
    c.tick(5000);
    out(c);
    c.dropCarrier(5100);
    expect(out(c)).toBe('\r\nNO CARRIER\r\n');
    c.dropCarrier(5200);
    expect(out(c)).toBe('');
  });

  it('CFUN=0 in online command state ends the call', () => {
    const c = connected();
    c.receive(bytes('+++'), 3100);
    c.tick(4100);
    out(c);
    expect(lines(at(c, 'AT+CFUN=0', 4200))).toEqual(['OK', 'NO CARRIER']);
    expect(c.mode).toBe('command');
  });
});
