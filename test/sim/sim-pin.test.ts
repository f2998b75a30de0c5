import { describe, expect, it } from 'vitest';
import {
  parseHuaweiCpin,
  parseQuectelQpinc,
  parseSimcomSpic,
  parseUbloxUpincnt,
} from '../../src/modem/parse/sim.js';
import { redactCommandLine } from '../../src/sim/at-format.js';
import { at, core, lines, out } from './helpers.js';

const locked = { cmee: 1 as const, sim: { pin: '1234', puk: '87654321' } };

describe('+CPIN (27.007 clause 8.3)', () => {
  it('reports READY, SIM PIN, and CME 10 without a SIM', () => {
    expect(lines(at(core(), 'AT+CPIN?'))).toEqual(['+CPIN: READY', 'OK']);
    expect(lines(at(core(locked), 'AT+CPIN?'))).toEqual(['+CPIN: SIM PIN', 'OK']);
    expect(lines(at(core({ cmee: 2, sim: { inserted: false } }), 'AT+CPIN?'))).toEqual([
      '+CME ERROR: SIM not inserted',
    ]);
    expect(lines(at(core(), 'AT+CPIN=?'))).toEqual(['OK']);
  });

  it('unlocks with the right PIN', () => {
    const c = core(locked);
    expect(lines(at(c, 'AT+CPIN="1234"'))).toEqual(['OK']);
    expect(c.simStatus).toBe('ready');
    expect(lines(at(c, 'AT+CPIN?'))).toEqual(['+CPIN: READY', 'OK']);
    expect(lines(at(c, 'AT+CPIN=1234'))).toEqual(['+CME ERROR: 3']);
  });

  it('counts wrong PINs down; at 0 the SIM wants the PUK', () => {
    const c = core({ ...locked, cmee: 2 });
    expect(lines(at(c, 'AT+CPIN="0000"'))).toEqual(['+CME ERROR: incorrect password']);
    expect(lines(at(c, 'AT+CPINR="SIM PIN"'))).toEqual(['+CPINR: SIM PIN,2,3', 'OK']);
    at(c, 'AT+CPIN="0000"');
    expect(c.state.sim).toEqual({ status: 'pin', pinRetries: 1, pukRetries: 10 });
    expect(lines(at(c, 'AT+CPIN="0000"'))).toEqual(['+CME ERROR: incorrect password']);
    expect(c.simStatus).toBe('puk');
    expect(lines(at(c, 'AT+CPIN?'))).toEqual(['+CPIN: SIM PUK', 'OK']);
    expect(lines(at(c, 'AT+CIMI'))).toEqual(['+CME ERROR: SIM PUK required']);
    expect(lines(at(c, 'AT+CPIN="1234"'))).toEqual(['+CME ERROR: SIM PUK required']);
  });

  it('unblocks with the PUK and a new PIN; a wrong PUK costs a PUK attempt', () => {
    const c = core({ ...locked, sim: { ...locked.sim, pinRetries: 0 } });
    expect(lines(at(c, 'AT+CPIN="11111111","4321"'))).toEqual(['+CME ERROR: 16']);
    expect(c.state.sim.pukRetries).toBe(9);
    expect(lines(at(c, 'AT+CPIN="87654321","4321"'))).toEqual(['OK']);
    expect(c.state.sim).toEqual({ status: 'ready', pinRetries: 3, pukRetries: 10 });
    // The new PIN is the one after a restart.
    at(c, 'AT+CFUN=1,1');
    c.tick(1);
    out(c);
    expect(c.simStatus).toBe('pin');
    expect(lines(at(c, 'AT+CPIN="1234"'))).toEqual(['+CME ERROR: 16']);
    expect(lines(at(c, 'AT+CPIN="4321"'))).toEqual(['OK']);
  });

  it('blocks the SIM for good when the PUK attempts are used up', () => {
    const c = core({ ...locked, sim: { ...locked.sim, pinRetries: 0, pukRetries: 1 } });
    expect(lines(at(c, 'AT+CPIN="11111111","4321"'))).toEqual(['+CME ERROR: 16']);
    expect(c.simStatus).toBe('blocked');
    expect(lines(at(c, 'AT+CPIN?'))).toEqual(['+CME ERROR: 13']);
  });

  it('rejects malformed PINs without costing an attempt', () => {
    const c = core(locked);
    expect(at(c, 'AT+CPIN="12"')).toBe('\r\nERROR\r\n');
    expect(at(c, 'AT+CPIN="abcd"')).toBe('\r\nERROR\r\n');
    expect(at(c, 'AT+CPIN')).toBe('\r\nERROR\r\n');
    expect(c.state.sim.pinRetries).toBe(3);
  });

  it('sends the flavour URCs after unlock and starts registering', () => {
    const c = core({ flavour: 'quectel', sim: { pin: '1234' } });
    c.tick(5000);
    expect(c.registration.stat).toBe(0);
    at(c, 'AT+CREG=1', 5000);
    expect(lines(at(c, 'AT+CPIN="1234"', 5000))).toEqual([
      'OK',
      '+CPIN: READY',
      '+QIND: SMS DONE',
      '+QIND: PB DONE',
      '+CREG: 2',
    ]);
    c.tick(6500);
    expect(lines(out(c))).toEqual(['+CREG: 1']);
  });

  it('never logs a PIN: the redaction helper', () => {
    expect(redactCommandLine('AT+CPIN="1234"')).toBe('AT+CPIN=<redacted>');
    expect(redactCommandLine('AT+CMEE=2;+CPIN="87654321","4321";+CSQ')).toBe(
      'AT+CMEE=2;+CPIN=<redacted>;+CSQ',
    );
    expect(redactCommandLine('AT+CPIN?')).toBe('AT+CPIN?');
  });
});

