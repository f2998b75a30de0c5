import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { SimModemConfig } from '../../../src/sim/config.js';
import { SimModem } from '../../../src/sim/modem.js';
import { LineBridge, type LineBridgeOptions, type LineCorruption } from './line.js';
import type { UmlPeer } from './uml.js';
import { MARK } from './uml-guest.js';

/**
 * Our virtual modem in front of the UML peer's pppd, reachable over TCP on 127.0.0.1: the
 * program under test (another process, which can be SIGKILLed) opens a plain TCP connection
 * as its modem port and runs the real AT path against the `SimModem` (AT, registration, ATD,
 * CONNECT, NO CARRIER, the `+++` escape, ATH). Each data call is bridged to the guest's ttyS0
 * (pppd) through a `LineBridge`, so the test can stall and corrupt the line; outside a call
 * nothing passes (what pppd sends then is dropped, as a modem without a call does).
 *
 * The network side behaves like an operator's: when a call ends, its PPP session ends too
 * (pppd is killed, `endSession`), and the next CONNECT is bridged only once a fresh pppd
 * (the guest restarts it) has opened the line. Closing the TCP connection is a port closed
 * with HUPCL: DTR drops, and with &D2 (the default) the modem clears the call. One modem for
 * the whole life of the fixture: a new connection (the program reopening its port, or a new
 * process) meets it in whatever state it was left, with DTR up again.
 *
 * Every pppd session counts against the guest's limit of 100: a call costs one session (two
 * when pppd is killed during the call and the restarted one serves the rest of it).
 */
export interface SimFrontOptions {
  peer: UmlPeer;
  /** The modem (default: Quectel flavour, registered 300 ms after start). */
  sim?: SimModemConfig;
  /** Pacing of each call's line (default unpaced). */
  line?: Omit<LineBridgeOptions, 'guest' | 'client' | 'corrupt' | 'dropAfterMs' | 'tap'>;
  /** How the network ends the PPP session of a call that ended: KILL (default), TERM, or not at all. */
  endSession?: 'KILL' | 'TERM' | false;
  /** Longest wait at CONNECT for a fresh pppd before bridging anyway (default 15 s). */
  sessionWaitMs?: number;
  /** Event lines (`connect`, `hangup carrier`, `bridge session 7`...), for the test's log. */
  log?: (line: string) => void;
}

export interface SimFrontStats {
  /** TCP connections accepted (port openings). */
  connections: number;
  /** CONNECTs (data calls). */
  calls: number;
  /** Calls bridged to a pppd session. */
  bridged: number;
  /** Calls ended, by the modem's reason (`carrier`, `dtr`, `ath`...). */
  hangups: Record<string, number>;
  /** pppd sessions the fixture ended because their call had ended. */
  sessionsEnded: number;
  /** Host bytes dropped while a call waited for its pppd (over the bound). */
  droppedBytes: number;
  /** The calls' lines, added up: bytes each way, bytes corrupted, bytes still held when a call ended. */
  line: { up: number; down: number; corrupted: number; heldAtHangup: number };
}

export interface SimFront {
  /** TCP port on 127.0.0.1 to open as the modem port. */
  readonly port: number;
  readonly sim: SimModem;
  /** The current call's line, while a call is bridged. */
  readonly bridge: LineBridge | undefined;
  /** Whether a data call is up (bridged or waiting for its pppd). */
  readonly inCall: boolean;
  /** The network drops the call now (NO CARRIER); false when no call was up. */
  dropCall(): boolean;
  /** Holds the current call's line for `ms`; false when no call is bridged. */
  stall(ms: number): boolean;
  /** Corrupts the line (this call's and later calls') until called with `undefined`. */
  setCorruption(c: LineCorruption | undefined): void;
  stats(): SimFrontStats;
  /** Closes the server and the connection, ends the call's bridge and the modem. Idempotent. */
  stop(): Promise<void>;
}

