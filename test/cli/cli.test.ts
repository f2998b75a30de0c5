import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, runCli } from '../helpers/cli.js';
import { INFO_KEYS } from '../helpers/info.js';
import { peer, which } from '../interop/harness/peers.js';

/** The built CLI against the built-in test modem (`--device sim`), as a user runs it. */

describe('cellstack CLI', () => {
  it('info --json prints one object with exactly the documented keys', async () => {
    const r = await runCli(['info', '--device', 'sim', '--json']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const info = JSON.parse(r.stdout) as Record<string, Record<string, unknown>>;
    expect(Object.keys(info).sort()).toEqual([...INFO_KEYS].sort());
    expect(Object.keys(info['registration']!).sort()).toEqual(['act', 'ci', 'lac', 'state']);
    expect(Object.keys(info['signal']!).sort()).toEqual(['bars', 'rssiDbm']);
    expect(Object.keys(info['operator']!).sort()).toEqual(['mccmnc', 'name']);
    expect(info['registration']).toMatchObject({ state: 'home', act: 'lte' });
    expect(info['registration']!['lac']).toMatch(/^[0-9A-F]+$/);
    expect(info['registration']!['ci']).toMatch(/^[0-9A-F]+$/);
  });

  it('info answers like each vendor with sim:<vendor>', async () => {
    const seen: Record<string, string> = {};
    for (const v of ['huawei', 'quectel', 'simcom', 'ublox']) {
      const r = await runCli(['info', '--device', `sim:${v}`, '--json']);
      expect(r.code, r.stderr).toBe(0);
      seen[v] = (JSON.parse(r.stdout) as { manufacturer: string }).manufacturer;
    }
    expect(seen).toEqual({
      huawei: 'huawei',
      quectel: 'Quectel',
      simcom: 'SIMCOM INCORPORATED',
      ublox: 'u-blox',
    });
  });

  it('info prints a readable table without --json', async () => {
    const r = await runCli(['info', '--device', 'sim']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Manufacturer\s+cellstack$/m);
    expect(r.stdout).toMatch(/^Registration\s+home \(lte, LAC\/TAC [0-9A-F]+, CI [0-9A-F]+\)$/m);
    expect(r.stdout).toMatch(/^Signal\s+-73 dBm \(5\/5\)$/m);
  });

  it('at reads commands from standard input when it is not a terminal', async () => {
    const r = await runCli(['at', '--device', 'sim', '--json'], { input: 'AT+CSQ\n+CGMI\nAT+BOGUS\n' });
    expect(r.code).toBe(1);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((o) => 'command' in o);
    expect(lines).toEqual([
      { command: 'AT+CSQ', lines: ['+CSQ: 20,99'], final: 'OK' },
      { command: 'AT+CGMI', lines: ['cellstack'], final: 'OK' },
      { command: 'AT+BOGUS', error: 'ERROR', message: 'AT+BOGUS failed: ERROR' },
    ]);
  });

  it('every command has --help; mistakes exit 2 with a hint, failures exit 1 with one line', async () => {
    for (const cmd of ['info', 'at', 'ports']) {
      const r = await runCli([cmd, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Usage: cellstack ${cmd}`));
    }
    const top = await runCli(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toContain('info');
    const unknown = await runCli(['frobnicate']);
    expect(unknown.code).toBe(2);
    const noDevice = await runCli(['info'], { env: { CELLSTACK_DEVICE: '' } });
    expect(noDevice.code).toBe(2);
    expect(noDevice.stderr).toMatch(/--device PATH is required/);
    const badOption = await runCli(['info', '--device', 'sim', '--colour']);
    expect(badOption.code).toBe(2);
    const badBaud = await runCli(['info', '--device', 'sim', '--baud', 'fast']);
    expect(badBaud.code).toBe(2);
    const badSim = await runCli(['info', '--device', 'sim:nokia']);
    expect(badSim.code).toBe(1);
    expect(badSim.stderr).toMatch(/^cellstack: BAD_CONFIG: unknown sim vendor "nokia"/);
  });

  it('takes the device from CELLSTACK_DEVICE', async () => {
    const r = await runCli(['at', 'AT+CGMM'], { env: { CELLSTACK_DEVICE: 'sim:ublox' } });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('SARA-R410M-02B');
  });

  it('ports lists serial ports without crashing where udevadm is missing', async () => {
    const r = await runCli(['ports', '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { modems: unknown[]; ports: unknown[] };
    expect(Array.isArray(out.modems)).toBe(true);
    expect(Array.isArray(out.ports)).toBe(true);
  });
});

const script = peer('script', which('script') ? undefined : 'util-linux `script` is not installed');

describe.skipIf(script.skip)('cellstack at on a terminal', () => {
  it('is an interactive AT terminal whose history never keeps a PIN', async () => {
    const state = mkdtempSync(join(tmpdir(), 'cellstack-xdg-'));
    try {
      // util-linux `script` gives the CLI a real pseudo-terminal as standard input.
      const child = spawn('script', ['-qfec', `${process.execPath} ${BIN} at --device sim`, '/dev/null'], {
        env: { ...process.env, XDG_STATE_HOME: state },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      const waitFor = async (re: RegExp) => {
        for (let i = 0; i < 200 && !re.test(out); i++) await new Promise((r) => setTimeout(r, 25));
        expect(out).toMatch(re);
      };
      await waitFor(/AT> /);
      child.stdin.write('AT+CSQ\r');
      await waitFor(/\+CSQ: 20,99\r?\nOK/);
      child.stdin.write('AT+CPIN="1234"\r');
      await waitFor(/AT\+CPIN=\*\*\* failed/);
      child.stdin.write('exit\r');
      const code = await new Promise<number | null>((r) => child.on('close', r));
      expect(code).toBe(0);
      const history = readFileSync(join(state, 'cellstack', 'at_history'), 'utf8');
      expect(history).toBe('AT+CSQ\n');
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  }, 30_000);
});
