import mqttPacket, {
  type IConnackPacket,
  type IConnectPacket,
  type IPublishPacket,
  type ISubscription,
  type Packet,
} from 'mqtt-packet';
import { MqttError, ReasonCode } from './errors.js';
import type {
  ConnAck,
  Granted,
  MqttConnectOptions,
  ProtocolVersion,
  PublishOptions,
  PublishProperties,
  QoS,
  SubscribeOptions,
} from './options.js';
import { PacketIds } from './packet-id.js';
import type { StoredPublish } from './store/types.js';

/** A message the broker delivered. `packet` is the PUBLISH as parsed (topic alias already resolved). */
export interface IncomingMessage {
  topic: string;
  payload: Buffer;
  packet: IPublishPacket;
}

/** The end of a QoS 1/2 flow: PUBACK (QoS 1) or PUBCOMP (QoS 2), or a failure. */
export interface AckInfo {
  /** The store key of the publish. */
  key: number;
  messageId: number | undefined;
  topic: string;
  qos: 1 | 2;
  /** The reason code of the PUBACK/PUBREC/PUBCOMP (0 for 3.1.1). */
  reasonCode: number;
  /** Set when the publish failed (v5 reason code ≥ 0x80, or expired before it was sent). */
  error?: MqttError;
}

export type MqttCoreEvent =
  | { type: 'connack'; connack: ConnAck }
  | { type: 'message'; message: IncomingMessage }
  | { type: 'acked'; ack: AckInfo }
  /**
   * A packet id was chosen for a stored publish: record it (`store.setMessageId`) so that a
   * resumed session resends it under the same id (4.4). For QoS 2 call `idPersisted(key)`
   * once it is durable: the PUBLISH waits for that. QoS 1 goes at once.
   */
  | { type: 'assigned'; key: number; messageId: number; qos: 1 | 2 }
  /** PUBREC came: persist the move to PUBREL (`store.markReleased`), then call `releasePersisted(key)`. */
  | { type: 'released'; key: number; messageId: number }
  | { type: 'suback'; messageId: number; granted: Granted[]; error?: MqttError }
  | { type: 'unsuback'; messageId: number; error?: MqttError }
  /** The connection is over (once per connection); `error` unless it ended with our DISCONNECT. */
  | { type: 'closed'; error?: MqttError };

export type CoreState = 'disconnected' | 'connecting' | 'connected';

export interface CoreStats {
  packetsSent: number;
  packetsReceived: number;
  bytesSent: number;
  bytesReceived: number;
  pingsSent: number;
  resent: number;
}

interface Outgoing {
  stored: StoredPublish;
  messageId: number | undefined;
  state: 'publish' | 'pubrel';
  /** Sent at least once in the broker's current session (so a resend carries DUP). */
  sentInSession: boolean;
  /** Sent on the current connection. */
  sentOnConnection: boolean;
  /** QoS 2 after PUBREC: may PUBREL be sent (the store has the move)? */
  releaseDurable: boolean;
  /**
   * The store holds `messageId`. A QoS 2 PUBLISH waits for it: resent after a crash under
   * another id, the broker could not tell it from a new message (exactly once, 4.3.3).
   */
  idDurable: boolean;
}

type Request =
  | { kind: 'subscribe'; subscriptions: ISubscription[] }
  | { kind: 'unsubscribe'; filters: string[] };

function waitsForId(o: Outgoing): boolean {
  return o.stored.qos === 2 && o.state === 'publish' && o.messageId !== undefined && !o.idDurable;
}

const DEFAULT_KEEPALIVE = 60;
const DEFAULT_CONNECT_TIMEOUT = 30_000;
const DEFAULT_TOPIC_ALIAS_MAX = 16;

/**
 * The MQTT 3.1.1/5.0 client protocol, sans I/O: bytes in (`input`), bytes out (`takeOutput`),
 * events out (`takeEvents`), time passed in (`tick(now)`, `nextDeadline()`). Session state
 * (packet ids, QoS 1/2 in flight, incoming QoS 2 awaiting PUBREL, subscriptions) outlives a
 * connection, so a later `connect()` resumes it: with the broker's session present, unacknowledged
 * PUBLISH are resent with DUP=1 and PUBREL again (MQTT 3.1.1 4.4, 5.0 4.4), never on a timer
 * within a connection.
 *
 * Keepalive: a PINGREQ goes out when nothing was sent for the keepalive interval (the spec's
 * rule) or nothing was received for it; when nothing was received for 1.5 × keepalive the
 * connection closes with `EKEEPALIVE`. Detection runs on received time, so a client that keeps
 * publishing still notices a dead link (MQTT.js #1861).
 */
