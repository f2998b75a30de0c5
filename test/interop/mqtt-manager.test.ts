import { readFileSync } from 'node:fs';
import { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModemPort } from '../../src/modem/port.js';
import { MqttClient } from '../../src/mqtt/client.js';
import { type Connection, connect } from '../../src/mqtt/manager/index.js';
import type { StateChange } from '../../src/mqtt/manager/options.js';
import { connect as tlsConnect } from '../../src/tls/connect.js';
import { peer } from './harness/peers.js';
import { startUmlPeer, type UmlPeer, umlProblem } from './harness/uml.js';
import { SERVICE_PORTS } from './harness/uml-services.js';

/**
 * The connection manager over the whole chain against real peers: pppd in the UML guest (a
 * line that speaks PPP, so `direct`), the guest's dnsmasq for the broker's name, mosquitto
 * with a required client certificate. What it must show: the states in order, a round trip,
 * and after each kind of failure a recovery from the right level: pppd killed -> the link is
 * redialled; the broker dropping us while the link is fine -> only the transport reconnects.
 */
const uml = peer('uml', umlProblem());
const BROKER = 'broker.cellstack.test';

/** The guest's serial line as a ModemPort that can be "reopened": close() only detaches. */
function serialPort(p: UmlPeer, opened: { count: number }): ModemPort {
  opened.count++;
  let attached = true;
  const stream = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      if (attached) p.serial.write(chunk);
      cb();
    },
  });
  const onData = (b: Buffer): void => {
    if (attached) stream.push(b);
  };
  p.serial.on('data', onData);
  return {
    path: 'uml-serial',
    stream,
    close: async () => {
      attached = false;
      p.serial.off('data', onData);
      stream.destroy();
    },
  };
}

function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const poll = (): void => {
      if (cond()) resolve();
      else if (Date.now() - t0 > ms) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(poll, 20);
    };
    poll();
  });
}

