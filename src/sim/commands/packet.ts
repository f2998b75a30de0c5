import type { AtCommand, ExtendedCommand } from '../at-parse.js';
import { MAX_APN, PDP_TYPES } from '../pdp.js';
import { inRange, intParam, strParam } from './args.js';
import { type CommandContext, cme, error, noCarrier, OK, type Outcome, ok } from './types.js';

/**
 * Packet domain: +CGDCONT (27.007 clause 10.1.1), +CGATT (10.1.9), +CGACT (10.1.10),
 * +CGDATA (10.1.12), +CGPADDR (10.1.14) and the dial string `D*99...#` (10.2.1.1).
 */
export function cgdcont(cmd: ExtendedCommand, ctx: CommandContext): Outcome {
  const max = ctx.config.profile.maxCid;
  if (cmd.op === 'test') {
    return ok(...PDP_TYPES.map((t) => `+CGDCONT: (1-${max}),"${t}",,,(0-2),(0-4)`));
  }
  if (cmd.op === 'read') {
    return ok(
      ...ctx.pdp
        .list()
        .map((c) => `+CGDCONT: ${c.cid},"${c.pdpType}","${c.apn}","${c.address ?? '0.0.0.0'}",0,0`),
    );
  }
  if (cmd.op === 'exec') return error();
  const cid = intParam(cmd.args, 0);
  if (!inRange(cid, 1, max)) return error();
  if (ctx.pdp.isActive(cid)) return cme(3); // cannot redefine a context in use
  if (cmd.args.length === 1) {
    // "A special form of the set command, +CGDCONT=<cid> causes the values for context
    // number <cid> to become undefined."
    ctx.pdp.undefine(cid);
    return OK;
  }
  const pdpType = strParam(cmd.args, 1)?.toUpperCase();
  const apn = strParam(cmd.args, 2) ?? '';
  if (pdpType === undefined || !PDP_TYPES.includes(pdpType) || apn.length > MAX_APN) return error();
  ctx.pdp.define(cid, pdpType, apn);
  return OK;
}

/** +CGATT: `=1` needs a registration (the MT attaches with it); `=0` detaches and ends a call. */
export function cgatt(cmd: ExtendedCommand, ctx: CommandContext): Outcome {
  const net = ctx.network;
  if (cmd.op === 'read') return ok(`+CGATT: ${net.attached ? 1 : 0}`);
  if (cmd.op === 'test') return ok('+CGATT: (0,1)');
  if (cmd.op === 'exec') return error();
  const state = intParam(cmd.args, 0);
  if (!inRange(state, 0, 1)) return error();
  if (state === 1) {
    const cause = ctx.sim.blockingCause();
    if (cause !== undefined) return cme(cause);
    if (!net.registered) return cme(30); // no network service
    net.psDetached = false;
    return OK;
  }
  return {
    lines: [],
    commit: (now) => {
      net.psDetached = true;
      ctx.pdp.deactivateAll();
      if (ctx.inCall) ctx.hangUp('detach', now);
    },
  };
}

/** +CGACT=<state>[,<cid>[,<cid>...]] and `+CGACT: <cid>,<state>` lines. */
export function cgact(cmd: ExtendedCommand, ctx: CommandContext): Outcome {
  if (cmd.op === 'read') return ok(...ctx.pdp.list().map((c) => `+CGACT: ${c.cid},${c.active ? 1 : 0}`));
  if (cmd.op === 'test') return ok('+CGACT: (0,1)');
  if (cmd.op === 'exec') return error();
  const state = intParam(cmd.args, 0);
  if (!inRange(state, 0, 1)) return error();
  const cids = cidList(cmd, 1, ctx);
  if (!cids) return error();
  if (state === 1 && !ctx.network.attached) return cme(30);
  return {
    lines: [],
    commit: (now) => {
      for (const cid of cids) ctx.pdp.setActive(cid, state === 1);
      if (state === 0 && ctx.inCall && !ctx.state().pdpContexts.some((c) => c.active))
        ctx.hangUp('cgact', now);
    },
  };
}

