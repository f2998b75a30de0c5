import { describe, expect, it } from 'vitest';
import { type ConfigVerdict, Fsm, type FsmCallbacks, type FsmFinish } from '../../src/ppp/fsm.js';
import { Code, emitCpPacket, parseCpPacket } from '../../src/ppp/packet.js';

/**
 * The RFC 1661 automaton driven event by event with explicit times, against a trivial
 * option handler: one option byte, acked when it is 1, Nak'd otherwise.
 */
function harness(options: { maxConfigure?: number; maxFailure?: number; maxTerminate?: number } = {}) {
  const sent: { code: number; id: number; data: number[] }[] = [];
  const calls: string[] = [];
  let request = Uint8Array.of(1, 3, 7); // type 1, length 3, value 7
  const cb: FsmCallbacks = {
    up: () => calls.push('up'),
    down: () => calls.push('down'),
    started: () => calls.push('started'),
    finished: (_now: number, why: FsmFinish) => calls.push(`finished:${why}`),
    resetOptions: () => calls.push('reset'),
    requestOptions: () => request,
    ackReceived: (d) => d.length === request.length && d.every((b, i) => b === request[i]),
    nakReceived: (d) => {
      request = Uint8Array.from(d);
      return true;
    },
    rejectReceived: () => {
      request = new Uint8Array(0);
      return true;
    },
    checkRequest: (d: Uint8Array, rejectInstead: boolean): ConfigVerdict => {
      if (d[2] === 1) return { code: Code.ConfAck, data: d };
      return { code: rejectInstead ? Code.ConfRej : Code.ConfNak, data: Uint8Array.of(1, 3, 1) };
    },
  };
  const fsm = new Fsm(cb, {
    name: 'TEST',
    send: (p) => {
      const c = parseCpPacket(p);
      sent.push({ code: c.code, id: c.id, data: [...c.data] });
    },
    ...options,
  });
  const rx = (code: number, id: number, data: number[] = [], now = 0) =>
    fsm.input(emitCpPacket(code, id, Uint8Array.from(data)), now);
  const lastReq = () => [...sent].reverse().find((s) => s.code === Code.ConfReq)!;
  return { fsm, sent, calls, rx, lastReq };
}

