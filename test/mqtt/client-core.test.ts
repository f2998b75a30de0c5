import fc from 'fast-check';
import type { IConnectPacket, IPublishPacket, Packet } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { MqttError } from '../../src/mqtt/errors.js';
import { CoreHarness, encode, stored, type Version } from './client-helpers.js';

const versions: Version[] = [4, 5];

describe.each(versions)('MqttClientCore v%d', (v) => {
  it('CONNECT carries client id, credentials, will, clean flag and keepalive', () => {
    const h = new CoreHarness(v);
    const [connect] = h.connect({
      clientId: 'dev-1',
      username: 'u',
      password: 's3cret',
      clean: false,
      keepalive: 30,
      will: { topic: 'w/t', payload: 'gone', qos: 1, retain: true },
      sessionExpiryInterval: 3600,
      receiveMaximum: 20,
    }) as [IConnectPacket];
    expect(connect.cmd).toBe('connect');
    expect(connect.protocolVersion).toBe(v);
    expect(connect.clientId).toBe('dev-1');
    expect(connect.username).toBe('u');
    expect(connect.password?.toString()).toBe('s3cret');
    expect(connect.clean).toBe(false);
    expect(connect.keepalive).toBe(30);
    expect(connect.will?.topic).toBe('w/t');
    expect(connect.will?.payload.toString()).toBe('gone');
    expect(connect.will?.qos).toBe(1);
    expect(connect.will?.retain).toBe(true);
    if (v === 5) {
      expect(connect.properties?.sessionExpiryInterval).toBe(3600);
      expect(connect.properties?.receiveMaximum).toBe(20);
      expect(connect.properties?.topicAliasMaximum).toBe(16);
    } else expect(connect.properties).toBeUndefined();
  });

  it('reports CONNACK and a refusal as CONNACK_REFUSED with the code', () => {
    const h = new CoreHarness(v);
    h.open();
    expect(h.take('connack')[0]?.connack.sessionPresent).toBe(false);
    const r = new CoreHarness(v);
    r.connect();
    r.feed({
      cmd: 'connack',
      sessionPresent: false,
      ...(v === 5 ? { reasonCode: 0x86 } : { returnCode: 4 }),
    });
    const closed = r.take('closed')[0];
    expect(closed?.error).toBeInstanceOf(MqttError);
    expect(closed?.error?.code).toBe('CONNACK_REFUSED');
    expect(closed?.error?.reasonCode).toBe(v === 5 ? 0x86 : 4);
    expect(r.core.state).toBe('disconnected');
  });

  it('times out without CONNACK', () => {
    const h = new CoreHarness(v);
    h.connect({ connectTimeout: 5000 });
    expect(h.core.nextDeadline()).toBe(5000);
    h.tick(5000);
    expect(h.take('closed')[0]?.error?.code).toBe('ETIMEDOUT');
  });

  it('QoS 0 out and in', () => {
    const h = new CoreHarness(v);
    h.open();
    h.core.publish0('a/b', Buffer.from('x'), { retain: true }, 0);
    const [p] = h.sent() as [IPublishPacket];
    expect(p).toMatchObject({ cmd: 'publish', topic: 'a/b', qos: 0, retain: true });
    h.feed({ cmd: 'publish', topic: 'in/x', payload: Buffer.from('hi'), qos: 0, retain: false, dup: false });
    const [m] = h.take('message');
    expect(m?.message.topic).toBe('in/x');
    expect(m?.message.payload.toString()).toBe('hi');
    expect(h.sent()).toEqual([]);
  });

  it('QoS 1 out: PUBLISH with an id, PUBACK completes, id freed', () => {
    const h = new CoreHarness(v);
    h.open();
    h.core.enqueue(stored(1, 't', 1), 0);
    const [p] = h.sent() as [IPublishPacket];
    expect(p).toMatchObject({ cmd: 'publish', qos: 1, dup: false, messageId: 1 });
    expect(h.take('assigned')).toEqual([{ type: 'assigned', key: 1, messageId: 1, qos: 1 }]);
    h.feed({ cmd: 'puback', messageId: 1 });
    const [a] = h.take('acked');
    expect(a?.ack).toMatchObject({ key: 1, messageId: 1, reasonCode: 0 });
    expect(h.core.ids.size).toBe(0);
  });

  it('QoS 2 out: PUBREC → (store) → PUBREL → PUBCOMP', () => {
    const h = new CoreHarness(v);
    h.open();
    h.core.enqueue(stored(7, 't', 2), 0);
    h.sent();
    h.feed({ cmd: 'pubrec', messageId: 1 });
    expect(h.take('released')).toEqual([{ type: 'released', key: 7, messageId: 1 }]);
    expect(h.sent()).toEqual([]); // PUBREL waits until the store has the move
    h.core.releasePersisted(7, 0);
    expect(h.sent()).toMatchObject([{ cmd: 'pubrel', messageId: 1 }]);
    expect(h.take('acked')).toEqual([]);
    h.feed({ cmd: 'pubcomp', messageId: 1 });
    expect(h.take('acked')[0]?.ack).toMatchObject({ key: 7, qos: 2, reasonCode: 0 });
  });

  it('QoS 1 and 2 in: PUBACK; PUBREC, delivered once despite a DUP, PUBCOMP on PUBREL', () => {
    const h = new CoreHarness(v);
    h.open();
    h.feed({
      cmd: 'publish',
      topic: 'q1',
      payload: Buffer.from('a'),
      qos: 1,
      retain: false,
      dup: false,
      messageId: 5,
    });
    expect(h.sent()).toMatchObject([{ cmd: 'puback', messageId: 5 }]);
    const q2: Packet = {
      cmd: 'publish',
      topic: 'q2',
      payload: Buffer.from('b'),
      qos: 2,
      retain: false,
      dup: false,
      messageId: 6,
    };
    h.feed(q2);
    h.feed({ ...q2, dup: true });
    expect(h.sent()).toMatchObject([
      { cmd: 'pubrec', messageId: 6 },
      { cmd: 'pubrec', messageId: 6 },
    ]);
    expect(h.take('message').map((m) => m.message.topic)).toEqual(['q1', 'q2']);
    h.feed({ cmd: 'pubrel', messageId: 6 });
    expect(h.sent()).toMatchObject([{ cmd: 'pubcomp', messageId: 6 }]);
  });

  it('packet ids wrap at 65535 and skip ids in use', () => {
    const h = new CoreHarness(v);
    h.open();
    h.core.ids.reserve(1);
    h.core.ids.reserve(3);
    h.core.ids.setNext(65534);
    for (let k = 1; k <= 4; k++) h.core.enqueue(stored(k, 't', 1), 0);
    const ids = h.sent().map((p) => p.messageId);
    expect(ids).toEqual([65534, 65535, 2, 4]);
  });

  it('keeps at most maxInflight (v5: the broker Receive Maximum) in flight, in order', () => {
    const h = new CoreHarness(v);
    if (v === 5) h.open({ maxInflight: 10 }, { properties: { receiveMaximum: 2 } });
    else h.open({ maxInflight: 2 });
    for (let k = 1; k <= 5; k++) h.core.enqueue(stored(k, `t${k}`, 1), 0);
    let out = h.sent() as IPublishPacket[];
    expect(out.map((p) => p.payload.toString())).toEqual(['m1', 'm2']);
    h.feed({ cmd: 'puback', messageId: out[0]?.messageId as number });
    out = h.sent() as IPublishPacket[];
    expect(out.map((p) => p.payload.toString())).toEqual(['m3']);
    expect(h.core.inflight).toBe(2);
    expect(h.core.pending).toBe(4);
  });

  it('resends unacknowledged PUBLISH with DUP and PUBREL after reconnect with the session present', () => {
    const h = new CoreHarness(v);
    h.open({ clean: false });
    h.core.enqueue(stored(1, 'a', 1), 0);
    h.core.enqueue(stored(2, 'b', 2), 0);
    h.core.enqueue(stored(3, 'c', 2), 0);
    h.sent();
    h.feed({ cmd: 'pubrec', messageId: 3 });
    h.core.releasePersisted(3, 0);
    expect(h.sent()).toMatchObject([{ cmd: 'pubrel', messageId: 3 }]);
    h.core.transportClosed(new Error('gone'));
    expect(h.take('closed')[0]?.error?.code).toBe('ECONNRESET');
    // no retransmission timers within (or between) connections
    expect(h.core.nextDeadline()).toBeUndefined();
    h.now = 10_000;
    h.connect({ clean: false });
    h.feed({ cmd: 'connack', sessionPresent: true, ...(v === 5 ? { reasonCode: 0 } : { returnCode: 0 }) });
    expect(h.sent()).toMatchObject([
      { cmd: 'publish', messageId: 1, dup: true, qos: 1, topic: 'a' },
      { cmd: 'publish', messageId: 2, dup: true, qos: 2, topic: 'b' },
      { cmd: 'pubrel', messageId: 3 },
    ]);
    expect(h.core.stats.resent).toBe(3);
  });

  it('a QoS 2 PUBLISH waits until its packet id is durable, and holds back later ones', () => {
    const h = new CoreHarness(v);
    h.persistIds = false;
    h.open({ clean: false });
    h.core.enqueue(stored(1, 'a', 1), 0);
    h.core.enqueue(stored(2, 'b', 2), 0);
    h.core.enqueue(stored(3, 'c', 1), 0);
    expect(h.sent()).toMatchObject([{ cmd: 'publish', topic: 'a', qos: 1 }]);
    const assigned = h.take('assigned');
    expect(assigned.map((a) => a.key)).toEqual([1, 2]);
    h.core.idPersisted(2, 0);
    expect(h.sent()).toMatchObject([
      { cmd: 'publish', topic: 'b', qos: 2, messageId: assigned[1]!.messageId },
      { cmd: 'publish', topic: 'c', qos: 1 },
    ]);
  });

  it('without a session: PUBREC-ed ones are done, the rest go again as new publishes', () => {
    const h = new CoreHarness(v);
    h.open({ clean: false });
    h.core.enqueue(stored(1, 'a', 1), 0);
    h.core.enqueue(stored(2, 'b', 2), 0);
    h.sent();
    h.feed({ cmd: 'pubrec', messageId: 2 });
    h.core.releasePersisted(2, 0);
    h.sent();
    h.core.transportClosed();
    h.connect({ clean: false });
    h.feed({ cmd: 'connack', sessionPresent: false, ...(v === 5 ? { reasonCode: 0 } : { returnCode: 0 }) });
    expect(h.take('acked').map((a) => a.ack.key)).toEqual([2]);
    expect(h.sent()).toMatchObject([{ cmd: 'publish', dup: false, topic: 'a' }]);
  });

  it('restores stored entries (after a restart) and resends them by key', () => {
    const h = new CoreHarness(v);
    h.core.restore([
      stored(4, 'x', 1, { messageId: 9 }),
      stored(2, 'y', 2, { messageId: 8, state: 'pubrel' }),
      stored(6, 'z', 1),
    ]);
    h.connect({ clean: false });
    h.feed({ cmd: 'connack', sessionPresent: true, ...(v === 5 ? { reasonCode: 0 } : { returnCode: 0 }) });
    expect(h.sent()).toMatchObject([
      { cmd: 'pubrel', messageId: 8 },
      { cmd: 'publish', messageId: 9, dup: true, topic: 'x' },
      { cmd: 'publish', dup: false, topic: 'z' },
    ]);
  });

  it('keepalive: PINGREQ after keepalive without sending; EKEEPALIVE after 1.5 × keepalive without receiving', () => {
    const h = new CoreHarness(v);
    h.open({ keepalive: 10 });
    expect(h.core.nextDeadline()).toBe(10_000);
    h.tick(9_999);
    expect(h.sent()).toEqual([]);
    h.tick(10_000);
    expect(h.sent()).toMatchObject([{ cmd: 'pingreq' }]);
    h.now = 10_050;
    h.feed({ cmd: 'pingresp' });
    expect(h.core.nextDeadline()).toBe(20_000);
    h.tick(20_000);
    expect(h.sent()).toMatchObject([{ cmd: 'pingreq' }]);
    // no answer: dead at 10_050 + 15_000
    h.tick(25_049);
    expect(h.take('closed')).toEqual([]);
    h.tick(25_050);
    const err = h.take('closed')[0]?.error;
    expect(err?.code).toBe('EKEEPALIVE');
    expect(h.core.state).toBe('disconnected');
    if (v === 5) expect(h.sent()).toMatchObject([{ cmd: 'disconnect', reasonCode: 0x8d }]);
  });

  it('detects a dead link while publishing all the time (MQTT.js #1861)', () => {
    const h = new CoreHarness(v);
    h.open({ keepalive: 10 });
    let t = 0;
    let closedAt: number | undefined;
    while (t < 60_000 && closedAt === undefined) {
      t += 500;
      h.tick(t);
      if (h.core.state === 'connected') h.core.publish0('t', Buffer.from('x'), {}, t);
      if (h.take('closed').length > 0) closedAt = t;
    }
    expect(closedAt).toBe(15_000);
    // and it asked with a PINGREQ before giving up, though it never stopped sending
    expect(h.sent().filter((p) => p.cmd === 'pingreq')).toHaveLength(1);
  });

  it('keeps a healthy link that only publishes QoS 0 (pings on received time)', () => {
    const h = new CoreHarness(v);
    h.open({ keepalive: 10 });
    for (let t = 500; t <= 60_000; t += 500) {
      h.tick(t);
      h.core.publish0('t', Buffer.from('x'), {}, t);
      if (h.sent().some((p) => p.cmd === 'pingreq')) h.feed({ cmd: 'pingresp' });
    }
    expect(h.core.state).toBe('connected');
  });

  it('a SUBACK failure is SUBSCRIBE_FAILED with the reason code', () => {
    const h = new CoreHarness(v);
    h.open();
    const id = h.core.subscribe(['a/#', 'b'], { qos: 1 }, 0);
    expect(h.sent()).toMatchObject([
      {
        cmd: 'subscribe',
        messageId: id,
        subscriptions: [
          { topic: 'a/#', qos: 1 },
          { topic: 'b', qos: 1 },
        ],
      },
    ]);
    h.feed({ cmd: 'suback', messageId: id, granted: [1, v === 5 ? 0x87 : 0x80] });
    const [s] = h.take('suback');
    expect(s?.granted).toEqual([
      { topic: 'a/#', qos: 1 },
      { topic: 'b', qos: v === 5 ? 0x87 : 0x80 },
    ]);
    expect(s?.error?.code).toBe('SUBSCRIBE_FAILED');
    expect(s?.error?.reasonCode).toBe(v === 5 ? 0x87 : 0x80);
    expect([...h.core.subscriptions.keys()]).toEqual(['a/#']);
  });

  it('resubscribes when the broker lost the session', () => {
    const h = new CoreHarness(v);
    h.open();
    const id = h.core.subscribe(['s/+'], { qos: 1 }, 0);
    h.feed({ cmd: 'suback', messageId: id, granted: [1] });
    h.sent();
    h.core.transportClosed();
    h.connect();
    h.feed({ cmd: 'connack', sessionPresent: false, ...(v === 5 ? { reasonCode: 0 } : { returnCode: 0 }) });
    expect(h.sent()).toMatchObject([{ cmd: 'subscribe', subscriptions: [{ topic: 's/+', qos: 1 }] }]);
  });

  it('requests waiting for an answer fail with ECLOSED when the connection ends', () => {
    const h = new CoreHarness(v);
    h.open();
    h.core.subscribe(['x'], {}, 0);
    h.core.transportClosed();
    expect(h.take('suback')[0]?.error?.code).toBe('ECLOSED');
    expect(h.core.ids.size).toBe(0);
  });

  it('malformed broker bytes close with MALFORMED, no exception', () => {
    const h = new CoreHarness(v);
    h.open();
    expect(() => h.raw(Buffer.from([0x00, 0x00]))).not.toThrow(); // packet type 0 is reserved
    expect(h.take('closed')[0]?.error?.code).toBe('MALFORMED');
    // further input is ignored
    expect(() => h.raw(Buffer.from([0x30, 0x02, 0x00]))).not.toThrow();
  });

  it('an unexpected packet (SUBSCRIBE from the broker) is a PROTOCOL_ERROR', () => {
    const h = new CoreHarness(v);
    h.open();
    h.feed({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'x', qos: 0 }] });
    expect(h.take('closed')[0]?.error?.code).toBe('PROTOCOL_ERROR');
  });

  it('fuzz: random broker bytes never throw out of the core', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 0, maxLength: 64 }), { maxLength: 8 }),
        fc.boolean(),
        (chunks, connected) => {
          const h = new CoreHarness(v);
          if (connected) h.open();
          else h.connect();
          for (const c of chunks) h.raw(c);
          h.tick(h.now + 1_000_000);
          return true;
        },
      ),
      { numRuns: 500 },
    );
  });

  it('fuzz: valid packets in random order never throw', () => {
    const pkt = fc.oneof(
      fc.record({ cmd: fc.constant('puback' as const), messageId: fc.integer({ min: 1, max: 5 }) }),
      fc.record({ cmd: fc.constant('pubrec' as const), messageId: fc.integer({ min: 1, max: 5 }) }),
      fc.record({ cmd: fc.constant('pubcomp' as const), messageId: fc.integer({ min: 1, max: 5 }) }),
      fc.record({ cmd: fc.constant('pubrel' as const), messageId: fc.integer({ min: 1, max: 5 }) }),
      fc.record({
        cmd: fc.constant('suback' as const),
        messageId: fc.integer({ min: 1, max: 5 }),
        granted: fc.constant([0]),
      }),
      fc.record({ cmd: fc.constant('pingresp' as const) }),
      fc.record({
        cmd: fc.constant('connack' as const),
        sessionPresent: fc.boolean(),
        returnCode: fc.constant(0),
        reasonCode: fc.constant(0),
      }),
    );
    fc.assert(
      fc.property(fc.array(pkt, { maxLength: 20 }), (packets) => {
        const h = new CoreHarness(v);
        h.open();
        for (let k = 1; k <= 3; k++) h.core.enqueue(stored(k, 't', ((k % 2) + 1) as 1 | 2), 0);
        for (const p of packets) h.raw(encode(p as Packet, v));
        return true;
      }),
      { numRuns: 300 },
    );
  });
});

