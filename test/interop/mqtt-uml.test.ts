import { randomBytes } from 'node:crypto';
import { accessSync, constants, readFileSync } from 'node:fs';
import { MqttClient as MqttJsClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NetStack } from '../../src/ip/stack.js';
import { MqttClient } from '../../src/mqtt/client.js';
import type { ProtocolVersion, QoS } from '../../src/mqtt/options.js';
import { TcpSocket } from '../../src/tcp/socket.js';
import { connect, TlsAlert, type TlsSocket } from '../../src/tls/index.js';
import { type LinkedGuest, startLinkedGuest } from './harness/linked-guest.js';
import { peer } from './harness/peers.js';
import { type UmlPeer, umlProblem } from './harness/uml.js';
import { AWS_IOT_ALPN, DNS_ZONE, SERVICE_PORTS } from './harness/uml-services.js';
import { pubSubRoundTrip, within } from './mqtt-roundtrip.js';
import { secured } from './tls-peers.js';

/**
 * Our MQTT client through the whole stack (issue 8): MqttClient -> our TlsSocket -> our
 * TcpSocket -> NetStack -> PppLink -> the guest's pppd, to mosquitto 2.0.11 inside the UML
 * guest (one boot, one PPP link for the file). The broker is reached by name
 * (`broker.cellstack.test`, answered by the guest's dnsmasq over the link).
 *
 * - Round trips at QoS 0, 1 and 2 x MQTT 3.1.1 and 5.0 x three TLS listeners: 8883 (server
 *   authentication only), 8884 (`require_certificate true`: our client certificate), and 443
 *   (`mqtts-alpn`: AWS IoT's port 443, which requires ALPN `x-amzn-mqtt-ca` and a client
 *   certificate, in front of mosquitto's 1883).
 * - ALPN refusals: no ALPN, or the wrong protocol, end in a fatal no_application_protocol
 *   alert (RFC 7301 section 3.2), reported as a typed TlsAlert.
 * - MQTT.js (v5 of the npm package) over our TcpSocket and over our TlsSocket, and MQTT.js
 *   publishing to our client.
 */
function missingHostProgram(): string | undefined {
  for (const [bin, pkg] of [
    ['/usr/sbin/mosquitto', 'mosquitto'],
    ['/usr/sbin/dnsmasq', 'dnsmasq-base'],
    ['/usr/bin/python3', 'python3'],
  ] as const) {
    try {
      accessSync(bin, constants.X_OK);
    } catch {
      return `${bin} is missing (apt-get install ${pkg})`;
    }
  }
  return undefined;
}

const uml = peer('uml', umlProblem() ?? missingHostProgram());

/** The broker's name in the guest's DNS zone; the server certificate names it too. */
const BROKER = `broker.${DNS_ZONE}`;
const PORT = {
  mqtt: SERVICE_PORTS.mqtt.tcp[0]!,
  mqtts: SERVICE_PORTS.mqtts.tcp[0]!,
  mutual: SERVICE_PORTS['mqtts-mutual'].tcp[0]!,
  alpn: SERVICE_PORTS['mqtts-alpn'].tcp[0]!,
};

interface Listener {
  name: string;
  port: number;
  /** Present our client certificate. */
  clientCert: boolean;
  /** ALPN protocols to offer (none when absent). */
  alpn?: string[];
}

const LISTENERS: readonly Listener[] = [
  { name: '8883 (server authentication)', port: PORT.mqtts, clientCert: false },
  { name: '8884 (mutual TLS)', port: PORT.mutual, clientCert: true },
  { name: '443 (ALPN x-amzn-mqtt-ca, mutual TLS)', port: PORT.alpn, clientCert: true, alpn: [AWS_IOT_ALPN] },
];

/** Unique per run, so that topics and client ids never meet another run's. */
const RUN = randomBytes(4).toString('hex');

/**
 * Payloads that stress each layer below: text; every octet value (HDLC's Flag 0x7e, Control
 * Escape 0x7d and the ACCM's control characters must be escaped and restored, RFC 1662
 * section 4.2); 3000 random octets (more than one TCP segment and PPP frame at MTU 1500); and
 * an empty payload (MQTT allows zero-length, 3.3.3 / 5.0 3.3.3).
 */
