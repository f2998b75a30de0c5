import type { ExtendedCommand } from '../at-parse.js';
import type { ResolvedSimConfig } from '../config.js';
import type { Network } from '../network.js';
import type { PdpTable } from '../pdp.js';
import type { SimCard } from '../sim-card.js';
import type { SimMode, SimModemState } from '../state.js';

/** How a command ends, if it ends the command line (V.250 clause 5.7.1, 27.007 clause 9.2). */
export type Final =
  | { kind: 'error' }
  /** The firmware does not have the command: `ERROR`, Huawei `COMMAND NOT SUPPORT`. */
  | { kind: 'unsupported' }
  | { kind: 'cme'; cause: number }
  | { kind: 'no-carrier' }
  /** `CONNECT <text>`: the DCE is in online data state once it is sent. */
  | { kind: 'connect'; newCall: boolean }
  /** A literal final result code (scripts); `''` sends none. */
  | { kind: 'text'; text: string };

/** The answer to one command of a command line. */
export interface Outcome {
  /** Information text lines. */
  lines: readonly string[];
  /** Ends the command line; absent means success and the next command runs (`OK` at the end). */
  final?: Final;
  /** The answer comes this many milliseconds later; input is held meanwhile. */
  delayMs?: number;
  /** Runs when the answer is sent (after `delayMs`), before the final result code. */
  commit?: (now: number) => void;
  /** A call being set up: DTR drop or carrier loss meanwhile ends it with NO CARRIER. */
  dialing?: boolean;
}

/** DTE-DCE settings that ATZ / AT&F reset (V.250 clauses 6.1.1, 6.1.2, 6.2). */
export interface DteSettings {
  echo: boolean;
  cmee: 0 | 1 | 2;
  /** V0/V1: accepted, responses stay verbose. */
  verbose: boolean;
  /** Q0/Q1: accepted, result codes are always sent. */
  quiet: boolean;
  /** &C (circuit 109, DCD). */
  dcdMode: number;
  /** &D (circuit 108, DTR), V.250 clause 6.2.9. */
  dtrMode: number;
  /** S-parameters by number. */
  s: Map<number, number>;
}

/** What a command handler may read and change; implemented by the core. */
export interface CommandContext {
  readonly now: number;
  readonly config: ResolvedSimConfig;
  readonly settings: DteSettings;
  readonly sim: SimCard;
  readonly network: Network;
  readonly pdp: PdpTable;
  readonly mode: SimMode;
  /** A call is up (online data or online command state). */
  readonly inCall: boolean;
  state(): SimModemState;
  /** Enter online data state on a new call using context `cid`. */
  startCall(cid: number, now: number): void;
  /** ATO: back to online data state. */
  resumeCall(now: number): void;
  /** Ends the call (ATH, ATZ, CFUN=0...). */
  hangUp(reason: HangupReason, now: number): void;
  /** ATZ / AT&F. */
  resetSettings(): void;
  /** CFUN=1,1: reboot after the answer is sent. */
  reboot(now: number): void;
  /** PIN or PUK accepted: URCs and registration follow. */
  simUnlocked(now: number): void;
  /** +CFUN=<fun>. */
  setFunctionality(fun: number, now: number): void;
}

export type HangupReason = 'ath' | 'dtr' | 'carrier' | 'reset' | 'cfun' | 'detach' | 'cgact';

export type ExtendedHandler = (cmd: ExtendedCommand, ctx: CommandContext) => Outcome;

export const OK: Outcome = { lines: [] };

export function ok(...lines: string[]): Outcome {
  return { lines };
}

export function error(): Outcome {
  return { lines: [], final: { kind: 'error' } };
}

export function unsupported(): Outcome {
  return { lines: [], final: { kind: 'unsupported' } };
}

export function cme(cause: number): Outcome {
  return { lines: [], final: { kind: 'cme', cause } };
}

export function noCarrier(): Outcome {
  return { lines: [], final: { kind: 'no-carrier' } };
}
