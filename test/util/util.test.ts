import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Modem } from '../../src/modem/modem.js';
import { recordPort } from '../../src/modem/record.js';
import { createSimPair } from '../../src/sim/modem.js';
import { sleep } from '../../src/util/clock.js';
import { ConfigError } from '../../src/util/errors.js';
import { printable } from '../../src/util/log.js';
import { ManualClock } from '../../src/util/manual-clock.js';
import { parseTrace } from '../../src/util/trace.js';

describe('ManualClock', () => {
  it('fires timers in time order, then in the order they were set', async () => {
    const clock = new ManualClock(100);
    const fired: string[] = [];
    clock.setTimer(() => fired.push('b@20'), 20);
    clock.setTimer(() => fired.push('a@10'), 10);
    clock.setTimer(() => fired.push('c@20'), 20);
    const cancelled = clock.setTimer(() => fired.push('never'), 5);
    clock.clearTimer(cancelled);
    await clock.advance(15);
    expect(fired).toEqual(['a@10']);
    expect(clock.now()).toBe(115);
    await clock.advance(100);
    expect(fired).toEqual(['a@10', 'b@20', 'c@20']);
    expect(clock.pending).toBe(0);
  });

  it('lets async code that sleeps run to completion while advancing', async () => {
    const clock = new ManualClock();
    const steps: number[] = [];
    const task = (async () => {
      for (let i = 0; i < 3; i++) {
        await sleep(clock, 1000);
        steps.push(clock.now());
      }
    })();
    await clock.advance(3000);
    await task;
    expect(steps).toEqual([1000, 2000, 3000]);
  });

  it('sleep rejects when aborted', async () => {
    const clock = new ManualClock();
    const ac = new AbortController();
    const p = sleep(clock, 1000, ac.signal);
    ac.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
  });
});

describe('traces', () => {
  it('rejects files that are not cellstack traces, with the line at fault', () => {
    expect(() => parseTrace('')).toThrow(ConfigError);
    expect(() => parseTrace('{"cellstack":"other","version":1}')).toThrow(/not a cellstack at-trace/);
    const header = '{"cellstack":"at-trace","version":1}';
    expect(() => parseTrace(`${header}\n{"t":0,"dir":"up","data":""}`)).toThrow(/line 2/);
    expect(() => parseTrace(`${header}\n{"t":0,"dir":"rx","data":"\\u0100"}`)).toThrow(
      /one byte per character/,
    );
    expect(parseTrace(`${header}\n{"t":0,"dir":"rx","data":"\\r\\nOK\\r\\n"}\n`).events).toHaveLength(1);
  });

  it('records both directions with the PIN masked, as a trace that parses', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cellstack-record-'));
    try {
      const file = join(dir, 't.jsonl');
      const pair = createSimPair({ sim: { pin: '7351' }, echo: true });
      const port = recordPort(pair.port, file, { notes: 'unit test' });
      const modem = new Modem(port);
      await modem.initialize();
      await modem.unlock('7351');
      await modem.close();
      const text = readFileSync(file, 'utf8');
      expect(text).not.toContain('7351');
      const trace = parseTrace(text);
      expect(trace.header).toMatchObject({ cellstack: 'at-trace', device: 'sim', notes: 'unit test' });
      expect(trace.events.some((e) => e.dir === 'tx' && e.data === 'AT+CPIN="****"\r')).toBe(true);
      expect(trace.events.some((e) => e.dir === 'rx' && e.data.includes('+CPIN: READY'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('printable', () => {
  it('shows control bytes the way AT logs do and bounds the length', () => {
    expect(printable('\r\nOK\r\n')).toBe('<CR><LF>OK<CR><LF>');
    expect(printable('\x00\x1a\xff')).toBe('\\x00<CTRL-Z>\\xff');
    expect(printable('x'.repeat(1000), 10)).toBe(`${'x'.repeat(10)}...`);
  });
});