export class MqttClientCore {
  state: CoreState = 'disconnected';
  readonly stats: CoreStats = {
    packetsSent: 0,
    packetsReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    pingsSent: 0,
    resent: 0,
  };
  /** Filters subscribed (granted) in this session, with their options, for resubscribing. */
  readonly subscriptions = new Map<string, ISubscription>();
  readonly ids = new PacketIds();
  private version: ProtocolVersion | undefined;
  private options: MqttConnectOptions = {};
  private output: Buffer[] = [];
  private events: MqttCoreEvent[] = [];
  private outgoing: Outgoing[] = [];
  /** The same entries by store key (enqueue, idPersisted, releasePersisted look them up). */
  private readonly byKey = new Map<number, Outgoing>();
  /** Entries of `outgoing` that hold a packet id. */
  private inflightCount = 0;
  private readonly requests = new Map<number, Request>();
  /** Incoming QoS 2 packet ids that got PUBREC and wait for PUBREL. */
  private readonly incomingQos2 = new Set<number>();
  private parser: mqttPacket.Parser | undefined;
  private parsed: Packet[] = [];
  private parseError: unknown;
  // per connection
  private keepaliveMs = 0;
  private lastSent = 0;
  private lastReceived = 0;
  private pingOutstanding = false;
  private connectDeadline: number | undefined;
  private window = 65535;
  private brokerAliasMax = 0;
  /** v5 CONNACK limits (3.2.2.3.4, 3.2.2.3.5, 3.2.2.3.6): what we must not send. */
  private brokerMaxQos: QoS = 2;
  private brokerRetain = true;
  private brokerMaxPacket = Number.POSITIVE_INFINITY;
  private readonly aliasOut = new Map<string, number>();
  private readonly aliasIn = new Map<number, string>();
  private hadSession = false;
  /** The time of the call being handled. */
  private now = 0;

  get protocolVersion(): ProtocolVersion | undefined {
    return this.version;
  }

  /** QoS 1/2 publishes held (in flight or waiting for room in the window). */
  get pending(): number {
    return this.outgoing.length;
  }

  /** QoS 1/2 publishes that have a packet id (sent, awaiting their acknowledgement). */
  get inflight(): number {
    return this.inflightCount;
  }

  /**
   * Loads publishes from a store (after a restart). Entries with a packet id are taken as in
   * flight in the broker's session; resend or not is decided by the next CONNACK.
   */
  restore(entries: readonly StoredPublish[]): void {
    for (const stored of entries) {
      if (this.byKey.has(stored.key)) continue;
      const messageId =
        stored.messageId !== undefined && !this.ids.inUse(stored.messageId) ? stored.messageId : undefined;
      if (messageId !== undefined) this.ids.reserve(messageId);
      this.insert({
        stored,
        messageId,
        state: messageId === undefined ? 'publish' : stored.state,
        sentInSession: messageId !== undefined,
        sentOnConnection: false,
        releaseDurable: stored.state === 'pubrel',
        idDurable: messageId !== undefined,
      });
    }
  }

  /** Starts a connection: queues CONNECT. The transport must be fresh. */
  connect(options: MqttConnectOptions, now: number): void {
    if (this.state !== 'disconnected')
      throw new MqttError('PROTOCOL_ERROR', 'already connected or connecting');
    const version = options.protocolVersion ?? 4;
    if (this.version !== undefined && this.version !== version)
      throw new MqttError('PROTOCOL_ERROR', 'the protocol version cannot change within a session');
    this.version = version;
    this.options = options;
    this.state = 'connecting';
    this.parser = this.newParser(version);
    this.aliasIn.clear();
    this.aliasOut.clear();
    this.brokerAliasMax = 0;
    this.pingOutstanding = false;
    this.keepaliveMs = (options.keepalive ?? DEFAULT_KEEPALIVE) * 1000;
    this.lastReceived = now;
    this.connectDeadline = now + (options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT);
    for (const o of this.outgoing) o.sentOnConnection = false;
    this.send(this.connectPacket(options, version), now);
  }

