import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 as prng } from '../../src/util/prng.js';
import { peer } from './harness/peers.js';
import { type SimFront, startSimFront } from './harness/sim-front.js';
import { startUmlPeer, type UmlPeer, umlProblem } from './harness/uml.js';
import { DNS_ZONE, SERVICE_PORTS } from './harness/uml-services.js';

/**
 * Issue 8's fault injection, scripted and seeded: 1000 QoS 1 publishes through 50 faults,
 * every peer real. The publisher is a child process (mqtt-fault-child.mjs, the built library)
 * running the connection manager's whole chain: our virtual modem's AT side over a TCP
 * connection (harness/sim-front.ts: AT, registration, ATD, CONNECT, NO CARRIER, +++/ATH),
 * each data call bridged through a LineBridge to real pppd in the UML guest, then PPP, DNS
 * (dnsmasq), TCP, our TLS 1.2 and MQTT to mosquitto (8883), with a FileStore. A subscriber at
 * the broker (service 'mqtt-sub', a persistent session inside the guest) logs every message.
 *
 * Faults, one at a time, each after the previous one has been recovered from (the publisher
 * connected and acknowledgements flowing again), with the messages spread over them: pppd
 * killed (KILL, silent; TERM, with LCP Terminate), the call dropped (NO CARRIER; the network
 * ends the PPP session), the line stalled for longer than the keepalive, a burst of corrupted
 * bytes, and the publisher SIGKILLed and started again from the same store with the next
 * message after the last one it said was accepted. No fault is repaired by the test: every
 * recovery is the manager's own. Then: every message i in 0..999 reached the subscriber at
 * least once with its payload intact, and the counts are printed.
 *
 * The seed is printed; CELLSTACK_FAULT_SEED=<n> replays a run's plan. For work on the test:
 * CELLSTACK_FAULT_COUNT=<n> runs only the plan's first n faults, CELLSTACK_DUMP=/tmp/x writes
 * the guest's console and pppd logs and the test's events to /tmp/x-*.log.
 */

/** What the guest runs besides pppd: mosquitto, dnsmasq, python3 (the subscriber), openssl (certificates). */
function missingHostProgram(): string | undefined {
  for (const [bin, pkg] of [
    ['/usr/sbin/mosquitto', 'mosquitto'],
    ['/usr/sbin/dnsmasq', 'dnsmasq-base'],
    ['/usr/bin/python3', 'python3'],
    ['/usr/bin/openssl', 'openssl'],
  ] as const) {
    if (!existsSync(bin)) return `${bin} is missing (apt-get install ${pkg})`;
  }
  return undefined;
}

const uml = peer('uml', umlProblem() ?? missingHostProgram());

const TOTAL = 1000;
const FAULTS = 50;
const FAULT_COUNT = Math.min(FAULTS, Number(process.env['CELLSTACK_FAULT_COUNT'] ?? FAULTS) || FAULTS);
/** MQTT keepalive (s): the manager gives up on a connection 1.5 keepalives after the last packet. */
const KEEPALIVE_S = 2;
/** Our LCP echo: every second, 3 unanswered = link dead. */
const LCP_ECHO_S = 1;
const LCP_ECHO_FAILURE = 3;
/** Between two publishes of the child. */
const INTERVAL_MS = 15;
/** Messages the child may accept past a fault's point: they are published during the fault. */
const SPAN = 12;
/** PUBACKs after a fault's end that show it was recovered from. */
const PROBE = 3;
/** Longest recovery from one fault. */
const RECOVERY_MS = 60_000;
/** The whole fault phase; a run that needs longer has a problem worth failing on. */
const FAULT_PHASE_MS = 300_000;
const BROKER = `broker.${DNS_ZONE}`;
const MQTTS_PORT = SERVICE_PORTS.mqtts.tcp[0]!;
const CHILD = fileURLToPath(new URL('./mqtt-fault-child.mjs', import.meta.url));
const SEED = (() => {
  const env = process.env['CELLSTACK_FAULT_SEED'];
  if (env !== undefined && /^\d+$/.test(env)) return Number(env) >>> 0;
  return (Date.now() ^ (process.pid << 16)) >>> 0;
})();

/** The payload of message i, as mqtt-fault-child.mjs makes it. */
function payloadOf(i: number): string {
  return `fault-message ${i} ${createHash('sha256').update(`cellstack-fault-${i}`).digest('hex').slice(0, 32)}`;
}

