import createDebug from 'debug';
import { afterEach, describe, expect, it } from 'vitest';
import type { DataStream } from '../../src/modem/data-stream.js';
import { ModemError } from '../../src/modem/errors.js';
import { Modem, type ModemOptions } from '../../src/modem/modem.js';
import type { ModemPort } from '../../src/modem/port.js';
import type { SimModemConfig } from '../../src/sim/config.js';
import { createSimPair, type SimModem } from '../../src/sim/modem.js';
import { ManualClock } from '../../src/util/manual-clock.js';

/**
 * The Modem lifecycle against the built-in test modem, in-process, on a manual clock: every
 * timeout, guard time and registration delay is simulated, not waited for.
 */
interface Rig {
  clock: ManualClock;
  sim: SimModem;
  port: ModemPort;
  modem: Modem;
  commands: string[];
}

const open: Rig[] = [];

function rig(config: SimModemConfig = {}, options: { noDtr?: boolean; modem?: ModemOptions } = {}): Rig {
  const clock = new ManualClock();
  const pair = createSimPair(config, { clock });
  const port: ModemPort = options.noDtr
    ? {
        path: pair.port.path,
        stream: pair.port.stream,
        setDtr: () => Promise.reject(new Error('Inappropriate ioctl for device')),
        close: () => pair.port.close(),
      }
    : pair.port;
  const modem = new Modem(port, { clock, ...options.modem });
  const commands: string[] = [];
  pair.sim.on('command', (line) => commands.push(line));
  const r = { clock, sim: pair.sim, port, modem, commands };
  open.push(r);
  return r;
}

afterEach(async () => {
  for (const r of open.splice(0)) await r.port.close().catch(() => undefined);
});

/** Runs `fn` while the manual clock moves; resolves or rejects with it. */
async function run<T>(r: Rig, fn: () => Promise<T>, limitMs = 600_000): Promise<T> {
  let done = false;
  let value: T | undefined;
  let error: unknown;
  fn().then(
    (v) => {
      value = v;
      done = true;
    },
    (e: unknown) => {
      error = e;
      done = true;
    },
  );
  const ok = await r.clock.advanceUntil(() => done, limitMs, 50);
  if (!ok) throw new Error(`still running after ${limitMs} ms of simulated time`);
  if (error !== undefined) throw error;
  return value as T;
}

const cpinSends = (r: Rig) => r.commands.filter((c) => /^AT\+CPIN=/i.test(c)).length;

