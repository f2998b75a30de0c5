import { describe, expect, it } from 'vitest';
import { cmeCause } from '../../src/modem/cme.js';
import { defaultTimeoutMs, responsePrefixes } from '../../src/modem/command.js';
import { fieldsOf, hexField, parenGroups, splitFields } from '../../src/modem/parse/fields.js';
import { parseIccid, parseIdentityText, parseImei, parseImsi } from '../../src/modem/parse/identity.js';
import { parseCopsQuery, parseCopsTest } from '../../src/modem/parse/operator.js';
import { parseCgatt, parseCgdcont, parseCgpaddr } from '../../src/modem/parse/pdp.js';
import { parseRegistration } from '../../src/modem/parse/registration.js';
import { csqToDbm, dbmToBars, parseCesq, parseCsq } from '../../src/modem/parse/signal.js';
import {
  parseCpin,
  parseCpinr,
  parseHuaweiCpin,
  parseQuectelQpinc,
  parseSimcomSpic,
  parseUbloxUpincnt,
} from '../../src/modem/parse/sim.js';
import { finalResult } from '../../src/modem/result-codes.js';
import { summariseRegistration } from '../../src/modem/summary.js';

describe('fields', () => {
  it('splits on top-level commas only', () => {
    expect(splitFields('1,"a,b",(1,2),x').map((f) => f.text)).toEqual(['1', 'a,b', '(1,2)', 'x']);
    expect(fieldsOf('+CREG: 2, 1 ,"00C3"').map((f) => [f.text, f.quoted])).toEqual([
      ['2', false],
      ['1', false],
      ['00C3', true],
    ]);
    expect(fieldsOf('+CSQ:')).toEqual([]);
  });
  it('normalises hex fields', () => {
    expect(hexField({ text: '00c3', quoted: true })).toBe('C3');
    expect(hexField({ text: '0x1A2B', quoted: false })).toBe('1A2B');
    expect(hexField({ text: '0000', quoted: false })).toBe('0');
    expect(hexField({ text: 'zz', quoted: false })).toBeNull();
    expect(hexField({ text: '', quoted: true })).toBeNull();
  });
  it('finds parenthesised groups and the empty group that ends a list', () => {
    expect(parenGroups('(1,"a"),(2,"b"),,(0-4),(0-2)')).toEqual(['1,"a"', '2,"b"', '', '0-4', '0-2']);
    expect(parenGroups('(1,"a(b)"),(2)')).toEqual(['1,"a(b)"', '2']);
  });
});

describe('final result codes', () => {
  it('classifies V.250 and 27.007 finals', () => {
    expect(finalResult('OK')?.kind).toBe('OK');
    expect(finalResult('ok ')?.kind).toBe('OK');
    expect(finalResult('CONNECT 150000000')).toEqual({
      kind: 'CONNECT',
      text: 'CONNECT 150000000',
      connectText: '150000000',
    });
    expect(finalResult('CONNECT')?.kind).toBe('CONNECT');
    expect(finalResult('CONNECTED')).toBeUndefined();
    expect(finalResult('+CME ERROR: 10')).toMatchObject({ kind: 'CME_ERROR', err: '10' });
    expect(finalResult('+CME ERROR:incorrect password')).toMatchObject({
      kind: 'CME_ERROR',
      err: 'incorrect password',
    });
    expect(finalResult('+CMS ERROR: 500')).toMatchObject({ kind: 'CMS_ERROR', err: '500' });
    expect(finalResult('NO DIALTONE')?.kind).toBe('NO_DIALTONE');
    expect(finalResult('COMMAND NOT SUPPORT')?.kind).toBe('ERROR');
    expect(finalResult('+CSQ: 1,2')).toBeUndefined();
  });
  it('maps CME texts and numbers to causes', () => {
    expect(cmeCause('10')).toBe(10);
    expect(cmeCause('SIM not inserted')).toBe(10);
    expect(cmeCause('"incorrect password"')).toBe(16);
    expect(cmeCause('SIM PIN required')).toBe(11);
    expect(cmeCause('something odd')).toBeUndefined();
  });
});

describe('commands', () => {
  it('derives response prefixes from read, test and action commands only', () => {
    expect(responsePrefixes('AT+CREG?')).toEqual(['+CREG']);
    expect(responsePrefixes('AT+COPS=?')).toEqual(['+COPS']);
    expect(responsePrefixes('AT+CSQ')).toEqual(['+CSQ']);
    expect(responsePrefixes('AT^SYSINFOEX')).toEqual(['^SYSINFOEX']);
    expect(responsePrefixes('AT+CREG=2')).toEqual([]);
    expect(responsePrefixes('AT+COPS=3,2;+COPS?')).toEqual(['+COPS']);
    expect(responsePrefixes('ATI')).toEqual([]);
  });
  it('gives long commands long timeouts', () => {
    expect(defaultTimeoutMs('AT+COPS=?')).toBe(180_000);
    expect(defaultTimeoutMs('ATD*99***1#')).toBe(60_000);
    expect(defaultTimeoutMs('AT+CSQ')).toBe(10_000);
  });
});

