import type { ConnectionState, ConnectionStats, StateChange } from '../index.js';

/**
 * The live status line of long-running commands (`mqtt pub`, `mqtt sub`): one line on a
 * terminal's standard error, redrawn in place a few times a second and on every change, with
 * permanent lines printed above it, and erased before the command exits. When the stream is
 * not a terminal it draws nothing and permanent lines are plain lines.
 */
export interface StatusStream {
  write(chunk: string): boolean;
  isTTY?: boolean;
  columns?: number;
}

/** Erase the line the cursor is on and go back to its start (ECMA-48 EL 2 is not needed). */
const ERASE = '\r\x1b[K';

export class StatusLine {
  private timer: NodeJS.Timeout | undefined;
  private shown = false;
  private last = '';

  /**
   * @param stream where to draw (standard error)
   * @param render the line as it should read now
   * @param intervalMs how often to redraw
   */
  constructor(
    private readonly stream: StatusStream,
    private readonly render: () => string,
    private readonly intervalMs = 250,
  ) {}

  /** Whether a line is drawn at all (the stream is a terminal). */
  get live(): boolean {
    return this.stream.isTTY === true;
  }

  start(): void {
    if (!this.live || this.timer) return;
    this.timer = setInterval(() => this.update(), this.intervalMs);
    this.timer.unref();
    this.update();
  }

  /** Redraws now (on a state change); nothing when not a terminal or stopped. */
  update(): void {
    if (!this.live || !this.timer) return;
    // A terminal that does not say its width (a pty without a size reports 0) gets 80.
    const columns = this.stream.columns !== undefined && this.stream.columns > 0 ? this.stream.columns : 80;
    const width = Math.max(20, columns - 1);
    const line = fitWidth(this.render(), width);
    if (this.shown && line === this.last) return;
    this.stream.write(`${ERASE}${line}`);
    this.shown = true;
    this.last = line;
  }

  /** A permanent line: above the status line on a terminal, a plain line otherwise. */
  print(line: string): void {
    if (this.shown) this.stream.write(ERASE);
    this.shown = false;
    this.stream.write(`${line}\n`);
    this.update();
  }

  /**
   * Runs `write` (output to another stream on the same terminal, such as standard output)
   * with the status line erased first and drawn again after.
   */
  around(write: () => void): void {
    if (this.shown) this.stream.write(ERASE);
    this.shown = false;
    write();
    this.update();
  }

  /** Stops redrawing and erases the line, leaving the cursor at the start of an empty line. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.shown) this.stream.write(ERASE);
    this.shown = false;
  }
}

/** Cuts `line` to `width` characters (code points), marking the cut. */
export function fitWidth(line: string, width: number): string {
  const chars = [...line];
  if (chars.length <= width) return line;
  return `${chars.slice(0, Math.max(0, width - 1)).join('')}…`;
}

/** `812 B`, `1.2 KiB`, `3.4 MiB`. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 * 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  return `${(n / (1024 * 1024 * 1024)).toFixed(2)} GiB`;
}

/** `0.4 s`, `12.3 s`, `2:05 min`, `1:02:05 h`. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const whole = Math.floor(s);
  const sec = String(whole % 60).padStart(2, '0');
  const min = Math.floor(whole / 60);
  if (min < 60) return `${min}:${sec} min`;
  return `${Math.floor(min / 60)}:${String(min % 60).padStart(2, '0')}:${sec} h`;
}

/** What the status line shows, taken from the connection manager and the command. */
export interface StatusView {
  state: ConnectionState;
  /** The detail of the last state change (`home (lte)`, `broker:8883`...). */
  detail?: string;
  /** While offline: the code of the failure and when the next attempt starts (ms from now). */
  failure?: string;
  retryInMs?: number;
  stats: Pick<ConnectionStats, 'signal' | 'ip' | 'bytes' | 'rttMs'>;
  /** The command's own counts: `acked 3 pending 2`, `received 12`. */
  counts: string;
  elapsedMs: number;
}

/**
 * One line: state, signal, our IP address, bytes up/down, RTT, the command's counts, time.
 * `connected broker:1883 | -73 dBm 4/5 | 10.64.0.2 | up 1.2 KiB down 812 B | rtt 85 ms | acked 3 pending 0 | 4.2 s`
 */
export function formatStatus(v: StatusView): string {
  const parts: string[] = [];
  if (v.state === 'offline') {
    const why = v.failure ? ` (${v.failure})` : '';
    const when =
      v.retryInMs === undefined ? '' : `, retry in ${(Math.max(0, v.retryInMs) / 1000).toFixed(1)} s`;
    parts.push(`offline${why}${when}`);
  } else {
    const state = v.state === 'idle' ? 'starting' : v.state;
    parts.push(v.detail ? `${state} ${v.detail}` : state);
  }
  const sig = v.stats.signal;
  if (sig) parts.push(`${sig.rssiDbm === null ? '? dBm' : `${sig.rssiDbm} dBm`} ${sig.bars}/5`);
  if (v.stats.ip) parts.push(v.stats.ip.local);
  parts.push(`up ${formatBytes(v.stats.bytes.up)} down ${formatBytes(v.stats.bytes.down)}`);
  if (v.stats.rttMs !== undefined) parts.push(`rtt ${Math.round(v.stats.rttMs)} ms`);
  parts.push(v.counts);
  parts.push(formatDuration(v.elapsedMs));
  return parts.join(' | ');
}

/** A state change as a plain line (`--verbose`): `registering: home (lte)`, `offline: ECONNREFUSED: ...; retry from transport in 1.2 s`. */
export function formatStateChange(c: StateChange): string {
  if (c.state === 'offline') {
    const r = c.reason;
    const code = (r as { code?: unknown } | undefined)?.code;
    const why = r ? `${typeof code === 'string' ? `${code}: ` : ''}${oneLine(r.message)}` : 'unknown failure';
    const again =
      c.delayMs === undefined
        ? ''
        : `; retry from ${c.recovery ?? 'transport'} in ${(c.delayMs / 1000).toFixed(1)} s`;
    return `offline: ${why}${again}`;
  }
  if (c.state === 'closed' && c.reason) return `closed: ${oneLine(c.reason.message)}`;
  return c.detail ? `${c.state}: ${c.detail}` : c.state;
}

/** What the summary line at exit counts. */
export interface SummaryView {
  /** `pub`, `sub`. */
  label: string;
  messages: number;
  /** pub: how many were acknowledged (and of those, how many came from the store). */
  acked?: number;
  fromStore?: number;
  failed?: number;
  /** CONNACKs after the first. */
  reconnects: number;
  bytes: { up: number; down: number };
  elapsedMs: number;
}

/** `pub: 3 messages, 3 acked, 0 reconnects, up 1.2 KiB down 340 B, 0.4 s` */
export function formatSummary(s: SummaryView): string {
  const parts = [`${s.messages} message${s.messages === 1 ? '' : 's'}`];
  if (s.acked !== undefined) parts.push(`${s.acked} acked`);
  if (s.fromStore) parts.push(`${s.fromStore} from the store`);
  if (s.failed) parts.push(`${s.failed} failed`);
  parts.push(`${s.reconnects} reconnect${s.reconnects === 1 ? '' : 's'}`);
  parts.push(`up ${formatBytes(s.bytes.up)} down ${formatBytes(s.bytes.down)}`);
  parts.push(formatDuration(s.elapsedMs));
  return `${s.label}: ${parts.join(', ')}`;
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}
