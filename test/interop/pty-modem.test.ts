import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Modem } from '../../src/modem/modem.js';
import { openModem } from '../../src/modem/open.js';
import { openSerialPort } from '../../src/modem/port.js';
import { ReplayPort } from '../../src/modem/replay.js';
import { attachSimToSerialPort, type SerialSim } from '../../src/sim/modem.js';
import { parseTrace } from '../../src/util/trace.js';
import { runCli } from '../helpers/cli.js';
import { peer, which } from './harness/peers.js';
import { type PtyPair, startPtyPair } from './harness/pty-pair.js';

/**
 * The driver through the real npm `serialport` package on a pty pair made by socat, with the
 * test modem answering on the other end, the way a USB dongle's AT port is opened. DTR cannot
 * be set on a pty, so every hang-up here takes the `+++` path.
 */
const socat = peer('socat', which('socat') ? undefined : 'socat is not installed (apt-get install socat)');

describe.skipIf(socat.skip)('AT driver on a socat pty pair through serialport', () => {
  let pty: PtyPair;
  let sim: SerialSim;
  const work = mkdtempSync(join(tmpdir(), 'cellstack-pty-test-'));

  beforeAll(async () => {
    pty = await startPtyPair();
    sim = await attachSimToSerialPort(pty.a, {
      flavour: 'quectel',
      sim: { pin: '2468' },
      network: { registerAfterMs: 800 },
    });
  });

  afterAll(async () => {
    await sim?.close();
    await pty?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('cellstack info --device <pty> unlocks with the PIN from the environment and keeps it out of the logs', async () => {
    const r = await runCli(['info', '--device', pty.b, '--json'], {
      env: { CELLSTACK_PIN: '2468', DEBUG: 'cellstack:*' },
    });
    expect(r.stderr.split('\n').filter((l) => l.startsWith('cellstack:'))).toEqual([]);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(info).toMatchObject({
      manufacturer: 'Quectel',
      model: 'EC25',
      imsi: '001010123456789',
      iccid: '8988211000000123458',
      sim: 'READY',
      signal: { rssiDbm: -73, bars: 5 },
    });
    // The SIM was locked until this run unlocked it, so the modem is still searching.
    expect(['searching', 'home']).toContain((info['registration'] as { state: string }).state);
    expect(r.stderr).toContain('AT+CPIN="****"');
    expect(r.stderr).not.toContain('2468');
    expect(sim.sim.core.simStatus).toBe('ready');
  });

  it('runs the library lifecycle: unlock, register, APN, attach, dial to CONNECT, hang up', async () => {
    const modem = await openModem({ path: pty.b });
    try {
      expect(modem.profile.name).toBe('quectel');
      await modem.unlock('2468'); // already unlocked: sends nothing
      const reg = await modem.waitForRegistration({ timeoutMs: 20_000 });
      expect(reg.state).toBe('home');
      await modem.setApn('iot.example');
      await modem.attach();
      const data = await modem.dial();
      const fromNet: Buffer[] = [];
      data.on('data', (b: Buffer) => fromNet.push(b));
      const toNet: Buffer[] = [];
      sim.sim.on('data', (b: Uint8Array) => toNet.push(Buffer.from(b)));
      const frame = Buffer.from([0x7e, 0xff, 0x03, 0xc0, 0x21, 0x01, 0x01, 0x00, 0x04, 0x00, 0x00, 0x7e]);
      data.write(frame);
      sim.sim.sendData(Uint8Array.from([0x7e, 0x21, 0x00, 0x0d, 0x0a, 0x7e]));
      await new Promise((r) => setTimeout(r, 300));
      expect(Buffer.concat(toNet)).toEqual(frame);
      expect([...Buffer.concat(fromNet)]).toEqual([0x7e, 0x21, 0x00, 0x0d, 0x0a, 0x7e]);
      let escapes = 0;
      sim.sim.on('escape', () => escapes++);
      const t0 = Date.now();
      await modem.hangUp(); // DTR fails on a pty ("Inappropriate ioctl"): +++ and ATH
      expect(escapes).toBe(1);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(2000);
      expect(sim.sim.core.mode).toBe('command');
      expect((await modem.command('AT+CGDCONT?')).lines[0]).toContain('"iot.example"');
    } finally {
      await modem.close();
    }
  });

  it('recovers a modem that a killed process left in data mode', async () => {
    const crashed = await openModem({ path: pty.b });
    await crashed.dial();
    crashed.channel.detach();
    await crashed.port.close(); // the port closes as the process dies; the call stays up
    expect(sim.sim.core.mode).toBe('data');
    const r = await runCli(['at', '--device', pty.b, '--timeout', '1000', 'AT+CSQ']);
    // `at` does not synchronise: its AT+CSQ goes into the data call and gets no answer.
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^cellstack: TIMEOUT: /);
    const info = await runCli(['info', '--device', pty.b, '--json']);
    expect(info.code).toBe(0);
    expect(JSON.parse(info.stdout)).toMatchObject({ manufacturer: 'Quectel' });
    expect(sim.sim.core.mode).toBe('command');
  }, 60_000);

  it('cellstack at sends one-shot commands and reports a failing one on stderr', async () => {
    const ok = await runCli(['at', '--device', pty.b, 'AT+CSQ', '+QPINC?']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('+CSQ: 20,99\nOK\n');
    expect(ok.stdout).toContain('+QPINC: "SC",3,10');
    const bad = await runCli(['at', '--device', pty.b, 'AT+NOSUCH']);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/^cellstack: ERROR: AT\+NOSUCH failed/);
  });

  it('records a session with --record that replays byte for byte against the driver', async () => {
    const file = join(work, 'info.jsonl');
    const r = await runCli(['info', '--device', pty.b, '--json', '--record', file]);
    expect(r.code).toBe(0);
    const trace = parseTrace(readFileSync(file, 'utf8'));
    expect(trace.events.some((e) => e.dir === 'tx' && e.data === 'AT+CGMI\r')).toBe(true);
    const port = new ReplayPort(trace);
    const modem = new Modem(port);
    await modem.initialize();
    const replayed = await modem.info();
    await modem.close();
    expect(port.mismatches).toEqual([]);
    expect(port.finished).toBe(true);
    expect(replayed).toEqual(JSON.parse(r.stdout));
  });

  it('opens the port with serialport and reports a missing device clearly', async () => {
    await expect(openSerialPort({ path: join(work, 'no-such-tty') })).rejects.toMatchObject({
      code: 'PORT_NOT_FOUND',
    });
    const r = await runCli(['info', '--device', join(work, 'no-such-tty')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^cellstack: PORT_NOT_FOUND: cannot open .*no-such-tty/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
