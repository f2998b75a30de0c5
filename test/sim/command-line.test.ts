import { describe, expect, it } from 'vitest';
import { CommandLineReader } from '../../src/sim/at-line.js';
import { parseCommandLine } from '../../src/sim/at-parse.js';
import { at, bytes, core, lines, out } from './helpers.js';

function feed(reader: CommandLineReader, text: string) {
  const results = [];
  for (const b of bytes(text)) {
    const r = reader.push(b, 13, 8);
    if (r) results.push(r);
  }
  return results;
}

describe('CommandLineReader (V.250 clause 5.2)', () => {
  it('finds the AT prefix, ignores what comes before it and LF', () => {
    const r = new CommandLineReader(1024);
    expect(feed(r, 'xyzAT+CSQ\r\nat\r')).toEqual([
      { kind: 'command', line: 'AT+CSQ', body: '+CSQ' },
      { kind: 'command', line: 'at', body: '' },
    ]);
  });

  it('ignores a line without prefix; mixed case is not a prefix', () => {
    const r = new CommandLineReader(1024);
    expect(feed(r, 'hello\rAt\r')).toEqual([{ kind: 'no-prefix' }, { kind: 'no-prefix' }]);
  });

  it('backspace (S5) deletes the previous character', () => {
    const r = new CommandLineReader(1024);
    expect(feed(r, 'AT+CSX\bQ\r')).toEqual([{ kind: 'command', line: 'AT+CSQ', body: '+CSQ' }]);
  });

  it('discards a line longer than the bound', () => {
    const r = new CommandLineReader(16);
    expect(feed(r, `AT${'X'.repeat(20)}\rAT\r`)).toEqual([
      { kind: 'too-long' },
      { kind: 'command', line: 'AT', body: '' },
    ]);
  });
});

describe('parseCommandLine (V.250 clauses 5.3, 5.4)', () => {
  it('splits concatenated basic commands', () => {
    expect(parseCommandLine('E0V1&D2')).toEqual([
      { type: 'basic', name: 'E', value: 0, text: 'E0' },
      { type: 'basic', name: 'V', value: 1, text: 'V1' },
      { type: 'basic', name: '&D', value: 2, text: '&D2' },
    ]);
  });

  it('splits extended commands on semicolons, keeping quoted strings whole', () => {
    const cmds = parseCommandLine('+CMEE=2;+CGDCONT=1,"IP","a;b c";+CREG?;+COPS=?');
    expect(cmds?.map((c) => (c.type === 'extended' ? [c.name, c.op, c.args.map((a) => a.text)] : c))).toEqual(
      [
        ['+CMEE', 'set', ['2']],
        ['+CGDCONT', 'set', ['1', 'IP', 'a;b c']],
        ['+CREG', 'read', []],
        ['+COPS', 'test', []],
      ],
    );
  });

  it('reads S-parameters and the dial string to the end of the line', () => {
    expect(parseCommandLine('S12?S12=20D*99***1#')).toEqual([
      { type: 's-read', register: 12, text: 'S12?' },
      { type: 's-set', register: 12, value: 20, text: 'S12=20' },
      { type: 'dial', dialString: '*99***1#', text: 'D*99***1#' },
    ]);
  });

  it('rejects syntax errors', () => {
    expect(parseCommandLine('+CGDCONT=1,"IP')).toBeUndefined();
    expect(parseCommandLine('+')).toBeUndefined();
    expect(parseCommandLine('&')).toBeUndefined();
    expect(parseCommandLine('S?')).toBeUndefined();
    expect(parseCommandLine('+CSQ X')).toBeUndefined();
  });
});