function payloads(label: string): Buffer[] {
  return [
    Buffer.from(`hello ${label}`),
    Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
    randomBytes(3000),
    Buffer.alloc(0),
  ];
}

describe.skipIf(uml.skip)('MQTT over our TLS over our TCP over PPP, mosquitto in the UML guest', () => {
  let linked: LinkedGuest | undefined;
  let guest: UmlPeer;
  let stack: NetStack;
  let ca: Buffer;
  let clientCert: Buffer;
  let clientKey: Buffer;
  const clients: MqttClient[] = [];
  const sockets: Array<{ destroy(): void }> = [];
  let t0 = 0;

  beforeAll(async () => {
    t0 = Date.now();
    linked = await startLinkedGuest(['dns', 'mqtt', 'mqtts', 'mqtts-mutual', 'mqtts-alpn']);
    ({ guest, stack } = linked);
    const certs = guest.certs!;
    ca = readFileSync(certs.ca);
    clientCert = readFileSync(certs.clientCert);
    clientKey = readFileSync(certs.clientKey);
  });

  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => within(c.end(), 3000, 'end')));
    for (const s of sockets) s.destroy();
    await linked?.stop();
    process.stderr.write(`mqtt-uml: ${((Date.now() - t0) / 1000).toFixed(1)} s including the guest's boot\n`);
  });

  /** Our TcpSocket to the broker, by name through the stack's resolver. */
  const tcp = (port: number): TcpSocket => {
    const s = stack.connect({ host: BROKER, port });
    sockets.push(s);
    return s;
  };

  /** Our TLS 1.2 client over our TcpSocket to `l`; resolves on secureConnect (bounded). */
  const openTls = (l: Pick<Listener, 'port' | 'clientCert' | 'alpn'>): Promise<TlsSocket> => {
    const socket = connect({
      socket: tcp(l.port),
      engine: 'own',
      ca,
      servername: BROKER,
      ...(l.clientCert ? { cert: clientCert, key: clientKey } : {}),
      ...(l.alpn ? { ALPNProtocols: l.alpn } : {}),
    });
    sockets.push(socket);
    return secured(socket, 20_000, `TLS handshake with ${BROKER}:${l.port}`);
  };

  const ourClient = (): MqttClient => {
    const c = new MqttClient();
    c.on('error', () => {});
    clients.push(c);
    return c;
  };

  describe('round trips of our client: QoS x MQTT version x listener', () => {
    for (const l of LISTENERS) {
      for (const v of [4, 5] as const satisfies readonly ProtocolVersion[]) {
        for (const qos of [0, 1, 2] as const satisfies readonly QoS[]) {
          it(`${l.name}, MQTT ${v === 4 ? '3.1.1' : '5.0'}, QoS ${qos}`, async () => {
            const tls = await openTls(l);
            expect(tls.authorized).toBe(true);
            expect(tls.getProtocol()).toBe('TLSv1.2');
            expect(tls.alpnProtocol).toBe(l.alpn ? AWS_IOT_ALPN : false);
            const c = ourClient();
            const clientId = `cs-${RUN}-${l.port}-v${v}-q${qos}`;
            const from = guest.consoleMark();
            const connack = await within(
              c.connect(tls, { protocolVersion: v, clientId, keepalive: 30 }),
              10_000,
              'CONNACK',
            );
            expect(connack).toMatchObject({ reasonCode: 0, sessionPresent: false, protocolVersion: v });
            const topic = `cellstack/${RUN}/${l.port}/v${v}/q${qos}`;
            const sent = payloads(`${l.port} v${v} q${qos}`);
            const r = await pubSubRoundTrip(c, topic, qos, sent);
            // SUBACK grants the QoS asked for (mosquitto's max_qos is 2; 3.1.1 / 5.0 section
            // 3.9.3); one subscriber on one topic gets the messages in publish order with the
            // QoS they were sent at (section 4.6); QoS 1 ends in PUBACK, QoS 2 in PUBCOMP, reason
            // 0 (section 4.3).
            expect(r.granted).toEqual([{ topic, qos }]);
            expect(r.received.map((m) => m.payload.toString('hex'))).toEqual(
              sent.map((p) => p.toString('hex')),
            );
            for (const m of r.received) expect(m).toMatchObject({ topic, qos, retain: false });
            if (qos === 0) expect(r.acks).toEqual(sent.map(() => undefined));
            else
              for (const a of r.acks) {
                expect(a).toMatchObject({ topic, qos, reasonCode: 0 });
                expect(a?.error).toBeUndefined();
              }
            expect(c.stats().inflight).toBe(0);
            // The broker's view: our CONNECT at this protocol level (mosquitto's p2 = 3.1.1, p5 =
            // 5.0), from our PPP address, or from the relay's for 443; then our DISCONNECT.
            const by = l.port === PORT.alpn ? guest.peerAddress : guest.clientAddress;
            const seen = await guest.waitForConsole(
              new RegExp(
                `^\\[mosquitto\\] New client connected from ([\\d.]+):\\d+ as ${clientId} \\(p(\\d)`,
              ),
              5000,
              from,
            );
            expect(seen).toContain(`from ${by}:`);
            expect(seen).toContain(`(p${v === 4 ? 2 : 5},`);
            await within(c.end(), 5000, 'DISCONNECT and close');
            expect(c.connected).toBe(false);
            await guest.waitForConsole(
              new RegExp(`^\\[mosquitto\\] Client ${clientId} disconnected\\.$`),
              5000,
              from,
            );
          });
        }
      }
    }
  });

  describe('443: ALPN as AWS IoT Core wants it', () => {
    it('offering [mqtt, x-amzn-mqtt-ca]: the server selects x-amzn-mqtt-ca and saw our SNI', async () => {
      const from = guest.consoleMark();
      const tls = await openTls({ port: PORT.alpn, clientCert: true, alpn: ['mqtt', AWS_IOT_ALPN] });
      expect(tls.alpnProtocol).toBe(AWS_IOT_ALPN);
      const line = await guest.waitForConsole(/^\[mqtts-alpn\] tls /, 5000, from);
      expect(line).toContain(`alpn=${AWS_IOT_ALPN}`);
      expect(line).toContain(`sni=${BROKER}`);
      const c = ourClient();
      await within(
        c.connect(tls, { protocolVersion: 4, clientId: `cs-${RUN}-alpn-pref` }),
        10_000,
        'CONNACK',
      );
      await within(c.end(), 5000, 'end');
    });

    for (const [what, alpn] of [
      ['no ALPN', undefined],
      ['only ALPN mqtt', ['mqtt']],
    ] as const) {
      it(`${what}: fatal no_application_protocol alert, typed, nothing delivered`, async () => {
        const from = guest.consoleMark();
        const failed = await openTls({
          port: PORT.alpn,
          clientCert: true,
          ...(alpn ? { alpn: [...alpn] } : {}),
        }).then(
          (s) => {
            s.destroy();
            throw new Error(`the handshake succeeded (ALPN ${String(s.alpnProtocol)})`);
          },
          (e: unknown) => e,
        );
        expect(failed).toBeInstanceOf(TlsAlert);
        expect(failed).toMatchObject({
          name: 'TlsAlert',
          alert: 'no_application_protocol',
          level: 'fatal',
          sent: false,
          code: 'ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL',
        });
        const refused = await guest.waitForConsole(/^\[mqtts-alpn\] refused /, 5000, from);
        expect(refused).toContain(alpn ? `offered=['mqtt']` : 'offered=none');
      });
    }

    it('x-amzn-mqtt-ca without a client certificate: the server refuses (handshake_failure)', async () => {
      const failed = await openTls({ port: PORT.alpn, clientCert: false, alpn: [AWS_IOT_ALPN] }).then(
        (s) => {
          s.destroy();
          throw new Error('the handshake succeeded');
        },
        (e: unknown) => e,
      );
      expect(failed).toMatchObject({ name: 'TlsAlert', alert: 'handshake_failure', sent: false });
    });
  });

  describe('MQTT.js through our sockets', () => {
    const mqttJs = (build: () => TcpSocket | TlsSocket, clientId: string, protocolVersion: 4 | 5) => {
      const built: Array<TcpSocket | TlsSocket> = [];
      const js = new MqttJsClient(
        () => {
          const s = build();
          built.push(s);
          return s;
        },
        { clientId, protocolVersion, reconnectPeriod: 0, connectTimeout: 20_000, keepalive: 30 },
      );
      const connected = within(
        new Promise<void>((resolve, reject) => {
          js.once('connect', () => resolve());
          js.once('error', reject);
          js.once('close', () => reject(new Error('MQTT.js closed before CONNACK')));
        }),
        20_000,
        'MQTT.js CONNACK',
      );
      const end = () => within(js.endAsync(), 5000, 'MQTT.js end').catch(() => js.end(true));
      return { js, built, connected, end };
    };

    /** MQTT.js subscribes at QoS 1, publishes (PUBACK awaited) and receives its own message. */
    const jsRoundTrip = async (js: MqttJsClient, topic: string, payload: Buffer) => {
      const granted = await within(js.subscribeAsync(topic, { qos: 1 }), 10_000, 'MQTT.js SUBACK');
      expect(granted).toMatchObject([{ topic, qos: 1 }]);
      const got = new Promise<{ payload: Buffer; qos: number }>((resolve) =>
        js.once('message', (_t, p, packet) => resolve({ payload: Buffer.from(p), qos: packet.qos })),
      );
      const ack = await within(js.publishAsync(topic, payload, { qos: 1 }), 10_000, 'MQTT.js PUBACK');
      expect(ack).toMatchObject({ cmd: 'publish', qos: 1 });
      const m = await within(got, 10_000, 'MQTT.js message');
      expect(m.qos).toBe(1);
      expect(m.payload.equals(payload)).toBe(true);
    };

    it('MQTT.js (3.1.1) over our TcpSocket to 1883: QoS 1 round trip', async () => {
      const j = mqttJs(() => tcp(PORT.mqtt), `js-${RUN}-tcp`, 4);
      try {
        await j.connected;
        expect(j.built).toHaveLength(1);
        expect(j.built[0]).toBeInstanceOf(TcpSocket);
        expect(j.js.stream).toBe(j.built[0]);
        await jsRoundTrip(j.js, `cellstack/${RUN}/mqttjs/tcp`, randomBytes(1500));
      } finally {
        await j.end();
      }
    });

    it('MQTT.js (5.0) over our TlsSocket on 8883: QoS 1 round trip', async () => {
      let tls: TlsSocket | undefined;
      const j = mqttJs(
        () => {
          tls = connect({ socket: tcp(PORT.mqtts), engine: 'own', ca, servername: BROKER });
          sockets.push(tls);
          return tls;
        },
        `js-${RUN}-tls`,
        5,
      );
      try {
        await j.connected;
        expect(j.built).toHaveLength(1);
        expect(tls?.authorized).toBe(true);
        expect(tls?.getProtocol()).toBe('TLSv1.2');
        await jsRoundTrip(j.js, `cellstack/${RUN}/mqttjs/tls`, Buffer.from('MQTT.js over our TLS over PPP'));
      } finally {
        await j.end();
      }
    });

    it('MQTT.js publishes (5.0, our TcpSocket, 1883), our client receives (3.1.1, our TLS, 8884)', async () => {
      const ours = ourClient();
      const tls = await openTls({ port: PORT.mutual, clientCert: true });
      await within(
        ours.connect(tls, { protocolVersion: 4, clientId: `cs-${RUN}-from-js` }),
        10_000,
        'CONNACK',
      );
      const topic = `cellstack/${RUN}/from-mqttjs`;
      const got: Array<{ payload: string; qos: number }> = [];
      let done: () => void = () => {};
      const three = new Promise<void>((resolve) => {
        done = resolve;
      });
      const granted = await within(
        ours.subscribe(topic, { qos: 1 }, (_t, p, packet) => {
          got.push({ payload: p.toString(), qos: packet.qos });
          if (got.length === 3) done();
        }),
        10_000,
        'SUBACK',
      );
      expect(granted).toEqual([{ topic, qos: 1 }]);
      const j = mqttJs(() => tcp(PORT.mqtt), `js-${RUN}-pub`, 5);
      try {
        await j.connected;
        for (let i = 0; i < 3; i++)
          await within(j.js.publishAsync(topic, `from MQTT.js ${i}`, { qos: 1 }), 10_000, 'MQTT.js PUBACK');
      } finally {
        await j.end();
      }
      await within(three, 10_000, `3 messages (got ${got.length})`);
      expect(got).toEqual([0, 1, 2].map((i) => ({ payload: `from MQTT.js ${i}`, qos: 1 })));
      await within(ours.end(), 5000, 'end');
    });
  });
});
