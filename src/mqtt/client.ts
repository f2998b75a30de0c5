import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { type Clock, type TimerHandle, wallClock } from '../util/clock.js';
import { DeadlineTimer } from '../util/deadline-timer.js';
import { ConfigError } from '../util/errors.js';
import { createLogger } from '../util/log.js';
import {
  type AckInfo,
  type CoreStats,
  type IncomingMessage,
  MqttClientCore,
  type MqttCoreEvent,
} from './client-core.js';
import { MqttError } from './errors.js';
import type { ConnAck, Granted, MqttConnectOptions, PublishOptions, SubscribeOptions } from './options.js';
import type { OutgoingStore, PublishToStore, StoredPublish } from './store/types.js';
import { isValidFilter, isValidTopic, TopicRouter } from './topic.js';

const log = createLogger('mqtt');

/** How long `end()` waits for the transport to close after DISCONNECT before destroying it. */
const END_GRACE_MS = 1000;

export interface MqttClientOptions {
  /**
   * Where QoS 1/2 publishes are kept until PUBACK/PUBCOMP. The client calls `open()` on its
   * first `connect()` and resends what it found. Without a store they live in memory only.
   */
  store?: OutgoingStore;
  /** Time for keepalive, the CONNACK timeout and `createdAt` (default: wall clock, `Date.now`). */
  clock?: Clock;
}

/** A handler given to `subscribe()`, called for each message whose topic matches its filter. */
export type MessageHandler = (topic: string, payload: Buffer, packet: IncomingMessage['packet']) => void;

/**
 * What `publish()` returns: resolves when QoS 0 is written or QoS 1/2 is durably stored (not
 * on PUBACK); `acked` settles on PUBACK (QoS 1) / PUBCOMP (QoS 2), rejecting with an
 * `MqttError` (`PUBLISH_FAILED` with its reason code, or `EXPIRED`). For QoS 0, `acked`
 * resolves with the write.
 */
export type PublishPromise = Promise<void> & { readonly acked: Promise<AckInfo | undefined> };

interface Waiter<T> {
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
}

export interface MqttClientEvents {
  connect: [connack: ConnAck];
  message: [topic: string, payload: Buffer, packet: IncomingMessage['packet']];
  acked: [ack: AckInfo];
  /** Once per connection; `error` unless the connection ended with our DISCONNECT. */
  close: [error?: MqttError];
  error: [error: Error];
}

/**
 * An MQTT 3.1.1/5.0 client over any Duplex (our TcpSocket/TlsSocket, node:net, node:tls): the
 * shell of `MqttClientCore`. It never reconnects by itself: when the transport closes it emits
 * one `close` and keeps the session (packet ids, publishes in flight, subscriptions, handlers)
 * for a later `connect(newTransport)`, which resumes it. `error` is emitted only when someone
 * listens; the same error always comes with `close`.
 */
export class MqttClient extends EventEmitter<MqttClientEvents> {
  readonly core = new MqttClientCore();
  private readonly clock: Clock;
  private readonly store: OutgoingStore | undefined;
  private readonly timer: DeadlineTimer;
  private readonly router = new TopicRouter<MessageHandler>();
  private transport: Duplex | undefined;
  private detach: (() => void) | undefined;
  private connectWaiter: Waiter<ConnAck> | undefined;
  private readonly requestWaiters = new Map<number, Waiter<Granted[]>>();
  private readonly ackWaiters = new Map<number, Waiter<AckInfo | undefined>>();
  private storeReady: Promise<void> | undefined;
  /** `storeReady` has resolved: publishes need not wait for it. */
  private storeOpened = false;
  private enqueueChain: Promise<void> = Promise.resolve();
  private localKey = 0;
  private endTimer: TimerHandle | undefined;
  /** Writes gathered in this turn of the event loop (see `write`), and for which transport. */
  private outChunks: Buffer[] = [];
  private outTransport: Duplex | undefined;
  private outDone: Waiter<void> | undefined;
  private outPromise: Promise<void> | undefined;

  constructor(options: MqttClientOptions = {}) {
    super();
    this.clock = options.clock ?? wallClock;
    this.store = options.store;
    this.timer = new DeadlineTimer(this.clock, () => {
      this.core.tick(this.clock.now());
      this.pump();
    });
  }

  /** Whether a CONNACK was received and the connection is up. */
  get connected(): boolean {
    return this.core.state === 'connected';
  }

