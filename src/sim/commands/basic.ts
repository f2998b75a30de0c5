import { sParameterText } from '../at-format.js';
import type { AtCommand } from '../at-parse.js';
import { type CommandContext, error, noCarrier, OK, type Outcome, ok, unsupported } from './types.js';

/**
 * S-parameters and their defaults: S0 auto-answer rings (V.250 clause 6.3.7), S2 escape
 * character and S12 escape guard time in 1/50 s (Hayes), S3 line terminator (6.2.1), S4
 * response formatting character (6.2.2), S5 editing character (6.2.3), S6 pause before dialling
 * (6.3.8), S7 connection completion timeout (6.3.9), S8 comma dial modifier time (6.3.10),
 * S10 automatic disconnect delay (6.3.11).
 */
export const S_DEFAULTS: ReadonlyMap<number, number> = new Map([
  [0, 0],
  [2, 43],
  [3, 13],
  [4, 10],
  [5, 8],
  [6, 2],
  [7, 50],
  [8, 2],
  [10, 2],
  [12, 50],
]);

/** Basic commands and S-parameters (V.250 clauses 5.3, 6.1, 6.2, 6.3). */
export function basicCommand(
  cmd: Extract<AtCommand, { type: 'basic' | 's-read' | 's-set' }>,
  ctx: CommandContext,
): Outcome {
  const s = ctx.settings;
  if (cmd.type === 's-read') {
    const v = s.s.get(cmd.register);
    return v === undefined ? error() : ok(sParameterText(v));
  }
  if (cmd.type === 's-set') {
    if (!s.s.has(cmd.register)) return error();
    const max = cmd.register >= 3 && cmd.register <= 5 ? 127 : 255;
    if (cmd.value > max) return error();
    s.s.set(cmd.register, cmd.value);
    return OK;
  }
  // V.250 clause 5.3.1: a basic command without a number means 0.
  const v = cmd.value ?? 0;
  switch (cmd.name) {
    case 'E': // 6.2.4 command echo
      return flag(v, (on) => {
        s.echo = on;
      });
    case 'V': // 6.2.6 response format: accepted, responses stay verbose
      return flag(v, (on) => {
        s.verbose = on;
      });
    case 'Q': // 6.2.5 result code suppression: accepted, result codes are always sent
      return flag(v, (on) => {
        s.quiet = on;
      });
    case 'X': // 6.2.7 result code selection
      return v <= 4 ? OK : error();
    case '&C': // 6.2.8 circuit 109 (DCD) behaviour
      return setting(v, 2, (n) => {
        s.dcdMode = n;
      });
    case '&D': // 6.2.9 circuit 108 (DTR) behaviour
      return setting(v, 2, (n) => {
        s.dtrMode = n;
      });
    case '&W':
      return v === 0 ? OK : error();
    case 'Z': // 6.1.1 reset to default configuration; a call in progress is ended
      if (v !== 0) return error();
      return {
        lines: [],
        commit: (now) => {
          if (ctx.inCall) ctx.hangUp('reset', now);
          ctx.resetSettings();
        },
      };
    case '&F': // 6.1.2 set to factory-defined configuration
      return v === 0 ? { lines: [], commit: () => ctx.resetSettings() } : error();
    case 'I': // 6.1.3 request identification information
      return identification(v, ctx);
    case 'H': // 6.3.5 hook control: H0 hangs up
      if (v !== 0) return error();
      return { lines: [], commit: (now) => ctx.hangUp('ath', now) };
    case 'O': // 6.3.6 return to online data state
      if (v !== 0) return error();
      if (!ctx.inCall) return noCarrier();
      return { lines: [], final: { kind: 'connect', newCall: false }, commit: (now) => ctx.resumeCall(now) };
    case 'A': // 6.3.4 answer: there is never an incoming call
      return noCarrier();
    case 'L': // 6.3.12 / 6.3.13 speaker: nothing to do
    case 'M':
      return v <= 3 ? OK : error();
    default:
      return unsupported();
  }
}

function flag(v: number, set: (on: boolean) => void): Outcome {
  if (v > 1) return error();
  set(v === 1);
  return OK;
}

function setting(v: number, max: number, set: (n: number) => void): Outcome {
  if (v > max) return error();
  set(v);
  return OK;
}

/** ATI: the manufacturer, model and revision, laid out as the flavour's firmware does. */
function identification(v: number, ctx: CommandContext): Outcome {
  const id = ctx.config.identity;
  const profile = ctx.config.profile;
  if (v === 9 && ctx.config.flavour === 'ublox') return ok(id.revision); // u-blox ATI9: firmware version
  if (v !== 0) return error();
  if (profile.ati === 'plain') return ok(id.manufacturer, id.model, `Revision: ${id.revision}`);
  const lines = [
    `Manufacturer: ${id.manufacturer}`,
    `Model: ${id.model}`,
    `Revision: ${id.revision}`,
    `IMEI: ${id.imei}`,
  ];
  if (profile.gcap) lines.push(profile.gcap);
  return ok(...lines);
}
