import type { ExtendedCommand } from '../at-parse.js';
import { PIN_RETRIES, PIN2_RETRIES, PUK_RETRIES, PUK2_RETRIES } from '../sim-card.js';
import { strParam } from './args.js';
import { type CommandContext, cme, error, OK, type Outcome, ok } from './types.js';

/** +CPIN (27.007 clause 8.3): the SIM's state, and PIN / PUK entry. */
export function cpin(cmd: ExtendedCommand, ctx: CommandContext): Outcome {
  const sim = ctx.sim;
  if (cmd.op === 'test') return OK;
  if (cmd.op === 'exec') return error();
  if (sim.status === 'absent') return cme(10);
  if (sim.status === 'blocked') return cme(13);
  if (cmd.op === 'read') return ok(`+CPIN: ${sim.cpinCode()}`);
  const pin = strParam(cmd.args, 0);
  const newPin = strParam(cmd.args, 1);
  if (pin === undefined || cmd.args.length > 2) return error();
  if (sim.status === 'ready') return cme(3); // nothing to enter: operation not allowed
  if (sim.status === 'puk' && newPin === undefined) return cme(12);
  const result = sim.status === 'puk' ? sim.enterPuk(pin, newPin ?? '') : sim.enterPin(pin);
  switch (result) {
    case 'ok':
      return { lines: [], commit: (now) => ctx.simUnlocked(now) };
    case 'wrong':
      return cme(16);
    default:
      return error();
  }
}

interface Counters {
  pin: number;
  puk: number;
  pin2: number;
  puk2: number;
}

function counters(ctx: CommandContext): Counters {
  return { pin: ctx.sim.pinRetries, puk: ctx.sim.pukRetries, pin2: PIN2_RETRIES, puk2: PUK2_RETRIES };
}

/** +CPINR[=<sel_code>] (27.007 clause 8.65): `+CPINR: <code>,<retries>,<default_retries>`. */
export function cpinr(cmd: ExtendedCommand, ctx: CommandContext): Outcome {
  if (cmd.op === 'test') return OK;
  if (cmd.op === 'read') return error();
  if (ctx.sim.status === 'absent') return cme(10);
  const c = counters(ctx);
  const all: [string, number, number][] = [
    ['SIM PIN', c.pin, PIN_RETRIES],
    ['SIM PUK', c.puk, PUK_RETRIES],
    ['SIM PIN2', c.pin2, PIN2_RETRIES],
    ['SIM PUK2', c.puk2, PUK2_RETRIES],
  ];
  const sel = cmd.op === 'set' ? strParam(cmd.args, 0) : undefined;
  const pattern = sel === undefined ? undefined : wildcard(sel);
  const lines = all
    .filter(([code]) => !pattern || pattern.test(code))
    .map(([code, n, d]) => `+CPINR: ${code},${n},${d}`);
  return ok(...lines);
}

/** `<sel_code>` may hold the wildcards `*` and `?` (27.007 clause 8.65). */
function wildcard(sel: string): RegExp {
  const body = sel
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

/**
 * Huawei `^CPIN: <code>,[<times>],<puk_times>,<pin_times>,<puk2_times>,<pin2_times>`;
 * `<times>` is the count left for the code asked for, empty when READY.
 */
export function huaweiCpin(cmd: ExtendedCommand, ctx: CommandContext): Outcome {
  if (cmd.op === 'test') return OK;
  if (cmd.op !== 'read') return error();
  const sim = ctx.sim;
  if (sim.status === 'absent') return cme(10);
  if (sim.status === 'blocked') return cme(13);
  const c = counters(ctx);
  const times = sim.status === 'pin' ? String(c.pin) : sim.status === 'puk' ? String(c.puk) : '';
  return ok(`^CPIN: ${sim.cpinCode()},${times},${c.puk},${c.pin},${c.puk2},${c.pin2}`);
}

/** Quectel `+QPINC: "SC",<pin>,<puk>` and `+QPINC: "P2",<pin2>,<puk2>`. */
export function quectelQpinc(cmd: ExtendedCommand, ctx: CommandContext): Outcome {
  if (cmd.op === 'test') return ok('+QPINC: ("SC","P2")');
  if (cmd.op === 'exec') return error();
  if (ctx.sim.status === 'absent') return cme(10);
  const c = counters(ctx);
  const sc = `+QPINC: "SC",${c.pin},${c.puk}`;
  const p2 = `+QPINC: "P2",${c.pin2},${c.puk2}`;
  if (cmd.op === 'read') return ok(sc, p2);
  const facility = strParam(cmd.args, 0)?.toUpperCase();
  if (facility === 'SC') return ok(sc);
  if (facility === 'P2') return ok(p2);
  return error();
}

/** SIMCom `+SPIC: <pin1>,<puk1>,<pin2>,<puk2>`. */
export function simcomSpic(cmd: ExtendedCommand, ctx: CommandContext): Outcome {
  if (cmd.op === 'test') return OK;
  if (cmd.op !== 'exec') return error();
  if (ctx.sim.status === 'absent') return cme(10);
  const c = counters(ctx);
  return ok(`+SPIC: ${c.pin},${c.puk},${c.pin2},${c.puk2}`);
}

/** u-blox `+UPINCNT: <PIN1_attempts>,<PIN2_attempts>,<PUK1_attempts>,<PUK2_attempts>`. */
export function ubloxUpincnt(cmd: ExtendedCommand, ctx: CommandContext): Outcome {
  if (cmd.op === 'test') return OK;
  if (cmd.op !== 'exec') return error();
  if (ctx.sim.status === 'absent') return cme(10);
  const c = counters(ctx);
  return ok(`+UPINCNT: ${c.pin},${c.pin2},${c.puk},${c.puk2}`);
}