describe('registration', () => {
  it('parses every n form, solicited and unsolicited', () => {
    expect(parseRegistration('+CREG: 0,1', 'solicited')).toMatchObject({
      n: 0,
      stat: 1,
      state: 'home',
      lac: null,
    });
    expect(parseRegistration('+CREG: 2,5,"1A2B","0001C3D4",2', 'solicited')).toMatchObject({
      stat: 5,
      state: 'roaming',
      lac: '1A2B',
      ci: '1C3D4',
      act: 'umts',
    });
    expect(parseRegistration('+CREG: 1', 'unsolicited')).toMatchObject({ stat: 1, lac: null });
    expect(parseRegistration('+CREG: 1,"00C3","0000A13"', 'unsolicited')).toMatchObject({
      lac: 'C3',
      ci: 'A13',
      act: null,
    });
    expect(parseRegistration('+CEREG: 1,"0F0A","01A2D001",7')).toMatchObject({
      domain: 'eps',
      lac: 'F0A',
      act: 'lte',
    });
    expect(parseRegistration('+CGREG: 2,1,"00C3","0000A13",0,"05"')).toMatchObject({
      domain: 'ps',
      act: 'gprs',
    });
    expect(parseRegistration('+C5GREG: 1,"000001","000000001",11')).toMatchObject({
      domain: '5gs',
      act: 'nr',
    });
  });
  it('infers the form when not told', () => {
    expect(parseRegistration('+CREG: 2,1')).toMatchObject({ n: 2, stat: 1 });
    expect(parseRegistration('+CREG: 3')).toMatchObject({ stat: 3, state: 'denied' });
    expect(parseRegistration('+CREG: 2,1,"1A2B","01C3"')).toMatchObject({ n: 2, stat: 1, lac: '1A2B' });
    expect(parseRegistration('+CREG: 1,"1A2B","01C3",7')).toMatchObject({ stat: 1, lac: '1A2B', act: 'lte' });
    expect(parseRegistration('+CREG: 1,1A2B,01C3,2')).toMatchObject({ stat: 1, lac: '1A2B', act: 'umts' });
  });
  it('rejects what is not a registration line', () => {
    expect(parseRegistration('+CSQ: 1,2')).toBeUndefined();
    expect(parseRegistration('+CREG: x')).toBeUndefined();
    expect(parseRegistration('+CREG:')).toBeUndefined();
  });
  it('summarises domains, preferring packet domains', () => {
    const cs = parseRegistration('+CREG: 2,3', 'solicited')!;
    const eps = parseRegistration('+CEREG: 2,1,"0F0A","01A2D001",7', 'solicited')!;
    expect(summariseRegistration({ cs, eps })).toMatchObject({
      state: 'home',
      act: 'lte',
      lac: 'F0A',
      domain: 'eps',
    });
    const searching = parseRegistration('+CEREG: 2,2', 'solicited')!;
    expect(summariseRegistration({ cs, eps: searching }).state).toBe('searching');
    expect(summariseRegistration({ cs }).state).toBe('denied');
    expect(summariseRegistration({}).state).toBe('unknown');
  });
});

describe('signal', () => {
  it('converts CSQ to dBm and bars', () => {
    expect(parseCsq('+CSQ: 21,99')).toEqual({ rssi: 21, ber: null, rssiDbm: -71, bars: 5 });
    expect(parseCsq('+CSQ: 99,99')).toEqual({ rssi: null, ber: null, rssiDbm: null, bars: 0 });
    expect(parseCsq('+CSQ:0,0')).toMatchObject({ rssiDbm: -113, bars: 0 });
    expect(parseCsq('+CSQ: 31, 7')).toMatchObject({ rssiDbm: -51, ber: 7, bars: 5 });
    expect(parseCsq('+CSQ: ,')).toBeUndefined();
    expect(csqToDbm(32)).toBeNull();
    expect([-113, -111, -101, -91, -81, -71].map(dbmToBars)).toEqual([0, 1, 2, 3, 4, 5]);
  });
  it('converts CESQ fields to units', () => {
    expect(parseCesq('+CESQ: 99,99,255,255,20,50')).toEqual({
      rxlevDbm: null,
      rscpDbm: null,
      ecnoDb: null,
      rsrqDb: -10,
      rsrpDbm: -91,
    });
    expect(parseCesq('+CESQ: 99,99')).toBeUndefined();
  });
});

