import { describe, expect, it } from 'vitest';
import { parseIccid } from '../../src/modem/parse/identity.js';
import { swapNibbles } from '../../src/sim/commands/identity.js';
import { resolveSimConfig } from '../../src/sim/config.js';
import { isLuhnValid, luhnCheckDigit, withLuhn } from '../../src/sim/luhn.js';
import { at, core, lines } from './helpers.js';

describe('Luhn check digit', () => {
  it('matches known numbers', () => {
    expect(luhnCheckDigit('49015420323751')).toBe(8); // the IMEI example of 3GPP TS 23.003
    expect(withLuhn('35349006987331')).toBe('353490069873319');
    expect(isLuhnValid('8988211000000123458')).toBe(true);
    expect(isLuhnValid('8988211000000123456')).toBe(false);
  });

  it('gives every flavour a valid IMEI and the default SIM a valid ICCID', () => {
    for (const flavour of ['generic', 'huawei', 'quectel', 'simcom', 'ublox'] as const) {
      const c = resolveSimConfig({ flavour });
      expect(c.identity.imei).toMatch(/^\d{15}$/);
      expect(isLuhnValid(c.identity.imei)).toBe(true);
      expect(isLuhnValid(c.sim.iccid)).toBe(true);
      expect(c.sim.imsi.startsWith('00101')).toBe(true);
    }
  });

  it('rejects a broken configuration', () => {
    expect(() => resolveSimConfig({ sim: { pin: '12' } })).toThrow(/pin/);
    expect(() => resolveSimConfig({ network: { csq: 40 } })).toThrow(/csq/);
    expect(() => resolveSimConfig({ pdpContexts: [{ cid: 99, pdpType: 'IP', apn: '' }] })).toThrow(/cid/);
  });
});

describe('identification (27.007 clause 5)', () => {
  it('+CGMI/+CGMM/+CGMR/+CGSN and the V.250 +G forms', () => {
    const c = core();
    expect(lines(at(c, 'AT+CGMI;+GMI'))).toEqual(['cellstack', 'cellstack', 'OK']);
    expect(lines(at(c, 'AT+CGMM;+GMM'))).toEqual(['Virtual LTE Modem', 'Virtual LTE Modem', 'OK']);
    expect(lines(at(c, 'AT+CGMR;+GMR'))).toEqual(['cellstack-sim 1', 'cellstack-sim 1', 'OK']);
    expect(lines(at(c, 'AT+CGSN;+GSN'))).toEqual(['353490069873319', '353490069873319', 'OK']);
    expect(lines(at(c, 'AT+CGSN=1'))).toEqual(['+CGSN: "353490069873319"', 'OK']);
    expect(lines(at(c, 'AT+CGSN=?'))).toEqual(['+CGSN: (0-3)', 'OK']);
    expect(lines(at(c, 'AT+GCAP'))).toEqual(['+GCAP: +CGSM', 'OK']);
    expect(at(c, 'AT+CGMI?')).toBe('\r\nERROR\r\n');
  });

  it('uses the flavour strings (SIMCom prefixes +CGMR)', () => {
    expect(lines(at(core({ flavour: 'huawei' }), 'AT+CGMI;+CGMM;+CGMR'))).toEqual([
      'huawei',
      'E3372',
      '22.315.01.00.00',
      'OK',
    ]);
    expect(lines(at(core({ flavour: 'simcom' }), 'AT+CGMR;+GMR'))).toEqual([
      '+CGMR: SIM7600M22_V2.0',
      'SIM7600M22_V2.0',
      'OK',
    ]);
    expect(lines(at(core({ flavour: 'ublox' }), 'AT+CGMM'))).toEqual(['SARA-R410M-02B', 'OK']);
    expect(lines(at(core({ identity: { model: 'X1' } }), 'AT+CGMM'))).toEqual(['X1', 'OK']);
  });

  it('+CIMI needs a ready SIM (CME 10, 11, 12)', () => {
    expect(lines(at(core(), 'AT+CIMI'))).toEqual(['001010123456789', 'OK']);
    expect(lines(at(core({ cmee: 1, sim: { inserted: false } }), 'AT+CIMI'))).toEqual(['+CME ERROR: 10']);
    expect(lines(at(core({ cmee: 1, sim: { pin: '1234' } }), 'AT+CIMI'))).toEqual(['+CME ERROR: 11']);
    expect(lines(at(core({ cmee: 1, sim: { pin: '1234', pinRetries: 0 } }), 'AT+CIMI'))).toEqual([
      '+CME ERROR: 12',
    ]);
  });
});

describe('ICCID in each vendor spelling', () => {
  const iccid = '8988211000000123458';

  it('generic and u-blox: AT+CCID', () => {
    expect(lines(at(core(), 'AT+CCID'))).toEqual([`+CCID: ${iccid}`, 'OK']);
    expect(lines(at(core({ flavour: 'ublox' }), 'AT+CCID?'))).toEqual([`+CCID: ${iccid}`, 'OK']);
  });

  it('Quectel: AT+QCCID with F padding; no +CCID', () => {
    const c = core({ flavour: 'quectel' });
    expect(lines(at(c, 'AT+QCCID'))).toEqual([`+QCCID: ${iccid}F`, 'OK']);
    expect(at(c, 'AT+CCID')).toBe('\r\nERROR\r\n');
  });

  it('SIMCom: AT+CICCID answers +ICCID, AT+CCID bare digits', () => {
    const c = core({ flavour: 'simcom' });
    expect(lines(at(c, 'AT+CICCID'))).toEqual([`+ICCID: ${iccid}`, 'OK']);
    expect(lines(at(c, 'AT+CCID'))).toEqual([iccid, 'OK']);
  });

  it('Huawei: AT^ICCID? nibble-swapped, which the driver parser swaps back', () => {
    const text = lines(at(core({ flavour: 'huawei' }), 'AT^ICCID?'));
    expect(text).toEqual([`^ICCID: ${swapNibbles(iccid)}`, 'OK']);
    expect(text[0]!.startsWith('^ICCID: 98')).toBe(true);
    expect(parseIccid(text)).toBe(iccid);
  });

  it('other flavours do not have the vendor commands', () => {
    expect(at(core(), 'AT+QCCID')).toBe('\r\nERROR\r\n');
    expect(at(core(), 'AT^ICCID?')).toBe('\r\nERROR\r\n');
    expect(at(core({ flavour: 'huawei' }), 'AT+CCID')).toBe('\r\nCOMMAND NOT SUPPORT\r\n');
  });

  it('is readable while the SIM is PIN-locked; not without a SIM', () => {
    expect(lines(at(core({ sim: { pin: '1234' } }), 'AT+CCID'))).toEqual([`+CCID: ${iccid}`, 'OK']);
    expect(lines(at(core({ cmee: 1, sim: { inserted: false } }), 'AT+CCID'))).toEqual(['+CME ERROR: 10']);
  });
});