describe.skipIf(uml.skip)(
  'connect(): the manager against pppd, dnsmasq and mosquitto in the UML guest',
  () => {
    let p: UmlPeer;
    let conn: Connection;
    const states: StateChange[] = [];
    const opened = { count: 0 };
    const received: string[] = [];

    beforeAll(async () => {
      p = await startUmlPeer({ services: ['dns', 'mqtts-mutual', 'mqtts-alpn'], certs: true, memMb: 256 });
      const certs = p.certs!;
      conn = connect({
        modem: {
          path: 'uml-serial',
          direct: true,
          openPort: async () => serialPort(p, opened),
          lcpEchoInterval: 1,
          lcpEchoFailure: 3,
          linkTimeoutMs: 20_000,
        },
        mqtt: {
          url: `mqtts://${BROKER}:${SERVICE_PORTS['mqtts-mutual'].tcp[0]}`,
          clientId: 'manager-uml',
          protocolVersion: 5,
          clean: false,
          sessionExpiryInterval: 600,
          keepalive: 20,
          ca: readFileSync(certs.ca),
          cert: readFileSync(certs.clientCert),
          key: readFileSync(certs.clientKey),
          connectTimeoutMs: 20_000,
        },
        reconnect: { initialDelayMs: 200, maxDelayMs: 2000 },
      });
      conn.on('state', (s) => states.push(s));
      conn.on('message', (_t, payload) => received.push(String(payload)));
    }, 120_000);

    afterAll(async () => {
      await conn?.end();
      await p?.stop();
    });

    it('climbs the chain in order and round-trips a QoS 1 message through it', async () => {
      const connack = await conn.ready(60_000);
      expect(connack.reasonCode).toBe(0);
      const seq = states.map((s) => s.state);
      expect(seq).toEqual(['opening', 'dialing', 'ppp-up', 'connecting', 'connected']);
      expect(states[2]?.detail).toMatch(/^10\.64\.0\.2 -> 10\.64\.0\.1, DNS 10\.64\.0\.1/);
      expect(states[3]?.detail).toBe(`${BROKER}:8884`);
      await conn.subscribe('mgr/#', { qos: 1 });
      const pub = conn.publish('mgr/a', 'first', { qos: 1 });
      await pub;
      await pub.acked;
      await until(() => received.includes('first'), 10_000, 'the message back');
      const s = conn.stats();
      expect(s.ip).toEqual({ local: '10.64.0.2', peer: '10.64.0.1', dns: ['10.64.0.1'] });
      expect(s.bytes.up).toBeGreaterThan(2000); // the TLS handshake with a client certificate
      expect(s.net?.dns.udpQueries ?? 0).toBeGreaterThanOrEqual(1); // the name went through the link's DNS
      expect(typeof s.rttMs).toBe('number');
    }, 90_000);

    it('the broker dropping us (session taken over) reconnects the transport, not the link', async () => {
      await conn.ready(30_000);
      const dialsBefore = conn.stats().redials;
      const from = states.length;
      // A second client with our id, over our own stack: mosquitto closes the first one
      // (MQTT 5.0 3.1.4: the Server disconnects the existing Client with the same id).
      const stack = conn.netStack!;
      const certs = p.certs!;
      const raw = stack.connect({ host: BROKER, port: 8884 });
      const tls = tlsConnect({
        socket: raw,
        host: BROKER,
        ca: readFileSync(certs.ca),
        cert: readFileSync(certs.clientCert),
        key: readFileSync(certs.clientKey),
      });
      await new Promise<void>((resolve, reject) => {
        tls.once('secureConnect', resolve);
        tls.once('error', reject);
      });
      const thief = new MqttClient();
      await thief.connect(tls, {
        clientId: 'manager-uml',
        protocolVersion: 5,
        clean: false,
        sessionExpiryInterval: 600,
      });
      await until(() => states.slice(from).some((s) => s.state === 'offline'), 15_000, 'offline');
      await thief.end();
      await conn.ready(30_000);
      const offline = states.slice(from).find((s) => s.state === 'offline');
      expect(offline?.recovery).toBe('transport');
      expect(states.slice(from).map((s) => s.state)).not.toContain('dialing');
      expect(conn.stats().redials).toBe(dialsBefore);
      // The reconnect resumed the first connection's TLS session (RFC 5246 7.3, RFC 5077).
      expect(conn.stats().tls).toMatchObject({ protocol: 'TLSv1.2', resumed: true });
      const pub = conn.publish('mgr/b', 'after-takeover', { qos: 1 });
      await pub.acked;
      await until(() => received.includes('after-takeover'), 10_000, 'the message back');
    }, 90_000);

    it('pppd killed: the dead link is detected by LCP echo, redialled, and publishes made meanwhile arrive', async () => {
      await conn.ready(30_000);
      const dialsBefore = conn.stats().redials;
      const from = states.length;
      await p.killPppd('KILL');
      // Publish while the link is (about to be) down: the store holds it.
      const pub = conn.publish('mgr/c', 'across-redial', { qos: 1 });
      await pub;
      await until(() => states.slice(from).some((s) => s.state === 'offline'), 20_000, 'offline');
      await conn.ready(60_000);
      const offline = states.slice(from).find((s) => s.state === 'offline');
      expect(offline?.recovery).toBe('link');
      expect(['PEER_DEAD', 'RENEGOTIATING', 'PEER_TERMINATED']).toContain(
        (offline?.reason as { code?: string } | undefined)?.code,
      );
      expect(states.slice(from).map((s) => s.state)).toContain('dialing');
      expect(conn.stats().redials).toBe(dialsBefore + 1);
      await pub.acked;
      await until(() => received.includes('across-redial'), 15_000, 'the message back');
      expect(opened.count).toBe(1); // the port was never reopened: only the link
    }, 120_000);

    it('the aws-iot profile on 443: ALPN x-amzn-mqtt-ca offered by itself, keepalive clamped, QoS 2 refused', async () => {
      await conn.end();
      const certs = p.certs!;
      const aws = connect({
        modem: {
          path: 'uml-serial',
          direct: true,
          openPort: async () => serialPort(p, opened),
          lcpEchoInterval: 1,
          lcpEchoFailure: 3,
          linkTimeoutMs: 20_000,
        },
        mqtt: {
          url: `mqtts://${BROKER}:443`,
          profile: 'aws-iot',
          clientId: 'manager-aws',
          keepalive: 5,
          ca: readFileSync(certs.ca),
          cert: readFileSync(certs.clientCert),
          key: readFileSync(certs.clientKey),
          connectTimeoutMs: 20_000,
        },
        reconnect: { initialDelayMs: 200, maxDelayMs: 2000 },
      });
      try {
        const connack = await aws.ready(60_000);
        expect(connack.keepalive).toBe(30);
        expect(aws.stats().tls).toMatchObject({ protocol: 'TLSv1.2', alpn: 'x-amzn-mqtt-ca' });
        await expect(aws.publish('aws/t', 'x', { qos: 2 })).rejects.toThrow(/QoS 2/);
        const got: string[] = [];
        await aws.subscribe('aws/#', { qos: 1 }, (_t, payload) => got.push(String(payload)));
        const pub = aws.publish('aws/t', 'through-443', { qos: 1 });
        await pub.acked;
        await until(() => got.includes('through-443'), 10_000, 'the message back');
      } finally {
        await aws.end();
      }
    }, 120_000);
  },
);
