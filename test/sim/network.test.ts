import { describe, expect, it } from 'vitest';
import { parseCopsQuery, parseCopsTest } from '../../src/modem/parse/operator.js';
import { parseRegistration } from '../../src/modem/parse/registration.js';
import { parseCesq, parseCsq } from '../../src/modem/parse/signal.js';
import { at, core, lines, out } from './helpers.js';

describe('registration timeline', () => {
  it('searches, then registers home after registerAfterMs', () => {
    const c = core();
    expect(lines(at(c, 'AT+CREG?'))).toEqual(['+CREG: 0,2', 'OK']);
    expect(c.nextDeadline()).toBe(1500);
    c.tick(1499);
    expect(c.registration.stat).toBe(2);
    c.tick(1500);
    expect(c.registration.state).toBe('home');
    expect(lines(at(c, 'AT+CREG?;+CGREG?;+CEREG?;+C5GREG?', 1500))).toEqual([
      '+CREG: 0,1',
      '+CGREG: 0,1',
      '+CEREG: 0,1',
      '+C5GREG: 0,0',
      'OK',
    ]);
    expect(c.nextDeadline()).toBeUndefined();
  });

  it('sends URCs in the n=1 and n=2 forms (27.007 clause 7.2)', () => {
    const c = core();
    expect(at(c, 'AT+CREG=1;+CGREG=2;+CEREG=2')).toBe('\r\nOK\r\n');
    c.tick(1500);
    expect(lines(out(c))).toEqual([
      '+CREG: 1',
      '+CGREG: 1,"3C4D","01A2B3C4",7',
      '+CEREG: 1,"3C4D","01A2B3C4",7',
    ]);
    expect(lines(at(c, 'AT+CREG?;+CGREG?', 1500))).toEqual([
      '+CREG: 1,1',
      '+CGREG: 2,1,"3C4D","01A2B3C4",7',
      'OK',
    ]);
  });

  it('n=2 reports a cell change; n=1 does not', () => {
    const c = core();
    at(c, 'AT+CREG=1;+CEREG=2');
    c.tick(1500);
    out(c);
    c.setRegistration({ ci: 0x0abcdef1, tac: 0x1234 }, 2000);
    expect(lines(out(c))).toEqual(['+CEREG: 1,"1234","0ABCDEF1",7']);
  });

  it('the lines parse with the driver parsers', () => {
    const c = core();
    at(c, 'AT+CREG=2');
    c.tick(1500);
    const urc = lines(out(c))[0]!;
    expect(parseRegistration(urc, 'unsolicited')).toMatchObject({
      domain: 'cs',
      state: 'home',
      lac: '3C4D',
      ci: '1A2B3C4',
      act: 'lte',
    });
    const read = lines(at(c, 'AT+CREG?', 1500))[0]!;
    expect(parseRegistration(read, 'solicited')).toMatchObject({ n: 2, stat: 1, act: 'lte' });
  });

  it('GSM cells: LAC, 4-digit ci, AcT 0, and EPS not registered', () => {
    const c = core({ network: { act: 'gsm', lac: 0x00ab, ci: 0x1f2 } });
    at(c, 'AT+CREG=2;+CEREG=2');
    c.tick(1500);
    // EPS stops searching: the UE camps on GERAN.
    expect(lines(out(c))).toEqual(['+CREG: 1,"00AB","01F2",0', '+CEREG: 0']);
    expect(lines(at(c, 'AT+CEREG?', 1500))).toEqual(['+CEREG: 2,0', 'OK']);
  });

  it('roaming, denied and searching outcomes', () => {
    const roam = core({ network: { registration: 'roaming' } });
    roam.tick(1500);
    expect(lines(at(roam, 'AT+CREG?', 1500))).toEqual(['+CREG: 0,5', 'OK']);
    const denied = core({ network: { registration: 'denied' } });
    denied.tick(1500);
    expect(lines(at(denied, 'AT+CEREG?', 1500))).toEqual(['+CEREG: 0,3', 'OK']);
    const searching = core({ network: { registration: 'searching' } });
    expect(searching.nextDeadline()).toBeUndefined();
    expect(lines(at(searching, 'AT+CREG?', 60_000))).toEqual(['+CREG: 0,2', 'OK']);
  });

  it('does not register without a SIM or while the SIM is locked', () => {
    const c = core({ sim: { inserted: false } });
    c.tick(10_000);
    expect(lines(at(c, 'AT+CREG?', 10_000))).toEqual(['+CREG: 0,0', 'OK']);
  });

  it('2G/3G modules (SIM800) have no +CEREG', () => {
    const c = core({ flavour: 'simcom', network: { domains: ['cs', 'ps'], act: 'gprs' } });
    expect(at(c, 'AT+CEREG?')).toBe('\r\nERROR\r\n');
    expect(at(c, 'AT+CEREG=1')).toBe('\r\nERROR\r\n');
    expect(lines(at(c, 'AT+CGREG?'))).toEqual(['+CGREG: 0,2', 'OK']);
    expect(at(core({ flavour: 'quectel' }), 'AT+C5GREG?')).toBe('\r\nERROR\r\n');
  });

  it('n outside 0..2 is an error; =? lists the range', () => {
    const c = core();
    expect(at(c, 'AT+CEREG=4')).toBe('\r\nERROR\r\n');
    expect(at(c, 'AT+CREG=3')).toBe('\r\nERROR\r\n');
    expect(lines(at(c, 'AT+CEREG=?'))).toEqual(['+CEREG: (0-2)', 'OK']);
  });

  it('setRegistration changes state at once and cancels the pending registration', () => {
    const c = core();
    at(c, 'AT+CREG=1');
    c.setRegistration({ state: 'denied' }, 100);
    expect(lines(out(c))).toEqual(['+CREG: 3']);
    c.tick(2000);
    expect(out(c)).toBe('');
    c.setRegistration({ state: 'roaming', operator: { long: 'Visited', numeric: '00102' } }, 2100);
    expect(lines(out(c))).toEqual(['+CREG: 5']);
    expect(lines(at(c, 'AT+COPS?', 2100))).toEqual(['+COPS: 0,0,"Visited",7', 'OK']);
  });
});

