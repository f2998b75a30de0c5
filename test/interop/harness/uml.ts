import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { LineLog } from './line-log.js';
import { which } from './peers.js';
import { endProcessTree, guardUntilStopped } from './proc.js';
import { MARK } from './uml-guest.js';
import { umlKernelVersion, umlProblem, writeGuest } from './uml-host.js';
import type { UmlService } from './uml-services.js';

/**
 * A real Linux pppd (and the Linux kernel's PPP and IP stack) as the client's peer, inside
 * user-mode Linux. The guest's /dev/ttyS0 is one end of a UNIX socket pair; the other end is
 * `serial`, which the test hands to the PPP client as its serial line. See uml-guest.ts for
 * what runs in the guest.
 */

export { umlProblem } from './uml-host.js';
export type { UmlService } from './uml-services.js';

export interface UmlPeerOptions {
  /** 'none' (default) = pppd `noauth`; else `auth require-pap|require-chap` with the secret. */
  auth?: 'none' | 'pap' | 'chap';
  /** Default 'cellstack' / 'cellstack-secret': the only pair the guest's secrets accept. */
  user?: string;
  password?: string;
  /** Appended to pppd's command line, e.g. ['novj']. */
  pppdOptions?: string[];
  /** pppd keepalive; defaults 30 s / 4 failures. 0 disables the echo requests. */
  lcpEchoInterval?: number;
  lcpEchoFailure?: number;
  /** tc netem spec applied on ppp0 in both directions (ingress through ifb0), e.g. 'delay 300ms loss 2%'. */
  netem?: string;
  /** Services bound to the peer address (default none): 'dns' (dnsmasq :53), 'echo' (tcp/udp 7 echo, 9 discard). */
  services?: UmlService[];
  /** One pppd session, then the guest halts. Default: pppd restarts after each session (<= 100). */
  once?: boolean;
  memMb?: number;
  bootTimeoutMs?: number;
  /** The guest powers itself off after this long whatever happens (default 30 min). */
  lifetimeMs?: number;
}

