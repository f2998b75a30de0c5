import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { toBuffer } from '../util/bytes.js';
import { type Clock, systemClock } from '../util/clock.js';
import { DeadlineTimer } from '../util/deadline-timer.js';
import { CellstackError } from '../util/errors.js';
import { createLogger } from '../util/log.js';
import { SimModemCore } from './at-core.js';
import type { HangupReason } from './commands/index.js';
import type { SimModemConfig, SimRegistrationUpdate } from './config.js';
import { createDuplexPair } from './duplex-pair.js';
import type { ModemPort } from './port.js';
import type { SimMode } from './state.js';

const log = createLogger('sim');

export interface SimModemOptions {
  /** Time and timers; tests pass a `ManualClock`. Default `systemClock`. */
  clock?: Clock;
  /** Let the process exit while the modem's timer is pending. Default false. */
  unref?: boolean;
}

export interface SimModemEvents {
  /** Bytes the host sent in online data state (for the PPP peer behind the modem). */
  data: [bytes: Uint8Array];
  /** CONNECT was sent: online data state on context `cid`. */
  connect: [cid: number];
  /** The call ended. */
  hangup: [reason: HangupReason];
  /** A command line arrived (`AT+CSQ`), as sent, for tests. */
  command: [line: string];
  /** The `+++` escape took the modem to online command state. */
  escape: [];
  /** The modem (re)started. */
  boot: [];
  /** The attached stream failed. */
  error: [error: Error];
}

/**
 * The virtual modem's shell: attaches a `SimModemCore` to a byte stream (one end of an
 * in-process pair, or a serial port / pty), feeds it the bytes and the time, writes what it
 * answers, and keeps one timer armed at the core's next deadline. Writing stops while the
 * stream reports backpressure (`write()` false) until 'drain'; the core bounds what waits.
 */
export class SimModem extends EventEmitter<SimModemEvents> {
  readonly core: SimModemCore;
  private readonly clock: Clock;
  private readonly unref: boolean;
  private stream: Duplex | undefined;
  private readonly timer: DeadlineTimer;
  private blocked = false;
  private closedValue = false;

  constructor(config: SimModemConfig = {}, options: SimModemOptions = {}) {
    super();
    this.clock = options.clock ?? systemClock;
    this.unref = options.unref ?? false;
    this.core = new SimModemCore(config, this.clock.now());
    this.timer = new DeadlineTimer(
      this.clock,
      () => {
        this.core.tick(this.clock.now());
        this.pump();
      },
      this.unref,
    );
    this.arm();
  }

  get mode(): SimMode {
    return this.core.mode;
  }

  get closed(): boolean {
    return this.closedValue;
  }

  /** Connects the modem to `stream` (the device's end); replaces a previous one. */
  attach(stream: Duplex): void {
    if (this.closedValue) throw new CellstackError('CLOSED', 'sim: modem is closed');
    this.detach();
    this.stream = stream;
    this.blocked = false;
    stream.on('data', this.onData);
    stream.on('drain', this.onDrain);
    stream.on('error', this.onError);
    stream.on('end', this.onEnd);
    stream.on('close', this.onEnd);
    this.pump();
  }

  /** Disconnects from the stream (which stays open); the core keeps its state. */
  detach(): void {
    const s = this.stream;
    if (!s) return;
    this.stream = undefined;
    s.off('data', this.onData);
    s.off('drain', this.onDrain);
    s.off('error', this.onError);
    s.off('end', this.onEnd);
    s.off('close', this.onEnd);
  }

  /** Stops the timer and detaches. */
  close(): void {
    if (this.closedValue) return;
    this.closedValue = true;
    this.disarm();
    this.detach();
  }

  setDtr(on: boolean): void {
    this.core.setDtr(on, this.clock.now());
    this.pump();
  }

  dropCarrier(): void {
    this.core.dropCarrier(this.clock.now());
    this.pump();
  }

  setRegistration(update: SimRegistrationUpdate): void {
    this.core.setRegistration(update, this.clock.now());
    this.pump();
  }

  setSignal(csq: number, ber?: number): void {
    this.core.setSignal(csq, ber);
    this.pump();
  }

