import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { treeCpuSeconds } from './proc.js';
import { shQuote } from './shell.js';
import { GUEST_DIR, initPrologue, MARK, PPP_MODULES } from './uml-guest.js';
import { umlKernelVersion, umlProblem } from './uml-host.js';
import { launchUml } from './uml-launch.js';

/**
 * A second UML guest whose pppd is a PPP *client* (`noipdefault`, `novj noccp`,
 * `lcp-echo-interval 0`): the Linux kernel's TCP as the client of a UmlPeer, for the
 * kernel-to-kernel anchor (k2k.ts), for checking the peer's services with a known-good
 * client, and as the kernel's side of bench/vj-wire.bench.ts (`vj: true`, `sysctls`). Join its
 * `serial` to the peer's with a LineBridge. After the link is up it runs one fixed job of
 * guest-client.py, then powers off.
 */
export type UmlClientJob =
  | { kind: 'xfer'; dir: 'up' | 'down'; bytes: number; limitS: number }
  | { kind: 'probe'; services: string[] }
  /**
   * Request/response against `port` (the peer's `echo`: 7): TCP_NODELAY, send `size` bytes,
   * read exactly `size` back, `exchanges` times (at most `limitS`, default 60 s). Prints
   * `PINGPONG-START`, then `PINGPONG count= secs= ok=0|1`.
   */
  | { kind: 'pingpong'; port: number; exchanges: number; size: number; limitS?: number }
  | { kind: 'idle' };

export interface UmlClientOptions {
  job: UmlClientJob;
  /** Listeners on the client address for the peer's connectFromGuest(): 'PORT:greet' or 'PORT:echo'. */
  listen?: string[];
  /** The peer's test CA (UmlPeer.certs.ca), for the TLS probes. */
  caFile?: string;
  /** Extra pppd words. */
  pppdOptions?: string[];
  /**
   * Van Jacobson TCP/IP header compression (RFC 1144): true leaves pppd's default (ask for it
   * and accept it); false (default) passes `novj`.
   */
  vj?: boolean;
  /**
   * Kernel settings written before pppd starts, e.g. `{ 'net.ipv4.tcp_timestamps': '0' }`:
   * the key's dots become slashes under /proc/sys. Keys `[a-z0-9_.]`, values `[A-Za-z0-9 _.-]`.
   */
  sysctls?: Record<string, string>;
  /** SO_SNDBUF of the guest's end of its serial socket pair (see UmlPeerOptions.serialSendBuffer). */
  serialSendBuffer?: number;
  memMb?: number;
  /** After the job, keep the link up (until stop() or the lifetime) instead of hanging up and powering off. */
  stayUp?: boolean;
  /** The guest powers off after this long whatever happens (default 10 min). */
  lifetimeMs?: number;
}