describe('+CFUN (27.007 clause 8.2)', () => {
  it('=0 deregisters with URCs, =1 registers again', () => {
    const c = core();
    at(c, 'AT+CREG=1;+CEREG=1');
    c.tick(1500);
    out(c);
    expect(lines(at(c, 'AT+CFUN=0', 2000))).toEqual(['OK', '+CREG: 0', '+CEREG: 0']);
    expect(lines(at(c, 'AT+CFUN?;+CSQ', 2000))).toEqual(['+CFUN: 0', '+CSQ: 99,99', 'OK']);
    expect(c.attached).toBe(false);
    expect(lines(at(c, 'AT+CFUN=1', 3000))).toEqual(['OK', '+CREG: 2', '+CEREG: 2']);
    c.tick(4500);
    expect(lines(out(c))).toEqual(['+CREG: 1', '+CEREG: 1']);
  });

  it('=4 is flight mode; bad values are errors', () => {
    const c = core();
    expect(at(c, 'AT+CFUN=4')).toBe('\r\nOK\r\n');
    expect(lines(at(c, 'AT+CFUN?'))).toEqual(['+CFUN: 4', 'OK']);
    expect(at(c, 'AT+CFUN=2')).toBe('\r\nERROR\r\n');
    expect(lines(at(c, 'AT+CFUN=?'))).toEqual(['+CFUN: (0,1,4),(0,1)', 'OK']);
  });

  it('=1,1 restarts the modem: OK, boot URCs, settings back to defaults', () => {
    const c = core({ flavour: 'quectel', bootDelayMs: 0 });
    at(c, 'AT+CMEE=2');
    expect(lines(at(c, 'AT+CFUN=1,1', 100))).toEqual([
      'OK',
      'RDY',
      '+CPIN: READY',
      '+QIND: SMS DONE',
      '+QIND: PB DONE',
    ]);
    expect(c.cmee).toBe(1);
    expect(c.echo).toBe(false);
  });
});

describe('+COPS (27.007 clause 7.3)', () => {
  it('reads the operator in the chosen format', () => {
    const c = core();
    expect(lines(at(c, 'AT+COPS?'))).toEqual(['+COPS: 0', 'OK']);
    c.tick(1500);
    expect(lines(at(c, 'AT+COPS?', 1500))).toEqual(['+COPS: 0,0,"Cellstack Test Network",7', 'OK']);
    expect(lines(at(c, 'AT+COPS=3,1;+COPS?', 1500))).toEqual(['+COPS: 0,1,"Cellstack",7', 'OK']);
    expect(lines(at(c, 'AT+COPS=3,2;+COPS?', 1500))).toEqual(['+COPS: 0,2,"00101",7', 'OK']);
    expect(parseCopsQuery('+COPS: 0,2,"00101",7')).toMatchObject({ operator: '00101', act: 'lte' });
    expect(at(c, 'AT+COPS=3,5')).toBe('\r\nERROR\r\n');
  });

  it('=? takes scanMs, holds input meanwhile, then lists the networks', () => {
    const c = core();
    c.tick(1500);
    expect(at(c, 'AT+COPS=?', 2000)).toBe('');
    expect(c.nextDeadline()).toBe(4500);
    expect(at(c, 'AT', 3000)).toBe('');
    c.tick(4500);
    const text = lines(out(c));
    expect(text).toEqual([
      '+COPS: (2,"Cellstack Test Network","Cellstack","00101",7),(1,"Cellstack Other Network","Other","00102",2),(3,"Cellstack Forbidden","Forbidden","00103",0),,(0,1,2,3,4),(0,1,2)',
      'OK',
      'OK',
    ]);
    expect(parseCopsTest(text[0]!).map((n) => [n.availability, n.mccmnc])).toEqual([
      ['current', '00101'],
      ['available', '00102'],
      ['forbidden', '00103'],
    ]);
  });

  it('=2 deregisters, =0 registers again; =1 only accepts the serving network', () => {
    const c = core({ cmee: 1 });
    c.tick(1500);
    at(c, 'AT+CREG=1', 1500);
    expect(lines(at(c, 'AT+COPS=2', 1600))).toEqual(['OK', '+CREG: 0']);
    expect(lines(at(c, 'AT+COPS?', 1600))).toEqual(['+COPS: 2', 'OK']);
    expect(lines(at(c, 'AT+COPS=0', 1700))).toEqual(['OK', '+CREG: 2']);
    c.tick(3200);
    expect(lines(out(c))).toEqual(['+CREG: 1']);
    expect(lines(at(c, 'AT+COPS=1,2,"00199"', 3300))).toEqual(['+CME ERROR: 30']);
    expect(lines(at(c, 'AT+COPS=1,2,"00101";+COPS?', 3300))).toEqual(['+COPS: 1,2,"00101",7', 'OK']);
  });
});

