import type { AtCommand, ExtendedCommand } from '../at-parse.js';
import { basicCommand } from './basic.js';
import { capabilities, iccid, imsi, manufacturer, model, revision, serialNumber } from './identity.js';
import { cesq, cfun, cmee, cops, csq, registration } from './network.js';
import { cgact, cgatt, cgdata, cgdcont, cgpaddr, dial } from './packet.js';
import { cpin, cpinr, huaweiCpin, quectelQpinc, simcomSpic, ubloxUpincnt } from './sim.js';
import { type CommandContext, type ExtendedHandler, type Outcome, unsupported } from './types.js';

export { S_DEFAULTS } from './basic.js';
export type { CommandContext, DteSettings, Final, HangupReason, Outcome } from './types.js';

/** Commands every flavour has (3GPP TS 27.007 and ITU-T V.250). */
const STANDARD: ReadonlyMap<string, ExtendedHandler> = new Map<string, ExtendedHandler>([
  ['+CGMI', manufacturer],
  ['+GMI', manufacturer],
  ['+CGMM', model],
  ['+GMM', model],
  ['+CGMR', revision],
  ['+GMR', revision],
  ['+CGSN', serialNumber],
  ['+GSN', serialNumber],
  ['+GCAP', capabilities],
  ['+CIMI', imsi],
  ['+CPIN', cpin],
  ['+CMEE', cmee],
  ['+CREG', registration],
  ['+CGREG', registration],
  ['+CEREG', registration],
  ['+C5GREG', registration],
  ['+CSQ', csq],
  ['+CESQ', cesq],
  ['+COPS', cops],
  ['+CFUN', cfun],
  ['+CGDCONT', cgdcont],
  ['+CGATT', cgatt],
  ['+CGACT', cgact],
  ['+CGPADDR', cgpaddr],
  ['+CGDATA', cgdata],
]);

/** Commands only some firmware has; `FlavourProfile.commands` says which. */
const OPTIONAL: ReadonlyMap<string, ExtendedHandler> = new Map<string, ExtendedHandler>([
  ['+CCID', iccid],
  ['+QCCID', iccid],
  ['+CICCID', iccid],
  ['^ICCID', iccid],
  ['+CPINR', cpinr],
  ['^CPIN', huaweiCpin],
  ['+QPINC', quectelQpinc],
  ['+SPIC', simcomSpic],
  ['+UPINCNT', ubloxUpincnt],
]);

/** Runs one built-in command. */
export function builtIn(cmd: AtCommand, ctx: CommandContext): Outcome {
  switch (cmd.type) {
    case 'dial':
      return dial(cmd, ctx);
    case 'extended':
      return extended(cmd, ctx);
    default:
      return basicCommand(cmd, ctx);
  }
}

function extended(cmd: ExtendedCommand, ctx: CommandContext): Outcome {
  const standard = STANDARD.get(cmd.name);
  if (standard) return standard(cmd, ctx);
  const optional = OPTIONAL.get(cmd.name);
  if (optional && ctx.config.profile.commands.has(cmd.name)) return optional(cmd, ctx);
  return unsupported();
}