describe('Modem lifecycle', () => {
  it('initialises and picks the vendor profile from +CGMI', async () => {
    for (const flavour of ['generic', 'huawei', 'quectel', 'simcom', 'ublox'] as const) {
      const r = rig({ flavour });
      await run(r, () => r.modem.initialize());
      expect(r.modem.profile.name).toBe(flavour);
      expect(r.commands.slice(0, 3)).toEqual(['AT', 'ATE0', 'AT+CMEE=2']);
    }
  });

  it('reads identity, SIM, registration, signal and operator for every vendor flavour', async () => {
    for (const flavour of ['generic', 'huawei', 'quectel', 'simcom', 'ublox'] as const) {
      const r = rig({ flavour, network: { registerAfterMs: 0, act: 'lte', csq: 17 } });
      await run(r, () => r.modem.initialize());
      const info = await run(r, () => r.modem.info());
      expect(info.sim).toBe('READY');
      expect(info.imsi).toBe('001010123456789');
      expect(info.iccid).toBe('8988211000000123458'); // Huawei's nibble-swapped form decoded
      expect(info.imei).toMatch(/^\d{15}$/);
      expect(info.registration).toMatchObject({ state: 'home', act: 'lte' });
      expect(info.registration.ci).toMatch(/^[0-9A-F]+$/);
      expect(info.signal).toEqual({ rssiDbm: -79, bars: 4 });
      expect(info.operator).toEqual({ name: 'Cellstack Test Network', mccmnc: '00101' });
      const retries = await run(r, () => r.modem.pinRetries());
      expect(retries).toMatchObject({ pin: 3, puk: 10 });
    }
  });

  it('unlocks a SIM with the right PIN, sending it once', async () => {
    const r = rig({ sim: { pin: '7351' } });
    await run(r, () => r.modem.initialize());
    expect(await run(r, () => r.modem.simState())).toBe('SIM PIN');
    await run(r, () => r.modem.unlock('7351'));
    expect(await run(r, () => r.modem.simState())).toBe('READY');
    expect(cpinSends(r)).toBe(1);
  });

  it('never sends a rejected PIN again', async () => {
    const r = rig({ sim: { pin: '7351' } });
    await run(r, () => r.modem.initialize());
    const err = await run(r, () => r.modem.unlock('0000')).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'PIN_REJECTED', cmeCause: 16 });
    expect((err as Error).message).toContain('2 attempts left');
    const again = await run(r, () => r.modem.unlock('7351')).catch((e: unknown) => e);
    expect(again).toMatchObject({ code: 'PIN_REJECTED' });
    expect(cpinSends(r)).toBe(1);
    expect(await run(r, () => r.modem.pinRetries())).toMatchObject({ pin: 2 });
  });

  it('refuses the last PIN attempt unless forced', async () => {
    const r = rig({ flavour: 'quectel', sim: { pin: '7351', pinRetries: 1 } });
    await run(r, () => r.modem.initialize());
    await expect(run(r, () => r.modem.unlock('7351'))).rejects.toMatchObject({ code: 'PIN_LAST_ATTEMPT' });
    expect(cpinSends(r)).toBe(0);
    await run(r, () => r.modem.unlock('7351', { force: true }));
    expect(cpinSends(r)).toBe(1);
  });

  it('refuses to send a PIN when the modem cannot say how many attempts are left', async () => {
    const r = rig({ sim: { pin: '7351' }, script: [{ match: /^\+CPINR/i, reply: [], final: 'ERROR' }] });
    await run(r, () => r.modem.initialize());
    await expect(run(r, () => r.modem.unlock('7351'))).rejects.toMatchObject({ code: 'PIN_RETRIES_UNKNOWN' });
    expect(cpinSends(r)).toBe(0);
  });

  it('reports a missing SIM, a PUK-locked SIM, and a missing PIN with their own codes', async () => {
    const none = rig({ sim: { inserted: false } });
    await run(none, () => none.modem.initialize());
    await expect(run(none, () => none.modem.unlock('1234'))).rejects.toMatchObject({
      code: 'SIM_NOT_INSERTED',
    });
    const puk = rig({ sim: { pin: '7351', pinRetries: 0 } });
    await run(puk, () => puk.modem.initialize());
    await expect(run(puk, () => puk.modem.unlock('7351', { force: true }))).rejects.toMatchObject({
      code: 'SIM_PUK_REQUIRED',
    });
    const pin = rig({ sim: { pin: '7351' } });
    await run(pin, () => pin.modem.initialize());
    await expect(run(pin, () => pin.modem.unlock())).rejects.toMatchObject({ code: 'SIM_PIN_REQUIRED' });
    expect(cpinSends(puk) + cpinSends(pin)).toBe(0);
  });

  it('never lets the PIN reach a log line or an error', async () => {
    const lines: string[] = [];
    const saved = createDebug.log;
    const enabled = createDebug.disable();
    createDebug.log = (...args: unknown[]) => {
      lines.push(args.map(String).join(' '));
    };
    createDebug.enable('cellstack:*');
    try {
      const r = rig({ sim: { pin: '7351' }, echo: true });
      await run(r, () => r.modem.initialize());
      const err = (await run(r, () => r.modem.unlock('9862')).catch((e: unknown) => e)) as Error;
      const ok = rig({ sim: { pin: '7351' } });
      await run(ok, () => ok.modem.initialize());
      await run(ok, () => ok.modem.unlock('7351'));
      expect(lines.length).toBeGreaterThan(10);
      expect(lines.some((l) => l.includes('AT+CPIN="****"'))).toBe(true);
      // Frame lines name source files, whose paths depend on the clone's place.
      const stackHead = String(err.stack)
        .split('\n')
        .filter((line) => !/^\s+at /.test(line))
        .join('\n');
      for (const text of [...lines, err.message, stackHead]) {
        expect(text).not.toContain('9862');
        expect(text).not.toContain('7351');
      }
    } finally {
      createDebug.log = saved;
      createDebug.disable();
      if (enabled) createDebug.enable(enabled);
    }
  });

  it('waits for registration driven by URCs, not by the poll', async () => {
    const r = rig({ network: { registerAfterMs: 3000 } });
    await run(r, () => r.modem.initialize());
    const t0 = r.clock.now();
    const reg = await run(r, () => r.modem.waitForRegistration({ pollMs: 30_000 }));
    expect(reg.state).toBe('home');
    expect(r.clock.now() - t0).toBeLessThan(4000);
  });

  it('fails with REGISTRATION_DENIED when the network keeps refusing, and times out when it never answers', async () => {
    const denied = rig({ network: { registration: 'denied', registerAfterMs: 500 } });
    await run(denied, () => denied.modem.initialize());
    await expect(
      run(denied, () => denied.modem.waitForRegistration({ deniedGraceMs: 2000 })),
    ).rejects.toMatchObject({
      code: 'REGISTRATION_DENIED',
    });
    const never = rig({ network: { registration: 'searching' } });
    await run(never, () => never.modem.initialize());
    const t0 = never.clock.now();
    await expect(
      run(never, () => never.modem.waitForRegistration({ timeoutMs: 20_000 })),
    ).rejects.toMatchObject({
      code: 'REGISTRATION_TIMEOUT',
    });
    expect(never.clock.now() - t0).toBeGreaterThanOrEqual(20_000);
    expect(never.clock.now() - t0).toBeLessThan(27_000);
  });

  it('writes the APN only when the context differs', async () => {
    const r = rig();
    await run(r, () => r.modem.initialize());
    await run(r, () => r.modem.setApn('internet.example'));
    await run(r, () => r.modem.setApn('internet.example'));
    expect(r.commands.filter((c) => c.startsWith('AT+CGDCONT=')).length).toBe(1);
    expect(r.sim.core.pdpContexts.find((c) => c.cid === 1)?.apn).toBe('internet.example');
    await expect(run(r, () => r.modem.setApn('bad"apn'))).rejects.toMatchObject({ code: 'BAD_CONFIG' });
  });

  it('dials to CONNECT, keeps the bytes sent with CONNECT, carries data both ways', async () => {
    const first = Uint8Array.from([0x7e, 0xff, 0x7d, 0x23, 0xc0, 0x21, 0x7e]);
    const r = rig({ network: { registerAfterMs: 0 }, afterConnect: first });
    await run(r, () => r.modem.initialize());
    await run(r, () => r.modem.waitForRegistration());
    await run(r, () => r.modem.setApn('internet'));
    await run(r, () => r.modem.attach());
    const data = await run(r, () => r.modem.dial());
    expect(r.modem.inDataMode).toBe(true);
    const got: Buffer[] = [];
    data.on('data', (b: Buffer) => got.push(b));
    const toSim: Uint8Array[] = [];
    r.sim.on('data', (b) => toSim.push(b));
    await r.clock.advance(10);
    r.sim.sendData(Uint8Array.from([0x7e, 1, 2, 3, 0x7e]));
    data.write(Buffer.from([0x7e, 9, 8, 7, 0x7e]));
    await r.clock.advance(10);
    expect([...Buffer.concat(got)]).toEqual([...first, 0x7e, 1, 2, 3, 0x7e]);
    expect([...Buffer.concat(toSim)]).toEqual([0x7e, 9, 8, 7, 0x7e]);
    await expect(run(r, () => r.modem.command('AT'))).rejects.toMatchObject({ code: 'BUSY_CHANNEL' });
  });

  it('detects NO CARRIER in data mode and goes back to commands', async () => {
    const r = rig({ network: { registerAfterMs: 0 } });
    await run(r, () => r.modem.initialize());
    const data: DataStream = await run(r, () => r.modem.dial());
    let lost = 0;
    let ended = false;
    r.modem.on('carrier-lost', () => lost++);
    data.on('end', () => {
      ended = true;
    });
    data.resume();
    r.sim.dropCarrier();
    await r.clock.advance(50);
    expect(lost).toBe(1);
    expect(ended).toBe(true);
    expect(data.carrierWasLost).toBe(true);
    expect(r.modem.inDataMode).toBe(false);
    expect((await run(r, () => r.modem.command('AT'))).final.kind).toBe('OK');
  });

  it('notices a call that ended silently when DCD drops', async () => {
    const r = rig({ network: { registerAfterMs: 0 } });
    let dcd = true;
    const port: ModemPort = { ...r.port, getSignals: async () => ({ dcd, dsr: true, cts: true }) };
    const modem = new Modem(port, { clock: r.clock, dcdPollMs: 500 });
    await run(r, () => modem.initialize());
    const data = await run(r, () => modem.dial());
    data.resume();
    let lost = 0;
    modem.on('carrier-lost', () => lost++);
    await r.clock.advance(1200);
    expect(lost).toBe(0);
    dcd = false;
    await r.clock.advance(600);
    expect(lost).toBe(1);
    expect(data.carrierWasLost).toBe(true);
    expect(modem.inDataMode).toBe(false);
  });

  it('hangs up by DTR where the port can', async () => {
    const r = rig({ network: { registerAfterMs: 0 } });
    await run(r, () => r.modem.initialize());
    await run(r, () => r.modem.dial());
    const reasons: string[] = [];
    r.sim.on('hangup', (why) => reasons.push(why));
    await run(r, () => r.modem.hangUp());
    expect(reasons).toEqual(['dtr']);
    expect(r.sim.core.mode).toBe('command');
    expect(r.commands.includes('+++')).toBe(false);
  });

  it('falls back to +++ with guard times and ATH where DTR cannot be set', async () => {
    const r = rig({ network: { registerAfterMs: 0 } }, { noDtr: true });
    await run(r, () => r.modem.initialize());
    const data = await run(r, () => r.modem.dial());
    let escapes = 0;
    const reasons: string[] = [];
    r.sim.on('escape', () => escapes++);
    r.sim.on('hangup', (why) => reasons.push(why));
    const t0 = r.clock.now();
    await run(r, () => r.modem.hangUp());
    expect(escapes).toBe(1);
    expect(reasons).toEqual(['ath']);
    expect(r.clock.now() - t0).toBeGreaterThanOrEqual(2000); // guard time before and after +++
    expect(r.sim.core.mode).toBe('command');
    expect(data.active).toBe(false);
    expect((await run(r, () => r.modem.command('AT+CSQ'))).lines).toEqual(['+CSQ: 20,99']);
  });

  it('brings back a modem that a crashed process left in data mode', async () => {
    const r = rig({ network: { registerAfterMs: 0 } }, { noDtr: true });
    await run(r, () => r.modem.initialize());
    await run(r, () => r.modem.dial());
    r.modem.channel.detach(); // the process "dies" without hanging up; the modem stays in data mode
    expect(r.sim.core.mode).toBe('data');
    const next = new Modem(r.port, { clock: r.clock });
    await run(r, () => next.initialize());
    expect(r.sim.core.mode).toBe('command');
    expect((await run(r, () => next.command('AT'))).final.kind).toBe('OK');
  });

  it('gives up with NOT_RESPONDING when nothing answers', async () => {
    const r = rig({ bootDelayMs: 3_600_000 }, { noDtr: true });
    await expect(run(r, () => r.modem.sync())).rejects.toMatchObject({ code: 'NOT_RESPONDING' });
  });

  it('cancels a long command with an AbortSignal and stays in sync', async () => {
    const r = rig({ network: { scanMs: 60_000 } });
    await run(r, () => r.modem.initialize());
    const ac = new AbortController();
    const scan = r.modem.command('AT+COPS=?', { signal: ac.signal });
    await r.clock.advance(1000);
    ac.abort();
    await expect(scan).rejects.toBeInstanceOf(ModemError);
    await expect(scan).rejects.toMatchObject({ code: 'CANCELLED' });
    const csq = await run(r, () => r.modem.command('AT+CSQ'));
    expect(csq.lines).toEqual(['+CSQ: 20,99']);
  });
});
