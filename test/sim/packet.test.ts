import { describe, expect, it } from 'vitest';
import { parseCgdcont, parseCgpaddr } from '../../src/modem/parse/pdp.js';
import { at, core, lines, out, registered } from './helpers.js';

describe('+CGDCONT (27.007 clause 10.1.1)', () => {
  it('defines, reads and undefines contexts', () => {
    const c = core();
    expect(lines(at(c, 'AT+CGDCONT?'))).toEqual(['+CGDCONT: 1,"IP","","0.0.0.0",0,0', 'OK']);
    expect(at(c, 'AT+CGDCONT=1,"IPV4V6","internet";+CGDCONT=3,"ip","iot.example"')).toBe('\r\nOK\r\n');
    const read = lines(at(c, 'AT+CGDCONT?'));
    expect(read).toEqual([
      '+CGDCONT: 1,"IPV4V6","internet","0.0.0.0",0,0',
      '+CGDCONT: 3,"IP","iot.example","0.0.0.0",0,0',
      'OK',
    ]);
    expect(parseCgdcont(read).map((p) => [p.cid, p.apn])).toEqual([
      [1, 'internet'],
      [3, 'iot.example'],
    ]);
    expect(at(c, 'AT+CGDCONT=3')).toBe('\r\nOK\r\n');
    expect(c.pdpContexts.map((p) => p.cid)).toEqual([1]);
  });

  it('rejects bad parameters', () => {
    const c = core();
    expect(at(c, 'AT+CGDCONT=0,"IP","x"')).toBe('\r\nERROR\r\n');
    expect(at(c, 'AT+CGDCONT=16,"IP","x"')).toBe('\r\nERROR\r\n');
    expect(at(c, 'AT+CGDCONT=1,"X25","x"')).toBe('\r\nERROR\r\n');
    expect(at(c, `AT+CGDCONT=1,"IP","${'a'.repeat(101)}"`)).toBe('\r\nERROR\r\n');
    expect(lines(at(c, 'AT+CGDCONT=?'))[0]).toBe('+CGDCONT: (1-15),"IP",,,(0-2),(0-4)');
    expect(lines(at(core({ flavour: 'simcom' }), 'AT+CGDCONT=?'))[0]).toBe(
      '+CGDCONT: (1-24),"IP",,,(0-2),(0-4)',
    );
  });
});

describe('+CGATT / +CGACT / +CGPADDR', () => {
  it('is attached once registered; =0 detaches, =1 needs a registration', () => {
    const c = core({ cmee: 1 });
    expect(lines(at(c, 'AT+CGATT?'))).toEqual(['+CGATT: 0', 'OK']);
    expect(lines(at(c, 'AT+CGATT=1'))).toEqual(['+CME ERROR: 30']);
    c.tick(1500);
    expect(lines(at(c, 'AT+CGATT?', 1500))).toEqual(['+CGATT: 1', 'OK']);
    expect(at(c, 'AT+CGATT=0;+CGATT?', 1500)).toBe('\r\n+CGATT: 0\r\n\r\nOK\r\n');
    expect(at(c, 'AT+CGATT=1;+CGATT?', 1500)).toBe('\r\n+CGATT: 1\r\n\r\nOK\r\n');
    expect(lines(at(c, 'AT+CGATT=?'))).toEqual(['+CGATT: (0,1)', 'OK']);
  });

  it('+CGACT activates a context, which then has an address', () => {
    const c = registered({ cmee: 1 });
    expect(lines(at(c, 'AT+CGPADDR', 2000))).toEqual(['+CGPADDR: 1', 'OK']);
    expect(lines(at(c, 'AT+CGACT=1,1;+CGACT?', 2000))).toEqual(['+CGACT: 1,1', 'OK']);
    const addr = lines(at(c, 'AT+CGPADDR=1', 2000));
    expect(addr).toEqual(['+CGPADDR: 1,"10.64.0.2"', 'OK']);
    expect(parseCgpaddr(addr)).toEqual([{ cid: 1, addresses: ['10.64.0.2'] }]);
    expect(lines(at(c, 'AT+CGACT=0,1;+CGPADDR', 2000))).toEqual(['+CGPADDR: 1', 'OK']);
    expect(at(c, 'AT+CGPADDR=7', 2000)).toBe('\r\nERROR\r\n');
    expect(lines(at(c, 'AT+CGPADDR=?', 2000))).toEqual(['+CGPADDR: (1)', 'OK']);
  });
});

