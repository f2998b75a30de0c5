import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { makeTestCerts, type PeerCerts } from './certs.js';
import type { LineLog } from './line-log.js';
import { type TcpStats, tcpStatsFrom } from './net-stats.js';
import { GUEST_DIR, MARK, NETEM_SPEC_RE } from './uml-guest.js';
import { umlKernelVersion, umlProblem, writeGuest } from './uml-host.js';
import { launchUml } from './uml-launch.js';
import { TLS_SERVICES, type TlsMatrixServer, type UmlService } from './uml-services.js';

/**
 * A real Linux pppd (and the Linux kernel's PPP and IP stack) as the client's peer, inside
 * user-mode Linux. The guest's /dev/ttyS0 is one end of a UNIX socket pair; the other end is
 * `serial`, which the test hands to the PPP client as its serial line (directly, or through a
 * LineBridge from line.ts for baud pacing and corruption). See uml-guest.ts for what runs in
 * the guest.
 */

export type { PeerCerts } from './certs.js';
export type { TcpStats } from './net-stats.js';
export { tcpStatsDelta } from './net-stats.js';
export { umlProblem } from './uml-host.js';
export type { TlsMatrixServer, UmlService } from './uml-services.js';
export { SERVICE_PORTS } from './uml-services.js';

/** Guest path of the harness's test certificates (ca.crt, server.crt/.key, client.crt/.key). */
export const GUEST_CERTS_DIR = `${GUEST_DIR}/certs`;
/** Guest path of `extraFiles`. */
export const GUEST_FILES_DIR = `${GUEST_DIR}/files`;
const EXTRA_FILE_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export interface UmlPeerOptions {
  /** 'none' (default) = pppd `noauth`; else `auth require-pap|require-chap` with the secret. */
  auth?: 'none' | 'pap' | 'chap';
  /** Default 'cellstack' / 'cellstack-secret': the only pair the guest's secrets accept. */
  user?: string;
  password?: string;
  /** Appended to pppd's command line, e.g. ['novj']. */
  pppdOptions?: string[];
  /**
   * The DNS servers pppd gives in IPCP (`ms-dns`, at most two: primary, secondary). Default
   * the peer's own address (dnsmasq when the `dns` service runs). An address that is neither
   * the peer's nor the client's is silent: the guest drops what is sent to it.
   */
  dnsServers?: string[];
  /** pppd keepalive; defaults 30 s / 4 failures. 0 disables the echo requests. */
  lcpEchoInterval?: number;
  lcpEchoFailure?: number;
  /**
   * tc netem spec applied on ppp0 in both directions (ingress through ifb0) from the start of
   * every session, e.g. 'delay 300ms loss 2%'. setNetem() changes it at run time.
   */
  netem?: string;
  /**
   * Services bound to the peer address (default none), by name: 'echo' (tcp/udp 7, also
   * starts 'discard'), 'discard' (tcp/udp 9), 'chargen' (tcp 19), 'source' (tcp 5001), 'sink'
   * (tcp 5002), 'http' (tcp 8080), 'tls' (tcp 4433, openssl s_server -www -tls1_2),
   * 'tls-echo' (tcp 4434), 'hello-request' (tcp 4435, a plaintext HelloRequest to any
   * ClientHello), 'mqtt' (tcp 1883, mosquitto), 'mqtts' (tcp 8883, mosquitto + TLS),
   * 'mqtts-mutual' (tcp 8884, TLS with require_certificate), 'mqtts-alpn' (tcp 443, AWS IoT's
   * port 443: TLS that requires ALPN `x-amzn-mqtt-ca` and a client certificate, else a fatal
   * no_application_protocol alert; relays to mosquitto's 1883, which it starts; see
   * mqtt-alpn-relay.py), 'mqtt-sub' (a subscriber at the broker, see mqtt-sub.py), 'dns'
   * (udp/tcp 53, dnsmasq). See README.md.
   */
  services?: UmlService[];
  /** Extra `openssl s_server` words for 'tls', e.g. ['-cipher', 'ECDHE-RSA-AES128-GCM-SHA256']. */
  tlsServerOptions?: string[];
  /**
   * More TLS servers, each on a port of its own (openssl s_server or gnutls-serv with any
   * arguments): one boot serves a whole matrix of server configurations. Console lines
   * `[tls-<name>] ...`. Implies the test certificates (`certs`). See TlsMatrixServer.
   */
  tlsMatrix?: TlsMatrixServer[];
  /**
   * Files copied into the guest at GUEST_FILES_DIR/<name> (certificates, keys) before it
   * boots. Names `[A-Za-z0-9._-]`.
   */
  extraFiles?: Record<string, string | Uint8Array>;
  /** Make the test certificates even when no TLS service runs (`certs` is then set). */
  certs?: boolean;
  /** One pppd session, then the guest halts. Default: pppd restarts after each session (<= 100). */
  once?: boolean;
  /**
   * SO_SNDBUF of the guest's end of the serial socket pair. Set it (4096, as the rig does) when
   * pacing with a LineBridge: by default the guest can queue ~200 KiB in the socket, out of
   * the line's sight, which inflates its TCP's RTT to seconds at 115200 baud. See sockbuf.ts.
   */
  serialSendBuffer?: number;
  memMb?: number;
  bootTimeoutMs?: number;
  /** The guest powers itself off after this long whatever happens (default 30 min). */
  lifetimeMs?: number;
}