type Fault =
  | { kind: 'kill-pppd'; signal: 'KILL' | 'TERM' }
  | { kind: 'drop-line' }
  | { kind: 'stall'; ms: number }
  | { kind: 'corrupt'; probability: number; ms: number; seed: number }
  | { kind: 'restart' };

function faultName(f: Fault): string {
  return f.kind === 'kill-pppd' ? `kill-pppd-${f.signal}` : f.kind;
}

/** Ten of each kind (kill-pppd: five KILL, five TERM) with seeded parameters, in a seeded order. */
function planFaults(rand: () => number): Array<Fault & { jitter: number }> {
  const plan: Fault[] = [];
  for (let i = 0; i < FAULTS / 5; i++) {
    plan.push(
      { kind: 'kill-pppd', signal: i % 2 === 0 ? 'KILL' : 'TERM' },
      { kind: 'drop-line' },
      // Longer than the keepalive's 1.5 intervals and than LCP's echo failure time.
      { kind: 'stall', ms: 2 * KEEPALIVE_S * 1000 + Math.floor(rand() * 2000) },
      {
        kind: 'corrupt',
        probability: [3e-3, 1e-2, 3e-2][Math.floor(rand() * 3)]!,
        ms: 1500 + Math.floor(rand() * 1500),
        seed: Math.floor(rand() * 2 ** 31),
      },
      { kind: 'restart' },
    );
  }
  for (let i = plan.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [plan[i], plan[j]] = [plan[j]!, plan[i]!];
  }
  return plan.map((f) => ({ ...f, jitter: Math.floor(rand() * 5) }));
}

/** Publisher stderr lines kept (for the failure report; all of them for CELLSTACK_DUMP). */
const STDERR_KEPT = process.env['CELLSTACK_DUMP'] ? 200_000 : 200;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The test's own event log (last lines printed on failure). */
class Events {
  private readonly t0 = Date.now();
  readonly lines: string[] = [];
  add(line: string): void {
    this.lines.push(`${((Date.now() - this.t0) / 1000).toFixed(2).padStart(7)} ${line}`);
    if (this.lines.length > 3000) this.lines.splice(0, 1000);
  }
  tail(n: number): string {
    return this.lines.slice(-n).join('\n');
  }
}

interface ChildConfig {
  port: number;
  url: string;
  ca: string;
  clientId: string;
  store: string;
  from: number;
  last: number;
  limit: number;
  intervalMs: number;
  keepalive: number;
  lcpEchoInterval: number;
  lcpEchoFailure: number;
  initialDelayMs: number;
  maxDelayMs: number;
  lifetimeMs: number;
}

