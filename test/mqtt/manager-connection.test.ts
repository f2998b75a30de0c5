import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MqttError } from '../../src/mqtt/errors.js';
import { type Connection, connect } from '../../src/mqtt/manager/index.js';
import type { StateChange } from '../../src/mqtt/manager/options.js';
import { FileStore } from '../../src/mqtt/store/file-store.js';
import { ConfigError } from '../../src/util/errors.js';
import { ScriptedBroker, type Version } from './client-helpers.js';

/**
 * The manager's loop over an in-memory broker (the `transport` option stands in for TCP): the
 * states it reports, where it retries from, the backoff, and that the session and the offline
 * queues survive a reconnect. The full chain (modem, PPP, TCP, TLS) runs against real peers in
 * test/interop/mqtt-faults.test.ts.
 */
interface Rig {
  conn: Connection;
  brokers: ScriptedBroker[];
  states: StateChange[];
  /** Make the next transports fail with this (undefined: succeed). */
  failWith: Error | undefined;
}

const rigs: Rig[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const r of rigs.splice(0)) await r.conn.end();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function rig(options: {
  version?: Version;
  autoAck?: boolean;
  url?: string;
  profile?: 'aws-iot';
  maxAttempts?: number;
  store?: string;
  clientId?: string;
  offlineQos0?: 'queue' | 'drop';
  random?: () => number;
}): Rig {
  const r: Rig = { brokers: [], states: [], failWith: undefined } as unknown as Rig;
  r.conn = connect({
    mqtt: {
      url: options.url ?? 'mqtt://broker.test',
      protocolVersion: options.version ?? 4,
      clientId: options.clientId ?? 'dev-1',
      clean: false,
      ...(options.profile ? { profile: options.profile } : {}),
      ...(options.store ? { store: options.store } : {}),
      ...(options.offlineQos0 ? { offlineQos0: options.offlineQos0 } : {}),
      connectTimeoutMs: 2000,
      transport: () => {
        if (r.failWith) throw r.failWith;
        const b = new ScriptedBroker(options.version ?? 4);
        b.autoAck = options.autoAck ?? true;
        b.sessionPresent = r.brokers.length > 0;
        r.brokers.push(b);
        return b.transport;
      },
    },
    reconnect: {
      initialDelayMs: 20,
      maxDelayMs: 160,
      ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
    },
    random: options.random ?? (() => 0.999),
  });
  r.conn.on('state', (s) => r.states.push(s));
  rigs.push(r);
  return r;
}

function until(cond: () => boolean, ms = 3000): Promise<void> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const poll = (): void => {
      if (cond()) resolve();
      else if (Date.now() - t0 > ms) reject(new Error('condition not met in time'));
      else setTimeout(poll, 5);
    };
    poll();
  });
}