/** What connectFromGuest() saw: the guest's view of the connection it opened to us. */
export interface GuestConnectResult {
  /** Bytes the guest received before EOF. */
  bytes: number;
  /** SHA-256 (hex) of those bytes. */
  sha256: string;
  /** Up to the first 256 bytes received. */
  head: Buffer;
  /** The guest's local address:port (10.64.0.1:<ephemeral>). */
  from: string;
  /** Seconds from connect() to EOF, measured in the guest. */
  secs: number;
}

export interface GuestConnectOptions {
  /** Half-close (shutdown write) right after sending the payload. Default false. */
  halfClose?: boolean;
  /** The guest gives up after this long without EOF (whole seconds, default 30, max 600). */
  timeoutMs?: number;
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
  /** The per-run test CA and certificates (PEM paths on the host), when a TLS service runs or `certs`. Removed by stop(). */
  certs: PeerCerts | undefined;
  /** pppd's debug log so far, all sessions, one line per event (`sent [LCP ConfReq id=0x1 ...]`). */
  pppdLog(): string;
  /** Kernel, init (`CELLSTACK@@` markers) and service output. */
  consoleLog(): string;
  /** Number of pppd log lines so far: pass to waitForLog to ignore what came before. */
  logMark(): number;
  /** First pppd log line (from line `from`, default 0) matching `re`; rejects after `timeoutMs` with the log's tail. */
  waitForLog(re: RegExp, timeoutMs: number, from?: number): Promise<string>;
  /** Number of console lines so far: pass to waitForConsole to ignore what came before. */
  consoleMark(): number;
  /** First console line (from line `from`) matching `re`, e.g. a service's `[sink] OK bytes=...`. */
  waitForConsole(re: RegExp, timeoutMs: number, from?: number): Promise<string>;
  /** Signals the running pppd and resolves once it has exited (the guest then starts the next session unless `once`). */
  killPppd(signal?: 'TERM' | 'KILL'): Promise<void>;
  /** pppd sessions started so far (the first one is running once startUmlPeer resolves). */
  sessions(): number;
  /** The guest kernel's TCP counters (/proc/net/snmp + /proc/net/netstat), read now. */
  tcpStats(): Promise<TcpStats>;
  /**
   * Replaces the netem impairment on ppp0 (both directions) now and for later sessions;
   * null removes it. Resolves once tc has applied it (or saved it, between sessions).
   */
  setNetem(spec: string | null): Promise<void>;
  /**
   * Makes the guest open a TCP connection to `address:port` (our listener), send `payload`
   * (default the 29 bytes `cellstack connect-from-guest\n`, at most 1024 bytes), optionally
   * half-close, read until EOF, and report. Rejects if the guest cannot connect or sees no
   * EOF within the timeout.
   */
  connectFromGuest(
    port: number,
    address?: string,
    payload?: Uint8Array | string,
    options?: GuestConnectOptions,
  ): Promise<GuestConnectResult>;
  /**
   * Writes s_server's interactive `R` (renegotiate: a HelloRequest on its current connection)
   * to the stdin of the TLS matrix server on `port`, which must have `stdin: true`.
   */
  renegotiate(port: number): Promise<void>;
  /** Ends the guest and every process it left, removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

const MAX_SESSIONS = 100;
const PEER = '10.64.0.1';
const CLIENT = '10.64.0.2';
const MAX_PAYLOAD = 1024;

/**
 * Ready = the first pppd has opened ttyS0 and attached ppp0 (after the services listen).
 * Polled rather than awaited so that a pppd that exits at once (a bad option) or a guest that
 * dies fails the start right away instead of after the whole restart loop. Returns boot ms.
 */
async function ready(
  exitedNow: () => boolean,
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
    if (exitedNow()) throw new Error('linux.uml exited');
    if (Date.now() > t0 + timeoutMs) throw new Error(`timed out after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function startUmlPeer(options: UmlPeerOptions = {}): Promise<UmlPeer> {
  const problem = umlProblem();
  if (problem) throw new Error(`cannot start the UML peer: ${problem}`);
  if (options.netem !== undefined && !NETEM_SPEC_RE.test(options.netem)) {
    throw new Error(`netem spec has unexpected characters: ${JSON.stringify(options.netem)}`);
  }
  const user = options.user ?? 'cellstack';
  const password = options.password ?? 'cellstack-secret';
  const bootTimeoutMs = options.bootTimeoutMs ?? 60_000;
  const services = [...new Set(options.services ?? [])];
  const work = mkdtempSync(join(tmpdir(), 'cellstack-uml-'));
  let initPath: string;
  let certs: PeerCerts | undefined;
  try {
    initPath = writeGuest(work, {
      kernelVersion: umlKernelVersion()!,
      peerAddress: PEER,
      clientAddress: CLIENT,
      auth: options.auth ?? 'none',
      user,
      password,
      pppdOptions: options.pppdOptions ?? [],
      ...(options.dnsServers ? { dnsServers: options.dnsServers } : {}),
      lcpEchoInterval: options.lcpEchoInterval ?? 30,
      lcpEchoFailure: options.lcpEchoFailure ?? 4,
      netem: options.netem,
      services,
      once: options.once ?? false,
      maxSessions: MAX_SESSIONS,
      lifetimeS: Math.ceil((options.lifetimeMs ?? 30 * 60_000) / 1000),
      tlsServerOptions: options.tlsServerOptions ?? [],
      tlsMatrix: options.tlsMatrix ?? [],
    });
    // The guest copies work/guest at boot: the certificates must be there before it starts.
    const matrix = (options.tlsMatrix ?? []).length > 0;
    if (options.certs || matrix || services.some((s) => TLS_SERVICES.includes(s))) {
      certs = await makeTestCerts(join(work, 'guest', 'certs'));
    }
    const extra = Object.entries(options.extraFiles ?? {});
    if (extra.length > 0) mkdirSync(join(work, 'guest', 'files'));
    for (const [name, content] of extra) {
      if (!EXTRA_FILE_RE.test(name)) throw new Error(`bad extra file name ${JSON.stringify(name)}`);
      writeFileSync(join(work, 'guest', 'files', name), content, { mode: 0o600 });
    }
  } catch (err) {
    rmSync(work, { recursive: true, force: true });
    throw new Error(`cannot start the UML peer: ${(err as Error).message}`);
  }
  const t0 = Date.now();
  const uml = launchUml({
    work,
    initPath,
    memMb: options.memMb ?? 256,
    control: true,
    name: 'UML',
    serialSendBuffer: options.serialSendBuffer,
  });
  const { console: consoleLog, tty1: pppdLog, serial, stop } = uml;
  const control = uml.control!;
  const controlLog = uml.controlLog!;

  let ctlSeq = 0;
  const markers = (prefix: string) => consoleLog.lines.filter((l) => l.startsWith(MARK + prefix));
  /** Sends one control command; resolves with the guest's first `CTL <seq> ...` answer. */
  const command = async (cmd: string, timeoutMs = 10_000): Promise<{ seq: number; answer: string }> => {
    if (uml.stopping()) throw new Error('the UML peer is stopped');
    const seq = ++ctlSeq;
    const from = consoleLog.lines.length;
    control.write(`${seq} ${cmd}\n`);
    const line = await consoleLog.waitFor(new RegExp(`^${MARK}CTL ${seq} `), timeoutMs, from);
    return { seq, answer: line.slice(`${MARK}CTL ${seq} `.length) };
  };

  const peer: UmlPeer = {
    serial,
    pid: uml.pid,
    peerAddress: PEER,
    clientAddress: CLIENT,
    dns: [PEER],
    user,
    password,
    bootMs: 0,
    certs,
    pppdLog: () => pppdLog.text(),
    consoleLog: () => consoleLog.text(),
    logMark: () => pppdLog.lines.length,
    waitForLog: (re, timeoutMs, from = 0) => pppdLog.waitFor(re, timeoutMs, from),
    consoleMark: () => consoleLog.lines.length,
    waitForConsole: (re, timeoutMs, from = 0) => consoleLog.waitFor(re, timeoutMs, from),
    sessions: () => markers('PPPD-START ').length,
    killPppd: async (sig = 'TERM') => {
      const { answer } = await command(`kill-pppd ${sig}`);
      const session = /^killed (\d+)$/.exec(answer)?.[1];
      if (session === undefined) throw new Error(`pppd was not killed: ${answer}`);
      // After TERM pppd sends Terminate-Requests and waits for an Ack: ~6 s with a mute client.
      await consoleLog.waitFor(new RegExp(`^${MARK}PPPD-EXIT ${session} `), 20_000);
    },
    tcpStats: async () => {
      const mark = controlLog.lines.length;
      const { seq } = await command('stats');
      await controlLog.waitFor(new RegExp(`^${seq} end$`), 10_000, mark);
      const prefix = `${seq} `;
      const text = controlLog.lines
        .slice(mark)
        .filter((l) => l.startsWith(prefix))
        .map((l) => l.slice(prefix.length))
        .join('\n');
      return tcpStatsFrom(text);
    },
    setNetem: async (spec) => {
      if (spec !== null && !NETEM_SPEC_RE.test(spec)) {
        throw new Error(`netem spec has unexpected characters: ${JSON.stringify(spec)}`);
      }
      const { answer } = await command(spec === null ? 'netem off' : `netem ${spec}`);
      if (answer !== 'netem-set') throw new Error(`netem ${spec ?? 'off'} failed in the guest: ${answer}`);
    },
    connectFromGuest: async (port, address = CLIENT, payload, o = {}) => {
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`bad port ${port}`);
      if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(address)) throw new Error(`not an IPv4 address: ${address}`);
      const bytes = payload === undefined ? undefined : Buffer.from(payload);
      if (bytes && (bytes.length === 0 || bytes.length > MAX_PAYLOAD)) {
        throw new Error(`payload must be 1..${MAX_PAYLOAD} bytes, not ${bytes.length}`);
      }
      const timeoutS = Math.max(1, Math.min(600, Math.ceil((o.timeoutMs ?? 30_000) / 1000)));
      const hex = bytes ? bytes.toString('hex') : '-';
      const { seq, answer } = await command(
        `connect ${port} ${address} ${hex} ${o.halfClose ? 'shut' : 'noshut'} ${timeoutS}`,
      );
      if (answer !== 'connect-started') throw new Error(`the guest refused the connect command: ${answer}`);
      // python3 starts in ~1 s in UML; then connect + transfer, bounded by the guest's timeout.
      const done = await consoleLog.waitFor(
        new RegExp(`^${MARK}CTL ${seq} connect-(done|error)`),
        timeoutS * 1000 + 20_000,
      );
      const m = /connect-done bytes=(\d+) sha256=([0-9a-f]{64}) secs=([\d.]+) head=([0-9a-f]+|-)$/.exec(done);
      if (!m) throw new Error(`the guest's connection to ${address}:${port} failed: ${done}`);
      const open = consoleLog.lines.find((l) => l.startsWith(`${MARK}CTL ${seq} connect-open `));
      return {
        bytes: Number(m[1]),
        sha256: m[2]!,
        secs: Number(m[3]),
        head: m[4] === '-' ? Buffer.alloc(0) : Buffer.from(m[4]!, 'hex'),
        from: open?.split(' ').at(-1) ?? '',
      };
    },
    renegotiate: async (port) => {
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`bad port ${port}`);
      const { answer } = await command(`renegotiate ${port}`);
      if (answer !== 'renegotiate-sent')
        throw new Error(`renegotiate ${port} failed in the guest: ${answer}`);
    },
    stop,
  };

  try {
    peer.bootMs = await ready(
      () => uml.child.exitCode !== null || uml.child.signalCode !== null,
      consoleLog,
      pppdLog,
      t0,
      bootTimeoutMs,
    );
  } catch (err) {
    await stop();
    const tail = consoleLog.lines.slice(-30).join('\n');
    throw new Error(`the UML peer did not become ready: ${(err as Error).message}\nconsole:\n${tail}`);
  }
  return peer;
}