/** The publisher processes, one at a time, and what they said, added up over all of them. */
class Publisher {
  child: ChildProcess | undefined;
  processes = 0;
  readonly accepted = new Set<number>();
  acceptedLines = 0;
  readonly acked = new Set<number>();
  ackedLines = 0;
  /** PUBACKs for a message that one process had already seen acknowledged (should not happen). */
  ackedTwiceInOneProcess = 0;
  /**
   * The one legitimate double: the process before was killed after its put of message `from`
   * was durable but before it printed `accepted`, so this process restores it from the store
   * and, not knowing, publishes it again (at least once allows the duplicate).
   */
  ackedTwiceAsRepublished = 0;
  private from = 0;
  /** A message acknowledged, then resent from the store by the next process (it was killed before the delete was durable). */
  ackedAgainAfterRestart = 0;
  private ackedHere = new Set<number>();
  lastAccepted = -1;
  /** The current process's last state. */
  state = 'idle';
  readonly states: Record<string, number> = {};
  /** `offline` events by failure code and the level the manager went back to. */
  readonly offline: Record<string, number> = {};
  readonly failures: string[] = [];
  finalStats: Record<string, unknown> | undefined;
  private limit = 0;
  private stderrTail: string[] = [];
  private expectExit = false;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    private readonly base: Omit<ChildConfig, 'from' | 'limit'>,
    private readonly events: Events,
  ) {}

  start(): void {
    const cfg: ChildConfig = { ...this.base, from: this.lastAccepted + 1, limit: this.limit };
    const child = spawn(process.execPath, [CHILD, JSON.stringify(cfg)], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    this.processes++;
    this.state = 'idle';
    this.ackedHere = new Set();
    this.from = cfg.from;
    this.expectExit = false;
    this.events.add(`publisher ${this.processes} (pid ${child.pid}) from ${cfg.from}`);
    let partial = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      const parts = (partial + s).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) this.line(line);
    });
    child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      for (const l of s.split('\n')) if (l) this.stderrTail.push(l);
      if (this.stderrTail.length > STDERR_KEPT) this.stderrTail.splice(0, STDERR_KEPT / 2);
    });
    child.stdin!.on('error', () => undefined);
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        if (!this.expectExit)
          this.failures.push(`publisher exited unexpectedly: code ${code} signal ${signal}`);
        this.events.add(`publisher exit code ${code} signal ${signal}`);
        if (this.child === child) this.child = undefined;
        resolve();
      });
    });
  }

  private line(line: string): void {
    const [word, arg, ...rest] = line.split(' ');
    switch (word) {
      case 'accepted': {
        const i = Number(arg);
        this.accepted.add(i);
        this.acceptedLines++;
        this.lastAccepted = Math.max(this.lastAccepted, i);
        break;
      }
      case 'acked': {
        const i = Number(arg);
        if (this.ackedHere.has(i)) {
          if (i === this.from) this.ackedTwiceAsRepublished++;
          else this.ackedTwiceInOneProcess++;
        } else if (this.acked.has(i)) this.ackedAgainAfterRestart++;
        this.ackedHere.add(i);
        this.acked.add(i);
        this.ackedLines++;
        break;
      }
      case 'state': {
        const state = arg!;
        this.state = state;
        this.states[state] = (this.states[state] ?? 0) + 1;
        if (state === 'offline') {
          const code = /code=(\S+)/.exec(line)?.[1] ?? '?';
          const recovery = /recovery=(\S+)/.exec(line)?.[1] ?? '?';
          const key = `${code} -> ${recovery}`;
          this.offline[key] = (this.offline[key] ?? 0) + 1;
        }
        if (state !== 'connecting' && state !== 'registering') this.events.add(`  ${line}`);
        break;
      }
      case 'stats':
        this.finalStats = JSON.parse([arg, ...rest].join(' ')) as Record<string, unknown>;
        break;
      case 'publish-error':
      case 'ack-error':
      case 'closed':
        this.failures.push(line);
        this.events.add(line);
        break;
      default:
        if (word) this.events.add(`publisher: ${line}`);
    }
  }

  setLimit(n: number): void {
    this.limit = Math.max(this.limit, Math.min(n, TOTAL));
    this.child?.stdin?.write(`limit ${this.limit}\n`);
  }

  /** Messages accepted and not yet acknowledged. */
  unacked(): number {
    let n = 0;
    for (const i of this.accepted) if (!this.acked.has(i)) n++;
    return n;
  }

  async kill(): Promise<void> {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    this.expectExit = true;
    process.kill(pid, 'SIGKILL');
    await Promise.race([this.exited, sleep(10_000)]);
  }

  async end(): Promise<void> {
    if (!this.child) return;
    this.expectExit = true;
    this.child.stdin?.write('end\n');
    await Promise.race([this.exited, sleep(20_000)]);
    await this.kill();
  }

  stderr(n: number): string {
    return this.stderrTail.slice(-n).join('\n');
  }
}