describe('command state basics', () => {
  it('answers AT with OK in verbose form', () => {
    const c = core();
    expect(at(c, 'AT')).toBe('\r\nOK\r\n');
    expect(at(c, 'at')).toBe('\r\nOK\r\n');
  });

  it('echoes exactly what it receives by default (E1), including backspace and LF', () => {
    const c = core({ echo: true });
    expect(at(c, 'AT+CSX\bQ\r\n', 0, true)).toBe('AT+CSX\bQ\r\r\n+CSQ: 20,99\r\n\r\nOK\r\n\n');
  });

  it('ATE0 stops the echo after its own line; ATE1 starts it again', () => {
    const c = core({ echo: true });
    expect(at(c, 'ATE0')).toBe('ATE0\r\r\nOK\r\n');
    expect(at(c, 'AT')).toBe('\r\nOK\r\n');
    expect(at(c, 'ATE1')).toBe('\r\nOK\r\n');
    expect(at(c, 'AT')).toBe('AT\r\r\nOK\r\n');
    expect(c.echo).toBe(true);
  });

  it('echoes a line that arrives one byte at a time', () => {
    const c = core({ echo: true });
    for (const ch of 'AT\r') c.receive(bytes(ch), 0);
    expect(out(c)).toBe('AT\r\r\nOK\r\n');
  });

  it('ignores a line without the AT prefix', () => {
    const c = core();
    expect(at(c, 'hello')).toBe('');
  });

  it('runs concatenated commands and answers one OK', () => {
    const c = core();
    expect(at(c, 'AT+CMEE=2;+CREG=2')).toBe('\r\nOK\r\n');
    expect(c.cmee).toBe(2);
    expect(c.registration.n.cs).toBe(2);
    expect(at(c, 'ATE0V1;+CMEE?;+CREG?')).toBe('\r\n+CMEE: 2\r\n\r\n+CREG: 2,2\r\n\r\nOK\r\n');
  });

  it('stops a command line at the first error (V.250 clause 5.6)', () => {
    const c = core();
    expect(at(c, 'AT+CMEE=7;+CMEE=1')).toBe('\r\nERROR\r\n');
    expect(c.cmee).toBe(0);
    expect(at(c, 'AT+CGMI;+NOPE;+CGMM')).toBe('\r\ncellstack\r\n\r\nERROR\r\n');
  });

  it('answers ERROR to an unknown command, Huawei COMMAND NOT SUPPORT', () => {
    expect(at(core(), 'AT+FOO')).toBe('\r\nERROR\r\n');
    expect(at(core(), 'ATY')).toBe('\r\nERROR\r\n');
    expect(at(core({ flavour: 'huawei' }), 'AT+FOO')).toBe('\r\nCOMMAND NOT SUPPORT\r\n');
    expect(at(core({ vendor: 'huawei' }), 'AT^FOO?')).toBe('\r\nCOMMAND NOT SUPPORT\r\n');
  });

  it('answers ERROR to a syntax error', () => {
    expect(at(core(), 'AT+CGDCONT=1,"IP')).toBe('\r\nERROR\r\n');
  });

  it('discards a line longer than 1024 bytes with ERROR and goes on', () => {
    const c = core();
    expect(at(c, `AT+CGDCONT=1,"IP","${'a'.repeat(1100)}"`)).toBe('\r\nERROR\r\n');
    expect(c.stats().linesTooLong).toBe(1);
    expect(at(c, 'AT')).toBe('\r\nOK\r\n');
  });

  it('takes a command line split over many chunks', () => {
    const c = core();
    c.receive(bytes('AT+C'), 0);
    c.receive(bytes('SQ'), 1);
    expect(out(c)).toBe('');
    c.receive(bytes('\r'), 2);
    expect(lines(out(c))).toEqual(['+CSQ: 20,99', 'OK']);
  });

  it('answers two command lines in one chunk in order', () => {
    const c = core();
    expect(lines(at(c, 'AT+CGMI\rAT+CGMM'))).toEqual(['cellstack', 'OK', 'Virtual LTE Modem', 'OK']);
  });

  it('never throws on garbage', () => {
    const c = core({ echo: true });
    const junk = new Uint8Array(4096);
    for (let i = 0; i < junk.length; i++) junk[i] = (i * 131 + 7) & 0xff;
    expect(() => c.receive(junk, 0)).not.toThrow();
    expect(at(c, '\rAT')).toContain('OK');
  });
});

