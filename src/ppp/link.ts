import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { type Clock, systemClock } from '../util/clock.js';
import { DeadlineTimer } from '../util/deadline-timer.js';
import { createLogger } from '../util/log.js';
import { PcapWriter } from '../util/pcap.js';
import { PppError } from './errors.js';
import type { IpcpVj } from './ipcp.js';
import {
  type PppConfig,
  PppCore,
  type PppEvent,
  type PppPhase,
  type PppStats,
  type PppUpInfo,
} from './link-core.js';

const log = createLogger('ppp');

/** Where frames are copied for a capture (`PcapWriter`, or your own). */
export interface FrameTap {
  write(direction: 'in' | 'out', frame: Uint8Array): void;
  close(): void;
}

export interface PppLinkOptions extends PppConfig {
  clock?: Clock;
  /** Write every frame in and out to this pcap file (LINKTYPE_PPP_WITH_DIR, Wireshark opens it). */
  pcap?: string;
  /** Or hand frames to your own tap. */
  tap?: FrameTap;
}

export interface PppLinkEvents {
  phase: [PppPhase];
  /** IPCP is up: our address, the peer's, DNS servers. */
  up: [PppUpInfo];
  /** The link went down (once), with the reason. */
  down: [PppError];
  /** Dead: LCP finished; the stream under the link may be hung up now. */
  dead: [];
  /** An IPv4 packet from the peer. */
  ip: [Uint8Array];
}

/**
 * A PPP link over any byte stream: the modem's data stream after `CONNECT`, or a serial line
 * that speaks PPP already. A thin shell around `PppCore`: bytes from the stream go in, bytes
 * out go to the stream, one timer follows the core's next deadline.
 */
export class PppLink extends EventEmitter<PppLinkEvents> {
  readonly core: PppCore;
  private readonly clock: Clock;
  private readonly timer: DeadlineTimer;
  private readonly tap: FrameTap | undefined;
  private dead = false;
  private readonly deadWaiters: (() => void)[] = [];
  private readonly onData = (chunk: Buffer) => {
    this.core.receive(chunk, this.clock.now());
    this.flush();
  };
  private readonly onEnd = () => {
    this.core.lowerDown(this.clock.now());
    this.flush();
  };
  private readonly onError = (err: Error) => log('stream error: %s', err.message);

  constructor(
    readonly stream: Duplex,
    options: PppLinkOptions = {},
  ) {
    super();
    this.clock = options.clock ?? systemClock;
    this.core = new PppCore(options);
    this.timer = new DeadlineTimer(this.clock, () => {
      this.core.tick(this.clock.now());
      this.flush();
    });
    this.tap = options.tap ?? (options.pcap ? new PcapWriter(options.pcap) : undefined);
    stream.on('data', this.onData);
    stream.on('end', this.onEnd);
    stream.on('close', this.onEnd);
    stream.on('error', this.onError);
  }

  get phase(): PppPhase {
    return this.core.phase;
  }

  /** Our address, the peer's and the DNS servers, once up. */
  get info(): PppUpInfo | undefined {
    return this.core.info;
  }

  /** VJ header compression as IPCP agreed it (`send`, `receive`), while IPCP is up. */
  get vj(): IpcpVj | undefined {
    return this.core.vj;
  }

  /** Starts LCP. */
  open(): this {
    this.core.open(this.clock.now());
    this.flush();
    return this;
  }

  /** Resolves when IPCP is up; rejects with the `PppError` if the link goes down first. */
  waitUp(timeoutMs = 60_000): Promise<PppUpInfo> {
    if (this.core.info) return Promise.resolve(this.core.info);
    return new Promise((resolve, reject) => {
      const done = (): void => {
        this.off('up', onUp);
        this.off('down', onDown);
        this.clock.clearTimer(timer);
      };
      const onUp = (info: PppUpInfo): void => {
        done();
        resolve(info);
      };
      const onDown = (err: PppError): void => {
        done();
        reject(err);
      };
      const timer = this.clock.setTimer(() => {
        done();
        reject(
          new PppError(
            'NEGOTIATION_FAILED',
            `the link did not come up within ${timeoutMs} ms (phase ${this.phase})`,
          ),
        );
      }, timeoutMs);
      this.on('up', onUp);
      this.on('down', onDown);
    });
  }

  /** Sends an IPv4 packet; false when the link is not up or the packet is too large. */
  sendIp(packet: Uint8Array): boolean {
    const ok = this.core.sendIp(packet, this.clock.now());
    this.flush();
    return ok;
  }

  /**
   * Terminates the link (LCP Terminate-Request) and resolves once it is dead: after the
   * peer's Terminate-Ack, or after Max-Terminate restarts without one. The stream is left
   * open (the modem hangs up next).
   */
  close(): Promise<void> {
    if (this.dead) return Promise.resolve();
    const p = new Promise<void>((resolve) => this.deadWaiters.push(resolve));
    this.core.close(this.clock.now());
    this.flush();
    return p;
  }

  /**
   * Lets go at once, without the Terminate exchange: the timer stops, the stream is released
   * (left open) and `dead` is emitted. For a caller that must reuse the line now, such as a
   * connection manager whose `close()` ran out of patience with a peer that no longer answers.
   */
  destroy(): void {
    this.finish();
  }

  stats(): PppStats {
    return this.core.stats();
  }

  private flush(): void {
    for (const bytes of this.core.takeOutput()) {
      if (!this.stream.writable) break;
      this.stream.write(bytes);
    }
    for (const ev of this.core.takeEvents()) this.dispatch(ev);
    this.armTimer();
  }

  private dispatch(ev: PppEvent): void {
    switch (ev.type) {
      case 'log':
        log('%s', ev.line);
        break;
      case 'frame':
        this.tap?.write(ev.direction, ev.frame);
        break;
      case 'phase':
        log('phase %s', ev.phase);
        this.emit('phase', ev.phase);
        break;
      case 'up':
        this.emit('up', ev.info);
        break;
      case 'down':
        log('down: %s: %s', ev.error.code, ev.error.message);
        this.emit('down', ev.error);
        break;
      case 'ip':
        this.emit('ip', ev.packet);
        break;
      case 'dead':
        this.finish();
        break;
    }
  }

  private finish(): void {
    if (this.dead) return;
    this.dead = true;
    this.timer.clear();
    this.stream.off('data', this.onData);
    this.stream.off('end', this.onEnd);
    this.stream.off('close', this.onEnd);
    this.stream.off('error', this.onError);
    this.tap?.close();
    for (const w of this.deadWaiters.splice(0)) w();
    this.emit('dead');
  }

  private armTimer(): void {
    this.timer.arm(this.dead ? undefined : this.core.nextDeadline());
  }
}
