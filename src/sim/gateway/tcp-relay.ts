import { IpProtocol, type Ipv4Packet } from '../../ip/ipv4.js';
import type { TcpErrorCode } from '../../tcp/errors.js';
import { IsnGenerator } from '../../tcp/isn.js';
import {
  emitTcpSegment,
  hasFlag,
  parseTcpSegment,
  segLength,
  TcpFlag,
  type TcpSegment,
} from '../../tcp/segment.js';
import { seqAdd } from '../../tcp/seq.js';
import { Tcb } from '../../tcp/tcb.js';
import { MalformedPacket } from '../../util/errors.js';
import { formatIpv4 } from '../../util/ipv4.js';
import { inAny } from './cidr.js';
import type { RelayHost } from './host.js';

/** ICMP Destination Unreachable codes the relay sends (RFC 792). */
const NET_UNREACHABLE = 0;
const HOST_UNREACHABLE = 1;

interface Tunnel {
  readonly id: number;
  readonly key: string;
  readonly device: number;
  readonly devicePort: number;
  /** The destination the device asked for: the gateway speaks TCP as this address and port. */
  readonly remote: number;
  readonly remotePort: number;
  /** The device's SYN, held until the real connection is up (then the passive open completes). */
  syn: TcpSegment;
  /** Copies of the SYN's IP header and first octets, for an ICMP error about it. */
  synIp: { header: Uint8Array; payload: Uint8Array };
  connectDeadline: number | undefined;
  tcb: Tcb | undefined;
  /** Octets handed to the shell in `tcp-data` and not yet reported written. */
  unwritten: number;
  /** Data from the real socket not yet taken by the TCB's send buffer. */
  toDevice: Uint8Array[];
  toDeviceBytes: number;
  /** `tcpReceive` returned false: say `tcp-drain` when there is room again. */
  full: boolean;
  /** The real socket ended: FIN to the device once `toDevice` is in the TCB. */
  endRequested: boolean;
  /** The shell already knows it is over (it reset or failed it): no `tcp-close` for it. */
  silent: boolean;
}

/**
 * TCP from the device, terminated here (RFC 9293's passive side, one `Tcb` per connection)
 * and relayed to real sockets by the shell, in the spirit of slirp. The SYN is held while
 * the shell connects; the SYN-ACK goes out (from the destination's address and port) only
 * once the real connection exists, so a refused port is a RST to the device, as if the
 * destination itself had refused.
 *
 * Backpressure, device to real socket: the relay reads from the TCB only while fewer than
 * `bufferBytes` octets handed out in `tcp-data` wait for `tcpWritten`; what it does not read
 * stays in the TCB, whose advertised window closes (RFC 9293 3.8.6), so the device stalls.
 * Real socket to device: `tcpReceive` queues what the TCB's send buffer cannot take yet and
 * returns false once `bufferBytes` are queued; `tcp-drain` says when to resume reading.
 */
export class TcpRelay {
  private readonly byKey = new Map<string, Tunnel>();
  private readonly byId = new Map<number, Tunnel>();
  private readonly isn: IsnGenerator;
  private nextId = 1;

  constructor(private readonly host: RelayHost) {
    this.isn = new IsnGenerator(host.config.isnSecret);
  }

  /** Relayed connections not in TIME-WAIT (what the limit counts). */
  get live(): number {
    let n = 0;
    for (const t of this.byId.values()) if (t.tcb?.state !== 'time-wait') n++;
    return n;
  }

  input(ip: Ipv4Packet, now: number): void {
    let seg: TcpSegment;
    try {
      seg = parseTcpSegment(ip.payload, ip.source, ip.destination);
    } catch (err) {
      if (!(err instanceof MalformedPacket)) throw err;
      this.host.stats.malformed++;
      return;
    }
    const key = `${ip.source}:${seg.srcPort}>${ip.destination}:${seg.dstPort}`;
    const isSyn = hasFlag(seg, TcpFlag.SYN) && !hasFlag(seg, TcpFlag.ACK) && !hasFlag(seg, TcpFlag.RST);
    const t = this.byKey.get(key);
    // RFC 9293 3.10.7.4: a new SYN may reopen a connection in TIME-WAIT.
    if (t && isSyn && t.tcb?.state === 'time-wait') this.drop(t);
    else if (t) {
      this.segment(t, seg, now);
      return;
    }
    const c = this.host.config;
    const stats = this.host.stats.tcp;
    if (!isSyn) {
      stats.noConnection++;
      this.resetUnknown(ip, seg);
      return;
    }
    if (ip.destination === c.address || !inAny(ip.destination, c.allow)) {
      stats.denied++;
      this.resetUnknown(ip, seg);
      return;
    }
    if (this.live >= c.tcpConnections) {
      stats.overLimit++;
      this.resetUnknown(ip, seg);
      return;
    }
    const tunnel: Tunnel = {
      id: this.nextId++,
      key,
      device: ip.source,
      devicePort: seg.srcPort,
      remote: ip.destination,
      remotePort: seg.dstPort,
      syn: copySyn(seg),
      synIp: { header: Uint8Array.from(ip.header), payload: Uint8Array.from(ip.payload.subarray(0, 8)) },
      connectDeadline: now + c.connectTimeoutMs,
      tcb: undefined,
      unwritten: 0,
      toDevice: [],
      toDeviceBytes: 0,
      full: false,
      endRequested: false,
      silent: false,
    };
    this.byKey.set(key, tunnel);
    this.byId.set(tunnel.id, tunnel);
    stats.connectRequests++;
    this.host.event({
      type: 'tcp-connect',
      id: tunnel.id,
      host: formatIpv4(tunnel.remote),
      port: tunnel.remotePort,
    });
  }