describe('V.250 settings', () => {
  it('ATI gives manufacturer, model and revision', () => {
    expect(lines(at(core(), 'ATI'))).toEqual([
      'cellstack',
      'Virtual LTE Modem',
      'Revision: cellstack-sim 1',
      'OK',
    ]);
    expect(lines(at(core({ flavour: 'quectel' }), 'ATI'))).toEqual([
      'Quectel',
      'EC25',
      'Revision: EC25EFAR06A03M4G',
      'OK',
    ]);
    const simcom = lines(at(core({ flavour: 'simcom' }), 'ATI'));
    expect(simcom.slice(0, 3)).toEqual([
      'Manufacturer: SIMCOM INCORPORATED',
      'Model: SIMCOM_SIM7600E-H',
      'Revision: SIM7600M22_V2.0',
    ]);
    expect(simcom.at(-2)).toBe('+GCAP: +CGSM');
    expect(lines(at(core({ flavour: 'ublox' }), 'ATI9'))).toEqual(['L0.0.00.00.05.08', 'OK']);
  });

  it('ATV0 and ATQ are accepted; responses stay verbose', () => {
    const c = core();
    expect(at(c, 'ATV0Q0X4')).toBe('\r\nOK\r\n');
    expect(at(c, 'AT')).toBe('\r\nOK\r\n');
  });

  it('reads and sets S-parameters as three digits (clause 5.3.2)', () => {
    const c = core();
    expect(at(c, 'ATS12?')).toBe('\r\n050\r\n\r\nOK\r\n');
    expect(at(c, 'ATS12=20')).toBe('\r\nOK\r\n');
    expect(at(c, 'ATS12?;S3?')).toBe('\r\n020\r\n\r\n013\r\n\r\nOK\r\n');
    expect(at(c, 'ATS99?')).toBe('\r\nERROR\r\n');
    expect(at(c, 'ATS3=200')).toBe('\r\nERROR\r\n');
  });

  it('uses S3 and S4 for line ends once changed', () => {
    const c = core();
    at(c, 'ATS4=13');
    expect(at(c, 'AT')).toBe('\r\rOK\r\r');
  });

  it('AT&D, AT&C, AT&W accept their ranges', () => {
    const c = core();
    expect(at(c, 'AT&D1&C1&W')).toBe('\r\nOK\r\n');
    expect(c.state.dtrMode).toBe(1);
    expect(at(c, 'AT&D3')).toBe('\r\nERROR\r\n');
  });

  it('ATZ and AT&F restore the defaults', () => {
    const c = core({ echo: true, cmee: 1 });
    at(c, 'ATE0;+CMEE=2;+CREG=2;S12=10');
    expect(at(c, 'ATZ')).toBe('\r\nOK\r\n');
    expect(c.echo).toBe(true);
    expect(c.cmee).toBe(1);
    expect(c.registration.n.cs).toBe(0);
    expect(at(c, 'ATE0S12?')).toBe('ATE0S12?\r\r\n050\r\n\r\nOK\r\n');
    at(c, 'AT+CMEE=2');
    expect(at(c, 'AT&F')).toBe('\r\nOK\r\n');
    expect(c.cmee).toBe(1);
    expect(at(c, 'ATZ1')).toContain('ERROR');
  });

  it('+CMEE set, read, test', () => {
    const c = core();
    expect(at(c, 'AT+CMEE=?')).toBe('\r\n+CMEE: (0-2)\r\n\r\nOK\r\n');
    expect(at(c, 'AT+CMEE=1;+CMEE?')).toBe('\r\n+CMEE: 1\r\n\r\nOK\r\n');
    expect(at(c, 'AT+CMEE=3')).toBe('\r\nERROR\r\n');
    expect(core({ flavour: 'quectel' }).cmee).toBe(1);
  });

  it('shows CME errors as ERROR, number or text per +CMEE (27.007 clause 9.1)', () => {
    const c = core({ sim: { pin: '1234' } });
    expect(at(c, 'AT+CIMI')).toBe('\r\nERROR\r\n');
    at(c, 'AT+CMEE=1');
    expect(at(c, 'AT+CIMI')).toBe('\r\n+CME ERROR: 11\r\n');
    at(c, 'AT+CMEE=2');
    expect(at(c, 'AT+CIMI')).toBe('\r\n+CME ERROR: SIM PIN required\r\n');
  });
});
