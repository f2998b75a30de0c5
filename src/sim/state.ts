import type { RegistrationDomain, RegistrationState } from '../modem/parse/registration.js';
import type { SimAccessTechnology, SimOperator } from './config.js';

/**
 * V.250 clause 3 states of the DCE: `command` (no call), `data` (online data state: bytes are
 * passed through) and `online-command` (a call is up but the DCE takes commands, after the
 * escape sequence or `&D1`).
 */
export type SimMode = 'command' | 'data' | 'online-command';

/** SIM lock state (27.007 clause 8.3): `blocked` means the PUK is used up, `absent` no SIM. */
export type SimStatus = 'ready' | 'pin' | 'puk' | 'blocked' | 'absent';

export interface SimSimState {
  status: SimStatus;
  pinRetries: number;
  pukRetries: number;
}

export interface SimRegistrationSnapshot {
  /** `<stat>` as `+CREG?` reports it. */
  stat: number;
  state: RegistrationState;
  act: SimAccessTechnology;
  lac: number;
  tac: number;
  ci: number;
  operator: SimOperator;
  /** `+CFUN` level (0 minimum, 1 full, 4 flight mode). */
  fun: number;
  /** `<n>` of each registration command the host set. */
  n: Readonly<Record<RegistrationDomain, number>>;
}

export interface SimPdpContextState {
  cid: number;
  pdpType: string;
  apn: string;
  active: boolean;
  /** The address given at activation, or `null`. */
  address: string | null;
}

export interface SimCounters {
  /** Bytes received from the host, all modes. */
  bytesIn: number;
  /** Bytes queued for the host, all modes. */
  bytesOut: number;
  /** Command lines executed. */
  commandLines: number;
  /** Command lines that ended in an error result code. */
  errors: number;
  /** Lines discarded because they were longer than `maxLineBytes`. */
  linesTooLong: number;
  /** Bytes received before boot completed, or while the held-input queue was full. */
  inputDropped: number;
  /** Bytes of output dropped because the host did not read (`maxOutputBytes`). */
  outputDropped: number;
  /** Data-mode bytes dropped because `takeData()` was not called (`maxDataBytes`). */
  dataDropped: number;
  /** URCs dropped from a full held-URC queue. */
  urcsDropped: number;
  /** Host bytes passed through in data mode. */
  dataBytesIn: number;
  /** Network bytes sent to the host in data mode. */
  dataBytesOut: number;
  connects: number;
  hangups: number;
  escapes: number;
}

/** A read-only snapshot of the modem, given to script functions and tests. */
export interface SimModemState {
  mode: SimMode;
  echo: boolean;
  cmee: 0 | 1 | 2;
  dtr: boolean;
  /** `&D` setting (V.250 clause 6.2.9). */
  dtrMode: number;
  /** Whether the modem answers commands yet (`bootDelayMs`). */
  booted: boolean;
  sim: SimSimState;
  registration: SimRegistrationSnapshot;
  attached: boolean;
  pdpContexts: SimPdpContextState[];
  counters: SimCounters;
}

export function emptyCounters(): SimCounters {
  return {
    bytesIn: 0,
    bytesOut: 0,
    commandLines: 0,
    errors: 0,
    linesTooLong: 0,
    inputDropped: 0,
    outputDropped: 0,
    dataDropped: 0,
    urcsDropped: 0,
    dataBytesIn: 0,
    dataBytesOut: 0,
    connects: 0,
    hangups: 0,
    escapes: 0,
  };
}
