import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  type BrokerTarget,
  CellstackError,
  ConfigError,
  type Connection,
  type ConnectOptions,
  connect,
  type ModemLinkOptions,
  type MqttEndpointOptions,
  parseBrokerUrl,
  type StateChange,
} from '../../index.js';
import { LINK_HELP, LINK_OPTIONS, linkArgs, type OptionSpec, type ParsedArgs, UsageError } from '../args.js';
import type { Io } from '../output.js';
import { formatStateChange, formatStatus, StatusLine } from '../status-line.js';

/**
 * `cellstack mqtt pub|sub`: the MQTT connection manager (`connect()`) from the command line.
 * This file dispatches to mqtt-pub.ts / mqtt-sub.ts and holds what both share: the broker,
 * TLS and link options turned into `ConnectOptions`, and the run around one `Connection`
 * (live status line, state lines, giving up on time).
 */

export const summary = 'MQTT over the link (or this host): pub waits for the acks, sub prints messages';

export const help = `Usage: cellstack mqtt <pub|sub> --url mqtt[s]://HOST[:PORT] --topic T [options]

MQTT 3.1.1 or 5.0 through cellstack's connection manager, over the cellular link with
--device (or $CELLSTACK_DEVICE), over this host's own network without it. The manager
reconnects after any failure; the status line shows it.

Commands:
  pub    publish --message M, --file F or one message per line of standard input; exit 0
         once every message is acknowledged as its QoS requires
  sub    subscribe to topic filters and print one line per message (topic and payload, or
         JSON with --json); exit after --count N messages, or on Ctrl-C

Run "cellstack mqtt pub --help" or "cellstack mqtt sub --help" for their options.`;

export async function run(argv: readonly string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(`${help}\n`);
    return name === undefined ? 2 : 0;
  }
  // Loaded on demand: they import this file for what they share.
  if (name === 'pub') return (await import('./mqtt-pub.js')).run(rest, io);
  if (name === 'sub') return (await import('./mqtt-sub.js')).run(rest, io);
  throw new UsageError(`mqtt: unknown subcommand "${name}" (pub or sub)`);
}

// ---- options shared by pub and sub ----------------------------------------------------------

/** The broker, the session, TLS, output; with LINK_OPTIONS for the cellular link. */
export const MQTT_OPTIONS = {
  ...LINK_OPTIONS,
  help: { type: 'boolean', short: 'h' },
  url: { type: 'string', short: 'L' },
  topic: { type: 'string', short: 't', multiple: true },
  qos: { type: 'string', short: 'q' },
  'client-id': { type: 'string', short: 'i' },
  username: { type: 'string', short: 'u' },
  'password-env': { type: 'string' },
  protocol: { type: 'string', short: 'V' },
  mqtt5: { type: 'boolean' },
  keepalive: { type: 'string', short: 'k' },
  'no-clean': { type: 'boolean' },
  'session-expiry': { type: 'string' },
  profile: { type: 'string' },
  ca: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  pfx: { type: 'string' },
  passphrase: { type: 'string' },
  servername: { type: 'string' },
  alpn: { type: 'string' },
  insecure: { type: 'boolean' },
  engine: { type: 'string' },
  timeout: { type: 'string', short: 'w' },
  verbose: { type: 'boolean', short: 'v' },
  quiet: { type: 'boolean' },
} as const satisfies OptionSpec;

/** The environment variable the broker password comes from unless --password-env names another. */
export const PASSWORD_ENV = 'CELLSTACK_MQTT_PASSWORD';

