import { fromLatin1 } from '../util/bytes.js';
import { createLogger, printable } from '../util/log.js';
import { cmeError, frame, redactCommandLine } from './at-format.js';
import { CommandLineReader, type LineResult } from './at-line.js';
import { type AtCommand, parseCommandLine } from './at-parse.js';
import { ByteQueue } from './byte-queue.js';
import {
  builtIn,
  type CommandContext,
  type DteSettings,
  type Final,
  type HangupReason,
  type Outcome,
  S_DEFAULTS,
} from './commands/index.js';
import {
  type ResolvedSimConfig,
  resolveSimConfig,
  type SimModemConfig,
  type SimRegistrationUpdate,
  type SimTimelineAction,
} from './config.js';
import { Deadlines } from './deadlines.js';
import { EscapeDetector } from './escape.js';
import { Network } from './network.js';
import { PdpTable } from './pdp.js';
import { ScriptBook } from './script.js';
import { SimCard } from './sim-card.js';
import {
  emptyCounters,
  type SimCounters,
  type SimMode,
  type SimModemState,
  type SimPdpContextState,
  type SimRegistrationSnapshot,
  type SimStatus,
} from './state.js';

const log = createLogger('sim');

/** What happened inside the core, for the shell to emit. */
export type SimCoreEvent =
  /** A command line was received (`AT+CSQ`), as the DTE sent it. */
  | { type: 'command'; line: string }
  | { type: 'connect'; cid: number }
  | { type: 'hangup'; reason: HangupReason }
  /** The `+++` escape took the modem to online command state. */
  | { type: 'escape' }
  | { type: 'boot' };

/** Events kept for `takeEvents()` when nobody takes them. */
const MAX_EVENTS = 1024;
/** Due deadlines run by one `tick()` at most (a deadline that keeps rescheduling itself into the past cannot spin). */
const MAX_DUE_PER_TICK = 256;

/** The command line being executed. */
interface Execution {
  commands: AtCommand[];
  index: number;
  /** Information text answered so far; sent with the final result code. */
  out: string;
  /** A command whose answer comes later (`Outcome.delayMs`). */
  waiting: Outcome | undefined;
}

/**
 * The virtual modem's AT side, sans-I/O: bytes from the DTE go in through `receive()`, bytes
 * for the DTE come out of `takeOutput()`, the time is passed in, and `nextDeadline()` says
 * when `tick()` is next needed. It answers like a 3GPP TS 27.007 / ITU-T V.250 modem of the
 * configured vendor flavour, holds a call in online data state after CONNECT (DTE bytes to
 * `takeData()`, network bytes in through `sendData()`), and leaves it by the `+++` escape,
 * DTR, ATH or carrier loss.
 *
 * Bounds: a command line holds at most `limits.maxLineBytes`; output waiting for the DTE at
 * most `limits.maxOutputBytes` (more is dropped and counted in `counters.outputDropped`);
 * data-mode input at most `limits.maxDataBytes`; input that arrives while a slow command runs
 * at most `limits.maxHeldInputBytes`; held URCs at most `limits.maxHeldUrcs`.
 */
export class SimModemCore {
  readonly config: ResolvedSimConfig;
  private readonly settings: DteSettings;
  private readonly sim: SimCard;
  private readonly network: Network;
  private readonly pdp: PdpTable;
  private readonly reader: CommandLineReader;
  private readonly escape = new EscapeDetector();
  private readonly script: ScriptBook;
  private readonly deadlines = new Deadlines();
  private readonly output: ByteQueue;
  private readonly data: ByteQueue;
  /** DTE bytes waiting for a slow command to finish. */
  private readonly heldInput: ByteQueue;
  /** Network bytes that arrive in online command state, sent after ATO. */
  private readonly heldNetwork: ByteQueue;
  private heldUrcs: string[] = [];
  private events: SimCoreEvent[] = [];
  private counters: SimCounters = emptyCounters();
  private modeValue: SimMode = 'command';
  private call: { cid: number } | undefined;
  private execution: Execution | undefined;
  private dtr = true;
  private booted = false;
  private draining = false;

