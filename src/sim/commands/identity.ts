import type { ExtendedCommand } from '../at-parse.js';
import { inRange, intParam } from './args.js';
import { type CommandContext, cme, error, type Outcome, ok } from './types.js';

/**
 * Identification: +CGMI/+GMI, +CGMM/+GMM, +CGMR/+GMR, +CGSN/+GSN (27.007 clauses 5.1-5.4,
 * V.250 clauses 6.1.4-6.1.7), +GCAP (V.250 6.1.9), +CIMI (27.007 5.6) and the ICCID in each
 * vendor's spelling.
 */
function execOnly(cmd: ExtendedCommand, answer: () => Outcome): Outcome {
  if (cmd.op === 'test') return ok();
  return cmd.op === 'exec' ? answer() : error();
}

export function manufacturer(cmd: ExtendedCommand, ctx: CommandContext): Outcome {
  return execOnly(cmd, () => ok(ctx.config.identity.manufacturer));
}

export function model(cmd: ExtendedCommand, ctx: CommandContext): Outcome {
  return execOnly(cmd, () => ok(ctx.config.identity.model));
}

export function revision(cmd: ExtendedCommand, ctx: CommandContext): Outcome {
  const rev = ctx.config.identity.revision;
  // SIMCom prefixes its answer to +CGMR (not to +GMR).
  const prefixed = ctx.config.profile.cgmrPrefix && cmd.name === '+CGMR';
  return execOnly(cmd, () => ok(prefixed ? `+CGMR: ${rev}` : rev));
}

/** +CGSN[=<snt>]: 0 the bare serial number, 1 `+CGSN: "<imei>"`, 2 the IMEISV, 3 the SVN. */
export function serialNumber(cmd: ExtendedCommand, ctx: CommandContext): Outcome {
  const imei = ctx.config.identity.imei;
  if (cmd.name === '+GSN' || cmd.op !== 'set') {
    if (cmd.op === 'test') return ok(cmd.name === '+CGSN' ? '+CGSN: (0-3)' : '');
    return execOnly(cmd, () => ok(imei));
  }
  const snt = intParam(cmd.args, 0) ?? 0;
  if (!inRange(snt, 0, 3)) return error();
  const svn = '01';
  switch (snt) {
    case 0:
      return ok(imei);
    case 1:
      return ok(`+CGSN: "${imei}"`);
    case 2:
      return ok(`+CGSN: "${imei.slice(0, 14)}${svn}"`);
    default:
      return ok(`+CGSN: "${svn}"`);
  }
}

export function capabilities(cmd: ExtendedCommand): Outcome {
  return execOnly(cmd, () => ok('+GCAP: +CGSM'));
}

/** +CIMI needs a SIM that is unlocked (27.007 clause 5.6; errors of clause 9.2). */
export function imsi(cmd: ExtendedCommand, ctx: CommandContext): Outcome {
  return execOnly(cmd, () => {
    const cause = ctx.sim.blockingCause();
    return cause === undefined ? ok(ctx.config.sim.imsi) : cme(cause);
  });
}

/**
 * The ICCID, readable even while the SIM waits for its PIN: generic and u-blox `+CCID:`,
 * Quectel `+QCCID:` (padded with `F` to 20 digits), SIMCom `+CICCID` answers `+ICCID:` and
 * its `+CCID` bare digits (SIM800 style), Huawei `^ICCID:` with the EF_ICCID nibbles swapped.
 */
export function iccid(cmd: ExtendedCommand, ctx: CommandContext): Outcome {
  if (cmd.op === 'test') return ok();
  if (cmd.op === 'set') return error();
  if (ctx.sim.status === 'absent') return cme(10);
  const digits = ctx.config.sim.iccid;
  switch (cmd.name) {
    case '+QCCID':
      return ok(`+QCCID: ${digits.padEnd(20, 'F')}`);
    case '+CICCID':
      return ok(`+ICCID: ${digits}`);
    case '^ICCID':
      return cmd.op === 'read' ? ok(`^ICCID: ${swapNibbles(digits)}`) : error();
    default:
      return ok(ctx.config.flavour === 'simcom' ? digits : `+CCID: ${digits}`);
  }
}

/** EF_ICCID as stored on the card: BCD with each byte's nibbles swapped, `F` padded. */
export function swapNibbles(digits: string): string {
  const even = digits.length % 2 === 0 ? digits : `${digits}F`;
  let out = '';
  for (let i = 0; i + 1 < even.length; i += 2) out += even[i + 1]! + even[i]!;
  return out;
}