  emitUrc(line: string): void {
    this.core.emitUrc(line, this.clock.now());
    this.pump();
  }

  /** Bytes from the network side to the host (online data state). */
  sendData(bytes: Uint8Array): void {
    this.core.sendData(bytes);
    this.pump();
  }

  private readonly onData = (chunk: Buffer | string): void => {
    this.core.receive(toBuffer(chunk), this.clock.now());
    this.pump();
  };

  private readonly onDrain = (): void => {
    this.blocked = false;
    this.pump();
  };

  private readonly onError = (error: Error): void => {
    log('stream error: %s', error.message);
    if (this.listenerCount('error') > 0) this.emit('error', error);
  };

  private readonly onEnd = (): void => {
    this.detach();
  };

  /** Emits the core's events and data, writes its output, re-arms the timer. */
  private pump(): void {
    if (this.closedValue) return;
    for (const e of this.core.takeEvents()) {
      if (e.type === 'command') this.emit('command', e.line);
      else if (e.type === 'connect') this.emit('connect', e.cid);
      else if (e.type === 'hangup') this.emit('hangup', e.reason);
      else if (e.type === 'escape') this.emit('escape');
      else this.emit('boot');
    }
    for (const bytes of this.core.takeData()) this.emit('data', bytes);
    this.write();
    this.arm();
  }

  private write(): void {
    const s = this.stream;
    if (!s || this.blocked || s.destroyed || !s.writable) return;
    for (const chunk of this.core.takeOutput()) {
      if (!s.write(chunk)) this.blocked = true;
    }
  }

  private arm(): void {
    this.timer.arm(this.closedValue ? undefined : this.core.nextDeadline());
  }

  private disarm(): void {
    this.timer.clear();
  }
}

export interface SimPair {
  sim: SimModem;
  /** The host's side, path `'sim'`. */
  port: ModemPort;
}

/**
 * An in-process modem and the port to talk to it: bytes cross asynchronously and in order,
 * `setDtr` reaches the core after the bytes written before it, `getSignals` shows DCD while a
 * call is up, `close` closes the modem and destroys both ends.
 */
export function createSimPair(config: SimModemConfig = {}, options: SimModemOptions = {}): SimPair {
  const [host, device] = createDuplexPair();
  const sim = new SimModem(config, options);
  sim.attach(device);
  const port: ModemPort = {
    path: 'sim',
    stream: host,
    async setDtr(value: boolean): Promise<void> {
      await afterWrites(host);
      sim.setDtr(value);
    },
    async getSignals() {
      return { dcd: sim.core.carrier, dsr: true, cts: true };
    },
    async close(): Promise<void> {
      sim.close();
      if (!host.destroyed) host.destroy();
      if (!device.destroyed) device.destroy();
    },
  };
  return { sim, port };
}

/** Resolves once the bytes already written on `stream` have been delivered. */
async function afterWrites(stream: Duplex): Promise<void> {
  for (let i = 0; i < 1000 && stream.writableLength > 0; i++) await nextImmediate();
  await nextImmediate();
}

function nextImmediate(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export interface SerialSimOptions extends SimModemOptions {
  /** Default 115200 (a pty ignores it). */
  baudRate?: number;
}

export interface SerialSim {
  sim: SimModem;
  close(): Promise<void>;
}

/**
 * Opens `path` with the npm `serialport` package (one end of a socat pty pair in integration
 * tests) and attaches a new modem to it. `serialport` is loaded on first use, so the
 * in-process simulator never needs its native binding.
 */
export async function attachSimToSerialPort(
  path: string,
  config: SimModemConfig = {},
  options: SerialSimOptions = {},
): Promise<SerialSim> {
  const { SerialPort } = await import('serialport');
  const port = new SerialPort({ path, baudRate: options.baudRate ?? 115200, autoOpen: false });
  await new Promise<void>((resolve, reject) => {
    port.open((err) => (err ? reject(err) : resolve()));
  });
  const sim = new SimModem(config, options);
  sim.attach(port);
  return {
    sim,
    async close(): Promise<void> {
      sim.close();
      if (!port.isOpen) return;
      await new Promise<void>((resolve) => {
        port.close(() => resolve());
      });
    },
  };
}
