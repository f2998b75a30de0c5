import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AtChannel } from '../../src/modem/channel.js';
import type { AtResponse } from '../../src/modem/channel-core.js';
import type { DataStream } from '../../src/modem/data-stream.js';
import type { ModemError } from '../../src/modem/errors.js';
import { parseIdentityText } from '../../src/modem/parse/identity.js';
import { parseCopsQuery } from '../../src/modem/parse/operator.js';
import { parseCgdcont } from '../../src/modem/parse/pdp.js';
import { parseRegistration } from '../../src/modem/parse/registration.js';
import { parseCsq } from '../../src/modem/parse/signal.js';
import { type ReplayOptions, ReplayPort } from '../../src/modem/replay.js';
import type { Urc } from '../../src/modem/urc.js';
import { ManualClock } from '../../src/util/manual-clock.js';
import { parseTrace, type Trace } from '../../src/util/trace.js';

/**
 * Replays the real modem sessions under test/traces/ (each file names its source): the
 * channel sends the commands the recording shows, the harness checks every byte the
 * channel writes and feeds the recorded modem output back with its timing.
 */
const dir = new URL('../traces/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.jsonl'));
const load = (name: string): Trace => parseTrace(readFileSync(new URL(name, dir), 'utf8'));

type Outcome = { command: string; response?: AtResponse; error?: ModemError };

interface Replayed {
  outcomes: Outcome[];
  urcs: Urc[];
  channel: AtChannel;
  port: ReplayPort;
  data: Buffer[];
}

/** The command lines the recording's host sent, one per run of tx events. */
function commandsOf(trace: Trace): string[] {
  const out: string[] = [];
  let cur = '';
  for (const e of trace.events) {
    if (e.dir === 'tx') cur += e.data;
    else if (cur) {
      out.push(cur);
      cur = '';
    }
  }
  if (cur) out.push(cur);
  return out
    .flatMap((c) => c.split(/(?<=\r)\n?/).filter((x) => x.length > 0))
    .map((c) => c.replace(/\r\n?$/, ''));
}

async function replay(name: string, options: ReplayOptions & { timeoutMs?: number } = {}): Promise<Replayed> {
  const trace = load(name);
  const clock = new ManualClock();
  const port = new ReplayPort(trace, { ...options, clock });
  const channel = new AtChannel(port.stream, { clock });
  const urcs: Urc[] = [];
  const data: Buffer[] = [];
  channel.on('urc', (u) => urcs.push(u));
  channel.on('connect', (d: DataStream) => d.on('data', (b: Buffer) => data.push(b)));
  const outcomes: Outcome[] = [];
  for (const command of options.ignoreTx ? [] : commandsOf(trace)) {
    const o: Outcome = { command };
    let settled = false;
    channel.command(command, { timeoutMs: options.timeoutMs ?? 5000 }).then(
      (r) => {
        o.response = r;
        settled = true;
      },
      (e: ModemError) => {
        o.error = e;
        settled = true;
      },
    );
    await clock.advanceUntil(() => settled, 60_000);
    outcomes.push(o);
  }
  await clock.advance(10_000); // the rest of the recording (URCs, data)
  return { outcomes, urcs, channel, port, data };
}

const line = (o: Outcome | undefined, i = 0) => o?.response?.lines[i];

