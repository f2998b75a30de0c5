import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { peer, which } from './harness/peers.js';
import { type PtyGuest, startPtyGuest } from './harness/pty-guest.js';
import { umlProblem } from './harness/uml.js';

/**
 * `cellstack nc`, `resolve` and `ping` as a user runs them: a serial line (pty) wired to pppd in the guest, bytes
 * through standard input and output, byte for byte, and a one-line reason on failure.
 */
const uml = peer('uml', umlProblem());
const socat = peer('socat', which('socat') ? undefined : 'socat is not installed (apt-get install socat)');

describe.skipIf(uml.skip || socat.skip)('cellstack nc over a PPP line to the guest', () => {
  let line: PtyGuest;
  let device: string;

  beforeAll(async () => {
    line = await startPtyGuest({ auth: 'none', services: ['echo', 'dns'] });
    ({ device } = line);
  });

  afterAll(async () => {
    await line?.stop();
  });

  const nextSession = () => line.nextSession();

  it('echoes every byte value through the echo service and exits 0', async () => {
    const input = Buffer.alloc(256 * 40);
    for (let i = 0; i < input.length; i++) input[i] = i & 0xff;
    const r = await runCli(['nc', '10.64.0.1', '7', '--direct', '--device', device], {
      input: input.toString('latin1'),
      timeoutMs: 60_000,
      binary: true,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(Buffer.from(r.stdout, 'latin1').equals(input)).toBe(true);
  });

  it('exits 1 with one line naming ECONNREFUSED on a closed port', async () => {
    await nextSession();
    const r = await runCli(['nc', '10.64.0.1', '1', '--direct', '--device', device], { timeoutMs: 60_000 });
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('cellstack:'))).toEqual([
      expect.stringMatching(/^cellstack: ECONNREFUSED: /),
    ]);
  });

  it('resolve prints the addresses, and the JSON form has the CNAME chain', async () => {
    await nextSession();
    const plain = await runCli(['resolve', 'peer.cellstack.test', '--direct', '--device', device], {
      timeoutMs: 60_000,
    });
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toBe('10.64.0.1\n');
    await nextSession();
    const json = await runCli(['resolve', 'mqtt.cellstack.test', '--json', '--direct', '--device', device], {
      timeoutMs: 60_000,
    });
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({
      name: 'mqtt.cellstack.test',
      addresses: ['10.64.0.1'],
      cname: ['broker.cellstack.test'],
    });
  });

  it('resolve exits 1 naming ENOTFOUND for a missing name', async () => {
    await nextSession();
    const r = await runCli(['resolve', 'missing.cellstack.test', '--direct', '--device', device], {
      timeoutMs: 60_000,
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n').filter((l) => l.startsWith('cellstack:'))).toEqual([
      expect.stringMatching(/^cellstack: ENOTFOUND: .*missing\.cellstack\.test/),
    ]);
  });

  it('nc and ping take names', async () => {
    await nextSession();
    const nc = await runCli(['nc', 'peer.cellstack.test', '7', '--direct', '--device', device], {
      input: 'by name\n',
      timeoutMs: 60_000,
    });
    expect(nc.code, nc.stderr).toBe(0);
    expect(nc.stdout).toBe('by name\n');
    await nextSession();
    const ping = await runCli(['ping', 'peer.cellstack.test', '-c', '2', '--direct', '--device', device], {
      timeoutMs: 60_000,
    });
    expect(ping.code, ping.stderr).toBe(0);
    expect(ping.stdout).toMatch(/^PING peer\.cellstack\.test \(10\.64\.0\.1\)/);
    expect(ping.stdout).toMatch(/2 packets transmitted, 2 received/);
  });
});