  /** The real connection is up: answer the held SYN with a SYN-ACK (RFC 9293 3.10.7.2). */
  connected(id: number, now: number): void {
    const t = this.byId.get(id);
    if (!t || t.tcb) return;
    const c = this.host.config;
    t.connectDeadline = undefined;
    t.tcb = Tcb.accept(
      {
        ...c.tcp,
        localPort: t.remotePort,
        remotePort: t.devicePort,
        mss: Math.max(64, c.mtu - 40),
        iss: this.isn.isn(t.remote, t.remotePort, t.device, t.devicePort, now),
        recvBuffer: c.bufferBytes,
        sendBuffer: c.bufferBytes,
        timeWaitMs: c.timeWaitMs,
      },
      t.syn,
      now,
    );
    this.collect(t, now);
  }

  /**
   * The real connection failed. ECONNREFUSED (and anything unknown) becomes a RST to the
   * device, so it sees ECONNREFUSED too; ENETUNREACH, EHOSTUNREACH and ETIMEDOUT become
   * ICMP Net/Host Unreachable (a RST when the ICMP rate limit holds it back).
   */
  failed(id: number, code: TcpErrorCode | string, now: number): void {
    const t = this.byId.get(id);
    if (!t) return;
    if (t.tcb) {
      this.reset(id, now);
      return;
    }
    this.host.stats.tcp.failed++;
    this.drop(t);
    const icmp =
      code === 'ENETUNREACH'
        ? NET_UNREACHABLE
        : code === 'EHOSTUNREACH' || code === 'ETIMEDOUT'
          ? HOST_UNREACHABLE
          : undefined;
    if (icmp !== undefined && this.host.unreachable(t.synIp, icmp, now)) return;
    this.resetSyn(t);
  }

  /** The real socket was reset or failed after the connection was up: RST to the device. */
  reset(id: number, now: number): void {
    const t = this.byId.get(id);
    if (!t) return;
    t.silent = true;
    if (!t.tcb) {
      this.drop(t);
      this.resetSyn(t);
      return;
    }
    t.tcb.abort(now);
    this.collect(t, now);
  }

  /** Bytes from the real socket for the device. False: queue full, pause the socket until `tcp-drain`. */
  receive(id: number, bytes: Uint8Array, now: number): boolean {
    const t = this.byId.get(id);
    if (!t?.tcb || t.endRequested || bytes.length === 0) return true;
    t.toDevice.push(bytes);
    t.toDeviceBytes += bytes.length;
    this.collect(t, now);
    if (t.toDeviceBytes >= this.host.config.bufferBytes) {
      t.full = true;
      return false;
    }
    return true;
  }

  /** The real socket's FIN: a FIN to the device after the data before it (half-close). */
  end(id: number, now: number): void {
    const t = this.byId.get(id);
    if (!t?.tcb || t.endRequested) return;
    t.endRequested = true;
    this.collect(t, now);
  }

  /** The shell wrote `n` octets of `tcp-data` to the real socket: the device may send more. */
  written(id: number, n: number, now: number): void {
    const t = this.byId.get(id);
    if (!t?.tcb) return;
    t.unwritten = Math.max(0, t.unwritten - n);
    this.collect(t, now);
  }

  tick(now: number): void {
    for (const t of [...this.byId.values()]) {
      if (!t.tcb) {
        if (t.connectDeadline !== undefined && now >= t.connectDeadline) {
          this.failed(t.id, 'ETIMEDOUT', now);
          this.host.event({ type: 'tcp-close', id: t.id, error: 'ETIMEDOUT' });
        }
        continue;
      }
      const d = t.tcb.nextDeadline();
      if (d !== undefined && d <= now) {
        t.tcb.tick(now);
        this.collect(t, now);
      }
    }
  }

  nextDeadline(): number | undefined {
    let best: number | undefined;
    for (const t of this.byId.values()) {
      const d = t.tcb ? t.tcb.nextDeadline() : t.connectDeadline;
      if (d !== undefined && (best === undefined || d < best)) best = d;
    }
    return best;
  }

  /** Resets every connection towards the device (the gateway is closing). */
  close(now: number): void {
    for (const t of [...this.byId.values()]) this.reset(t.id, now);
  }