describe('recorded traces', () => {
  it('cover at least four modem families, each file with its source', () => {
    const families = new Set<string>();
    for (const f of files) {
      const t = load(f);
      expect(t.header.source, f).toMatch(/\S{10,}/);
      expect(t.header.device, f).toBeTruthy();
      families.add(String(t.header.family));
      let last = -1;
      for (const e of t.events) {
        expect(e.t, f).toBeGreaterThanOrEqual(last);
        last = e.t;
      }
    }
    expect([...families]).toEqual(expect.arrayContaining(['huawei', 'quectel', 'simcom', 'ublox']));
  });

  it('Huawei E620 (ModemManager log): SIM busy, echo, enable, registration, dial', async () => {
    const r = await replay('huawei-e620-mm-enable-dial.jsonl');
    expect(r.port.mismatches).toEqual([]);
    expect(r.port.finished).toBe(true);
    const [gcap1, gcap2] = r.outcomes;
    expect(gcap1?.error).toMatchObject({ code: 'CME_ERROR', cmeCause: 14 });
    expect(line(gcap2)).toBe('+GCAP: +CGSM,+DS,+ES');
    const find = (c: string) => r.outcomes.find((o) => o.command === c);
    expect(parseRegistration(line(find('AT+CREG?'))!, 'solicited')).toMatchObject({ n: 0, state: 'home' });
    expect(parseCopsQuery(line(find('AT+COPS=3,2;+COPS?'))!)).toMatchObject({ format: 2, operator: '26203' });
    expect(parseCopsQuery(line(find('AT+COPS=3,0;+COPS?'))!)).toMatchObject({ operator: 'MEDION Mobile' });
    expect(parseCsq(line(find('AT+CSQ'))!)).toMatchObject({ rssi: 13, rssiDbm: -87 });
    expect(parseCgdcont(find('AT+CGDCONT?')!.response!.lines)[0]).toMatchObject({
      apn: 'tagesflat.eplus.de',
    });
    expect(find('ATD*99***1#')?.response?.final).toMatchObject({ kind: 'CONNECT', connectText: '3600000' });
    expect(r.channel.mode).toBe('data');
    expect(r.outcomes.every((o) => o.error === undefined || o === gcap1)).toBe(true);
    expect(r.channel.stats().echoLines).toBeGreaterThanOrEqual(3);
  });

  it('Huawei E122 (ModemManager log): searching, unknown, roaming, two contexts, dial cid 2', async () => {
    const r = await replay('huawei-e122-mm-register-dial.jsonl');
    expect(r.port.mismatches).toEqual([]);
    const states = r.outcomes
      .filter((o) => o.command === 'AT+CREG?')
      .map((o) => parseRegistration(line(o)!, 'solicited')?.state);
    expect(states).toEqual([
      'searching',
      'searching',
      'searching',
      'searching',
      'searching',
      'unknown',
      'unknown',
      'roaming',
    ]);
    const ctx = parseCgdcont(r.outcomes.find((o) => o.command === 'AT+CGDCONT?')!.response!.lines);
    expect(ctx.map((c) => [c.cid, c.apn])).toEqual([
      [1, 'data.tre.se'],
      [2, 'bredband.tre.se'],
    ]);
    expect(r.outcomes.at(-1)?.response?.final.connectText).toBe('7200000');
  });

  it('Quectel EC25 (gammu dump): echo on is stripped', async () => {
    const r = await replay('quectel-ec25-gammu-echo-identity.jsonl');
    expect(r.port.mismatches).toEqual([]);
    expect(line(r.outcomes[0])).toBe('+CSCS: "GSM"');
    expect(parseIdentityText(r.outcomes[1]!.response!.lines, '+CGMR')).toBe('EC25EFAR06A04M4G');
    expect(r.channel.stats().echoLines).toBe(2);
  });

  it('Quectel EG25-G (eg25-manager): boot URCs arrive typed', async () => {
    const r = await replay('quectel-eg25g-eg25manager-boot-urcs.jsonl', { ignoreTx: true });
    expect(r.urcs.map((u) => [u.kind, u.name])).toEqual([
      ['modem-ready', 'RDY'],
      ['sim-state', '+CPIN'],
      ['other', '+QUSIM'],
      ['other', '+CFUN'],
      ['other', '+QIND'],
    ]);
  });

  it('Quectel EG25-G (eg25-manager): configuration queries, CR LF terminated by that host', async () => {
    const r = await replay('quectel-eg25g-eg25manager-config.jsonl', { lineEnding: 'cr' });
    expect(r.port.mismatches).toEqual([]);
    expect(r.outcomes.map((o) => o.response?.final.kind)).toEqual(Array(7).fill('OK'));
    expect(line(r.outcomes[3])).toBe('+QURCCFG: "urcport","all"');
  });

  it('SIMCom SIM7000G (TinyGSM): a first AT lost while the modem wakes, then init', async () => {
    const r = await replay('simcom-sim7000g-tinygsm-init.jsonl', { lineEnding: 'cr', timeoutMs: 250 });
    expect(r.port.mismatches).toEqual([]);
    expect(r.outcomes[0]?.error?.code).toBe('TIMEOUT');
    expect(r.outcomes.slice(1).every((o) => o.response?.final.kind === 'OK')).toBe(true);
    const find = (c: string) => r.outcomes.find((o) => o.command === c);
    expect(line(find('AT+GMM'))).toBe('SIMCOM_SIM7000G');
    expect(line(find('ATI'))).toBe('SIM7000G R1529');
  });

  it('SIMCom SIM7600 (ESP-IDF dump): boot URCs after the host sent PPP and CMUX junk', async () => {
    const r = await replay('simcom-sim7600-espmodem-boot-urcs.jsonl', { ignoreTx: true });
    expect(r.urcs.map((u) => u.kind)).toEqual(['modem-ready', 'sim-state']);
    // "SMS DON" was cut off by the recording: it stays an incomplete line, not an event.
    expect(r.channel.stats().lines).toBe(2);
  });

  it('u-blox SARA-R500S (Mbed OS trace): split reads, a CME error, PPP bytes after CONNECT', async () => {
    const r = await replay('ublox-sara-r500s-mbed-identity-ppp.jsonl');
    expect(r.port.mismatches).toEqual([]);
    expect(r.outcomes.map((o) => o.response?.lines[0] ?? o.error?.code)).toEqual([
      'u-blox',
      'SARA-R500S',
      '02.06',
      'CME_ERROR',
      '+CSQ: 99,99',
      '+CEREG: 2,0',
      undefined,
    ]);
    expect(r.outcomes[3]?.error?.cmeCause).toBe(3);
    expect(parseRegistration('+CEREG: 2,0', 'solicited')?.state).toBe('not-registered');
    expect(r.outcomes[6]?.response?.final.kind).toBe('CONNECT');
    // The LCP frame that followed CONNECT in the same read reached the data stream intact.
    const data = Buffer.concat(r.data).toString('latin1');
    expect(data).toBe(
      load('ublox-sara-r500s-mbed-identity-ppp.jsonl')
        .events.at(-1)!
        .data.replace(/^CT\r\n/, ''),
    );
    expect(data.startsWith('~\xff}#')).toBe(true);
  });
});
