import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { LineLog } from './line-log.js';
import { which } from './peers.js';
import { endProcessTree, guardUntilStopped } from './proc.js';
import { shrinkSendBuffer } from './sockbuf.js';

/**
 * Starting and ending one linux.uml process: the root filesystem is the host's, read-only
 * (hostfs); `initPath` is PID 1. Shared by the PPP peer (uml.ts) and the kernel client guest
 * (uml-client.ts).
 *
 * Host fds of the linux.uml process: 1, 2 = console (kernel + init) -> `console`;
 * 3 = ttyS0 -> `serial`; 4 = tty1 -> `tty1` (pppd's logfd); 5 = ttyS1 -> `control` (only with
 * `control: true`; what the guest writes back on it -> `controlLog`).
 */
export interface UmlProcess {
  child: ChildProcess;
  pid: number;
  /** The guest's /dev/ttyS0, a UNIX socket pair end. */
  serial: Socket;
  console: LineLog;
  tty1: LineLog;
  control: Socket | undefined;
  controlLog: LineLog | undefined;
  /** Ends the guest and every process it left, removes `work`. Idempotent. */
  stop(): Promise<void>;
  stopping(): boolean;
}

function socketAt(child: ChildProcess, fd: number): Socket {
  const s = child.stdio[fd];
  if (!(s instanceof Socket)) throw new Error(`linux.uml fd ${fd} is not a socket`);
  return s;
}

export function launchUml(o: {
  work: string;
  initPath: string;
  memMb: number;
  control: boolean;
  /** Names the logs in error messages. */
  name: string;
  /** SO_SNDBUF for the guest's end of the ttyS0 socket pair (see sockbuf.ts); default unchanged. */
  serialSendBuffer?: number | undefined;
}): UmlProcess {
  const { work } = o;
  const args = [
    `mem=${o.memMb}M`,
    'rootfstype=hostfs',
    'rootflags=/',
    'ro',
    `init=${o.initPath}`,
    // UML's pid file and management socket go to our temp dir, not ~/.uml.
    `uml_dir=${join(work, 'uml')}`,
    `umid=cellstack-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`,
    'ssl0=fd:3,fd:3',
    ...(o.control ? ['ssl1=fd:5,fd:5'] : []),
    'ssl=null',
    // Console (kernel + init) to stdout; tty1 (pppd's logfd) to fd 4.
    'con0=null,fd:1',
    'con1=null,fd:4',
    'con=null',
  ];
  const child = spawn(which('linux.uml')!, args, {
    // 'pipe' beyond fd 2 is a UNIX socket pair: a Duplex on our side.
    stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe', o.control ? 'pipe' : 'ignore'],
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
  if (o.serialSendBuffer !== undefined) {
    try {
      shrinkSendBuffer(pid, 3, o.serialSendBuffer);
      // The other hidden queue: Node reads ahead into a paused socket's buffer up to its
      // highWaterMark (16 KiB) before it stops reading. A reader that applies backpressure
      // (a paced LineBridge) should stop the guest within a few hundred bytes, as a UART would.
      const state = (socketAt(child, 3) as unknown as { _readableState?: { highWaterMark: number } })
        ._readableState;
      if (state) state.highWaterMark = 256;
    } catch (err) {
      child.kill('SIGKILL');
      unguard();
      rmSync(work, { recursive: true, force: true });
      throw err;
    }
  }
  const consoleLog = new LineLog(`${o.name} console`);
  const tty1 = new LineLog(`${o.name} pppd log`);
  consoleLog.follow(child.stdout!);
  consoleLog.follow(child.stderr!);
  const serial = socketAt(child, 3);
  // Writing after the guest died fails with EPIPE: the client's own listeners see it; this one
  // only keeps an unobserved error from crashing the test process.
  serial.on('error', () => {});
  tty1.follow(socketAt(child, 4));
  let control: Socket | undefined;
  let controlLog: LineLog | undefined;
  if (o.control) {
    control = socketAt(child, 5);
    controlLog = new LineLog(`${o.name} control`);
    // The control tty echoes until init turns echo off; commands are only sent after that.
    controlLog.follow(control);
  }
  child.on('exit', (code, sig) => {
    // Let the pipes drain what the guest wrote last before failing waits.
    setTimeout(() => {
      const why = `linux.uml exited (${sig ?? code})`;
      consoleLog.end(why);
      tty1.end(why);
      controlLog?.end(why);
    }, 200);
  });
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      try {
        control?.destroy();
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
  return {
    child,
    pid,
    serial,
    console: consoleLog,
    tty1,
    control,
    controlLog,
    stop,
    stopping: () => stopping !== undefined,
  };
}
