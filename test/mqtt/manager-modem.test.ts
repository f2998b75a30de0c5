import { afterEach, describe, expect, it } from 'vitest';
import type { ModemPort } from '../../src/modem/port.js';
import { type Connection, connect } from '../../src/mqtt/manager/index.js';
import type { StateChange } from '../../src/mqtt/manager/options.js';
import type { SimModemConfig } from '../../src/sim/config.js';
import { createDuplexPair } from '../../src/sim/duplex-pair.js';
import { SimModem } from '../../src/sim/modem.js';

/**
 * The manager's modem levels against the built-in virtual modem (AT side only: nothing answers
 * PPP behind its CONNECT, so every dial fails at LCP). What must happen: the chain is climbed
 * with a PIN and registration; failed dials are retried as dials; after `resetAfter` of them the
 * modem is restarted with +CFUN=1,1 and opened again (the SIM asks for its PIN again); a PIN the
 * SIM refuses stops the manager after one attempt, so the SIM is never locked by retries.
 */
const conns: Connection[] = [];
afterEach(async () => {
  for (const c of conns.splice(0)) await c.end();
});

/** One virtual modem that outlives the manager's port: each open attaches a fresh pair. */
function simBehindPorts(config: SimModemConfig): {
  sim: SimModem;
  commands: string[];
  open: () => Promise<ModemPort>;
  opens: () => number;
} {
  const sim = new SimModem({ network: { registerAfterMs: 0 }, ...config });
  const commands: string[] = [];
  sim.on('command', (line) => commands.push(line));
  let opens = 0;
  return {
    sim,
    commands,
    opens: () => opens,
    open: async () => {
      opens++;
      const [host, device] = createDuplexPair();
      sim.attach(device);
      return {
        path: 'sim',
        stream: host,
        setDtr: async (v: boolean) => sim.setDtr(v),
        close: async () => {
          sim.detach();
          host.destroy();
          device.destroy();
        },
      };
    },
  };
}

function until(cond: () => boolean, ms = 20_000): Promise<void> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const poll = (): void => {
      if (cond()) resolve();
      else if (Date.now() - t0 > ms) reject(new Error('condition not met in time'));
      else setTimeout(poll, 10);
    };
    poll();
  });
}

describe('connect() with a modem (the virtual modem, no PPP peer behind it)', () => {
  it('retries the dial, then restarts the modem with +CFUN=1,1 and unlocks the SIM again', async () => {
    const s = simBehindPorts({ sim: { pin: '2468' } });
    const states: StateChange[] = [];
    const conn = connect({
      modem: {
        path: 'sim',
        openPort: s.open,
        pin: '2468',
        apn: 'iot.test',
        linkTimeoutMs: 300,
        lcpEchoInterval: 0,
      },
      mqtt: { url: 'mqtt://broker.test' },
      reconnect: { initialDelayMs: 5, maxDelayMs: 20, resetAfter: 2 },
    });
    conns.push(conn);
    conn.on('state', (c) => states.push(c));
    await until(() => s.opens() >= 2 && states.filter((x) => x.state === 'dialing').length >= 3);
    const seq = states.map((x) => (x.state === 'offline' ? `offline:${x.recovery}` : x.state));
    const firstOpen = seq.indexOf('opening');
    expect(seq.slice(firstOpen, firstOpen + 7)).toEqual([
      'opening',
      'registering',
      'registering',
      'dialing',
      'offline:link',
      'dialing',
      'offline:modem',
    ]);
    expect(states.find((x) => x.state === 'offline')?.reason).toMatchObject({ code: 'NEGOTIATION_FAILED' });
    expect(s.commands).toContain('AT+CFUN=1,1');
    expect(s.commands.filter((c) => c.startsWith('AT+CPIN=')).length).toBeGreaterThanOrEqual(2);
    expect(s.commands).toContain('AT+CGDCONT=1,"IP","iot.test"');
    const st = conn.stats();
    expect(st.modemResets).toBeGreaterThanOrEqual(1);
    expect(st.redials).toBeGreaterThanOrEqual(1);
    expect(st.registration).toMatch(/home/);
    expect(st.signal?.bars).toBeGreaterThan(0);
    expect(st.failures['NEGOTIATION_FAILED']).toBeGreaterThanOrEqual(2);
  }, 30_000);

  it('a PIN the SIM refuses stops the manager after one attempt, without the PIN in the error', async () => {
    const s = simBehindPorts({ sim: { pin: '2468' } });
    const conn = connect({
      modem: { path: 'sim', openPort: s.open, pin: '1357' },
      mqtt: { url: 'mqtt://broker.test' },
      reconnect: { initialDelayMs: 5, maxDelayMs: 20 },
    });
    conns.push(conn);
    const err = await new Promise<Error | undefined>((resolve) => conn.once('close', resolve));
    expect(err).toMatchObject({ code: 'PIN_REJECTED' });
    expect(`${err?.message} ${String(err?.stack?.split('\n')[0])}`).not.toContain('1357');
    expect(s.commands.filter((c) => c.startsWith('AT+CPIN=')).length).toBe(1);
    expect(conn.state).toBe('closed');
  }, 30_000);
});
