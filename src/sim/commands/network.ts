import type { RegistrationDomain } from '../../modem/parse/registration.js';
import type { ExtendedCommand } from '../at-parse.js';
import { inRange, intParam, strParam } from './args.js';
import { type CommandContext, cme, error, OK, type Outcome, ok, unsupported } from './types.js';

const DOMAIN_OF: Readonly<Record<string, RegistrationDomain>> = {
  '+CREG': 'cs',
  '+CGREG': 'ps',
  '+CEREG': 'eps',
  '+C5GREG': '5gs',
};

/**
 * +CREG (27.007 clause 7.2), +CGREG (10.1.20), +CEREG (10.1.22), +C5GREG (10.1.49):
 * `=<n>` with n 0 (no URC), 1 (`<stat>`), 2 (with location); the later n (3: reject cause,
 * 4/5: PSM timers) are not simulated and answer ERROR.
 */
export function registration(cmd: ExtendedCommand, ctx: CommandContext): Outcome {
  const domain = DOMAIN_OF[cmd.name];
  if (domain === undefined || !ctx.network.domains.includes(domain)) return unsupported();
  switch (cmd.op) {
    case 'read':
      return ok(ctx.network.readLine(domain));
    case 'test':
      return ok(`${cmd.name}: (0-2)`);
    case 'set': {
      const n = intParam(cmd.args, 0) ?? 0;
      if (!inRange(n, 0, 2) || cmd.args.length > 1) return error();
      ctx.network.setN(domain, n);
      return OK;
    }
    default:
      return error();
  }
}

/** +CSQ (27.007 clause 8.5). */
export function csq(cmd: ExtendedCommand, ctx: CommandContext): Outcome {
  if (cmd.op === 'test') return ok('+CSQ: (0-31,99),(0-7,99)');
  return cmd.op === 'exec' ? ok(ctx.network.csqLine()) : error();
}

/** +CESQ (27.007 clause 8.69). */
export function cesq(cmd: ExtendedCommand, ctx: CommandContext): Outcome {
  if (cmd.op === 'test') return ok('+CESQ: (0-63,99),(0-7,99),(0-96,255),(0-49,255),(0-34,255),(0-97,255)');
  return cmd.op === 'exec' ? ok(ctx.network.cesqLine()) : error();
}

/**
 * +COPS (27.007 clause 7.3): read the serving operator in the chosen `<format>`; `=?` scans
 * (takes `scanMs`); `=0` automatic, `=1,<format>,<oper>` manual, `=2` deregister, `=3,<format>`
 * sets the format only, `=4` manual with automatic fallback.
 */
export function cops(cmd: ExtendedCommand, ctx: CommandContext): Outcome {
  const net = ctx.network;
  if (cmd.op === 'read') return ok(net.copsRead());
  if (cmd.op === 'test') {
    if (!net.radioOn) return cme(3);
    return { lines: [net.copsTest()], delayMs: ctx.config.network.scanMs };
  }
  if (cmd.op === 'exec') return error();
  const mode = intParam(cmd.args, 0) ?? 0;
  const format = intParam(cmd.args, 1);
  const oper = strParam(cmd.args, 2);
  if (!inRange(mode, 0, 4) || (format !== undefined && !inRange(format, 0, 2))) return error();
  const setFormat = (): void => {
    if (format !== undefined) net.copsFormat = format as 0 | 1 | 2;
  };
  switch (mode) {
    case 0:
      setFormat();
      return { lines: [], commit: (now) => automatic(ctx, now) };
    case 2:
      setFormat();
      return {
        lines: [],
        commit: () => {
          net.copsMode = 2;
          net.stop();
        },
      };
    case 3:
      if (format === undefined) return error();
      setFormat();
      return OK;
    default: {
      // 1 manual, 4 manual/automatic: the one network that exists, or (4) automatic.
      if (format === undefined || oper === undefined) return error();
      const serving = net.isServing(format, oper);
      if (!serving && mode === 1) return cme(30);
      setFormat();
      return {
        lines: [],
        commit: (now) => {
          automatic(ctx, now);
          if (serving && mode === 1) net.copsMode = 1;
        },
      };
    }
  }
}

function automatic(ctx: CommandContext, now: number): void {
  const net = ctx.network;
  const wasOff = net.copsMode === 2;
  net.copsMode = 0;
  if (wasOff && ctx.sim.ready) net.start(now);
}

/** +CFUN (27.007 clause 8.2): 0 minimum, 1 full, 4 flight mode; `=1,1` resets the MT. */
export function cfun(cmd: ExtendedCommand, ctx: CommandContext): Outcome {
  if (cmd.op === 'read') return ok(`+CFUN: ${ctx.network.fun}`);
  if (cmd.op === 'test') return ok('+CFUN: (0,1,4),(0,1)');
  if (cmd.op === 'exec') return error();
  const fun = intParam(cmd.args, 0);
  const rst = intParam(cmd.args, 1) ?? 0;
  if (fun === undefined || ![0, 1, 4].includes(fun) || !inRange(rst, 0, 1)) return error();
  if (rst === 1) {
    if (fun !== 1) return error();
    return { lines: [], commit: (now) => ctx.reboot(now) };
  }
  return { lines: [], commit: (now) => ctx.setFunctionality(fun, now) };
}

/** +CMEE (27.007 clause 9.1): 0 `ERROR`, 1 numeric, 2 verbose `+CME ERROR: <err>`. */
export function cmee(cmd: ExtendedCommand, ctx: CommandContext): Outcome {
  if (cmd.op === 'read') return ok(`+CMEE: ${ctx.settings.cmee}`);
  if (cmd.op === 'test') return ok('+CMEE: (0-2)');
  if (cmd.op === 'exec') return error();
  const n = intParam(cmd.args, 0) ?? 0;
  if (!inRange(n, 0, 2) || cmd.args.length > 1) return error();
  ctx.settings.cmee = n as 0 | 1 | 2;
  return OK;
}
