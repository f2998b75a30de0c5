import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SimModemCore } from '../../src/sim/at-core.js';
import { fromLatin1 } from '../../src/util/bytes.js';

const TOKENS = [
  'AT',
  'at',
  '\r',
  '\n',
  '\b',
  ';',
  '+++',
  '+',
  'E0',
  'E1',
  '+CMEE=2',
  '+CREG=2',
  '+CEREG=1',
  '+CREG?',
  '+COPS=?',
  '+CPIN="0000"',
  '+CPIN="12345678","1111"',
  'D*99#',
  'ATD*99***1#\r',
  'ATO\r',
  'ATH\r',
  'ATZ\r',
  '+CFUN=0',
  '+CFUN=1',
  '+CGDCONT=1,"IP","x"',
  '+CGDATA="PPP",1',
  'S12=1',
  '"',
  'AT+CSQ;+CGSN\r',
];

const chunk = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.constantFrom(...TOKENS).map((t) => fromLatin1(t)),
  fc.array(fc.constantFrom(...TOKENS), { maxLength: 8 }).map((t) => fromLatin1(t.join(''))),
);

const step = fc.record({
  bytes: chunk,
  dt: fc.nat({ max: 3000 }),
  poke: fc.constantFrom('none', 'none', 'none', 'dtr-off', 'dtr-on', 'carrier', 'urc', 'data', 'take'),
});

const flavour = fc.constantFrom('generic', 'huawei', 'quectel', 'simcom', 'ublox' as const);

describe('property: random input never breaks the core', () => {
  it('never throws, and every queue stays within its bound', () => {
    fc.assert(
      fc.property(flavour, fc.boolean(), fc.array(step, { maxLength: 60 }), (fl, pin, steps) => {
        const limits = { maxOutputBytes: 4096, maxDataBytes: 4096, maxHeldInputBytes: 512, maxHeldUrcs: 8 };
        const c = new SimModemCore(
          {
            flavour: fl,
            sim: pin ? { pin: '1234' } : {},
            connectDelayMs: 50,
            urcs: { signalIntervalMs: 700, modeChanges: true },
            limits,
          },
          0,
        );
        let now = 0;
        for (const s of steps) {
          now += s.dt;
          c.receive(s.bytes, now);
          switch (s.poke) {
            case 'dtr-off':
              c.setDtr(false, now);
              break;
            case 'dtr-on':
              c.setDtr(true, now);
              break;
            case 'carrier':
              c.dropCarrier(now);
              break;
            case 'urc':
              c.emitUrc('+CMTI: "SM",1', now);
              break;
            case 'data':
              c.sendData(new Uint8Array(100));
              break;
            case 'take':
              c.takeOutput();
              c.takeData();
              break;
          }
          const next = c.nextDeadline();
          if (next !== undefined && next <= now + 5000) c.tick(Math.max(now, next));
          expect(c.outputQueued).toBeLessThanOrEqual(limits.maxOutputBytes);
          expect(c.takeEvents().length).toBeLessThanOrEqual(1024);
        }
        const data = c.takeData().reduce((n, b) => n + b.length, 0);
        expect(data).toBeLessThanOrEqual(limits.maxDataBytes);
      }),
      { numRuns: 300 },
    );
  });

  it('answers every complete command line exactly once with a final result code', () => {
    const command = fc.constantFrom(
      'AT',
      'ATE0',
      'AT+CSQ',
      'AT+CGMI;+CGMM',
      'AT+NOPE',
      'AT+CREG?',
      'ATI',
      'ATS12?',
      'AT+CGDCONT?',
    );
    fc.assert(
      fc.property(
        fc.array(command, { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 1, max: 7 }),
        (cmds, split) => {
          const c = new SimModemCore({ echo: false }, 0);
          c.takeOutput();
          const text = cmds.map((x) => `${x}\r`).join('');
          const input = fromLatin1(text);
          for (let i = 0; i < input.length; i += split) c.receive(input.subarray(i, i + split), i);
          const output = c
            .takeOutput()
            .map((b) => Buffer.from(b).toString('latin1'))
            .join('');
          const finals = output.split('\r\n').filter((l) => l === 'OK' || l === 'ERROR');
          expect(finals).toHaveLength(cmds.length);
        },
      ),
      { numRuns: 200 },
    );
  });
});
