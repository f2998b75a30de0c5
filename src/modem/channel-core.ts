import { printable } from '../util/log.js';
import { CarrierWatch } from './carrier-watch.js';
import { cmeCause, cmeText } from './cme.js';
import { type AtCommandRequest, responsePrefixes } from './command.js';
import { ModemError } from './errors.js';
import { type FinalResult, finalResult } from './result-codes.js';
import { matchUrc, STANDARD_URCS, type Urc, type UrcMatcher, urcName } from './urc.js';

/**
 * The AT channel's protocol core (ITU-T V.250, 3GPP TS 27.007), sans-I/O: it takes the bytes
 * the modem sent and the commands to send, and gives back bytes to write and events. It reads
 * no clock; `now` (milliseconds) is passed in and `nextDeadline()` says when to call `tick`.
 *
 * - Lines end with CR or LF (bare CR, CRLF, or LF); empty lines are ignored. Echo (E1) of the
 *   command in flight is recognised and dropped.
 * - One command is in flight at a time; others wait in a queue.
 * - Unsolicited result codes are recognised anywhere, also between a command's information
 *   lines and its final result code.
 * - After a `CONNECT` final result code the channel is in data mode: every later byte, also
 *   those in the same chunk as `CONNECT`, is data, until the modem says `NO CARRIER`.
 * - Lines are bounded (`maxLineLength`); control characters other than CR/LF/TAB are noise.
 */
export interface AtChannelCoreOptions {
  maxLineLength?: number;
  /** Total characters of information lines kept for one response. */
  maxResponseLength?: number;
  urcMatchers?: readonly UrcMatcher[];
  /** Quiet time between a final result code and the next command line. */
  interCommandDelayMs?: number;
}

export interface AtResponse {
  /** The command as shown in logs (secrets replaced). */
  command: string;
  /** Information text lines, in order, without URCs and echo. */
  lines: string[];
  final: FinalResult;
}

export type AtChannelEvent =
  | { type: 'response'; id: number; response: AtResponse }
  | { type: 'failure'; id: number; error: ModemError; lines: string[] }
  | { type: 'urc'; urc: Urc }
  | { type: 'connect'; id: number; text: string }
  | { type: 'data'; bytes: Uint8Array }
  | { type: 'carrier-lost' }
  | { type: 'sent'; id: number; command: string }
  | { type: 'line'; text: string };

export type ChannelMode = 'command' | 'data';

export interface AtChannelStats {
  bytesIn: number;
  bytesOut: number;
  dataBytesIn: number;
  lines: number;
  echoLines: number;
  urcs: number;
  commands: number;
  timeouts: number;
  errors: number;
  /** Control characters dropped from text lines. */
  noiseBytes: number;
  overlongLines: number;
  /** Final result codes that arrived with no command in flight (late answers). */
  strayFinals: number;
  /** Information lines dropped because a response grew beyond `maxResponseLength`. */
  droppedLines: number;
}

interface Pending {
  id: number;
  req: AtCommandRequest;
  display: string;
  prefixes: string[];
  lines: string[];
  size: number;
  deadline: number;
  echoSeen: boolean;
  bodySent: boolean;
  /** Cancelled after it was sent: its final result code is awaited and then dropped. */
  abandoned: boolean;
}

const CR = 0x0d;
const LF = 0x0a;
const TAB = 0x09;
const decoder = new TextDecoder('utf-8', { fatal: false });
const encoder = new TextEncoder();

export class AtChannelCore {
  readonly stats: AtChannelStats = {
    bytesIn: 0,
    bytesOut: 0,
    dataBytesIn: 0,
    lines: 0,
    echoLines: 0,
    urcs: 0,
    commands: 0,
    timeouts: 0,
    errors: 0,
    noiseBytes: 0,
    overlongLines: 0,
    strayFinals: 0,
    droppedLines: 0,
  };

