import type { Duplex } from 'node:stream';
import { SerialPort } from 'serialport';
import { ModemError } from './errors.js';

/** Modem control signals as the port reports them (V.24 circuits 109 DCD, 107 DSR, 106 CTS). */
export interface ModemSignals {
  dcd: boolean;
  dsr: boolean;
  cts: boolean;
}

/**
 * A byte stream to a modem plus the control lines a serial port may offer. A real serial
 * port, the built-in test modem, a trace recorder wrapping either, or anything a user
 * brings (a TCP bridge to a remote modem) fits.
 */
export interface ModemPort {
  /** Device path (`/dev/ttyUSB2`), or a name such as `sim`. */
  readonly path: string;
  /** The bytes: write to send to the modem, read what it sends. */
  readonly stream: Duplex;
  /** Sets DTR (circuit 108/2); rejects where the port cannot (a pty). */
  setDtr?(value: boolean): Promise<void>;
  /** Reads DCD/DSR/CTS; rejects where the port cannot. */
  getSignals?(): Promise<ModemSignals>;
  /** Tells a recording port which strings must never reach a file or log. */
  addSecret?(secret: string): void;
  close(): Promise<void>;
}

export interface SerialPortOptions {
  path: string;
  /** Default 115200. */
  baudRate?: number;
  /** RTS/CTS hardware flow control. Default false. */
  rtscts?: boolean;
}

/** Opens a serial device with npm `serialport` (8N1, raw). */
export async function openSerialPort(options: SerialPortOptions): Promise<ModemPort> {
  const port = new SerialPort({
    path: options.path,
    baudRate: options.baudRate ?? 115200,
    rtscts: options.rtscts ?? false,
    autoOpen: false,
    hupcl: true,
  });
  await new Promise<void>((resolve, reject) => {
    port.open((err) => {
      if (err) {
        reject(
          new ModemError('PORT_NOT_FOUND', `cannot open ${options.path}: ${err.message}`, { error: err }),
        );
      } else resolve();
    });
  });
  return {
    path: options.path,
    stream: port,
    setDtr: (value) =>
      new Promise<void>((resolve, reject) => {
        port.set({ dtr: value }, (err) => (err ? reject(err) : resolve()));
      }),
    getSignals: () =>
      new Promise<ModemSignals>((resolve, reject) => {
        port.get((err, status) => {
          if (err || !status) reject(err ?? new Error('no modem status'));
          else resolve({ dcd: status.dcd, dsr: status.dsr, cts: status.cts });
        });
      }),
    close: () =>
      new Promise<void>((resolve) => {
        if (!port.isOpen) {
          resolve();
          return;
        }
        port.close(() => resolve());
      }),
  };
}
