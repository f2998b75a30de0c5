import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LineLog } from './line-log.js';
import { which } from './peers.js';
import { secretWord } from './ppp-secrets.js';
import { endProcessTree, guardUntilStopped } from './proc.js';
import { shQuote } from './shell.js';

/**
 * slirp (`slirp-fullbolt -P`: PPP code derived from an old pppd, and a BSD-derived TCP/IP
 * that NATs to host sockets) as a second, independent PPP peer, on a pty the client opens
 * like a modem's data port.
 *
 * slirp runs in a private network and mount namespace whose only interface is lo, so its NAT
 * reaches nothing outside: 10.0.2.2 (slirp's alias for "the host") is that namespace's
 * 127.0.0.1, where nothing listens yet, and 10.0.2.3 (its DNS alias) forwards to the
 * namespace's private resolv.conf, which names 10.0.2.3 itself on lo. The test process stays
 * in the main namespace: the pty is the only way in.
 *
 * One PPP session per peer: slirp runs with `ppp_exit`, so when the session ends slirp exits,
 * socat with it, and the pty disappears. Closing and reopening the pty without ending the
 * session is fine (socat keeps running while slirp does). slirp never sends LCP first.
 */

export interface SlirpPeerOptions {
  /** 'none' (default), or slirp's `+pap` / `+chap` with the secret below. */
  auth?: 'none' | 'pap' | 'chap';
  /** Default 'cellstack' / 'cellstack-secret'. */
  user?: string;
  password?: string;
  /** slirp's `mtu` (its own default is 552); it also sets the MRU slirp asks for. Default 1500. */
  mtu?: number;
  /** slirp is ended after this long whatever happens (default 30 min). */
  lifetimeMs?: number;
}

export interface SlirpPeer {
  /** A pty (symlink to /dev/pts/N): open it raw, e.g. with serialport. */
  path: string;
  /** The process we started (`timeout` around socat, in the private namespaces). */
  pid: number;
  hostAddress: '10.0.2.2';
  dnsAddress: '10.0.2.3';
  clientAddress: '10.0.2.15';
  user: string;
  password: string;
  /** Milliseconds from spawn to slirp's "SLiRP Ready". */
  bootMs: number;
  /** slirp's banner and messages (its stderr; the pty carries only PPP) and socat's notices. */
  log(): string;
  waitForLog(re: RegExp, timeoutMs: number): Promise<string>;
  /** Ends socat, slirp and the namespaces with them; removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 10_000;

/** Why a slirp peer cannot run here, or undefined if it can. */
export function slirpProblem(): string | undefined {
  if (process.platform !== 'linux') return 'the slirp peer needs Linux network namespaces';
  for (const [bin, pkg] of [
    ['slirp-fullbolt', 'slirp'],
    ['socat', 'socat'],
    ['unshare', 'util-linux'],
    ['mount', 'mount'],
    ['timeout', 'coreutils'],
    ['ip', 'iproute2'],
  ] as const) {
    if (!which(bin)) return `${bin} is not installed (apt-get install ${pkg})`;
  }
  if (process.getuid?.() !== 0) return 'a private network namespace (unshare --net) needs root';
  return undefined;
}

function slirprc(o: { auth: 'none' | 'pap' | 'chap'; mtu: number }): string {
  // Options go in ~/.slirprc rather than on the command line: socat's EXEC splits its command
  // at spaces and ignores quotes, so `"mtu 1500"` would reach slirp as two bad options.
  const lines = ['-P', `mtu ${o.mtu}`, 'ppp_exit'];
  if (o.auth === 'pap') lines.push('+pap');
  if (o.auth === 'chap') lines.push('+chap');
  return lines.join('\n') + '\n';
}

export async function startSlirpPeer(options: SlirpPeerOptions = {}): Promise<SlirpPeer> {
  const problem = slirpProblem();
  if (problem) throw new Error(`cannot start the slirp peer: ${problem}`);
  const auth = options.auth ?? 'none';
  const user = secretWord('user', options.user ?? 'cellstack');
  const password = secretWord('password', options.password ?? 'cellstack-secret');
  const mtu = options.mtu ?? 1500;
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > 1500)
    throw new Error(`slirp mtu must be 68..1500, not ${mtu}`);
  const lifetimeS = Math.ceil((options.lifetimeMs ?? 30 * 60_000) / 1000);

