import { EventEmitter } from 'node:events';
import { connect as netConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { NetStack, type NetStackStats } from '../../ip/stack.js';
import { ModemError } from '../../modem/errors.js';
import type { Modem } from '../../modem/modem.js';
import { Modem as ModemClass } from '../../modem/modem.js';
import { openPort } from '../../modem/open.js';
import type { ModemPort } from '../../modem/port.js';
import { recordPort } from '../../modem/record.js';
import { type FrameTap, PppLink } from '../../ppp/link.js';
import type { PppStats, PppUpInfo } from '../../ppp/link-core.js';
import type { TcpSocket } from '../../tcp/socket.js';
import { type SecureSocket, connect as tlsConnect } from '../../tls/connect.js';
import { type Clock, sleep, systemClock } from '../../util/clock.js';
import { CellstackError, ConfigError } from '../../util/errors.js';
import { createLogger } from '../../util/log.js';
import { PcapWriter } from '../../util/pcap.js';
import { type MessageHandler, MqttClient, type PublishPromise } from '../client.js';
import type { AckInfo, CoreStats, IncomingMessage } from '../client-core.js';
import { MqttError } from '../errors.js';
import type { ConnAck, Granted, MqttConnectOptions, PublishOptions, SubscribeOptions } from '../options.js';
import { FileStore } from '../store/file-store.js';
import { Qos0Queue } from '../store/qos0-queue.js';
import type { OutgoingStore } from '../store/types.js';
import { Backoff } from './backoff.js';
import type {
  ConnectionState,
  ConnectOptions,
  MqttEndpointOptions,
  RecoveryLevel,
  StateChange,
} from './options.js';
import { applyProfile, type BrokerLimits, checkPublish, checkSubscribe } from './profile.js';
import { classify, type Stage } from './recovery.js';
import { type BrokerTarget, parseBrokerUrl } from './url.js';

const log = createLogger('mqtt:manager');

/** Bound on each step of a teardown (LCP Terminate, hang-up, port close), so none can hang the loop. */
const TEARDOWN_MS = 5000;

export interface ConnectionEvents {
  /** Every change of state; `offline` carries the reason, where the retry starts and the wait. */
  state: [change: StateChange];
  /** A CONNACK: the session is up (again). */
  connect: [connack: ConnAck];
  message: [topic: string, payload: Buffer, packet: IncomingMessage['packet']];
  acked: [ack: AckInfo];
  /** The manager stopped for good: after `end()` (no error), or a failure no retry can fix. */
  close: [error?: Error];
}

export interface ConnectionStats {
  state: ConnectionState;
  /** Failed attempts since the last CONNACK. */
  attempts: number;
  /** CONNACKs received. */
  connects: number;
  /** Dials after the first, modem reopenings after the first. */
  redials: number;
  modemResets: number;
  /** Failures by code (`ETIMEDOUT`, `PEER_DEAD`, `EKEEPALIVE`...). */
  failures: Record<string, number>;
  /** Our address, the peer's and the DNS servers, while the link is up. */
  ip?: { local: string; peer: string; dns: string[] };
  /** Last signal reading, when the modem gave one. */
  signal?: { rssiDbm: number | null; bars: number };
  /** Registration as last seen (`home`, `roaming`...) and the access technology. */
  registration?: string;
  /** Octets on the serial line (cellular) or the TCP socket (host network), all sessions. */
  bytes: { up: number; down: number };
  /** Smoothed TCP round-trip time of the broker connection (our stack only). */
  rttMs?: number;
  /** The TLS session of the current connection: version, suite, ALPN, whether resumed. */
  tls?: {
    protocol: string | null;
    cipher: string | undefined;
    alpn: string | false | null;
    resumed: boolean;
  };
  mqtt: CoreStats & { pending: number; inflight: number };
  /** QoS 0 publishes made offline: queued now, dropped by the policy or the bound. */
  offlineQos0: { queued: number; dropped: number };
  link?: PppStats;
  net?: NetStackStats;
}

interface Waiter<T> {
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
}

/**
 * The connection manager: the one place that knows the whole chain (DESIGN.md). It runs modem
 * -> registration -> dial -> PPP -> DNS -> TCP -> TLS -> MQTT, reports each step as a state,
 * and after any failure walks back down only as far as needed (`recovery.ts`), waits a
 * jittered exponential backoff, and climbs again, until `end()` or a failure no retry can fix
 * (a SIM that wants its PUK, a refused PIN, a broken configuration).
 *
 * Publishes go through one `MqttClient` for the life of the manager, so the session (packet
 * ids, QoS 1/2 in flight, the store) survives every reconnect. QoS 1/2 publishes are accepted
 * offline (stored); QoS 0 publishes offline are queued in memory up to a bound, or dropped.
 */
export class Connection extends EventEmitter<ConnectionEvents> {
  readonly client: MqttClient;
  private stateValue: ConnectionState = 'idle';
  private readonly clock: Clock;
  private readonly target: BrokerTarget;
  private readonly endpoint: MqttEndpointOptions;
  private readonly limits: BrokerLimits;
  private readonly backoff: Backoff;
  private readonly maxAttempts: number;
  private readonly redialAfter: number;
  private readonly resetAfter: number;
  private readonly ownedStore: FileStore | undefined;
  private readonly qos0: Qos0Queue<{
    topic: string;
    payload: Uint8Array;
    retain: boolean;
    options: PublishOptions;
    done: Waiter<AckInfo | undefined>;
  }>;
  private readonly abort = new AbortController();
  private readonly pcap: PcapWriter | undefined;
  private ending = false;
  private endPromise: Promise<void> | undefined;
  private loop: Promise<void> | undefined;
  private readyWaiters: Waiter<ConnAck>[] = [];
  private lastConnack: ConnAck | undefined;
  private closedError: Error | undefined;
  private closed = false;

  // The chain, bottom up; each is undefined when that layer is down.
  private port: ModemPort | undefined;
  private portOpen = false;
  private modem: Modem | undefined;
  private link: PppLink | undefined;
  private linkUp = false;
  private info: PppUpInfo | undefined;
  private stack: NetStack | undefined;
  private raw: Duplex | undefined;
  private transport: Duplex | undefined;
  private mqttOpen = false;
  private secure: SecureSocket | undefined;
  private tlsSession: Buffer | undefined;

  /** Wakes the connected wait with the first failure of any layer. */
  private failureWaiter: ((error: Error) => void) | undefined;
  private transportFailures = 0;
  private dialFailures = 0;
  private dials = 0;
  private modemOpens = 0;
  private connects = 0;
  private readonly failures: Record<string, number> = {};
  private signal: { rssiDbm: number | null; bars: number } | undefined;
  private registration: string | undefined;
  private bytesDone = { up: 0, down: 0 };

  constructor(private readonly options: ConnectOptions) {
    super();
    if (!options || typeof options !== 'object') throw new ConfigError('connect(): options are required');
    if (!options.mqtt || typeof options.mqtt.url !== 'string')
      throw new ConfigError('connect(): mqtt.url is required');
    this.clock = options.clock ?? systemClock;
    this.target = parseBrokerUrl(options.mqtt.url);
    const profiled = applyProfile(options.mqtt, this.target);
    for (const a of profiled.adjustments) log('profile %s: %s', options.mqtt.profile, a);
    this.endpoint = profiled.options;
    this.limits = profiled.limits;
    const m = options.modem;
    if (m !== undefined && (typeof m.path !== 'string' || (m.path.length === 0 && !m.openPort)))
      throw new ConfigError('connect(): modem.path is required');
    const r = options.reconnect ?? {};
    this.backoff = new Backoff(r, options.random ?? Math.random);
    this.maxAttempts = r.maxAttempts ?? Number.POSITIVE_INFINITY;
    this.redialAfter = r.redialAfter ?? 3;
    this.resetAfter = r.resetAfter ?? 3;
    if (!(this.maxAttempts >= 1)) throw new ConfigError('reconnect.maxAttempts must be at least 1');
    if (!(this.redialAfter >= 1) || !(this.resetAfter >= 1))
      throw new ConfigError('reconnect.redialAfter and resetAfter must be at least 1');
    let store: OutgoingStore | undefined;
    if (typeof this.endpoint.store === 'string') {
      const clientId = this.endpoint.clientId;
      if (!clientId) throw new ConfigError('mqtt.store as a directory needs mqtt.clientId');
      this.ownedStore = new FileStore({ dir: this.endpoint.store, clientId });
      store = this.ownedStore;
    } else {
      store = this.endpoint.store;
    }
    this.qos0 = new Qos0Queue({
      policy: this.endpoint.offlineQos0 ?? 'queue',
      maxMessages: this.endpoint.offlineQos0Limit ?? 1000,
      maxBytes: this.endpoint.offlineQos0MaxBytes ?? 1024 * 1024,
      onEvict: (m) =>
        m.done.reject(new MqttError('NOT_CONNECTED', 'dropped from the offline QoS 0 queue to make room')),
    });
    this.pcap = m?.pcap ? new PcapWriter(m.pcap) : undefined;
    // The client keeps the wall clock: stored publishes are stamped for message expiry.
    this.client = new MqttClient(store ? { store } : {});
    this.client.on('message', (topic, payload, packet) => this.emit('message', topic, payload, packet));
    this.client.on('acked', (ack) => this.emit('acked', ack));
    this.client.on('error', (err) => log('client error: %s', err.message));
    this.client.on('close', (err) => {
      this.mqttOpen = false;
      if (this.stateValue === 'connected')
        this.fail(err ?? new MqttError('DISCONNECTED', 'the broker closed the connection'));
    });
  }

  /** Where the manager is in the chain now. */
  get state(): ConnectionState {
    return this.stateValue;
  }

  /** Whether a CONNACK was received and the connection is up. */
  get connected(): boolean {
    return this.stateValue === 'connected';
  }

  /** The IP stack over the current PPP link (undefined between links or without a modem). */
  get netStack(): NetStack | undefined {
    return this.stack;
  }

  /** The modem, while its port is open (cellular only, not `direct`). */
  get currentModem(): Modem | undefined {
    return this.modem;
  }

  /** Starts the loop (called by `connect()` on the next turn, after listeners are attached). */
  start(): void {
    if (this.loop || this.ending) return;
    this.loop = this.run().catch((err: unknown) => {
      // The loop catches everything; this is a last guard so a bug cannot crash the process.
      log('manager loop failed: %s', (err as Error).message);
      this.finish(err instanceof Error ? err : new Error(String(err)));
    });
  }

  /**
   * Resolves with the CONNACK once connected (at once when connected now); rejects when the
   * manager stops first, or after `timeoutMs` when given.
   */
  ready(timeoutMs?: number): Promise<ConnAck> {
    if (this.connected && this.lastConnack) return Promise.resolve(this.lastConnack);
    if (this.closed)
      return Promise.reject(this.closedError ?? new MqttError('ECLOSED', 'the connection manager has ended'));
    return new Promise<ConnAck>((resolve, reject) => {
      const w: Waiter<ConnAck> = { resolve, reject };
      this.readyWaiters.push(w);
      if (timeoutMs !== undefined) {
        const t = this.clock.setTimer(() => {
          const i = this.readyWaiters.indexOf(w);
          if (i < 0) return;
          this.readyWaiters.splice(i, 1);
          reject(
            new MqttError('ETIMEDOUT', `not connected within ${timeoutMs} ms (state ${this.stateValue})`),
          );
        }, timeoutMs);
        const clear = (): void => this.clock.clearTimer(t);
        w.resolve = (v) => {
          clear();
          resolve(v);
        };
        w.reject = (e) => {
          clear();
          reject(e);
        };
      }
    });
  }

  /**
   * Publishes through the session. QoS 1/2: resolves once stored (durably with a FileStore),
   * connected or not, and `.acked` settles on PUBACK/PUBCOMP, after any number of reconnects.
   * QoS 0: written at once when connected; offline it is queued (resolves when queued,
   * `.acked` when written) or, with `offlineQos0: 'drop'` or a full queue, rejected with
   * NOT_CONNECTED. A profile's limits (AWS: QoS <= 1, 128 KB) reject with a `ConfigError`.
   */
  publish(topic: string, payload: Uint8Array | string, options: PublishOptions = {}): PublishPromise {
    const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
    const qos = options.qos ?? 0;
    try {
      if (this.closed || this.ending) throw new MqttError('ECLOSED', 'the connection manager has ended');
      checkPublish(this.limits, topic, bytes.length, qos);
    } catch (err) {
      return rejected(err);
    }
    // The client's own state: between its close and the manager's `offline` a QoS 0 publish
    // belongs in the queue, and right after a CONNACK it may go at once.
    // Behind queued ones, though, so that QoS 0 keeps its order across a reconnect.
    if (qos !== 0 || (this.client.connected && this.qos0.length === 0))
      return this.client.publish(topic, bytes, options);
    let done: Waiter<AckInfo | undefined> | undefined;
    const acked = new Promise<AckInfo | undefined>((resolve, reject) => {
      done = { resolve, reject };
    });
    acked.catch(() => {});
    const waiter = done as unknown as Waiter<AckInfo | undefined>;
    const pushed = this.qos0.push({
      topic,
      payload: bytes,
      retain: options.retain ?? false,
      options,
      done: waiter,
    });
    if (pushed.outcome !== 'queued') {
      const err = new MqttError('NOT_CONNECTED', `offline: QoS 0 publish ${pushed.outcome}`);
      waiter.reject(err);
      return Object.assign(Promise.reject(err), { acked });
    }
    return Object.assign(Promise.resolve(), { acked });
  }

  /**
   * Subscribes (now, or once connected). The client subscribes again after a reconnect that
   * finds no session at the broker, so a handler keeps hearing its filter.
   */
  async subscribe(
    filters: string | readonly string[],
    options: SubscribeOptions = {},
    handler?: MessageHandler,
  ): Promise<Granted[]> {
    for (const f of typeof filters === 'string' ? [filters] : filters)
      checkSubscribe(this.limits, f, options.qos ?? 0);
    for (let i = 0; i < 100; i++) {
      await this.ready();
      try {
        return await this.client.subscribe(filters, options, handler);
      } catch (err) {
        // Lost between ready() and SUBACK: wait for the next connection and ask again.
        if (!(err instanceof MqttError) || this.closed) throw err;
        if (err.code === 'SUBSCRIBE_FAILED') throw err;
      }
    }
    throw new MqttError('SUBSCRIBE_FAILED', 'the connection kept failing before SUBACK');
  }

  async unsubscribe(filters: string | readonly string[]): Promise<void> {
    await this.ready();
    await this.client.unsubscribe(filters);
  }

  /**
   * Stops: DISCONNECT when connected, LCP Terminate, hang-up, port closed, a store given as a
   * directory closed. QoS 1/2 publishes not yet acknowledged stay in the store for the next
   * process. Resolves when everything is down; safe to call twice.
   */
  end(): Promise<void> {
    this.endPromise ??= (async () => {
      this.ending = true;
      this.abort.abort(new MqttError('ECLOSED', 'the connection manager is ending'));
      this.failureWaiter?.(new MqttError('ECLOSED', 'ending'));
      if (this.mqttOpen && this.client.connected) await bounded(this.client.end(), TEARDOWN_MS);
      await this.teardown('modem');
      await this.loop;
      this.finish(undefined);
      if (this.ownedStore) await this.ownedStore.close().catch(() => undefined);
    })();
    return this.endPromise;
  }

  stats(): ConnectionStats {
    const out: ConnectionStats = {
      state: this.stateValue,
      attempts: this.backoff.attempts,
      connects: this.connects,
      redials: Math.max(0, this.dials - 1),
      modemResets: Math.max(0, this.modemOpens - 1),
      failures: { ...this.failures },
      bytes: this.bytes(),
      mqtt: this.client.stats(),
      offlineQos0: {
        queued: this.qos0.length,
        dropped: this.qos0.counters.dropped + this.qos0.counters.evicted + this.qos0.counters.rejected,
      },
    };
    if (this.info && this.linkUp)
      out.ip = { local: this.info.localAddress, peer: this.info.peerAddress, dns: [...this.info.dns] };
    if (this.signal) out.signal = { ...this.signal };
    if (this.registration) out.registration = this.registration;
    const srtt = (this.raw as TcpSocket | undefined)?.connection?.tcb?.rtt?.srtt;
    if (typeof srtt === 'number') out.rttMs = srtt;
    const tls = this.secure;
    if (tls && this.transport === tls)
      out.tls = {
        protocol: tls.getProtocol(),
        cipher: tls.getCipher()?.standardName,
        alpn: tls.alpnProtocol,
        resumed: tls.isSessionReused(),
      };
    if (this.link) out.link = this.link.stats();
    if (this.stack) out.net = this.stack.stats();
    return out;
  }

  // ---- the loop ---------------------------------------------------------------------------

  private get cellular(): boolean {
    return this.options.modem !== undefined;
  }

  private async run(): Promise<void> {
    let level: RecoveryLevel = this.cellular ? 'modem' : 'transport';
    while (!this.ending) {
      let stage: Stage = 'modem';
      try {
        if (level === 'modem') {
          stage = 'modem';
          // A modem that still answers but keeps failing is restarted (+CFUN); the first open
          // and a modem already gone are just (re)opened.
          await this.teardown('modem', this.modemOpens > 0);
          await this.openModem();
          level = 'link';
        }
        if (level === 'link') {
          stage = 'dial';
          await this.teardown('link');
          await this.dial();
          level = 'transport';
        }
        stage = 'transport';
        await this.teardown('transport');
        const connack = await this.connectTransport();
        stage = 'connected';
        this.onConnected(connack);
        const failure = await this.untilFailure();
        if (this.ending) break;
        throw failure;
      } catch (err) {
        if (this.ending) break;
        const error = err instanceof Error ? err : new Error(String(err));
        const code = (error as { code?: unknown }).code;
        const key = typeof code === 'string' ? code : error.name;
        this.failures[key] = (this.failures[key] ?? 0) + 1;
        const verdict = classify(error, {
          stage,
          linkUp: this.cellular ? this.linkUp : true,
          portOpen: this.cellular ? this.portOpen : true,
          cellular: this.cellular,
        });
        if (!verdict.retry) {
          log('giving up: %s', error.message);
          await this.teardown('modem');
          this.finish(error);
          return;
        }
        level = this.escalate(verdict.level);
        if (this.backoff.attempts + 1 >= this.maxAttempts) {
          log('giving up after %d attempts: %s', this.backoff.attempts + 1, error.message);
          await this.teardown('modem');
          this.finish(
            new MqttError(
              'ECLOSED',
              `gave up after ${this.backoff.attempts + 1} attempts: ${error.message}`,
              undefined,
              { cause: error },
            ),
          );
          return;
        }
        const delayMs = this.backoff.next();
        log('offline (%s at %s): %s; again from %s in %d ms', key, stage, error.message, level, delayMs);
        this.setState({
          state: 'offline',
          reason: error,
          recovery: level,
          delayMs,
          attempt: this.backoff.attempts,
        });
        try {
          await sleep(this.clock, delayMs, this.abort.signal);
        } catch {
          break;
        }
      }
    }
  }

  /** Counts failures per level and walks further down when one level keeps failing. */
  private escalate(level: RecoveryLevel): RecoveryLevel {
    if (!this.cellular) return 'transport';
    if (level === 'transport' || level === 'mqtt') {
      this.transportFailures++;
      if (this.transportFailures < this.redialAfter) return 'transport';
      this.transportFailures = 0;
      level = 'link';
    }
    if (level === 'link') {
      this.dialFailures++;
      if (this.dialFailures < this.resetAfter) return 'link';
      this.dialFailures = 0;
      level = 'modem';
    }
    this.transportFailures = 0;
    this.dialFailures = 0;
    return 'modem';
  }

  private onConnected(connack: ConnAck): void {
    this.backoff.reset();
    this.transportFailures = 0;
    this.dialFailures = 0;
    this.connects++;
    this.lastConnack = connack;
    this.setState({
      state: 'connected',
      attempt: 0,
      detail: `${this.target.host}:${this.target.port}${connack.sessionPresent ? ' (session present)' : ''}`,
    });
    this.emit('connect', connack);
    for (const w of this.readyWaiters.splice(0)) w.resolve(connack);
    this.flushQos0();
  }

  private flushQos0(): void {
    for (;;) {
      if (!this.client.connected) return;
      const m = this.qos0.shift();
      if (!m) return;
      const p = this.client.publish(m.topic, m.payload, { ...m.options, qos: 0 });
      p.acked.then(m.done.resolve, m.done.reject);
    }
  }

  /** Resolves with the first failure of any layer once connected (or at `end()`). */
  private untilFailure(): Promise<Error> {
    return new Promise<Error>((resolve) => {
      if (!this.mqttOpen) {
        resolve(new MqttError('ECONNRESET', 'the connection closed as it opened'));
        return;
      }
      this.failureWaiter = (e) => {
        this.failureWaiter = undefined;
        resolve(e);
      };
    });
  }

  /** A layer failed: wake the connected wait (stages in progress fail on their own). */
  private fail(error: Error): void {
    this.failureWaiter?.(error);
  }

  private setState(change: StateChange): void {
    this.stateValue = change.state;
    log('state %s%s', change.state, change.detail ? `: ${change.detail}` : '');
    this.emit('state', change);
  }

  private finish(error: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.closedError = error;
    for (const w of this.readyWaiters.splice(0))
      w.reject(error ?? new MqttError('ECLOSED', 'the connection manager has ended'));
    for (;;) {
      const m = this.qos0.shift();
      if (!m) break;
      m.done.reject(new MqttError('ECLOSED', 'ended before the QoS 0 publish was sent'));
    }
    this.pcap?.close();
    this.setState({ state: 'closed', attempt: this.backoff.attempts, ...(error ? { reason: error } : {}) });
    this.emit('close', error);
  }

  // ---- the stages -------------------------------------------------------------------------

  private async openModem(): Promise<void> {
    const m = this.options.modem;
    if (!m) return;
    this.modemOpens++;
    this.setState({ state: 'opening', attempt: this.backoff.attempts, detail: m.path });
    let port = m.openPort
      ? await m.openPort()
      : await openPort({
          path: m.path,
          ...(m.baudRate === undefined ? {} : { baudRate: m.baudRate }),
          ...(m.rtscts === undefined ? {} : { rtscts: m.rtscts }),
          ...(m.sim === undefined ? {} : { sim: m.sim }),
        });
    if (m.record) port = recordPort(port, m.record);
    if (m.pin) port.addSecret?.(m.pin);
    if (m.password) port.addSecret?.(m.password);
    this.port = port;
    this.portOpen = true;
    const onPortClose = (): void => {
      if (this.port !== port) return;
      this.portOpen = false;
      this.fail(new ModemError('CLOSED', 'the modem port closed'));
    };
    port.stream.once('close', onPortClose);
    port.stream.on('error', (err) => log('port error: %s', err.message));
    if (m.direct) return;
    const modem = new ModemClass(port, { clock: this.clock });
    this.modem = modem;
    modem.on('signal', (s) => {
      this.signal = s;
    });
    modem.on('carrier-lost', () => this.fail(new ModemError('NO_CARRIER', 'the modem reported NO CARRIER')));
    await modem.initialize();
    await modem.unlock(m.pin, { force: m.forcePin ?? false });
    this.setState({ state: 'registering', attempt: this.backoff.attempts });
    const reg = await modem.waitForRegistration({
      signal: this.abort.signal,
      ...(m.registrationTimeoutMs === undefined ? {} : { timeoutMs: m.registrationTimeoutMs }),
    });
    this.registration = `${reg.state}${reg.act ? ` (${reg.act})` : ''}`;
    this.setState({ state: 'registering', attempt: this.backoff.attempts, detail: this.registration });
    try {
      const s = await modem.signal();
      this.signal = { rssiDbm: s.rssiDbm, bars: s.bars };
    } catch {
      // Signal is information only.
    }
    if (m.apn !== undefined) await modem.setApn(m.apn, m.cid === undefined ? {} : { cid: m.cid });
    await modem.attach();
  }

  private async dial(): Promise<void> {
    const m = this.options.modem;
    const port = this.port;
    if (!m || !port) throw new ModemError('CLOSED', 'no modem port');
    this.dials++;
    this.setState({
      state: 'dialing',
      attempt: this.backoff.attempts,
      detail: m.direct ? 'direct PPP' : undefined,
    });
    const stream: Duplex = m.direct
      ? port.stream
      : await (this.modem as Modem).dial(m.cid === undefined ? {} : { cid: m.cid });
    const pcap = this.pcap;
    const tap: FrameTap | undefined = pcap
      ? { write: (d, f) => pcap.write(d, f), close: () => undefined }
      : undefined;
    const lcp = {
      echoIntervalMs: (m.lcpEchoInterval ?? 20) * 1000,
      echoFailure: m.lcpEchoFailure ?? 3,
      ...m.ppp?.lcp,
    };
    const link = new PppLink(stream, {
      ...m.ppp,
      lcp,
      clock: this.clock,
      ...(m.user === undefined ? {} : { user: m.user }),
      ...(m.password === undefined ? {} : { password: m.password }),
      ...(tap ? { tap } : {}),
    });
    this.link = link;
    link.on('down', (err) => {
      if (this.link !== link) return;
      this.linkUp = false;
      this.stack?.close(err);
      this.fail(err);
    });
    link.open();
    const info = await link.waitUp(m.linkTimeoutMs ?? 60_000);
    this.info = info;
    this.linkUp = true;
    this.stack = new NetStack(link, { clock: this.clock });
    this.setState({
      state: 'ppp-up',
      attempt: this.backoff.attempts,
      detail: `${info.localAddress} -> ${info.peerAddress}${info.dns.length ? `, DNS ${info.dns.join(' ')}` : ''}`,
    });
  }

  /** TCP (by name through the link's DNS), TLS, CONNECT; all within `connectTimeoutMs`. */
  private async connectTransport(): Promise<ConnAck> {
    const e = this.endpoint;
    const { host, port } = this.target;
    this.setState({ state: 'connecting', attempt: this.backoff.attempts, detail: `${host}:${port}` });
    const timeoutMs = e.connectTimeoutMs ?? 30_000;
    const deadline = this.clock.now() + timeoutMs;
    let timedOut = false;
    const timer = this.clock.setTimer(() => {
      timedOut = true;
      const err = new MqttError('ETIMEDOUT', `no CONNACK within ${timeoutMs} ms of starting to connect`);
      this.transport?.destroy(err);
      this.raw?.destroy(err);
    }, timeoutMs);
    try {
      let raw: Duplex;
      if (e.transport) raw = await e.transport({ host, port });
      else if (this.stack) raw = this.stack.connect({ host, port });
      else if (this.cellular) throw new ModemError('CLOSED', 'the link is down');
      else raw = netConnect({ host, port });
      this.raw = raw;
      if (timedOut) raw.destroy();
      if (!e.transport) await connected(raw, 'connect');
      let conn = raw;
      if (this.target.tls) {
        const s = tlsConnect({
          socket: raw,
          host,
          servername: e.servername,
          ca: e.ca,
          cert: e.cert,
          key: e.key,
          pfx: e.pfx,
          passphrase: e.passphrase,
          ALPNProtocols: e.alpn,
          rejectUnauthorized: e.rejectUnauthorized ?? true,
          engine: e.tlsEngine ?? 'own',
          session: this.tlsSession,
          handshakeTimeout: Math.max(1, deadline - this.clock.now()),
        });
        s.on('session', (session: Buffer) => {
          this.tlsSession = session;
        });
        this.transport = s;
        this.secure = s;
        conn = s;
        await connected(s, 'secureConnect');
      }
      this.transport = conn;
      this.mqttOpen = true;
      const connack = await this.client.connect(
        conn,
        this.connectOptions(Math.max(1, deadline - this.clock.now())),
      );
      return connack;
    } catch (err) {
      if (timedOut)
        throw new MqttError(
          'ETIMEDOUT',
          `no CONNACK within ${timeoutMs} ms of starting to connect`,
          undefined,
          { cause: err },
        );
      throw err;
    } finally {
      this.clock.clearTimer(timer);
    }
  }

  private connectOptions(connectTimeout: number): MqttConnectOptions {
    const {
      url: _u,
      ca: _ca,
      cert: _c,
      key: _k,
      pfx: _p,
      passphrase: _pp,
      servername: _s,
      alpn: _a,
      rejectUnauthorized: _r,
      tlsEngine: _t,
      profile: _pr,
      store: _st,
      offlineQos0: _o,
      offlineQos0Limit: _ol,
      offlineQos0MaxBytes: _ob,
      connectTimeoutMs: _ct,
      transport: _tr,
      ...mqtt
    } = this.endpoint;
    return { ...mqtt, connectTimeout };
  }

  // ---- walking down -----------------------------------------------------------------------

  /**
   * Takes the chain down to (and including) `level`; every step bounded, none throws. With
   * `reset`, a modem that still answers is restarted (`Modem.reset`) before its port closes.
   */
  private async teardown(level: RecoveryLevel, reset = false): Promise<void> {
    // Transport: TLS and TCP, and the client's connection with them.
    const transport = this.transport;
    const raw = this.raw;
    this.transport = undefined;
    this.raw = undefined;
    if (this.mqttOpen) {
      const closed = new Promise<void>((resolve) => this.client.once('close', () => resolve()));
      transport?.destroy();
      raw?.destroy();
      await bounded(closed, TEARDOWN_MS);
    } else {
      transport?.destroy();
      raw?.destroy();
    }
    if (raw && 'bytesRead' in raw && !this.cellular) {
      const s = raw as unknown as { bytesRead: number; bytesWritten: number };
      this.bytesDone.down += s.bytesRead;
      this.bytesDone.up += s.bytesWritten;
    }
    if (level === 'transport' || level === 'mqtt') return;
    // Link: the IP stack, PPP (LCP Terminate), the data call.
    const link = this.link;
    const stack = this.stack;
    const wasUp = this.linkUp;
    this.stack = undefined;
    this.linkUp = false;
    stack?.close();
    if (link) {
      const s = link.stats();
      this.bytesDone.up += s.hdlcOut.bytesOut;
      this.bytesDone.down += s.hdlc.bytesIn;
      // Terminate-Request only to a peer that was answering (RFC 1661 5.5); a link that never
      // came up, or whose peer stopped answering Echo-Requests, is simply let go.
      if (wasUp) await bounded(link.close(), TEARDOWN_MS);
      link.destroy();
      this.link = undefined;
    }
    if (this.modem?.inDataMode) await bounded(this.modem.hangUp(), TEARDOWN_MS + 5000);
    if (level === 'link') return;
    // Modem: the AT side and the port.
    const modem = this.modem;
    const port = this.port;
    const wasOpen = this.portOpen;
    this.modem = undefined;
    this.port = undefined;
    this.portOpen = false;
    if (modem && reset && wasOpen) {
      log('resetting the modem');
      await bounded(modem.reset(), 16_000);
    }
    if (modem) await bounded(modem.close(), TEARDOWN_MS);
    else if (port) await bounded(port.close(), TEARDOWN_MS);
  }

  private bytes(): { up: number; down: number } {
    let up = this.bytesDone.up;
    let down = this.bytesDone.down;
    if (this.link) {
      const s = this.link.stats();
      up += s.hdlcOut.bytesOut;
      down += s.hdlc.bytesIn;
    } else if (this.raw && !this.cellular && 'bytesRead' in this.raw) {
      const s = this.raw as unknown as { bytesRead: number; bytesWritten: number };
      up += s.bytesWritten;
      down += s.bytesRead;
    }
    return { up, down };
  }
}

/** Waits for `event` on a socket; rejects with its error, or when it closes first. */
function connected(socket: Duplex, event: 'connect' | 'secureConnect'): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (
      event === 'connect' &&
      (socket as { connecting?: boolean }).connecting === false &&
      !socket.destroyed
    ) {
      resolve();
      return;
    }
    const done = (): void => {
      socket.off(event, onOk);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
    const onOk = (): void => {
      done();
      resolve();
    };
    const onError = (err: Error): void => {
      done();
      reject(err);
    };
    const onClose = (): void => {
      done();
      reject(new CellstackError('ECONNRESET', `the connection closed before ${event}`));
    };
    socket.on(event, onOk);
    socket.on('error', onError);
    socket.on('close', onClose);
    // Errors after we stop listening (a late reset) must not crash the process.
    socket.on('error', () => {});
  });
}

/** Waits for `p` at most `ms`; never rejects. */
async function bounded(p: Promise<unknown>, ms: number): Promise<void> {
  let t: NodeJS.Timeout | undefined;
  await Promise.race([
    p.catch(() => undefined),
    new Promise<void>((resolve) => {
      t = setTimeout(resolve, ms);
      t.unref?.();
    }),
  ]);
  clearTimeout(t);
}

function rejected(err: unknown): PublishPromise {
  const p = Promise.reject(err);
  const acked = Promise.reject(err);
  acked.catch(() => {});
  return Object.assign(p, { acked });
}
