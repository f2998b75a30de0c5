import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import mqtt from 'mqtt';
import mqttPacket, { type IPublishPacket, type Packet } from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MqttClient } from '../../src/mqtt/client.js';
import { MqttError } from '../../src/mqtt/errors.js';
import { MemoryStore } from '../../src/mqtt/store/memory-store.js';
import { issue, makePki, type Pki, rsaKey, type TestCert } from '../helpers/test-pki.js';
import { peer } from './harness/peers.js';
import { endProcessTree, guardUntilStopped } from './harness/proc.js';
import { pubSubRoundTrip, within } from './mqtt-roundtrip.js';

const MOSQUITTO = '/usr/sbin/mosquitto';

function missing(): string | undefined {
  try {
    accessSync(MOSQUITTO, constants.X_OK);
    return undefined;
  } catch {
    return `${MOSQUITTO} is not installed`;
  }
}

const check = peer('mosquitto', missing());

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * The loopback broker's TLS listener: a test PKI (test/helpers/test-pki.ts: root CA,
 * intermediate, server leaf for `localhost`/127.0.0.1) plus a client certificate from the same
 * intermediate, for `require_certificate true`.
 */
interface LocalTls {
  pki: Pki;
  client: TestCert;
}

function makeLocalTls(): LocalTls {
  const pki = makePki('rsa', 'mqtt-local');
  const client = issue({
    subject: { O: 'cellstack test', CN: 'mqtt-local client' },
    key: rsaKey('mqtt-local-client'),
    issuer: pki.intermediate,
    ca: false,
    keyUsage: ['digitalSignature'],
    eku: ['clientAuth'],
  });
  return { pki, client };
}