  /**
   * Sends CONNECT over `transport` (already connected) and resolves with the CONNACK. Rejects
   * with an `MqttError` (CONNACK_REFUSED, ETIMEDOUT, ECONNRESET...). With the broker's session
   * present, unacknowledged publishes are resent with DUP and PUBRELs again.
   */
  async connect(transport: Duplex, options: MqttConnectOptions = {}): Promise<ConnAck> {
    if (this.transport)
      throw new MqttError('PROTOCOL_ERROR', 'already connected or connecting; end() or wait for close first');
    if (options.clientId === '' && options.clean === false && (options.protocolVersion ?? 4) === 4)
      throw new ConfigError('MQTT 3.1.1 needs a client id for a persistent session');
    this.transport = transport;
    const onConnack = new Promise<ConnAck>((resolve, reject) => {
      this.connectWaiter = { resolve, reject };
    });
    try {
      await this.openStore();
    } catch (e) {
      this.transport = undefined;
      this.connectWaiter = undefined;
      throw e;
    }
    log(
      'connect v%d client id %s clean %s keepalive %s',
      options.protocolVersion ?? 4,
      options.clientId ?? '',
      options.clean ?? true,
      options.keepalive ?? 60,
    );
    const onData = (chunk: Buffer | string): void => {
      this.core.input(typeof chunk === 'string' ? Buffer.from(chunk) : chunk, this.clock.now());
      this.pump();
    };
    // An end or close is reported a turn later, so that an error that explains it (a TLS
    // alert, a reset), often emitted just after, is the one the caller sees.
    const onEnd = (): void => {
      setImmediate(() => this.lost(transport, undefined));
    };
    const onError = (err: Error): void => this.lost(transport, err);
    transport.on('data', onData);
    transport.on('end', onEnd);
    transport.on('close', onEnd);
    transport.on('error', onError);
    this.detach = () => {
      transport.off('data', onData);
      transport.off('end', onEnd);
      transport.off('close', onEnd);
      transport.off('error', onError);
      // Errors after we let go (a late ECONNRESET) must not crash the process.
      transport.on('error', () => {});
    };
    this.core.connect(options, this.clock.now());
    this.pump();
    if (transport.destroyed) this.lost(transport, undefined);
    return onConnack;
  }

  /**
   * Publishes `payload` on `topic`. QoS 0 resolves once written (rejects NOT_CONNECTED when
   * there is no connection); QoS 1/2 resolves once the store holds it durably, whether or not
   * connected, and is sent as the in-flight window allows; `.acked` (and the `acked` event)
   * report PUBACK/PUBCOMP.
   */
  publish(topic: string, payload: Uint8Array | string, options: PublishOptions = {}): PublishPromise {
    const qos = options.qos ?? 0;
    const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
    let settle: Waiter<AckInfo | undefined> | undefined;
    const acked = new Promise<AckInfo | undefined>((resolve, reject) => {
      settle = { resolve, reject };
    });
    acked.catch(() => {});
    const waiter = settle as Waiter<AckInfo | undefined>;
    let done: Promise<void>;
    if (!isValidTopic(topic)) {
      done = Promise.reject(new ConfigError(`invalid topic name: ${JSON.stringify(topic)}`));
    } else if (qos === 0) {
      try {
        this.core.publish0(topic, bytes, options, this.clock.now());
        done = this.pump();
      } catch (e) {
        done = Promise.reject(e);
      }
      done.then(() => waiter.resolve(undefined), waiter.reject);
      return Object.assign(done, { acked });
    } else if (qos !== 1 && qos !== 2) {
      done = Promise.reject(new ConfigError(`invalid QoS ${String(qos)}`));
    } else {
      const entry: PublishToStore = {
        topic,
        payload: bytes,
        qos,
        retain: options.retain ?? false,
        createdAt: this.clock.now(),
      };
      if (options.properties) entry.properties = options.properties;
      const put = this.storeOpened ? this.put(entry) : this.openStore().then(() => this.put(entry));
      // Enqueued in the order publish() was called, whatever order the puts complete in.
      done = this.enqueueChain
        .then(() => put)
        .then((stored) => {
          this.ackWaiters.set(stored.key, waiter);
          this.core.enqueue(stored, this.clock.now());
          this.pump();
        });
      // The next publish waits for this one's turn, never for its failure; a failure (the
      // store full, say) rejects `acked` as well.
      this.enqueueChain = done.then(undefined, waiter.reject);
      return Object.assign(done, { acked });
    }
    done.then(undefined, waiter.reject);
    return Object.assign(done, { acked });
  }