describe('RFC 1661 automaton', () => {
  it('goes Initial -> Starting -> Req-Sent -> Ack-Rcvd -> Opened', () => {
    const h = harness();
    expect(h.fsm.state).toBe('initial');
    h.fsm.open(0);
    expect(h.fsm.state).toBe('starting');
    expect(h.calls).toEqual(['started']);
    h.fsm.up(0);
    expect(h.fsm.state).toBe('req-sent');
    expect(h.sent.map((s) => s.code)).toEqual([Code.ConfReq]);
    h.rx(Code.ConfAck, h.lastReq().id, h.lastReq().data, 10);
    expect(h.fsm.state).toBe('ack-rcvd');
    h.rx(Code.ConfReq, 0x42, [1, 3, 1], 20);
    expect(h.fsm.state).toBe('opened');
    expect(h.sent.at(-1)).toEqual({ code: Code.ConfAck, id: 0x42, data: [1, 3, 1] });
    expect(h.calls).toEqual(['started', 'reset', 'up']);
    expect(h.fsm.nextDeadline()).toBeUndefined();
  });

  it('goes Req-Sent -> Ack-Sent -> Opened when the peer asks first', () => {
    const h = harness();
    h.fsm.open(0);
    h.fsm.up(0);
    h.rx(Code.ConfReq, 1, [1, 3, 1]);
    expect(h.fsm.state).toBe('ack-sent');
    h.rx(Code.ConfAck, h.lastReq().id, h.lastReq().data);
    expect(h.fsm.state).toBe('opened');
  });

  it('retransmits a lost Configure-Request on the restart timer, then gives up after Max-Configure', () => {
    const h = harness({ maxConfigure: 3 });
    h.fsm.open(0);
    h.fsm.up(0);
    expect(h.fsm.nextDeadline()).toBe(3000);
    h.fsm.tick(2999);
    expect(h.sent).toHaveLength(1);
    h.fsm.tick(3000);
    expect(h.sent).toHaveLength(2);
    expect(h.sent[1]!.id).not.toBe(h.sent[0]!.id);
    h.fsm.tick(6000);
    expect(h.sent).toHaveLength(3);
    h.fsm.tick(9000);
    expect(h.fsm.state).toBe('stopped');
    expect(h.calls.at(-1)).toBe('finished:timeout');
  });

  it('discards Acks with a stale Identifier or options that differ from the request', () => {
    const h = harness();
    h.fsm.open(0);
    h.fsm.up(0);
    h.rx(Code.ConfAck, (h.lastReq().id + 1) & 0xff, h.lastReq().data);
    h.rx(Code.ConfAck, h.lastReq().id, [1, 3, 9]);
    expect(h.fsm.state).toBe('req-sent');
    expect(h.fsm.stats.discarded).toBe(2);
  });

  it('adopts Nak values and asks again; turns its own Naks into Rejects after Max-Failure', () => {
    const h = harness({ maxFailure: 2 });
    h.fsm.open(0);
    h.fsm.up(0);
    h.rx(Code.ConfNak, h.lastReq().id, [1, 3, 5]);
    expect(h.lastReq().data).toEqual([1, 3, 5]);
    for (let i = 0; i < 3; i++) h.rx(Code.ConfReq, 10 + i, [1, 3, 9]);
    expect(h.sent.filter((s) => s.code === Code.ConfNak)).toHaveLength(2);
    expect(h.sent.at(-1)!.code).toBe(Code.ConfRej);
  });

  it('answers Terminate-Request in Opened, then finishes after one restart period', () => {
    const h = harness();
    h.fsm.open(0);
    h.fsm.up(0);
    h.rx(Code.ConfReq, 1, [1, 3, 1]);
    h.rx(Code.ConfAck, h.lastReq().id, h.lastReq().data);
    h.rx(Code.TermReq, 0x33, [], 100);
    expect(h.sent.at(-1)).toEqual({ code: Code.TermAck, id: 0x33, data: [] });
    expect(h.fsm.state).toBe('stopping');
    expect(h.calls).toContain('down');
    h.fsm.tick(3100);
    expect(h.fsm.state).toBe('stopped');
    expect(h.calls.at(-1)).toBe('finished:peer-terminated');
  });

  it('closes with Terminate-Request, retransmits it Max-Terminate times, finishes on Ack', () => {
    const h = harness({ maxTerminate: 2 });
    h.fsm.open(0);
    h.fsm.up(0);
    h.rx(Code.ConfReq, 1, [1, 3, 1]);
    h.rx(Code.ConfAck, h.lastReq().id, h.lastReq().data);
    h.fsm.close(1000);
    expect(h.fsm.state).toBe('closing');
    expect(h.sent.at(-1)!.code).toBe(Code.TermReq);
    h.fsm.tick(4000);
    expect(h.sent.filter((s) => s.code === Code.TermReq)).toHaveLength(2);
    h.rx(Code.TermAck, h.sent.at(-1)!.id, [], 4100);
    expect(h.fsm.state).toBe('closed');
    expect(h.calls.at(-1)).toBe('finished:closed');
    // Closed answers anything with Terminate-Ack (RFC 1661 4.3 "sta").
    h.rx(Code.ConfReq, 7, [1, 3, 1]);
    expect(h.sent.at(-1)).toEqual({ code: Code.TermAck, id: 7, data: [] });
  });

  it('gives up the Terminate-Request without an answer', () => {
    const h = harness({ maxTerminate: 2 });
    h.fsm.open(0);
    h.fsm.up(0);
    h.fsm.close(0);
    h.fsm.tick(3000);
    h.fsm.tick(6000);
    expect(h.fsm.state).toBe('closed');
  });

  it('renegotiates when a Configure-Request arrives in Opened', () => {
    const h = harness();
    h.fsm.open(0);
    h.fsm.up(0);
    h.rx(Code.ConfReq, 1, [1, 3, 1]);
    h.rx(Code.ConfAck, h.lastReq().id, h.lastReq().data);
    expect(h.fsm.state).toBe('opened');
    h.rx(Code.ConfReq, 2, [1, 3, 1]);
    expect(h.calls.filter((c) => c === 'down')).toHaveLength(1);
    expect(h.fsm.state).toBe('ack-sent');
    expect(h.sent.slice(-2).map((s) => s.code)).toEqual([Code.ConfReq, Code.ConfAck]);
  });

  it('Code-Rejects unknown codes and drops malformed packets', () => {
    const h = harness();
    h.fsm.open(0);
    h.fsm.up(0);
    h.rx(42, 9, [1, 2, 3]);
    expect(h.sent.at(-1)!.code).toBe(Code.CodeRej);
    expect(h.sent.at(-1)!.data.slice(0, 4)).toEqual([42, 9, 0, 7]);
    h.fsm.input(Uint8Array.of(1, 2, 0), 0);
    h.fsm.input(Uint8Array.of(1, 2, 0, 200), 0);
    expect(h.fsm.stats.malformed).toBe(2);
  });

  it('treats a Code-Reject of a Configure code as fatal (RXJ-)', () => {
    const h = harness();
    h.fsm.open(0);
    h.fsm.up(0);
    h.rx(Code.CodeRej, 3, [Code.ConfReq, 1, 0, 4]);
    expect(h.fsm.state).toBe('stopped');
    expect(h.calls.at(-1)).toBe('finished:rejected');
  });

  it('ignores everything before Open and Up', () => {
    const h = harness();
    h.rx(Code.ConfReq, 1, [1, 3, 1]);
    expect(h.sent).toEqual([]);
    expect(h.fsm.stats.discarded).toBe(1);
  });
});