export const MQTT_HELP = `Broker options:
  -L, --url URL          the broker: mqtt://HOST[:PORT] (plain TCP, port 1883) or
                         mqtts://HOST[:PORT] (TLS, port 8883); required
  -i, --client-id ID     client identifier (default cellstack-<8 random hex digits>)
  -u, --username U       user name for the broker
      --password-env VAR take the broker's password from $VAR (default: from
                         $${PASSWORD_ENV} whenever it is set); never on the command
                         line, never printed
  -V, --protocol 4|5     MQTT 3.1.1 (4, the default) or MQTT 5.0 (5)
      --mqtt5            the same as --protocol 5
  -k, --keepalive S      keep alive interval in seconds (default 60; 0 turns it off)
      --no-clean         resume the broker's session for --client-id instead of starting a
                         clean one (QoS 1/2 messages queued for us while away; QoS 2 exactly
                         once across runs)
      --session-expiry S MQTT 5: how long the broker keeps the session after we disconnect
                         (default 0, or 3600 with --no-clean)
      --profile aws-iot  AWS IoT Core's rules: TLS on 8883, or 443 with ALPN x-amzn-mqtt-ca;
                         SNI; keepalive 30..1200 s; QoS 0 and 1; payloads up to 128 KB
  -v, --verbose          state changes (opening, registering, dialing, ppp-up, connecting,
                         connected, offline with the reason) as lines on standard error
      --quiet            no summary line at exit
  -h, --help             this help

TLS options (mqtts: only):
      --ca FILE          trust these CA certificates (PEM) instead of Node's bundled roots
      --cert FILE        our certificate chain (PEM), for brokers that ask; with --key
      --key FILE         the private key of --cert (PEM)
      --pfx FILE         our certificate and key in one PKCS#12 file (or --cert/--key)
      --passphrase P     for an encrypted --key or --pfx (or $CELLSTACK_PASSPHRASE)
      --servername NAME  SNI and the name the certificate must match (default: URL's host)
      --alpn LIST        ALPN protocols to offer, comma-separated (e.g. x-amzn-mqtt-ca)
      --insecure         do not check the broker's certificate (prints a warning)
      --engine own|node  TLS client: cellstack's own TLS 1.2 (default) or node:tls

Standard error: on a terminal, a live status line (state, signal, our IP address, bytes up
and down, round-trip time, the message counts), redrawn a few times a second and erased at
exit. Not on a terminal: nothing while running, or with --verbose one line per state change.
Then one summary line (messages, acked, reconnects, bytes, time) unless --quiet. Standard
output has the messages (sub) and nothing else.

${LINK_HELP}`;

export type Values = ParsedArgs['values'];

/** Everything `mqtt pub` and `mqtt sub` take from the command line besides their own options. */
export interface MqttArgs {
  options: ConnectOptions;
  target: BrokerTarget;
  clientId: string;
  verbose: boolean;
  quiet: boolean;
  /** --timeout MS; undefined when not given, 0 for "no limit". */
  timeoutMs: number | undefined;
  insecure: boolean;
}

export function str(v: Values[string]): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** The values of a `multiple` option. */
export function list(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** An integer option within [min, max], or `fallback` when absent. */
export function intOption(
  values: Values,
  name: string,
  fallback: number | undefined,
  min: number,
  max: number,
): number | undefined {
  const text = str(values[name]);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`--${name}: not an integer in ${min}..${max}: ${text}`);
  return n;
}

/** --qos: 0, 1 or 2 (default 0). */
export function qosOption(values: Values): 0 | 1 | 2 {
  const q = intOption(values, 'qos', 0, 0, 2);
  return q === 1 ? 1 : q === 2 ? 2 : 0;
}

/** `--option FILE: reason` with the system's code (ENOENT, EACCES...). */
export function fileError(option: string, path: string, err: unknown): CellstackError {
  const e = err as NodeJS.ErrnoException;
  return new CellstackError(
    e.code ?? 'EIO',
    `--${option} ${path}: ${String(e.message).replace(/^[A-Z]+: /, '')}`,
  );
}

export function readOptionFile(option: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw fileError(option, path, err);
  }
}

function protocolOption(values: Values): 4 | 5 {
  const text = str(values['protocol']);
  let v: 4 | 5 = values['mqtt5'] === true ? 5 : 4;
  if (text !== undefined) {
    const given = text === '4' || text === '3.1.1' ? 4 : text === '5' || text === '5.0' ? 5 : undefined;
    if (given === undefined)
      throw new UsageError(`--protocol: 4 (MQTT 3.1.1) or 5 (MQTT 5.0), not "${text}"`);
    if (values['mqtt5'] === true && given !== 5) throw new UsageError('--mqtt5 and --protocol 4 contradict');
    v = given;
  }
  return v;
}

const TLS_OPTION_NAMES = ['ca', 'cert', 'key', 'pfx', 'servername', 'alpn', 'insecure', 'engine'] as const;

/**
 * Turns the command line into `connect()` options: the broker URL, session, credentials (the
 * password from the environment only), TLS files (read now, so a bad path is reported before
 * anything starts) and, with --device or $CELLSTACK_DEVICE, the cellular link.
 */