  constructor(config: SimModemConfig | ResolvedSimConfig, now: number) {
    this.config = 'profile' in config ? config : resolveSimConfig(config);
    const c = this.config;
    this.settings = defaultSettings(c);
    this.sim = new SimCard(c.sim);
    this.network = new Network(
      c.network,
      (line) => this.urc(line),
      c.flavour === 'huawei' && c.urcs.modeChanges,
    );
    this.pdp = new PdpTable(c.pdpContexts, c.pdpAddress);
    this.reader = new CommandLineReader(c.limits.maxLineBytes);
    this.script = new ScriptBook(c.script);
    this.output = new ByteQueue(c.limits.maxOutputBytes);
    this.data = new ByteQueue(c.limits.maxDataBytes);
    this.heldInput = new ByteQueue(c.limits.maxHeldInputBytes);
    this.heldNetwork = new ByteQueue(c.limits.maxOutputBytes);
    c.timeline.forEach((entry, i) => {
      this.deadlines.set(`timeline:${i}`, now + entry.atMs, (t) => this.perform(entry.action, t));
    });
    if (c.bootDelayMs > 0) this.deadlines.set('boot', now + c.bootDelayMs, (t) => this.boot(t));
    else this.boot(now);
  }

  // ---- state -------------------------------------------------------------------------

  get mode(): SimMode {
    return this.modeValue;
  }

  get echo(): boolean {
    return this.settings.echo;
  }

  get cmee(): 0 | 1 | 2 {
    return this.settings.cmee;
  }

  get simStatus(): SimStatus {
    return this.sim.status;
  }

  get registration(): SimRegistrationSnapshot {
    return this.network.snapshot();
  }

  get attached(): boolean {
    return this.network.attached;
  }

  get pdpContexts(): SimPdpContextState[] {
    return this.pdp.list();
  }

  /** Whether a call is up (online data or online command state): circuit 109 (DCD) on. */
  get carrier(): boolean {
    return this.call !== undefined;
  }

  /** The counters (bytes, lines, errors, drops, calls), a copy. */
  stats(): SimCounters {
    return { ...this.counters };
  }

  /** Bytes waiting in `takeOutput()`. */
  get outputQueued(): number {
    return this.output.size;
  }

  get state(): SimModemState {
    return {
      mode: this.modeValue,
      echo: this.settings.echo,
      cmee: this.settings.cmee,
      dtr: this.dtr,
      dtrMode: this.settings.dtrMode,
      booted: this.booted,
      sim: this.sim.snapshot(),
      registration: this.network.snapshot(),
      attached: this.network.attached,
      pdpContexts: this.pdp.list(),
      counters: { ...this.counters },
    };
  }

  // ---- input and time ----------------------------------------------------------------

  /** Bytes from the DTE (host). */
  receive(bytes: Uint8Array, now: number): void {
    this.counters.bytesIn += bytes.length;
    this.advance(now);
    if (!this.booted) {
      this.counters.inputDropped += bytes.length;
      return;
    }
    if (this.execution || this.heldInput.size > 0) {
      if (!this.heldInput.push(bytes)) this.counters.inputDropped += bytes.length;
    } else {
      this.heldInput.unshift(bytes);
    }
    this.drainInput(now);
    this.advance(now);
  }

  tick(now: number): void {
    this.advance(now);
  }

  nextDeadline(): number | undefined {
    let next = this.deadlines.next();
    const reg = this.network.nextDeadline();
    if (reg !== undefined && (next === undefined || reg < next)) next = reg;
    if (this.modeValue === 'data') {
      const esc = this.escape.deadline(this.guardMs());
      if (esc !== undefined && (next === undefined || esc < next)) next = esc;
    }
    return next;
  }

  takeOutput(): Uint8Array[] {
    return this.output.drain();
  }

  /** DTE bytes received in online data state, for whatever sits behind the modem (PPP). */
  takeData(): Uint8Array[] {
    return this.data.drain();
  }

  takeEvents(): SimCoreEvent[] {
    const out = this.events;
    this.events = [];
    return out;
  }

  // ---- the network side and the lines -------------------------------------------------