  const work = mkdtempSync(join(tmpdir(), 'cellstack-slirp-'));
  // socat address syntax treats ',', ':' and spaces specially; mkdtemp under a sane TMPDIR has none.
  if (!/^[\w./-]+$/.test(work)) {
    rmSync(work, { recursive: true, force: true });
    throw new Error(`temp dir path unusable in a socat address: ${work}`);
  }
  const home = join(work, 'home');
  mkdirSync(home, { mode: 0o700 });
  writeFileSync(join(home, '.slirprc'), slirprc({ auth, mtu }));
  const secret = `${user} * ${password}\n`;
  writeFileSync(join(home, '.pap-secrets'), auth === 'pap' ? secret : '', { mode: 0o600 });
  writeFileSync(join(home, '.chap-secrets'), auth === 'chap' ? secret : '', { mode: 0o600 });
  // slirp offers its resolv.conf nameserver to the client in IPCP: make that its own DNS alias.
  writeFileSync(join(work, 'resolv.conf'), 'nameserver 10.0.2.3\n');
  const path = join(work, 'tty');

  const script = [
    'set -e',
    // unshare made this namespace; refuse to go on if it somehow holds anything but lo.
    `[ "$(ip -o link show | wc -l)" = 1 ] || { echo 'CELLSTACK@@ERROR not in a private network namespace' >&2; exit 1; }`,
    'ip link set lo up',
    'ip addr add 10.0.2.3/32 dev lo',
    `mount --bind ${shQuote(join(work, 'resolv.conf'))} /etc/resolv.conf`,
    `export HOME=${shQuote(home)}`,
    'cd "$HOME"',
    // slirp needs its pty as controlling tty (setsid,ctty); its stderr stays ours, so the banner
    // lands in log() and the client sees nothing but PPP.
    `exec timeout -k 5 ${lifetimeS} socat -d -d PTY,link=${path},raw,echo=0 EXEC:slirp-fullbolt,pty,setsid,ctty,raw,echo=0`,
  ].join('\n');
  const t0 = Date.now();
  const child = spawn(
    which('unshare')!,
    ['--net', '--mount', '--propagation', 'private', '--', '/bin/sh', '-c', script],
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  const pid = child.pid;
  if (pid === undefined) {
    rmSync(work, { recursive: true, force: true });
    throw new Error('unshare could not be spawned');
  }
  const unguard = guardUntilStopped(pid, () => rmSync(work, { recursive: true, force: true }));
  const log = new LineLog('slirp log');
  log.follow(child.stdout!);
  log.follow(child.stderr!);
  child.on('exit', (code, sig) => setTimeout(() => log.end(`slirp's socat exited (${sig ?? code})`), 100));

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      try {
        // slirp is in a session of its own (setsid): found through the tree, not the group.
        await endProcessTree(child, { graceMs: 3000, group: true, order: 'leaves' });
      } finally {
        child.stdout?.destroy();
        child.stderr?.destroy();
        unguard();
        rmSync(work, { recursive: true, force: true });
      }
    })();
    return stopping;
  };

  let bootMs: number;
  try {
    await log.waitFor(/SLiRP Ready/, READY_TIMEOUT_MS);
    if (!existsSync(path)) throw new Error(`socat made no pty at ${path}`);
    const errors = log.lines.filter((l) => /^Error|CELLSTACK@@ERROR/.test(l));
    if (errors.length > 0) throw new Error(`slirp rejected its options: ${errors.join('; ')}`);
    bootMs = Date.now() - t0;
  } catch (err) {
    await stop();
    throw new Error(`the slirp peer did not become ready: ${(err as Error).message}`);
  }
  return {
    path,
    pid,
    hostAddress: '10.0.2.2',
    dnsAddress: '10.0.2.3',
    clientAddress: '10.0.2.15',
    user,
    password,
    bootMs,
    log: () => log.text(),
    waitForLog: (re, timeoutMs) => log.waitFor(re, timeoutMs),
    stop,
  };
}