describe.skipIf(uml.skip)(
  'fault injection: 1000 QoS 1 publishes through 50 faults (modem, pppd, TLS, mosquitto)',
  () => {
    let guest: UmlPeer;
    let front: SimFront;
    let pub: Publisher;
    const events = new Events();
    const store = mkdtempSync(join(tmpdir(), 'cellstack-faults-'));

    beforeAll(async () => {
      guest = await startUmlPeer({
        services: ['dns', 'mqtts', 'mqtt-sub'],
        // pppd's own keepalive stays out of the way: the network ends its sessions (sim-front).
        lcpEchoInterval: 10,
        lcpEchoFailure: 3,
      });
      await guest.waitForConsole(/^\[mqtt-sub\] subscribed /, 60_000);
      front = await startSimFront({ peer: guest, log: (l) => events.add(`front: ${l}`) });
    }, 120_000);

    afterAll(async () => {
      const dump = process.env['CELLSTACK_DUMP'];
      if (dump && guest) {
        writeFileSync(`${dump}-console.log`, guest.consoleLog());
        writeFileSync(`${dump}-pppd.log`, guest.pppdLog());
        writeFileSync(`${dump}-events.log`, events.lines.join('\n') + '\n');
        if (pub) writeFileSync(`${dump}-publisher.log`, pub.stderr(STDERR_KEPT) + '\n');
      }
      await pub?.kill();
      await front?.stop();
      await guest?.stop();
      rmSync(store, { recursive: true, force: true });
    });

    it('delivers every message at least once, with every recovery the manager its own', async () => {
      const t0 = Date.now();
      const rand = prng(SEED);
      const plan = planFaults(rand).slice(0, FAULT_COUNT);
      console.log(`fault injection seed ${SEED} (CELLSTACK_FAULT_SEED=${SEED} replays this plan)`);
      pub = new Publisher(
        {
          port: front.port,
          url: `mqtts://${BROKER}:${MQTTS_PORT}`,
          ca: guest.certs!.ca,
          clientId: 'cellstack-faults',
          store,
          last: TOTAL - 1,
          intervalMs: INTERVAL_MS,
          keepalive: KEEPALIVE_S,
          lcpEchoInterval: LCP_ECHO_S,
          lcpEchoFailure: LCP_ECHO_FAILURE,
          initialDelayMs: 200,
          maxDelayMs: 2000,
          lifetimeMs: 480_000,
        },
        events,
      );

      const fail = (why: string): never => {
        throw new Error(
          `${why}\nseed ${SEED}\n--- events ---\n${events.tail(80)}\n--- publisher stderr ---\n${pub.stderr(30)}\n--- pppd log ---\n${guest.pppdLog().split('\n').slice(-20).join('\n')}`,
        );
      };
      const until = async (cond: () => boolean, ms: number, what: string): Promise<void> => {
        const end = Date.now() + ms;
        while (!cond()) {
          if (pub.failures.length > 0) fail(`the publisher failed (${what}): ${pub.failures.join('; ')}`);
          if (Date.now() > end) fail(`timed out after ${ms} ms waiting for ${what}`);
          await sleep(25);
        }
      };
      const connectedNow = () => pub.state === 'connected';

      pub.setLimit(1);
      pub.start();
      await until(() => connectedNow() && pub.acked.has(0), 60_000, 'the first connection and PUBACK');
      const firstConnectMs = Date.now() - t0;
      events.add(`first PUBACK after ${firstConnectMs} ms`);

      const done: Record<string, number> = {};
      const recoveryMs: number[] = [];
      for (let k = 0; k < plan.length; k++) {
        const f = plan[k]!;
        if (Date.now() - t0 > FAULT_PHASE_MS) fail(`the fault phase took longer than ${FAULT_PHASE_MS} ms`);
        if (guest.sessions() > 95) fail(`pppd sessions nearly used up (${guest.sessions()} of 100)`);
        // Messages up to this fault's point, and SPAN more that go out during it.
        const at = Math.min(TOTAL - 1, Math.floor(((k + 1) * TOTAL) / (plan.length + 1)) + f.jitter);
        pub.setLimit(at + SPAN + 1);
        await until(() => pub.lastAccepted >= at, RECOVERY_MS, `message ${at} to be accepted`);
        const name = faultName(f);
        if (f.kind !== 'restart' && !front.bridge)
          fail(`fault ${k + 1} (${name}): no data call to inject it into`);
        const connectsMark = pub.states['connected'] ?? 0;
        const tf = Date.now();
        events.add(`fault ${k + 1}/${plan.length} ${name} at message ${pub.lastAccepted}`);
        switch (f.kind) {
          case 'kill-pppd':
            await guest.killPppd(f.signal);
            break;
          case 'drop-line':
            if (!front.dropCall()) fail(`fault ${k + 1}: no call to drop`);
            break;
          case 'stall':
            front.stall(f.ms);
            await sleep(f.ms);
            break;
          case 'corrupt':
            front.setCorruption({ probability: f.probability, seed: f.seed });
            await sleep(f.ms);
            front.setCorruption(undefined);
            break;
          case 'restart':
            await pub.kill();
            pub.start();
            break;
        }
        // Recovered: connected, and PUBACKs flowing again after the fault ended (a few more
        // messages may go out, so there is always something new to acknowledge).
        const faultEnd = pub.ackedLines;
        pub.setLimit(pub.lastAccepted + 1 + PROBE);
        await until(
          () =>
            connectedNow() &&
            (pub.ackedLines >= faultEnd + PROBE ||
              (pub.lastAccepted === TOTAL - 1 && pub.unacked() === 0 && pub.ackedLines > faultEnd)),
          RECOVERY_MS,
          `recovery from fault ${k + 1} (${name})`,
        );
        const ms = Date.now() - tf;
        recoveryMs.push(ms);
        done[name] = (done[name] ?? 0) + 1;
        const reconnects = (pub.states['connected'] ?? 0) - connectsMark;
        events.add(`fault ${k + 1} ${name} recovered in ${ms} ms (${reconnects} reconnects)`);
      }

      pub.setLimit(TOTAL);
      await until(
        () => pub.lastAccepted === TOTAL - 1 && pub.unacked() === 0,
        RECOVERY_MS,
        'every message accepted and acknowledged',
      );
      // The subscriber's lines.
      const wanted = /^\[mqtt-sub\] msg q(\d) dup(\d) fault\/(\d+) (.*)$/;
      const read = () =>
        guest
          .consoleLog()
          .split('\n')
          .filter((l) => wanted.test(l));
      await until(
        () => new Set(read().map((l) => wanted.exec(l)![3])).size >= TOTAL,
        30_000,
        'the subscriber to have every message',
      ).catch(() => undefined);
      await pub.end();
      const totalMs = Date.now() - t0;

      const received = new Map<number, number>();
      let dupFlagged = 0;
      const badPayload: number[] = [];
      for (const l of read()) {
        const m = wanted.exec(l)!;
        const i = Number(m[3]);
        received.set(i, (received.get(i) ?? 0) + 1);
        if (m[2] === '1') dupFlagged++;
        if (m[4] !== payloadOf(i)) badPayload.push(i);
      }
      const receivedLines = [...received.values()].reduce((a, b) => a + b, 0);
      const lost: number[] = [];
      for (let i = 0; i < TOTAL; i++) if (!received.has(i)) lost.push(i);
      const unexpected = [...received.keys()].filter((i) => !(i >= 0 && i < TOTAL));
      const fs = front.stats();
      const subConnects = guest
        .consoleLog()
        .split('\n')
        .filter((l) => l.startsWith('[mqtt-sub] connected')).length;
      const sorted = [...recoveryMs].sort((a, b) => a - b);
      const counts = {
        seed: SEED,
        faults: { total: recoveryMs.length, ...done },
        recovery_ms: {
          median: sorted[Math.floor(sorted.length / 2)],
          p90: sorted[Math.floor(sorted.length * 0.9)],
          max: sorted.at(-1),
        },
        publisher: {
          processes: pub.processes,
          connects: pub.states['connected'] ?? 0,
          reconnects: (pub.states['connected'] ?? 1) - 1,
          dials: pub.states['dialing'] ?? 0,
          // Dials after each process's first one.
          redials: (pub.states['dialing'] ?? 0) - pub.processes,
          modem_opens: pub.states['opening'] ?? 0,
          offline: pub.offline,
        },
        modem: {
          port_openings: fs.connections,
          calls: fs.calls,
          hangups: fs.hangups,
          pppd_sessions: guest.sessions(),
          line_bytes: { up: fs.line.up, down: fs.line.down, corrupted: fs.line.corrupted },
        },
        messages: {
          accepted: pub.accepted.size,
          accepted_lines: pub.acceptedLines,
          acked: pub.acked.size,
          acked_lines: pub.ackedLines,
          acked_again_after_restart: pub.ackedAgainAfterRestart,
          acked_twice_in_one_process: pub.ackedTwiceInOneProcess,
          acked_twice_as_republished: pub.ackedTwiceAsRepublished,
          received: received.size,
          received_lines: receivedLines,
          duplicates: receivedLines - received.size,
          dup_flagged: dupFlagged,
          lost: lost.length,
          bad_payload: badPayload.length,
        },
        subscriber_connects: subConnects,
        first_puback_ms: firstConnectMs,
        total_ms: totalMs,
        last_process_stats: pub.finalStats,
      };
      console.log(`fault injection counts:\n${JSON.stringify(counts, null, 2)}`);

      expect(pub.failures).toEqual([]);
      expect(recoveryMs.length).toBe(plan.length);
      expect(lost, `lost messages (seed ${SEED})`).toEqual([]);
      expect(badPayload).toEqual([]);
      expect(unexpected).toEqual([]);
      expect(pub.accepted.size).toBe(TOTAL);
      expect(pub.acked.size).toBe(TOTAL);
      expect(pub.ackedTwiceInOneProcess).toBe(0);
      // Dropped calls and restarts cannot be ridden out: each needs at least one new connection.
      expect(pub.states['connected'] ?? 0).toBeGreaterThan((done['drop-line'] ?? 0) + (done['restart'] ?? 0));
      expect(subConnects).toBeGreaterThanOrEqual(1);
      expect(guest.sessions()).toBeLessThan(100);
    }, 420_000);
  },
);
