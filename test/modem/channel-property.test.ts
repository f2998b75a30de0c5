import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AtChannelCore, type AtChannelEvent } from '../../src/modem/channel-core.js';
import { splitAt } from '../helpers/split.js';

const enc = (s: string) => Uint8Array.from(Buffer.from(s, 'latin1'));

/** A valid exchange: echo on, information lines, URCs in between, a final result code. */
const exchange = fc.record({
  command: fc.constantFrom('AT+CGMI', 'AT+CSQ', 'AT+CREG?', 'AT+COPS?', 'ATI', 'AT+CPIN?'),
  echo: fc.boolean(),
  lines: fc.array(fc.stringMatching(/^[A-Za-z0-9 ,"+:.-]{1,40}$/), { maxLength: 4 }),
  urc: fc.option(
    fc.constantFrom('RING', '+CREG: 1,"00C3","0A13",7', '^RSSI: 17', '+QIND: "csq",20,99', 'RDY'),
  ),
  final: fc.constantFrom('OK', 'ERROR', '+CME ERROR: 10', '+CME ERROR: SIM busy', 'NO CARRIER'),
  eol: fc.constantFrom('\r\n', '\r', '\n'),
});

function summarise(events: AtChannelEvent[]): string[] {
  return events.flatMap((e) => {
    switch (e.type) {
      case 'response':
        return [`ok ${e.id} ${e.response.lines.join('|')}`];
      case 'failure':
        return [`fail ${e.id} ${e.error.code} ${e.error.cmeCause ?? ''}`];
      case 'urc':
        return [`urc ${e.urc.kind} ${e.urc.line}`];
      default:
        return [];
    }
  });
}

describe('AtChannelCore under random input', () => {
  it('gives the same result for a valid transcript however it is split', () => {
    fc.assert(
      fc.property(
        fc.array(exchange, { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (xs, cuts) => {
          const whole = new AtChannelCore();
          const split = new AtChannelCore();
          let stream = '';
          for (const x of xs) {
            const body = x.lines
              .filter(
                (l) =>
                  !/^(OK|ERROR|RING|RDY|NO CARRIER|BUSY|NO ANSWER|NO DIALTONE|CONNECT.*|\+CME.*|\+CMS.*)$/i.test(
                    l.trim(),
                  ),
              )
              .map((l) => `${x.eol}${l}${x.eol}`)
              .join('');
            const urc = x.urc === null ? '' : `${x.eol}${x.urc}${x.eol}`;
            stream += `${x.echo ? `${x.command}\r` : ''}${body}${urc}${x.eol}${x.final}${x.eol}`;
          }
          // Commands are enqueued up front; each exchange's bytes follow the command they answer.
          for (const core of [whole, split])
            for (const x of xs) core.enqueue({ text: x.command, timeoutMs: 1000 }, 0);
          whole.receive(enc(stream), 1);
          for (const c of splitAt(enc(stream), cuts)) split.receive(c, 1);
          const a = summarise(whole.takeEvents());
          const b = summarise(split.takeEvents());
          expect(b).toEqual(a);
          expect(a.filter((s) => s.startsWith('ok') || s.startsWith('fail'))).toHaveLength(xs.length);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never throws on random bytes, completes every command exactly once, stays bounded', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.uint8Array({ maxLength: 300 }),
            fc.constantFrom('\r\nOK\r\n', '\r\nCONNECT\r\n', '\r\nNO CARRIER\r\n', '\r\n> ', '~').map(enc),
          ),
          { maxLength: 40 },
        ),
        fc.array(fc.constantFrom('AT', 'ATD*99#', 'AT+CSQ', '+++'), { maxLength: 6 }),
        (chunks, commands) => {
          const core = new AtChannelCore({ maxLineLength: 256, maxResponseLength: 4096 });
          const ids = new Set<number>();
          const done = new Map<number, number>();
          let t = 0;
          const drain = () => {
            for (const e of core.takeEvents()) {
              if (e.type === 'response' || e.type === 'failure') done.set(e.id, (done.get(e.id) ?? 0) + 1);
              if (e.type === 'response') expect(e.response.lines.join('').length).toBeLessThanOrEqual(4096);
            }
            core.takeOutput();
          };
          commands.forEach((c, i) => {
            ids.add(core.enqueue({ text: c, raw: c === '+++', timeoutMs: 100 + i, body: 'x' }, t));
          });
          for (const c of chunks) {
            t += 7;
            core.receive(c, t);
            core.tick(t);
            drain();
            if (core.mode === 'data' && c.length % 3 === 0) core.leaveDataMode(t);
          }
          // Let every remaining command time out.
          for (let k = 0; k < commands.length + 2; k++) {
            t += 1000;
            core.tick(t);
            drain();
            if (core.mode === 'data') core.leaveDataMode(t);
          }
          for (const id of ids) expect(done.get(id)).toBe(1);
          expect(core.queued).toBe(0);
          expect(core.inFlight).toBeUndefined();
        },
      ),
      { numRuns: 300 },
    );
  });
});
