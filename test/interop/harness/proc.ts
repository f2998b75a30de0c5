import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * Ending the process trees the harness starts, by PID. A peer's helpers may leave the process
 * group (slirp is started with setsid) or outlive their parent (UML's per-guest-process host
 * processes), so a tree is collected from /proc before anything is signalled: once a parent
 * dies, its orphans are reparented and can no longer be told apart from anyone else's.
 */

interface ProcStat {
  state: string;
  ppid: number;
  pgrp: number;
  /** Start time in clock ticks since boot: with the PID, identifies one process across PID reuse. */
  start: string;
}

function procStat(pid: number): ProcStat | undefined {
  let s: string;
  try {
    s = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
  const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
  const [state, ppid, pgrp] = rest;
  const start = rest[19];
  if (state === undefined || ppid === undefined || pgrp === undefined || start === undefined)
    return undefined;
  return { state, ppid: Number(ppid), pgrp: Number(pgrp), start };
}

function allStats(): Map<number, ProcStat> {
  const out = new Map<number, ProcStat>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = procStat(Number(name));
    if (st) out.set(Number(name), st);
  }
  return out;
}

/** A process as seen once: PID plus start time, so a reused PID is never signalled. */
export interface ProcRef {
  pid: number;
  start: string;
}

/**
 * `root` and everything below it (by parent PID), plus every member of the process group
 * `root` leads when `group` is set. Zombies are left out: they are already dead.
 */
export function processTree(root: number, group = false): ProcRef[] {
  const stats = allStats();
  const found = new Map<number, string>();
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    const st = stats.get(pid);
    if (!st || found.has(pid)) continue;
    if (st.state !== 'Z') found.set(pid, st.start);
    for (const [child, cst] of stats) if (cst.ppid === pid) queue.push(child);
  }
  if (group) {
    for (const [pid, st] of stats) if (st.pgrp === root && st.state !== 'Z') found.set(pid, st.start);
  }
  return [...found].map(([pid, start]) => ({ pid, start }));
}

/** True while the process exists, is not a zombie and is the same one that was seen. */
export function alive(p: ProcRef | number): boolean {
  const ref = typeof p === 'number' ? { pid: p, start: undefined } : p;
  const st = procStat(ref.pid);
  if (!st || st.state === 'Z') return false;
  return ref.start === undefined || st.start === ref.start;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function signal(p: ProcRef, sig: NodeJS.Signals): void {
  if (!alive(p)) return;
  try {
    process.kill(p.pid, sig);
  } catch {
    // exited meanwhile
  }
}

/** Resolves when `child` has exited, or after `ms`; true if it exited. */
export function exited(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, ms);
    const onExit = () => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

export interface EndOptions {
  /** How long the polite signal gets before SIGKILL. */
  graceMs: number;
  /** Also end members of the process group `child` leads (it was spawned detached). */
  group: boolean;
  /**
   * 'root': SIGTERM to `child` only, which ends its own children (a UML kernel).
   * 'leaves': SIGTERM to the processes without children first, so that each parent reaps its
   * child and exits in turn (socat exits when slirp does), instead of leaving orphans for PID 1
   * to reap: some container inits reap late, and zombies look like leaks.
   */
  order: 'root' | 'leaves';
}

/**
 * Polite signal first (see EndOptions.order), up to `graceMs` for `child` to exit, then SIGKILL
 * to whatever is left of its tree, re-scanning for a bounded time because a dying parent may
 * still fork. Never signals a process it did not find under `child`.
 */
export async function endProcessTree(child: ChildProcess, o: EndOptions): Promise<void> {
  const { graceMs, group } = o;
  const pid = child.pid;
  if (pid === undefined) return;
  const known = new Map<number, ProcRef>();
  const rescan = () => {
    for (const p of processTree(pid, group)) if (!known.has(p.pid)) known.set(p.pid, p);
    // A child of a known process that was started after the last scan.
    for (const p of [...known.values()]) {
      if (p.pid === pid) continue;
      for (const q of processTree(p.pid)) if (!known.has(q.pid)) known.set(q.pid, q);
    }
  };
  rescan();
  if (o.order === 'leaves') {
    const parents = new Set([...known.keys()].map((p) => procStat(p)?.ppid));
    for (const p of known.values()) if (!parents.has(p.pid)) signal(p, 'SIGTERM');
  } else {
    const root = known.get(pid);
    if (root) signal(root, 'SIGTERM');
  }
  await exited(child, graceMs);
  const deadline = Date.now() + 5000;
  for (;;) {
    rescan();
    const live = [...known.values()].filter(alive);
    if (live.length === 0 || Date.now() > deadline) break;
    for (const p of live) signal(p, 'SIGKILL');
    await sleep(50);
  }
  if (!(await exited(child, 2000))) throw new Error(`process ${pid} did not exit after SIGKILL`);
}

/** Trees still running, with what to remove after them; see guardUntilStopped. */
const guarded = new Map<number, () => void>();
let exitHook = false;

/**
 * Makes sure the tree under `pid` dies with the test process even if stop() is never called
 * (a crashed test, process.exit): on 'exit' every process found under it gets SIGKILL and
 * `cleanup` runs (both synchronous, as 'exit' handlers must be). Returns the unregister call
 * for stop().
 */
export function guardUntilStopped(pid: number, cleanup: () => void): () => void {
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const [root, clean] of guarded) {
        for (const p of processTree(root, true)) signal(p, 'SIGKILL');
        clean();
      }
    });
  }
  guarded.set(pid, cleanup);
  return () => guarded.delete(pid);
}

/**
 * CPU seconds (user + system) used so far by `root`'s tree and process group, including
 * what they collected from children that have exited (cutime/cstime). Linux clock ticks are
 * 100 per second on every kernel the harness runs on (USER_HZ).
 */
export function treeCpuSeconds(root: number, group = true): number {
  let ticks = 0;
  for (const p of processTree(root, group)) {
    let s: string;
    try {
      s = readFileSync(`/proc/${p.pid}/stat`, 'latin1');
    } catch {
      continue;
    }
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // Fields 14-17 of stat(5): utime stime cutime cstime, after the 2 fields before ')'.
    for (const i of [11, 12, 13, 14]) ticks += Number(rest[i] ?? 0);
  }
  return ticks / 100;
}