  private segment(t: Tunnel, seg: TcpSegment, now: number): void {
    if (t.tcb) {
      t.tcb.input(seg, now);
      this.collect(t, now);
      return;
    }
    // Still connecting: a repeated SYN waits with the first; a new one (another ISN) replaces it.
    if (hasFlag(seg, TcpFlag.RST)) {
      this.drop(t);
      this.host.event({ type: 'tcp-close', id: t.id, error: 'ECONNABORTED' });
      return;
    }
    if (hasFlag(seg, TcpFlag.SYN) && !hasFlag(seg, TcpFlag.ACK)) t.syn = copySyn(seg);
  }

  /** Sends what the TCB produced and turns its events into the shell's. */
  private collect(t: Tunnel, now: number): void {
    const tcb = t.tcb;
    if (!tcb) return;
    const stats = this.host.stats.tcp;
    for (let guard = 0; guard < 1000; guard++) {
      this.fillToDevice(t, now);
      this.drainFromDevice(t, now);
      const out = tcb.takeOutput();
      const events = tcb.takeEvents();
      for (const seg of out) {
        if (hasFlag(seg, TcpFlag.RST)) stats.resetsSent++;
        this.host.send(t.remote, t.device, IpProtocol.TCP, emitTcpSegment(seg, t.remote, t.device));
      }
      for (const ev of events) {
        switch (ev.type) {
          case 'established':
            stats.established++;
            break;
          case 'eof':
            if (!t.silent) this.host.event({ type: 'tcp-end', id: t.id });
            break;
          case 'closed':
            if (!t.silent) {
              this.host.event(
                ev.error ? { type: 'tcp-close', id: t.id, error: ev.error } : { type: 'tcp-close', id: t.id },
              );
            }
            t.silent = true;
            break;
          default:
            break; // readable / writable: the pumps above run again
        }
      }
      if (out.length === 0 && events.length === 0) break;
    }
    if (tcb.state === 'closed') this.drop(t);
  }

  /** Moves queued data from the real socket into the TCB's send buffer; then the FIN. */
  private fillToDevice(t: Tunnel, now: number): void {
    const tcb = t.tcb!;
    while (t.toDevice.length > 0) {
      const chunk = t.toDevice[0]!;
      const n = tcb.write(chunk, now);
      if (n === 0) break;
      t.toDeviceBytes -= n;
      this.host.stats.tcp.bytesToDevice += n;
      if (n < chunk.length) {
        t.toDevice[0] = chunk.subarray(n);
        break;
      }
      t.toDevice.shift();
    }
    if (t.full && t.toDeviceBytes < this.host.config.bufferBytes) {
      t.full = false;
      if (!t.silent) this.host.event({ type: 'tcp-drain', id: t.id });
    }
    if (t.endRequested && t.toDevice.length === 0) tcb.shutdown(now);
  }

  /** Reads what the device sent, as far as the shell's unwritten budget allows. */
  private drainFromDevice(t: Tunnel, now: number): void {
    const tcb = t.tcb!;
    const budget = this.host.config.bufferBytes - t.unwritten;
    if (budget <= 0 || tcb.readableLength === 0) return;
    for (const bytes of tcb.read(budget, now)) {
      t.unwritten += bytes.length;
      this.host.stats.tcp.bytesFromDevice += bytes.length;
      if (!t.silent) this.host.event({ type: 'tcp-data', id: t.id, bytes });
    }
  }

  private drop(t: Tunnel): void {
    this.byKey.delete(t.key);
    this.byId.delete(t.id);
  }

  /** A RST for the held SYN, from the destination (what a closed port answers). */
  private resetSyn(t: Tunnel): void {
    this.sendReset(t.remote, t.device, t.syn);
  }

  /** RFC 9293 3.10.7.1: a segment for no connection gets a RST (unless it is one). */
  private resetUnknown(ip: Ipv4Packet, seg: TcpSegment): void {
    this.sendReset(ip.destination, ip.source, seg);
  }

  private sendReset(from: number, to: number, seg: TcpSegment): void {
    if (hasFlag(seg, TcpFlag.RST)) return;
    const ack = hasFlag(seg, TcpFlag.ACK);
    const rst: TcpSegment = {
      srcPort: seg.dstPort,
      dstPort: seg.srcPort,
      seq: ack ? seg.ack : 0,
      ack: ack ? 0 : seqAdd(seg.seq, segLength(seg)),
      flags: ack ? TcpFlag.RST : TcpFlag.RST | TcpFlag.ACK,
      window: 0,
      urgent: 0,
      options: {},
      payload: new Uint8Array(0),
    };
    this.host.stats.tcp.resetsSent++;
    this.host.send(from, to, IpProtocol.TCP, emitTcpSegment(rst, from, to));
  }
}

/** The SYN outlives the packet it came in (the link's buffer may be reused). */
function copySyn(seg: TcpSegment): TcpSegment {
  return { ...seg, options: { ...seg.options }, payload: new Uint8Array(0) };
}
