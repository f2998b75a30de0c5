import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { MqttClient } from 'mqtt';
import { Client } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NetStack } from '../../src/ip/stack.js';
import { type LinkedGuest, startLinkedGuest } from './harness/linked-guest.js';
import { peer } from './harness/peers.js';
import { rigStream } from './harness/rig-stream.js';
import { nodeTlsGet } from './harness/tls-get.js';
import { type UmlPeer, umlProblem } from './harness/uml.js';

/**
 * TcpSocket as a drop-in for net.Socket: Node's own TLS, HTTP client, undici and MQTT.js run
 * over it, against OpenSSL's s_server, an HTTP server and mosquitto inside the guest.
 */
const uml = peer('uml', umlProblem());
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe.skipIf(uml.skip)('TcpSocket under Node libraries, against servers in the guest', () => {
  let guest: UmlPeer;
  let stack: NetStack;
  let linked: LinkedGuest | undefined;

  beforeAll(async () => {
    linked = await startLinkedGuest(['tls', 'http', 'mqtt']);
    ({ guest, stack } = linked);
  });

  afterAll(async () => {
    await linked?.stop();
  });

  it('node:tls connects over it to openssl s_server and verifies the certificate', async () => {
    const r = await nodeTlsGet(stack.connect({ host: guest.peerAddress, port: 4433 }), {
      ca: readFileSync(guest.certs!.ca),
      servername: 'rig.test',
    });
    expect(r.authorized).toBe(true);
    expect(r.body).toMatch(/^HTTP\/1\.0 200 ok/);
  });

  it('http.get runs over it with createConnection', async () => {
    const n = 100_000;
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.get(
        {
          host: guest.peerAddress,
          port: 8080,
          path: `/bytes/${n}`,
          createConnection: () =>
            stack.connect({ host: guest.peerAddress, port: 8080 }) as unknown as import('node:net').Socket,
        },
        resolve,
      );
      req.once('error', reject);
    });
    expect(res.statusCode).toBe(200);
    const parts: Buffer[] = [];
    for await (const chunk of res) parts.push(chunk as Buffer);
    expect(sha(Buffer.concat(parts))).toBe(sha(rigStream(0, n)));
  });

  it('an undici Client runs over it with a connect function', async () => {
    const client = new Client(`http://${guest.peerAddress}:8080`, {
      connect: (opts, callback) => {
        const s = stack.connect({ host: opts.hostname, port: Number(opts.port) });
        s.once('connect', () => callback(null, s as unknown as import('node:net').Socket));
        s.once('error', (err) => callback(err, null));
        return s as unknown as import('node:net').Socket;
      },
    });
    try {
      for (const n of [10, 5000, 70_000]) {
        const { statusCode, body } = await client.request({ path: `/bytes/${n}`, method: 'GET' });
        expect(statusCode).toBe(200);
        const data = Buffer.from(await body.arrayBuffer());
        expect(sha(data)).toBe(sha(rigStream(0, n)));
      }
    } finally {
      await client.close();
    }
  });

  it('MQTT.js publishes and subscribes through it to mosquitto', async () => {
    const client = new MqttClient(
      () => stack.connect({ host: guest.peerAddress, port: 1883 }) as unknown as import('node:net').Socket,
      {
        clientId: `cellstack-${process.pid}`,
        protocolVersion: 4,
        reconnectPeriod: 0,
        connectTimeout: 10_000,
      },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        client.once('connect', () => resolve());
        client.once('error', reject);
      });
      await client.subscribeAsync('cellstack/test', { qos: 1 });
      const got = new Promise<string>((resolve) => client.once('message', (_t, p) => resolve(p.toString())));
      await client.publishAsync('cellstack/test', 'over our own TCP', { qos: 1 });
      expect(await got).toBe('over our own TCP');
    } finally {
      await client.endAsync();
    }
  });
});