describe('operator', () => {
  it('parses +COPS? in every format', () => {
    expect(parseCopsQuery('+COPS: 0,0,"Vodafone.de",7')).toMatchObject({
      mode: 0,
      format: 0,
      operator: 'Vodafone.de',
      act: 'lte',
    });
    expect(parseCopsQuery('+COPS: 0,2,"26202",2')).toMatchObject({ operator: '26202', act: 'umts' });
    expect(parseCopsQuery('+COPS: 0')).toMatchObject({ mode: 0, format: null, operator: null });
  });
  it('parses +COPS=? lists and stops at the modes', () => {
    const nets = parseCopsTest(
      '+COPS: (2,"Vodafone.de","voda DE","26202",7),(3,"T-Mobile D","TMO D","26201",2),,(0,1,2,3,4),(0,1,2)',
    );
    expect(nets).toEqual([
      {
        availability: 'current',
        longName: 'Vodafone.de',
        shortName: 'voda DE',
        mccmnc: '26202',
        actRaw: 7,
        act: 'lte',
      },
      {
        availability: 'forbidden',
        longName: 'T-Mobile D',
        shortName: 'TMO D',
        mccmnc: '26201',
        actRaw: 2,
        act: 'umts',
      },
    ]);
    expect(parseCopsTest('+COPS: ,,(0-4),(0-2)')).toEqual([]);
    expect(parseCopsTest(['+COPS: (1,"A, Inc.","A","00101")', '+COPS: (1,"B","B","00102",0)'])).toHaveLength(
      2,
    );
  });
});

describe('SIM', () => {
  it('reads +CPIN states as the modem says them', () => {
    expect(parseCpin('+CPIN: READY')).toBe('READY');
    expect(parseCpin('+CPIN: "SIM PIN"')).toBe('SIM PIN');
    expect(parseCpin('+CPIN:SIM  PUK')).toBe('SIM PUK');
    expect(parseCpin('READY')).toBeUndefined();
  });
  it('reads every retry counter form', () => {
    expect(parseCpinr(['+CPINR: SIM PIN,3,3', '+CPINR: "SIM PUK",10,10'])).toEqual({
      pin: 3,
      puk: 10,
      pin2: null,
      puk2: null,
    });
    expect(parseCpinr(['+CPINR: PH-SIM PIN,3,3'])).toBeUndefined();
    expect(parseHuaweiCpin('^CPIN: READY,,10,3,10,3')).toEqual({ pin: 3, puk: 10, pin2: 3, puk2: 10 });
    expect(parseHuaweiCpin('^CPIN: SIM PIN,2,10,2,10,3')).toEqual({ pin: 2, puk: 10, pin2: 3, puk2: 10 });
    expect(parseQuectelQpinc(['+QPINC: "SC",3,10', '+QPINC: "P2",3,10'])).toEqual({
      pin: 3,
      puk: 10,
      pin2: 3,
      puk2: 10,
    });
    expect(parseSimcomSpic('+SPIC: 1,10,3,10')).toEqual({ pin: 1, puk: 10, pin2: 3, puk2: 10 });
    expect(parseUbloxUpincnt('+UPINCNT: 3,3,10,10')).toEqual({ pin: 3, puk: 10, pin2: 3, puk2: 10 });
  });
});

describe('identity', () => {
  it('strips prefixes, labels and quotes', () => {
    expect(parseIdentityText(['+CGMI: "Quectel"'], '+CGMI')).toBe('Quectel');
    expect(parseIdentityText(['Revision: EC25EFAR06A03M4G'], '+CGMR')).toBe('EC25EFAR06A03M4G');
    expect(parseIdentityText(['', 'huawei'], '+CGMI')).toBe('huawei');
    expect(parseIdentityText([], '+CGMI')).toBeNull();
  });
  it('finds IMEI and IMSI digits', () => {
    expect(parseImei(['+CGSN: "867698041234567"'])).toBe('867698041234567');
    expect(parseImei(['867698041234567'])).toBe('867698041234567');
    expect(parseImei(['IMEI: none'])).toBeNull();
    expect(parseImsi(['262011234567890'])).toBe('262011234567890');
  });
  it('normalises ICCID spellings, swapped nibbles and F padding', () => {
    expect(parseIccid(['+CCID: 89882110000001234567'])).toBe('89882110000001234567');
    expect(parseIccid(['+QCCID: 8949020000012345678F'])).toBe('8949020000012345678');
    expect(parseIccid(['^ICCID: 98942000000021436587'])).toBe('89490200000012345678');
    expect(parseIccid(['+CRSM: 144,0,"98942000000021436587"'])).toBe('89490200000012345678');
    expect(parseIccid(['+ICCID: "89014103211118510720"'])).toBe('89014103211118510720');
    expect(parseIccid(['ERROR'])).toBeNull();
  });
});

describe('packet domain', () => {
  it('parses contexts, addresses and attach state', () => {
    expect(
      parseCgdcont(['+CGDCONT: 1,"IP","internet","0.0.0.0",0,0', '+CGDCONT: 2,"IPV4V6","ims","",0,0,0,0']),
    ).toEqual([
      { cid: 1, pdpType: 'IP', apn: 'internet', address: null },
      { cid: 2, pdpType: 'IPV4V6', apn: 'ims', address: null },
    ]);
    expect(parseCgpaddr(['+CGPADDR: 1,"10.20.30.40"', '+CGPADDR: 2,10.0.0.1', '+CGPADDR: 3'])).toEqual([
      { cid: 1, addresses: ['10.20.30.40'] },
      { cid: 2, addresses: ['10.0.0.1'] },
      { cid: 3, addresses: [] },
    ]);
    expect(parseCgatt('+CGATT: 1')).toBe(true);
    expect(parseCgatt('+CGATT: 0')).toBe(false);
    expect(parseCgatt('+CGATT:')).toBeUndefined();
  });
});
