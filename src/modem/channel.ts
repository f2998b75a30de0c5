import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { type Clock, systemClock } from '../util/clock.js';
import { DeadlineTimer } from '../util/deadline-timer.js';
import { createLogger, printable } from '../util/log.js';
import {
  AtChannelCore,
  type AtChannelCoreOptions,
  type AtChannelEvent,
  type AtChannelStats,
  type AtResponse,
  type ChannelMode,
} from './channel-core.js';
import { type AtCommandRequest, defaultTimeoutMs } from './command.js';
import { DataStream } from './data-stream.js';
import { ModemError } from './errors.js';
import type { Urc } from './urc.js';

const log = createLogger('modem:at');

export interface AtChannelOptions extends AtChannelCoreOptions {
  clock?: Clock;
  /** Default per-command timeout when a command gives none and has no known longer one. */
  defaultTimeoutMs?: number;
}

export interface CommandOptions {
  /** Time allowed for the final result code (defaults depend on the command). */
  timeoutMs?: number;
  /** Information-line prefixes that belong to this command (see `AtCommandRequest.expect`). */
  expect?: string | readonly string[];
  /** How the command appears in logs and errors; use it to hide secrets. */
  display?: string;
  /** Secrets this command carries; they are replaced by `***` wherever the channel logs. */
  secrets?: readonly string[];
  raw?: boolean;
  abortOnCancel?: boolean;
  body?: string;
  signal?: AbortSignal;
}

export interface AtChannelEvents {
  urc: [Urc];
  /** Data mode began (after `CONNECT`); `dataStream` carries the bytes. */
  connect: [DataStream];
  /** The modem reported `NO CARRIER` in data mode. */
  'carrier-lost': [];
  close: [];
}

/**
 * The AT channel over a byte stream: a thin shell around `AtChannelCore` that writes what
 * the core emits, arms one timer at the core's next deadline, and turns command outcomes
 * into promises. Only one `AtChannel` should own a stream.
 */
export class AtChannel extends EventEmitter<AtChannelEvents> {
  readonly core: AtChannelCore;
  private readonly clock: Clock;
  private readonly fallbackTimeout: number;
  private readonly timer: DeadlineTimer;
  private waiters = new Map<number, { resolve: (r: AtResponse) => void; reject: (e: Error) => void }>();
  private secrets = new Set<string>();
  private data: DataStream | undefined;
  private closed = false;
  private readonly onData = (chunk: Buffer) => this.receive(chunk);
  private readonly onClose = () => this.handleClose();
  private readonly onError = (err: Error) => {
    log('port error: %s', err.message);
  };

  constructor(
    readonly stream: Duplex,
    options: AtChannelOptions = {},
  ) {
    super();
    this.clock = options.clock ?? systemClock;
    this.fallbackTimeout = options.defaultTimeoutMs ?? 10_000;
    this.core = new AtChannelCore(options);
    this.timer = new DeadlineTimer(this.clock, () => {
      this.core.tick(this.clock.now());
      this.flush();
    });
    stream.on('data', this.onData);
    stream.on('close', this.onClose);
    stream.on('end', this.onClose);
    stream.on('error', this.onError);
  }

  get mode(): ChannelMode {
    return this.core.mode;
  }

  /** Counters of the channel: bytes, lines, URCs, commands, timeouts, dropped noise. */
  stats(): AtChannelStats {
    return { ...this.core.stats };
  }