export interface UmlClient {
  serial: Duplex;
  pid: number;
  consoleLog(): string;
  pppdLog(): string;
  /** The first console line from `from` matching `re`. */
  waitForConsole(re: RegExp, timeoutMs: number, from?: number): Promise<string>;
  /** CPU seconds of the guest's host processes so far. */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

const PEER = '10.64.0.1';
const CLIENT = '10.64.0.2';
const PYTHON = '/usr/bin/python3';

function jobArgs(job: UmlClientJob): string[] | undefined {
  switch (job.kind) {
    case 'xfer':
      return ['xfer', job.dir, PEER, String(job.bytes), String(job.limitS)];
    case 'probe':
      return ['probe', PEER, `${GUEST_DIR}/ca.crt`, job.services.join(',')];
    case 'pingpong':
      for (const n of [job.port, job.exchanges, job.size]) {
        if (!Number.isInteger(n) || n < 1) throw new Error(`bad pingpong job ${JSON.stringify(job)}`);
      }
      return [
        'pingpong',
        PEER,
        String(job.port),
        String(job.exchanges),
        String(job.size),
        String(job.limitS ?? 60),
      ];
    case 'idle':
      return undefined;
  }
}

export function clientInit(
  o: UmlClientOptions & { hostDir: string; kernelVersion: string; lifetimeS: number },
): string {
  for (const l of o.listen ?? []) if (!/^\d{1,5}:(greet|echo)$/.test(l)) throw new Error(`bad listener ${l}`);
  const py = (args: string[]) =>
    [PYTHON, '-u', `${GUEST_DIR}/guest-client.py`, ...args].map(shQuote).join(' ');
  const pppd = [
    '/dev/ttyS0',
    '115200',
    'local',
    'nocrtscts',
    'debug',
    'logfd',
    '3',
    ...(o.vj ? [] : ['novj']),
    'noccp',
    'lcp-echo-interval',
    '0',
    'updetach',
    'noauth',
    'noipdefault',
    'ipcp-accept-local',
    'ipcp-accept-remote',
    'name',
    'cellstack-client',
    ...(o.pppdOptions ?? []),
  ];
  const job = jobArgs(o.job);
  const listen = o.listen ?? [];
  const sysctls = Object.entries(o.sysctls ?? {}).map(([k, v]) => {
    if (!/^[a-z0-9_]+(\.[a-z0-9_]+)+$/.test(k) || !/^[A-Za-z0-9 _.-]{1,64}$/.test(v)) {
      throw new Error(`bad sysctl ${k}=${v}`);
    }
    const path = `/proc/sys/${k.replaceAll('.', '/')}`;
    return `echo ${shQuote(v)} > ${path} && echo "${MARK}SYSCTL ${k}=$(cat ${path})" || echo "${MARK}ERROR sysctl ${k}"\n`;
  });
  return `${initPrologue({ hostDir: o.hostDir, kernelVersion: o.kernelVersion, modules: PPP_MODULES, hostname: 'cellstack-client', who: 'the cellstack kernel client guest' })}${sysctls.join('')}(sleep ${o.lifetimeS}; echo "${MARK}LIFETIME"; poweroff -f -f) &
${listen.length > 0 ? `${py(['listen', CLIENT, listen.join(',')])} &\n` : ''}echo "${MARK}PPPD-START"
pppd ${pppd.map(shQuote).join(' ')} 3>/dev/tty1 || { echo "${MARK}ERROR pppd client failed $?"; poweroff -f -f; }
echo "${MARK}LINK-UP $(cut -d' ' -f1 /proc/uptime)"
${
  job
    ? `# Let the peer's pppd bring its ppp0 up (a few ms after its last ConfAck) before the first SYN.
sleep 1
${py(job)}
echo "${MARK}ALLDONE"
${
  o.stayUp
    ? 'while :; do sleep 3600; done'
    : `[ -f /run/ppp0.pid ] && kill $(head -n 1 /run/ppp0.pid) 2>/dev/null; sleep 0.5
poweroff -f -f`
}`
    : 'while :; do sleep 3600; done'
}
`;
}

export async function startUmlClient(o: UmlClientOptions): Promise<UmlClient> {
  const problem = umlProblem();
  if (problem) throw new Error(`cannot start the UML client: ${problem}`);
  const work = mkdtempSync(join(tmpdir(), 'cellstack-umlc-'));
  let initPath: string;
  try {
    const hostDir = join(work, 'guest');
    mkdirSync(join(hostDir, 'ppp'), { recursive: true });
    writeFileSync(join(hostDir, 'ppp', 'options'), '');
    writeFileSync(
      join(hostDir, 'guest-client.py'),
      readFileSync(new URL('./guest-client.py', import.meta.url), 'utf8'),
    );
    // The peer's temp dir is under /tmp, which the guest covers with a tmpfs: copy the CA.
    if (o.caFile) copyFileSync(o.caFile, join(hostDir, 'ca.crt'));
    initPath = join(work, 'init.sh');
    writeFileSync(
      initPath,
      clientInit({
        ...o,
        hostDir,
        kernelVersion: umlKernelVersion()!,
        lifetimeS: Math.ceil((o.lifetimeMs ?? 10 * 60_000) / 1000),
      }),
    );
    chmodSync(initPath, 0o755);
    mkdirSync(join(work, 'uml'));
  } catch (err) {
    rmSync(work, { recursive: true, force: true });
    throw err;
  }
  const uml = launchUml({
    work,
    initPath,
    memMb: o.memMb ?? 128,
    control: false,
    name: 'UML client',
    serialSendBuffer: o.serialSendBuffer,
  });
  return {
    serial: uml.serial,
    pid: uml.pid,
    consoleLog: () => uml.console.text(),
    pppdLog: () => uml.tty1.text(),
    waitForConsole: (re, timeoutMs, from = 0) => uml.console.waitFor(re, timeoutMs, from),
    cpuSeconds: () => treeCpuSeconds(uml.pid),
    stop: uml.stop,
  };
}