  /**
   * Subscribes to one filter or several with `options.qos`; `handler`, if given, gets the
   * messages matching these filters (the `message` event gets them all). Resolves with what
   * the broker granted; rejects with SUBSCRIBE_FAILED (its `reasonCode`) if any filter was refused.
   */
  async subscribe(
    filters: string | readonly string[],
    options: SubscribeOptions = {},
    handler?: MessageHandler,
  ): Promise<Granted[]> {
    const list = typeof filters === 'string' ? [filters] : [...filters];
    for (const f of list)
      if (!isValidFilter(f)) throw new ConfigError(`invalid topic filter: ${JSON.stringify(f)}`);
    const id = this.core.subscribe(list, options, this.clock.now());
    if (handler) for (const f of list) this.router.add(f, handler);
    const answer = new Promise<Granted[]>((resolve, reject) =>
      this.requestWaiters.set(id, { resolve, reject }),
    );
    this.pump();
    try {
      return await answer;
    } catch (e) {
      if (handler && e instanceof MqttError && e.code === 'SUBSCRIBE_FAILED') {
        const granted = (e as MqttError & { granted?: Granted[] }).granted ?? [];
        for (const g of granted) if (g.qos >= 0x80) this.router.remove(g.topic);
      }
      throw e;
    }
  }

  /** Unsubscribes and forgets the handlers of these filters. */
  async unsubscribe(filters: string | readonly string[]): Promise<void> {
    const list = typeof filters === 'string' ? [filters] : [...filters];
    const id = this.core.unsubscribe(list, this.clock.now());
    const answer = new Promise<Granted[]>((resolve, reject) =>
      this.requestWaiters.set(id, { resolve, reject }),
    );
    this.pump();
    await answer;
    for (const f of list) this.router.remove(f);
  }

  /**
   * Sends DISCONNECT (v5: `reasonCode`, optional new `sessionExpiryInterval`) and ends the
   * transport; resolves once it has closed (destroyed after a second at most). The session
   * state stays for a later `connect()`; the store is not closed.
   */
  async end(options: { reasonCode?: number; sessionExpiryInterval?: number } = {}): Promise<void> {
    const transport = this.transport;
    if (!transport) return;
    const closed = new Promise<void>((resolve) => {
      if (transport.destroyed) resolve();
      else transport.once('close', () => resolve());
    });
    this.core.disconnect(this.clock.now(), options.reasonCode ?? 0, options.sessionExpiryInterval);
    this.pump();
    await closed;
  }

  /** Counters of the core, plus publishes held. */
  stats(): CoreStats & { pending: number; inflight: number } {
    return { ...this.core.stats, pending: this.core.pending, inflight: this.core.inflight };
  }

  // ---- internals --------------------------------------------------------------------------

  private openStore(): Promise<void> {
    this.storeReady ??= (async () => {
      const store = this.store;
      if (store) {
        await store.open();
        this.core.restore(store.entries());
      }
      this.storeOpened = true;
    })();
    return this.storeReady;
  }

  private put(entry: PublishToStore): Promise<StoredPublish> {
    if (this.store) return this.store.put(entry);
    const stored: StoredPublish = {
      ...entry,
      key: ++this.localKey,
      state: 'publish',
      createdAt: entry.createdAt ?? this.clock.now(),
    };
    return Promise.resolve(stored);
  }

  private storeOp(op: (store: OutgoingStore) => Promise<void>, then?: () => void): void {
    const store = this.store;
    const p = store ? op(store) : Promise.resolve();
    p.then(then, (e: unknown) => this.report(e instanceof Error ? e : new Error(String(e))));
  }

  private lost(transport: Duplex, error: Error | undefined): void {
    if (transport !== this.transport) return;
    this.core.transportClosed(error);
    this.pump();
  }