  private readonly maxLine: number;
  private readonly maxResponse: number;
  private readonly urcMatchers: readonly UrcMatcher[];
  private readonly interCommandDelay: number;
  private readonly line: Uint8Array;
  private lineLen = 0;
  private overflow = false;
  private modeValue: ChannelMode = 'command';
  private skipLf = false;
  private readonly carrier = new CarrierWatch();
  private nextId = 1;
  private queue: Pending[] = [];
  private current: Pending | undefined;
  private readyAt = 0;
  private recent: string[] = [];
  private output: Uint8Array[] = [];
  private events: AtChannelEvent[] = [];

  constructor(options: AtChannelCoreOptions = {}) {
    this.maxLine = options.maxLineLength ?? 4096;
    this.maxResponse = options.maxResponseLength ?? 256 * 1024;
    this.urcMatchers = options.urcMatchers ?? STANDARD_URCS;
    this.interCommandDelay = options.interCommandDelayMs ?? 0;
    this.line = new Uint8Array(this.maxLine);
  }

  get mode(): ChannelMode {
    return this.modeValue;
  }

  /** The command in flight, as displayed. */
  get inFlight(): string | undefined {
    return this.current?.display;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Queues a command; returns its id. Events with this id report its outcome. */
  enqueue(req: AtCommandRequest, now: number): number {
    const id = this.nextId++;
    const display = req.display ?? req.text;
    if (this.modeValue === 'data') {
      this.events.push({
        type: 'failure',
        id,
        lines: [],
        error: new ModemError('BUSY_CHANNEL', `cannot send ${display}: the channel is in data mode`, {
          command: display,
        }),
      });
      return id;
    }
    const expect =
      req.expect === undefined ? undefined : typeof req.expect === 'string' ? [req.expect] : req.expect;
    this.queue.push({
      id,
      req,
      display,
      prefixes: (expect ?? (req.raw ? [] : responsePrefixes(req.text))).map((p) => p.toUpperCase()),
      lines: [],
      size: 0,
      deadline: 0,
      echoSeen: false,
      bodySent: false,
      abandoned: false,
    });
    this.pump(now);
    return id;
  }

  /**
   * Cancels a command. A queued one is dropped; one in flight is reported as cancelled at once
   * but still occupies the channel until its final result code or timeout, so that its late
   * answer cannot be taken for the next command's.
   */
  cancel(id: number, now: number): void {
    const qi = this.queue.findIndex((p) => p.id === id);
    if (qi >= 0) {
      const [p] = this.queue.splice(qi, 1);
      this.fail(p!, new ModemError('CANCELLED', `${p!.display} cancelled`, { command: p!.display }));
      return;
    }
    const cur = this.current;
    if (cur && cur.id === id && !cur.abandoned) {
      cur.abandoned = true;
      this.fail(cur, new ModemError('CANCELLED', `${cur.display} cancelled`, { command: cur.display }));
      if (cur.req.abortOnCancel) this.write(encoder.encode('\r'));
      this.pump(now);
    }
  }

  /** Fails every queued and in-flight command (the port closed). */
  abortAll(error: ModemError): void {
    const all = [...(this.current ? [this.current] : []), ...this.queue];
    this.current = undefined;
    this.queue = [];
    for (const p of all) if (!p.abandoned) this.fail(p, error);
  }

  /**
   * Back to command mode without a `NO CARRIER` (the shell escaped with `+++` or dropped DTR).
   * Text parsing starts afresh.
   */
  leaveDataMode(now: number): void {
    if (this.modeValue !== 'data') return;
    this.modeValue = 'command';
    this.resetLine();
    this.pump(now);
  }

  receive(chunk: Uint8Array, now: number): void {
    this.stats.bytesIn += chunk.length;
    let i = 0;
    while (i < chunk.length) {
      if (this.modeValue === 'data') {
        this.receiveData(chunk.subarray(i), now);
        return;
      }
      const b = chunk[i++]!;
      if (b === CR || b === LF) {
        if (this.lineLen > 0 || this.overflow) this.endLine(now);
        continue;
      }
      if ((b < 0x20 && b !== TAB) || b === 0x7f) {
        this.stats.noiseBytes++;
        continue;
      }
      if (this.overflow) continue;
      if (this.lineLen >= this.maxLine) {
        this.overflow = true;
        continue;
      }
      this.line[this.lineLen++] = b;
      if (this.lineLen === 2 && this.line[0] === 0x3e && b === 0x20) this.onPrompt();
    }
  }

  tick(now: number): void {
    const cur = this.current;
    if (cur && now >= cur.deadline) {
      this.current = undefined;
      this.stats.timeouts++;
      if (!cur.abandoned) {
        this.fail(
          cur,
          new ModemError(
            'TIMEOUT',
            `no final result code for ${cur.display} within ${cur.req.timeoutMs} ms`,
            {
              command: cur.display,
            },
          ),
        );
      }
      this.readyAt = now + this.interCommandDelay;
    }
    this.pump(now);
  }

  nextDeadline(): number | undefined {
    if (this.current) return this.current.deadline;
    if (this.queue.length > 0 && this.modeValue === 'command') return this.readyAt;
    return undefined;
  }

  /** Bytes to write to the modem, oldest first. */
  takeOutput(): Uint8Array[] {
    const out = this.output;
    this.output = [];
    return out;
  }

  takeEvents(): AtChannelEvent[] {
    const ev = this.events;
    this.events = [];
    return ev;
  }

  private receiveData(bytes: Uint8Array, now: number): void {
    let chunk = bytes;
    if (this.skipLf) {
      this.skipLf = false;
      if (chunk[0] === LF) chunk = chunk.subarray(1);
      if (chunk.length === 0) return;
    }
    const r = this.carrier.push(chunk);
    for (const d of r.data) {
      this.stats.dataBytesIn += d.length;
      this.events.push({ type: 'data', bytes: d });
    }
    if (r.lost) {
      this.modeValue = 'command';
      this.resetLine();
      this.events.push({ type: 'carrier-lost' });
      this.pump(now);
      if (r.rest && r.rest.length > 0) this.receive(r.rest, now);
    }
  }

  private resetLine(): void {
    this.lineLen = 0;
    this.overflow = false;
  }

  private onPrompt(): void {
    const cur = this.current;
    if (!cur || cur.req.body === undefined || cur.bodySent) return;
    cur.bodySent = true;
    this.resetLine();
    this.write(encoder.encode(`${cur.req.body}\x1a`));
  }

  private endLine(now: number): void {
    if (this.overflow) {
      this.stats.overlongLines++;
      this.resetLine();
      return;
    }
    const text = decoder.decode(this.line.subarray(0, this.lineLen)).trim();
    this.resetLine();
    if (text.length === 0) return;
    this.stats.lines++;
    this.events.push({ type: 'line', text });
    const cur = this.current;

    if (cur && !cur.req.raw && !cur.echoSeen && sameCommand(text, cur.req.text)) {
      cur.echoSeen = true;
      this.stats.echoLines++;
      return;
    }
    if (!cur && this.recent.some((r) => sameCommand(text, r))) {
      this.stats.echoLines++;
      return;
    }

    const fin = finalResult(text);
    if (fin) {
      if (cur) {
        this.complete(cur, fin, now);
        return;
      }
      if (fin.kind === 'NO_CARRIER') {
        this.emitUrc({ kind: 'no-carrier', name: 'NO CARRIER', line: text });
        return;
      }
      this.stats.strayFinals++;
      return;
    }

    if (cur && cur.prefixes.length > 0 && cur.prefixes.some((p) => hasPrefix(text, p))) {
      this.addLine(cur, text);
      return;
    }
    const urc = matchUrc(text, this.urcMatchers);
    if (urc) {
      this.emitUrc(urc);
      return;
    }
    if (cur) {
      this.addLine(cur, text);
      return;
    }
    this.emitUrc({ kind: 'unknown', name: urcName(text), line: text });
  }

  private addLine(cur: Pending, text: string): void {
    if (cur.size + text.length > this.maxResponse) {
      this.stats.droppedLines++;
      return;
    }
    cur.size += text.length;
    cur.lines.push(text);
  }

  private emitUrc(urc: Urc): void {
    this.stats.urcs++;
    this.events.push({ type: 'urc', urc });
  }

  private complete(cur: Pending, fin: FinalResult, now: number): void {
    this.current = undefined;
    this.readyAt = now + this.interCommandDelay;
    if (fin.kind === 'CONNECT') {
      this.modeValue = 'data';
      this.skipLf = true;
      this.carrier.reset();
      this.resetLine();
      for (const q of this.queue.splice(0)) {
        this.fail(
          q,
          new ModemError('BUSY_CHANNEL', `cannot send ${q.display}: the channel went to data mode`, {
            command: q.display,
          }),
        );
      }
      if (!cur.abandoned) {
        this.events.push({ type: 'connect', id: cur.id, text: fin.text });
        this.events.push({
          type: 'response',
          id: cur.id,
          response: { command: cur.display, lines: cur.lines, final: fin },
        });
      }
      return;
    }
    if (!cur.abandoned) {
      if (fin.kind === 'OK') {
        this.events.push({
          type: 'response',
          id: cur.id,
          response: { command: cur.display, lines: cur.lines, final: fin },
        });
      } else {
        this.stats.errors++;
        this.fail(cur, errorFor(cur.display, fin), cur.lines);
      }
    }
    this.pump(now);
  }

  private fail(p: Pending, error: ModemError, lines: string[] = []): void {
    this.events.push({ type: 'failure', id: p.id, error, lines });
  }

  private pump(now: number): void {
    if (this.current || this.modeValue !== 'command' || now < this.readyAt) return;
    const next = this.queue.shift();
    if (!next) return;
    this.current = next;
    next.deadline = now + next.req.timeoutMs;
    this.stats.commands++;
    const bytes = next.req.raw ? encoder.encode(next.req.text) : encoder.encode(`${next.req.text}\r`);
    this.write(bytes);
    if (!next.req.raw) {
      this.recent.push(next.req.text);
      if (this.recent.length > 2) this.recent.shift();
    }
    this.events.push({ type: 'sent', id: next.id, command: next.display });
  }

  private write(bytes: Uint8Array): void {
    this.stats.bytesOut += bytes.length;
    this.output.push(bytes);
  }
}

function normaliseCommand(text: string): string {
  return text.replace(/\s+/g, '').toUpperCase();
}

function sameCommand(line: string, command: string): boolean {
  return normaliseCommand(line) === normaliseCommand(command);
}

function hasPrefix(line: string, prefix: string): boolean {
  if (line.length < prefix.length || line.slice(0, prefix.length).toUpperCase() !== prefix) return false;
  const next = line.charAt(prefix.length);
  return next === '' || next === ':' || next === ' ';
}

function errorFor(command: string, fin: FinalResult): ModemError {
  switch (fin.kind) {
    case 'CME_ERROR':
    case 'CMS_ERROR': {
      const cause = fin.err === undefined ? undefined : cmeCause(fin.err);
      const known = cause !== undefined && fin.kind === 'CME_ERROR' ? cmeText(cause) : undefined;
      const detail = known && !/[a-z]/i.test(fin.err ?? '') ? `${fin.text} (${known})` : fin.text;
      const details: { command: string; cause?: number } = { command };
      if (cause !== undefined) details.cause = cause;
      return new ModemError(fin.kind, `${command} failed: ${printable(detail)}`, details);
    }
    case 'NO_CARRIER':
    case 'BUSY':
    case 'NO_ANSWER':
    case 'NO_DIALTONE':
      return new ModemError(fin.kind, `${command} failed: ${fin.text}`, { command });
    default:
      return new ModemError('ERROR', `${command} failed: ERROR`, { command });
  }
}