describe('PIN retry counters', () => {
  it('+CPINR lists all codes, or the selected ones (generic, Quectel, u-blox)', () => {
    const c = core(locked);
    expect(lines(at(c, 'AT+CPINR'))).toEqual([
      '+CPINR: SIM PIN,3,3',
      '+CPINR: SIM PUK,10,10',
      '+CPINR: SIM PIN2,3,3',
      '+CPINR: SIM PUK2,10,10',
      'OK',
    ]);
    expect(lines(at(c, 'AT+CPINR="SIM PU*"'))).toEqual([
      '+CPINR: SIM PUK,10,10',
      '+CPINR: SIM PUK2,10,10',
      'OK',
    ]);
    expect(lines(at(core({ flavour: 'quectel' }), 'AT+CPINR="SIM PIN"'))).toEqual([
      '+CPINR: SIM PIN,3,3',
      'OK',
    ]);
    expect(lines(at(core({ flavour: 'ublox' }), 'AT+CPINR="SIM PIN"'))).toEqual([
      '+CPINR: SIM PIN,3,3',
      'OK',
    ]);
    expect(at(core({ flavour: 'simcom' }), 'AT+CPINR')).toBe('\r\nERROR\r\n');
    expect(at(core({ flavour: 'huawei' }), 'AT+CPINR')).toBe('\r\nCOMMAND NOT SUPPORT\r\n');
  });

  it('Huawei ^CPIN', () => {
    expect(lines(at(core({ flavour: 'huawei' }), 'AT^CPIN?'))).toEqual(['^CPIN: READY,,10,3,10,3', 'OK']);
    const c = core({ flavour: 'huawei', sim: { pin: '1234' } });
    at(c, 'AT+CPIN="0000"');
    const text = lines(at(c, 'AT^CPIN?'));
    expect(text).toEqual(['^CPIN: SIM PIN,2,10,2,10,3', 'OK']);
    expect(parseHuaweiCpin(text[0]!)).toEqual({ pin: 2, puk: 10, pin2: 3, puk2: 10 });
  });

  it('Quectel +QPINC', () => {
    const c = core({ flavour: 'quectel', sim: { pin: '1234' } });
    at(c, 'AT+CPIN="0000"');
    const text = lines(at(c, 'AT+QPINC?'));
    expect(text).toEqual(['+QPINC: "SC",2,10', '+QPINC: "P2",3,10', 'OK']);
    expect(parseQuectelQpinc(text)).toEqual({ pin: 2, puk: 10, pin2: 3, puk2: 10 });
    expect(lines(at(c, 'AT+QPINC="SC"'))).toEqual(['+QPINC: "SC",2,10', 'OK']);
  });

  it('SIMCom +SPIC', () => {
    const text = lines(at(core({ flavour: 'simcom' }), 'AT+SPIC'));
    expect(text).toEqual(['+SPIC: 3,10,3,10', 'OK']);
    expect(parseSimcomSpic(text[0]!)).toEqual({ pin: 3, puk: 10, pin2: 3, puk2: 10 });
  });

  it('u-blox +UPINCNT', () => {
    const c = core({ flavour: 'ublox', sim: { pin: '1234' } });
    at(c, 'AT+CPIN="0000"');
    const text = lines(at(c, 'AT+UPINCNT'));
    expect(text).toEqual(['+UPINCNT: 2,3,10,10', 'OK']);
    expect(parseUbloxUpincnt(text[0]!)).toEqual({ pin: 2, puk: 10, pin2: 3, puk2: 10 });
  });

  it('other flavours answer ERROR to vendor counter commands', () => {
    expect(at(core(), 'AT+QPINC?')).toBe('\r\nERROR\r\n');
    expect(at(core({ flavour: 'quectel' }), 'AT+SPIC')).toBe('\r\nERROR\r\n');
    expect(at(core({ flavour: 'simcom' }), 'AT+UPINCNT')).toBe('\r\nERROR\r\n');
    expect(at(core({ flavour: 'ublox' }), 'AT^CPIN?')).toBe('\r\nERROR\r\n');
  });
});