describe('MqttClientCore v5 only', () => {
  it('assigns outgoing topic aliases up to the broker maximum', () => {
    const h = new CoreHarness(5);
    h.open({}, { properties: { topicAliasMaximum: 2 } });
    for (const t of ['a', 'b', 'c', 'a', 'b', 'c']) h.core.publish0(t, Buffer.from('x'), {}, 0);
    const out = h.sent() as IPublishPacket[];
    expect(out.map((p) => [p.topic, p.properties?.topicAlias])).toEqual([
      ['a', 1],
      ['b', 2],
      ['c', undefined],
      ['', 1],
      ['', 2],
      ['c', undefined],
    ]);
  });

  it('no aliases when the broker allows none, or when turned off', () => {
    const h = new CoreHarness(5);
    h.open({ topicAliases: false }, { properties: { topicAliasMaximum: 5 } });
    h.core.publish0('a', Buffer.from('x'), {}, 0);
    h.core.publish0('a', Buffer.from('x'), {}, 0);
    expect((h.sent() as IPublishPacket[]).map((p) => p.properties?.topicAlias)).toEqual([
      undefined,
      undefined,
    ]);
  });

  it('aliases start afresh on a new connection (resend carries the topic again)', () => {
    const h = new CoreHarness(5);
    h.open({ clean: false }, { properties: { topicAliasMaximum: 4 } });
    h.core.enqueue(stored(1, 'a', 1), 0);
    h.core.enqueue(stored(2, 'a', 1), 0);
    expect((h.sent() as IPublishPacket[]).map((p) => p.topic)).toEqual(['a', '']);
    h.core.transportClosed();
    h.connect({ clean: false });
    h.feed({ cmd: 'connack', sessionPresent: true, reasonCode: 0, properties: { topicAliasMaximum: 4 } });
    expect((h.sent() as IPublishPacket[]).map((p) => [p.topic, p.dup])).toEqual([
      ['a', true],
      ['', true],
    ]);
  });

  it('resolves incoming aliases; an unknown alias is a protocol error (0x94) with DISCONNECT', () => {
    const h = new CoreHarness(5);
    h.open();
    h.feed({
      cmd: 'publish',
      topic: 'long/topic',
      payload: Buffer.from('1'),
      qos: 0,
      retain: false,
      dup: false,
      properties: { topicAlias: 3 },
    });
    h.feed({
      cmd: 'publish',
      topic: '',
      payload: Buffer.from('2'),
      qos: 0,
      retain: false,
      dup: false,
      properties: { topicAlias: 3 },
    });
    expect(h.take('message').map((m) => m.message.topic)).toEqual(['long/topic', 'long/topic']);
    h.feed({
      cmd: 'publish',
      topic: '',
      payload: Buffer.from('3'),
      qos: 0,
      retain: false,
      dup: false,
      properties: { topicAlias: 4 },
    });
    const err = h.take('closed')[0]?.error;
    expect(err?.code).toBe('PROTOCOL_ERROR');
    expect(err?.reasonCode).toBe(0x94);
    expect(h.sent()).toMatchObject([{ cmd: 'disconnect', reasonCode: 0x94 }]);
  });

  it('an alias above our Topic Alias Maximum is refused', () => {
    const h = new CoreHarness(5);
    h.open({ topicAliasMaximum: 2 });
    h.feed({
      cmd: 'publish',
      topic: 'x',
      payload: Buffer.from('1'),
      qos: 0,
      retain: false,
      dup: false,
      properties: { topicAlias: 3 },
    });
    expect(h.take('closed')[0]?.error?.reasonCode).toBe(0x94);
  });

  it('PUBACK / PUBREC failure codes fail the publish with PUBLISH_FAILED', () => {
    const h = new CoreHarness(5);
    h.open();
    h.core.enqueue(stored(1, 'a', 1), 0);
    h.core.enqueue(stored(2, 'b', 2), 0);
    h.sent();
    h.feed({ cmd: 'puback', messageId: 1, reasonCode: 0x87 });
    h.feed({ cmd: 'pubrec', messageId: 2, reasonCode: 0x97 });
    const acks = h.take('acked').map((a) => [a.ack.key, a.ack.error?.code, a.ack.error?.reasonCode]);
    expect(acks).toEqual([
      [1, 'PUBLISH_FAILED', 0x87],
      [2, 'PUBLISH_FAILED', 0x97],
    ]);
    expect(h.core.pending).toBe(0);
  });

  it('the broker DISCONNECT closes with DISCONNECTED and its reason code', () => {
    const h = new CoreHarness(5);
    h.open();
    h.feed({ cmd: 'disconnect', reasonCode: 0x8b });
    const err = h.take('closed')[0]?.error;
    expect(err?.code).toBe('DISCONNECTED');
    expect(err?.reasonCode).toBe(0x8b);
  });

  it('Server Keep Alive replaces ours', () => {
    const h = new CoreHarness(5);
    h.open({ keepalive: 60 }, { properties: { serverKeepAlive: 5 } });
    expect(h.take('connack')[0]?.connack.keepalive).toBe(5);
    expect(h.core.nextDeadline()).toBe(5000);
  });

  it('message expiry: subtracts time spent waiting; drops an expired one as EXPIRED', () => {
    const h = new CoreHarness(5);
    h.core.restore([
      stored(1, 'a', 1, { properties: { messageExpiryInterval: 60 } }),
      stored(2, 'b', 1, { properties: { messageExpiryInterval: 5 } }),
    ]);
    h.now = 20_000;
    h.connect();
    h.feed({ cmd: 'connack', sessionPresent: false, reasonCode: 0 });
    const out = h.sent() as IPublishPacket[];
    expect(out.map((p) => [p.topic, p.properties?.messageExpiryInterval])).toEqual([['a', 40]]);
    expect(h.take('acked')[0]?.ack.error?.code).toBe('EXPIRED');
  });

  it('PUBREL for an unknown id gets PUBCOMP 0x92', () => {
    const h = new CoreHarness(5);
    h.open();
    h.feed({ cmd: 'pubrel', messageId: 42 });
    expect(h.sent()).toMatchObject([{ cmd: 'pubcomp', messageId: 42, reasonCode: 0x92 }]);
  });
});