/** +CGPADDR[=<cid>[,<cid>...]]: `+CGPADDR: <cid>[,"<addr>"]`, the address omitted when none. */
export function cgpaddr(cmd: ExtendedCommand, ctx: CommandContext): Outcome {
  const contexts = ctx.pdp.list();
  if (cmd.op === 'test') return ok(`+CGPADDR: (${contexts.map((c) => c.cid).join(',')})`);
  if (cmd.op === 'read') return error();
  const cids = cmd.op === 'exec' ? contexts.map((c) => c.cid) : cidList(cmd, 0, ctx);
  if (!cids) return error();
  const lines = contexts
    .filter((c) => cids.includes(c.cid))
    .map((c) => (c.address ? `+CGPADDR: ${c.cid},"${c.address}"` : `+CGPADDR: ${c.cid}`));
  return ok(...lines);
}

/** Defined cids from parameter `from` on; all defined ones if none given; `undefined` if one is not defined. */
function cidList(cmd: ExtendedCommand, from: number, ctx: CommandContext): number[] | undefined {
  const given = cmd.args.slice(from).filter((f) => f.text !== '');
  if (given.length === 0) return ctx.pdp.list().map((c) => c.cid);
  const out: number[] = [];
  for (let i = from; i < cmd.args.length; i++) {
    const cid = intParam(cmd.args, i);
    if (cid === undefined) continue;
    if (!Number.isInteger(cid) || !ctx.pdp.has(cid)) return undefined;
    out.push(cid);
  }
  return out;
}

/** +CGDATA[="PPP"[,<cid>]]: enter data state with PPP as the layer 2 protocol. */
export function cgdata(cmd: ExtendedCommand, ctx: CommandContext): Outcome {
  if (cmd.op === 'test') return ok('+CGDATA: ("PPP")');
  if (cmd.op === 'read') return error();
  const l2p = cmd.op === 'set' ? strParam(cmd.args, 0) : undefined;
  if (l2p !== undefined && l2p.toUpperCase() !== 'PPP') return error();
  const cid = cmd.op === 'set' ? intParam(cmd.args, 1) : undefined;
  if (cid !== undefined && !Number.isInteger(cid)) return error();
  return packetCall(ctx, cid);
}

/**
 * `D*99[*[<called_address>][*[<L2P>][*[<cid>]]]]#` (27.007 clause 10.2.1.1). Any other number
 * would be a circuit-switched call, which the simulator does not carry: NO CARRIER.
 */
export function dial(cmd: Extract<AtCommand, { type: 'dial' }>, ctx: CommandContext): Outcome {
  // V.250 clause 6.3.1: T and P (tone, pulse) and spaces are dial modifiers, not digits.
  const dialString = cmd.dialString.replace(/^[TtPp]/, '').replace(/\s+/g, '');
  const m = /^\*99((?:\*[^*#]*){0,3})#$/.exec(dialString);
  if (!m) return noCarrier();
  const parts = m[1]!.split('*').slice(1);
  const l2p = (parts[1] ?? '').toUpperCase();
  if (l2p !== '' && l2p !== 'PPP' && l2p !== '1') return error();
  const cidText = (parts[2] ?? '').split(',')[0]!;
  if (cidText !== '' && !/^\d{1,3}$/.test(cidText)) return error();
  return packetCall(ctx, cidText === '' ? undefined : Number(cidText));
}

/**
 * A packet data call: needs an unlocked SIM (else the SIM's CME error), a defined context
 * and a registration (else NO CARRIER); answers CONNECT after `connectDelayMs`, attaching
 * and activating the context on the way.
 */
function packetCall(ctx: CommandContext, requested: number | undefined): Outcome {
  if (ctx.inCall) return cme(3);
  const cause = ctx.sim.blockingCause();
  if (cause !== undefined) return cme(cause);
  const cid = requested ?? (ctx.pdp.has(1) ? 1 : ctx.pdp.list()[0]?.cid);
  if (cid === undefined || !ctx.pdp.has(cid)) return noCarrier();
  if (!ctx.network.registered) return noCarrier();
  return {
    lines: [],
    final: { kind: 'connect', newCall: true },
    delayMs: ctx.config.connectDelayMs,
    dialing: true,
    commit: (now) => ctx.startCall(cid, now),
  };
}