describe('connect() without a modem', () => {
  it('reports connecting then connected, and a QoS 1 publish is acknowledged', async () => {
    const r = rig({});
    const connack = await r.conn.ready(3000);
    expect(connack.reasonCode).toBe(0);
    expect(r.states.map((s) => s.state)).toEqual(['connecting', 'connected']);
    const p = r.conn.publish('t/1', 'hello', { qos: 1 });
    await p;
    const ack = await p.acked;
    expect(ack?.reasonCode ?? 0).toBe(0);
    expect(r.brokers[0]?.of('publish').map((x) => String(x.payload))).toEqual(['hello']);
    expect(r.conn.stats()).toMatchObject({ state: 'connected', connects: 1, attempts: 0 });
  });

  it('after the transport breaks: offline with the reason, reconnects, resends unacked QoS 1 with DUP and flushes queued QoS 0', async () => {
    const r = rig({ autoAck: false });
    await r.conn.ready(3000);
    const first = r.brokers[0] as ScriptedBroker;
    const unacked = r.conn.publish('t/q1', 'one', { qos: 1 });
    await until(() => first.of('publish').length === 1);
    first.transport.destroy(Object.assign(new Error('reset by peer'), { code: 'ECONNRESET' }));
    await until(() => r.conn.state !== 'connected');
    // Offline now (or already reconnecting): QoS 0 waits in the queue, QoS 1 in the store.
    r.failWith = Object.assign(new Error('no route'), { code: 'EHOSTUNREACH' });
    await until(() => r.states.filter((s) => s.state === 'offline').length >= 2);
    const q0 = r.conn.publish('t/q0', 'zero', { qos: 0 });
    await q0; // queued
    const q1 = r.conn.publish('t/q1', 'two', { qos: 1 });
    await q1; // stored
    r.failWith = undefined;
    await until(() => r.brokers.length === 2 && r.conn.connected);
    const second = r.brokers[1] as ScriptedBroker;
    await until(() => second.of('publish').length === 3);
    const pubs = second.of('publish');
    expect(pubs.map((p) => [String(p.payload), p.qos, p.dup])).toEqual([
      ['one', 1, true],
      ['two', 1, false],
      ['zero', 0, false],
    ]);
    for (const p of pubs) if (p.qos === 1) second.send({ cmd: 'puback', messageId: p.messageId as number });
    await unacked.acked;
    await q1.acked;
    await q0.acked;
    const offline = r.states.filter((s) => s.state === 'offline');
    expect(offline[0]?.reason).toBeInstanceOf(Error);
    expect(offline[0]?.recovery).toBe('transport');
    expect(offline.map((s) => (s.reason as { code?: string }).code)).toContain('EHOSTUNREACH');
    expect(r.conn.stats().failures['EHOSTUNREACH']).toBeGreaterThanOrEqual(1);
    expect(r.conn.stats().connects).toBe(2);
  });

  it('one reconnect at a time: a loss reported several ways opens exactly one new transport (MQTT.js #1778, #1845)', async () => {
    const r = rig({});
    await r.conn.ready(3000);
    const first = r.brokers[0] as ScriptedBroker;
    // The same loss, seen as an error, an end and a close.
    first.transport.emit('error', Object.assign(new Error('reset'), { code: 'ECONNRESET' }));
    first.transport.push(null);
    first.transport.destroy();
    await until(() => r.brokers.length === 2 && r.conn.connected);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(r.brokers.length).toBe(2);
    expect(r.conn.stats().connects).toBe(2);
    expect(r.states.filter((s) => s.state === 'offline')).toHaveLength(1);
    expect(r.states.filter((s) => s.state === 'connecting')).toHaveLength(2);
  });

  it('waits longer after each failure in a row (capped), and starts over after a success', async () => {
    const r = rig({});
    r.failWith = Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
    await until(() => r.states.filter((s) => s.state === 'offline').length >= 5);
    const delays = r.states.filter((s) => s.state === 'offline').map((s) => s.delayMs);
    // 0.999 of the ceiling, but never under min(ceiling, 50 ms).
    expect(delays.slice(0, 5)).toEqual([20, 40, 79, 159, 159]);
    r.failWith = undefined;
    await r.conn.ready(3000);
    expect(r.conn.stats().attempts).toBe(0);
    (r.brokers[0] as ScriptedBroker).transport.destroy();
    await until(() => r.states.filter((s) => s.state === 'offline').length >= 6);
    expect(r.states.filter((s) => s.state === 'offline')[5]?.delayMs).toBe(20);
  });

  it('gives up after maxAttempts with ECLOSED and rejects ready() and later publishes', async () => {
    const r = rig({ maxAttempts: 3 });
    r.failWith = Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
    const closed = new Promise<Error | undefined>((resolve) => r.conn.once('close', resolve));
    await expect(r.conn.ready()).rejects.toMatchObject({ code: 'ECLOSED' });
    const err = await closed;
    expect(err).toBeInstanceOf(MqttError);
    expect(err?.message).toMatch(/gave up after 3 attempts/);
    expect(r.states.at(-1)?.state).toBe('closed');
    await expect(r.conn.publish('t', 'x', { qos: 1 })).rejects.toMatchObject({ code: 'ECLOSED' });
  });

  it('stops at once on a failure no retry can fix', async () => {
    const r = rig({});
    r.failWith = new ConfigError('broken');
    const err = await new Promise<Error | undefined>((resolve) => r.conn.once('close', resolve));
    expect(err).toBeInstanceOf(ConfigError);
    expect(r.states.some((s) => s.state === 'offline')).toBe(false);
  });

  it('drops offline QoS 0 when told to, rejecting the publish with NOT_CONNECTED', async () => {
    const r = rig({ offlineQos0: 'drop' });
    r.failWith = Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
    await until(() => r.conn.state === 'offline');
    await expect(r.conn.publish('t', 'x')).rejects.toMatchObject({ code: 'NOT_CONNECTED' });
    expect(r.conn.stats().offlineQos0.dropped).toBe(1);
  });

  it('an offline QoS 0 publish pushed out of the full queue settles: its acked rejects with NOT_CONNECTED', async () => {
    const conn = connect({
      mqtt: { url: 'mqtt://x', offlineQos0Limit: 2, transport: () => Promise.reject(new Error('down')) },
      reconnect: { initialDelayMs: 1000 },
    });
    rigs.push({ conn, brokers: [], states: [], failWith: undefined });
    const ps = [1, 2, 3].map((i) => conn.publish('t', `m${i}`));
    await Promise.all(ps); // all three were queued
    await expect(ps[0]?.acked).rejects.toMatchObject({ code: 'NOT_CONNECTED' });
    expect(conn.stats().offlineQos0).toEqual({ queued: 2, dropped: 1 });
    await conn.end();
    // The two still queued settle at end() too.
    await expect(ps[1]?.acked).rejects.toMatchObject({ code: 'ECLOSED' });
  });

  it('end() during a backoff wait returns promptly and closes without an error', async () => {
    const r = rig({});
    r.failWith = Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
    await until(() => r.conn.state === 'offline');
    const closed = new Promise<Error | undefined>((resolve) => r.conn.once('close', resolve));
    const t0 = Date.now();
    await r.conn.end();
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(await closed).toBeUndefined();
    expect(r.conn.state).toBe('closed');
  });

  it('subscribes once connected, and the handler hears messages after a reconnect', async () => {
    const r = rig({ version: 5 });
    const got: string[] = [];
    const granted = await r.conn.subscribe('s/#', { qos: 1 }, (_t, payload) => got.push(String(payload)));
    expect(granted).toEqual([{ topic: 's/#', qos: 1 }]);
    (r.brokers[0] as ScriptedBroker).transport.destroy();
    await until(() => r.brokers.length === 2 && r.conn.connected);
    const b = r.brokers[1] as ScriptedBroker;
    b.send({
      cmd: 'publish',
      topic: 's/x',
      payload: Buffer.from('after'),
      qos: 0,
      retain: false,
      dup: false,
    });
    await until(() => got.length === 1);
    expect(got).toEqual(['after']);
  });

  it('the aws-iot profile refuses QoS 2 and oversize payloads before anything is stored', async () => {
    const r = rig({ url: 'mqtts://abc-ats.iot.eu-west-1.amazonaws.com:443', profile: 'aws-iot' });
    r.failWith = Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
    await expect(r.conn.publish('t', 'x', { qos: 2 })).rejects.toBeInstanceOf(ConfigError);
    await expect(r.conn.publish('t', Buffer.alloc(131_073), { qos: 1 })).rejects.toThrow(/131072/);
    expect(r.conn.stats().mqtt.pending).toBe(0);
  });

  it('rejects a broken configuration at once', () => {
    expect(() => connect({ mqtt: { url: 'http://x' } })).toThrow(ConfigError);
    expect(() => connect({ mqtt: { url: 'mqtt://x', store: '/tmp/x' } })).toThrow(/clientId/);
    expect(() => connect({ mqtt: { url: 'mqtt://x' }, reconnect: { maxAttempts: 0 } })).toThrow(ConfigError);
  });

  it('with a store directory: publishes accepted while the broker is away reach the next process (MQTT.js #607)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cellstack-mgr-'));
    dirs.push(dir);
    const a = rig({ store: dir, clientId: 'dev-store' });
    a.failWith = Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
    await a.conn.publish('t/s', 'kept-1', { qos: 1 });
    await a.conn.publish('t/s', 'kept-2', { qos: 1 });
    await a.conn.end();
    rigs.splice(rigs.indexOf(a), 1);
    const peek = new FileStore({ dir, clientId: 'dev-store' });
    await peek.open();
    expect(peek.entries().map((e) => String(Buffer.from(e.payload)))).toEqual(['kept-1', 'kept-2']);
    await peek.close();
    const b = rig({ store: dir, clientId: 'dev-store' });
    await b.conn.ready(3000);
    const broker = b.brokers[0] as ScriptedBroker;
    await until(() => broker.of('publish').length === 2);
    expect(broker.of('publish').map((p) => String(p.payload))).toEqual(['kept-1', 'kept-2']);
  });
});