  /** The data-mode stream after `CONNECT`, until data mode ends. */
  get dataStream(): DataStream | undefined {
    return this.data;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Sends one command line and resolves with its information lines and final result code.
   * Rejects with `ModemError` (`ERROR`, `CME_ERROR`, `TIMEOUT`, `CANCELLED`, ...).
   */
  command(text: string, options: CommandOptions = {}): Promise<AtResponse> {
    if (this.closed) {
      return Promise.reject(
        new ModemError('CLOSED', `cannot send ${options.display ?? text}: the port is closed`),
      );
    }
    for (const s of options.secrets ?? []) if (s.length > 0) this.secrets.add(s);
    const req: AtCommandRequest = {
      text,
      timeoutMs: options.timeoutMs ?? defaultTimeoutMs(text, this.fallbackTimeout),
    };
    if (options.display !== undefined) req.display = options.display;
    else if (this.secrets.size > 0) req.display = this.redact(text);
    if (options.expect !== undefined) req.expect = options.expect;
    if (options.raw) req.raw = true;
    if (options.abortOnCancel) req.abortOnCancel = true;
    if (options.body !== undefined) req.body = options.body;
    const signal = options.signal;
    if (signal?.aborted) {
      return Promise.reject(new ModemError('CANCELLED', `${req.display ?? text} cancelled`));
    }
    return new Promise<AtResponse>((resolve, reject) => {
      const id = this.core.enqueue(req, this.clock.now());
      const onAbort = (): void => {
        this.core.cancel(id, this.clock.now());
        this.flush();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.set(id, {
        resolve: (r) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(r);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      });
      this.flush();
    });
  }

  /** Adds a secret to hide in logs (a PIN about to be sent). */
  addSecret(secret: string): void {
    if (secret.length > 0) this.secrets.add(secret);
  }

  /** Returns to command mode after an escape or DTR hang-up done by the caller. */
  leaveDataMode(): void {
    this.core.leaveDataMode(this.clock.now());
    this.endData();
    this.flush();
  }

  /**
   * The call ended without a `NO CARRIER` in the stream (DCD dropped): back to command mode,
   * the data stream reports the loss and ends.
   */
  carrierLost(): void {
    if (this.core.mode !== 'data') return;
    this.core.leaveDataMode(this.clock.now());
    const d = this.data;
    this.data = undefined;
    d?.carrierLost();
    this.emit('carrier-lost');
    this.flush();
  }

  /** Writes bytes directly, outside any command (data mode writes go through `dataStream`). */
  writeRaw(bytes: Uint8Array): void {
    if (!this.closed) this.stream.write(bytes);
  }

  /** Detaches from the stream; pending commands fail with `CLOSED`. Does not close the stream. */
  detach(): void {
    if (this.closed) return;
    this.closed = true;
    this.stream.off('data', this.onData);
    this.stream.off('close', this.onClose);
    this.stream.off('end', this.onClose);
    this.stream.off('error', this.onError);
    this.core.abortAll(new ModemError('CLOSED', 'the AT channel was closed'));
    this.clearTimer();
    this.endData();
    this.flush();
    this.emit('close');
  }

  private receive(chunk: Buffer): void {
    this.core.receive(chunk, this.clock.now());
    this.flush();
  }

  private handleClose(): void {
    if (this.closed) return;
    log('port closed');
    this.detach();
  }

  private flush(): void {
    for (const bytes of this.core.takeOutput()) {
      if (this.closed) break;
      this.stream.write(bytes);
    }
    for (const ev of this.core.takeEvents()) this.dispatch(ev);
    this.armTimer();
  }

  private dispatch(ev: AtChannelEvent): void {
    switch (ev.type) {
      case 'response': {
        const w = this.waiters.get(ev.id);
        this.waiters.delete(ev.id);
        w?.resolve(ev.response);
        break;
      }
      case 'failure': {
        const w = this.waiters.get(ev.id);
        this.waiters.delete(ev.id);
        if (log.enabled) log('%s', this.redact(ev.error.message));
        w?.reject(ev.error);
        break;
      }
      case 'line':
        if (log.enabled) log('<-- %s', this.redact(printable(ev.text)));
        break;
      case 'urc':
        this.emit('urc', ev.urc);
        break;
      case 'connect': {
        log('data mode: %s', ev.text);
        this.data = new DataStream(this);
        this.emit('connect', this.data);
        break;
      }
      case 'data':
        this.data?.deliver(ev.bytes);
        break;
      case 'carrier-lost':
        log('NO CARRIER in data mode');
        this.data?.carrierLost();
        this.data = undefined;
        this.emit('carrier-lost');
        break;
      case 'sent':
        if (log.enabled) log('--> %s', this.redact(printable(ev.command)));
        break;
    }
  }

  private endData(): void {
    const d = this.data;
    this.data = undefined;
    d?.finish();
  }

  private redact(text: string): string {
    let out = text;
    for (const s of this.secrets) out = out.split(s).join('***');
    return out;
  }

  private armTimer(): void {
    this.timer.arm(this.closed ? undefined : this.core.nextDeadline());
  }

  private clearTimer(): void {
    this.timer.clear();
  }

  /** Called by `DataStream` to pause/resume reading from the port (backpressure). */
  setFlowing(flowing: boolean): void {
    if (flowing) this.stream.resume();
    else this.stream.pause();
  }
}