  /**
   * Bytes from the network to the DTE. Sent at once in online data state, held (bounded)
   * in online command state until ATO, dropped without a call.
   */
  sendData(bytes: Uint8Array): void {
    if (this.modeValue === 'data') {
      this.counters.dataBytesOut += bytes.length;
      this.push(bytes);
    } else if (this.modeValue !== 'online-command' || !this.heldNetwork.push(bytes)) {
      this.counters.dataDropped += bytes.length;
    }
  }

  /**
   * Circuit 108/2 (DTR), V.250 clause 6.2.9. On an on-to-off transition during a call: &D0
   * ignores it, &D1 goes to online command state and says OK, &D2 (default) clears the call
   * ("orderly cleardown") and reports `dtrHangupResult` (NO CARRIER, as cellular modules do).
   */
  setDtr(on: boolean, now: number): void {
    this.advance(now);
    const dropped = this.dtr && !on;
    this.dtr = on;
    if (!dropped) return;
    const mode = this.settings.dtrMode;
    if (mode === 2 && this.execution?.waiting?.dialing) {
      this.abortDial(now);
      return;
    }
    if (!this.call) return;
    if (mode === 1 && this.modeValue === 'data') {
      this.modeValue = 'online-command';
      this.escape.clear();
      this.reader.reset();
      this.push(this.frame(['OK']));
      this.flushUrcs();
    } else if (mode === 2) {
      this.hangUp('dtr', now);
      this.push(this.frame([this.config.dtrHangupResult]));
      this.flushUrcs();
    }
  }

  /** The network drops the call: `NO CARRIER`, back to command state. */
  dropCarrier(now: number): void {
    this.advance(now);
    this.carrierLost(now);
  }

  setRegistration(update: SimRegistrationUpdate, now: number): void {
    this.advance(now);
    this.network.update(update, this.sim.ready);
  }

  /** `<rssi>` (and `<ber>`) of +CSQ; Huawei flavours with signal URCs report `^RSSI`. */
  setSignal(csq: number, ber?: number): void {
    const changed = csq !== this.network.csq;
    this.network.setSignal(csq, ber);
    if (changed && this.signalUrcs()) this.urc(this.network.rssiLine());
  }

  /** Sends an unsolicited result code (held in data mode and while a command runs). */
  emitUrc(line: string, now: number): void {
    this.advance(now);
    this.urc(line);
  }

  // ---- internals: time ----------------------------------------------------------------

  private advance(now: number): void {
    for (let i = 0; i < MAX_DUE_PER_TICK; i++) {
      const reg = this.network.nextDeadline();
      const next = this.deadlines.next();
      if (reg !== undefined && reg <= now && (next === undefined || reg <= next)) {
        this.network.tick(now);
        continue;
      }
      const run = this.deadlines.takeDue(now);
      if (!run) break;
      run(now);
    }
    if (this.modeValue === 'data' && this.escape.complete(now, this.guardMs())) this.escaped();
  }

  private guardMs(): number {
    return (this.settings.s.get(12) ?? 50) * 20;
  }

  private perform(action: SimTimelineAction, now: number): void {
    switch (action.type) {
      case 'urc':
        this.urc(action.line);
        break;
      case 'registration': {
        const { type: _type, ...update } = action;
        this.network.update(update, this.sim.ready);
        break;
      }
      case 'signal':
        this.setSignal(action.csq, action.ber);
        break;
      case 'drop-carrier':
        this.carrierLost(now);
        break;
      case 'network-data':
        this.sendData(action.bytes);
        break;
    }
  }

  // ---- internals: boot ----------------------------------------------------------------

  private boot(now: number): void {
    const c = this.config;
    this.booted = true;
    this.reader.reset();
    this.flushUrcs();
    this.resetSettings();
    this.sim.powerOn();
    this.network.fun = 1;
    this.network.copsMode = 0;
    this.network.psDetached = false;
    this.pdp.deactivateAll();
    this.pushEvent({ type: 'boot' });
    if (c.urcs.boot) {
      for (const line of c.profile.bootUrcs) this.urc(line);
      if (this.sim.ready) for (const line of c.profile.simReadyUrcs) this.urc(line);
      else if (c.profile.cpinUrcAtBoot)
        this.urc(`+CPIN: ${this.sim.status === 'absent' ? 'NOT INSERTED' : this.sim.cpinCode()}`);
    }
    if (this.sim.ready) this.network.start(now);
    else this.network.stop();
    if (this.signalUrcs() && c.urcs.signalIntervalMs !== undefined) this.scheduleRssi(now);
  }