  /** Feeds bytes from the transport. Never throws: broker faults close the connection. */
  input(bytes: Uint8Array, now: number): void {
    if (this.state === 'disconnected' || !this.parser) return;
    this.now = now;
    this.stats.bytesReceived += bytes.length;
    this.lastReceived = now;
    this.pingOutstanding = false;
    try {
      this.parser.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    } catch (e) {
      this.parseError ??= e;
    }
    const packets = this.parsed;
    this.parsed = [];
    for (const packet of packets) {
      if (this.isDown()) return;
      this.stats.packetsReceived++;
      try {
        this.handle(packet, now);
      } catch (e) {
        const err =
          e instanceof MqttError
            ? e
            : new MqttError('MALFORMED', 'a packet from the broker could not be handled', undefined, {
                cause: e,
              });
        this.fail(err, err.reasonCode ?? ReasonCode.MalformedPacket, now);
        return;
      }
    }
    if (this.parseError !== undefined && !this.isDown()) {
      const cause = this.parseError;
      this.parseError = undefined;
      this.fail(
        new MqttError('MALFORMED', `malformed packet from the broker: ${describe(cause)}`, undefined, {
          cause,
        }),
        ReasonCode.MalformedPacket,
        now,
      );
    }
  }

  /** Runs the timers: the CONNACK timeout, PINGREQ, the dead-link check. */
  tick(now: number): void {
    this.now = now;
    if (this.state === 'connecting' && this.connectDeadline !== undefined && now >= this.connectDeadline) {
      this.fail(new MqttError('ETIMEDOUT', 'no CONNACK from the broker'), undefined, now);
      return;
    }
    if (this.state !== 'connected' || this.keepaliveMs === 0) return;
    if (now >= this.deadAt()) {
      this.fail(
        new MqttError('EKEEPALIVE', `nothing received for ${(this.keepaliveMs * 1.5) / 1000} s`),
        ReasonCode.KeepAliveTimeout,
        now,
      );
      return;
    }
    if (now >= this.pingAt()) {
      this.pingOutstanding = true;
      this.stats.pingsSent++;
      this.send({ cmd: 'pingreq' }, now);
    }
  }

  /** When `tick` must next run, or undefined. */
  nextDeadline(): number | undefined {
    if (this.state === 'connecting') return this.connectDeadline;
    if (this.state !== 'connected' || this.keepaliveMs === 0) return undefined;
    return Math.min(this.pingAt(), this.deadAt());
  }

  /** Queues a stored QoS 1/2 publish; it goes out (in key order) as the window allows. */
  enqueue(stored: StoredPublish, now: number): void {
    if (this.byKey.has(stored.key)) return;
    this.insert({
      stored,
      messageId: undefined,
      state: 'publish',
      sentInSession: false,
      sentOnConnection: false,
      releaseDurable: false,
      idDurable: false,
    });
    this.flush(now);
  }

  /** Sends a QoS 0 publish (only when connected). */
  publish0(topic: string, payload: Uint8Array, options: PublishOptions, now: number): void {
    if (this.state !== 'connected') throw new MqttError('NOT_CONNECTED', 'not connected');
    const refused = this.limitError(topic, payload, 0, options.retain ?? false, options.properties);
    if (refused) throw refused;
    this.send(
      this.publishPacket(
        topic,
        payload,
        0,
        options.retain ?? false,
        options.properties,
        undefined,
        false,
        now,
      ),
      now,
    );
  }

  /** Sends SUBSCRIBE; the answer comes as a `suback` event with the returned packet id. */
  subscribe(filters: readonly string[], options: SubscribeOptions, now: number): number {
    if (this.state !== 'connected') throw new MqttError('NOT_CONNECTED', 'not connected');
    const subscriptions = filters.map((topic): ISubscription => {
      const s: ISubscription = { topic, qos: options.qos ?? 0 };
      if (this.version === 5) {
        if (options.nl !== undefined) s.nl = options.nl;
        if (options.rap !== undefined) s.rap = options.rap;
        if (options.rh !== undefined) s.rh = options.rh;
      }
      return s;
    });
    return this.sendSubscribe(subscriptions, options.properties, now);
  }

  /** Sends UNSUBSCRIBE; the answer comes as an `unsuback` event with the returned packet id. */
  unsubscribe(filters: readonly string[], now: number): number {
    if (this.state !== 'connected') throw new MqttError('NOT_CONNECTED', 'not connected');
    const messageId = this.allocate();
    this.requests.set(messageId, { kind: 'unsubscribe', filters: [...filters] });
    this.send({ cmd: 'unsubscribe', messageId, unsubscriptions: [...filters] }, now);
    return messageId;
  }

  /** Sends DISCONNECT and ends the connection normally (the `closed` event has no error). */
  disconnect(now: number, reasonCode = 0, sessionExpiryInterval?: number): void {
    if (this.state === 'disconnected') return;
    if (this.state === 'connected') {
      if (this.version === 5) {
        const props = sessionExpiryInterval === undefined ? undefined : { sessionExpiryInterval };
        this.send({ cmd: 'disconnect', reasonCode, ...(props ? { properties: props } : {}) }, now);
      } else this.send({ cmd: 'disconnect' }, now);
    }
    this.closeConnection(undefined);
  }