  /** Writes what the core has to send, acts on its events, re-arms the timer. */
  private pump(): Promise<void> {
    let written: Promise<void> = Promise.resolve();
    for (let round = 0; round < 64; round++) {
      const out = this.core.takeOutput();
      if (out.length > 0) written = this.write(out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out));
      const events = this.core.takeEvents();
      if (out.length === 0 && events.length === 0) break;
      for (const ev of events) this.onEvent(ev);
    }
    this.timer.arm(this.core.nextDeadline());
    return written;
  }

  /**
   * Writes at once when the transport is idle in this turn of the event loop; what follows in
   * the same turn is gathered and written together at its end (setImmediate). A lone publish
   * costs no delay, while the PUBACKs of one read and the publishes they let into the window
   * leave in one write (one TLS record, one TCP segment) instead of one each.
   */
  private write(bytes: Buffer): Promise<void> {
    const t = this.transport;
    if (!t || t.destroyed || t.writableEnded)
      return Promise.reject(new MqttError('NOT_CONNECTED', 'the transport is closed'));
    if (this.outTransport !== t) this.flushOut();
    if (this.outTransport === undefined) {
      this.outTransport = t;
      setImmediate(this.flushOut);
      const p = new Promise<void>((resolve, reject) => {
        t.write(bytes, (err) => (err ? reject(err) : resolve()));
      });
      p.catch(() => {});
      return p;
    }
    this.outChunks.push(bytes);
    if (!this.outPromise) {
      this.outPromise = new Promise<void>((resolve, reject) => {
        this.outDone = { resolve, reject };
      });
      this.outPromise.catch(() => {});
    }
    return this.outPromise;
  }

  /** Ends the turn's gathering: writes what it gathered, to the transport it was for. */
  private readonly flushOut = (): void => {
    const chunks = this.outChunks;
    const t = this.outTransport;
    const done = this.outDone;
    this.outChunks = [];
    this.outTransport = undefined;
    this.outDone = undefined;
    this.outPromise = undefined;
    if (!done || chunks.length === 0) return;
    if (!t || t !== this.transport || t.destroyed || t.writableEnded) {
      done.reject(new MqttError('NOT_CONNECTED', 'the transport is closed'));
      return;
    }
    t.write(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks), (err) =>
      err ? done.reject(err) : done.resolve(),
    );
  };

  private onEvent(ev: MqttCoreEvent): void {
    switch (ev.type) {
      case 'connack': {
        log('connected, session present %s', ev.connack.sessionPresent);
        const w = this.connectWaiter;
        this.connectWaiter = undefined;
        w?.resolve(ev.connack);
        this.emit('connect', ev.connack);
        return;
      }
      case 'message': {
        const { topic, payload, packet } = ev.message;
        this.emit('message', topic, payload, packet);
        for (const handler of this.router.match(topic)) {
          try {
            handler(topic, payload, packet);
          } catch (e) {
            this.report(e instanceof Error ? e : new Error(String(e)));
          }
        }
        return;
      }
      case 'assigned':
        // QoS 1 was sent already; only a QoS 2 PUBLISH waits for its id to be durable.
        if (ev.qos === 1) this.storeOp((s) => s.setMessageId(ev.key, ev.messageId));
        else
          this.storeOp(
            (s) => s.setMessageId(ev.key, ev.messageId),
            () => {
              this.core.idPersisted(ev.key, this.clock.now());
              this.pump();
            },
          );
        return;
      case 'released':
        this.storeOp(
          (s) => s.markReleased(ev.key, ev.messageId),
          () => {
            this.core.releasePersisted(ev.key, this.clock.now());
            this.pump();
          },
        );
        return;
      case 'acked': {
        this.storeOp((s) => s.delete(ev.ack.key));
        const w = this.ackWaiters.get(ev.ack.key);
        this.ackWaiters.delete(ev.ack.key);
        if (ev.ack.error) w?.reject(ev.ack.error);
        else w?.resolve(ev.ack);
        this.emit('acked', ev.ack);
        return;
      }
      case 'suback':
      case 'unsuback': {
        const w = this.requestWaiters.get(ev.messageId);
        this.requestWaiters.delete(ev.messageId);
        if (ev.error) {
          if (ev.type === 'suback') Object.assign(ev.error, { granted: ev.granted });
          w?.reject(ev.error);
        } else w?.resolve(ev.type === 'suback' ? ev.granted : []);
        return;
      }
      case 'closed':
        this.onClosed(ev.error);
        return;
    }
  }

  private onClosed(error: MqttError | undefined): void {
    // What is waiting (a DISCONNECT) goes before the transport is ended.
    if (!error) this.flushOut();
    const transport = this.transport;
    this.transport = undefined;
    this.detach?.();
    this.detach = undefined;
    this.timer.clear();
    log('closed%s', error ? `: ${error.code} ${error.message}` : '');
    if (transport && !transport.destroyed) {
      if (error) transport.destroy();
      else {
        transport.end();
        if (this.endTimer) this.clock.clearTimer(this.endTimer);
        this.endTimer = this.clock.setTimer(() => {
          this.endTimer = undefined;
          if (!transport.destroyed) transport.destroy();
        }, END_GRACE_MS);
        this.endTimer.unref?.();
        transport.once('close', () => {
          if (this.endTimer) this.clock.clearTimer(this.endTimer);
          this.endTimer = undefined;
        });
      }
    }
    const w = this.connectWaiter;
    this.connectWaiter = undefined;
    w?.reject(error ?? new MqttError('ECLOSED', 'the connection ended before CONNACK'));
    this.emit('close', error);
    if (error && w === undefined) this.report(error);
  }

  private report(error: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
    else log('error (no listener): %s', error.message);
  }
}