/** node:tls to 127.0.0.1:port, resolved on secureConnect; rejects on error or after 5 s. */
function dialTls(port: number, t: LocalTls, withClientCert: boolean): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      ca: t.pki.root.pem,
      ...(withClientCert ? { cert: t.client.pem + t.pki.intermediate.pem, key: t.client.key.pem } : {}),
    });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error('TLS handshake timed out'));
    }, 5000);
    s.once('secureConnect', () => {
      clearTimeout(timer);
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

function dial(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/**
 * A Duplex over a socket that records what the client sends (parsed) and can drop what the
 * broker sends (`deaf`), to leave a publish unacknowledged.
 */
class Tap extends Duplex {
  readonly sent: Packet[] = [];
  deaf = false;
  private readonly parser: mqttPacket.Parser;

  constructor(
    readonly socket: Socket,
    version: 4 | 5,
  ) {
    super();
    this.parser = mqttPacket.parser({ protocolVersion: version });
    this.parser.on('packet', (p: Packet) => this.sent.push(p));
    socket.on('data', (d: Buffer) => {
      if (!this.deaf) this.push(d);
    });
    socket.on('end', () => this.push(null));
    socket.on('close', () => this.destroy());
    socket.on('error', (e) => this.destroy(e));
  }
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.parser.parse(chunk);
    this.socket.write(chunk, cb);
  }
  override _final(cb: () => void): void {
    this.socket.end(cb);
  }
  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    this.socket.destroy();
    cb(err);
  }
}

describe.skipIf(check.skip)('MQTT client against mosquitto on 127.0.0.1', () => {
  let dir: string;
  let port = 0;
  let tlsPort = 0;
  let localTls: LocalTls;
  let broker: ChildProcess | undefined;
  let unguard: (() => void) | undefined;
  const clients: MqttClient[] = [];

  const client = (store = new MemoryStore()): MqttClient => {
    const c = new MqttClient({ store });
    c.on('error', () => {});
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cellstack-mqtt-'));
    port = await freePort();
    tlsPort = await freePort();
    localTls = makeLocalTls();
    const { pki } = localTls;
    writeFileSync(join(dir, 'ca.pem'), pki.root.pem + pki.intermediate.pem);
    writeFileSync(join(dir, 'server.pem'), pki.leaf.pem + pki.intermediate.pem);
    writeFileSync(join(dir, 'server.key'), pki.leaf.key.pem, { mode: 0o600 });
    const conf = join(dir, 'mosquitto.conf');
    writeFileSync(
      conf,
      `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 1000\n` +
        // Started as root, mosquitto would switch to the `mosquitto` user and then could not
        // read the certificates in our private temp dir; as anyone else it ignores `user`.
        'user root\n' +
        // A second listener with mutual TLS (the settings after it are its own).
        `listener ${tlsPort} 127.0.0.1\ncafile ${join(dir, 'ca.pem')}\ncertfile ${join(dir, 'server.pem')}\n` +
        `keyfile ${join(dir, 'server.key')}\nrequire_certificate true\n`,
    );
    broker = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    const pid = broker.pid;
    if (pid !== undefined) unguard = guardUntilStopped(pid, () => {});
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        (await dial(port)).destroy();
        (await dial(tlsPort)).destroy();
        break;
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  });

  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => within(c.end(), 3000, 'end')));
    if (broker) await endProcessTree(broker, { graceMs: 3000, group: false, order: 'root' });
    unguard?.();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const v of [4, 5] as const) {
    for (const qos of [0, 1, 2] as const) {
      it(`v${v} QoS ${qos}: publish and receive our own messages over node:net`, async () => {
        const c = client();
        const ack = await within(
          c.connect(await dial(port), { protocolVersion: v, clientId: `rt-${v}-${qos}` }),
          5000,
          'connect',
        );
        expect(ack.reasonCode).toBe(0);
        const topic = `rt/${v}/${qos}`;
        const got: string[] = [];
        const all = new Promise<void>((resolve) => {
          void c.subscribe(topic, { qos }, (t, payload, packet) => {
            got.push(`${t}:${payload.toString()}:${packet.qos}`);
            if (got.length === 3) resolve();
          });
        });
        await new Promise((r) => setTimeout(r, 50));
        for (let i = 0; i < 3; i++) {
          const p = c.publish(topic, `m${i}`, { qos });
          await within(p, 5000, 'publish');
          if (qos > 0)
            expect(await within(p.acked, 5000, 'acked')).toMatchObject({
              reasonCode: v === 5 ? expect.any(Number) : 0,
            });
        }
        await within(all, 5000, 'messages');
        expect(got).toEqual([0, 1, 2].map((i) => `${topic}:m${i}:${qos}`));
        await c.end();
      });
    }

    it(`v${v}: a persistent session survives a destroyed transport: queued messages arrive, our unacked publish is resent with DUP`, async () => {
      const clientId = `persist-${v}`;
      const opts = {
        protocolVersion: v,
        clientId,
        clean: false,
        ...(v === 5 ? { sessionExpiryInterval: 300 } : {}),
      };
      const store = new MemoryStore();
      const a = client(store);
      const got: string[] = [];
      // a fresh session that outlives the connection; the broker's answers are dropped after SUBACK
      const tap1 = new Tap(await dial(port), v);
      const ack1 = await within(a.connect(tap1, { ...opts, clean: v === 5 }), 5000, 'connect a');
      expect(ack1.sessionPresent).toBe(false);
      await within(
        a.subscribe('ps/#', { qos: 1 }, (t, p) => got.push(`${t}:${p.toString()}`)),
        5000,
        'subscribe',
      );
      tap1.deaf = true;
      const mine = a.publish(`ps/mine-${v}`, 'unacked', { qos: 1 });
      await mine;
      await new Promise((r) => setTimeout(r, 100));
      expect(tap1.sent.filter((p) => p.cmd === 'publish')).toHaveLength(1);
      const closed = new Promise((r) => a.once('close', r));
      tap1.destroy();
      await within(closed, 5000, 'close');
      // while we are away, someone publishes to our subscription
      const b = client();
      await within(
        b.connect(await dial(port), { protocolVersion: v, clientId: `pub-${v}` }),
        5000,
        'connect b',
      );
      for (let i = 0; i < 3; i++)
        await within(b.publish('ps/queued', `q${i}`, { qos: 1 }).acked, 5000, 'b acked');
      await b.end();
      // back: the session is there, the queued ones come, ours goes again with DUP
      const tap2 = new Tap(await dial(port), v);
      const ack2 = await within(a.connect(tap2, opts), 5000, 'reconnect');
      expect(ack2.sessionPresent).toBe(true);
      await within(mine.acked, 5000, 'resent publish acked');
      const resent = tap2.sent.filter((p): p is IPublishPacket => p.cmd === 'publish');
      expect(resent[0]).toMatchObject({ dup: true, qos: 1, payload: Buffer.from('unacked') });
      const deadline = Date.now() + 5000;
      while (got.filter((g) => g.startsWith('ps/queued')).length < 3 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      expect(got.filter((g) => g.startsWith('ps/queued'))).toEqual([
        'ps/queued:q0',
        'ps/queued:q1',
        'ps/queued:q2',
      ]);
      expect(got).toContain(`ps/mine-${v}:unacked`);
      expect(store.entries()).toHaveLength(0);
      await a.end({ sessionExpiryInterval: 0 });
    });

    it(`v${v}: retained messages reach a later subscriber`, async () => {
      const c = client();
      await within(
        c.connect(await dial(port), { protocolVersion: v, clientId: `ret-${v}` }),
        5000,
        'connect',
      );
      await within(c.publish(`ret/${v}`, 'kept', { qos: 1, retain: true }).acked, 5000, 'acked');
      const d = client();
      await within(
        d.connect(await dial(port), { protocolVersion: v, clientId: `ret-sub-${v}` }),
        5000,
        'connect d',
      );
      const got = new Promise<IPublishPacket>((resolve) => {
        void d.subscribe(`ret/${v}`, { qos: 1 }, (_t, _p, packet) => resolve(packet));
      });
      const packet = await within(got, 5000, 'retained');
      expect(packet.retain).toBe(true);
      expect(packet.payload.toString()).toBe('kept');
      await within(c.publish(`ret/${v}`, '', { qos: 1, retain: true }).acked, 5000, 'clear');
      await c.end();
      await d.end();
    });

    it(`v${v}: MQTT.js receives what we publish (topic aliases on v5)`, async () => {
      const js = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
        protocolVersion: v,
        clientId: `mqttjs-${v}`,
        reconnectPeriod: 0,
      });
      try {
        await within(new Promise((r, j) => js.once('connect', r).once('error', j)), 5000, 'mqtt.js connect');
        const topic = `interop/${v}/t`;
        await within(js.subscribeAsync(topic, { qos: 2 }), 5000, 'mqtt.js subscribe');
        const got: string[] = [];
        const done = new Promise<void>((resolve) => {
          js.on('message', (t, p) => {
            got.push(`${t}:${p.toString()}`);
            if (got.length === 3) resolve();
          });
        });
        const c = client();
        await within(
          c.connect(await dial(port), { protocolVersion: v, clientId: `ours-${v}` }),
          5000,
          'connect',
        );
        await c.publish(topic, 'a');
        await within(c.publish(topic, 'b', { qos: 1 }).acked, 5000, 'b');
        await within(c.publish(topic, 'c', { qos: 2 }).acked, 5000, 'c');
        await within(done, 5000, 'mqtt.js messages');
        expect(got).toEqual([`${topic}:a`, `${topic}:b`, `${topic}:c`]);
        await c.end();
      } finally {
        await within(js.endAsync(), 3000, 'mqtt.js end').catch(() => js.end(true));
      }
    });

    it(`v${v}: QoS 1 round trip over node:tls with a client certificate (require_certificate)`, async () => {
      const tls = await dialTls(tlsPort, localTls, true);
      expect(tls.authorized).toBe(true);
      const c = client();
      const ack = await within(
        c.connect(tls, { protocolVersion: v, clientId: `tls-${v}` }),
        5000,
        'connect over node:tls',
      );
      expect(ack).toMatchObject({ reasonCode: 0, protocolVersion: v });
      const topic = `tls/${v}/q1`;
      const sent = [Buffer.from('over node:tls'), Buffer.from(Array.from({ length: 256 }, (_, i) => i))];
      const r = await pubSubRoundTrip(c, topic, 1, sent, 5000);
      expect(r.granted).toEqual([{ topic, qos: 1 }]);
      expect(r.received.map((m) => m.payload.toString('hex'))).toEqual(sent.map((p) => p.toString('hex')));
      for (const m of r.received) expect(m).toMatchObject({ topic, qos: 1 });
      for (const a of r.acks) expect(a).toMatchObject({ topic, qos: 1, reasonCode: 0 });
      await within(c.end(), 5000, 'end');
      expect(tls.destroyed).toBe(true);
    });
  }

  it('the TLS listener refuses a client without a certificate: alert certificate_required, no CONNACK', async () => {
    // TLS 1.3 (node's default here): the server checks our empty Certificate after its own
    // Finished, so secureConnect comes first; then its certificate_required alert (RFC 8446
    // sections 4.4.2.4 and 6.2) ends the connection before any CONNACK.
    const tls = await dialTls(tlsPort, localTls, false);
    expect(tls.getProtocol()).toBe('TLSv1.3');
    const errors: Array<Error & { code?: string }> = [];
    tls.on('error', (e) => errors.push(e));
    const closed = new Promise<void>((resolve) => tls.once('close', () => resolve()));
    const c = client();
    const refused = await within(
      c.connect(tls, { protocolVersion: 4, clientId: 'tls-nocert' }).then(
        () => undefined,
        (e: unknown) => e,
      ),
      5000,
      'refusal',
    );
    await within(closed, 5000, 'close');
    // Our client reports the lost transport with the TLS error as its cause.
    expect(refused).toBeInstanceOf(MqttError);
    expect(refused).toMatchObject({
      code: 'ECONNRESET',
      cause: { code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' },
    });
    expect(c.connected).toBe(false);
    expect(errors.map((e) => e.code)).toContain('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');
  });
});