  /** The transport closed under us. Session state stays for the next `connect()`. */
  transportClosed(error?: unknown): void {
    if (this.state === 'disconnected') return;
    const err =
      error instanceof MqttError
        ? error
        : new MqttError(
            'ECONNRESET',
            'the transport closed',
            undefined,
            error === undefined ? undefined : { cause: error },
          );
    this.closeConnection(err);
  }

  /** The packet id chosen for `key` (event `assigned`) is durable: a QoS 2 PUBLISH may go out. */
  idPersisted(key: number, now: number): void {
    const o = this.byKey.get(key);
    if (!o || o.messageId === undefined) return;
    o.idDurable = true;
    this.flush(now);
  }

  /** The move to PUBREL is durable: PUBREL may go out. */
  releasePersisted(key: number, now: number): void {
    const o = this.byKey.get(key);
    if (o?.state !== 'pubrel' || o.messageId === undefined) return;
    o.releaseDurable = true;
    if (this.state === 'connected') this.send({ cmd: 'pubrel', messageId: o.messageId }, now);
  }

  takeOutput(): Buffer[] {
    const out = this.output;
    this.output = [];
    return out;
  }

  takeEvents(): MqttCoreEvent[] {
    const ev = this.events;
    this.events = [];
    return ev;
  }

  // ---- internals --------------------------------------------------------------------------

  /** (A method, so TypeScript does not narrow `state` across calls that change it.) */
  private isDown(): boolean {
    return this.state === 'disconnected';
  }

  private newParser(version: ProtocolVersion): mqttPacket.Parser {
    const parser = mqttPacket.parser({ protocolVersion: version });
    parser.on('packet', (p: Packet) => this.parsed.push(p));
    parser.on('error', (e: unknown) => {
      this.parseError ??= e;
    });
    return parser;
  }

  private pingAt(): number {
    if (this.pingOutstanding) return this.lastSent + this.keepaliveMs;
    return Math.min(this.lastSent, this.lastReceived) + this.keepaliveMs;
  }

  private deadAt(): number {
    return this.lastReceived + this.keepaliveMs * 1.5;
  }

  private insert(o: Outgoing): void {
    this.byKey.set(o.stored.key, o);
    if (o.messageId !== undefined) this.inflightCount++;
    let i = this.outgoing.length;
    while (i > 0 && (this.outgoing[i - 1] as Outgoing).stored.key > o.stored.key) i--;
    this.outgoing.splice(i, 0, o);
  }

  /** Takes `outgoing[index]` out (its packet id, if any, is the caller's to release). */
  private removeAt(index: number): Outgoing {
    const o = this.outgoing[index] as Outgoing;
    this.outgoing.splice(index, 1);
    this.byKey.delete(o.stored.key);
    if (o.messageId !== undefined) this.inflightCount--;
    return o;
  }

  private allocate(): number {
    const id = this.ids.allocate();
    if (id === undefined) throw new MqttError('PROTOCOL_ERROR', 'all 65535 packet identifiers are in use');
    return id;
  }

  private send(packet: Packet, now: number): void {
    const bytes = mqttPacket.generate(packet, { protocolVersion: this.version ?? 4 });
    this.output.push(bytes);
    this.stats.packetsSent++;
    this.stats.bytesSent += bytes.length;
    this.lastSent = now;
  }

  private connectPacket(o: MqttConnectOptions, version: ProtocolVersion): IConnectPacket {
    const p: IConnectPacket = {
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: version,
      clientId: o.clientId ?? '',
      clean: o.clean ?? true,
      keepalive: o.keepalive ?? DEFAULT_KEEPALIVE,
    };
    if (o.username !== undefined) p.username = o.username;
    if (o.password !== undefined) p.password = Buffer.from(o.password);
    if (o.will) {
      const w = o.will;
      p.will = {
        topic: w.topic,
        payload: Buffer.from(w.payload),
        qos: w.qos ?? 0,
        retain: w.retain ?? false,
      };
      if (version === 5 && w.properties) p.will.properties = toPacketProperties(w.properties);
    }
    if (version === 5) {
      const props: NonNullable<IConnectPacket['properties']> = {};
      if (o.sessionExpiryInterval !== undefined) props.sessionExpiryInterval = o.sessionExpiryInterval;
      if (o.receiveMaximum !== undefined) props.receiveMaximum = o.receiveMaximum;
      props.topicAliasMaximum = o.topicAliasMaximum ?? DEFAULT_TOPIC_ALIAS_MAX;
      if (o.maximumPacketSize !== undefined) props.maximumPacketSize = o.maximumPacketSize;
      if (o.userProperties) props.userProperties = o.userProperties;
      p.properties = props;
    }
    return p;
  }