export function mqttArgs(values: Values, env: NodeJS.ProcessEnv, extra: { store?: string } = {}): MqttArgs {
  const url = str(values['url']);
  if (url === undefined || url === '') throw new UsageError('--url mqtt[s]://HOST[:PORT] is required');
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url))
    throw new UsageError(`--url: give the scheme, mqtt://${url} or mqtts://${url}`);
  let target: BrokerTarget;
  try {
    target = parseBrokerUrl(url);
  } catch (err) {
    throw new UsageError(`--url: ${(err as Error).message.replace(/^mqtt\.url: /, '')}`);
  }
  const protocolVersion = protocolOption(values);
  const keepalive = intOption(values, 'keepalive', undefined, 0, 65_535);
  const clean = values['no-clean'] !== true;
  const given = str(values['client-id']);
  if (given === '') throw new UsageError('--client-id: must not be empty');
  if (!clean && given === undefined)
    throw new UsageError('--no-clean needs --client-id (the session is its)');
  if (extra.store !== undefined && given === undefined)
    throw new UsageError('--store needs --client-id (the store keeps one log per client id)');
  const clientId = given ?? `cellstack-${randomBytes(4).toString('hex')}`;
  let sessionExpiry = intOption(values, 'session-expiry', undefined, 0, 0xffff_ffff);
  if (sessionExpiry !== undefined && protocolVersion !== 5)
    throw new UsageError('--session-expiry is MQTT 5 (add --mqtt5)');
  if (sessionExpiry === undefined && !clean && protocolVersion === 5) sessionExpiry = 3600;

  const mqtt: MqttEndpointOptions = { url, clientId, protocolVersion, clean };
  if (keepalive !== undefined) mqtt.keepalive = keepalive;
  if (sessionExpiry !== undefined) mqtt.sessionExpiryInterval = sessionExpiry;
  if (extra.store !== undefined) mqtt.store = extra.store;

  const username = str(values['username']);
  const passwordVar = str(values['password-env']) ?? PASSWORD_ENV;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(passwordVar))
    throw new UsageError(`--password-env: not an environment variable name: ${passwordVar}`);
  const password = env[passwordVar];
  if (values['password-env'] !== undefined && (password === undefined || password === ''))
    throw new UsageError(`--password-env: $${passwordVar} is not set`);
  if (username !== undefined) mqtt.username = username;
  if (password !== undefined && password !== '') {
    if (username === undefined && protocolVersion === 4)
      throw new UsageError(`a broker password ($${passwordVar}) needs --username with MQTT 3.1.1`);
    mqtt.password = password;
  }

  const profile = str(values['profile']);
  if (profile !== undefined) {
    if (profile !== 'aws-iot') throw new UsageError(`--profile: only aws-iot is known, not "${profile}"`);
    mqtt.profile = 'aws-iot';
  }

  // TLS
  const insecure = values['insecure'] === true;
  if (!target.tls) {
    const misplaced = TLS_OPTION_NAMES.find((n) => values[n] !== undefined);
    if (misplaced !== undefined) throw new UsageError(`--${misplaced} is for TLS: use an mqtts:// URL`);
  } else {
    const engine = str(values['engine']) ?? 'own';
    if (engine !== 'own' && engine !== 'node')
      throw new UsageError(`--engine: "own" or "node", not "${engine}"`);
    const cert = str(values['cert']);
    const key = str(values['key']);
    const pfx = str(values['pfx']);
    if ((cert === undefined) !== (key === undefined)) throw new UsageError('--cert and --key go together');
    if (pfx !== undefined && cert !== undefined) throw new UsageError('--pfx or --cert/--key, not both');
    mqtt.tlsEngine = engine;
    mqtt.rejectUnauthorized = !insecure;
    const ca = str(values['ca']);
    if (ca !== undefined) mqtt.ca = readOptionFile('ca', ca);
    if (cert !== undefined && key !== undefined) {
      mqtt.cert = readOptionFile('cert', cert);
      mqtt.key = readOptionFile('key', key);
    }
    if (pfx !== undefined) mqtt.pfx = readOptionFile('pfx', pfx);
    const passphrase = str(values['passphrase']) ?? env['CELLSTACK_PASSPHRASE'];
    if (passphrase !== undefined && passphrase !== '') mqtt.passphrase = passphrase;
    const servername = str(values['servername']);
    if (servername !== undefined) mqtt.servername = servername;
    const alpn = (str(values['alpn']) ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p.length > 0);
    if (alpn.length > 0) mqtt.alpn = alpn;
  }

  const timeoutMs = intOption(values, 'timeout', undefined, 0, 2_147_483_647);
  const options: ConnectOptions = {
    mqtt,
    // A person is waiting: retry sooner than the library's 120 s ceiling for fleets.
    reconnect: { initialDelayMs: 1000, maxDelayMs: 30_000 },
  };
  const device = str(values['device']) ?? env['CELLSTACK_DEVICE'];
  if (device) options.modem = modemOptions(values, env);
  return {
    options,
    target,
    clientId,
    verbose: values['verbose'] === true,
    quiet: values['quiet'] === true,
    timeoutMs,
    insecure: target.tls && insecure,
  };
}

function modemOptions(values: Values, env: NodeJS.ProcessEnv): ModemLinkOptions {
  const a = linkArgs(values, env);
  const m: ModemLinkOptions = { path: a.path, direct: a.direct, forcePin: a.forcePin };
  if (a.baudRate !== undefined) m.baudRate = a.baudRate;
  if (a.rtscts !== undefined) m.rtscts = a.rtscts;
  if (a.record !== undefined) m.record = a.record;
  if (a.pin !== undefined) m.pin = a.pin;
  if (a.apn !== undefined) m.apn = a.apn;
  if (a.user !== undefined) m.user = a.user;
  if (a.password !== undefined) m.password = a.password;
  if (a.pcap !== undefined) m.pcap = a.pcap;
  return m;
}

