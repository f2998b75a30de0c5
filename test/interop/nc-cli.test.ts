import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModemPort } from '../../src/modem/port.js';
import { openSerialPort } from '../../src/modem/port.js';
import { runCli } from '../helpers/cli.js';
import { peer, which } from './harness/peers.js';
import { type PtyPair, startPtyPair } from './harness/pty-pair.js';
import { startUmlPeer, type UmlPeer, umlProblem } from './harness/uml.js';

/**
 * `cellstack nc` as a user runs it: a serial line (pty) wired to pppd in the guest, bytes
 * through standard input and output, byte for byte, and a one-line reason on failure.
 */
const uml = peer('uml', umlProblem());
const socat = peer('socat', which('socat') ? undefined : 'socat is not installed (apt-get install socat)');

describe.skipIf(uml.skip || socat.skip)('cellstack nc over a PPP line to the guest', () => {
  let guest: UmlPeer;
  let pty: PtyPair;
  let wire: ModemPort;

  beforeAll(async () => {
    guest = await startUmlPeer({ auth: 'none', services: ['echo'] });
    pty = await startPtyPair();
    wire = await openSerialPort({ path: pty.a });
    wire.stream.on('data', (b: Buffer) => guest.serial.write(b));
    guest.serial.on('data', (b: Buffer) => wire.stream.write(b));
  });

  afterAll(async () => {
    await wire?.close();
    await pty?.stop();
    await guest?.stop();
  });

  async function nextSession(): Promise<void> {
    const mark = guest.logMark();
    if (/Connect: ppp\d/.test(guest.pppdLog().split('\n').at(-1) ?? '')) return;
    await guest.waitForLog(/Connect: ppp\d <--> \/dev\/ttyS0/, 15_000, mark).catch(() => undefined);
  }

  it('echoes every byte value through the echo service and exits 0', async () => {
    const input = Buffer.alloc(256 * 40);
    for (let i = 0; i < input.length; i++) input[i] = i & 0xff;
    const r = await runCli(['nc', '10.64.0.1', '7', '--direct', '--device', pty.b], {
      input: input.toString('latin1'),
      timeoutMs: 60_000,
      binary: true,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(Buffer.from(r.stdout, 'latin1').equals(input)).toBe(true);
  });

  it('exits 1 with one line naming ECONNREFUSED on a closed port', async () => {
    await nextSession();
    const r = await runCli(['nc', '10.64.0.1', '1', '--direct', '--device', pty.b], { timeoutMs: 60_000 });
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('cellstack:'))).toEqual([
      expect.stringMatching(/^cellstack: ECONNREFUSED: /),
    ]);
  });
});