  private signalUrcs(): boolean {
    return this.config.flavour === 'huawei' && this.config.urcs.signalIntervalMs !== undefined;
  }

  private scheduleRssi(now: number): void {
    const every = Math.max(1, this.config.urcs.signalIntervalMs ?? 0);
    this.deadlines.set('rssi', now + every, (t) => {
      this.urc(this.network.rssiLine());
      this.scheduleRssi(t);
    });
  }

  private resetSettings(): void {
    const d = defaultSettings(this.config);
    Object.assign(this.settings, d);
    this.network.resetSettings();
  }

  // ---- internals: input -----------------------------------------------------------------

  /** Processes held input until it is used up or a slow command makes the rest wait. */
  private drainInput(now: number): void {
    if (this.draining) return;
    this.draining = true;
    try {
      while (!this.execution && this.heldInput.size > 0) {
        if (!this.booted) {
          // A reset (CFUN=1,1) mid-line: what follows it is lost, as on a real modem.
          this.counters.inputDropped += this.heldInput.size;
          this.heldInput.drain();
          break;
        }
        const chunk = this.heldInput.shift()!;
        const used = this.consume(chunk, now);
        if (used < chunk.length) this.heldInput.unshift(chunk.slice(used));
      }
    } finally {
      this.draining = false;
    }
  }

  /** Feeds bytes to the current mode; returns how many were used (the rest waits for a slow command). */
  private consume(chunk: Uint8Array, now: number): number {
    let i = 0;
    let echoFrom = 0;
    while (i < chunk.length && !this.execution) {
      if (this.modeValue === 'data') {
        this.echoRange(chunk, echoFrom, i);
        this.dataIn(chunk.subarray(i), now);
        return chunk.length;
      }
      const byte = chunk[i]!;
      i++;
      const line = this.reader.push(byte, this.sParam(3), this.sParam(5));
      if (line) {
        this.echoRange(chunk, echoFrom, i);
        echoFrom = i;
        this.commandLine(line, now);
      }
    }
    this.echoRange(chunk, echoFrom, i);
    return i;
  }

  /** V.250 clause 6.2.4: with E1 the DCE echoes the characters it receives in command state. */
  private echoRange(chunk: Uint8Array, from: number, to: number): void {
    if (this.settings.echo && to > from) this.push(chunk.slice(from, to));
  }

  private dataIn(bytes: Uint8Array, now: number): void {
    const guard = this.guardMs();
    const s2 = this.sParam(2);
    for (const b of bytes) this.escape.onByte(b, now, s2, guard);
    this.counters.dataBytesIn += bytes.length;
    if (!this.data.push(bytes)) this.counters.dataDropped += bytes.length;
  }

  private sParam(n: number): number {
    return this.settings.s.get(n) ?? S_DEFAULTS.get(n) ?? 0;
  }

  // ---- internals: command lines ---------------------------------------------------------

  private commandLine(result: LineResult, now: number): void {
    if (result.kind === 'no-prefix') return;
    this.counters.commandLines++;
    if (result.kind === 'too-long') {
      this.counters.linesTooLong++;
      this.execution = { commands: [], index: 0, out: '', waiting: undefined };
      this.endLine({ kind: 'error' }, now);
      return;
    }
    this.pushEvent({ type: 'command', line: result.line });
    if (log.enabled) log('<- %s', printable(redactCommandLine(result.line)));
    const commands = parseCommandLine(result.body);
    this.execution = { commands: commands ?? [], index: 0, out: '', waiting: undefined };
    if (!commands) {
      this.endLine({ kind: 'error' }, now);
      return;
    }
    this.run(now);
  }

  /** Executes the rest of the command line until it ends or a command answers later. */
  private run(now: number): void {
    const ex = this.execution;
    if (!ex) return;
    while (ex.index < ex.commands.length) {
      const cmd = ex.commands[ex.index++]!;
      const outcome = this.dispatch(cmd, now);
      if (outcome.delayMs !== undefined && outcome.delayMs > 0) {
        ex.waiting = outcome;
        this.deadlines.set('command', now + outcome.delayMs, (t) => this.answerLater(t));
        return;
      }
      if (this.apply(outcome, now)) return;
    }
    this.endLine(undefined, now);
  }