  private publishPacket(
    topic: string,
    payload: Uint8Array,
    qos: QoS,
    retain: boolean,
    properties: PublishOptions['properties'],
    messageId: number | undefined,
    dup: boolean,
    _now: number,
  ): IPublishPacket {
    const p: IPublishPacket = {
      cmd: 'publish',
      topic,
      payload: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
      qos,
      retain,
      dup,
    };
    if (messageId !== undefined) p.messageId = messageId;
    if (this.version === 5) {
      const props: NonNullable<IPublishPacket['properties']> = properties
        ? toPacketProperties(properties)
        : {};
      if (this.brokerAliasMax > 0 && this.options.topicAliases !== false) {
        const known = this.aliasOut.get(topic);
        if (known !== undefined) {
          props.topicAlias = known;
          p.topic = '';
        } else if (this.aliasOut.size < this.brokerAliasMax) {
          const alias = this.aliasOut.size + 1;
          this.aliasOut.set(topic, alias);
          props.topicAlias = alias;
        }
      }
      if (Object.keys(props).length > 0) p.properties = props;
    }
    return p;
  }

  private sendSubscribe(
    subscriptions: ISubscription[],
    properties: SubscribeOptions['properties'],
    now: number,
  ): number {
    const messageId = this.allocate();
    this.requests.set(messageId, { kind: 'subscribe', subscriptions });
    const packet: Packet = { cmd: 'subscribe', messageId, subscriptions };
    if (this.version === 5 && properties) packet.properties = properties;
    this.send(packet, now);
    return messageId;
  }

  /** Sends what the window allows, in key order: resends first (they come first), then new ones. */
  private flush(now: number): void {
    if (this.state !== 'connected') return;
    let inflight = this.inflight;
    for (let i = 0; i < this.outgoing.length; i++) {
      const o = this.outgoing[i] as Outgoing;
      if (o.sentOnConnection) continue;
      // A QoS 2 PUBLISH whose id is not durable yet holds back the rest (order, 4.6).
      if (waitsForId(o)) break;
      if (o.messageId === undefined) {
        if (inflight >= this.window) break;
        if (this.expired(o, now) || this.refused(o)) {
          this.removeAt(i--);
          continue;
        }
        const id = this.ids.allocate();
        if (id === undefined) break;
        o.messageId = id;
        inflight++;
        this.inflightCount++;
        this.events.push({ type: 'assigned', key: o.stored.key, messageId: id, qos: o.stored.qos });
        // Only a QoS 2 PUBLISH waits for its id to be durable (see waitsForId): a QoS 1 message
        // resent after a crash under another id is at most a duplicate, which QoS 1 allows.
        if (o.stored.qos === 1) o.idDurable = true;
        if (waitsForId(o)) break;
      } else if (o.sentInSession) this.stats.resent++;
      o.sentOnConnection = true;
      if (o.state === 'pubrel') {
        if (o.releaseDurable) this.send({ cmd: 'pubrel', messageId: o.messageId }, now);
        continue;
      }
      const s = o.stored;
      const props = s.properties ? { ...s.properties } : undefined;
      if (props?.messageExpiryInterval !== undefined)
        props.messageExpiryInterval = Math.max(
          1,
          props.messageExpiryInterval - Math.floor((now - s.createdAt) / 1000),
        );
      this.send(
        this.publishPacket(s.topic, s.payload, s.qos, s.retain, props, o.messageId, o.sentInSession, now),
        now,
      );
      o.sentInSession = true;
    }
  }

  /**
   * Why the broker's CONNACK forbids sending this publish (MQTT 5.0 3.2.2.3.4 Maximum QoS,
   * 3.2.2.3.5 Retain Available, 3.2.2.3.6 Maximum Packet Size: the Client MUST NOT send
   * beyond them), or undefined. The size is of the packet with its full topic name, an upper
   * bound of what a topic alias would send.
   */
  private limitError(
    topic: string,
    payload: Uint8Array,
    qos: QoS,
    retain: boolean,
    properties?: PublishProperties,
  ): MqttError | undefined {
    if (qos > this.brokerMaxQos)
      return new MqttError(
        'PUBLISH_FAILED',
        `the broker accepts QoS ${this.brokerMaxQos} at most`,
        ReasonCode.QoSNotSupported,
      );
    if (retain && !this.brokerRetain)
      return new MqttError(
        'PUBLISH_FAILED',
        'the broker does not accept retained messages',
        ReasonCode.RetainNotSupported,
      );
    if (Number.isFinite(this.brokerMaxPacket)) {
      const packet: IPublishPacket = {
        cmd: 'publish',
        topic,
        payload: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
        qos,
        retain,
        dup: false,
      };
      if (qos > 0) packet.messageId = 1;
      if (properties) packet.properties = toPacketProperties(properties);
      const size = mqttPacket.generate(packet, { protocolVersion: 5 }).length;
      if (size > this.brokerMaxPacket)
        return new MqttError(
          'PUBLISH_FAILED',
          `a ${size}-byte PUBLISH exceeds the broker's Maximum Packet Size ${this.brokerMaxPacket}`,
          ReasonCode.PacketTooLarge,
        );
    }
    return undefined;
  }

