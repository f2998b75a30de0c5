import createDebug from 'debug';
import type { IConnectPacket, IPublishPacket } from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { MqttClient } from '../../src/mqtt/client.js';
import type { MqttError } from '../../src/mqtt/errors.js';
import { MemoryStore } from '../../src/mqtt/store/memory-store.js';
import type { PublishToStore, StoredPublish } from '../../src/mqtt/store/types.js';
import { ManualClock } from '../../src/util/manual-clock.js';
import { ScriptedBroker, settle, type Version } from './client-helpers.js';

/** A MemoryStore whose put() is held until `release()`. */
class GatedStore extends MemoryStore {
  held: Array<() => void> = [];
  gate = false;
  override put(p: PublishToStore): Promise<StoredPublish> {
    const r = super.put(p);
    if (!this.gate) return r;
    return new Promise((resolve, reject) => this.held.push(() => r.then(resolve, reject)));
  }
  release(): void {
    const h = this.held;
    this.held = [];
    for (const f of h) f();
  }
}

const clients: MqttClient[] = [];
function makeClient(
  store = new MemoryStore(),
  clock = new ManualClock(1_000_000),
): { client: MqttClient; clock: ManualClock; store: MemoryStore } {
  const client = new MqttClient({ store, clock });
  clients.push(client);
  return { client, clock, store };
}
afterEach(() => {
  clients.length = 0;
});

const payloads = (b: ScriptedBroker): string[] =>
  b.of('publish').map((p) => `${p.payload.toString()}${p.dup ? '*' : ''}`);

