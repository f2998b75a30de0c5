import { randomInt } from 'node:crypto';
import { MalformedPacket } from '../util/errors.js';
import type { TcpErrorCode } from './errors.js';
import { IsnGenerator } from './isn.js';
import { emitTcpSegment, hasFlag, parseTcpSegment, segLength, TcpFlag, type TcpSegment } from './segment.js';
import { seqAdd } from './seq.js';
import { Tcb, type TcbConfig, type TcbEvent } from './tcb.js';

/**
 * The TCP layer of a stack, sans-I/O: demultiplexes segments to connections by their four
 * tuple, answers SYNs on listening ports, resets what belongs to no connection (RFC 9293
 * 3.10.7.1), picks ephemeral ports (RFC 6056) and initial sequence numbers (RFC 6528).
 */
export type ConnectionOptions = Omit<TcbConfig, 'localPort' | 'remotePort' | 'iss' | 'mss'>;

export interface Connection {
  readonly id: number;
  readonly tcb: Tcb;
  readonly localAddress: number;
  readonly localPort: number;
  readonly remoteAddress: number;
  readonly remotePort: number;
  /** The listening port that accepted it, for passive opens. */
  readonly listener: number | undefined;
}

export type MuxEvent =
  | { type: 'connection'; conn: Connection; event: TcbEvent }
  /** A passive open reached ESTABLISHED: hand it to the application. */
  | { type: 'accept'; conn: Connection };

export interface MuxStats {
  segmentsIn: number;
  segmentsOut: number;
  malformed: number;
  resetsSent: number;
  /** Segments for no connection or listener. */
  noConnection: number;
  /** SYNs dropped because a listener's backlog was full. */
  backlogDrops: number;
  connectionsOpened: number;
  connectionsAccepted: number;
}

interface Listener {
  port: number;
  backlog: number;
  options: ConnectionOptions;
  /** Connections in SYN-RECEIVED or established but not yet accepted. */
  pending: number;
}

export interface Outgoing {
  destination: number;
  bytes: Uint8Array;
}

export class TcpMux {
  readonly stats: MuxStats = {
    segmentsIn: 0,
    segmentsOut: 0,
    malformed: 0,
    resetsSent: 0,
    noConnection: 0,
    backlogDrops: 0,
    connectionsOpened: 0,
    connectionsAccepted: 0,
  };
  private readonly conns = new Map<string, Connection>();
  private readonly listeners = new Map<number, Listener>();
  private readonly isn: IsnGenerator;
  private nextId = 1;
  private output: Outgoing[] = [];
  private events: MuxEvent[] = [];

  constructor(
    public localAddress: number,
    /** Largest segment payload: the link MTU minus 40. */
    public mss: number,
    options: { secret?: Uint8Array } = {},
  ) {
    this.isn = new IsnGenerator(options.secret);
  }

  get connections(): readonly Connection[] {
    return [...this.conns.values()];
  }

  /** Active open; throws EADDRINUSE for a local port taken for that peer. */
  connect(
    remoteAddress: number,
    remotePort: number,
    options: ConnectionOptions & { localPort?: number },
    now: number,
  ): Connection {
    const localPort = options.localPort ?? this.ephemeralPort(remoteAddress, remotePort);
    const key = tupleKey(remoteAddress, remotePort, localPort);
    if (this.conns.has(key)) throw new RangeError(`EADDRINUSE: ${localPort} to that peer`);
    const { localPort: _lp, ...rest } = options;
    const tcb = Tcb.connect(
      {
        ...rest,
        localPort,
        remotePort,
        mss: this.mss,
        iss: this.isn.isn(this.localAddress, localPort, remoteAddress, remotePort, now),
      },
      now,
    );
    const conn: Connection = {
      id: this.nextId++,
      tcb,
      localAddress: this.localAddress,
      localPort,
      remoteAddress,
      remotePort,
      listener: undefined,
    };
    this.conns.set(key, conn);
    this.stats.connectionsOpened++;
    this.collect(conn);
    return conn;
  }

  listen(port: number, backlog: number, options: ConnectionOptions): void {
    if (this.listeners.has(port)) throw new RangeError(`EADDRINUSE: port ${port} is listening`);
    this.listeners.set(port, { port, backlog: Math.max(1, backlog), options, pending: 0 });
  }

  unlisten(port: number): void {
    this.listeners.delete(port);
  }

  /** A TCP segment from `source` to us. */
  input(source: number, bytes: Uint8Array, now: number): void {
    this.stats.segmentsIn++;
    let seg: TcpSegment;
    try {
      seg = parseTcpSegment(bytes, source, this.localAddress);
    } catch (err) {
      if (!(err instanceof MalformedPacket)) throw err;
      this.stats.malformed++;
      return;
    }
    const conn = this.conns.get(tupleKey(source, seg.srcPort, seg.dstPort));
    if (conn) {
      conn.tcb.input(seg, now);
      this.collect(conn);
      return;
    }
    const listener = this.listeners.get(seg.dstPort);
    if (listener && hasFlag(seg, TcpFlag.SYN) && !hasFlag(seg, TcpFlag.ACK) && !hasFlag(seg, TcpFlag.RST)) {
      if (listener.pending >= listener.backlog) {
        this.stats.backlogDrops++; // the peer will retransmit its SYN
        return;
      }
      const tcb = Tcb.accept(
        {
          ...listener.options,
          localPort: seg.dstPort,
          remotePort: seg.srcPort,
          mss: this.mss,
          iss: this.isn.isn(this.localAddress, seg.dstPort, source, seg.srcPort, now),
        },
        seg,
        now,
      );
      const c: Connection = {
        id: this.nextId++,
        tcb,
        localAddress: this.localAddress,
        localPort: seg.dstPort,
        remoteAddress: source,
        remotePort: seg.srcPort,
        listener: listener.port,
      };
      listener.pending++;
      this.conns.set(tupleKey(source, seg.srcPort, seg.dstPort), c);
      this.collect(c);
      return;
    }
    this.stats.noConnection++;
    this.reset(source, seg);
  }