  private answerLater(now: number): void {
    const ex = this.execution;
    const outcome = ex?.waiting;
    if (!ex || !outcome) return;
    ex.waiting = undefined;
    if (!this.apply(outcome, now)) this.run(now);
  }

  /** Records one command's answer; returns true when it ended the command line. */
  private apply(outcome: Outcome, now: number): boolean {
    const ex = this.execution!;
    if (outcome.lines.length > 0) ex.out += this.frame(outcome.lines);
    outcome.commit?.(now);
    if (outcome.final) {
      this.endLine(outcome.final, now);
      return true;
    }
    return false;
  }

  private dispatch(cmd: AtCommand, now: number): Outcome {
    const entry = this.script.match(cmd.text);
    if (!entry) return builtIn(cmd, this.context(now));
    const lines = typeof entry.reply === 'function' ? entry.reply(cmd.text, this.state) : entry.reply;
    const text = entry.final ?? 'OK';
    const outcome: Outcome = { lines: [...lines] };
    if (entry.delayMs !== undefined) outcome.delayMs = entry.delayMs;
    if (text.toUpperCase() === 'OK') return outcome;
    if (/^CONNECT\b/i.test(text) && !this.call) {
      const cid = this.pdp.has(1) ? 1 : (this.pdp.list()[0]?.cid ?? 1);
      outcome.final = { kind: 'text', text };
      outcome.dialing = true;
      outcome.commit = (t) => this.startCall(cid, t);
      return outcome;
    }
    outcome.final = { kind: 'text', text };
    return outcome;
  }

  /** Sends the line's answers and its final result code as one chunk; then held URCs and input. */
  private endLine(final: Final | undefined, now: number): void {
    const ex = this.execution;
    this.execution = undefined;
    this.deadlines.clear('command');
    const code = this.finalText(final);
    let text = ex?.out ?? '';
    if (code !== '') text += this.frame([code]);
    let chunk = fromLatin1(text);
    const after = this.config.afterConnect;
    if (final?.kind === 'connect' && final.newCall && after && after.length > 0) chunk = concat(chunk, after);
    this.push(chunk);
    if (log.enabled) log('-> %s', printable(code));
    if (final?.kind === 'connect' && !final.newCall) {
      for (const held of this.heldNetwork.drain()) this.sendData(held);
    }
    this.flushUrcs();
    this.drainInput(now);
  }

  private finalText(final: Final | undefined): string {
    if (!final) return 'OK';
    switch (final.kind) {
      case 'error':
        this.counters.errors++;
        return 'ERROR';
      case 'unsupported':
        this.counters.errors++;
        return this.config.profile.unsupported;
      case 'cme':
        this.counters.errors++;
        return cmeError(final.cause, this.settings.cmee);
      case 'no-carrier':
        return 'NO CARRIER';
      case 'connect':
        return this.config.connectText === '' ? 'CONNECT' : `CONNECT ${this.config.connectText}`;
      case 'text':
        if (/ERROR/i.test(final.text)) this.counters.errors++;
        return final.text;
    }
  }

  /** DTR drop or carrier loss while a call is being set up ends it with NO CARRIER. */
  private abortDial(now: number): void {
    const ex = this.execution;
    if (!ex?.waiting?.dialing) return;
    ex.waiting = undefined;
    this.endLine({ kind: 'no-carrier' }, now);
  }

  // ---- internals: calls -------------------------------------------------------------------

  private startCall(cid: number, now: number): void {
    this.call = { cid };
    this.pdp.setActive(cid, true);
    this.network.psDetached = false;
    this.modeValue = 'data';
    this.escape.reset(now);
    this.counters.connects++;
    this.pushEvent({ type: 'connect', cid });
  }

  private resumeCall(now: number): void {
    if (!this.call) return;
    this.modeValue = 'data';
    this.escape.reset(now);
  }