describe.each([4, 5] as Version[])('MqttClient v%d', (v) => {
  it('connect() sends CONNECT and resolves with the CONNACK; the password never reaches the log', async () => {
    const lines: string[] = [];
    const prevLog = createDebug.log;
    createDebug.enable('cellstack:mqtt');
    createDebug.log = (...args: unknown[]) => {
      lines.push(args.map(String).join(' '));
    };
    try {
      const { client } = makeClient();
      const broker = new ScriptedBroker(v);
      const connack = await client.connect(broker.transport, {
        protocolVersion: v,
        clientId: 'c',
        username: 'user',
        password: 'hunter2',
        keepalive: 20,
      });
      expect(connack).toMatchObject({
        sessionPresent: false,
        reasonCode: 0,
        protocolVersion: v,
        keepalive: 20,
      });
      const connect = broker.of('connect')[0] as IConnectPacket;
      expect(connect).toMatchObject({ clientId: 'c', username: 'user', keepalive: 20, protocolVersion: v });
      expect(connect.password?.toString()).toBe('hunter2');
      expect(lines.length).toBeGreaterThan(0);
      expect(lines.join('\n')).not.toContain('hunter2');
      await client.end();
    } finally {
      createDebug.log = prevLog;
      createDebug.disable();
    }
  });

  it('a refused CONNACK rejects connect() with CONNACK_REFUSED and closes once', async () => {
    const { client } = makeClient();
    const broker = new ScriptedBroker(v, false);
    const closes: (MqttError | undefined)[] = [];
    client.on('close', (e) => closes.push(e));
    const p = client.connect(broker.transport, { protocolVersion: v, clientId: 'c' });
    await settle();
    broker.send({
      cmd: 'connack',
      sessionPresent: false,
      ...(v === 5 ? { reasonCode: 0x87 } : { returnCode: 5 }),
    });
    await expect(p).rejects.toMatchObject({ code: 'CONNACK_REFUSED', reasonCode: v === 5 ? 0x87 : 5 });
    await settle();
    expect(closes).toHaveLength(1);
    expect(broker.transport.destroyed).toBe(true);
  });

  it('QoS 1: publish() resolves once stored, before PUBACK; acked on PUBACK; the store forgets it', async () => {
    const store = new GatedStore();
    const { client } = makeClient(store);
    const broker = new ScriptedBroker(v);
    await client.connect(broker.transport, { protocolVersion: v, clientId: 'c' });
    store.gate = true;
    let resolved = false;
    const p = client.publish('t/1', 'hello', { qos: 1 });
    void p.then(() => {
      resolved = true;
    });
    await settle();
    expect(resolved).toBe(false);
    expect(broker.of('publish')).toHaveLength(0); // not sent before it is durable
    store.release();
    await p;
    await settle();
    expect(store.entries()).toHaveLength(1);
    const sent = broker.of('publish')[0] as IPublishPacket;
    expect(sent).toMatchObject({ topic: 't/1', qos: 1 });
    expect(store.entries()[0]?.messageId).toBe(sent.messageId);
    const acked: number[] = [];
    client.on('acked', (a) => acked.push(a.key));
    broker.send({ cmd: 'puback', messageId: sent.messageId as number });
    const ack = await p.acked;
    expect(ack).toMatchObject({ topic: 't/1', qos: 1, reasonCode: 0 });
    await settle();
    expect(acked).toHaveLength(1);
    expect(store.entries()).toHaveLength(0);
    await client.end();
  });

  it('QoS 2: PUBREL only after the store has the move; PUBCOMP completes', async () => {
    const store = new MemoryStore();
    const { client } = makeClient(store);
    const broker = new ScriptedBroker(v);
    broker.autoAck = true;
    await client.connect(broker.transport, { protocolVersion: v, clientId: 'c' });
    const p = client.publish('q2', 'x', { qos: 2 });
    await p;
    await p.acked;
    expect(broker.received.map((x) => x.cmd)).toEqual(['connect', 'publish', 'pubrel']);
    expect(store.entries()).toHaveLength(0);
    await client.end();
  });

  it('QoS 0 resolves when written and rejects NOT_CONNECTED without a connection', async () => {
    const { client } = makeClient();
    await expect(client.publish('a', 'b')).rejects.toMatchObject({ code: 'NOT_CONNECTED' });
    const broker = new ScriptedBroker(v);
    await client.connect(broker.transport, { protocolVersion: v, clientId: 'c' });
    await client.publish('a', 'b', { retain: true });
    await settle();
    expect(broker.of('publish')[0]).toMatchObject({ topic: 'a', qos: 0, retain: true });
    await expect(client.publish('a/+', 'b')).rejects.toMatchObject({ code: 'BAD_CONFIG' });
    await client.end();
  });

  it('routes incoming messages to the handlers of matching filters', async () => {
    const { client } = makeClient();
    const broker = new ScriptedBroker(v);
    broker.autoAck = true;
    await client.connect(broker.transport, { protocolVersion: v, clientId: 'c' });
    const got: string[] = [];
    const all: string[] = [];
    client.on('message', (t) => all.push(t));
    const granted = await client.subscribe(['dev/+/temp', 'dev/#'], { qos: 1 }, (t, p) =>
      got.push(`${t}=${p.toString()}`),
    );
    expect(granted).toEqual([
      { topic: 'dev/+/temp', qos: 1 },
      { topic: 'dev/#', qos: 1 },
    ]);
    await client.subscribe('other', {}, (t) => got.push(`other:${t}`));
    for (const topic of ['dev/1/temp', 'dev/x', 'other', 'nomatch', '$SYS/x'])
      broker.send({ cmd: 'publish', topic, payload: Buffer.from('v'), qos: 0, retain: false, dup: false });
    await settle();
    expect(got).toEqual(['dev/1/temp=v', 'dev/1/temp=v', 'dev/x=v', 'other:other']);
    expect(all).toEqual(['dev/1/temp', 'dev/x', 'other', 'nomatch', '$SYS/x']);
    await client.unsubscribe('dev/#');
    broker.send({
      cmd: 'publish',
      topic: 'dev/x',
      payload: Buffer.from('v'),
      qos: 1,
      retain: false,
      dup: false,
      messageId: 3,
    });
    await settle();
    expect(got).toHaveLength(4);
    expect(broker.of('puback')).toMatchObject([{ messageId: 3 }]);
    await client.end();
  });

  it('link loss: one close per connection and no reconnect of its own (MQTT.js #1778, #1845)', async () => {
    const { client, clock } = makeClient();
    const broker = new ScriptedBroker(v);
    await client.connect(broker.transport, { protocolVersion: v, clientId: 'c', keepalive: 10 });
    const closes: (MqttError | undefined)[] = [];
    const connects: unknown[] = [];
    client.on('close', (e) => closes.push(e));
    client.on('connect', (c) => connects.push(c));
    broker.transport.emit('error', new Error('ECONNRESET'));
    broker.transport.destroy();
    await settle();
    await clock.advance(120_000);
    expect(closes).toHaveLength(1);
    expect(closes[0]?.code).toBe('ECONNRESET');
    expect(connects).toHaveLength(0);
    expect(broker.of('connect')).toHaveLength(1);
    expect(clock.pending).toBe(0);
    expect(client.connected).toBe(false);
  });

  it('keepalive: PINGREQ on time, then EKEEPALIVE after 1.5 × keepalive of silence; transport destroyed', async () => {
    const { client, clock } = makeClient();
    const broker = new ScriptedBroker(v);
    await client.connect(broker.transport, { protocolVersion: v, clientId: 'c', keepalive: 10 });
    broker.autoPingresp = true;
    await clock.advance(10_000);
    expect(broker.of('pingreq')).toHaveLength(1);
    await clock.advance(10_000);
    expect(broker.of('pingreq')).toHaveLength(2);
    broker.autoPingresp = false;
    const closes: (MqttError | undefined)[] = [];
    client.on('close', (e) => closes.push(e));
    // keep publishing QoS 0 all along (#1861): detection still happens
    for (let i = 0; i < 40 && closes.length === 0; i++) {
      await clock.advance(500);
      if (client.connected) await client.publish('t', 'x');
    }
    expect(closes.map((e) => e?.code)).toEqual(['EKEEPALIVE']);
    expect(clock.now()).toBe(1_000_000 + 20_000 + 15_000);
    await settle();
    expect(broker.transport.destroyed).toBe(true);
  });

  it('malformed broker bytes: MALFORMED error and close, no crash', async () => {
    const { client } = makeClient();
    const broker = new ScriptedBroker(v);
    await client.connect(broker.transport, { protocolVersion: v, clientId: 'c' });
    const errors: Error[] = [];
    client.on('error', (e) => errors.push(e));
    const closed = new Promise<MqttError | undefined>((r) => client.once('close', r));
    broker.sendRaw(Buffer.from([0xf0, 0x00]));
    expect((await closed)?.code).toBe('MALFORMED');
    expect(errors.map((e) => (e as MqttError).code)).toEqual(['MALFORMED']);
  });

  it('resumes a session on a new transport: DUP resend, PUBREL, handlers kept', async () => {
    const store = new MemoryStore();
    const { client } = makeClient(store);
    const b1 = new ScriptedBroker(v);
    await client.connect(b1.transport, { protocolVersion: v, clientId: 'c', clean: false });
    b1.autoAck = true;
    const got: string[] = [];
    await client.subscribe('in/#', { qos: 1 }, (t) => got.push(t));
    b1.autoAck = false;
    const p1 = client.publish('a', '1', { qos: 1 });
    const p2 = client.publish('b', '2', { qos: 2 });
    await Promise.all([p1, p2]);
    await settle();
    const id2 = (b1.of('publish')[1] as IPublishPacket).messageId as number;
    b1.send({ cmd: 'pubrec', messageId: id2 });
    await settle();
    expect(b1.of('pubrel')).toHaveLength(1);
    b1.transport.destroy();
    await settle();
    expect(store.entries().map((e) => e.state)).toEqual(['publish', 'pubrel']);
    const b2 = new ScriptedBroker(v);
    b2.sessionPresent = true;
    const connack = await client.connect(b2.transport, { protocolVersion: v, clientId: 'c', clean: false });
    expect(connack.sessionPresent).toBe(true);
    await settle();
    expect(b2.received.map((x) => `${x.cmd}${x.cmd === 'publish' && x.dup ? '*' : ''}`)).toEqual([
      'connect',
      'publish*',
      'pubrel',
    ]);
    b2.send({ cmd: 'puback', messageId: (b2.of('publish')[0] as IPublishPacket).messageId as number });
    b2.send({ cmd: 'pubcomp', messageId: id2 });
    await Promise.all([p1.acked, p2.acked]);
    b2.send({ cmd: 'publish', topic: 'in/x', payload: Buffer.from('q'), qos: 0, retain: false, dup: false });
    await settle();
    expect(got).toEqual(['in/x']);
    expect(store.entries()).toHaveLength(0);
    await client.end();
  });

  it('publishes made while stored ones are replayed go out too, in order (MQTT.js #2015)', async () => {
    const store = new MemoryStore();
    const { client } = makeClient(store);
    const b1 = new ScriptedBroker(v);
    await client.connect(b1.transport, { protocolVersion: v, clientId: 'c', clean: false, maxInflight: 2 });
    const first = [1, 2, 3, 4].map((i) => client.publish('t', `m${i}`, { qos: 1 }));
    await Promise.all(first);
    await settle();
    expect(payloads(b1)).toEqual(['m1', 'm2']);
    b1.transport.destroy();
    await settle();
    // offline publishes are stored and wait
    const offline = [5, 6].map((i) => client.publish('t', `m${i}`, { qos: i === 6 ? 2 : 1 }));
    await Promise.all(offline);
    const b2 = new ScriptedBroker(v);
    b2.sessionPresent = true;
    b2.autoAck = true;
    const connecting = client.connect(b2.transport, {
      protocolVersion: v,
      clientId: 'c',
      clean: false,
      maxInflight: 2,
    });
    // publishes made during the replay
    const during = [7, 8, 9].map((i) => client.publish('t', `m${i}`, { qos: 1 }));
    await connecting;
    await Promise.all(during);
    await Promise.all([...first, ...offline, ...during].map((p) => p.acked));
    expect(payloads(b2)).toEqual(['m1*', 'm2*', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9']);
    expect(store.entries()).toHaveLength(0);
    await client.end();
  });

  it('restores a store after a restart: a new client resends what was left', async () => {
    const store = new MemoryStore();
    const { client } = makeClient(store);
    const b1 = new ScriptedBroker(v);
    await client.connect(b1.transport, { protocolVersion: v, clientId: 'c', clean: false });
    await client.publish('t', 'left', { qos: 1 });
    await settle();
    b1.transport.destroy();
    await settle();
    // a "new process" over the same (still open) store
    const again = new MqttClient({ store: wrapOpened(store), clock: new ManualClock(2_000_000) });
    const b2 = new ScriptedBroker(v);
    b2.sessionPresent = true;
    b2.autoAck = true;
    const acked = new Promise((r) => again.once('acked', r));
    await again.connect(b2.transport, { protocolVersion: v, clientId: 'c', clean: false });
    await acked;
    expect(payloads(b2)).toEqual(['left*']);
    await again.end();
  });

  it('end() sends DISCONNECT and closes without error', async () => {
    const { client } = makeClient();
    const broker = new ScriptedBroker(v);
    await client.connect(broker.transport, { protocolVersion: v, clientId: 'c' });
    const closes: (MqttError | undefined)[] = [];
    client.on('close', (e) => closes.push(e));
    await client.end();
    expect(broker.of('disconnect')).toHaveLength(1);
    expect(closes).toEqual([undefined]);
  });
});

/** The same store, with open() a no-op (it is already open), as a restarted process would see a reopened file. */
function wrapOpened(store: MemoryStore): MemoryStore {
  const s = Object.create(store) as MemoryStore;
  s.open = async () => ({
    entries: store.entries().length,
    corruptRecords: 0,
    truncatedTail: false,
    bytesDiscarded: 0,
    damaged: [],
  });
  return s;
}