  /** ICMP Destination Unreachable about one of our segments (RFC 1122 4.2.3.9). */
  unreachable(
    remoteAddress: number,
    remotePort: number,
    localPort: number,
    code: TcpErrorCode,
    now: number,
  ): void {
    const conn = this.conns.get(tupleKey(remoteAddress, remotePort, localPort));
    if (!conn) return;
    // Hard error only while connecting; a soft error otherwise (the link may come back).
    if (conn.tcb.state === 'syn-sent') {
      conn.tcb.abort(now, { code, message: `ICMP destination unreachable (${code})` });
      this.collect(conn);
    }
  }

  tick(now: number): void {
    for (const c of this.conns.values()) {
      const d = c.tcb.nextDeadline();
      if (d !== undefined && d <= now) {
        c.tcb.tick(now);
        this.collect(c);
      }
    }
  }

  nextDeadline(): number | undefined {
    let best: number | undefined;
    for (const c of this.conns.values()) {
      const d = c.tcb.nextDeadline();
      if (d !== undefined && (best === undefined || d < best)) best = d;
    }
    return best;
  }

  /** After the application acted on a connection (write, read, shutdown): gather its output. */
  flush(conn: Connection): void {
    this.collect(conn);
  }

  takeOutput(): Outgoing[] {
    const o = this.output;
    this.output = [];
    return o;
  }

  takeEvents(): MuxEvent[] {
    const e = this.events;
    this.events = [];
    return e;
  }

  private collect(conn: Connection): void {
    for (const seg of conn.tcb.takeOutput()) {
      this.stats.segmentsOut++;
      this.output.push({
        destination: conn.remoteAddress,
        bytes: emitTcpSegment(seg, this.localAddress, conn.remoteAddress),
      });
    }
    for (const event of conn.tcb.takeEvents()) {
      if (conn.listener !== undefined && event.type === 'established') {
        const l = this.listeners.get(conn.listener);
        if (l) l.pending = Math.max(0, l.pending - 1);
        this.accepted.add(conn);
        this.stats.connectionsAccepted++;
        this.events.push({ type: 'accept', conn });
        continue;
      }
      if (conn.listener !== undefined && event.type === 'closed' && !this.accepted.has(conn)) {
        // Died in SYN-RECEIVED: frees its backlog place; nobody above knows it.
        const l = this.listeners.get(conn.listener);
        if (l) l.pending = Math.max(0, l.pending - 1);
        this.accepted.add(conn);
        continue;
      }
      this.events.push({ type: 'connection', conn, event });
    }
    if (conn.tcb.state === 'closed')
      this.conns.delete(tupleKey(conn.remoteAddress, conn.remotePort, conn.localPort));
  }

  /** Passive connections already handed up (or dead before that). */
  private readonly accepted = new WeakSet<Connection>();

  /** RFC 9293 3.10.7.1: a segment for no connection gets a RST (unless it is one). */
  private reset(source: number, seg: TcpSegment): void {
    if (hasFlag(seg, TcpFlag.RST)) return;
    const rst: TcpSegment = hasFlag(seg, TcpFlag.ACK)
      ? {
          srcPort: seg.dstPort,
          dstPort: seg.srcPort,
          seq: seg.ack,
          ack: 0,
          flags: TcpFlag.RST,
          window: 0,
          urgent: 0,
          options: {},
          payload: new Uint8Array(0),
        }
      : {
          srcPort: seg.dstPort,
          dstPort: seg.srcPort,
          seq: 0,
          ack: seqAdd(seg.seq, segLength(seg)),
          flags: TcpFlag.RST | TcpFlag.ACK,
          window: 0,
          urgent: 0,
          options: {},
          payload: new Uint8Array(0),
        };
    this.stats.resetsSent++;
    this.stats.segmentsOut++;
    this.output.push({ destination: source, bytes: emitTcpSegment(rst, this.localAddress, source) });
  }

  /** RFC 6056 algorithm 1: a random port in the dynamic range not used towards that peer. */
  private ephemeralPort(remoteAddress: number, remotePort: number): number {
    for (let i = 0; i < 1000; i++) {
      const p = randomInt(49152, 65536);
      if (!this.conns.has(tupleKey(remoteAddress, remotePort, p)) && !this.listeners.has(p)) return p;
    }
    throw new RangeError('EADDRINUSE: no free ephemeral port');
  }
}

function tupleKey(remoteAddress: number, remotePort: number, localPort: number): string {
  return `${remoteAddress}:${remotePort}:${localPort}`;
}