  /** A stored publish the broker's limits forbid: dropped, reported with the reason code. */
  private refused(o: Outgoing): boolean {
    const s = o.stored;
    const error = this.limitError(s.topic, s.payload, s.qos, s.retain, s.properties);
    if (!error) return false;
    this.events.push({
      type: 'acked',
      ack: {
        key: s.key,
        messageId: undefined,
        topic: s.topic,
        qos: s.qos,
        reasonCode: error.reasonCode ?? ReasonCode.UnspecifiedError,
        error,
      },
    });
    return true;
  }

  /** A stored publish not yet sent whose Message Expiry Interval has run out: dropped, reported. */
  private expired(o: Outgoing, now: number): boolean {
    const interval = o.stored.properties?.messageExpiryInterval;
    if (interval === undefined || now - o.stored.createdAt < interval * 1000) return false;
    this.events.push({
      type: 'acked',
      ack: {
        key: o.stored.key,
        messageId: undefined,
        topic: o.stored.topic,
        qos: o.stored.qos,
        reasonCode: ReasonCode.UnspecifiedError,
        error: new MqttError('EXPIRED', 'the message expired before it could be sent'),
      },
    });
    return true;
  }

  private handle(packet: Packet, now: number): void {
    if (this.state === 'connecting') {
      if (packet.cmd === 'connack') {
        this.onConnack(packet, now);
        return;
      }
      if (packet.cmd === 'auth')
        throw new MqttError(
          'PROTOCOL_ERROR',
          'enhanced authentication is not supported',
          ReasonCode.ProtocolError,
        );
      throw new MqttError('PROTOCOL_ERROR', `${packet.cmd} before CONNACK`, ReasonCode.ProtocolError);
    }
    switch (packet.cmd) {
      case 'publish':
        this.onPublish(packet, now);
        return;
      case 'puback':
        this.onPuback(packet.messageId, 1, packet.reasonCode ?? 0);
        return;
      case 'pubrec':
        this.onPubrec(packet.messageId, packet.reasonCode ?? 0);
        return;
      case 'pubcomp':
        this.onPuback(packet.messageId, 2, packet.reasonCode ?? 0);
        return;
      case 'pubrel':
        this.onPubrel(packet.messageId, now);
        return;
      case 'suback':
        this.onSuback(packet.messageId, packet.granted);
        return;
      case 'unsuback':
        this.onUnsuback(packet.messageId, packet.granted);
        return;
      case 'pingresp':
        return;
      case 'disconnect': {
        const rc = packet.reasonCode ?? 0;
        const why = packet.properties?.reasonString;
        this.closeConnection(
          new MqttError('DISCONNECTED', `the broker disconnected${why ? `: ${why}` : ''}`, rc),
        );
        return;
      }
      default:
        throw new MqttError(
          'PROTOCOL_ERROR',
          `unexpected ${packet.cmd} from the broker`,
          ReasonCode.ProtocolError,
        );
    }
  }

  private onConnack(packet: IConnackPacket, now: number): void {
    const v = this.version ?? 4;
    const code = (v === 5 ? packet.reasonCode : packet.returnCode) ?? 0;
    if (code !== 0) {
      this.closeConnection(new MqttError('CONNACK_REFUSED', 'the broker refused the connection', code));
      return;
    }
    const props = packet.properties ?? {};
    this.state = 'connected';
    this.connectDeadline = undefined;
    if (props.serverKeepAlive !== undefined) this.keepaliveMs = props.serverKeepAlive * 1000;
    this.window = Math.max(1, Math.min(this.options.maxInflight ?? 65535, props.receiveMaximum ?? 65535));
    this.brokerAliasMax = props.topicAliasMaximum ?? 0;
    this.brokerMaxQos = props.maximumQoS === 0 || props.maximumQoS === 1 ? props.maximumQoS : 2;
    this.brokerRetain = props.retainAvailable !== false;
    this.brokerMaxPacket = props.maximumPacketSize ?? Number.POSITIVE_INFINITY;
    const sessionPresent = packet.sessionPresent === true;
    if (!sessionPresent) this.discardSession();
    const connack: ConnAck = {
      sessionPresent,
      reasonCode: 0,
      protocolVersion: v,
      keepalive: this.keepaliveMs / 1000,
    };
    if (props.assignedClientIdentifier !== undefined)
      connack.assignedClientIdentifier = props.assignedClientIdentifier;
    if (packet.properties) connack.properties = { ...packet.properties };
    this.events.push({ type: 'connack', connack });
    if (
      !sessionPresent &&
      this.hadSession &&
      this.options.resubscribe !== false &&
      this.subscriptions.size > 0
    )
      this.sendSubscribe([...this.subscriptions.values()], undefined, now);
    this.hadSession = true;
    this.flush(now);
  }