  private hangUp(reason: HangupReason, _now: number): void {
    const call = this.call;
    if (!call) return;
    this.call = undefined;
    this.pdp.setActive(call.cid, false);
    this.modeValue = 'command';
    this.escape.clear();
    this.heldNetwork.drain();
    this.counters.hangups++;
    this.pushEvent({ type: 'hangup', reason });
  }

  private carrierLost(now: number): void {
    if (this.execution?.waiting?.dialing) {
      this.abortDial(now);
      return;
    }
    if (!this.call) return;
    const inData = this.modeValue === 'data';
    this.hangUp('carrier', now);
    if (inData || !this.execution) this.push(this.frame(['NO CARRIER']));
    else this.urc('NO CARRIER');
    this.flushUrcs();
  }

  /** The `+++` escape is complete: online command state, OK (V.250 clause 3, online command state). */
  private escaped(): void {
    this.escape.clear();
    this.modeValue = 'online-command';
    this.reader.reset();
    this.counters.escapes++;
    this.pushEvent({ type: 'escape' });
    this.push(this.frame(['OK']));
    this.flushUrcs();
  }

  // ---- internals: radio and SIM --------------------------------------------------------------

  private setFunctionality(fun: number, now: number): void {
    const before = this.network.fun;
    this.network.fun = fun;
    if (fun !== 1) {
      if (this.call) {
        this.hangUp('cfun', now);
        this.urc('NO CARRIER');
      }
      this.pdp.deactivateAll();
      this.network.stop();
    } else if (before !== 1 && this.sim.ready) {
      this.network.start(now);
    }
  }

  private simUnlocked(now: number): void {
    if (this.config.urcs.boot) for (const line of this.config.profile.simReadyUrcs) this.urc(line);
    this.network.start(now);
  }

  /** CFUN=1,1: the OK goes out, then the modem restarts as at power-on. */
  private reboot(now: number): void {
    this.hangUp('reset', now);
    this.booted = false;
    this.deadlines.clear('rssi');
    this.deadlines.set('boot', now + this.config.bootDelayMs, (t) => this.boot(t));
  }

  // ---- internals: output ------------------------------------------------------------------

  private urc(line: string): void {
    const busy = this.execution !== undefined && !(this.config.interleaveUrcs && this.execution.waiting);
    if (this.modeValue === 'data' || busy || !this.booted) {
      this.heldUrcs.push(line);
      if (this.heldUrcs.length > this.config.limits.maxHeldUrcs) {
        this.heldUrcs.shift();
        this.counters.urcsDropped++;
      }
      return;
    }
    this.push(this.frame([line]));
  }

  private flushUrcs(): void {
    if (this.modeValue === 'data' || this.execution || !this.booted) return;
    const lines = this.heldUrcs;
    this.heldUrcs = [];
    for (const line of lines) this.push(this.frame([line]));
  }

  private frame(lines: readonly string[]): Uint8Array {
    return fromLatin1(frame(lines, this.sParam(3), this.sParam(4)));
  }

  private push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (this.output.push(bytes)) this.counters.bytesOut += bytes.length;
    else this.counters.outputDropped += bytes.length;
  }

  private pushEvent(event: SimCoreEvent): void {
    if (this.events.length >= MAX_EVENTS) this.events.shift();
    this.events.push(event);
  }

  /** The view of the core a command handler gets. */
  private context(now: number): CommandContext {
    return {
      now,
      config: this.config,
      settings: this.settings,
      sim: this.sim,
      network: this.network,
      pdp: this.pdp,
      mode: this.modeValue,
      inCall: this.call !== undefined,
      state: () => this.state,
      startCall: (cid, t) => this.startCall(cid, t),
      resumeCall: (t) => this.resumeCall(t),
      hangUp: (reason, t) => this.hangUp(reason, t),
      resetSettings: () => this.resetSettings(),
      reboot: (t) => this.reboot(t),
      simUnlocked: (t) => this.simUnlocked(t),
      setFunctionality: (fun, t) => this.setFunctionality(fun, t),
    };
  }
}

function defaultSettings(c: ResolvedSimConfig): DteSettings {
  return {
    echo: c.echo,
    cmee: c.cmee,
    verbose: true,
    quiet: false,
    dcdMode: 1,
    dtrMode: 2,
    s: new Map(S_DEFAULTS),
  };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