// ---- one run of the connection manager -----------------------------------------------------

/**
 * A `Connection` as a command sees it: started from `MqttArgs`, its state changes shown (live
 * line on a terminal, plain lines with --verbose), the last failure kept for the exit message.
 */
export class MqttRun {
  readonly conn: Connection;
  readonly started = Date.now();
  readonly status: StatusLine;
  /** Resolves when the manager stops by itself (a failure no retry can fix). */
  readonly closed: Promise<Error | undefined>;
  private change: StateChange = { state: 'idle', attempt: 0 };
  private retryAt: number | undefined;
  private lastFailure: Error | undefined;
  private ending = false;

  constructor(
    readonly args: MqttArgs,
    io: Io,
    counts: () => string,
  ) {
    try {
      this.conn = connect(args.options);
    } catch (err) {
      // connect() checks its options at once: anything wrong there came from the command line.
      if (err instanceof ConfigError && !(err instanceof UsageError)) throw new UsageError(err.message);
      throw err;
    }
    this.status = new StatusLine(io.stderr, () =>
      formatStatus({
        state: this.change.state,
        ...(this.change.detail === undefined ? {} : { detail: this.change.detail }),
        ...(this.change.state === 'offline' && this.lastFailure ? { failure: codeOf(this.lastFailure) } : {}),
        ...(this.change.state === 'offline' && this.retryAt !== undefined
          ? { retryInMs: this.retryAt - Date.now() }
          : {}),
        stats: this.conn.stats(),
        counts: counts(),
        elapsedMs: Date.now() - this.started,
      }),
    );
    this.closed = new Promise((resolve) => this.conn.once('close', (err) => resolve(err)));
    this.conn.on('state', (c) => {
      this.change = c;
      if (c.state === 'offline') {
        if (c.reason) this.lastFailure = c.reason;
        this.retryAt = c.delayMs === undefined ? undefined : Date.now() + c.delayMs;
      }
      if (this.ending && (c.state === 'closed' || c.state === 'idle')) return;
      if (this.args.verbose) this.status.print(formatStateChange(c));
      else this.status.update();
    });
    this.conn.on('connect', () => {
      const tls = this.conn.stats().tls;
      if (!this.args.verbose || !tls) return;
      const alpn = tls.alpn ? `, ALPN ${tls.alpn}` : '';
      this.status.print(
        `tls: ${tls.protocol ?? '?'} ${tls.cipher ?? '?'}${alpn}${tls.resumed ? ' (resumed)' : ''}`,
      );
    });
    if (args.insecure) this.status.print("warning: --insecure: the broker's certificate is not checked");
    this.status.start();
  }

  /** A line for the user on standard error (above the status line on a terminal). */
  say(line: string): void {
    this.status.print(line);
  }

  /**
   * The error for giving up after `ms`: the last failure's own code when the broker was never
   * reached (ECONNREFUSED, ENOTFOUND, CONNACK_REFUSED, a certificate's code...), else ETIMEDOUT
   * with `what` (what was still missing).
   */
  giveUp(ms: number, what: string, note = ''): CellstackError {
    const s = this.conn.stats();
    if (s.connects === 0) {
      const f = this.lastFailure;
      const attempts = `${s.attempts} attempt${s.attempts === 1 ? '' : 's'}`;
      if (f)
        return new CellstackError(
          codeOf(f),
          `${oneLine(f.message)} (gave up after ${ms} ms, ${attempts}${note})`,
        );
      return new CellstackError(
        'ETIMEDOUT',
        `not connected within ${ms} ms (state ${this.change.state}${note})`,
      );
    }
    // Connected once, but not now: say why.
    const now =
      this.change.state !== 'connected' && this.lastFailure
        ? ` (${this.change.state}: ${codeOf(this.lastFailure)}: ${oneLine(this.lastFailure.message)})`
        : '';
    return new CellstackError('ETIMEDOUT', `${what} within ${ms} ms${now}${note}`);
  }

  /** Ends the session (DISCONNECT when connected, link down) and erases the status line. */
  async end(): Promise<void> {
    this.ending = true;
    await this.conn.end();
    this.status.stop();
  }

  reconnects(): number {
    return Math.max(0, this.conn.stats().connects - 1);
  }
}

export function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : 'ERROR';
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

/** Resolves after `ms` (never when `ms` is 0 or undefined); `cancel()` stops it. */
export function deadline(ms: number | undefined): { promise: Promise<'timeout'>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<'timeout'>((resolve) => {
    if (ms !== undefined && ms > 0) timer = setTimeout(() => resolve('timeout'), ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}