  /**
   * The broker has no session for us: publishes it acknowledged with PUBREC are delivered;
   * those without an acknowledgement go again as new publishes (new ids, no DUP).
   */
  private discardSession(): void {
    this.incomingQos2.clear();
    const keep: Outgoing[] = [];
    for (const o of this.outgoing) {
      if (o.state === 'pubrel') {
        if (o.messageId !== undefined) this.ids.release(o.messageId);
        this.events.push({
          type: 'acked',
          ack: {
            key: o.stored.key,
            messageId: o.messageId,
            topic: o.stored.topic,
            qos: o.stored.qos,
            reasonCode: 0,
          },
        });
        continue;
      }
      if (o.messageId !== undefined) this.ids.release(o.messageId);
      o.messageId = undefined;
      o.idDurable = false;
      o.sentInSession = false;
      keep.push(o);
    }
    this.outgoing = keep;
    this.byKey.clear();
    for (const o of keep) this.byKey.set(o.stored.key, o);
    this.inflightCount = 0;
  }

  private onPublish(packet: IPublishPacket, now: number): void {
    if (this.version === 5) {
      const alias = packet.properties?.topicAlias;
      if (alias !== undefined) {
        const max = this.options.topicAliasMaximum ?? DEFAULT_TOPIC_ALIAS_MAX;
        if (alias === 0 || alias > max)
          throw new MqttError(
            'PROTOCOL_ERROR',
            `topic alias ${alias} out of range`,
            ReasonCode.TopicAliasInvalid,
          );
        if (packet.topic === '') {
          const topic = this.aliasIn.get(alias);
          if (topic === undefined)
            throw new MqttError(
              'PROTOCOL_ERROR',
              `unknown topic alias ${alias}`,
              ReasonCode.TopicAliasInvalid,
            );
          packet.topic = topic;
        } else this.aliasIn.set(alias, packet.topic);
      } else if (packet.topic === '')
        throw new MqttError('PROTOCOL_ERROR', 'PUBLISH without a topic', ReasonCode.ProtocolError);
    }
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const message: IncomingMessage = { topic: packet.topic, payload, packet };
    if (packet.qos === 0) {
      this.events.push({ type: 'message', message });
    } else if (packet.qos === 1) {
      this.events.push({ type: 'message', message });
      this.send({ cmd: 'puback', messageId: packet.messageId as number }, now);
    } else {
      const id = packet.messageId as number;
      if (!this.incomingQos2.has(id)) {
        this.incomingQos2.add(id);
        this.events.push({ type: 'message', message });
      }
      this.send({ cmd: 'pubrec', messageId: id }, now);
    }
  }

  private onPubrel(messageId: number | undefined, now: number): void {
    if (messageId === undefined) return;
    const known = this.incomingQos2.delete(messageId);
    if (this.version === 5 && !known)
      this.send({ cmd: 'pubcomp', messageId, reasonCode: ReasonCode.PacketIdentifierNotFound }, now);
    else this.send({ cmd: 'pubcomp', messageId }, now);
  }

  private onPuback(messageId: number | undefined, qos: 1 | 2, reasonCode: number): void {
    const i = this.outgoing.findIndex((o) => o.messageId === messageId && o.stored.qos === qos);
    if (i < 0) return; // a late or duplicate acknowledgement
    const o = this.outgoing[i] as Outgoing;
    if (qos === 2 && o.state !== 'pubrel')
      throw new MqttError('PROTOCOL_ERROR', 'PUBCOMP before PUBREC', ReasonCode.ProtocolError);
    this.complete(i, reasonCode, qos === 1 ? 'PUBACK' : 'PUBCOMP');
  }

