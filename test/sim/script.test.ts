import { describe, expect, it } from 'vitest';
import { at, bytes, core, lines, out } from './helpers.js';

describe('script (answers before the built-ins)', () => {
  it('replaces a built-in answer, with or without AT in the match', () => {
    const c = core({
      script: [
        { match: 'AT+CSQ', reply: ['+CSQ: 99,99'] },
        { match: '+CGMM', reply: ['Quirky Model'], final: '+CME ERROR: 100' },
      ],
    });
    expect(lines(at(c, 'AT+CSQ'))).toEqual(['+CSQ: 99,99', 'OK']);
    expect(lines(at(c, 'at+csq'))).toEqual(['+CSQ: 99,99', 'OK']);
    expect(lines(at(c, 'AT+CGMM'))).toEqual(['Quirky Model', '+CME ERROR: 100']);
    expect(c.stats().errors).toBe(1);
  });

  it('matches a RegExp and computes the reply from the command and state', () => {
    const c = core({
      script: [
        {
          match: /^\+CUSTOM=(\d+)$/,
          reply: (cmd, state) => [`+CUSTOM: ${cmd.slice(8)},${state.echo ? 1 : 0}`],
        },
      ],
    });
    expect(lines(at(c, 'AT+CUSTOM=42'))).toEqual(['+CUSTOM: 42,0', 'OK']);
  });

  it('uses an entry only `times` times', () => {
    const c = core({ script: [{ match: 'ATE0', reply: [], final: 'ERROR', times: 2 }] });
    expect(at(c, 'ATE0')).toBe('\r\nERROR\r\n');
    expect(at(c, 'ATE0')).toBe('\r\nERROR\r\n');
    expect(at(c, 'ATE0')).toBe('\r\nOK\r\n');
  });

  it('delays an answer, holding later input until it is sent', () => {
    const c = core({ script: [{ match: '+CGSN', reply: ['123'], delayMs: 800 }] });
    expect(at(c, 'AT+CGSN;+CGMI', 0)).toBe('');
    expect(at(c, 'AT', 100)).toBe('');
    expect(c.nextDeadline()).toBe(800);
    c.tick(800);
    expect(lines(out(c))).toEqual(['123', 'cellstack', 'OK', 'OK']);
  });

  it('can send no final result code at all (a hung modem)', () => {
    const c = core({ script: [{ match: '+CSQ', reply: ['+CSQ: 5,5'], final: '' }] });
    expect(at(c, 'AT+CSQ')).toBe('\r\n+CSQ: 5,5\r\n');
    expect(at(c, 'AT')).toBe('\r\nOK\r\n');
  });

  it('a scripted CONNECT enters data mode', () => {
    const c = core({ script: [{ match: /^D/, reply: [], final: 'CONNECT 9600' }] });
    expect(at(c, 'ATD*99#')).toBe('\r\nCONNECT 9600\r\n');
    expect(c.mode).toBe('data');
  });

  it('holds URCs until the final result code, or interleaves them when asked', () => {
    const held = core({ script: [{ match: '+SLOW', reply: ['+SLOW: 1'], delayMs: 500 }] });
    at(held, 'AT+SLOW', 0);
    held.emitUrc('+CMTI: "SM",3', 100);
    expect(out(held)).toBe('');
    held.tick(500);
    expect(lines(out(held))).toEqual(['+SLOW: 1', 'OK', '+CMTI: "SM",3']);

    const mixed = core({
      interleaveUrcs: true,
      script: [{ match: '+SLOW', reply: ['+SLOW: 1'], delayMs: 500 }],
    });
    at(mixed, 'AT+SLOW', 0);
    mixed.emitUrc('+CMTI: "SM",3', 100);
    expect(lines(out(mixed))).toEqual(['+CMTI: "SM",3']);
    mixed.tick(500);
    expect(lines(out(mixed))).toEqual(['+SLOW: 1', 'OK']);
  });
});

describe('timeline', () => {
  it('sends URCs, changes registration and signal, drops the carrier, at their times', () => {
    const c = core({
      connectDelayMs: 0,
      timeline: [
        { atMs: 1000, action: { type: 'urc', line: '+CUSD: 0,"hello",15' } },
        { atMs: 3000, action: { type: 'registration', state: 'roaming' } },
        { atMs: 3500, action: { type: 'signal', csq: 7 } },
        { atMs: 5000, action: { type: 'network-data', bytes: bytes('~hi~') } },
        { atMs: 6000, action: { type: 'drop-carrier' } },
      ],
    });
    at(c, 'AT+CREG=1');
    expect(c.nextDeadline()).toBe(1000);
    c.tick(1000);
    expect(lines(out(c))).toEqual(['+CUSD: 0,"hello",15']);
    c.tick(1500);
    expect(lines(out(c))).toEqual(['+CREG: 1']);
    c.tick(3000);
    expect(lines(out(c))).toEqual(['+CREG: 5']);
    c.tick(3500);
    expect(lines(at(c, 'AT+CSQ', 3500))).toEqual(['+CSQ: 7,99', 'OK']);
    expect(at(c, 'ATD*99#', 4000)).toBe('\r\nCONNECT 150000000\r\n');
    c.tick(5000);
    expect(out(c)).toBe('~hi~');
    c.tick(6000);
    expect(out(c)).toBe('\r\nNO CARRIER\r\n');
    expect(c.mode).toBe('command');
    expect(c.nextDeadline()).toBeUndefined();
  });

  it('catches up on a late tick in time order', () => {
    const c = core({
      timeline: [
        { atMs: 200, action: { type: 'urc', line: 'B' } },
        { atMs: 100, action: { type: 'urc', line: 'A' } },
      ],
    });
    c.tick(10_000);
    expect(lines(out(c))).toEqual(['A', 'B']);
  });
});
