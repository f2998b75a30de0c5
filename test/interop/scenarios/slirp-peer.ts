import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSerialPort } from '../../../src/modem/port.js';
import { LineLog } from '../harness/line-log.js';
import { which } from '../harness/peers.js';
import { alive, endProcessTree, guardUntilStopped } from '../harness/proc.js';
import { type SlirpPeer, slirpProblem, startSlirpPeer } from '../harness/slirp.js';
import { delay } from './client.js';
import { startEchoServer } from './echo-server.js';
import type { PeerUnderTest } from './peer.js';

/**
 * slirp on a pty in its private network namespace (harness/slirp.ts). Its 10.0.2.2 is that
 * namespace's 127.0.0.1, not ours, so a server in the test process is not reachable there as
 * is: a socat in slirp's namespace (nsenter --net) listens on its 127.0.0.1:ECHO_PORT and
 * relays each connection to the test's `net` echo server on a Unix socket (paths cross
 * network namespaces). slirp's DNS alias 10.0.2.3 forwards to the namespace's resolv.conf
 * server, which the harness makes 10.0.2.3 on lo, where nothing answers: a dnsmasq started
 * there with a fixed zone (`slirp.test`, nothing forwarded) makes slirp's DNS a real one, as
 * it is on a machine with a resolver, without any network.
 */
export const SLIRP_ECHO_PORT = 7007;
export const SLIRP_ZONE = 'slirp.test';

/** Why the slirp scenarios cannot run here (the slirp peer's own needs, plus nsenter and dnsmasq). */
export function slirpScenarioProblem(): string | undefined {
  const p = slirpProblem();
  if (p) return p;
  if (!which('nsenter')) return 'nsenter is not installed (apt-get install util-linux)';
  if (!which('dnsmasq')) return 'dnsmasq is not installed (apt-get install dnsmasq-base)';
  return undefined;
}

interface NsProcess {
  child: ChildProcess;
  log: LineLog;
  stop(): Promise<void>;
}

/** Runs `argv` in the network namespace of `pid` (nsenter --net), waits for `ready` on its output. */
async function inNetns(pid: number, argv: string[], ready: RegExp, name: string): Promise<NsProcess> {
  const child = spawn(which('nsenter')!, [`--net=/proc/${pid}/ns/net`, '--', ...argv], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  if (child.pid === undefined) throw new Error(`${name} could not be spawned`);
  const unguard = guardUntilStopped(child.pid, () => undefined);
  const log = new LineLog(name);
  log.follow(child.stdout!);
  log.follow(child.stderr!);
  child.on('exit', (code, sig) => log.end(`${name} exited (${sig ?? code})`));
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= endProcessTree(child, { graceMs: 2000, group: true, order: 'leaves' }).finally(() => {
      child.stdout?.destroy();
      child.stderr?.destroy();
      unguard();
    });
    return stopping;
  };
  try {
    await log.waitFor(ready, 5000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { child, log, stop };
}

export async function startSlirpUnderTest(): Promise<PeerUnderTest> {
  const work = mkdtempSync(join(tmpdir(), 'cellstack-alike-slirp-'));
  const sock = join(work, 'echo.sock');
  const echo = await startEchoServer({ path: sock });
  const started: { stop(): Promise<void> }[] = [];
  let p: SlirpPeer | undefined;
  const stopAll = async (): Promise<void> => {
    for (const s of started.splice(0).reverse()) await s.stop().catch(() => undefined);
    await p?.stop();
    await echo.close();
    rmSync(work, { recursive: true, force: true });
  };
  try {
    p = await startSlirpPeer({ auth: 'none' });
    // -t 30: after one side's EOF socat keeps relaying the other way (the echo's tail) up to 30 s.
    started.push(
      await inNetns(
        p.pid,
        [
          which('socat')!,
          '-d',
          '-d',
          '-t',
          '30',
          `TCP4-LISTEN:${SLIRP_ECHO_PORT},bind=127.0.0.1,reuseaddr,fork`,
          `UNIX-CONNECT:${sock}`,
        ],
        /listening on/,
        'slirp echo relay',
      ),
    );
    started.push(
      await inNetns(
        p.pid,
        [
          which('dnsmasq')!,
          '--keep-in-foreground',
          '--no-resolv',
          '--no-hosts',
          '--no-poll',
          '--listen-address=10.0.2.3',
          '--bind-interfaces',
          '--port=53',
          '--user=root',
          '--pid-file=',
          '--log-facility=-',
          '--log-queries',
          `--local=/${SLIRP_ZONE}/`,
          `--host-record=echo.${SLIRP_ZONE},10.0.2.2`,
        ],
        /started, version/,
        'slirp dnsmasq',
      ),
    );
  } catch (err) {
    await stopAll();
    throw err;
  }
  const slirp = p;
  let stopped = false;
  return {
    name: 'slirp',
    openLine: async () => {
      const port = await openSerialPort({ path: slirp.path });
      return { stream: port.stream, close: () => port.close() };
    },
    // slirp asks us to name its address (IPCP 0.0.0.0): its host alias.
    linkOptions: { ipcp: { peerAddressHint: slirp.hostAddress } },
    expected: { localAddress: slirp.clientAddress, peerAddress: slirp.hostAddress, dns: [slirp.dnsAddress] },
    pingAddress: slirp.hostAddress,
    echo: { host: slirp.hostAddress, port: SLIRP_ECHO_PORT },
    // Nothing listens on port 1 of the namespace's 127.0.0.1.
    closedPort: { host: slirp.hostAddress, port: 1 },
    dns: { name: `echo.${SLIRP_ZONE}`, address: slirp.hostAddress, unknown: `no-such-host.${SLIRP_ZONE}` },
    sessionEnded: async (timeoutMs) => {
      // `ppp_exit`: slirp exits (about 3.5 s) after its PPP session ends, socat and the pty with it.
      const t0 = Date.now();
      while (alive(slirp.pid) && Date.now() - t0 < timeoutMs) await delay(100);
      if (alive(slirp.pid)) throw new Error(`slirp still runs ${timeoutMs} ms after the Terminate`);
      return `slirp exited after ${Date.now() - t0} ms; log: ${slirp.log().trim().split('\n').slice(-3).join(' | ')}`;
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await stopAll();
    },
  };
}