  private onPubrec(messageId: number | undefined, reasonCode: number): void {
    const i = this.outgoing.findIndex((o) => o.messageId === messageId && o.stored.qos === 2);
    if (i < 0) return;
    const o = this.outgoing[i] as Outgoing;
    if (reasonCode >= 0x80) {
      this.complete(i, reasonCode, 'PUBREC');
      return;
    }
    if (o.state === 'pubrel') {
      if (o.releaseDurable) this.send({ cmd: 'pubrel', messageId: o.messageId as number }, this.now);
      return;
    }
    o.state = 'pubrel';
    this.events.push({ type: 'released', key: o.stored.key, messageId: o.messageId as number });
  }

  /** Ends a QoS 1/2 flow: frees the id, reports, and lets the next publish into the window. */
  private complete(index: number, reasonCode: number, what: string): void {
    const o = this.removeAt(index);
    if (o.messageId !== undefined) this.ids.release(o.messageId);
    const ack: AckInfo = {
      key: o.stored.key,
      messageId: o.messageId,
      topic: o.stored.topic,
      qos: o.stored.qos,
      reasonCode,
    };
    if (reasonCode >= 0x80)
      ack.error = new MqttError('PUBLISH_FAILED', `${what} refused the publish`, reasonCode);
    this.events.push({ type: 'acked', ack });
    this.flush(this.now);
  }

  private onSuback(messageId: number | undefined, codes: ReadonlyArray<number | object>): void {
    const req = messageId === undefined ? undefined : this.requests.get(messageId);
    if (req?.kind !== 'subscribe' || messageId === undefined) return;
    this.requests.delete(messageId);
    this.ids.release(messageId);
    const granted: Granted[] = req.subscriptions.map((s, i) => ({
      topic: s.topic,
      qos: typeof codes[i] === 'number' ? (codes[i] as number) : 0x80,
    }));
    let failure: number | undefined;
    for (let i = 0; i < granted.length; i++) {
      const g = granted[i] as Granted;
      const s = req.subscriptions[i] as ISubscription;
      if (g.qos >= 0x80) failure ??= g.qos;
      else this.subscriptions.set(s.topic, s);
    }
    const ev: MqttCoreEvent = { type: 'suback', messageId, granted };
    if (failure !== undefined)
      ev.error = new MqttError('SUBSCRIBE_FAILED', 'the broker refused a subscription', failure);
    this.events.push(ev);
  }

  private onUnsuback(messageId: number | undefined, codes: readonly number[] | undefined): void {
    const req = messageId === undefined ? undefined : this.requests.get(messageId);
    if (req?.kind !== 'unsubscribe' || messageId === undefined) return;
    this.requests.delete(messageId);
    this.ids.release(messageId);
    let failure: number | undefined;
    req.filters.forEach((f, i) => {
      const rc = this.version === 5 ? (codes?.[i] ?? 0) : 0;
      if (rc >= 0x80 && rc !== 0x11) failure ??= rc;
      else this.subscriptions.delete(f);
    });
    const ev: MqttCoreEvent = { type: 'unsuback', messageId };
    if (failure !== undefined)
      ev.error = new MqttError('UNSUBSCRIBE_FAILED', 'the broker refused to unsubscribe', failure);
    this.events.push(ev);
  }

  /** A broker fault: v5 DISCONNECT with the reason code (best effort), then close. */
  private fail(err: MqttError, reasonCode: number | undefined, now: number): void {
    if (this.version === 5 && this.state === 'connected' && reasonCode !== undefined) {
      try {
        this.send({ cmd: 'disconnect', reasonCode }, now);
      } catch {
        // nothing more to say
      }
    }
    this.closeConnection(err);
  }

  private closeConnection(error: MqttError | undefined): void {
    if (this.state === 'disconnected') return;
    this.state = 'disconnected';
    this.parser?.removeAllListeners();
    this.parser = undefined;
    this.parsed = [];
    this.parseError = undefined;
    this.connectDeadline = undefined;
    for (const [id, req] of this.requests) {
      this.ids.release(id);
      const err = new MqttError('ECLOSED', 'the connection closed before the answer came');
      if (req.kind === 'subscribe')
        this.events.push({ type: 'suback', messageId: id, granted: [], error: err });
      else this.events.push({ type: 'unsuback', messageId: id, error: err });
    }
    this.requests.clear();
    this.events.push(error ? { type: 'closed', error } : { type: 'closed' });
  }
}

function toPacketProperties(
  p: PublishOptions['properties'] & { willDelayInterval?: number },
): NonNullable<IPublishPacket['properties']> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p)) {
    if (v === undefined) continue;
    out[k] = k === 'correlationData' && v instanceof Uint8Array ? Buffer.from(v) : v;
  }
  return out as NonNullable<IPublishPacket['properties']>;
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