describe('signal quality', () => {
  it('+CSQ and setSignal', () => {
    const c = core();
    expect(lines(at(c, 'AT+CSQ'))).toEqual(['+CSQ: 20,99', 'OK']);
    c.setSignal(12, 3);
    expect(lines(at(c, 'AT+CSQ'))).toEqual(['+CSQ: 12,3', 'OK']);
    expect(parseCsq('+CSQ: 12,3')).toMatchObject({ rssiDbm: -89 });
    expect(lines(at(c, 'AT+CSQ=?'))).toEqual(['+CSQ: (0-31,99),(0-7,99)', 'OK']);
    expect(at(c, 'AT+CSQ?')).toBe('\r\nERROR\r\n');
  });

  it('+CESQ fills the serving RAT fields', () => {
    const lte = lines(at(core(), 'AT+CESQ'))[0]!;
    expect(lte).toBe('+CESQ: 99,99,255,255,20,48');
    expect(parseCesq(lte)).toMatchObject({ rsrpDbm: -93, rsrqDb: -10, rxlevDbm: null });
    expect(lines(at(core({ network: { act: 'gsm', ber: 0 } }), 'AT+CESQ'))[0]).toBe(
      '+CESQ: 38,0,255,255,255,255',
    );
    expect(lines(at(core({ network: { act: 'umts' } }), 'AT+CESQ'))[0]).toBe('+CESQ: 99,99,48,37,255,255');
  });
});

describe('boot and vendor URCs', () => {
  it('Quectel and SIMCom send their boot URCs; generic, u-blox and Huawei none', async () => {
    const { SimModemCore } = await import('../../src/sim/at-core.js');
    const boot = (flavour: 'generic' | 'quectel' | 'simcom' | 'ublox' | 'huawei', pin?: string) => {
      const c = new SimModemCore({ flavour, sim: pin ? { pin } : {} }, 0);
      return lines(out(c));
    };
    expect(boot('quectel')).toEqual(['RDY', '+CPIN: READY', '+QIND: SMS DONE', '+QIND: PB DONE']);
    expect(boot('quectel', '1234')).toEqual(['RDY', '+CPIN: SIM PIN']);
    expect(boot('simcom')).toEqual(['RDY', '+CPIN: READY', 'SMS DONE', 'PB DONE']);
    expect(boot('generic')).toEqual([]);
    expect(boot('ublox')).toEqual([]);
    expect(boot('huawei')).toEqual([]);
    expect(lines(out(new SimModemCore({ flavour: 'quectel', urcs: { boot: false } }, 0)))).toEqual([]);
  });

  it('bootDelayMs: silent and deaf until boot, then the URCs', () => {
    const c = core({ flavour: 'simcom', bootDelayMs: 3000 });
    expect(at(c, 'AT', 100)).toBe('');
    expect(c.stats().inputDropped).toBe(3);
    expect(c.nextDeadline()).toBe(3000);
    c.tick(3000);
    expect(lines(out(c))).toEqual(['RDY', '+CPIN: READY', 'SMS DONE', 'PB DONE']);
    expect(at(c, 'AT', 3001)).toBe('\r\nOK\r\n');
  });

  it('Huawei ^RSSI periodically and on change, ^MODE on access technology changes', () => {
    const c = core({ flavour: 'huawei', urcs: { signalIntervalMs: 5000, modeChanges: true } });
    expect(c.nextDeadline()).toBe(1500);
    c.tick(1500);
    expect(lines(out(c))).toEqual(['^MODE: 7']);
    c.tick(5000);
    expect(lines(out(c))).toEqual(['^RSSI: 20']);
    c.setSignal(9);
    expect(lines(out(c))).toEqual(['^RSSI: 9']);
    c.setRegistration({ act: 'umts' }, 6000);
    expect(lines(out(c))).toEqual(['^MODE: 5,4']);
    c.tick(10_000);
    expect(lines(out(c))).toEqual(['^RSSI: 9']);
  });

  it('emitUrc sends a line at once in command state', () => {
    const c = core();
    c.emitUrc('+CMTI: "SM",1', 10);
    expect(out(c)).toBe('\r\n+CMTI: "SM",1\r\n');
  });
});
