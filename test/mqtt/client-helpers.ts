import { Duplex } from 'node:stream';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { MqttClientCore, type MqttCoreEvent } from '../../src/mqtt/client-core.js';
import type { MqttConnectOptions } from '../../src/mqtt/options.js';
import type { StoredPublish } from '../../src/mqtt/store/types.js';

export type Version = 4 | 5;

/** Decodes what a client sent. */
export function decode(chunks: readonly Uint8Array[], version: Version): Packet[] {
  const parser = mqttPacket.parser({ protocolVersion: version });
  const out: Packet[] = [];
  parser.on('packet', (p: Packet) => out.push(p));
  parser.on('error', (e: unknown) => {
    throw e;
  });
  for (const c of chunks) parser.parse(Buffer.from(c));
  return out;
}

export function encode(packet: Packet, version: Version): Buffer {
  return mqttPacket.generate(packet, { protocolVersion: version });
}

export function stored(
  key: number,
  topic: string,
  qos: 1 | 2,
  extra: Partial<StoredPublish> = {},
): StoredPublish {
  return {
    key,
    topic,
    payload: Buffer.from(`m${key}`),
    qos,
    retain: false,
    state: 'publish',
    createdAt: 0,
    ...extra,
  };
}

/** Drives a bare core: `sent()` decodes its output, `feed()` answers as a broker. */
export class CoreHarness {
  readonly core = new MqttClientCore();
  now = 0;
  readonly events: MqttCoreEvent[] = [];
  /** Play a store that makes each assigned packet id durable at once (as the shell does after `setMessageId`). */
  persistIds = true;

  constructor(readonly version: Version) {}

  connect(options: MqttConnectOptions = {}): Packet[] {
    this.core.connect({ protocolVersion: this.version, clientId: 'c1', ...options }, this.now);
    return this.sent();
  }

  /** Connects and answers CONNACK. */
  open(options: MqttConnectOptions = {}, connack: Partial<mqttPacket.IConnackPacket> = {}): Packet[] {
    this.connect(options);
    this.feed({
      cmd: 'connack',
      sessionPresent: false,
      ...(this.version === 5 ? { reasonCode: 0 } : { returnCode: 0 }),
      ...connack,
    });
    return this.sent();
  }

  feed(packet: Packet): void {
    this.core.input(encode(packet, this.version), this.now);
    this.drain();
  }

  raw(bytes: Uint8Array): void {
    this.core.input(bytes, this.now);
    this.drain();
  }

  tick(to: number): void {
    this.now = to;
    this.core.tick(to);
    this.drain();
  }

  sent(): Packet[] {
    this.drain();
    return decode(this.core.takeOutput(), this.version);
  }

  drain(): MqttCoreEvent[] {
    const all: MqttCoreEvent[] = [];
    for (let round = 0; round < 100; round++) {
      const ev = this.core.takeEvents();
      if (ev.length === 0) break;
      all.push(...ev);
      if (!this.persistIds) continue;
      for (const e of ev) if (e.type === 'assigned') this.core.idPersisted(e.key, this.now);
    }
    this.events.push(...all);
    return all;
  }

  take<T extends MqttCoreEvent['type']>(type: T): Extract<MqttCoreEvent, { type: T }>[] {
    this.drain();
    const out = this.events.filter((e): e is Extract<MqttCoreEvent, { type: T }> => e.type === type);
    for (const e of out) this.events.splice(this.events.indexOf(e), 1);
    return out;
  }
}

/** An in-memory Duplex: what the client writes goes to `onWrite`; `push()` feeds it. */
export class PipeTransport extends Duplex {
  constructor(private readonly onWrite: (b: Buffer) => void) {
    super();
  }
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (!this.destroyed) this.onWrite(chunk);
    cb();
  }
  override _final(cb: (err?: Error | null) => void): void {
    this.push(null);
    cb();
  }
}

/**
 * A scripted broker on mqtt-packet: parses what the client sends into `received`, answers
 * with `send()`; optional automatic CONNACK, PINGRESP and acknowledgements.
 */
export class ScriptedBroker {
  readonly received: Packet[] = [];
  readonly transport: PipeTransport;
  autoPingresp = true;
  autoAck = false;
  sessionPresent = false;
  private readonly parser: mqttPacket.Parser;
  private waiters: Array<() => void> = [];

  constructor(
    readonly version: Version,
    public autoConnack = true,
  ) {
    this.parser = mqttPacket.parser({ protocolVersion: version });
    this.parser.on('packet', (p: Packet) => this.onPacket(p));
    this.transport = new PipeTransport((b) => this.parser.parse(b));
  }

  send(packet: Packet): void {
    if (!this.transport.destroyed) this.transport.push(encode(packet, this.version));
  }

  sendRaw(bytes: Uint8Array): void {
    this.transport.push(Buffer.from(bytes));
  }

  of<C extends Packet['cmd']>(cmd: C): Extract<Packet, { cmd: C }>[] {
    return this.received.filter((p): p is Extract<Packet, { cmd: C }> => p.cmd === cmd);
  }

  connack(sessionPresent = this.sessionPresent, properties?: Record<string, unknown>): void {
    const p: mqttPacket.IConnackPacket = {
      cmd: 'connack',
      sessionPresent,
      ...(this.version === 5 ? { reasonCode: 0 } : { returnCode: 0 }),
    };
    if (properties) p.properties = properties;
    this.send(p);
  }

  private onPacket(p: Packet): void {
    this.received.push(p);
    if (p.cmd === 'connect' && this.autoConnack) this.connack();
    if (p.cmd === 'pingreq' && this.autoPingresp) this.send({ cmd: 'pingresp' });
    if (this.autoAck && p.cmd === 'publish' && p.qos === 1)
      this.send({ cmd: 'puback', messageId: p.messageId as number });
    if (this.autoAck && p.cmd === 'publish' && p.qos === 2)
      this.send({ cmd: 'pubrec', messageId: p.messageId as number });
    if (this.autoAck && p.cmd === 'pubrel') this.send({ cmd: 'pubcomp', messageId: p.messageId as number });
    if (this.autoAck && p.cmd === 'subscribe')
      this.send({
        cmd: 'suback',
        messageId: p.messageId as number,
        granted: p.subscriptions.map((s) => s.qos),
      });
    if (this.autoAck && p.cmd === 'unsubscribe') {
      const unsuback: mqttPacket.IUnsubackPacket = {
        cmd: 'unsuback',
        messageId: p.messageId as number,
        granted: [],
      };
      if (this.version === 5) unsuback.granted = p.unsubscriptions.map(() => 0);
      this.send(unsuback);
    }
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

/** Lets streams and promises settle (setImmediate turns). */
export async function settle(turns = 10): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((r) => setImmediate(r));
}