/** pppd's latest bytes kept for the next call (a ConfReq is ~30 octets; pppd resends it every 3 s). */
const MAX_EARLY = 256;
/** Host bytes held for a call that waits for its pppd. */
const MAX_PENDING = 256 * 1024;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function startSimFront(o: SimFrontOptions): Promise<SimFront> {
  const { peer } = o;
  const log = o.log ?? (() => undefined);
  const endSignal = o.endSession ?? 'KILL';
  const sessionWaitMs = o.sessionWaitMs ?? 15_000;
  const sim = new SimModem(o.sim ?? { flavour: 'quectel', network: { registerAfterMs: 300 } });
  const stats: SimFrontStats = {
    connections: 0,
    calls: 0,
    bridged: 0,
    hangups: {},
    sessionsEnded: 0,
    droppedBytes: 0,
    line: { up: 0, down: 0, corrupted: 0, heldAtHangup: 0 },
  };
  const addLine = (l: LineBridge): void => {
    const s = l.stats();
    stats.line.up += s.up.bytesOut;
    stats.line.down += s.down.bytesOut;
    stats.line.corrupted += s.up.corrupted + s.down.corrupted;
    stats.line.heldAtHangup += s.up.queued + s.down.queued;
  };
  let socket: Socket | undefined;
  let bridge: LineBridge | undefined;
  let corruption: LineCorruption | undefined;
  let stopped = false;
  /** The current call, or undefined; a new object per CONNECT. */
  let call: { id: number; pending: Buffer[]; pendingBytes: number; line?: LineBridge } | undefined;
  let callIds = 0;
  /** The next call needs a pppd session numbered at least this (one that never saw an ended call). */
  let minSession = 1;
  /** Session endings run one at a time; a CONNECT waits for them. */
  let ending: Promise<void> = Promise.resolve();

  const consoleHas = (s: string): boolean => peer.consoleLog().includes(s);
  const exited = (n: number): boolean => consoleHas(`${MARK}PPPD-EXIT ${n} `);
  /** pppd logs `Connect: ppp0 <--> /dev/ttyS0` once per session, when it has opened the line. */
  const opened = (): number => (peer.pppdLog().match(/^Connect: ppp\d+ <--> \/dev\/ttyS0/gm) ?? []).length;

  // Outside a call pppd's bytes go nowhere, except the latest ones of the newest session: a
  // network's PPP peer starts with the call, so its opening ConfReq is what the host hears
  // right after CONNECT. (pppd starts before the call and says it into the void; without
  // this the host would wait for pppd's next ConfReq, 3 s later, on every call.)
  let early = { session: 0, chunks: [] as Buffer[], bytes: 0 };
  const idle = (b: Buffer): void => {
    if (bridge) return; // the call's line has it
    const n = peer.sessions();
    if (early.session !== n) early = { session: n, chunks: [], bytes: 0 };
    early.chunks.push(Buffer.from(b));
    early.bytes += b.length;
    while (early.bytes > MAX_EARLY && early.chunks.length > 1) early.bytes -= early.chunks.shift()!.length;
  };
  peer.serial.on('data', idle);

  const endCall = (reason: string): void => {
    stats.hangups[reason] = (stats.hangups[reason] ?? 0) + 1;
    const c = call;
    call = undefined;
    if (c?.line) {
      addLine(c.line);
      c.line.close();
    }
    if (bridge === c?.line) bridge = undefined;
    log(`hangup ${reason}`);
    if (endSignal === false) return;
    // The session that carried the call (or its successor, if pppd was killed during the call).
    const n = peer.sessions();
    minSession = Math.max(minSession, n + 1);
    ending = ending.then(async () => {
      if (stopped || exited(n)) return;
      try {
        await peer.killPppd(endSignal);
        stats.sessionsEnded++;
        log(`ended session ${n}`);
      } catch (err) {
        // It exited on its own meanwhile (`no-pppd`), or the guest is stopping.
        log(`ending session ${n}: ${(err as Error).message}`);
      }
    });
  };

  const startCall = (): void => {
    const c = { id: ++callIds, pending: [] as Buffer[], pendingBytes: 0 } as NonNullable<typeof call>;
    call = c;
    stats.calls++;
    log(`connect call ${c.id}`);
    void (async () => {
      await ending;
      const t0 = Date.now();
      // A fresh session: started after the last call ended, running, and with its line open.
      for (;;) {
        if (call !== c || stopped) return;
        const n = peer.sessions();
        if (n >= minSession && !exited(n) && opened() >= n) break;
        if (Date.now() - t0 > sessionWaitMs) {
          log(`call ${c.id}: no fresh pppd after ${sessionWaitMs} ms (session ${n}); bridging anyway`);
          break;
        }
        await sleep(25);
      }
      if (call !== c || stopped) return;
      const n = peer.sessions();
      if (early.session === n && early.bytes > 0 && !exited(n)) sim.sendData(Buffer.concat(early.chunks));
      early = { session: n, chunks: [], bytes: 0 };
      const line = new LineBridge({
        ...o.line,
        guest: peer.serial,
        ...(corruption ? { corrupt: corruption } : {}),
      });
      c.line = line;
      bridge = line;
      stats.bridged++;
      line.client.on('data', (b: Buffer) => {
        if (call === c) sim.sendData(b);
      });
      for (const b of c.pending) line.client.write(b);
      c.pending = [];
      log(`bridge call ${c.id} to session ${peer.sessions()} after ${Date.now() - t0} ms`);
    })();
  };

  sim.on('connect', () => startCall());
  sim.on('hangup', (reason) => endCall(String(reason)));
  sim.on('data', (bytes) => {
    const c = call;
    if (!c) return;
    if (c.line) {
      c.line.client.write(bytes);
    } else if (c.pendingBytes + bytes.length <= MAX_PENDING) {
      c.pending.push(Buffer.from(bytes));
      c.pendingBytes += bytes.length;
    } else {
      stats.droppedBytes += bytes.length;
    }
  });
  sim.on('error', (err) => log(`modem stream error: ${err.message}`));

  const server: Server = createServer((s) => {
    stats.connections++;
    s.setNoDelay(true);
    s.on('error', () => undefined);
    const old = socket;
    socket = s;
    if (old) {
      // The port was opened again before the old connection went: that one is dead, and its
      // close drops DTR as any other would.
      sim.detach();
      old.destroy();
      sim.setDtr(false);
    }
    log(`port opened (connection ${stats.connections})`);
    sim.setDtr(true);
    sim.attach(s as Duplex);
    s.on('close', () => {
      if (socket !== s) return;
      socket = undefined;
      sim.detach();
      // HUPCL: DTR drops with the port; &D2 clears a call.
      sim.setDtr(false);
      log('port closed');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no TCP port');

  return {
    port: address.port,
    sim,
    get bridge() {
      return bridge;
    },
    get inCall() {
      return call !== undefined;
    },
    dropCall: () => {
      if (!call) return false;
      sim.dropCarrier();
      return true;
    },
    stall: (ms) => {
      if (!bridge) return false;
      bridge.stall(ms);
      return true;
    },
    setCorruption: (c) => {
      corruption = c;
      bridge?.setCorruption(c);
    },
    stats: () => {
      const line = { ...stats.line };
      if (bridge) {
        const s = bridge.stats();
        line.up += s.up.bytesOut;
        line.down += s.down.bytesOut;
        line.corrupted += s.up.corrupted + s.down.corrupted;
      }
      return { ...stats, hangups: { ...stats.hangups }, line };
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      call?.line?.close();
      call = undefined;
      bridge = undefined;
      peer.serial.off('data', idle);
      socket?.destroy();
      socket = undefined;
      sim.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.race([ending, sleep(1000)]);
    },
  };
}
