import type { Duplex } from 'node:stream';

/**
 * A serial port as the AT driver sees it: a byte stream plus the modem control lines. The
 * in-process simulator (`createSimPair`) implements it; so will the real serial port adapter.
 */
export interface ModemPort {
  /** Device path; `'sim'` for the in-process simulator. */
  readonly path: string;
  /** The host's end: write AT commands, read responses. */
  readonly stream: Duplex;
  /** Circuit 108/2 (DTR). In-process: forwarded to the core's `setDtr`. */
  setDtr?(value: boolean): Promise<void>;
  /** Circuits 109 (DCD, on while a call is up), 107 (DSR) and 106 (CTS). */
  getSignals?(): Promise<{ dcd: boolean; dsr: boolean; cts: boolean }>;
  close(): Promise<void>;
}