export interface UmlPeer {
  /**
   * The serial line to pppd. pppd is `passive`: it starts sending LCP Configure-Requests as
   * soon as it is ready, and those bytes wait here until the client reads them.
   */
  serial: Duplex;
  /** The linux.uml kernel process. */
  pid: number;
  peerAddress: '10.64.0.1';
  clientAddress: '10.64.0.2';
  dns: string[];
  user: string;
  password: string;
  /** Milliseconds from spawn to pppd having opened ttyS0. */
  bootMs: number;
  /** pppd's debug log so far, all sessions, one line per event (`sent [LCP ConfReq id=0x1 ...]`). */
  pppdLog(): string;
  /** Kernel, init (`CELLSTACK@@` markers) and service output. */
  consoleLog(): string;
  /** Number of pppd log lines so far: pass to waitForLog to ignore what came before. */
  logMark(): number;
  /** First pppd log line (from line `from`, default 0) matching `re`; rejects after `timeoutMs` with the log's tail. */
  waitForLog(re: RegExp, timeoutMs: number, from?: number): Promise<string>;
  /** Signals the running pppd and resolves once it has exited (the guest then starts the next session unless `once`). */
  killPppd(signal?: 'TERM' | 'KILL'): Promise<void>;
  /** pppd sessions started so far (the first one is running once startUmlPeer resolves). */
  sessions(): number;
  /** Ends the guest and every process it left, removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

const MAX_SESSIONS = 100;
const PEER = '10.64.0.1';
const CLIENT = '10.64.0.2';

function socketAt(child: ChildProcess, fd: number): Socket {
  const s = child.stdio[fd];
  if (!(s instanceof Socket)) throw new Error(`linux.uml fd ${fd} is not a socket`);
  return s;
}

/**
 * Ready = the first pppd has opened ttyS0 and attached ppp0 (after the services listen).
 * Polled rather than awaited so that a pppd that exits at once (a bad option) or a guest that
 * dies fails the start right away instead of after the whole restart loop. Returns boot ms.
 */
async function ready(
  child: ChildProcess,
  consoleLog: LineLog,
  pppdLog: LineLog,
  t0: number,
  timeoutMs: number,
) {
  const connected = /^Connect: ppp\d+ <--> \/dev\/ttyS0/;
  for (;;) {
    const errors = consoleLog.lines.filter((l) => l.startsWith(`${MARK}ERROR`));
    if (errors.length > 0) throw new Error(`the guest reported: ${errors.join('; ')}`);
    if (pppdLog.lines.some((l) => connected.test(l))) return Date.now() - t0;
    const exit = consoleLog.lines.find((l) => l.startsWith(`${MARK}PPPD-EXIT 1 `));
    if (exit) throw new Error(`pppd exited before it was ready: ${exit}`);
    if (child.exitCode !== null || child.signalCode !== null) throw new Error('linux.uml exited');
    if (Date.now() > t0 + timeoutMs) throw new Error(`timed out after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function startUmlPeer(options: UmlPeerOptions = {}): Promise<UmlPeer> {
  const problem = umlProblem();
  if (problem) throw new Error(`cannot start the UML peer: ${problem}`);
  if (options.netem !== undefined && !/^[A-Za-z0-9 .%_-]+$/.test(options.netem)) {
    throw new Error(`netem spec has unexpected characters: ${JSON.stringify(options.netem)}`);
  }
  const user = options.user ?? 'cellstack';
  const password = options.password ?? 'cellstack-secret';
  const bootTimeoutMs = options.bootTimeoutMs ?? 60_000;
  const work = mkdtempSync(join(tmpdir(), 'cellstack-uml-'));
  let initPath: string;
  try {
    initPath = writeGuest(work, {
      kernelVersion: umlKernelVersion()!,
      peerAddress: PEER,
      clientAddress: CLIENT,
      auth: options.auth ?? 'none',
      user,
      password,
      pppdOptions: options.pppdOptions ?? [],
      lcpEchoInterval: options.lcpEchoInterval ?? 30,
      lcpEchoFailure: options.lcpEchoFailure ?? 4,
      netem: options.netem,
      services: [...new Set(options.services ?? [])],
      once: options.once ?? false,
      maxSessions: MAX_SESSIONS,
      lifetimeS: Math.ceil((options.lifetimeMs ?? 30 * 60_000) / 1000),
    });
  } catch (err) {
    rmSync(work, { recursive: true, force: true });
    throw new Error(`cannot start the UML peer: ${(err as Error).message}`);
  }
  const args = [
    `mem=${options.memMb ?? 256}M`,
    'rootfstype=hostfs',
    'rootflags=/',
    'ro',
    `init=${initPath}`,
    // UML's pid file and management socket go to our temp dir, not ~/.uml.
    `uml_dir=${join(work, 'uml')}`,
    `umid=cellstack-${process.pid}-${Date.now().toString(36)}`,
    // fd 3: ttyS0, pppd's line. fd 5: ttyS1, the control channel (host -> init script).
    'ssl0=fd:3,fd:3',
    'ssl1=fd:5,fd:5',
    'ssl=null',
    // Console (kernel + init) to stdout; tty1 (pppd's logfd) to fd 4.
    'con0=null,fd:1',
    'con1=null,fd:4',
    'con=null',
  ];
  const t0 = Date.now();
  const child = spawn(which('linux.uml')!, args, {
    // 'pipe' beyond fd 2 is a UNIX socket pair: a Duplex on our side.
    stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe', 'pipe'],
    // Own process group: stop() can find every host process the guest kernel forked.
    detached: true,
    cwd: work,
    // UML's memory backing file goes to TMPDIR: keep it in the temp dir we remove.
    env: { ...process.env, TMPDIR: work },
  });
  const pid = child.pid;
  if (pid === undefined) {
    rmSync(work, { recursive: true, force: true });
    throw new Error('linux.uml could not be spawned');
  }
  const unguard = guardUntilStopped(pid, () => rmSync(work, { recursive: true, force: true }));

  const consoleLog = new LineLog('UML console');
  const pppdLog = new LineLog('pppd log');
  consoleLog.follow(child.stdout!);
  consoleLog.follow(child.stderr!);
  const serial = socketAt(child, 3);
  // Writing after the guest died fails with EPIPE: the client's own listeners see it; this one
  // only keeps an unobserved error from crashing the test process.
  serial.on('error', () => {});
  pppdLog.follow(socketAt(child, 4));
  const control = socketAt(child, 5);
  // The control tty echoes until init turns echo off; nothing else comes back on it.
  control.on('data', () => {});
  control.on('error', () => {});
  child.on('exit', (code, sig) => {
    // Let the pipes drain what the guest wrote last before failing waits.
    setTimeout(() => {
      const why = `linux.uml exited (${sig ?? code})`;
      consoleLog.end(why);
      pppdLog.end(why);
    }, 200);
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      try {
        control.destroy();
        await endProcessTree(child, { graceMs: 5000, group: true, order: 'root' });
      } finally {
        serial.destroy();
        for (const s of child.stdio) s?.destroy();
        unguard();
        rmSync(work, { recursive: true, force: true });
      }
    })();
    return stopping;
  };

  let ctlSeq = 0;
  const markers = (prefix: string) => consoleLog.lines.filter((l) => l.startsWith(MARK + prefix));

  const peer: UmlPeer = {
    serial,
    pid,
    peerAddress: PEER,
    clientAddress: CLIENT,
    dns: [PEER],
    user,
    password,
    bootMs: 0,
    pppdLog: () => pppdLog.text(),
    consoleLog: () => consoleLog.text(),
    logMark: () => pppdLog.lines.length,
    waitForLog: (re, timeoutMs, from = 0) => pppdLog.waitFor(re, timeoutMs, from),
    sessions: () => markers('PPPD-START ').length,
    killPppd: async (sig = 'TERM') => {
      if (stopping) throw new Error('the UML peer is stopped');
      const seq = ++ctlSeq;
      const from = consoleLog.lines.length;
      control.write(`${seq} kill-pppd ${sig}\n`);
      const ack = await consoleLog.waitFor(new RegExp(`^${MARK}CTL ${seq} `), 10_000, from);
      const session = /killed (\d+)$/.exec(ack)?.[1];
      if (session === undefined) throw new Error(`pppd was not killed: ${ack}`);
      // After TERM pppd sends Terminate-Requests and waits for an Ack: ~6 s with a mute client.
      await consoleLog.waitFor(new RegExp(`^${MARK}PPPD-EXIT ${session} `), 20_000);
    },
    stop,
  };

  try {
    peer.bootMs = await ready(child, consoleLog, pppdLog, t0, bootTimeoutMs);
  } catch (err) {
    await stop();
    const tail = consoleLog.lines.slice(-30).join('\n');
    throw new Error(`the UML peer did not become ready: ${(err as Error).message}\nconsole:\n${tail}`);
  }
  return peer;
}
