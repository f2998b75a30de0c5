import { describe, expect, it } from 'vitest';
import { findMosquitto } from '../../src/sim/demo-broker.js';
import { runCli } from '../helpers/cli.js';
import { peer } from '../interop/harness/peers.js';

/**
 * `cellstack demo`, the README's first line: the whole main job on the virtual modem and a
 * local TLS broker, exit 0 once a QoS 1 message has made the round trip.
 */
const mosquitto = peer(
  'mosquitto',
  findMosquitto() ? undefined : 'mosquitto is not installed (apt-get install mosquitto)',
);

interface DemoJson {
  ok: boolean;
  broker: string;
  profile: string | null;
  phases: Array<{ state: string; detail: string; atMs: number; bytesUp: number; bytesDown: number }>;
  publish: { topic: string; ackMs: number; roundTripMs: number };
  stats: {
    bytes: { up: number; down: number };
    tls: { protocol: string; cipher: string } | null;
    ip: { local: string } | null;
  };
}

function parseDemo(stdout: string): DemoJson {
  return JSON.parse(stdout.trim()) as DemoJson;
}

describe('cellstack demo', () => {
  it('with aedes in process (no system broker needed): every phase in order, TLS 1.2, the message back', async () => {
    const r = await runCli(['demo', '--broker', 'aedes', '--json'], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const d = parseDemo(r.stdout);
    expect(d).toMatchObject({ ok: true, broker: 'aedes', profile: null });
    expect(d.phases.map((p) => p.state)).toEqual([
      'opening',
      'registering',
      'registering',
      'dialing',
      'ppp-up',
      'connecting',
      'connected',
    ]);
    expect(d.phases[4]?.detail).toBe('10.0.0.2 -> 10.0.0.1, DNS 10.0.0.1');
    expect(d.phases[5]?.detail).toMatch(/^broker\.sim:\d+$/);
    expect(d.stats.tls?.protocol).toBe('TLSv1.2');
    expect(d.stats.ip?.local).toBe('10.0.0.2');
    // A TLS handshake with certificates both ways crossed the PPP line.
    expect(d.stats.bytes.up).toBeGreaterThan(1500);
    expect(d.stats.bytes.down).toBeGreaterThan(2500);
  });

  it.skipIf(mosquitto.skip)(
    'with mosquitto, MQTT 5: the human-readable run prints each phase with time and bytes',
    async () => {
      const r = await runCli(['demo', '--broker', 'mosquitto', '--mqtt5'], { timeoutMs: 60_000 });
      expect(r.code, r.stderr).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines[0]).toMatch(/^broker +mosquitto on 127\.0\.0\.1:\d+/);
      for (const state of ['opening', 'registering', 'dialing', 'ppp-up', 'connecting', 'connected'])
        expect(
          lines.some((l) => new RegExp(`^${state} .* \\+\\d+ ms +\\d+ B up +\\d+ B down$`).test(l)),
          state,
        ).toBe(true);
      expect(r.stdout).toMatch(/^publish +QoS 1 on cellstack\/demo\/[0-9a-f]+: PUBACK after \d+ ms/m);
      expect(r.stdout).toMatch(/^done +\d+ ms; \d+ B up, \d+ B down on the line; device 10\.0\.0\.2$/m);
    },
  );

  it('--profile gprs: the same job over a slow radio takes seconds, not milliseconds', async () => {
    const r = await runCli(['demo', '--broker', 'aedes', '--profile', 'gprs', '--json'], {
      timeoutMs: 120_000,
    });
    expect(r.code, r.stderr).toBe(0);
    const d = parseDemo(r.stdout);
    expect(d.profile).toBe('gprs');
    const pppUp = d.phases.find((p) => p.state === 'ppp-up');
    const connected = d.phases.find((p) => p.state === 'connected');
    // GPRS: 300 +- 150 ms each way; the TLS handshake alone is several round trips.
    expect((connected?.atMs ?? 0) - (pppUp?.atMs ?? 0)).toBeGreaterThan(1500);
    expect(d.publish.ackMs).toBeGreaterThan(300);
  }, 130_000);

  it('usage mistakes exit 2', async () => {
    expect((await runCli(['demo', '--profile', 'carrier-pigeon'])).code).toBe(2);
    expect((await runCli(['demo', '--broker', 'nats'])).code).toBe(2);
  });
});