describe('dialling (27.007 clause 10.2.1.1)', () => {
  it('ATD*99# answers CONNECT after connectDelayMs and enters data mode', () => {
    const c = core();
    c.tick(1500);
    expect(at(c, 'ATD*99#', 2000)).toBe('');
    expect(c.mode).toBe('command');
    expect(c.nextDeadline()).toBe(2300);
    c.tick(2300);
    expect(out(c)).toBe('\r\nCONNECT 150000000\r\n');
    expect(c.mode).toBe('data');
    expect(c.carrier).toBe(true);
    expect(c.takeEvents()).toContainEqual({ type: 'connect', cid: 1 });
  });

  it('ATD*99***<cid># uses that context; ATDT and the L2P field are understood', () => {
    const c = registered({ pdpContexts: [{ cid: 2, pdpType: 'IP', apn: 'x' }] });
    expect(at(c, 'ATDT*99*,*PPP*2#', 2000)).toBe('\r\nCONNECT 150000000\r\n');
    expect(c.pdpContexts).toEqual([{ cid: 2, pdpType: 'IP', apn: 'x', active: true, address: '10.64.0.2' }]);
  });

  it('fails with NO CARRIER when not registered or the context is not defined', () => {
    const c = core({ connectDelayMs: 0 });
    expect(at(c, 'ATD*99#')).toBe('\r\nNO CARRIER\r\n');
    c.tick(1500);
    expect(at(c, 'ATD*99***5#', 1500)).toBe('\r\nNO CARRIER\r\n');
    expect(at(c, 'ATD+4912345', 1500)).toBe('\r\nNO CARRIER\r\n');
    expect(c.mode).toBe('command');
  });

  it('fails with the SIM CME error when the SIM is not ready', () => {
    expect(at(core({ cmee: 1, sim: { pin: '1234' } }), 'ATD*99#')).toBe('\r\n+CME ERROR: 11\r\n');
    expect(at(core({ cmee: 2, sim: { inserted: false } }), 'ATD*99#')).toBe(
      '\r\n+CME ERROR: SIM not inserted\r\n',
    );
  });

  it('CONNECT text is configurable', () => {
    expect(at(registered({ connectText: '' }), 'ATD*99#', 2000)).toBe('\r\nCONNECT\r\n');
    expect(at(registered({ connectText: '100000000' }), 'ATD*99#', 2000)).toBe('\r\nCONNECT 100000000\r\n');
  });

  it('afterConnect bytes come in the same chunk right after CONNECT', () => {
    const frame = new Uint8Array([0x7e, 0xff, 0x7d, 0x23, 0xc0, 0x21, 0x7e]);
    const c = registered({ afterConnect: frame });
    c.receive(new TextEncoder().encode('ATD*99#\r'), 2000);
    const chunks = c.takeOutput();
    expect(chunks).toHaveLength(1);
    const expected = new Uint8Array([...new TextEncoder().encode('\r\nCONNECT 150000000\r\n'), ...frame]);
    expect(chunks[0]).toEqual(expected);
  });

  it('AT+CGDATA="PPP",1 also connects', () => {
    const c = registered();
    expect(at(c, 'AT+CGDATA="PPP",1', 2000)).toBe('\r\nCONNECT 150000000\r\n');
    expect(c.mode).toBe('data');
    expect(at(registered(), 'AT+CGDATA="M-RAW",1', 2000)).toBe('\r\nERROR\r\n');
    expect(lines(at(registered(), 'AT+CGDATA=?', 2000))).toEqual(['+CGDATA: ("PPP")', 'OK']);
  });
});
